package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"proclet.dev/proclet/apis/v1alpha1"
)

// expectation is what one app must look like once the daemon converged.
type expectation struct {
	name     string
	replicas int
	command  []string
}

// expectations derive from the model: every app, its replicas, its
// newest command.
func (f *fleet) expectations() []expectation {
	var out []expectation
	for _, n := range f.names() {
		a := f.apps[n]
		out = append(out, expectation{name: n, replicas: a.replicas, command: a.command(f.workload, f.rate)})
	}
	return out
}

// checkApps is invariant 1: each app has exactly its replicas, all at its
// newest revision, all ready; the daemon applied the newest file of each
// (its spec is the file's, generation == observedGeneration); no manifest
// is in error; no app is left that the files no longer define.
func checkApps(want []expectation, st apiState) []string {
	var out []string
	for _, f := range st.files {
		if f.Error != nil {
			out = append(out, fmt.Sprintf("manifest %s still in error: %s", f.Path, f.Error.Message))
		}
	}
	apps := map[string]v1alpha1.App{}
	for _, a := range st.apps {
		apps[a.Metadata.Name] = a
	}
	insts := map[string][]v1alpha1.Instance{}
	for _, i := range st.instances {
		insts[i.App] = append(insts[i.App], i)
	}
	wanted := map[string]bool{}
	for _, w := range want {
		wanted[w.name] = true
		a, ok := apps[w.name]
		if !ok {
			out = append(out, fmt.Sprintf("app %s: in the manifests, not in the API", w.name))
			continue
		}
		out = append(out, checkApp(w, a, insts[w.name])...)
	}
	for _, n := range slices.Sorted(maps.Keys(apps)) {
		if !wanted[n] {
			out = append(out, fmt.Sprintf("app %s: removed from the manifests, still in the API with %d instances", n, len(insts[n])))
		}
	}
	for _, n := range slices.Sorted(maps.Keys(insts)) {
		if _, ok := apps[n]; !ok && !st.isJob(n) { // a Job's instances are invariant 5's
			out = append(out, fmt.Sprintf("app %s: no such app, yet %d instances of it in the API", n, len(insts[n])))
		}
	}
	return out
}

func checkApp(w expectation, a v1alpha1.App, insts []v1alpha1.Instance) []string {
	var out []string
	bad := func(format string, args ...any) {
		out = append(out, fmt.Sprintf("app %s: ", w.name)+fmt.Sprintf(format, args...))
	}
	if a.Spec.Replicas == nil || int(*a.Spec.Replicas) != w.replicas {
		got := "unset"
		if a.Spec.Replicas != nil {
			got = fmt.Sprint(*a.Spec.Replicas)
		}
		bad("spec.replicas %s, the file says %d", got, w.replicas)
	}
	if !slices.Equal(a.Spec.Command, w.command) {
		bad("spec.command %q, the file says %q", a.Spec.Command, w.command)
	}
	if a.Status == nil {
		bad("no status")
		return out
	}
	if a.Metadata.Generation != a.Status.ObservedGeneration {
		bad("metadata.generation %d, status.observedGeneration %d", a.Metadata.Generation, a.Status.ObservedGeneration)
	}
	rev := a.Status.Revision
	if rev == "" {
		bad("status.revision is empty")
	}
	if int(a.Status.ReadyReplicas) != w.replicas || int(a.Status.UpdatedReplicas) != w.replicas {
		bad("status readyReplicas %d updatedReplicas %d, want %d", a.Status.ReadyReplicas, a.Status.UpdatedReplicas, w.replicas)
	}
	if len(insts) != w.replicas {
		bad("%d instances, want %d: %s", len(insts), w.replicas, describeInstances(insts))
	}
	names := map[string]int{}
	for _, i := range insts {
		names[i.Name]++
		switch {
		case i.Revision != rev:
			bad("%s (pid %d) at revision %s, the app's is %s", i.Name, i.PID, i.Revision, rev)
		case i.Phase != v1alpha1.PhaseRunning || !i.Ready || i.PID <= 0:
			bad("%s: phase %s reason %q ready %v pid %d", i.Name, i.Phase, i.Reason, i.Ready, i.PID)
		}
	}
	for ord := range w.replicas {
		if n := fmt.Sprintf("%s-%d", w.name, ord); names[n] != 1 {
			bad("%d instances named %s", names[n], n)
		}
	}
	return out
}

func describeInstances(insts []v1alpha1.Instance) string {
	var s []string
	for _, i := range insts {
		s = append(s, fmt.Sprintf("%s pid %d %s rev %s ready %v", i.Name, i.PID, i.Phase, i.Revision, i.Ready))
	}
	slices.Sort(s)
	return "[" + strings.Join(s, "; ") + "]"
}

// live phases: an instance in them must be a process on the host.
func live(i v1alpha1.Instance) bool {
	return i.PID > 0 && (i.Phase == v1alpha1.PhaseRunning || i.Phase == v1alpha1.PhaseStarting)
}

// checkProcesses is invariant 2: every process of this run on the host
// belongs to an instance the API reports (no orphans), no instance runs
// twice (no duplicates), and every live instance the API reports is a
// process of this run with the same uid (no ghosts).
func checkProcesses(st apiState, procs []procInfo) []string {
	var out []string
	byPID := map[int]v1alpha1.Instance{}
	for _, i := range st.instances {
		if i.PID > 0 {
			byPID[i.PID] = i
		}
	}
	leaders := map[string][]procInfo{}
	byUID := map[string]bool{}
	for _, p := range procs {
		byUID[p.uid()] = true
		if p.pgid != p.pid {
			// Not an instance itself: it must be in an instance's group.
			if _, ok := byPID[p.pgid]; !ok {
				out = append(out, fmt.Sprintf("orphan: %s, its group leader is no instance the API reports", p))
			}
			continue
		}
		key := p.app() + "/" + p.instance()
		leaders[key] = append(leaders[key], p)
		i, ok := byPID[p.pid]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("orphan: %s is no instance the API reports", p))
		case i.UID != p.uid() || i.App != p.app() || i.Name != p.instance():
			out = append(out, fmt.Sprintf("mismatch: %s, the API says pid %d is %s/%s uid %s", p, p.pid, i.App, i.Name, i.UID))
		}
	}
	for _, key := range slices.Sorted(maps.Keys(leaders)) {
		if ps := leaders[key]; len(ps) > 1 {
			var d []string
			for _, p := range ps {
				d = append(d, fmt.Sprintf("pid %d uid %s", p.pid, p.uid()))
			}
			out = append(out, fmt.Sprintf("duplicate: %s runs %d times: %s", key, len(ps), strings.Join(d, ", ")))
		}
	}
	for _, i := range st.instances {
		if live(i) && !byUID[i.UID] {
			out = append(out, fmt.Sprintf("ghost: the API reports %s/%s %s pid %d uid %s, no such process of this run", i.App, i.Name, i.Phase, i.PID, i.UID))
		}
	}
	return out
}

// checkPorts is invariant 3: no port given to two instances by the API,
// no port listened on by two instances (process groups), no instance
// listening on another's port, and every ready instance listening on its
// own ports.
func checkPorts(st apiState, procs []procInfo) []string {
	var out []string
	owner := map[int]v1alpha1.Instance{} // port -> instance, per the API
	for _, i := range st.instances {
		for _, name := range slices.Sorted(maps.Keys(i.Ports)) {
			port := int(i.Ports[name])
			if o, ok := owner[port]; ok {
				out = append(out, fmt.Sprintf("port %d given to two instances: %s/%s (uid %s) and %s/%s (uid %s)", port, o.App, o.Name, o.UID, i.App, i.Name, i.UID))
				continue
			}
			owner[port] = i
		}
	}
	groups := map[int][]int{} // port -> process groups listening
	groupPorts := map[int][]int{}
	for _, p := range procs {
		for _, port := range p.listening {
			if !slices.Contains(groups[port], p.pgid) {
				groups[port] = append(groups[port], p.pgid)
			}
			groupPorts[p.pgid] = append(groupPorts[p.pgid], port)
			if o, ok := owner[port]; ok && o.PID != p.pgid {
				out = append(out, fmt.Sprintf("port %d: %s listens on it, the API gave it to %s/%s pid %d", port, p, o.App, o.Name, o.PID))
			}
		}
	}
	for _, port := range slices.Sorted(maps.Keys(groups)) {
		if g := groups[port]; len(g) > 1 {
			out = append(out, fmt.Sprintf("port %d listened on by %d instances (process groups %v)", port, len(g), g))
		}
	}
	for _, i := range st.instances {
		if !i.Ready || i.PID <= 0 {
			continue
		}
		for _, name := range slices.Sorted(maps.Keys(i.Ports)) {
			if port := int(i.Ports[name]); !slices.Contains(groupPorts[i.PID], port) {
				out = append(out, fmt.Sprintf("port %d: %s/%s pid %d is ready but does not listen on its port %s", port, i.App, i.Name, i.PID, name))
			}
		}
	}
	return out
}
