package client

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"proclet.dev/proclet/apis/v1alpha1"
)

// JobCarriers returns a daemon's Jobs and CronJobs as the carrier Apps
// that Diff compares with a folder's (v1alpha1.Job.Carrier), each with its
// revision and source in Status.
func JobCarriers(jobs []v1alpha1.Job, crons []v1alpha1.CronJob) []v1alpha1.App {
	out := make([]v1alpha1.App, 0, len(jobs)+len(crons))
	for i := range jobs {
		a := jobs[i].Carrier()
		if s := jobs[i].Status; s != nil {
			a.Status = &v1alpha1.AppStatus{Revision: s.Revision, Source: s.Source}
		}
		out = append(out, a)
	}
	for i := range crons {
		a := crons[i].Carrier()
		if s := crons[i].Status; s != nil {
			a.Status = &v1alpha1.AppStatus{Revision: s.Revision, Source: s.Source}
		}
		out = append(out, a)
	}
	return out
}

// addedText is what an OpAdd says of l.
func addedText(l *v1alpha1.App) string {
	switch {
	case l.Job != nil:
		return "new job: runs once"
	case l.CronJob != nil:
		return fmt.Sprintf("new cronjob: %q", l.CronJob.Schedule)
	}
	n := desiredReplicas(l)
	return fmt.Sprintf("new, %d %s", n, plural(int(n), "replica"))
}

// rollText is what a new revision of l does, with the fields that make it.
func rollText(l, r *v1alpha1.App, localRev, remoteRev, fields string) string {
	switch {
	case l.Job != nil:
		return fmt.Sprintf("revision %s -> %s (a new run: %s)", orNone(remoteRev), localRev, fields)
	case l.CronJob != nil:
		return fmt.Sprintf("revision %s -> %s (the next runs: %s)", orNone(remoteRev), localRev, fields)
	}
	n := min(desiredReplicas(l), desiredReplicas(r))
	return fmt.Sprintf("revision %s -> %s (rolls %d %s: %s)", orNone(remoteRev), localRev, n, plural(int(n), "instance"), fields)
}

// jobOwnFields are a Job spec's fields that are not process fields (those
// are compared as the carrier's AppSpec), and whether a change of each
// makes a new revision (a new run).
var jobOwnFields = map[string]bool{
	"completions": true, "parallelism": true, "completionMode": true, "backoffLimit": true,
	"activeDeadlineSeconds": true, "ttlSecondsAfterFinished": false,
}

// kindDiffs lists what differs between l and r beyond the process fields:
// their kinds, a Job's own fields, a CronJob's schedule and policies (none
// of which makes a new revision) and its template's own fields.
func kindDiffs(l, r *v1alpha1.App) (restart, other []string) {
	if l.KindNoun() != r.KindNoun() {
		return []string{fmt.Sprintf("kind %s -> %s", r.KindNoun(), l.KindNoun())}, nil
	}
	lj, rj := l.JobSpec(), r.JobSpec()
	if lj == nil || rj == nil {
		return nil, nil
	}
	lf, rf := jsonFields(lj), jsonFields(rj)
	prefix := ""
	if l.CronJob != nil {
		prefix = "jobTemplate.spec."
	}
	for _, name := range []string{"completions", "parallelism", "completionMode", "backoffLimit", "activeDeadlineSeconds", "ttlSecondsAfterFinished"} {
		if reflect.DeepEqual(lf[name], rf[name]) {
			continue
		}
		if jobOwnFields[name] {
			restart = append(restart, prefix+name)
		} else {
			other = append(other, prefix+name)
		}
	}
	if l.CronJob != nil && r.CronJob != nil {
		other = append(other, cronDiffs(l.CronJob, r.CronJob)...)
	}
	return restart, other
}

// cronDiffs lists a CronJob's own fields that differ (its template's spec
// aside), in the order of CronJobSpec.
func cronDiffs(l, r *v1alpha1.CronJobSpec) []string {
	lc, rc := *l, *r
	lc.JobTemplate.Spec, rc.JobTemplate.Spec = v1alpha1.JobSpec{}, v1alpha1.JobSpec{}
	lf, rf := jsonFields(&lc), jsonFields(&rc)
	var out []string
	t := reflect.TypeFor[v1alpha1.CronJobSpec]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if reflect.DeepEqual(lf[name], rf[name]) {
			continue
		}
		if name == "schedule" {
			name = fmt.Sprintf("schedule %q -> %q", r.Schedule, l.Schedule)
		}
		out = append(out, name)
	}
	return out
}

// jsonFields is v as generic JSON, by top-level field.
func jsonFields(v any) map[string]any {
	raw, err := json.Marshal(v)
	if err != nil {
		panic("client: marshal spec: " + err.Error()) // every v1alpha1 type marshals
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		panic("client: unmarshal spec: " + err.Error())
	}
	return m
}
