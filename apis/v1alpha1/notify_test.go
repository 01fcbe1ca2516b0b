package v1alpha1

import (
	"testing"
)

// TestNotifyProbeDecodes: `notify: {}` is a handler of its own (an empty
// object is not "unset" there), in YAML, JSON and TOML alike, and it
// changes the revision (its instances get NOTIFY_SOCKET).
func TestNotifyProbeDecodes(t *testing.T) {
	yamlApp := mustDecode(t, "a.yaml", []byte(minimal+"  readinessProbe: {notify: {}}\n  livenessProbe:\n    notify: {}\n    periodSeconds: 2\n"))
	jsonApp := mustDecode(t, "a.json", []byte(`{"apiVersion":"proclet.dev/v1alpha1","kind":"App","metadata":{"name":"web"},
	"spec":{"command":["./web"],"readinessProbe":{"notify":{}},"livenessProbe":{"notify":{},"periodSeconds":2}}}`))
	tomlApp := mustDecode(t, "a.toml", []byte("apiVersion = \"proclet.dev/v1alpha1\"\nkind = \"App\"\n[metadata]\nname = \"web\"\n"+
		"[spec]\ncommand = [\"./web\"]\n[spec.readinessProbe.notify]\n[spec.livenessProbe]\nperiodSeconds = 2\n[spec.livenessProbe.notify]\n"))
	for _, a := range [][]App{yamlApp, jsonApp, tomlApp} {
		s := &a[0].Spec
		if s.ReadinessProbe == nil || s.ReadinessProbe.Notify == nil || s.LivenessProbe.Notify == nil {
			t.Fatalf("notify not decoded: %+v %+v", s.ReadinessProbe, s.LivenessProbe)
		}
		if errs := Validate(&a[0]); len(errs) != 0 {
			t.Fatalf("valid notify probes refused: %v", errs)
		}
		if !s.UsesNotify() || s.WatchdogPeriodSeconds() != 2 {
			t.Errorf("UsesNotify %v, WatchdogPeriodSeconds %d, want true, 2", s.UsesNotify(), s.WatchdogPeriodSeconds())
		}
	}
	want := Revision(&yamlApp[0].Spec)
	for _, a := range [][]App{jsonApp, tomlApp} {
		if got := Revision(&a[0].Spec); got != want {
			t.Errorf("revision %s != YAML's %s", got, want)
		}
	}
	plain := mustDecode(t, "b.yaml", []byte(minimal+"  readinessProbe: {tcpSocket: {port: 80}}\n  livenessProbe:\n    notify: {}\n    periodSeconds: 2\n"))
	if Revision(&plain[0].Spec) == want {
		t.Error("a notify readiness probe and a tcpSocket one have the same revision")
	}
	if plain[0].Spec.ReadinessProbe.Notify != nil || (&plain[0].Spec).WatchdogPeriodSeconds() != 2 {
		t.Error("tcpSocket readiness decoded as notify")
	}
	cp := yamlApp[0].Spec.DeepCopy()
	if cp.ReadinessProbe.Notify == nil || cp.LivenessProbe.Notify == nil {
		t.Error("DeepCopy drops the notify handler")
	}
}

// TestNotifyProbeRules: notify is one handler among the others, never
// with another, and never a startup probe.
func TestNotifyProbeRules(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(a *App)
		field  string // "" = valid
		msg    string
	}{
		{"readiness notify", func(a *App) { a.Spec.ReadinessProbe.ProbeHandler = ProbeHandler{Notify: &NotifyAction{}} }, "", ""},
		{"liveness notify", func(a *App) { a.Spec.LivenessProbe.ProbeHandler = ProbeHandler{Notify: &NotifyAction{}} }, "", ""},
		{"notify and tcpSocket", func(a *App) { a.Spec.LivenessProbe.Notify = &NotifyAction{} },
			"spec.livenessProbe", "exactly one handler is allowed: exec, httpGet, tcpSocket or notify"},
		{"startup notify", func(a *App) { a.Spec.StartupProbe.ProbeHandler = ProbeHandler{Notify: &NotifyAction{}} },
			"spec.startupProbe.notify", "a startup probe cannot be notify"},
		{"no handler names notify", func(a *App) { a.Spec.ReadinessProbe.ProbeHandler = ProbeHandler{} },
			"spec.readinessProbe", "one handler is required: exec, httpGet, tcpSocket or notify"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := validApp()
			tt.mutate(a)
			errs := Validate(a)
			if tt.field == "" {
				if len(errs) != 0 {
					t.Fatalf("want valid, got %v", errs)
				}
				return
			}
			wantErr(t, errs, 0, tt.field, tt.msg)
		})
	}
}
