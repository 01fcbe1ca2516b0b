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
// as exec.Options.OnSample, so readers see usage at most one sampling
// interval old instead of as old as the app's last reconcile.
func (r *Reconciler) RefreshUsage() {
	// Runtime calls are made without a lock held.
	states := r.rt.AllInstances()
	for _, app := range appsOverMemoryLimit(states) {
		r.q.Add(app) // the pass that restarts it
	}
	byUID := make(map[string]*runtime.State, len(states))
	for i := range states {
		if o := &states[i]; o.Running() && !o.Usage.SampledAt.IsZero() {
			byUID[o.UID] = o
		}
	}
	if len(byUID) == 0 {
		return
	}
	r.status.refreshUsage(byUID)
}

// usageChanged reports whether withUsage would change any of insts: an
// idle instance's usage stays the same from one sample to the next, and
// its app's instances are then not copied.
func usageChanged(insts []v1alpha1.Instance, byUID map[string]*runtime.State) bool {
	for i := range insts {
		in := &insts[i]
		o, ok := byUID[in.UID]
		if !ok || o.PID != in.PID {
			continue
		}
		u := &o.Usage
		if in.CPUSeconds != u.CPUSeconds || in.CPUPercent != u.CPUPercent || in.MemoryBytes != u.MemoryBytes ||
			in.Listening == nil || !slices.Equal(in.Listening, u.Listening) || in.Message != runningMessage(*o) {
			return true
		}
	}
	return false
}

// withUsage returns insts with the usage of the running ones replaced by
// that of the observed process of the same uid and pid (a process started
// since the last reconcile is not the one shown). It copies rather than
// writes in place: a slice once published is not mutated.
func withUsage(insts []v1alpha1.Instance, byUID map[string]*runtime.State) []v1alpha1.Instance {
	out := slices.Clone(insts)
	for i := range out {
		o, ok := byUID[out[i].UID]
		if !ok || o.PID != out[i].PID {
			continue
		}
		u := o.Usage
		out[i].CPUSeconds, out[i].CPUPercent, out[i].MemoryBytes = u.CPUSeconds, u.CPUPercent, u.MemoryBytes
		out[i].Message = runningMessage(*o)
		out[i].Listening = []int32{}
		if u.Listening != nil {
			out[i].Listening = slices.Clone(u.Listening)
		}
	}
	return out
}
