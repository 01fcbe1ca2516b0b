package v1alpha1

import (
	"slices"
	"strings"
)

// ValidateSet checks what no single App can: a dependsOn cycle among the
// apps is an error naming it ("dependency cycle: a -> b -> a"). Each
// error's Field is spec.dependsOn; File and Line are empty (the apps may
// come from several files: DependencyCycles gives the names). A dependency
// on an app that is not in the set is not an error: it waits.
func ValidateSet(apps []App) ErrorList {
	var errs ErrorList
	for _, c := range DependencyCycles(apps) {
		errs = append(errs, &FileError{Field: "spec.dependsOn", Reason: ReasonInvalid, Message: cycleMessage(c)})
	}
	return errs
}

func cycleMessage(c []string) string {
	return "dependency cycle: " + strings.Join(c, " -> ")
}

// DependencyCycles returns one cycle for each group of apps that depend on
// each other in a circle, as names from the first (smallest) back to it:
// [a b a]. Groups are in name order. Deterministic, and linear in the size
// of the graph (Tarjan's strongly connected components).
func DependencyCycles(apps []App) [][]string {
	if !anyDependency(apps) {
		return nil // no edge, no cycle
	}
	deps := map[string][]string{}
	for i := range apps {
		a := &apps[i]
		name := a.Metadata.Name
		if _, ok := deps[name]; !ok {
			deps[name] = nil
		}
		for _, d := range a.Spec.DependsOn {
			deps[name] = append(deps[name], d.App)
		}
	}
	names := make([]string, 0, len(deps))
	for n := range deps {
		slices.Sort(deps[n])
		deps[n] = slices.Compact(deps[n])
		names = append(names, n)
	}
	slices.Sort(names)

	var cycles [][]string
	for _, comp := range stronglyConnected(names, deps) {
		in := map[string]bool{}
		for _, n := range comp {
			in[n] = true
		}
		start := slices.Min(comp)
		if len(comp) == 1 && !slices.Contains(deps[start], start) {
			continue
		}
		cycles = append(cycles, shortestCycle(start, deps, in))
	}
	slices.SortFunc(cycles, func(a, b []string) int { return strings.Compare(a[0], b[0]) })
	return cycles
}

// stronglyConnected is Tarjan's algorithm, iterative so that a long chain
// of apps cannot exhaust the stack.
func stronglyConnected(names []string, deps map[string][]string) [][]string {
	index := map[string]int{}
	low := map[string]int{}
	onStack := map[string]bool{}
	var stack []string
	var comps [][]string
	next := 0

	type frame struct {
		name string
		edge int
	}
	for _, root := range names {
		if _, seen := index[root]; seen {
			continue
		}
		work := []frame{{name: root}}
		index[root], low[root] = next, next
		next++
		stack = append(stack, root)
		onStack[root] = true
		for len(work) > 0 {
			f := &work[len(work)-1]
			edges := deps[f.name]
			if f.edge < len(edges) {
				w := edges[f.edge]
				f.edge++
				if _, known := deps[w]; !known {
					continue // not in the set
				}
				if _, seen := index[w]; !seen {
					index[w], low[w] = next, next
					next++
					stack = append(stack, w)
					onStack[w] = true
					work = append(work, frame{name: w})
				} else if onStack[w] {
					low[f.name] = min(low[f.name], index[w])
				}
				continue
			}
			v := f.name
			work = work[:len(work)-1]
			if len(work) > 0 {
				p := work[len(work)-1].name
				low[p] = min(low[p], low[v])
			}
			if low[v] == index[v] {
				var comp []string
				for {
					w := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					onStack[w] = false
					comp = append(comp, w)
					if w == v {
						break
					}
				}
				comps = append(comps, comp)
			}
		}
	}
	return comps
}

// shortestCycle finds, by breadth-first search inside one component, the
// shortest way from start back to itself.
func shortestCycle(start string, deps map[string][]string, in map[string]bool) []string {
	prev := map[string]string{}
	queue := []string{start}
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		for _, w := range deps[v] {
			if !in[w] {
				continue
			}
			if w == start {
				path := []string{start}
				for u := v; u != start; u = prev[u] {
					path = append(path, u)
				}
				path = append(path, start)
				slices.Reverse(path[1 : len(path)-1])
				return path
			}
			if _, seen := prev[w]; !seen {
				prev[w] = v
				queue = append(queue, w)
			}
		}
	}
	return []string{start, start} // unreachable for a real component
}

// anyDependency reports whether an app of apps depends on another.
func anyDependency(apps []App) bool {
	for i := range apps {
		if len(apps[i].Spec.DependsOn) > 0 {
			return true
		}
	}
	return false
}
