package v1alpha1

import (
	"fmt"
	"time"
)

// Maxima of what a manifest may ask for, so that nothing derived from it
// (a delay, a deadline, an expanded string) overflows or grows without
// bound. docs/manifests.md lists them.
const (
	// MaxDurationSeconds bounds every duration a manifest sets in seconds
	// (terminationGracePeriodSeconds, minReadySeconds,
	// progressDeadlineSeconds, the probes' initialDelaySeconds,
	// periodSeconds and timeoutSeconds): 10 years. In nanoseconds that is
	// 3.2e17, a 29th of int64's range, so a sum of a few of them, or a
	// deadline of now plus one, cannot wrap.
	MaxDurationSeconds = 10 * 365 * 24 * 60 * 60
	// MaxDuration bounds the durations written as strings
	// (restartBackoff.initial, max and resetAfter): the same 10 years.
	MaxDuration = MaxDurationSeconds * time.Second
	// MaxHTTPPathLen bounds an HTTP probe's path.
	MaxHTTPPathLen = 4 << 10
	// MaxHTTPHeaderValueLen bounds one HTTP probe header's value.
	MaxHTTPHeaderValueLen = 8 << 10
	// MaxHTTPHeaders bounds the number of headers of one HTTP probe.
	MaxHTTPHeaders = 64
	// MaxPorts bounds spec.ports: each port is a variable (PORT_<NAME>) in
	// every instance's environment and an allocation per replica.
	MaxPorts = 256
)

// durations checks each duration of s against its maximum.
func (r *ruleSet) durations(s *AppSpec) {
	r.seconds("spec.terminationGracePeriodSeconds", s.TerminationGracePeriodSeconds)
	r.seconds("spec.minReadySeconds", ptr(int64(s.MinReadySeconds)))
	if d := s.ProgressDeadlineSeconds; d != nil {
		r.seconds("spec.progressDeadlineSeconds", ptr(int64(*d)))
	}
	if b := s.RestartBackoff; b != nil {
		r.duration("spec.restartBackoff.initial", b.Initial)
		r.duration("spec.restartBackoff.max", b.Max)
		r.duration("spec.restartBackoff.resetAfter", b.ResetAfter)
	}
	for _, p := range probesOf(s) {
		if p.probe == nil {
			continue
		}
		r.seconds(p.path+".initialDelaySeconds", ptr(int64(p.probe.InitialDelaySeconds)))
		r.seconds(p.path+".periodSeconds", ptr(int64(p.probe.PeriodSeconds)))
		r.seconds(p.path+".timeoutSeconds", ptr(int64(p.probe.TimeoutSeconds)))
	}
}

// pathProbe is one of a spec's probes with its field path.
type pathProbe struct {
	path  string
	probe *Probe
}

// probesOf lists the probes of s with their paths, set or not.
func probesOf(s *AppSpec) []pathProbe {
	return []pathProbe{
		{"spec.startupProbe", s.StartupProbe},
		{"spec.readinessProbe", s.ReadinessProbe},
		{"spec.livenessProbe", s.LivenessProbe},
	}
}

func (r *ruleSet) seconds(path string, v *int64) {
	if v != nil && *v > MaxDurationSeconds {
		r.add(path, "%d must be at most %d (10 years)", *v, MaxDurationSeconds)
	}
}

func (r *ruleSet) duration(path string, d *Duration) {
	if d != nil && d.Duration > MaxDuration {
		r.add(path, "%s must be at most %s (10 years)", d, Duration{MaxDuration})
	}
}

// httpSizes bounds what an HTTP probe sends on every run.
func (r *ruleSet) httpSizes(path string, p *Probe) {
	if p == nil || p.HTTPGet == nil {
		return
	}
	h := p.HTTPGet
	if len(h.Path) > MaxHTTPPathLen {
		r.add(path+".httpGet.path", "is %d bytes, over the bound of %d", len(h.Path), MaxHTTPPathLen)
	}
	if len(h.HTTPHeaders) > MaxHTTPHeaders {
		r.add(path+".httpGet.httpHeaders", "has %d headers, over the bound of %d", len(h.HTTPHeaders), MaxHTTPHeaders)
	}
	for i, hd := range h.HTTPHeaders {
		if len(hd.Value) > MaxHTTPHeaderValueLen {
			r.add(fmt.Sprintf("%s.httpGet.httpHeaders[%d].value", path, i), "is %d bytes, over the bound of %d",
				len(hd.Value), MaxHTTPHeaderValueLen)
		}
	}
}

// expansion measures, without building anything, what $(VAR) expansion
// will make of spec.env, spec.command, the exec probes' commands and the
// init steps (initExpansion), and
// reports each value over MaxExpandedValue and the field at which the
// total crosses MaxExpandedTotal. A reference to a name spec.env does not
// define (the daemon's environment, PORT, PROCLET_*) counts as written:
// the runtime checks the same bounds again with the real values. A value
// over the bound is reported once, where it is defined: what references
// it is not reported again.
func (r *ruleSet) expansion(s *AppSpec) {
	x := &expansionSizes{sizes: make(map[string]int, len(s.Env))}
	envTotal := 0
	for i, e := range s.Env {
		n, over := x.measure(e.Value)
		path := fmt.Sprintf("spec.env[%d].value", i)
		switch {
		case over:
			x.sizes[e.Name] = overBound
			continue
		case n > MaxExpandedValue:
			r.add(path, "%v", &ExpandTooLongError{Size: n, Limit: MaxExpandedValue})
			x.sizes[e.Name] = overBound
			continue
		}
		x.sizes[e.Name] = n
		before := envTotal
		envTotal += envEntryLen(e.Name, n)
		if before <= MaxExpandedTotal && envTotal > MaxExpandedTotal {
			r.add(path, "%v", &ExpandTooLongError{Size: envTotal, Limit: MaxExpandedTotal, Total: true})
		}
	}
	if envTotal > MaxExpandedTotal {
		return // said once; every command would say it again
	}
	r.argv("spec.command", s.Command, envTotal, x)
	for _, p := range probesOf(s) {
		if p.probe != nil && p.probe.Exec != nil {
			r.argv(p.path+".exec.command", p.probe.Exec.Command, envTotal, x)
		}
	}
	r.initExpansion(s, envTotal, x)
}

// envEntryLen is what an env entry of a value of n bytes costs exec:
// "NAME=value".
func envEntryLen(name string, n int) int { return len(name) + 1 + n }

// overBound marks an env value already reported over its bound.
const overBound = -1

// expansionSizes are the expanded sizes of the env values defined so far.
type expansionSizes struct {
	sizes map[string]int
}

// measure is the expanded size of s, and whether it references a value
// already reported over its bound.
func (x *expansionSizes) measure(s string) (n int, over bool) {
	n = ExpandedLen(s, func(name string) (int, bool) {
		size, ok := x.sizes[name]
		if size == overBound {
			over = true
			return 0, true
		}
		return size, ok
	})
	return n, over
}

// argv checks one command's expanded arguments, on top of total bytes of
// environment.
func (r *ruleSet) argv(path string, argv []string, total int, x *expansionSizes) {
	for i, a := range argv {
		n, over := x.measure(a)
		field := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case over:
			return
		case n > MaxExpandedValue:
			r.add(field, "%v", &ExpandTooLongError{Size: n, Limit: MaxExpandedValue})
			return
		}
		if total += n; total > MaxExpandedTotal {
			r.add(field, "%v", &ExpandTooLongError{Size: total, Limit: MaxExpandedTotal, Total: true})
			return
		}
	}
}
