package exec

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/internal/hostile"

	"proclet.dev/proclet/runtime"
	"proclet.dev/proclet/runtime/ports"
)

// syncBuffer is a bytes.Buffer for a slog handler written from many
// goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestAdopt_UnreadableStateFiles: instances.json or ports.json replaced by
// a sparse 4 GiB file, a link to /dev/zero, a FIFO, a folder or garbage
// neither hangs a new Runtime nor exhausts its memory: the file is reported
// (an Error naming it and saying what is wrong) and moved aside, the
// running instance is adopted (same PID, same port, no second one), and a
// good file is written in the bad one's place.
func TestAdopt_UnreadableStateFiles(t *testing.T) {
	cases := append(hostile.Cases(), hostile.Case{Name: "garbage", Says: "corrupt", Make: func(t testing.TB, p string) {
		if err := os.WriteFile(p, []byte(`{"version": 1, "inst`), 0o644); err != nil {
			t.Fatal(err)
		}
	}})
	for _, file := range []string{instancesFileName, ports.FileName} {
		for _, c := range cases {
			t.Run(file+"/"+c.Name, func(t *testing.T) {
				a := newHarness(t)
				s := a.spec(workload)
				s.Spec.Ports = []v1alpha1.PortSpec{{Name: "http", Range: "33000-33999"}}
				t.Cleanup(func() { killMarked(s.UID, 0) })
				st := a.startReady(s)
				a.detach()
				path := filepath.Join(a.state, file)
				c.Make(t, path)

				var logs syncBuffer
				b := newLoggedExec(t, a.state, &logs)
				if b == nil {
					return
				}

				got := b.Instances("web")
				if len(got) != 1 || got[0].PID != st.PID || !got[0].Running() || got[0].Ports["http"] != st.Ports["http"] {
					t.Fatalf("after the restart: %+v; want pid %d running on port %d", got, st.PID, st.Ports["http"])
				}
				out := logs.String()
				if !strings.Contains(out, "level=ERROR") || !strings.Contains(out, path) || !strings.Contains(out, c.Says) ||
					!strings.Contains(out, "moved_to="+path+".bad-") {
					t.Fatalf("the log does not report %s (%q) and where it went:\n%s", path, c.Says, out)
				}
				if fi, err := os.Lstat(path); err != nil || !fi.Mode().IsRegular() {
					t.Fatalf("%s after the adoption: %v %v; want a regular file", file, fi, err)
				}
			})
		}
	}
}

// newLoggedExec is a Runtime on state logging as text to logs, with Run
// going; nil (and the test failed) when New did not return within
// 20 s. It stops every instance it holds when the test ends.
func newLoggedExec(t *testing.T, state string, logs *syncBuffer) *Runtime {
	t.Helper()
	opened := make(chan *Runtime, 1)
	go func() {
		e, err := New(Options{StateDir: state, Log: slog.New(slog.NewTextHandler(logs, nil)),
			Env: []string{"PATH=/usr/local/bin:/usr/bin:/bin"}})
		if err != nil {
			t.Error(err)
		}
		opened <- e
	}()
	var e *Runtime
	select {
	case e = <-opened:
	case <-time.After(20 * time.Second):
		t.Fatal("New still reading its state after 20 s")
	}
	if e == nil {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	go func() { runDone <- e.Run(ctx) }()
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer scancel()
		if err := e.StopAll(sctx, "TestCleanup"); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		cancel()
		<-runDone
	})
	return e
}

// An instances.json written over the bound a daemon reads back is an
// error in the log, once, while it lasts: the next daemon would not read
// it.
func TestInstancesFile_WrittenOverTheBoundIsLogged(t *testing.T) {
	var logs syncBuffer
	e := newLoggedExec(t, t.TempDir(), &logs)
	if e == nil {
		return
	}
	e.store.mu.Lock()
	e.store.limit = 1000
	e.store.mu.Unlock()
	const said = "the instances state is larger than a restarted daemon reads"
	for i := range 4 {
		s := runtime.StartSpec{UID: fmt.Sprintf("uid-%d", i), App: "web", Instance: fmt.Sprintf("web-%d", i), Ordinal: i, Revision: "rev1",
			Spec: &v1alpha1.AppSpec{Command: []string{"/bin/sleep", "100"}}, Dir: t.TempDir()}
		if _, err := e.Start(t.Context(), s); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			data, _ := os.ReadFile(filepath.Join(e.store.path))
			if strings.Contains(string(data), s.UID) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not in instances.json after 10 s", s.UID)
			}
			time.Sleep(10 * time.Millisecond) // polling interval
		}
	}
	out := logs.String()
	if n := strings.Count(out, said); n != 1 || !strings.Contains(out, `bound="1000 bytes"`) || !strings.Contains(out, "level=ERROR") {
		t.Fatalf("%d errors saying %q with the bound; want 1:\n%s", n, said, out)
	}
}
