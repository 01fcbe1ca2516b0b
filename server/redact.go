package server

import "proclet.dev/proclet/apis/v1alpha1"

// Redacted replaces every env value shown in an answer.
const Redacted = "<redacted>"

// redact hides the env values of app, which the caller owns (a copy).
func redact(app *v1alpha1.App) {
	env := make([]v1alpha1.EnvVar, len(app.Spec.Env))
	for i, e := range app.Spec.Env {
		env[i] = v1alpha1.EnvVar{Name: e.Name, Value: Redacted}
	}
	if len(env) > 0 {
		app.Spec.Env = env
	}
}
