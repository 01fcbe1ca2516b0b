package runtime

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/internal/hostile"
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
// neither hangs a new Exec nor exhausts its memory: the file is reported
// (an Error naming it and saying what is wrong) and moved aside, the
// running instance is adopted (same PID, same port, no second one), and a
// good file is written in the bad one's place.
func TestAdopt_UnreadableStateFiles(t *testing.T) {
	cases := append(hostile.Cases(), hostile.Case{Name: "garbage", Says: "corrupt", Make: func(t testing.TB, p string) {
		if err := os.WriteFile(p, []byte(`{"version": 1, "inst`), 0o644); err != nil {
			t.Fatal(err)
		}
	}})
	for _, file := range []string{instancesFileName, portsFileName} {
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
				opened := make(chan *Exec, 1)
				go func() {
					e, err := NewExec(ExecOptions{StateDir: a.state, Log: slog.New(slog.NewTextHandler(&logs, nil)),
						Env: []string{"PATH=/usr/local/bin:/usr/bin:/bin"}})
					if err != nil {
						t.Error(err)
					}
					opened <- e
				}()
				var b *Exec
				select {
				case b = <-opened:
				case <-time.After(20 * time.Second):
					t.Fatalf("NewExec still reading %s after 20 s", file)
				}
				if b == nil {
					return
				}
				ctx, cancel := context.WithCancel(context.Background())
				runDone := make(chan error, 1)
				go func() { runDone <- b.Run(ctx) }()
				t.Cleanup(func() {
					sctx, scancel := context.WithTimeout(context.Background(), 20*time.Second)
					defer scancel()
					if err := b.StopAll(sctx, "TestCleanup"); err != nil {
						t.Errorf("cleanup: %v", err)
					}
					cancel()
					<-runDone
				})

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
