package probe

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"

	"proclet.dev/proclet/runtime"
)

func TestParseMessage(t *testing.T) {
	tests := []struct {
		in   string
		want Message
		err  string
	}{
		{"READY=1", Message{Ready: true}, ""},
		{"READY=1\nSTATUS=serving 3 clients\n", Message{Ready: true, HasStatus: true, Status: "serving 3 clients"}, ""},
		{"STOPPING=1", Message{Stopping: true}, ""},
		{"RELOADING=1\nMONOTONIC_USEC=123", Message{Reloading: true}, ""},
		{"WATCHDOG=1", Message{Watchdog: true}, ""},
		{"WATCHDOG=trigger", Message{Trigger: true}, ""},
		{"READY=0\nWATCHDOG=2", Message{}, ""},
		{"MAINPID=4242", Message{MainPID: 4242}, ""},
		{"garbage\n\n=\nERRNO=2", Message{}, ""},
		{"STATUS=", Message{HasStatus: true}, ""},
		{"STATUS=a\x1b[2Jb\tc\xffd", Message{HasStatus: true, Status: "a [2Jb c\uFFFDd"}, ""},
		{"MAINPID=-1", Message{}, `MAINPID="-1" is not a PID`},
		{"MAINPID=12x", Message{}, "is not a PID"},
	}
	for _, tt := range tests {
		got, err := ParseMessage([]byte(tt.in))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseMessage(%q) error %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseMessage(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

// TestParseMessage_StatusBound: a STATUS= text is cut at MaxNotifyStatus
// bytes, on a character boundary, and says how long it was.
func TestParseMessage_StatusBound(t *testing.T) {
	long := strings.Repeat("é", MaxNotifyStatus) // 2 bytes each
	m, err := ParseMessage([]byte("STATUS=" + long))
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Repeat("é", MaxNotifyStatus/2) + "... (1024 bytes)"; m.Status != want {
		t.Errorf("status is %d bytes %q..., want %d bytes", len(m.Status), m.Status[:20], len(want))
	}
	exact := strings.Repeat("s", MaxNotifyStatus)
	if m, _ := ParseMessage([]byte("STATUS=" + exact)); m.Status != exact {
		t.Errorf("a status of exactly %d bytes was cut", MaxNotifyStatus)
	}
}

// notifyTest is a Notify applied to a probeRecorder, with a worker when
// the spec has probes to loop.
func newNotifyTest(t *testing.T, spec *v1alpha1.AppSpec, runners map[Kind]Runner) (*probeTest, *Notify) {
	pt := newProbeTest(t, spec, runners)
	readiness := spec.ReadinessProbe != nil && spec.ReadinessProbe.Notify != nil
	period := time.Duration(spec.WatchdogPeriodSeconds()) * time.Second
	n := NewNotify("web", "web-0", readiness, period, pt.t0)
	n.Update, n.OnProbe = pt.rec.update, pt.rec.onProbe
	if readiness {
		pt.w.Readiness = nil
		pt.w.NotifyReady = n.Ready
	}
	if period > 0 {
		pt.w.Liveness = NewLoop(Liveness, spec.LivenessProbe, n.Watchdog())
	}
	return pt, n
}

func notifyProbe(period, failures int32) *v1alpha1.Probe {
	return &v1alpha1.Probe{ProbeHandler: v1alpha1.ProbeHandler{Notify: &v1alpha1.NotifyAction{}},
		PeriodSeconds: period, FailureThreshold: failures}
}

func msg(t *testing.T, s string) Message {
	t.Helper()
	m, err := ParseMessage([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestNotify_ReadyStoppingReloading: READY=1 makes the instance ready at
// once (one event), STOPPING=1 and RELOADING=1 unready until the next
// READY=1; a repeated word is no event; STATUS= is the message.
func TestNotify_ReadyStoppingReloading(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		spec := &v1alpha1.AppSpec{ReadinessProbe: notifyProbe(0, 0)}
		pt, n := newNotifyTest(t, spec, nil)
		pt.start()
		if st, _ := pt.rec.snapshot(); st.Ready {
			t.Fatal("ready before READY=1")
		}
		time.Sleep(time.Second)
		steps := []struct {
			send   string
			ready  bool
			msg    string
			events int
		}{
			{"STATUS=loading", false, "loading", 1},
			{"READY=1\nSTATUS=serving", true, "serving", 2},
			{"READY=1", true, "serving", 2},
			{"RELOADING=1", false, "serving", 3},
			{"READY=1", true, "serving", 4},
			{"STOPPING=1\nSTATUS=draining", false, "draining", 5},
			{"STOPPING=1", false, "draining", 5},
		}
		for _, s := range steps {
			n.Apply(msg(t, s.send), time.Now())
			st, events := pt.rec.snapshot()
			if st.Ready != s.ready || st.Message != s.msg || len(events) != s.events {
				t.Fatalf("after %q: ready %v, message %q, %d events; want %v, %q, %d", s.send, st.Ready, st.Message, len(events), s.ready, s.msg, s.events)
			}
		}
		if _, events := pt.rec.snapshot(); !events[1].ReadySince.Equal(pt.t0.Add(time.Second)) {
			t.Errorf("ready since %v, want the READY=1's arrival, t0+1s", events[1].ReadySince)
		}
		if got := strings.Join(pt.rec.results, " "); got != "readiness+ readiness- readiness+ readiness-" {
			t.Errorf("probe results %q", got)
		}
	})
}

// TestNotify_ReadyWaitsForStartup: a READY=1 before the startup probe
// passes makes the instance ready when it passes, not before.
func TestNotify_ReadyWaitsForStartup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		spec := &v1alpha1.AppSpec{StartupProbe: &v1alpha1.Probe{PeriodSeconds: 1, FailureThreshold: 10}, ReadinessProbe: notifyProbe(0, 0)}
		startup := &script{t0: time.Now(), result: okFrom(3*time.Second, "not yet")}
		pt, n := newNotifyTest(t, spec, map[Kind]Runner{Startup: startup})
		pt.start()
		time.Sleep(time.Second + time.Millisecond)
		n.Apply(msg(t, "READY=1"), time.Now())
		if st, _ := pt.rec.snapshot(); st.Ready || st.Started {
			t.Fatalf("status %+v before the startup probe passed, want not started, not ready", st)
		}
		time.Sleep(3 * time.Second)
		if st, _ := pt.rec.snapshot(); !st.Ready || !st.ReadySince.Equal(pt.t0.Add(3*time.Second)) {
			t.Errorf("status %+v, want ready since the startup probe passed (t0+3s)", st)
		}
	})
}

// TestNotify_WatchdogStalls: WATCHDOG_USEC is the period; a period
// without a ping is a failed run, and failureThreshold of them in a row
// fail the instance (LivenessProbeFailed), as any liveness probe.
func TestNotify_WatchdogStalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		spec := &v1alpha1.AppSpec{LivenessProbe: notifyProbe(1, 2)}
		pt, n := newNotifyTest(t, spec, nil)
		pt.start()
		// Pings every 0.5 s for 5 s: never a failure.
		for range 10 {
			time.Sleep(500 * time.Millisecond)
			n.Apply(msg(t, "WATCHDOG=1"), time.Now())
		}
		if st, _ := pt.rec.snapshot(); st.Failed != "" {
			t.Fatalf("failed %q while pinging", st.Failed)
		}
		// Stop pinging at t0+5s: runs at 6 and 7 fail; the second one
		// ends it.
		time.Sleep(1500 * time.Millisecond)
		if st, _ := pt.rec.snapshot(); st.Failed != "" {
			t.Fatalf("failed after one missed period: %+v", st)
		}
		time.Sleep(time.Second)
		st, _ := pt.rec.snapshot()
		if st.Failed != runtime.ReasonLivenessProbeFailed || !strings.Contains(st.Message, "no WATCHDOG=1 for 2s (WATCHDOG_USEC is 1000000)") {
			t.Errorf("status %+v, want LivenessProbeFailed, no WATCHDOG=1 for 2s", st)
		}
		if !pt.ended() {
			t.Error("probing goes on after the liveness failure")
		}
	})
}

// TestNotify_WatchdogTrigger: WATCHDOG=trigger fails the instance at
// once, without waiting for a run; a STATUS= after it does not hide why.
func TestNotify_WatchdogTrigger(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		spec := &v1alpha1.AppSpec{LivenessProbe: notifyProbe(10, 3)}
		pt, n := newNotifyTest(t, spec, nil)
		pt.start()
		time.Sleep(time.Second)
		n.Apply(msg(t, "WATCHDOG=trigger"), time.Now())
		n.Apply(msg(t, "STATUS=all is well"), time.Now())
		st, events := pt.rec.snapshot()
		if st.Failed != runtime.ReasonLivenessProbeFailed || st.Message != "liveness probe: WATCHDOG=trigger" || len(events) != 1 {
			t.Errorf("status %+v, %d events; want LivenessProbeFailed at once, one event", st, len(events))
		}
	})
}

// TestNotify_WatchdogIgnoredWithoutNotifyLiveness: WATCHDOG=trigger from
// an instance whose liveness probe is not notify changes nothing.
func TestNotify_WatchdogIgnoredWithoutNotifyLiveness(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		spec := &v1alpha1.AppSpec{ReadinessProbe: notifyProbe(0, 0)}
		pt, n := newNotifyTest(t, spec, nil)
		pt.start()
		n.Apply(msg(t, "WATCHDOG=trigger"), time.Now())
		if st, _ := pt.rec.snapshot(); st.Failed != "" {
			t.Errorf("failed %q without a notify liveness probe", st.Failed)
		}
	})
}

// TestNotify_ResumeReady: an adopted instance that was ready stays
// ready: a later STOPPING=1 is a change.
func TestNotify_ResumeReady(t *testing.T) {
	n := NewNotify("web", "web-0", true, 0, time.Now())
	n.Resume(runtime.ProbeStatus{Started: true, Ready: true})
	if !n.Ready() {
		t.Fatal("a recorded ready instance is not ready after Resume")
	}
	var got runtime.ProbeStatus
	got.Ready = true
	n.Update = func(_ bool, change func(*runtime.ProbeStatus)) { change(&got) }
	n.Apply(Message{Stopping: true}, time.Now())
	if got.Ready {
		t.Error("STOPPING=1 after Resume left the instance ready")
	}
}
