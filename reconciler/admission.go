package reconciler

import (
	"fmt"
	"slices"
	"strings"

	"proclet.dev/proclet/apis/v1alpha1"
)

// refusal is an app of a snapshot that is not applied, and why.
type refusal struct {
	app v1alpha1.SourcedApp
	err *v1alpha1.FileError
}

// admit decides which apps of a snapshot are applied. Apps in a dependsOn
// cycle are refused, and so is a newcomer whose ports conflict with an app
// already admitted. Apps that are running now (known(name)) are admitted
// first, so the one already running keeps its ports; newcomers follow in
// name order. A refused app that was running keeps its last applied
// version. ok are the indexes in apps of the admitted ones, in name
// order. Pure: no I/O.
//
// Only an app in a cycle or claiming a port can be refused, and only one
// claiming a port can make another refused: the order is that of those
// apps alone, and the others (most of a snapshot) cost a look at their
// spec, not a sort, a copy or a call of known.
func admit(apps []v1alpha1.SourcedApp, known func(name string) bool) (ok []int, refused []refusal) {
	inCycle := cycles(apps)
	var contested []int
	for i := range apps {
		s := &apps[i].App.Spec
		if len(s.Ports) > 0 || len(s.Sockets) > 0 || inCycle[apps[i].App.Metadata.Name] != "" {
			contested = append(contested, i)
		}
	}
	isKnown := make(map[int]bool, len(contested))
	for _, i := range contested {
		isKnown[i] = known(apps[i].App.Metadata.Name)
	}
	slices.SortStableFunc(contested, func(a, b int) int {
		if isKnown[a] != isKnown[b] {
			if isKnown[a] {
				return -1
			}
			return 1
		}
		return strings.Compare(apps[a].App.Metadata.Name, apps[b].App.Metadata.Name)
	})
	var claims []portClaim
	out := map[int]bool{}
	for _, i := range contested {
		sa := &apps[i]
		name := sa.App.Metadata.Name
		if msg, bad := inCycle[name]; bad {
			refused = append(refused, refusal{app: *sa, err: &v1alpha1.FileError{File: sa.Path, Field: "spec.dependsOn",
				Reason: v1alpha1.ReasonInvalid, Message: msg}})
			out[i] = true
			continue
		}
		mine := claimsOf(&sa.App)
		if field, msg := conflict(mine, claims); msg != "" {
			refused = append(refused, refusal{app: *sa, err: &v1alpha1.FileError{File: sa.Path, Field: field,
				Reason: v1alpha1.ReasonPortConflict, Message: msg}})
			out[i] = true
			continue
		}
		claims = append(claims, mine...)
	}
	ok = make([]int, 0, len(apps)-len(out))
	for i := range apps {
		if !out[i] {
			ok = append(ok, i)
		}
	}
	byName := func(a, b int) int { return strings.Compare(apps[a].App.Metadata.Name, apps[b].App.Metadata.Name) }
	if !slices.IsSortedFunc(ok, byName) { // a snapshot is sorted by name: this is for hand-made ones
		slices.SortFunc(ok, byName)
	}
	return ok, refused
}

// cycles is, for each app in a dependsOn cycle, why it is refused. Only
// apps that depend on another can be in a cycle: the others are left out
// of the graph.
func cycles(apps []v1alpha1.SourcedApp) map[string]string {
	var specs []v1alpha1.App
	for i := range apps {
		if len(apps[i].App.Spec.DependsOn) > 0 {
			specs = append(specs, apps[i].App)
		}
	}
	if len(specs) == 0 {
		return nil
	}
	inCycle := map[string]string{}
	for _, c := range v1alpha1.DependencyCycles(specs) {
		for _, name := range c {
			inCycle[name] = "dependency cycle: " + strings.Join(c, " -> ")
		}
	}
	return inCycle
}

// portClaim is one named port of an app: a fixed port (lo == hi, fixed)
// or a range, and how many ports of it the app may hold at once
// (replicas + maxSurge). A socket (spec.sockets) is a fixed port held
// once for every replica.
type portClaim struct {
	app, name string
	field     string // spec.ports[i], spec.sockets[i].port
	lo, hi    int32
	fixed     bool
	demand    int
}

func claimsOf(app *v1alpha1.App) []portClaim {
	replicas := int(app.Spec.ReplicaCount())
	surge, _ := rollingBounds(&app.Spec, replicas)
	var out []portClaim
	for i, p := range app.Spec.Ports {
		c := portClaim{app: app.Metadata.Name, name: p.Name, field: fmt.Sprintf("spec.ports[%d]", i), demand: replicas + surge}
		lo, hi, err := p.Bounds()
		if err != nil {
			continue // validation already refused it
		}
		c.lo, c.hi = lo, hi
		if p.Range == "" {
			c.fixed, c.demand = true, 1
		}
		out = append(out, c)
	}
	for i, k := range app.Spec.Sockets {
		out = append(out, portClaim{app: app.Metadata.Name, name: "socket " + k.Name, field: fmt.Sprintf("spec.sockets[%d].port", i),
			lo: k.Port, hi: k.Port, fixed: true, demand: 1})
	}
	return out
}

// conflict returns the field and message of the first claim in mine that
// cannot coexist with the claims already admitted, or "" when they can:
// the same fixed port twice, a fixed port inside another app's range, a
// range too small for its own replicas+maxSurge, or overlapping ranges
// too small for both apps' demand.
func conflict(mine, admitted []portClaim) (field, msg string) {
	for _, c := range mine {
		field = c.field
		if !c.fixed && int(c.hi-c.lo+1) < c.demand {
			return field, fmt.Sprintf("range %d-%d (%s) has %d ports; replicas + maxSurge need %d",
				c.lo, c.hi, c.name, c.hi-c.lo+1, c.demand)
		}
		for _, o := range admitted {
			if c.hi < o.lo || o.hi < c.lo {
				continue
			}
			switch {
			case c.fixed && o.fixed:
				return field, fmt.Sprintf("port %d (%s) is already claimed by app %q", c.lo, c.name, o.app)
			case c.fixed:
				return field, fmt.Sprintf("port %d (%s) is inside the range %d-%d of app %q", c.lo, c.name, o.lo, o.hi, o.app)
			case o.fixed:
				return field, fmt.Sprintf("range %d-%d (%s) contains port %d of app %q", c.lo, c.hi, c.name, o.lo, o.app)
			default:
				size := int(max(c.hi, o.hi) - min(c.lo, o.lo) + 1)
				if c.demand+o.demand > size {
					return field, fmt.Sprintf("range %d-%d (%s) overlaps range %d-%d of app %q and together they cannot fit %d + %d instances",
						c.lo, c.hi, c.name, o.lo, o.hi, o.app, c.demand, o.demand)
				}
			}
		}
	}
	return "", ""
}
