package reconciler

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
)

// execute applies the plan's actions through the runtime and records what
// happened in out.slots and the events.
func (r *Reconciler) execute(ctx context.Context, name string, in input, applied *v1alpha1.App, out *output, now time.Time) {
	for _, n := range out.notes {
		typ := "Normal"
		if n.warning {
			typ = "Warning"
		}
		r.record(Event{Time: now, Type: typ, Reason: n.reason, Object: n.object, App: name, Message: n.object + " " + n.message})
	}
	for i := 0; i < len(out.actions); i++ {
		a := out.actions[i]
		switch a.kind {
		case actRelease:
			if !jobPass(in) { // a Job's exits are its runs' (JobStats)
				r.countExit(name, in.observed, a.uid)
			}
			r.rt.Release(a.uid)
		case actStop:
			if err := r.rt.Stop(a.uid, stopSpec(applied, a.reason)); err != nil {
				r.metrics.executorError()
				r.log.Debug("stop", "app", name, "uid", a.uid, "err", err)
				continue
			}
			inst := a.instance
			if inst == "" {
				inst = instanceName(name, a.ordinal)
			}
			r.record(Event{Time: now, Type: "Normal", Reason: "Stopping", Object: inst, App: name,
				Message: fmt.Sprintf("%s stopping: %s", inst, a.message)})
		case actStart:
			j := i + 1
			for j < len(out.actions) && out.actions[j].kind == actStart {
				j++
			}
			r.startAll(ctx, name, in, out.actions[i:j], out, now)
			i = j - 1
		}
	}
}

// startParallel bounds how many instances of one app start at once. A
// start is mostly the kernel's fork and exec, which a second core runs
// beside the first: one app of 1000 replicas started one at a time took
// 1.6 times as long as 1000 apps (reconciled by Options.Workers at once).
const startParallel = 4

// startAll starts the instances of a run of consecutive start actions, up
// to startParallel at once (one by one for an app with ports), then records the outcomes in the actions'
// order (slots, events, requeue), so the result does not depend on which
// start finished first.
func (r *Reconciler) startAll(ctx context.Context, name string, in input, starts []action, out *output, now time.Time) {
	specs := make([]runtime.StartSpec, len(starts))
	for k, a := range starts {
		specs[k] = r.startSpec(name, in, a, out)
	}
	results := make([]startResult, len(starts))
	if len(starts) == 1 || len(in.app.Spec.Ports) > 0 {
		// One by one where ports are allocated: the lowest free port of
		// a range goes to the lowest ordinal, as it did.
		for k := range starts {
			results[k].state, results[k].err = r.rt.Start(ctx, specs[k])
		}
	} else {
		sem := make(chan struct{}, startParallel)
		var wg sync.WaitGroup
		for k := range starts {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				results[k].state, results[k].err = r.rt.Start(ctx, specs[k])
			})
		}
		wg.Wait()
	}
	for k, a := range starts {
		r.started(name, in, a, specs[k], results[k], out, now)
	}
}

// startResult is what runtime.Start returned for one start action.
type startResult struct {
	state runtime.State
	err   error
}

// startSpec is what the runtime needs to start the action's instance; it
// gives the slot a new uid when it has none.
func (r *Reconciler) startSpec(name string, in input, a action, out *output) runtime.StartSpec {
	sl := out.slotOf(a)
	if sl.UID == "" {
		sl.UID = newUID()
		out.setSlot(a, sl)
	}
	spec := runtime.StartSpec{UID: sl.UID, App: name, Instance: instanceName(name, a.ordinal), Ordinal: a.ordinal,
		Revision: in.revision, Spec: &in.app.Spec,
		// The exit code decides the restart (and must survive a daemon
		// restart): started through the waiting shim. Always restarts
		// whatever the code, and keeps the plain start.
		RecordExit: in.app.Spec.RestartPolicy != v1alpha1.RestartAlways}
	if a.run != 0 {
		out.jobStartSpec(&spec, in.app, a)
	}
	r.mu.RLock()
	if st := r.apps[name]; st != nil && st.desired != nil {
		spec.Dir, spec.Content = st.desired.Dir, st.desired.Content
	}
	r.mu.RUnlock()
	return spec
}

// started records the outcome of one start: the slot, the backoff of a
// failed start, the event.
func (r *Reconciler) started(name string, in input, a action, spec runtime.StartSpec, res startResult, out *output, now time.Time) {
	sl := out.slotOf(a)
	inst := spec.Instance
	s, err := res.state, res.err
	if err != nil {
		r.metrics.executorError()
		sl.StartError, sl.StartReason = err.Error(), "StartFailed"
		if _, ok := errors.AsType[*runtime.PortInUseError](err); ok {
			sl.StartReason = "PortInUse"
		}
		sl.Failures, sl.NextStartAt = backoffFor(&in.app.Spec).failed(sl.Failures, time.Time{}, now)
		if sl.StartReason == "PortInUse" && sl.NextStartAt.After(now.Add(portRetry)) {
			// A port is freed by someone else: look again soon, whatever
			// the crash-loop curve says.
			sl.NextStartAt = now.Add(portRetry)
		}
		out.requeueAt(now, sl.NextStartAt)
		out.jobStartFailed(a)
		r.record(Event{Time: now, Type: "Warning", Reason: "FailedStart", Object: inst, App: name,
			Message: fmt.Sprintf("%s failed to start: %v (retry in %s)", inst, err, sl.NextStartAt.Sub(now).Round(time.Millisecond))})
	} else {
		sl.StartError, sl.StartReason, sl.LastStartAt = "", "", s.StartedAt
		r.record(Event{Time: now, Type: "Normal", Reason: "Started", Object: inst, App: name,
			Message: fmt.Sprintf("%s started, pid %d, revision %s (%s)", inst, s.PID, spec.Revision, a.message)})
	}
	out.setSlot(a, sl)
}

// portRetry bounds the wait before retrying an instance whose fixed port
// another process holds.
const portRetry = 5 * time.Second

// stopSpec is how app says to stop its instances (defaults when nil).
func stopSpec(app *v1alpha1.App, reason string) runtime.StopSpec {
	if app == nil {
		return runtime.StopSpecFor(nil, reason)
	}
	return runtime.StopSpecFor(&app.Spec, reason)
}

func instanceName(app string, ordinal int) string { return fmt.Sprintf("%s-%d", app, ordinal) }

// newUID returns a random RFC 4122 version 4 UUID.
func newUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
