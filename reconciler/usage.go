package reconciler

import (
	"slices"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
)

// RefreshUsage copies the runtime's latest samples of every running
// instance (CPU, memory, listening ports) into the instances the reconciler
// shows, without a reconcile pass: no plan, no status derivation, no watch
// event (usage changes at every sample, for every instance). main wires it
// as runtime.ExecOptions.OnSample, so readers see usage at most one sampling
// interval old instead of as old as the app's last reconcile.
func (r *Reconciler) RefreshUsage() {
	// Runtime calls are made without r.mu.
	var states []runtime.State
	if bulk, ok := r.rt.(allInstances); ok {
		states = bulk.AllInstances()
	} else {
		r.mu.RLock()
		names := make([]string, 0, len(r.apps))
		for name := range r.apps {
			names = append(names, name)
		}
		r.mu.RUnlock()
		for _, name := range names {
			states = append(states, r.rt.Instances(name)...)
		}
	}
	for _, app := range appsOverMemoryLimit(states) {
		r.q.Add(app) // the pass that restarts it
	}
	usage := map[string]map[string]runtime.State{}
	for _, o := range states {
		if !o.Running() || o.Usage.SampledAt.IsZero() {
			continue
		}
		if usage[o.App] == nil {
			usage[o.App] = map[string]runtime.State{}
		}
		usage[o.App][o.UID] = o
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for name, byUID := range usage {
		if st := r.apps[name]; st != nil {
			st.instances = withUsage(st.instances, byUID)
		}
	}
}

// allInstances is what a runtime may offer beyond runtime.Interface: the
// state of every instance in one call (runtime.Exec has it).
type allInstances interface {
	AllInstances() []runtime.State
}

// withUsage returns insts with the usage of the running ones replaced by
// that of the observed process of the same uid and pid (a process started
// since the last reconcile is not the one shown). It copies rather than
// writes in place: a slice once published is not mutated.
func withUsage(insts []v1alpha1.Instance, byUID map[string]runtime.State) []v1alpha1.Instance {
	out := slices.Clone(insts)
	for i := range out {
		o, ok := byUID[out[i].UID]
		if !ok || o.PID != out[i].PID {
			continue
		}
		u := o.Usage
		out[i].CPUSeconds, out[i].CPUPercent, out[i].MemoryBytes = u.CPUSeconds, u.CPUPercent, u.MemoryBytes
		out[i].Message = runningMessage(o)
		out[i].Listening = []int32{}
		if u.Listening != nil {
			out[i].Listening = slices.Clone(u.Listening)
		}
	}
	return out
}
