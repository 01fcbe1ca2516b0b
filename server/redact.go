package server

import "proclet.dev/proclet/apis/v1alpha1"

// Redacted replaces every env value and probe header value shown in an
// answer.
const Redacted = "<redacted>"

// redact hides the env values of app (of its init steps too) and the
// header values of its HTTP probes (an Authorization header is a secret
// as much as an env value). An entry with valueFrom keeps it: its file's
// path is shown, never its content (which the app never holds). A carried
// Job's or CronJob's own spec is redacted as well.
// The caller owns app (a copy), but its slices and probes may be shared
// with the reconciler's state: they are replaced, never written through.
func redact(app *v1alpha1.App) {
	app.Spec.Env = redactEnv(app.Spec.Env)
	if len(app.Spec.InitCommands) > 0 {
		steps := make([]v1alpha1.InitCommand, len(app.Spec.InitCommands))
		for i, c := range app.Spec.InitCommands {
			c.Env = redactEnv(c.Env)
			steps[i] = c
		}
		app.Spec.InitCommands = steps
	}
	app.Spec.StartupProbe = redactProbe(app.Spec.StartupProbe)
	app.Spec.ReadinessProbe = redactProbe(app.Spec.ReadinessProbe)
	app.Spec.LivenessProbe = redactProbe(app.Spec.LivenessProbe)
	if app.Job != nil {
		spec := *app.Job
		redactJobSpec(&spec)
		app.Job = &spec
	}
	if app.CronJob != nil {
		spec := *app.CronJob
		redactJobSpec(&spec.JobTemplate.Spec)
		app.CronJob = &spec
	}
}

// redactJob hides the env values of a Job's spec, as redact does an
// App's. The caller owns j (a copy); its slices may be shared.
func redactJob(j *v1alpha1.Job) { redactJobSpec(&j.Spec) }

// redactCronJob hides the env values of a CronJob's job template.
func redactCronJob(c *v1alpha1.CronJob) { redactJobSpec(&c.Spec.JobTemplate.Spec) }

func redactJobSpec(s *v1alpha1.JobSpec) { s.Env = redactEnv(s.Env) }

// redactEnv returns env, or a copy of it with its values redacted.
func redactEnv(env []v1alpha1.EnvVar) []v1alpha1.EnvVar {
	if len(env) == 0 {
		return env
	}
	out := make([]v1alpha1.EnvVar, len(env))
	for i, e := range env {
		out[i] = v1alpha1.EnvVar{Name: e.Name, Value: Redacted}
		if e.ValueFrom != nil {
			out[i] = v1alpha1.EnvVar{Name: e.Name, ValueFrom: &v1alpha1.EnvVarSource{File: e.ValueFrom.File}}
		}
	}
	return out
}

// redactProbe returns p, or a copy of it with its HTTP header values
// redacted.
func redactProbe(p *v1alpha1.Probe) *v1alpha1.Probe {
	if p == nil || p.HTTPGet == nil || len(p.HTTPGet.HTTPHeaders) == 0 {
		return p
	}
	cp, get := *p, *p.HTTPGet
	get.HTTPHeaders = make([]v1alpha1.HTTPHeader, len(p.HTTPGet.HTTPHeaders))
	for i, h := range p.HTTPGet.HTTPHeaders {
		get.HTTPHeaders[i] = v1alpha1.HTTPHeader{Name: h.Name, Value: Redacted}
	}
	cp.HTTPGet = &get
	return &cp
}
