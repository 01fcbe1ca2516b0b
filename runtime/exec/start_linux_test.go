package exec

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"proclet.dev/proclet/apis/v1alpha1"

	"proclet.dev/proclet/runtime"
)

func TestExec_ReportsExitCode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		script     string
		wantCode   int
		wantReason string
	}{
		{"success", "exit 0", 0, "Completed"},
		{"failure", "exit 3", 3, "Error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			s := h.start(h.spec("/bin/sh", "-c", tc.script))
			st := h.waitExit(s.UID, 5*time.Second)
			if got, want := *st.Exit, (v1alpha1.ExitStatus{Code: tc.wantCode, Reason: tc.wantReason, At: st.Exit.At}); got != want {
				t.Errorf("exit = %+v, want %+v", got, want)
			}
			if st.Exit.At.Before(st.StartedAt) {
				t.Errorf("exit at %v before start at %v", st.Exit.At, st.StartedAt)
			}
		})
	}
}

func TestExec_ReportsSignalAndSendsEvent(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	s := h.spec(workload)
	st := h.start(s)
	if err := unix.Kill(st.PID, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-h.e.Events():
		if got, want := ev, (runtime.Event{App: "web", UID: s.UID}); got != want {
			t.Errorf("event = %+v, want %+v", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no event after the instance was killed")
	}
	got, _ := h.find(s.UID)
	if got.Exit == nil {
		t.Fatal("event delivered before the exit was recorded")
	}
	if got.Exit.Signal != "SIGKILL" || got.Exit.Code != 137 || got.Exit.Reason != "Error" {
		t.Errorf("exit = %+v, want SIGKILL, code 137, reason Error", *got.Exit)
	}
}

func TestExec_Environment(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	s := h.spec(workload, "--print-env", "--port=") // no server on $PORT
	s.Ports = map[string]int32{"http": 8001, "metrics-v2": 9100}
	s.Spec.Ports = []v1alpha1.PortSpec{{Name: "metrics-v2"}, {Name: "http"}}
	s.Spec.Env = []v1alpha1.EnvVar{
		{Name: "GREETING", Value: "hello from $(PROCLET_INSTANCE)"},
		{Name: "ECHO", Value: "$(GREETING) on $(PORT_HTTP)"},
		{Name: "ESCAPED", Value: "$$(PORT) costs $5"},
		{Name: "UNKNOWN", Value: "$(NOPE) stays"},
		{Name: "FROM_DAEMON", Value: "$(FROM_DAEMON)-overridden"},
	}
	h.start(s)
	log := h.waitLog(s, "stdout", "UNKNOWN=", 5*time.Second)
	env := map[string]string{}
	for _, line := range strings.Split(log, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			env[k] = v
		}
	}
	want := map[string]string{
		"PROCLET_APP":      "web",
		"PROCLET_INSTANCE": s.Instance,
		"PROCLET_INDEX":    strconv.Itoa(s.Ordinal),
		"PROCLET_UID":      s.UID,
		"PORT":             "9100", // the first port in spec order
		"PORT_HTTP":        "8001",
		"PORT_METRICS_V2":  "9100",
		"GREETING":         "hello from " + s.Instance,
		"ECHO":             "hello from " + s.Instance + " on 8001",
		"ESCAPED":          "$(PORT) costs $5",
		"UNKNOWN":          "$(NOPE) stays",
		"FROM_DAEMON":      "yes-overridden",
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	if v, ok := env["PROCLET_API_KEY"]; ok {
		t.Errorf("PROCLET_API_KEY passed to the instance: %q", v)
	}
}

func TestExec_ExpandsCommandAndResolvesPATH(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	bin := t.TempDir()
	script := "#!/bin/sh\necho \"argv0=$0 arg=$1 dir=$(pwd)\"\n"
	if err := os.WriteFile(filepath.Join(bin, "greet"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	s := h.spec("greet", "$(GREETING)")
	s.Spec.Env = []v1alpha1.EnvVar{
		{Name: "PATH", Value: bin + ":$(PATH)"},
		{Name: "GREETING", Value: "hi-$(PROCLET_INDEX)"},
	}
	h.start(s)
	h.waitExit(s.UID, 5*time.Second)
	got, _ := readLog(h.logPath(s, "stdout"))
	want := "argv0=" + filepath.Join(bin, "greet") + " arg=hi-" + strconv.Itoa(s.Ordinal) + " dir=" + h.dir + "\n"
	if string(got) != want {
		t.Errorf("output = %q, want %q", got, want)
	}
}

func TestExec_WorkingDir(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	if err := os.Mkdir(filepath.Join(h.dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	abs := t.TempDir()
	for _, tc := range []struct{ workingDir, want string }{
		{"", h.dir},
		{"sub", filepath.Join(h.dir, "sub")},
		{abs, abs},
	} {
		s := h.spec("/bin/sh", "-c", "pwd")
		s.Spec.WorkingDir = tc.workingDir
		h.start(s)
		h.waitExit(s.UID, 5*time.Second)
		if got, _ := readLog(h.logPath(s, "stdout")); string(got) != tc.want+"\n" {
			t.Errorf("workingDir %q: pwd = %q, want %q", tc.workingDir, got, tc.want)
		}
	}
}

func TestExec_StartErrors(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	notExec := filepath.Join(h.dir, "data.txt")
	if err := os.WriteFile(notExec, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		modify  func(*runtime.StartSpec)
		want    string
		wantErr error
	}{
		{
			name:    "missing binary",
			modify:  func(s *runtime.StartSpec) { s.Spec.Command = []string{"./bin/web"} },
			want:    "start web-0: exec ./bin/web: no such file or directory",
			wantErr: fs.ErrNotExist,
		},
		{
			name:    "not in PATH",
			modify:  func(s *runtime.StartSpec) { s.Spec.Command = []string{"no-such-program-here"} },
			want:    "exec no-such-program-here: executable file not found in $PATH",
			wantErr: exec.ErrNotFound,
		},
		{
			name:    "not executable",
			modify:  func(s *runtime.StartSpec) { s.Spec.Command = []string{notExec} },
			want:    "exec " + notExec + ": permission denied",
			wantErr: fs.ErrPermission,
		},
		{
			name:    "missing working dir",
			modify:  func(s *runtime.StartSpec) { s.Spec.WorkingDir = "/no/such/dir" },
			want:    "working dir /no/such/dir: no such file or directory",
			wantErr: fs.ErrNotExist,
		},
		{
			name: "env expanding past its bound", // a spec validation did not see
			modify: func(s *runtime.StartSpec) {
				s.Spec.Env = []v1alpha1.EnvVar{{Name: "V0", Value: "abcdefgh"}}
				for i := 1; i < 40; i++ {
					ref := "$(V" + strconv.Itoa(i-1) + ")"
					s.Spec.Env = append(s.Spec.Env, v1alpha1.EnvVar{Name: "V" + strconv.Itoa(i), Value: strings.Repeat(ref, 8)})
				}
			},
			want: "spec.env[5].value (V5): expands to 262144 bytes, over the bound of 65536 bytes",
		},
		{
			name: "a long program name is cut in the error",
			modify: func(s *runtime.StartSpec) {
				s.Spec.Env = []v1alpha1.EnvVar{{Name: "K", Value: strings.Repeat("k", 1<<10)}}
				s.Spec.Command = []string{"./$(K)$(K)"}
			},
			want: "exec ./" + strings.Repeat("k", 254) + "... (2050 bytes): ",
		},
		{
			name: "argument expanding past its bound",
			modify: func(s *runtime.StartSpec) {
				s.Spec.Env = []v1alpha1.EnvVar{{Name: "K", Value: strings.Repeat("k", 1<<10)}}
				s.Spec.Command = []string{"/bin/true", strings.Repeat("$(K)", 100)}
			},
			want: "spec.command[1]: expands to 102400 bytes, over the bound of 65536 bytes",
		},
		{
			name:   "unknown user",
			modify: func(s *runtime.StartSpec) { s.Spec.User = "no-such-user-proclet" },
			want:   "user no-such-user-proclet: user: unknown user no-such-user-proclet",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := h.spec("/bin/true")
			s.UID, s.Instance, s.Ordinal = "bad", "web-0", 0
			tc.modify(&s)
			st, err := h.e.Start(t.Context(), s)
			if err == nil {
				unix.Kill(-st.PID, unix.SIGKILL)
				t.Fatal("start succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %q, want it to contain %q", err, tc.want)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("error %q is not %v", err, tc.wantErr)
			}
			if got := h.e.Instances("web"); len(got) != 0 {
				t.Errorf("a failed start kept a handle: %+v", got)
			}
			if left, _ := os.ReadDir(filepath.Join(h.state, "run")); len(left) != 0 {
				t.Errorf("a failed start left run files: %v", left)
			}
		})
	}
}

func TestExec_UserNeedsRoot(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.e.euid = 12345 // pretend not to be root
	s := h.spec("/bin/true")
	s.Spec.User = "0"
	_, err := h.e.Start(t.Context(), s)
	if err == nil || !strings.Contains(err.Error(), "only a daemon running as root can switch user") {
		t.Errorf("error = %v, want a not-root error", err)
	}
}

func TestExec_RunsAsUser(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody")
	}
	h := newHarness(t)
	s := h.spec(workload, "--print-env")
	s.Spec.User = "nobody"
	s.Spec.WorkingDir = "/"
	st := h.start(s)
	log := h.waitLog(s, "stdout", "PROCLET_UID=", 5*time.Second)
	status, err := os.ReadFile("/proc/" + strconv.Itoa(st.PID) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(status), "\nUid:\t"+nobody.Uid+"\t") {
		t.Errorf("instance does not run as nobody (%s):\n%s", nobody.Uid, status)
	}
	if !strings.Contains(log, "USER=nobody\n") {
		t.Errorf("USER is not nobody in:\n%s", log)
	}
}

func TestExec_OpenFilesLimit(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	s := h.spec(workload, "--print-rlimit")
	n := int64(1234)
	s.Spec.Resources.Limits.OpenFiles = &n
	st := h.start(s)
	h.waitLog(s, "stdout", "rlimit nofile soft=1234 hard=1234\n", 5*time.Second)
	if !alive(st.PID) {
		t.Error("the rlimit wrapper did not exec the command in place")
	}
	if cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(st.PID) + "/cmdline"); !strings.Contains(string(cmdline), "--print-rlimit") {
		t.Errorf("pid %d runs %q, not the workload", st.PID, cmdline)
	}
}

func TestExec_StartAfterStopAllFails(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	if err := h.e.StopAll(t.Context(), "Shutdown"); err != nil {
		t.Fatal(err)
	}
	_, err := h.e.Start(t.Context(), h.spec("/bin/true"))
	if !errors.Is(err, runtime.ErrClosed) {
		t.Errorf("start after StopAll: %v, want runtime.ErrClosed", err)
	}
}

func TestExec_ReleaseForgetsOnlyExited(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	live := h.start(h.spec(workload))
	done := h.start(h.spec("/bin/true"))
	h.waitExit(done.UID, 5*time.Second)
	h.e.Release(live.UID)
	h.e.Release(done.UID)
	h.e.Release("unknown")
	got := h.e.Instances("web")
	if len(got) != 1 || got[0].UID != live.UID || !got[0].Running() {
		t.Errorf("instances after release = %+v, want only the live one", got)
	}
}
