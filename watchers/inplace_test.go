package watchers

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// chunkedManifest is a manifest in three parts where each prefix is a valid
// manifest of app web with another spec: written a little apart, a watcher
// that reads on every event sees three different specs.
func chunkedManifest(cmd string) []string {
	return []string{
		manifest("web", cmd),
		"  workingDir: /tmp\n",
		"  env: [{name: A, value: b}]\n",
	}
}

// writeInPlace truncates path and writes chunks into it with pause between
// them, as `cat > file` from a slow producer does, then closes it. It
// returns the time just before the close: a scan may begin as soon as the
// close is done, before the caller reads the clock.
func writeInPlace(t testing.TB, path string, chunks []string, pause time.Duration) time.Time {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range chunks {
		if i > 0 {
			time.Sleep(pause) // the pauses between the writes are what is under test
		}
		if _, err := f.WriteString(c); err != nil {
			t.Fatal(err)
		}
	}
	closing := time.Now()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return closing
}

// specOf describes app web's spec in a snapshot ("" when absent).
func specOf(snap v1alpha1.Snapshot) string {
	for _, a := range snap.Apps {
		if a.App.Metadata.Name == "web" {
			s := a.App.Spec
			return strings.Join(s.Command, " ") + "|" + s.WorkingDir + "|" + envString(s.Env)
		}
	}
	return ""
}

func envString(env []v1alpha1.EnvVar) string {
	var b strings.Builder
	for _, e := range env {
		b.WriteString(e.Name + "=" + e.Value + ";")
	}
	return b.String()
}

// TRAP 1: a file rewritten in place in chunks is applied once its writer
// closes it, never prefix by prefix.
func TestDir_InPlaceRewriteWaitsForClose(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cmd  string // of the rewrite; "a" rewrites the same content
	}{
		{"new content", "b"},
		{"same content", "a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			path := filepath.Join(root, "web.yaml")
			chunks := chunkedManifest("a")
			writeFile(t, path, strings.Join(chunks, ""))
			_, sink := startDir(t, Options{Root: root}, nil)
			first := sink.waitSnap(t, "web", hasApps("web"))
			before := specOf(first)

			closed := writeInPlace(t, path, chunkedManifest(tc.cmd), 50*time.Millisecond)
			final := strings.Join(chunkedManifest(tc.cmd), "")
			want := specOf(v1alpha1.Snapshot{Apps: []v1alpha1.SourcedApp{{App: decodeOne(t, final)}}})
			sink.waitSnap(t, "a scan after the close", func(s v1alpha1.Snapshot) bool {
				return s.ReadAt.After(closed) && specOf(s) == want
			})
			for i, s := range sink.all() {
				if got := specOf(s); got != before && got != want {
					t.Fatalf("snapshot %d applied a half-written file: web is %q, neither %q nor %q", i, got, before, want)
				}
				// A writer stalled past the hold (2 s after its last write:
				// a loaded machine) has its file read as it is: an empty
				// one keeps the last good version, with an error. Anything
				// else must be the first snapshot again.
				if tc.cmd == "a" && keptLastGoodOfEmpty(s, before) {
					continue
				}
				if tc.cmd == "a" && (len(s.Apps) != len(first.Apps) || &s.Apps[0] != &first.Apps[0]) {
					t.Fatalf("snapshot %d is not the first one again although the file's content is the same: %s (errors %+v)", i, describe(s), s.Files)
				}
			}
		})
	}
}

// keptLastGoodOfEmpty reports whether s is a read of web.yaml found empty
// that kept web's last good spec, before.
func keptLastGoodOfEmpty(s v1alpha1.Snapshot, before string) bool {
	for _, f := range s.Files {
		if f.Path == "web.yaml" && f.Error != nil && strings.Contains(f.Error.Message, "file is empty") {
			return specOf(s) == before
		}
	}
	return false
}

func decodeOne(t *testing.T, data string) v1alpha1.App {
	t.Helper()
	apps, err := v1alpha1.DecodeFile("web.yaml", []byte(data))
	if err != nil || len(apps) != 1 {
		t.Fatalf("decode: %v (%d apps)", err, len(apps))
	}
	return apps[0]
}

// A writer that never closes the file: its content is read once it has
// not been written for writeQuiet.
func TestDir_InPlaceWriterThatNeverCloses(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	path := filepath.Join(root, "web.yaml")
	writeFile(t, path, manifest("web", "a"))
	_, sink := startDir(t, Options{Root: root}, nil)
	sink.waitSnap(t, "web", hasApps("web"))

	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(manifest("web", "b")); err != nil {
		t.Fatal(err)
	}
	written := time.Now()
	snap := sink.waitSnap(t, "the new content, read while still open", func(s v1alpha1.Snapshot) bool {
		return appCmd(s, "web") == "b"
	})
	if held := snap.ReadAt.Sub(written); held < writeQuiet-50*time.Millisecond {
		t.Fatalf("read %v after the write, want no sooner than %v (the file is still open)", held, writeQuiet)
	}
}

func TestWrites(t *testing.T) {
	t0 := time.Unix(1000, 0)
	all := func(string) bool { return true }
	var w writes
	w.apply([]writeEvent{{"/m/a.yaml", opWrite}}, t0, all)
	w.apply([]writeEvent{{"/m/skip.txt", opWrite}}, t0, func(p string) bool { return p != "/m/skip.txt" })
	if !w.held("/m/a.yaml", t0) || w.held("/m/skip.txt", t0) || w.held("/m/b.yaml", t0) {
		t.Fatalf("held after a write: %v", w.open)
	}
	if at, ok := w.due(); !ok || !at.Equal(t0.Add(writeQuiet)) {
		t.Fatalf("due = %v %v, want %v", at, ok, t0.Add(writeQuiet))
	}
	// Written on and on: held at most writeMaxHold after the first write.
	for d := time.Second; d < writeMaxHold+2*time.Second; d += time.Second {
		w.apply([]writeEvent{{"/m/a.yaml", opWrite}}, t0.Add(d), all)
	}
	if w.held("/m/a.yaml", t0.Add(writeMaxHold)) {
		t.Fatal("still held after writeMaxHold")
	}
	if !w.expire(t0.Add(writeMaxHold)) || len(w.open) != 0 {
		t.Fatalf("expire left %v", w.open)
	}
	// A close (or a rename over the path) ends the hold and asks for a read.
	w.apply([]writeEvent{{"/m/a.yaml", opWrite}}, t0, all)
	if w.apply([]writeEvent{{"/m/b.yaml", opClose}}, t0, all) {
		t.Fatal("a close of a file not held asked for a read")
	}
	if !w.apply([]writeEvent{{"/m/a.yaml", opClose}}, t0, all) || w.held("/m/a.yaml", t0) {
		t.Fatal("a close did not end the hold")
	}
	w.apply([]writeEvent{{"/m/a.yaml", opWrite}, {"/m/a.yaml", opReplaced}}, t0, all)
	if w.held("/m/a.yaml", t0) {
		t.Fatal("a rename over the path did not end the hold")
	}
}

// A file removed and created again within the removal's hold, then
// written slowly, keeps its apps while the new one is being written: it
// is neither read half-written nor taken for a deletion. The hold is the
// whole debounce window here, not the default 2 ms: the test's remove and
// create are microseconds apart, but a loaded machine may deschedule it
// between them for longer than 2 ms, which the watcher rightly takes for
// a deletion (TestLoop_AnnouncedRemovalAppliesAfterTheShortHold covers
// the short hold).
func TestDir_RecreatedFileBeingWrittenKeepsItsApps(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	path := filepath.Join(root, "web.yaml")
	writeFile(t, path, manifest("web", "a"))
	_, sink := startDir(t, Options{Root: root, RemovalQuiet: DefaultDebounce}, nil)
	sink.waitSnap(t, "web", hasApps("web"))

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(manifest("web", "b")); err != nil { // a prefix, valid with another spec
		t.Fatal(err)
	}
	written := time.Now()
	// Scans come (the removal's confirmation, a window later): none may
	// drop web or apply the prefix, until the writer's bound passes.
	n, _ := sink.counts()
	sink.waitUntil(t, "a scan after the write", func() bool { m, _ := sink.counts(); return m > n })
	for time.Since(written) < writeQuiet/2 {
		for i, s := range sink.all() {
			if appCmd(s, "web") != "a" {
				t.Fatalf("snapshot %d: web is %q while the file is being written: %s", i, appCmd(s, "web"), describe(s))
			}
		}
		time.Sleep(20 * time.Millisecond) // polling, for the length of the hold under test
	}
	if _, err := f.WriteString("  workingDir: /tmp\n"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	sink.waitSnap(t, "the new content once closed", func(s v1alpha1.Snapshot) bool { return specOf(s) == "b|/tmp|" })
}
