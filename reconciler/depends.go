package reconciler

import (
	"fmt"
	"slices"

	"proclet.dev/proclet/apis/v1alpha1"
)

// waitingFor says which dependency of app is not met yet, or "" when all
// are: a Ready dependency needs at least one ready instance, a Started one
// at least one started (running, startup probe passed) instance, a
// Complete one the Job's run of its current revision complete (jobWaiting). A
// dependency that is not defined keeps the app waiting. Caller holds r.mu
// (then the status store's lock is taken: r.mu comes first).
func (r *Reconciler) waitingFor(app *v1alpha1.App) string {
	for _, d := range app.Spec.DependsOn {
		st := r.apps[d.App]
		if st == nil || st.desired == nil {
			return fmt.Sprintf("waiting for app %q, which is not defined", d.App)
		}
		if d.Condition == v1alpha1.DependencyComplete {
			if msg := jobWaiting(d.App, st); msg != "" {
				return msg
			}
			continue
		}
		ready, started := r.status.depStateOf(d.App)
		switch {
		case d.Condition == v1alpha1.DependencyStarted && !started:
			return fmt.Sprintf("waiting for app %q to have a started instance", d.App)
		case d.Condition != v1alpha1.DependencyStarted && !ready:
			return fmt.Sprintf("waiting for app %q to have a ready instance", d.App)
		}
	}
	return ""
}

// depState is what dependents of an app look at: whether it has a ready
// instance and whether it has a started one, among its instances insts.
func depState(insts []v1alpha1.Instance) (ready, started bool) {
	for _, i := range insts {
		if i.Phase == v1alpha1.PhaseRunning {
			started = true
			ready = ready || i.Ready
		}
	}
	return ready, started
}

// indexDependents rebuilds d.dependentsOf from the desired apps: a
// dependency's readiness wakes its dependents, and searching every app
// for them at each of a thousand apps' readiness was quadratic. Its
// slices are never changed afterwards (a caller may read one after
// releasing r.mu). Caller holds r.mu for writing.
func (d *desiredStore) indexDependents(apps map[string]*appState) {
	d.dependentsOf = nil
	for n, st := range apps {
		if st.desired == nil {
			continue
		}
		for _, dep := range st.desired.App.Spec.DependsOn {
			if d.dependentsOf == nil {
				d.dependentsOf = map[string][]string{}
			}
			if !slices.Contains(d.dependentsOf[dep.App], n) {
				d.dependentsOf[dep.App] = append(d.dependentsOf[dep.App], n)
			}
		}
	}
}

// jobWaiting says why a dependency on the completion of st (named name)
// is not met, or "" when the run of its current revision completed: it
// is not a Job, its run has not finished, or failed.
func jobWaiting(name string, st *appState) string {
	if st.desired.App.Job == nil {
		return fmt.Sprintf("waiting for %q to complete, but it is not a Job but of kind %s (condition Complete needs a Job)", name, st.desired.App.Kind)
	}
	cur := st.job.latest()
	switch {
	case cur == nil || cur.Revision != st.revision:
		return fmt.Sprintf("waiting for job %s: revision %s has not run yet", name, st.revision)
	case cur.Result == v1alpha1.JobComplete:
		return ""
	case cur.finished():
		return fmt.Sprintf("waiting for job %s: run %d failed (%s)", name, cur.Run, cur.Reason)
	}
	return fmt.Sprintf("waiting for job %s: run %d has not completed yet", name, cur.Run)
}
