package server

import (
	"slices"
	"strings"

	"proclet.dev/proclet/apis/v1alpha1"
)

// SharedReader reads the state without deep copies, for the paths that
// read every app or instance often (/metrics, the instance lists). The
// reconciler implements it; it is part of StatusReader and the metrics'
// State.
type SharedReader interface {
	// SharedApps is Apps (sorted by name), but the apps are shared with
	// the reader and every other caller: never modify them (the slice is
	// the caller's).
	SharedApps() []*v1alpha1.App
	// SharedInstances is Instances, but the maps, slices and pointers in
	// the instances are shared: never modify what they point to (setting
	// a field of the returned structs is fine).
	SharedInstances(app string) ([]v1alpha1.Instance, bool)
}

// readInstances returns every instance, shared.
func (c *Collector) readInstances() []v1alpha1.Instance {
	insts, _ := c.src.State.SharedInstances("")
	return insts
}

// exitCount is the exits of one app for one reason.
type exitCount struct {
	app, reason string
	n           uint64
}

// readExits appends the exit counts, sorted by app and reason, to out.
func (c *Collector) readExits(out []exitCount) []exitCount {
	c.src.Exits.ExitCounts(func(app, reason string, n uint64) { out = append(out, exitCount{app, reason, n}) })
	cmp := func(a, b exitCount) int {
		if c := strings.Compare(a.app, b.app); c != 0 {
			return c
		}
		return strings.Compare(a.reason, b.reason)
	}
	if !slices.IsSortedFunc(out, cmp) { // the reconciler's are
		slices.SortFunc(out, cmp)
	}
	return out
}

// byAppAndName orders instances as the exposition does: by app, then by
// name as a string (web-10 before web-2, where readers sort by ordinal),
// then by revision (a rollout's old and new process of one name).
func byAppAndName(a, b *v1alpha1.Instance) int {
	if c := strings.Compare(a.App, b.App); c != 0 {
		return c
	}
	if c := strings.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	return strings.Compare(a.Revision, b.Revision)
}

// build reads the state once and builds every family into al, in the
// order of c.fams: the dto families (al.out) or, when text is set, the
// text format (al.textFams); a family may be empty. Metrics come in the
// order a registry sorts them into (label values compared as strings),
// label pairs sorted by name.
func (c *Collector) build(al *metricAlloc, text bool) {
	apps := slices.DeleteFunc(c.src.State.SharedApps(), func(a *v1alpha1.App) bool { return !a.IsApp() })
	slices.SortStableFunc(apps, func(a, b *v1alpha1.App) int { return strings.Compare(a.Metadata.Name, b.Metadata.Name) })
	insts := c.readInstances()
	stats := c.probeStats()
	al.exits = c.readExits(al.exits[:0])
	al.jobs = c.readJobStats(al.jobs[:0])

	al.groupReplicas(insts)

	al.probes = al.probes[:0]
	nProbes := 0
	for _, a := range apps {
		p := configuredProbes(&a.Spec)
		al.probes = append(al.probes, p)
		nProbes += len(p)
	}
	nApps, nReplicas := len(apps), len(al.groups)
	nJobs := len(al.jobs)
	al.begin(c, text)
	al.size(5*nApps+4*nReplicas+2*nJobs, 2*nReplicas+2*nProbes+len(al.exits)+3*nJobs, nProbes+nJobs, max(len(c.bounds), len(c.jobBounds)),
		nApps+3*nReplicas+8*nProbes+2*len(al.exits)+8*nJobs)
	for i := range al.exits {
		e := &al.exits[i]
		al.counter(famExits, al.labels(&c.lApp, &e.app, &c.lReason, &e.reason), float64(e.n))
	}
	c.instanceMetrics(al)
	c.jobMetrics(al)
	groups := al.groups
	for i, a := range apps {
		name := &a.Metadata.Name
		ports := 0 // held by the app's running instances
		for ; len(groups) > 0 && groups[0][0].App <= *name; groups = groups[1:] {
			for _, inst := range groups[0] {
				if inst.App == *name && running(inst) {
					ports += len(inst.Ports)
				}
			}
		}
		l := al.labels(&c.lApp, name)
		var ready, updated, available int32
		if a.Status != nil {
			ready, updated, available = a.Status.ReadyReplicas, a.Status.UpdatedReplicas, a.Status.AvailableReplicas
		}
		al.gauge(famAvailable, l, float64(available))
		al.gauge(famDesired, l, float64(desiredReplicas(a)))
		al.gauge(famReady, l, float64(ready))
		al.gauge(famUpdated, l, float64(updated))
		al.gauge(famPorts, l, float64(ports))
		for j, p := range al.probes[i] {
			s := stats[[2]string{*name, p}]
			al.counter(famProbeResults, al.labels(&c.lApp, name, &c.lProbe, &al.probes[i][j], &c.lResult, &c.vFailure),
				float64(s.Failure))
			al.counter(famProbeResults, al.labels(&c.lApp, name, &c.lProbe, &al.probes[i][j], &c.lResult, &c.vSuccess),
				float64(s.Success))
			al.histogram(famProbeDuration, al.labels(&c.lApp, name, &c.lProbe, &al.probes[i][j]),
				s.Success+s.Failure, s.DurationSum, c.bounds, s.Buckets)
		}
	}
}

// groupReplicas sets al.groups: the instances in the exposition's order,
// grouped by replica. A rollout's old and new process of one name are two
// (their revision label differs); only two of one name and one revision,
// if ever, are merged.
func (al *metricAlloc) groupReplicas(insts []v1alpha1.Instance) {
	al.byName = al.byName[:0]
	for i := range insts {
		al.byName = append(al.byName, &insts[i])
	}
	if !slices.IsSortedFunc(al.byName, byAppAndName) {
		slices.SortStableFunc(al.byName, byAppAndName)
	}
	al.groups = al.groups[:0]
	for i, byName := 0, al.byName; i < len(byName); {
		j := i + 1
		for j < len(byName) && byAppAndName(byName[i], byName[j]) == 0 {
			j++
		}
		al.groups = append(al.groups, byName[i:j:j])
		i = j
	}
}

// instanceMetrics adds the series of every replica (al.groups).
func (c *Collector) instanceMetrics(al *metricAlloc) {
	c.mu.Lock()
	defer c.mu.Unlock()
	prev, seen := c.cpuSeen, c.cpuSpare[:0]
	for _, g := range al.groups {
		r := c.mergeReplica(g)
		l := al.labels(&c.lApp, &g[0].App, &c.lReplica, &g[0].Name, &c.lRevision, &g[0].Revision)
		al.gauge(famUp, l, boolFloat(r.up))
		al.gauge(famInstReady, l, boolFloat(r.ready))
		al.counter(famRestarts, l, float64(r.restarts))
		if !r.up {
			continue
		}
		k := replicaKey{g[0].App, g[0].Name, g[0].Revision}
		for len(prev) > 0 && cmpReplicaKeys(&prev[0].key, &k) < 0 { // both sorted
			prev = prev[1:]
		}
		cpu := r.cpu
		if len(prev) > 0 && prev[0].key == k && prev[0].procs == r.procs && prev[0].value > cpu {
			cpu = prev[0].value
		}
		seen = append(seen, cpuSeen{key: k, procs: r.procs, value: cpu})
		al.counter(famCPU, l, cpu)
		al.gauge(famMem, l, float64(r.mem))
		al.gauge(famStart, l, float64(r.started)/1e9)
	}
	clear(c.cpuSeen) // keeps no name of a replica that is gone
	c.cpuSeen, c.cpuSpare = seen, c.cpuSeen[:0]
}
