package reconciler

import (
	"slices"
	"sync"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
)

// statusStore is what readers see of every app: the view and instances the
// last pass derived, and the desired app they are shown from until then.
// It has its own lock, so that the server's reads (view.go) never wait for
// a snapshot being applied or a pass being planned under r.mu: they wait
// only while a pass publishes its result, or a usage refresh its samples.
//
// Lock order: r.mu, then s.mu; the store never takes r.mu. Published
// views and instance lists are replaced, never mutated (readers share
// them), and every change of them is published to the watchers under
// s.mu, so that Watch lists and subscribes with no change in between.
type statusStore struct {
	// mu guards apps and what they point to.
	mu       sync.RWMutex
	apps     map[string]*shownApp // the same names as r.apps
	watchers broadcaster
}

// shownApp is the status store's part of an app.
type shownApp struct {
	// desired is the desired store's app as the last Replace left it
	// (follow), shown before the first pass and for a pending edit.
	desired   *v1alpha1.SourcedApp
	view      *v1alpha1.App     // derived by the last pass (deriveStatus)
	job       *v1alpha1.Job     // derived by the last pass of a Job (deriveJob)
	cron      *v1alpha1.CronJob // derived by the last pass of a CronJob
	instances []v1alpha1.Instance
	progress  progress // the rollout's progress: the next pass's input
}

func newStatusStore() *statusStore { return &statusStore{apps: map[string]*shownApp{}} }

// follow makes the store know every app of apps, each with its desired
// app. Caller holds r.mu (apps is r.apps).
func (s *statusStore) follow(apps map[string]*appState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, st := range apps {
		s.entryLocked(name).desired = st.desired
	}
}

func (s *statusStore) entryLocked(name string) *shownApp {
	sh := s.apps[name]
	if sh == nil {
		sh = &shownApp{}
		s.apps[name] = sh
	}
	return sh
}

// derived is what the last pass of app derived: its view (nil: none yet)
// and its rollout's progress, the inputs of the next derivation.
func (s *statusStore) derived(app string) (*v1alpha1.App, progress) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if sh := s.apps[app]; sh != nil {
		return sh.view, sh.progress
	}
	return nil, progress{}
}

// publish shows what a pass of app derived (d: nothing changes when it
// has no view) beside its desired app, tells the watchers, and reports
// whether what its dependents look at (depState) changed.
func (s *statusStore) publish(app string, desired *v1alpha1.SourcedApp, d derivedStatus) (depChanged bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sh := s.entryLocked(app)
	sh.desired = desired
	prevView, prevJob, prevCron, prevInsts := sh.view, sh.job, sh.cron, sh.instances
	if d.view != nil || d.job != nil || d.cron != nil {
		sh.view, sh.job, sh.cron, sh.instances, sh.progress = d.view, d.job, d.cron, d.instances, d.progress
	}
	s.watchers.publish(slices.Concat(changes(prevView, prevInsts, sh.view, sh.instances),
		jobChanges(prevJob, sh.job), cronChanges(prevCron, sh.cron)))
	return depChangedBetween(prevInsts, sh.instances)
}

// remove forgets app, telling the watchers; it reports whether its
// dependents had something to look at (depState).
func (s *statusStore) remove(app string) (depChanged bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sh := s.apps[app]
	if sh == nil {
		return false
	}
	delete(s.apps, app)
	s.watchers.publish(slices.Concat(changes(sh.view, sh.instances, nil, nil), jobChanges(sh.job, nil), cronChanges(sh.cron, nil)))
	return depChangedBetween(sh.instances, nil)
}

func depChangedBetween(before, after []v1alpha1.Instance) bool {
	r0, s0 := depState(before)
	r1, s1 := depState(after)
	return r0 != r1 || s0 != s1
}

// depStateOf is depState of app's instances; false, false for an
// unknown app.
func (s *statusStore) depStateOf(app string) (ready, started bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if sh := s.apps[app]; sh != nil {
		return depState(sh.instances)
	}
	return false, false
}

// refreshUsage replaces the instances whose usage changed (usage.go)
// with copies carrying the samples of byUID. No watch event: usage
// changes at every sample.
func (s *statusStore) refreshUsage(byUID map[string]*runtime.State) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sh := range s.apps {
		if usageChanged(sh.instances, byUID) {
			sh.instances = withUsage(sh.instances, byUID)
		}
	}
}
