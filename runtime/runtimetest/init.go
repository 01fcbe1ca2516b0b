package runtimetest

import (
	"fmt"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
)

// beginInitLocked: an instance with init steps starts at its first step,
// neither started nor ready, as the real runtime reports it. Call with
// f.mu held.
func (f *Fake) beginInitLocked(s *runtime.State, spec runtime.StartSpec) {
	if spec.Spec == nil || len(spec.Spec.InitCommands) == 0 {
		return
	}
	if f.inits == nil {
		f.inits = map[string]*v1alpha1.AppSpec{}
	}
	f.inits[spec.UID] = spec.Spec
	s.Init = runtime.InitProgress{Total: len(spec.Spec.InitCommands), Name: spec.Spec.InitCommands[0].Name}
	s.Probe = runtime.ProbeStatus{}
}

// StepDone completes the init step uid runs, as its runner would, and
// sends an Event: the next step runs, or the command (its probes then
// say what InitialProbeStatus says). It panics when uid runs no step.
func (f *Fake) StepDone(uid string) {
	f.mu.Lock()
	s, ok := f.procs[uid]
	spec := f.inits[uid]
	if !ok || spec == nil || !s.Running() || !s.Init.Running() {
		f.mu.Unlock()
		panic(fmt.Sprintf("runtimetest: step done of %q which runs no init step", uid))
	}
	s.Init.Done++
	s.Init.Name = ""
	if s.Init.Done < s.Init.Total {
		s.Init.Name = spec.InitCommands[s.Init.Done].Name
	} else {
		s.Probe = runtime.InitialProbeStatus(spec, f.now())
	}
	app := s.App
	f.mu.Unlock()
	f.events <- runtime.Event{App: app, UID: uid}
}

// FailStep ends uid's attempt with the init step it runs exiting with
// code: the exit is InitFailed, and Init names the step. It panics when
// uid runs no step.
func (f *Fake) FailStep(uid string, code int) {
	f.mu.Lock()
	s, ok := f.procs[uid]
	if !ok || !s.Running() || !s.Init.Running() {
		f.mu.Unlock()
		panic(fmt.Sprintf("runtimetest: failed step of %q which runs no init step", uid))
	}
	s.Init.Message = fmt.Sprintf("init step %s exited with code %d", s.Init.Name, code)
	s.Exit = &v1alpha1.ExitStatus{Code: code, Reason: runtime.ExitReasonInitFailed, At: f.now()}
	s.Stopping = false
	app := s.App
	f.mu.Unlock()
	f.events <- runtime.Event{App: app, UID: uid}
}
