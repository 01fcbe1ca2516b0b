package client

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// Description is what `proclet describe APP` shows.
type Description struct {
	App       v1alpha1.App
	Instances []v1alpha1.Instance
	Events    []v1alpha1.Event // newest first
	// EventsErr, when set, is shown in place of the events (an older
	// daemon without the route, say) without failing the rest.
	EventsErr error
}

// Describe prints d like kubectl describe: a summary of the spec (env
// values are never shown: the API redacts them), the status, then the
// conditions, instances and events as tables.
func Describe(w io.Writer, d *Description, now time.Time) error {
	a := &d.App
	st := v1alpha1.AppStatus{}
	if a.Status != nil {
		st = *a.Status
	}
	s := &a.Spec
	var kv [][2]string
	add := func(k, v string) { kv = append(kv, [2]string{k, v}) }
	add("Name:", a.Metadata.Name)
	add("Labels:", keyValues(a.Metadata.Labels))
	if len(a.Metadata.Annotations) > 0 {
		add("Annotations:", keyValues(a.Metadata.Annotations))
	}
	source := orNone(st.Source)
	if st.SourceRevision != "" {
		source += " (at " + st.SourceRevision + ")"
	}
	add("Source:", source)
	gen := strconv.FormatInt(a.Metadata.Generation, 10)
	if st.ObservedGeneration != a.Metadata.Generation {
		gen += fmt.Sprintf(" (status is of generation %d: an edit is not applied yet)", st.ObservedGeneration)
	}
	add("Generation:", gen)
	add("Revision:", orNone(st.Revision))
	add("Replicas:", fmt.Sprintf("%d desired | %d updated | %d ready | %d available | %d running",
		desiredReplicas(a), st.UpdatedReplicas, st.ReadyReplicas, st.AvailableReplicas, st.Replicas))
	add("Command:", shellJoin(s.Command))
	if s.WorkingDir != "" {
		add("Working dir:", s.WorkingDir)
	}
	if s.User != "" {
		add("User:", s.User)
	}
	add("Restart policy:", restartSummary(s))
	add("Strategy:", strategySummary(s))
	add("Stop:", stopSummary(s))
	add("Ports:", portsSummary(s.Ports))
	if len(s.Sockets) > 0 {
		add("Sockets:", socketsSummary(s.Sockets))
	}
	add("Env:", envSummary(s.Env))
	if f := filesSummary(s); f != "" {
		add("Files:", f)
	}
	for _, f := range st.Files {
		add("", fmt.Sprintf("%s %s digest %s", f.Field, f.Path, f.Digest))
	}
	for _, p := range []struct {
		name  string
		probe *v1alpha1.Probe
	}{{"Startup probe:", s.StartupProbe}, {"Readiness probe:", s.ReadinessProbe}, {"Liveness probe:", s.LivenessProbe}} {
		if p.probe != nil {
			add(p.name, ProbeSummary(p.probe))
		}
	}
	if l := limitsSummary(s.Resources.Limits); l != "" {
		add("Limits:", l)
	}
	if len(s.DependsOn) > 0 {
		add("Depends on:", dependsSummary(s.DependsOn))
	}
	if len(s.NodeSelector) > 0 {
		add("Node selector:", keyValues(s.NodeSelector))
	}

	ew := &errWriter{w: w}
	for _, p := range kv {
		field(ew, p[0], cellReplacer.Replace(p[1]))
	}
	section(ew, "Conditions", len(st.Conditions), ConditionTable(st.Conditions, now), nil)
	section(ew, "Instances", len(d.Instances), InstanceTable(d.Instances, now), nil)
	section(ew, "Events", len(d.Events), EventTable(d.Events, now), d.EventsErr)
	return ew.err
}

// dependsSummary is "db (Ready), cache": each dependency and its condition.
func dependsSummary(deps []v1alpha1.Dependency) string {
	out := make([]string, len(deps))
	for i, d := range deps {
		out[i] = d.App
		if d.Condition != "" {
			out[i] += " (" + string(d.Condition) + ")"
		}
	}
	return strings.Join(out, ", ")
}

// keyWidth is the width of describe's key column: every describe output
// lines up the same way ("Readiness probe:" is the longest key).
const keyWidth = 18

// field prints "Key:   value" with the value at keyWidth.
func field(w io.Writer, key, value string) {
	fmt.Fprintf(w, "%-*s%s\n", max(keyWidth, len(key)+1), key, value)
}

// section prints a titled, indented table, or "<none>".
func section(w io.Writer, title string, n int, t *Table, err error) {
	switch {
	case err != nil:
		field(w, title+":", fmt.Sprintf("<unavailable: %v>", err))
	case n == 0:
		field(w, title+":", "<none>")
	default:
		fmt.Fprintf(w, "%s:\n", title)
		t.Indent = "  "
		_, _ = t.WriteTo(w)
	}
}

// ProbeSummary prints a probe in one line, as kubectl describe does:
// "http-get HTTP :http/healthz delay=0s timeout=1s period=10s #success=1 #failure=3".
func ProbeSummary(p *v1alpha1.Probe) string {
	var h string
	switch {
	case p.HTTPGet != nil:
		g := p.HTTPGet
		h = fmt.Sprintf("http-get %s %s:%s%s", orDefault(g.Scheme, v1alpha1.DefaultProbeHTTPScheme), g.Host, g.Port.String(),
			orDefault(g.Path, v1alpha1.DefaultProbeHTTPPath))
	case p.TCPSocket != nil:
		h = fmt.Sprintf("tcp-socket %s:%s", p.TCPSocket.Host, p.TCPSocket.Port.String())
	case p.Exec != nil:
		h = "exec " + shellJoin(p.Exec.Command)
	case p.Notify != nil:
		h = "notify"
	default:
		h = "<no handler>"
	}
	return fmt.Sprintf("%s delay=%ds timeout=%ds period=%ds #success=%d #failure=%d", h,
		p.InitialDelaySeconds, p.TimeoutSeconds, p.PeriodSeconds, p.SuccessThreshold, p.FailureThreshold)
}

func restartSummary(s *v1alpha1.AppSpec) string {
	out := string(s.RestartPolicy)
	if out == "" {
		out = string(v1alpha1.RestartAlways)
	}
	if b := s.RestartBackoff; b != nil && b.Initial != nil && b.Max != nil {
		out += fmt.Sprintf(" (backoff %s to %s", b.Initial.Duration, b.Max.Duration)
		if b.ResetAfter != nil {
			out += fmt.Sprintf(", reset after %s", b.ResetAfter.Duration)
		}
		out += ")"
	}
	return out
}

func strategySummary(s *v1alpha1.AppSpec) string {
	out := string(s.Strategy.Type)
	if out == "" {
		out = string(v1alpha1.RollingUpdate)
	}
	if ru := s.Strategy.RollingUpdate; ru != nil && ru.MaxSurge != nil && ru.MaxUnavailable != nil {
		out += fmt.Sprintf(" (maxSurge %s, maxUnavailable %s)", ru.MaxSurge, ru.MaxUnavailable)
	}
	if s.MinReadySeconds > 0 {
		out += fmt.Sprintf(", minReadySeconds %d", s.MinReadySeconds)
	}
	if s.ProgressDeadlineSeconds != nil {
		out += fmt.Sprintf(", progressDeadlineSeconds %d", *s.ProgressDeadlineSeconds)
	}
	return out
}

func stopSummary(s *v1alpha1.AppSpec) string {
	out := orDefault(s.StopSignal, v1alpha1.DefaultStopSignal)
	grace := int64(v1alpha1.DefaultTerminationGracePeriodSeconds)
	if s.TerminationGracePeriodSeconds != nil {
		grace = *s.TerminationGracePeriodSeconds
	}
	out += fmt.Sprintf(", grace %ds", grace)
	if s.Lifecycle != nil && s.Lifecycle.PreStop != nil && s.Lifecycle.PreStop.Exec != nil {
		out += ", preStop " + shellJoin(s.Lifecycle.PreStop.Exec.Command)
	}
	return out
}

func portsSummary(ports []v1alpha1.PortSpec) string {
	if len(ports) == 0 {
		return "<none>"
	}
	parts := make([]string, len(ports))
	for i, p := range ports {
		if p.Range != "" {
			parts[i] = p.Name + " " + p.Range
		} else {
			parts[i] = p.Name + " " + strconv.Itoa(int(p.Port))
		}
	}
	return strings.Join(parts, ", ")
}

// socketsSummary is "http 127.0.0.1:8080, ...": each socket's name and
// the address every instance accepts on.
func socketsSummary(sockets []v1alpha1.SocketSpec) string {
	parts := make([]string, len(sockets))
	for i, k := range sockets {
		parts[i] = k.Name + " " + k.Address()
	}
	return strings.Join(parts, ", ")
}

func envSummary(env []v1alpha1.EnvVar) string {
	if len(env) == 0 {
		return "<none>"
	}
	names := make([]string, len(env))
	for i, e := range env {
		names[i] = e.Name
		if e.ValueFrom != nil {
			names[i] += " (from " + e.ValueFrom.File + ")"
		}
	}
	return strings.Join(names, ", ") + " (values not shown)"
}

func limitsSummary(l v1alpha1.ResourceLimits) string {
	var parts []string
	if l.Memory != "" {
		parts = append(parts, "memory "+string(l.Memory))
	}
	if l.CPU != "" {
		parts = append(parts, "cpu "+string(l.CPU))
	}
	if l.OpenFiles != nil {
		parts = append(parts, "openFiles "+strconv.FormatInt(*l.OpenFiles, 10))
	}
	return strings.Join(parts, ", ")
}

// keyValues prints a map as sorted "k=v,k2=v2", or "<none>".
func keyValues(m map[string]string) string {
	if len(m) == 0 {
		return "<none>"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		keys[i] = k + "=" + m[k]
	}
	return strings.Join(keys, ",")
}

// shellJoin prints a command line, quoting the arguments a shell would
// split or expand.
func shellJoin(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n\"'\\$`|&;<>()*?[]#~!{}") {
			out[i] = strconv.Quote(a)
		} else {
			out[i] = a
		}
	}
	return strings.Join(out, " ")
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// errWriter keeps the first write error and drops later writes.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}
