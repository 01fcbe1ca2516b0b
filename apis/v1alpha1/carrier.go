package v1alpha1

import (
	"fmt"
	"strings"
)

// AsJob is the Job a carries (its metadata and App.Job, shared, not
// copied), or nil when a does not carry a Job.
func (a *App) AsJob() *Job {
	if a == nil || a.Job == nil {
		return nil
	}
	return &Job{APIVersion: a.APIVersion, Kind: a.Kind, Metadata: a.Metadata, Spec: *a.Job}
}

// AsCronJob is the CronJob a carries (its metadata and App.CronJob,
// shared, not copied), or nil when a does not carry a CronJob.
func (a *App) AsCronJob() *CronJob {
	if a == nil || a.CronJob == nil {
		return nil
	}
	return &CronJob{APIVersion: a.APIVersion, Kind: a.Kind, Metadata: a.Metadata, Spec: *a.CronJob}
}

// JobSpec is the spec of each run of a carried Job or CronJob (App.Job,
// or App.CronJob.JobTemplate.Spec), nil for an App. After Default its
// pointers with a default are non-nil: the reconciler reads
// *a.JobSpec().Completions without a check.
func (a *App) JobSpec() *JobSpec {
	switch {
	case a == nil:
		return nil
	case a.Job != nil:
		return a.Job
	case a.CronJob != nil:
		return &a.CronJob.JobTemplate.Spec
	}
	return nil
}

// KindNoun is a's kind as a word of a message: app, job or cronjob (as in
// job/migrate).
func (a *App) KindNoun() string {
	switch {
	case a.Job != nil:
		return "job"
	case a.CronJob != nil:
		return "cronjob"
	}
	return "app"
}

// specPrefix is where the process fields of a are in its file: "spec"
// for an App and a Job, "spec.jobTemplate.spec" for a CronJob.
func (a *App) specPrefix() string {
	if a.CronJob != nil {
		return "spec.jobTemplate.spec"
	}
	return "spec"
}

// SpecPath is the path in a's file of field rest of its process fields
// (rest as in an App: "dependsOn[0].app"): "spec.dependsOn[0].app", or
// "spec.jobTemplate.spec.dependsOn[0].app" for a CronJob. Errors about
// a's Spec name their field with it.
func (a *App) SpecPath(rest string) string {
	return a.specPrefix() + "." + rest
}

// rebaseSpecPath moves a path of an App's spec ("spec.env[0].value") to
// where the process fields are in a's file.
func (a *App) rebaseSpecPath(p string) string {
	if a.CronJob == nil {
		return p
	}
	if p == "spec" || strings.HasPrefix(p, "spec.") || strings.HasPrefix(p, "spec[") {
		return a.specPrefix() + p[len("spec"):]
	}
	return p
}

// DuplicateNameMessage is the message of a DuplicateName error: dup's
// name is already that of first, defined in path. Names are unique across
// the kinds, so the message says first's kind when it differs: `app "web"
// is already defined in a.yaml`, `job "web" is already defined in a.yaml
// (as an app)`.
func DuplicateNameMessage(dup, first *App, path string) string {
	msg := fmt.Sprintf("%s %q is already defined in %s", dup.KindNoun(), dup.Metadata.Name, path)
	if n := first.KindNoun(); n != dup.KindNoun() {
		msg += fmt.Sprintf(" (as %s %s)", article(n), n)
	}
	return msg
}

// article is "a" or "an" before a kind's noun.
func article(noun string) string {
	if noun == "app" {
		return "an"
	}
	return "a"
}
