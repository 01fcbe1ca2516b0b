package v1alpha1

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// geometricManifest is a small file whose env values reference the one
// before several times each: expanded, value k is 8^k bytes.
func geometricManifest(levels int) string {
	var b strings.Builder
	b.WriteString(minimal)
	b.WriteString("  env:\n  - {name: V0, value: abcdefgh}\n")
	for i := 1; i < levels; i++ {
		ref := fmt.Sprintf("$(V%d)", i-1)
		fmt.Fprintf(&b, "  - {name: V%d, value: %q}\n", i, strings.Repeat(ref, 8))
	}
	return b.String()
}

func TestDecodeRefusesGeometricExpansion(t *testing.T) {
	data := geometricManifest(22) // the last values pass int64 bytes
	if len(data) > 2048 {
		t.Fatalf("the manifest is %d bytes: not small", len(data))
	}
	_, err := DecodeFile("m.yaml", []byte(data))
	errs, ok := err.(ErrorList)
	if !ok || len(errs) == 0 {
		t.Fatalf("a 22-level geometric expansion decoded: %v", err)
	}
	// V4 is 8^5 = 32 KiB and fits; V5, 8^6 = 256 KiB, is over 64 KiB. It
	// is the one error: what references it is not reported again.
	if len(errs) != 1 || errs[0].Field != "spec.env[5].value" || errs[0].Line != 13 ||
		!strings.Contains(errs[0].Message, "expands to 262144 bytes, over the bound of 65536 bytes") {
		t.Errorf("errors:\n%v", errs)
	}
}

func TestExpandedLenSaturates(t *testing.T) {
	sizes := map[string]int{"A": 8}
	lookup := func(n string) (int, bool) { v, ok := sizes[n]; return v, ok }
	prev := "A"
	for i := range 30 {
		name := fmt.Sprintf("V%d", i)
		sizes[name] = ExpandedLen(strings.Repeat("$("+prev+")", 8), lookup)
		if sizes[name] < sizes[prev] {
			t.Fatalf("%s = %d after %d: wrapped", name, sizes[name], sizes[prev])
		}
		prev = name
	}
	if sizes[prev] != math.MaxInt {
		t.Errorf("8^31 bytes = %d, want saturated", sizes[prev])
	}
}

func TestValidateExpansionBounds(t *testing.T) {
	kib := strings.Repeat("x", 1<<10)
	big := strings.Repeat("y", 60<<10) // under the value bound
	tests := []struct {
		name  string
		spec  func(s *AppSpec)
		field string // "" = valid
		msg   string
	}{
		{"value at the bound", func(s *AppSpec) {
			s.Env = []EnvVar{{Name: "A", Value: strings.Repeat("a", MaxExpandedValue)}}
		}, "", ""},
		{"value over the bound by references", func(s *AppSpec) {
			s.Env = []EnvVar{{Name: "A", Value: big}, {Name: "B", Value: "$(A)$(A)"}}
		}, "spec.env[1].value", "expands to 122880 bytes, over the bound of 65536 bytes"},
		{"an escaped reference is not expanded", func(s *AppSpec) {
			s.Env = []EnvVar{{Name: "A", Value: big}, {Name: "B", Value: "$$(A)$$(A)"}}
		}, "", ""},
		{"a reference before its definition is kept as written", func(s *AppSpec) {
			s.Env = []EnvVar{{Name: "B", Value: "$(A)$(A)"}, {Name: "A", Value: big}}
		}, "", ""},
		{"total over the bound", func(s *AppSpec) {
			s.Env = nil
			for i := range 18 {
				s.Env = append(s.Env, EnvVar{Name: fmt.Sprintf("E%d", i), Value: big})
			}
		}, "spec.env[17].value", "the expanded env entries and arguments reach 1105982 bytes, over the bound of 1048576 bytes"},
		{"argument over the bound", func(s *AppSpec) {
			s.Env = []EnvVar{{Name: "K", Value: kib}}
			s.Command = []string{"./web", strings.Repeat("$(K)", 65)}
		}, "spec.command[1]", "expands to 66560 bytes"},
		{"command and env together over the total", func(s *AppSpec) {
			s.Env = nil
			for i := range 17 {
				s.Env = append(s.Env, EnvVar{Name: fmt.Sprintf("E%d", i), Value: big})
			}
			s.Command = []string{"./web", "$(E0)"}
		}, "spec.command[1]", "reach 1105983 bytes"},
		{"exec probe argument over the bound", func(s *AppSpec) {
			s.Env = []EnvVar{{Name: "K", Value: kib}}
			s.StartupProbe.Exec.Command = []string{"check", strings.Repeat("$(K)", 65)}
		}, "spec.startupProbe.exec.command[1]", "expands to 66560 bytes"},
		{"http path over the bound", func(s *AppSpec) {
			s.ReadinessProbe.HTTPGet.Path = "/" + strings.Repeat("p", MaxHTTPPathLen)
		}, "spec.readinessProbe.httpGet.path", "is 4097 bytes, over the bound of 4096"},
		{"http header value over the bound", func(s *AppSpec) {
			s.ReadinessProbe.HTTPGet.HTTPHeaders[0].Value = strings.Repeat("v", MaxHTTPHeaderValueLen+1)
		}, "spec.readinessProbe.httpGet.httpHeaders[0].value", "is 8193 bytes"},
		{"too many ports", func(s *AppSpec) {
			s.Ports = nil
			for i := range MaxPorts + 1 {
				s.Ports = append(s.Ports, PortSpec{Name: fmt.Sprintf("p%d", i), Range: fmt.Sprintf("%d-%d", 10000+4*i, 10003+4*i)})
			}
			s.ReadinessProbe.HTTPGet.Port = FromString("p0")
		}, "spec.ports", "has 257 entries, over the bound of 256"},
		{"too many http headers", func(s *AppSpec) {
			for range MaxHTTPHeaders {
				s.ReadinessProbe.HTTPGet.HTTPHeaders = append(s.ReadinessProbe.HTTPGet.HTTPHeaders, HTTPHeader{Name: "X", Value: "1"})
			}
		}, "spec.readinessProbe.httpGet.httpHeaders", "has 65 headers, over the bound of 64"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := validApp()
			tc.spec(&a.Spec)
			checkOneError(t, Validate(a), tc.field, tc.msg)
		})
	}
}

func TestValidateDurationMaxima(t *testing.T) {
	const over = MaxDurationSeconds + 1
	tests := []struct {
		name  string
		spec  func(s *AppSpec)
		field string
		msg   string
	}{
		{"grace at the bound", func(s *AppSpec) { s.TerminationGracePeriodSeconds = ptr(int64(MaxDurationSeconds)) }, "", ""},
		{"grace over", func(s *AppSpec) { s.TerminationGracePeriodSeconds = ptr(int64(over)) },
			"spec.terminationGracePeriodSeconds", "315360001 must be at most 315360000 (10 years)"},
		{"grace near int64", func(s *AppSpec) { s.TerminationGracePeriodSeconds = ptr(int64(math.MaxInt64)) },
			"spec.terminationGracePeriodSeconds", "9223372036854775807 must be at most 315360000"},
		{"minReadySeconds", func(s *AppSpec) {
			s.MinReadySeconds = over
			s.ProgressDeadlineSeconds = nil
		}, "spec.minReadySeconds", "must be at most"},
		{"progressDeadlineSeconds", func(s *AppSpec) { s.ProgressDeadlineSeconds = ptr(int32(math.MaxInt32)) },
			"spec.progressDeadlineSeconds", "2147483647 must be at most 315360000"},
		{"probe initial delay", func(s *AppSpec) { s.LivenessProbe.InitialDelaySeconds = over },
			"spec.livenessProbe.initialDelaySeconds", "must be at most"},
		{"probe period", func(s *AppSpec) { s.ReadinessProbe.PeriodSeconds = over },
			"spec.readinessProbe.periodSeconds", "must be at most"},
		{"probe timeout", func(s *AppSpec) { s.StartupProbe.TimeoutSeconds = over },
			"spec.startupProbe.timeoutSeconds", "must be at most"},
		{"backoff max at the bound", func(s *AppSpec) { s.RestartBackoff.Max = &Duration{MaxDuration} }, "", ""},
		{"backoff max over", func(s *AppSpec) { s.RestartBackoff.Max = &Duration{MaxDuration + time.Second} },
			"spec.restartBackoff.max", "87600h0m1s must be at most 87600h0m0s (10 years)"},
		{"backoff resetAfter over", func(s *AppSpec) { s.RestartBackoff.ResetAfter = &Duration{math.MaxInt64} },
			"spec.restartBackoff.resetAfter", "must be at most"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := validApp()
			tc.spec(&a.Spec)
			checkOneError(t, Validate(a), tc.field, tc.msg)
		})
	}
}

// TestMaximaFitDerivedDurations is the property the maxima exist for:
// for any durations a valid manifest can set, the sums the daemon derives
// from them (a deadline of now plus the grace, the shutdown wait of the
// longest grace plus slack, a probe's delay plus period plus timeout)
// stay far from int64 nanoseconds.
func TestMaximaFitDerivedDurations(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		a := validApp()
		a.Spec.TerminationGracePeriodSeconds = ptr(r.Int64N(MaxDurationSeconds + 1))
		a.Spec.LivenessProbe.InitialDelaySeconds = r.Int32N(MaxDurationSeconds + 1)
		a.Spec.LivenessProbe.PeriodSeconds = r.Int32N(MaxDurationSeconds) + 1
		a.Spec.LivenessProbe.TimeoutSeconds = r.Int32N(MaxDurationSeconds) + 1
		if errs := Validate(a); len(errs) != 0 {
			t.Fatalf("in-bounds durations refused: %v", errs)
		}
		grace := a.Spec.GracePeriod()
		p := a.Spec.LivenessProbe
		sum := grace + time.Duration(p.InitialDelaySeconds+0)*time.Second +
			time.Duration(p.PeriodSeconds)*time.Second + time.Duration(p.TimeoutSeconds)*time.Second + 24*time.Hour
		if grace < 0 || sum < grace || sum > math.MaxInt64/4 {
			t.Fatalf("grace %v, sum %v: derived durations near overflow", grace, sum)
		}
	}
	// Whatever a spec holds (one recorded before these maxima included),
	// GracePeriod saturates and never goes negative.
	for _, sec := range []int64{0, 1, MaxDurationSeconds, math.MaxInt64 / int64(time.Second), math.MaxInt64/int64(time.Second) + 1, math.MaxInt64} {
		s := AppSpec{TerminationGracePeriodSeconds: ptr(sec)}
		if g := s.GracePeriod(); g < 0 || (sec > 0 && g < time.Second) {
			t.Errorf("GracePeriod(%d s) = %v", sec, g)
		}
	}
}

// checkOneError wants no error (field "") or exactly one, on field, whose
// message contains msg.
func checkOneError(t *testing.T, errs ErrorList, field, msg string) {
	t.Helper()
	if field == "" {
		if len(errs) != 0 {
			t.Fatalf("want valid, got %v", errs)
		}
		return
	}
	if len(errs) != 1 || errs[0].Field != field || !strings.Contains(errs[0].Message, msg) {
		t.Fatalf("want one error %s: ...%s..., got %v", field, msg, errs)
	}
}

func TestExpandBuildsNothingOverTheBound(t *testing.T) {
	vals := map[string]string{"A": strings.Repeat("a", 1<<10)}
	lookup := func(n string) (string, bool) { v, ok := vals[n]; return v, ok }
	in := strings.Repeat("$(A)", 1<<10) // 1 MiB expanded
	allocs := testing.AllocsPerRun(10, func() {
		if _, err := Expand(in, lookup, 64<<10); err == nil {
			t.Fatal("no error over the bound")
		}
	})
	if allocs > 2 { // the error value and the closure, never the string
		t.Errorf("%v allocations over the bound", allocs)
	}
	got, err := Expand("$(A)-$(A)", lookup, 64<<10)
	if err != nil || len(got) != 2<<10+1 {
		t.Errorf("Expand under the bound = %d bytes, %v", len(got), err)
	}
}

// One app may ask for 10000 instances (docs/manifests.md, Bounds), and
// no more.
func TestReplicas_BoundIsTenThousand(t *testing.T) {
	apps := mustDecode(t, "a.yaml", []byte(minimal+"  replicas: 10000\n"))
	if r := apps[0].Spec.Replicas; r == nil || *r != 10000 {
		t.Fatalf("replicas = %v, want 10000", r)
	}
	list := decodeErrs(t, "a.yaml", minimal+"  replicas: 10001\n")
	wantErr(t, list, 7, "spec.replicas", "10001 must be <= 10000")
}
