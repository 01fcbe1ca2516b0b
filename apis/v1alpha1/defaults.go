package v1alpha1

import "time"

// The defaults (docs/manifests.md).
const (
	DefaultReplicas                      = 1
	DefaultTerminationGracePeriodSeconds = 30
	DefaultStopSignal                    = "SIGTERM"
	DefaultProgressDeadlineSeconds       = 600
	DefaultLogMaxSize                    = Quantity("10Mi")
	DefaultLogMaxFiles                   = 5
	DefaultBackoffInitial                = time.Second
	DefaultBackoffMax                    = 5 * time.Minute
	DefaultBackoffResetAfter             = 10 * time.Minute
	DefaultMaxSurge                      = "25%"
	DefaultMaxUnavailable                = "25%"

	DefaultProbePeriodSeconds    = 10
	DefaultProbeTimeoutSeconds   = 1
	DefaultProbeSuccessThreshold = 1
	DefaultProbeFailureThreshold = 3
	DefaultProbeHTTPPath         = "/"
	DefaultProbeHTTPScheme       = "HTTP"
)

// Default fills every unset field that has a default, in place. After it,
// every pointer with a default is non-nil; explicit values (replicas: 0
// included) are kept. It is idempotent. workingDir is not defaulted here:
// its default is the manifest's directory, which only the reader knows.
// A carried Job or CronJob is defaulted in its own spec (App.Job,
// App.CronJob), and its Spec is made again from that (defaults_jobs.go).
func Default(app *App) {
	if app == nil {
		return
	}
	if !app.IsApp() {
		defaultCarrier(app)
		return
	}
	defaultSpec(&app.Spec)
}

func defaultSpec(s *AppSpec) {
	if s.Replicas == nil {
		s.Replicas = ptr(int32(DefaultReplicas))
	}
	defaultSockets(s)
	if s.RestartPolicy == "" {
		s.RestartPolicy = RestartAlways
	}
	if s.RestartBackoff == nil {
		s.RestartBackoff = &BackoffSpec{}
	}
	defaultDuration(&s.RestartBackoff.Initial, DefaultBackoffInitial)
	defaultDuration(&s.RestartBackoff.Max, DefaultBackoffMax)
	defaultDuration(&s.RestartBackoff.ResetAfter, DefaultBackoffResetAfter)
	defaultProbe(s.StartupProbe)
	defaultProbe(s.ReadinessProbe)
	defaultProbe(s.LivenessProbe)
	if s.TerminationGracePeriodSeconds == nil {
		s.TerminationGracePeriodSeconds = ptr(int64(DefaultTerminationGracePeriodSeconds))
	}
	if s.StopSignal == "" {
		s.StopSignal = DefaultStopSignal
	}
	if s.Strategy.Type == "" {
		s.Strategy.Type = RollingUpdate
	}
	if s.Strategy.Type == RollingUpdate {
		if s.Strategy.RollingUpdate == nil {
			s.Strategy.RollingUpdate = &RollingUpdateParams{}
		}
		ru := s.Strategy.RollingUpdate
		if ru.MaxSurge == nil {
			ru.MaxSurge = ptr(FromString(DefaultMaxSurge))
		}
		if ru.MaxUnavailable == nil {
			ru.MaxUnavailable = ptr(FromString(DefaultMaxUnavailable))
		}
	}
	if s.ProgressDeadlineSeconds == nil {
		s.ProgressDeadlineSeconds = ptr(int32(DefaultProgressDeadlineSeconds))
	}
	if s.Logs.MaxSize == "" {
		s.Logs.MaxSize = DefaultLogMaxSize
	}
	if s.Logs.MaxFiles == nil {
		s.Logs.MaxFiles = ptr(int32(DefaultLogMaxFiles))
	}
	for i := range s.DependsOn {
		if s.DependsOn[i].Condition == "" {
			s.DependsOn[i].Condition = DependencyReady
		}
	}
}

func defaultDuration(d **Duration, v time.Duration) {
	if *d == nil {
		*d = &Duration{v}
	}
}

func defaultProbe(p *Probe) {
	if p == nil {
		return
	}
	if p.PeriodSeconds == 0 {
		p.PeriodSeconds = DefaultProbePeriodSeconds
	}
	if p.TimeoutSeconds == 0 {
		p.TimeoutSeconds = DefaultProbeTimeoutSeconds
	}
	if p.SuccessThreshold == 0 {
		p.SuccessThreshold = DefaultProbeSuccessThreshold
	}
	if p.FailureThreshold == 0 {
		p.FailureThreshold = DefaultProbeFailureThreshold
	}
	if h := p.HTTPGet; h != nil {
		if h.Path == "" {
			h.Path = DefaultProbeHTTPPath
		}
		if h.Scheme == "" {
			h.Scheme = DefaultProbeHTTPScheme
		}
	}
}

func ptr[T any](v T) *T { return &v }
