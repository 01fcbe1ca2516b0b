package main

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// appModel is what the chaos test wants one app to be: the newest content
// of its manifest file, which the daemon must converge to.
type appModel struct {
	name     string
	file     string // path relative to the manifests directory
	replicas int
	rev      int    // bumped by a roll: the value of --exit-code, an argument with no effect
	label    int    // bumped by a relabel: metadata only, restarts nothing
	ports    bool   // a port range and an httpGet readiness probe
	portLow  int    // first port of the range, when ports
	broken   string // how the file is broken now ("" when it holds the good content)
}

// command is the argv of the app's instances. An app with a port serves
// /healthz on it, on loopback only.
func (a *appModel) command(workload string, rate int) []string {
	argv := []string{workload, "--stdout-rate", strconv.Itoa(rate), "--line-id", "--exit-code", strconv.Itoa(a.rev % 256)}
	if a.ports {
		argv = append(argv, "--port", "127.0.0.1:$(PORT)")
	}
	return argv
}

// fleet is the desired state: the apps, their files, and the pool of names
// and port ranges they come from.
type fleet struct {
	workload string
	rate     int // stdout lines a second of every instance
	portBase int
	apps     map[string]*appModel
}

// Pool sizes: at most maxApps apps live at once, named from a pool of
// poolSize (so removed names come back, with their old logs and ports), each
// name with its own portSpan-port range.
const (
	poolSize    = 8
	maxApps     = 5
	maxReplicas = 5
	portSpan    = 20
)

func newFleet(workload string, rate, portBase int) *fleet {
	return &fleet{workload: workload, rate: rate, portBase: portBase, apps: map[string]*appModel{}}
}

// appName is the pool's name number i.
func appName(i int) string { return fmt.Sprintf("app-%d", i) }

// names are the live apps' names, sorted, so that choices from a seeded
// generator are reproducible.
func (f *fleet) names() []string {
	out := make([]string, 0, len(f.apps))
	for n := range f.apps {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// filter returns the sorted names of the apps for which keep holds.
func (f *fleet) filter(keep func(*appModel) bool) []string {
	var out []string
	for _, n := range f.names() {
		if keep(f.apps[n]) {
			out = append(out, n)
		}
	}
	return out
}

// change is one edit of the manifests directory decided by plan.
type change struct {
	kind string // add, remove, scale, roll, relabel, break, fix
	app  string
	file string // the app's file (for remove: the file it was in)
}

// Change kinds.
const (
	kindAdd     = "add"
	kindRemove  = "remove"
	kindScale   = "scale"
	kindRoll    = "roll"
	kindRelabel = "relabel"
	kindBreak   = "break"
	kindFix     = "fix"
)

// breakages are the ways a file gets broken: a YAML syntax error, an
// unknown field, a value out of range.
var breakages = []string{"syntax", "unknown-field", "bad-value"}

// plan picks the next change and applies it to the model. Every draw comes
// from r, in a fixed order, so a seed replays the same sequence of changes.
// It returns false when the chosen change is not possible now (the caller
// just tries again on the next step).
func (f *fleet) plan(r *rand.Rand) (change, bool) {
	weights := []struct {
		kind string
		w    int
	}{{kindScale, 30}, {kindRoll, 15}, {kindAdd, 12}, {kindRemove, 7}, {kindRelabel, 5}, {kindBreak, 9}, {kindFix, 14}}
	total := 0
	for _, w := range weights {
		total += w.w
	}
	n := r.IntN(total)
	pick := r.IntN(1 << 30) // which app, drawn always so the sequence does not depend on the choice
	kind := ""
	for _, w := range weights {
		if n < w.w {
			kind = w.kind
			break
		}
		n -= w.w
	}
	good := f.filter(func(a *appModel) bool { return a.broken == "" })
	choose := func(from []string) string { return from[pick%len(from)] }
	switch kind {
	case kindAdd:
		if len(f.apps) >= maxApps {
			return change{}, false
		}
		name := f.add(r, pick)
		return change{kindAdd, name, f.apps[name].file}, true
	case kindRemove:
		if len(f.apps) <= 1 {
			return change{}, false
		}
		name := choose(f.names())
		file := f.apps[name].file
		delete(f.apps, name)
		return change{kindRemove, name, file}, true
	case kindFix:
		broken := f.filter(func(a *appModel) bool { return a.broken != "" })
		if len(broken) == 0 {
			return change{}, false
		}
		name := choose(broken)
		f.apps[name].broken = ""
		return change{kindFix, name, f.apps[name].file}, true
	}
	// The rest edit a good file; a broken one waits for its fix.
	if len(good) == 0 {
		return change{}, false
	}
	a := f.apps[choose(good)]
	switch kind {
	case kindScale:
		next := r.IntN(maxReplicas + 1)
		if next == a.replicas {
			next = (next + 1) % (maxReplicas + 1)
		}
		a.replicas = next
	case kindRoll:
		a.rev++
	case kindRelabel:
		a.label++
	case kindBreak:
		a.broken = breakages[r.IntN(len(breakages))]
	}
	return change{kind, a.name, a.file}, true
}

// add puts a new app from the pool into the model and returns its name.
// The pool must have a free name.
func (f *fleet) add(r *rand.Rand, pick int) string {
	var free []int
	for i := range poolSize {
		if f.apps[appName(i)] == nil {
			free = append(free, i)
		}
	}
	i := free[pick%len(free)]
	a := &appModel{name: appName(i), replicas: 1 + r.IntN(maxReplicas), ports: r.IntN(2) == 0, portLow: f.portBase + i*portSpan}
	a.file = a.name + ".yaml"
	if r.IntN(3) == 0 {
		a.file = filepath.Join("team", a.name+".yaml") // a subdirectory, as GitOps repos nest them
	}
	f.apps[a.name] = a
	return a.name
}

// fixAll marks every broken file fixed and returns the names fixed.
func (f *fleet) fixAll() []string {
	fixed := f.filter(func(a *appModel) bool { return a.broken != "" })
	for _, n := range fixed {
		f.apps[n].broken = ""
	}
	return fixed
}

// manifest renders the app's file: the good YAML, or the good YAML broken
// the way a.broken says.
func (f *fleet) manifest(a *appModel) string {
	var b strings.Builder
	replicas := strconv.Itoa(a.replicas)
	if a.broken == "bad-value" {
		replicas = "-3"
	}
	fmt.Fprintf(&b, "apiVersion: proclet.dev/v1alpha1\nkind: App\nmetadata:\n  name: %s\n  labels: {chaos-label: \"l%d\"}\nspec:\n", a.name, a.label)
	fmt.Fprintf(&b, "  replicas: %s\n", replicas)
	q := make([]string, 0, 8)
	for _, arg := range a.command(f.workload, f.rate) {
		q = append(q, strconv.Quote(arg))
	}
	fmt.Fprintf(&b, "  command: [%s]\n", strings.Join(q, ", "))
	if a.ports {
		fmt.Fprintf(&b, "  ports:\n    - name: http\n      range: \"%d-%d\"\n", a.portLow, a.portLow+portSpan-1)
		b.WriteString("  readinessProbe:\n    httpGet: {path: /healthz, port: http}\n    periodSeconds: 1\n")
	}
	// A short backoff cap: chaos kills the same instance several times,
	// and convergence at the end must not wait out a 5-minute backoff.
	b.WriteString("  restartBackoff: {initial: 1s, max: 4s}\n")
	b.WriteString("  terminationGracePeriodSeconds: 3\n")
	// Small files so rotation happens, and enough of them that no line is
	// ever rotated away (the log check needs every line).
	b.WriteString("  logs: {maxSize: 8Ki, maxFiles: 1000}\n")
	switch a.broken {
	case "syntax":
		b.WriteString("  env: [{name: X, value: \"unclosed\n")
	case "unknown-field":
		b.WriteString("  replicaz: 2\n")
	}
	return b.String()
}
