package server

import "proclet.dev/proclet/apis/v1alpha1"

// Redacted replaces every env value and probe header value shown in an
// answer.
const Redacted = "<redacted>"

// redact hides the env values of app and the header values of its HTTP
// probes (an Authorization header is a secret as much as an env value).
// An entry with valueFrom keeps it: its file's path is shown, never its
// content (which the app never holds).
// The caller owns app (a copy), but its slices and probes may be shared
// with the reconciler's state: they are replaced, never written through.
func redact(app *v1alpha1.App) {
	if len(app.Spec.Env) > 0 {
		env := make([]v1alpha1.EnvVar, len(app.Spec.Env))
		for i, e := range app.Spec.Env {
			env[i] = v1alpha1.EnvVar{Name: e.Name, Value: Redacted}
			if e.ValueFrom != nil {
				env[i] = v1alpha1.EnvVar{Name: e.Name, ValueFrom: &v1alpha1.EnvVarSource{File: e.ValueFrom.File}}
			}
		}
		app.Spec.Env = env
	}
	app.Spec.StartupProbe = redactProbe(app.Spec.StartupProbe)
	app.Spec.ReadinessProbe = redactProbe(app.Spec.ReadinessProbe)
	app.Spec.LivenessProbe = redactProbe(app.Spec.LivenessProbe)
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
