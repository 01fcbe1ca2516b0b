package v1alpha1

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// ruleSet collects the problems of the rules that span fields: the ones a
// struct tag cannot say.
type ruleSet struct {
	errs ErrorList
}

func (r *ruleSet) add(field, format string, args ...any) {
	r.errs = append(r.errs, &FileError{Field: field, Reason: ReasonInvalid, Message: fmt.Sprintf(format, args...)})
}

// handRules checks what the validator tags cannot: the rules of the
// process fields, then a Job's or CronJob's own (rules_jobs.go).
func handRules(app *App) ErrorList {
	var r ruleSet
	r.spec(app)
	if !app.IsApp() {
		for _, e := range r.errs {
			e.Field = app.rebaseSpecPath(e.Field)
		}
		r.jobKind(app)
	}
	return r.errs
}

// spec checks the process fields of app (its Spec), with the paths of an
// App's file.
func (r *ruleSet) spec(app *App) {
	s := &app.Spec
	if len(s.Command) > 0 && s.Command[0] == "" {
		r.add("spec.command[0]", "the program must not be empty")
	}
	r.env(s)
	r.content(s)
	r.expansion(s)
	r.durations(s)
	r.ports(s)
	r.sockets(s)
	r.backoff(s)
	r.probe("spec.startupProbe", s.StartupProbe, s, true)
	r.probe("spec.readinessProbe", s.ReadinessProbe, s, false)
	r.probe("spec.livenessProbe", s.LivenessProbe, s, true)
	r.strategy(s)
	r.logs(s)
	r.dependsOn(app)
	r.initCommands(s)
}

func (r *ruleSet) env(s *AppSpec) {
	seen := map[string]int{}
	for i, e := range s.Env {
		if j, ok := seen[e.Name]; ok && e.Name != "" {
			r.add(fmt.Sprintf("spec.env[%d].name", i), "%s is already set by spec.env[%d]", quote(e.Name), j)
			continue
		}
		seen[e.Name] = i
	}
}

// portSpan is a port or range of the app, for the overlap check.
type portSpan struct {
	lo, hi int32
	index  int
	text   string
}

func (r *ruleSet) ports(s *AppSpec) {
	replicas := int32(1)
	if s.Replicas != nil {
		replicas = *s.Replicas
	}
	if len(s.Ports) > MaxPorts {
		r.add("spec.ports", "has %d entries, over the bound of %d", len(s.Ports), MaxPorts)
	}
	names := map[string]int{}
	var spans []portSpan
	for i, p := range s.Ports {
		path := fmt.Sprintf("spec.ports[%d]", i)
		if j, ok := names[p.Name]; ok && p.Name != "" {
			r.add(path+".name", "%s is already the name of spec.ports[%d]", quote(p.Name), j)
		} else {
			names[p.Name] = i
		}
		switch {
		case p.Port != 0 && p.Range != "":
			r.add(path, "port and range are mutually exclusive (a fixed port, or a range to pick from)")
			continue
		case p.Port == 0 && p.Range == "":
			r.add(path, "one of port and range is required")
			continue
		case p.Port != 0:
			if replicas > 1 {
				r.add(path+".port", "a fixed port needs replicas <= 1 (replicas is %d); use a range", replicas)
			}
			if p.Port >= 1 && p.Port <= 65535 {
				spans = append(spans, portSpan{p.Port, p.Port, i, strconv.Itoa(int(p.Port))})
			}
		default:
			lo, hi, err := parsePortRange(p.Range)
			if err != nil {
				continue // the portrange tag reports it
			}
			if size := hi - lo + 1; size < replicas {
				r.add(path+".range", "%s has %d port(s), fewer than replicas (%d)", quote(p.Range), size, replicas)
			}
			spans = append(spans, portSpan{lo, hi, i, p.Range})
		}
	}
	r.overlaps(s, spans)
}

// overlaps reports each port or range that overlaps an earlier one, in
// O(n log n): sorted by low end, a span overlaps the one reaching furthest
// before it when it starts at or below that one's high end.
func (r *ruleSet) overlaps(s *AppSpec, spans []portSpan) {
	sort.SliceStable(spans, func(i, j int) bool { return spans[i].lo < spans[j].lo })
	far := -1 // the span reaching furthest so far
	for i, y := range spans {
		if far >= 0 && y.lo <= spans[far].hi {
			a, b := spans[far], y // report on the one later in the file
			if a.index > b.index {
				a, b = b, a
			}
			field := "range"
			if s.Ports[b.index].Port != 0 {
				field = "port"
			}
			r.add(fmt.Sprintf("spec.ports[%d].%s", b.index, field), "%s overlaps spec.ports[%d] (%s)", quote(b.text), a.index, quote(a.text))
		}
		if far < 0 || y.hi > spans[far].hi {
			far = i
		}
	}
}

func (r *ruleSet) backoff(s *AppSpec) {
	b := s.RestartBackoff
	if b == nil || b.Initial == nil || b.Max == nil {
		return
	}
	if b.Initial.Duration > b.Max.Duration {
		r.add("spec.restartBackoff.initial", "%s is longer than max (%s)", b.Initial, b.Max)
	}
}

// probe checks one probe; restarts is true for liveness and startup, whose
// successThreshold must be 1 (a Kubernetes rule).
func (r *ruleSet) probe(path string, p *Probe, s *AppSpec, restarts bool) {
	if p == nil {
		return
	}
	r.httpSizes(path, p)
	n := 0
	if p.Exec != nil {
		n++
	}
	if p.HTTPGet != nil {
		n++
		r.probePort(path+".httpGet.port", p.HTTPGet.Port, s)
	}
	if p.TCPSocket != nil {
		n++
		r.probePort(path+".tcpSocket.port", p.TCPSocket.Port, s)
	}
	n += r.notify(path, p)
	switch {
	case n == 0:
		r.add(path, "one handler is required: "+probeHandlers)
	case n > 1:
		r.add(path, "exactly one handler is allowed: "+probeHandlers)
	}
	if restarts && p.SuccessThreshold > 1 {
		r.add(path+".successThreshold", "must be 1 for a liveness or startup probe")
	}
}

func (r *ruleSet) probePort(path string, port IntOrString, s *AppSpec) {
	if !port.IsString || checkPortName(port.StrVal) != nil {
		return // numbers and bad names are the probeport tag's
	}
	for _, p := range s.Ports {
		if p.Name == port.StrVal {
			return
		}
	}
	r.add(path, "%s is not the name of a port of this app (spec.ports)", quote(port.StrVal))
}

func (r *ruleSet) strategy(s *AppSpec) {
	st := s.Strategy
	if st.Type == Recreate && st.RollingUpdate != nil {
		r.add("spec.strategy.rollingUpdate", "must not be set when type is Recreate")
	}
	if ru := st.RollingUpdate; ru != nil {
		if u := ru.MaxUnavailable; u != nil && u.IsString && checkIntOrPercent(u.StrVal) == nil {
			if p, _ := strconv.Atoi(strings.TrimSuffix(u.StrVal, "%")); p > 100 {
				r.add("spec.strategy.rollingUpdate.maxUnavailable", "%s must be at most 100%%", quote(u.StrVal))
			}
		}
		if isZeroIntOrPercent(ru.MaxSurge) && isZeroIntOrPercent(ru.MaxUnavailable) {
			r.add("spec.strategy.rollingUpdate", "maxSurge and maxUnavailable must not both be 0 (the rollout could never progress)")
		}
	}
	if s.ProgressDeadlineSeconds != nil && *s.ProgressDeadlineSeconds <= s.MinReadySeconds {
		r.add("spec.progressDeadlineSeconds", "%d must be greater than minReadySeconds (%d)",
			*s.ProgressDeadlineSeconds, s.MinReadySeconds)
	}
}

// isZeroIntOrPercent: 0 or "0%" (a nil value is not zero: it defaults).
func isZeroIntOrPercent(v *IntOrString) bool {
	switch {
	case v == nil:
		return false
	case !v.IsString:
		return v.IntVal == 0
	case checkIntOrPercent(v.StrVal) != nil:
		return false
	}
	n, err := v.ScaledValue(100, true)
	return err == nil && n == 0
}

func (r *ruleSet) logs(s *AppSpec) {
	if s.Logs.MaxSize == "" {
		return
	}
	if n, err := s.Logs.MaxSize.Value(); err == nil && n < 1024 {
		r.add("spec.logs.maxSize", "%s must be at least 1Ki", quote(string(s.Logs.MaxSize)))
	}
}

func (r *ruleSet) dependsOn(app *App) {
	seen := map[string]int{}
	for i, d := range app.Spec.DependsOn {
		path := fmt.Sprintf("spec.dependsOn[%d].app", i)
		if d.App != "" && d.App == app.Metadata.Name {
			r.add(path, "an app cannot depend on itself")
		}
		if j, ok := seen[d.App]; ok && d.App != "" {
			r.add(path, "%s is already listed at spec.dependsOn[%d]", quote(d.App), j)
			continue
		}
		seen[d.App] = i
	}
}
