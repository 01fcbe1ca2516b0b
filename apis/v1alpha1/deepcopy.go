package v1alpha1

import (
	"maps"
	"slices"
)

// DeepCopy returns a copy of a that shares no memory with it. A nil App
// copies to nil.
func (a *App) DeepCopy() *App {
	if a == nil {
		return nil
	}
	out := *a
	out.Metadata.Labels = maps.Clone(a.Metadata.Labels)
	out.Metadata.Annotations = maps.Clone(a.Metadata.Annotations)
	out.Spec = *a.Spec.DeepCopy()
	out.Status = a.Status.deepCopy()
	if a.Job != nil {
		j := a.Job.DeepCopy()
		out.Job = &j
	}
	if a.CronJob != nil {
		c := *a.CronJob
		c.Suspend = clonePtr(c.Suspend)
		c.StartingDeadlineSeconds = clonePtr(c.StartingDeadlineSeconds)
		c.SuccessfulJobsHistoryLimit = clonePtr(c.SuccessfulJobsHistoryLimit)
		c.FailedJobsHistoryLimit = clonePtr(c.FailedJobsHistoryLimit)
		c.JobTemplate.Metadata.Labels = maps.Clone(c.JobTemplate.Metadata.Labels)
		c.JobTemplate.Spec = a.CronJob.JobTemplate.Spec.DeepCopy()
		out.CronJob = &c
	}
	return &out
}

// DeepCopy returns a copy of s that shares no memory with it.
func (s *AppSpec) DeepCopy() *AppSpec {
	if s == nil {
		return nil
	}
	out := *s
	out.Replicas = clonePtr(s.Replicas)
	out.Command = slices.Clone(s.Command)
	out.InitCommands = slices.Clone(s.InitCommands)
	for i, c := range s.InitCommands {
		out.InitCommands[i].Command = slices.Clone(c.Command)
		out.InitCommands[i].Env = slices.Clone(c.Env)
		for k := range c.Env {
			out.InitCommands[i].Env[k].ValueFrom = clonePtr(c.Env[k].ValueFrom)
		}
		out.InitCommands[i].TimeoutSeconds = clonePtr(c.TimeoutSeconds)
	}
	out.Env = slices.Clone(s.Env)
	for i := range out.Env {
		out.Env[i].ValueFrom = clonePtr(s.Env[i].ValueFrom)
	}
	out.EnvFrom = slices.Clone(s.EnvFrom)
	if r := s.RolloutOnChange; r != nil {
		out.RolloutOnChange = &RolloutOnChange{Executable: r.Executable, Paths: slices.Clone(r.Paths)}
	}
	out.Ports = slices.Clone(s.Ports)
	out.Sockets = slices.Clone(s.Sockets)
	if b := s.RestartBackoff; b != nil {
		out.RestartBackoff = &BackoffSpec{
			Initial:    clonePtr(b.Initial),
			Max:        clonePtr(b.Max),
			ResetAfter: clonePtr(b.ResetAfter),
		}
	}
	out.StartupProbe = s.StartupProbe.deepCopy()
	out.ReadinessProbe = s.ReadinessProbe.deepCopy()
	out.LivenessProbe = s.LivenessProbe.deepCopy()
	out.Resources.Limits.OpenFiles = clonePtr(s.Resources.Limits.OpenFiles)
	out.TerminationGracePeriodSeconds = clonePtr(s.TerminationGracePeriodSeconds)
	if l := s.Lifecycle; l != nil {
		out.Lifecycle = &Lifecycle{}
		if l.PreStop != nil {
			out.Lifecycle.PreStop = &LifecycleHandler{Exec: l.PreStop.Exec.deepCopy()}
		}
	}
	if ru := s.Strategy.RollingUpdate; ru != nil {
		out.Strategy.RollingUpdate = &RollingUpdateParams{
			MaxSurge:       clonePtr(ru.MaxSurge),
			MaxUnavailable: clonePtr(ru.MaxUnavailable),
		}
	}
	out.ProgressDeadlineSeconds = clonePtr(s.ProgressDeadlineSeconds)
	out.Logs.MaxFiles = clonePtr(s.Logs.MaxFiles)
	out.DependsOn = slices.Clone(s.DependsOn)
	out.NodeSelector = maps.Clone(s.NodeSelector)
	return &out
}

func (p *Probe) deepCopy() *Probe {
	if p == nil {
		return nil
	}
	out := *p
	out.Exec = p.Exec.deepCopy()
	if h := p.HTTPGet; h != nil {
		hc := *h
		hc.HTTPHeaders = slices.Clone(h.HTTPHeaders)
		out.HTTPGet = &hc
	}
	out.TCPSocket = clonePtr(p.TCPSocket)
	out.Notify = clonePtr(p.Notify)
	return &out
}

func (e *ExecAction) deepCopy() *ExecAction {
	if e == nil {
		return nil
	}
	return &ExecAction{Command: slices.Clone(e.Command)}
}

func (st *AppStatus) deepCopy() *AppStatus {
	if st == nil {
		return nil
	}
	out := *st
	out.Conditions = slices.Clone(st.Conditions)
	out.Files = slices.Clone(st.Files)
	return &out
}

// clonePtr copies the value a pointer points to.
func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// DeepCopy returns a copy of s that shares no memory with it (through
// the process fields' AppSpec copy).
func (s *JobSpec) DeepCopy() JobSpec {
	out := *s
	p := s.ProcessSpec()
	c := p.DeepCopy()
	out.Command, out.Env, out.EnvFrom, out.Resources, out.Logs = c.Command, c.Env, c.EnvFrom, c.Resources, c.Logs
	out.NodeSelector, out.DependsOn, out.TerminationGracePeriodSeconds, out.RestartBackoff = c.NodeSelector, c.DependsOn, c.TerminationGracePeriodSeconds, c.RestartBackoff
	out.Completions, out.Parallelism = clonePtr(s.Completions), clonePtr(s.Parallelism)
	out.BackoffLimit, out.ActiveDeadlineSeconds = clonePtr(s.BackoffLimit), clonePtr(s.ActiveDeadlineSeconds)
	out.TTLSecondsAfterFinished = clonePtr(s.TTLSecondsAfterFinished)
	return out
}
