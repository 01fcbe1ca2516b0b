// Package runtimetest provides a fake runtime.Interface that records what
// it is asked to do and lets a test say "instance web-3 exited with 137".
package runtimetest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
)

// Call is one recorded call to the fake.
type Call struct {
	Op       string // "Start" or "Stop"
	Instance string
	UID      string
	Revision string
	Reason   string // Stop's reason
}

// Fake is an in-memory runtime.Interface. Processes "run" until the test
// exits them; Stop makes them exit at once unless HoldStops is set.
type Fake struct {
	// Now is the clock stamped on starts and exits; time.Now when nil.
	Now func() time.Time
	// StartErr, when it returns an error, fails the start of that spec.
	StartErr func(runtime.StartSpec) error
	// HoldStops keeps stopped instances alive (Stopping) until Exit is called.
	HoldStops bool

	events chan runtime.Event

	// mu guards the fields below.
	mu      sync.Mutex
	procs   map[string]*runtime.State // by uid
	stopped map[string]string         // uid -> the reason of the Stop under way
	calls   []Call
	nextPID int
	inits   map[string]*v1alpha1.AppSpec // uid -> the spec of an instance with init steps (init.go)
}

var _ runtime.Interface = (*Fake)(nil)

// New returns an empty fake.
func New() *Fake {
	return &Fake{events: make(chan runtime.Event, 4096), procs: map[string]*runtime.State{}, stopped: map[string]string{}, nextPID: 1000}
}

func (f *Fake) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

// Start implements runtime.Interface.
func (f *Fake) Start(_ context.Context, spec runtime.StartSpec) (runtime.State, error) {
	if f.StartErr != nil {
		if err := f.StartErr(spec); err != nil {
			return runtime.State{}, fmt.Errorf("start %s: %w", spec.Instance, err)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if p, ok := f.procs[spec.UID]; ok && p.Running() {
		return runtime.State{}, fmt.Errorf("start %s: uid %s already running", spec.Instance, spec.UID)
	}
	ports := spec.Ports
	if ports == nil && spec.Spec != nil && len(spec.Spec.Ports) > 0 {
		var err error
		if ports, err = f.assignPortsLocked(spec); err != nil {
			return runtime.State{}, fmt.Errorf("start %s: %w", spec.Instance, err)
		}
	}
	f.nextPID++
	now := f.now()
	s := &runtime.State{UID: spec.UID, App: spec.App, Instance: spec.Instance, Ordinal: spec.Ordinal,
		Revision: spec.Revision, PID: f.nextPID, StartedAt: now, Ports: maps.Clone(ports),
		Probe: runtime.InitialProbeStatus(spec.Spec, now)}
	f.procs[spec.UID] = s
	f.beginInitLocked(s, spec)
	f.calls = append(f.calls, Call{Op: "Start", Instance: spec.Instance, UID: spec.UID, Revision: spec.Revision})
	return *s, nil
}

// assignPortsLocked is the fake's port allocation: a fixed port as is; from
// a range, low + ordinal, or the lowest port of the range no other running
// instance holds when that one is held (a surge instance). It never checks
// the host. Call with f.mu held.
func (f *Fake) assignPortsLocked(spec runtime.StartSpec) (map[string]int32, error) {
	held := map[int32]bool{}
	for uid, p := range f.procs {
		if uid != spec.UID && p.Running() {
			for _, port := range p.Ports {
				held[port] = true
			}
		}
	}
	out := map[string]int32{}
	for _, ps := range spec.Spec.Ports {
		lo, hi, err := ps.Bounds()
		if err != nil {
			return nil, err
		}
		port := lo // a fixed port
		if ps.Range != "" {
			port += int32(spec.Ordinal)
		}
		if ps.Range != "" && (port > hi || held[port]) {
			port = 0
			for p := lo; p <= hi && port == 0; p++ {
				if !held[p] {
					port = p
				}
			}
			if port == 0 {
				return nil, &runtime.PortInUseError{Name: ps.Name,
					Message: fmt.Sprintf("no free port in range %s (%s): %d in use", ps.Range, ps.Name, hi-lo+1)}
			}
		}
		out[ps.Name] = port
	}
	return out, nil
}

// Stop implements runtime.Interface.
func (f *Fake) Stop(uid string, spec runtime.StopSpec) error {
	f.mu.Lock()
	p, ok := f.procs[uid]
	if !ok {
		f.mu.Unlock()
		return runtime.ErrNotFound
	}
	if !p.Running() || p.Stopping {
		f.mu.Unlock()
		return nil
	}
	p.Stopping = true
	f.stopped[uid] = spec.Reason
	f.calls = append(f.calls, Call{Op: "Stop", Instance: p.Instance, UID: uid, Revision: p.Revision, Reason: spec.Reason})
	if !f.HoldStops {
		p.Exit = &v1alpha1.ExitStatus{Signal: "SIGTERM", Reason: spec.Reason, At: f.now()}
		p.Stopping = false
	}
	app := p.App
	f.mu.Unlock()
	if !f.HoldStops {
		f.events <- runtime.Event{App: app, UID: uid}
	}
	return nil
}

// Exit makes a running instance exit with code (and reason Completed or
// Error), as if it had ended by itself. A stopping instance keeps its
// stop reason, as the real runtime reports it: an instance stopped for a
// failed liveness probe that exits 0 on SIGTERM exits with code 0 and
// reason LivenessProbeFailed.
func (f *Fake) Exit(uid string, code int) {
	f.mu.Lock()
	p, ok := f.procs[uid]
	if !ok || !p.Running() {
		f.mu.Unlock()
		panic(fmt.Sprintf("runtimetest: exit of %q which is not running", uid))
	}
	reason := "Error"
	if code == 0 {
		reason = "Completed"
	}
	if r, ok := f.stopped[uid]; ok && p.Stopping && r != "" {
		reason = r
	}
	p.Exit = &v1alpha1.ExitStatus{Code: code, Reason: reason, At: f.now()}
	p.Stopping = false
	app := p.App
	f.mu.Unlock()
	f.events <- runtime.Event{App: app, UID: uid}
}

// SetProbe sets what the probes of instance uid say, as the real runtime
// does on a probe transition, and sends an Event. It panics for an unknown
// uid.
func (f *Fake) SetProbe(uid string, p runtime.ProbeStatus) {
	f.mu.Lock()
	s, ok := f.procs[uid]
	if !ok {
		f.mu.Unlock()
		panic(fmt.Sprintf("runtimetest: set probe of unknown %q", uid))
	}
	s.Probe = p
	app := s.App
	f.mu.Unlock()
	f.events <- runtime.Event{App: app, UID: uid}
}

// ExitInstance exits the running, not stopping process named instance
// (e.g. "web-1") and returns its uid. It fails the test helper's caller by
// panicking when there is none.
func (f *Fake) ExitInstance(instance string, code int) string {
	f.mu.Lock()
	uid := ""
	for u, p := range f.procs {
		if p.Instance == instance && p.Running() {
			uid = u
		}
	}
	f.mu.Unlock()
	if uid == "" {
		panic(fmt.Sprintf("runtimetest: no running %q", instance))
	}
	f.Exit(uid, code)
	return uid
}

// Instances implements runtime.Interface.
func (f *Fake) Instances(app string) []runtime.State {
	return f.instances(func(a string) bool { return a == app })
}

// AllInstances implements runtime.Interface.
func (f *Fake) AllInstances() []runtime.State {
	out := f.instances(func(string) bool { return true })
	slices.SortStableFunc(out, func(a, b runtime.State) int { return strings.Compare(a.App, b.App) })
	return out
}

// instances are copies of the processes of the apps keep accepts, sorted
// by ordinal, then start time.
func (f *Fake) instances(keep func(app string) bool) []runtime.State {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []runtime.State
	for _, p := range f.procs {
		if keep(p.App) {
			s := *p
			if p.Exit != nil {
				e := *p.Exit
				s.Exit = &e
			}
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b runtime.State) int {
		if a.Ordinal != b.Ordinal {
			return a.Ordinal - b.Ordinal
		}
		return a.StartedAt.Compare(b.StartedAt)
	})
	return out
}

// Apps implements runtime.Interface.
func (f *Fake) Apps() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	seen := map[string]bool{}
	for _, p := range f.procs {
		seen[p.App] = true
	}
	out := make([]string, 0, len(seen))
	for a := range seen {
		out = append(out, a)
	}
	slices.Sort(out)
	return out
}

// Release implements runtime.Interface.
func (f *Fake) Release(uid string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p, ok := f.procs[uid]; ok && !p.Running() {
		delete(f.procs, uid)
		delete(f.stopped, uid)
	}
}

// Events implements runtime.Interface.
func (f *Fake) Events() <-chan runtime.Event { return f.events }

// Calls returns the calls recorded so far and forgets them.
func (f *Fake) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.calls
	f.calls = nil
	return c
}

// Running returns the names of running instances, sorted, one entry per
// process (a name appears twice while two revisions of it overlap).
func (f *Fake) Running(app string) []string {
	var out []string
	for _, s := range f.Instances(app) {
		if s.Running() {
			out = append(out, s.Instance)
		}
	}
	slices.Sort(out)
	return out
}
