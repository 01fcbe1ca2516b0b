package v1alpha1

import (
	"reflect"
	"syscall"
	"testing"
	"time"
)

// assertDefaulted checks that every field with a default is set.
func assertDefaulted(t *testing.T, a *App) {
	t.Helper()
	s := &a.Spec
	switch {
	case s.Replicas == nil, s.RestartPolicy == "", s.RestartBackoff == nil,
		s.RestartBackoff.Initial == nil, s.RestartBackoff.Max == nil, s.RestartBackoff.ResetAfter == nil,
		s.TerminationGracePeriodSeconds == nil, s.StopSignal == "", s.Strategy.Type == "",
		s.ProgressDeadlineSeconds == nil, s.Logs.MaxSize == "", s.Logs.MaxFiles == nil:
		t.Fatalf("not defaulted: %+v", s)
	case s.Strategy.Type == RollingUpdate &&
		(s.Strategy.RollingUpdate == nil || s.Strategy.RollingUpdate.MaxSurge == nil || s.Strategy.RollingUpdate.MaxUnavailable == nil):
		t.Fatalf("rollingUpdate not defaulted: %+v", s.Strategy)
	}
	for _, p := range []*Probe{s.StartupProbe, s.ReadinessProbe, s.LivenessProbe} {
		if p != nil && (p.PeriodSeconds == 0 || p.TimeoutSeconds == 0 || p.SuccessThreshold == 0 || p.FailureThreshold == 0) {
			t.Fatalf("probe not defaulted: %+v", p)
		}
		if p != nil && p.HTTPGet != nil && (p.HTTPGet.Path == "" || p.HTTPGet.Scheme == "") {
			t.Fatalf("httpGet not defaulted: %+v", p.HTTPGet)
		}
	}
	for _, d := range s.DependsOn {
		if d.Condition == "" {
			t.Fatalf("dependsOn not defaulted: %+v", d)
		}
	}
	assertJobDefaulted(t, a)
}

// assertJobDefaulted checks the defaults of a carried Job or CronJob.
func assertJobDefaulted(t *testing.T, a *App) {
	t.Helper()
	if c := a.CronJob; c != nil && (c.ConcurrencyPolicy == "" || c.Suspend == nil ||
		c.SuccessfulJobsHistoryLimit == nil || c.FailedJobsHistoryLimit == nil) {
		t.Fatalf("cronjob not defaulted: %+v", c)
	}
	js := a.JobSpec()
	if js == nil {
		return
	}
	switch {
	case js.Completions == nil, js.Parallelism == nil, js.CompletionMode == "", js.BackoffLimit == nil,
		js.RestartPolicy == "", js.RestartBackoff == nil, js.RestartBackoff.Initial == nil,
		js.TerminationGracePeriodSeconds == nil, js.StopSignal == "", js.Logs.MaxSize == "", js.Logs.MaxFiles == nil:
		t.Fatalf("job spec not defaulted: %+v", js)
	}
	for _, d := range js.DependsOn {
		if d.Condition == "" {
			t.Fatalf("job dependsOn not defaulted: %+v", d)
		}
	}
}

func TestDefaultValues(t *testing.T) {
	a := &App{Spec: AppSpec{
		Command:        []string{"x"},
		ReadinessProbe: &Probe{ProbeHandler: ProbeHandler{HTTPGet: &HTTPGetAction{Port: FromString("http")}}},
		DependsOn:      []Dependency{{App: "db"}},
	}}
	Default(a)
	assertDefaulted(t, a)
	want := AppSpec{
		Replicas:      ptr(int32(1)),
		Command:       []string{"x"},
		RestartPolicy: RestartAlways,
		RestartBackoff: &BackoffSpec{
			Initial:    &Duration{time.Second},
			Max:        &Duration{5 * time.Minute},
			ResetAfter: &Duration{10 * time.Minute},
		},
		ReadinessProbe: &Probe{
			ProbeHandler:     ProbeHandler{HTTPGet: &HTTPGetAction{Path: "/", Port: FromString("http"), Scheme: "HTTP"}},
			PeriodSeconds:    10,
			TimeoutSeconds:   1,
			SuccessThreshold: 1,
			FailureThreshold: 3,
		},
		TerminationGracePeriodSeconds: ptr(int64(30)),
		StopSignal:                    "SIGTERM",
		Strategy: Strategy{Type: RollingUpdate, RollingUpdate: &RollingUpdateParams{
			MaxSurge: ptr(FromString("25%")), MaxUnavailable: ptr(FromString("25%")),
		}},
		ProgressDeadlineSeconds: ptr(int32(600)),
		Logs:                    LogSpec{MaxSize: "10Mi", MaxFiles: ptr(int32(5))},
		DependsOn:               []Dependency{{App: "db", Condition: DependencyReady}},
	}
	if !reflect.DeepEqual(a.Spec, want) {
		t.Errorf("Default gave\n%+v\nwant\n%+v", a.Spec, want)
	}
	// Idempotent.
	b := a.DeepCopy()
	Default(b)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("Default is not idempotent")
	}
	Default(nil) // no panic
}

func TestDefaultKeepsExplicitValues(t *testing.T) {
	a := &App{Spec: AppSpec{
		Replicas:                      ptr(int32(0)),
		TerminationGracePeriodSeconds: ptr(int64(0)),
		RestartPolicy:                 RestartNever,
		RestartBackoff:                &BackoffSpec{Max: &Duration{time.Minute}},
		StopSignal:                    "INT",
		Strategy: Strategy{Type: RollingUpdate, RollingUpdate: &RollingUpdateParams{
			MaxSurge: ptr(FromInt(0)),
		}},
		LivenessProbe: &Probe{PeriodSeconds: 2, ProbeHandler: ProbeHandler{HTTPGet: &HTTPGetAction{Path: "/x", Scheme: "HTTPS"}}},
	}}
	Default(a)
	s := a.Spec
	if *s.Replicas != 0 || *s.TerminationGracePeriodSeconds != 0 || s.RestartPolicy != RestartNever ||
		s.RestartBackoff.Max.Duration != time.Minute || s.RestartBackoff.Initial.Duration != time.Second ||
		s.StopSignal != "INT" || *s.Strategy.RollingUpdate.MaxSurge != FromInt(0) ||
		*s.Strategy.RollingUpdate.MaxUnavailable != FromString("25%") ||
		s.LivenessProbe.PeriodSeconds != 2 || s.LivenessProbe.HTTPGet.Path != "/x" || s.LivenessProbe.HTTPGet.Scheme != "HTTPS" {
		t.Errorf("explicit values lost: %+v", s)
	}
	// Recreate gets no rollingUpdate.
	r := &App{Spec: AppSpec{Strategy: Strategy{Type: Recreate}}}
	Default(r)
	if r.Spec.Strategy.RollingUpdate != nil {
		t.Errorf("Recreate got rollingUpdate %+v", r.Spec.Strategy.RollingUpdate)
	}
}

func TestSpecHelpers(t *testing.T) {
	var s AppSpec
	if s.GracePeriod() != 30*time.Second || s.StopSignalValue() != syscall.SIGTERM || s.ReplicaCount() != 1 {
		t.Errorf("unset spec: grace %v, signal %v, replicas %d", s.GracePeriod(), s.StopSignalValue(), s.ReplicaCount())
	}
	s = AppSpec{TerminationGracePeriodSeconds: ptr(int64(0)), StopSignal: "SIGINT", Replicas: ptr(int32(0))}
	if s.GracePeriod() != 0 || s.StopSignalValue() != syscall.SIGINT || s.ReplicaCount() != 0 {
		t.Errorf("set spec: grace %v, signal %v, replicas %d", s.GracePeriod(), s.StopSignalValue(), s.ReplicaCount())
	}
	s = AppSpec{TerminationGracePeriodSeconds: ptr(int64(1 << 62)), StopSignal: "QUIT"}
	if s.GracePeriod() <= 0 || s.StopSignalValue() != syscall.SIGQUIT {
		t.Errorf("huge grace %v overflowed, signal %v", s.GracePeriod(), s.StopSignalValue())
	}
}
