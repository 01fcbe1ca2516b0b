package watchers

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// countingReader is a reader of dir whose file reads are counted, and
// whose clock says now+skew.
func countingReader(t *testing.T, dir string, skew *time.Duration) (*reader, map[string]int) {
	t.Helper()
	reads := map[string]int{}
	r := newReader(dir, v1alpha1.DecodeFile)
	r.readFile = func(path string) ([]byte, error) {
		reads[filepath.Base(path)]++
		return ReadManifest(path)
	}
	r.now = func() time.Time { return time.Now().Add(*skew) }
	return r, reads
}

// scanOnce reads dir and commits the scan, as an emitted scan does.
func scanOnce(t *testing.T, r *reader) v1alpha1.Snapshot {
	t.Helper()
	s := r.read(context.Background(), r.now())
	if s.err != nil {
		t.Fatal(s.err)
	}
	return r.commit(s)
}

// A file whose stat did not change since it was read is not read again; a
// rename-over or an in-place rewrite is.
func TestReader_SkipsUnchangedFiles(t *testing.T) {
	dir := t.TempDir()
	for i := range 3 {
		writeFile(t, filepath.Join(dir, fmt.Sprintf("a%d.yaml", i)), manifest(fmt.Sprintf("a%d", i), "v1"))
	}
	// The files were written well before "now": not racily clean.
	skew := time.Hour
	r, reads := countingReader(t, dir, &skew)
	scanOnce(t, r)
	scanOnce(t, r)
	if reads["a0.yaml"] != 1 || reads["a1.yaml"] != 1 || reads["a2.yaml"] != 1 {
		t.Fatalf("reads after two scans: %v, want each file once", reads)
	}

	writeAtomic(t, filepath.Join(dir, "a1.yaml"), manifest("a1", "v2")) // a new inode
	writeFile(t, filepath.Join(dir, "a2.yaml"), manifest("a2", "v333")) // in place: same inode, another size
	snap := scanOnce(t, r)
	if reads["a0.yaml"] != 1 || reads["a1.yaml"] != 2 || reads["a2.yaml"] != 2 {
		t.Fatalf("reads after two edits: %v, want a1 and a2 read again, a0 not", reads)
	}
	if appCmd(snap, "a1") != "v2" || appCmd(snap, "a2") != "v333" || appCmd(snap, "a0") != "v1" {
		t.Fatalf("snapshot after the edits: %s", describe(snap))
	}
}

// A file changed less than racyWindow before it was read is read at every
// scan: a same-size write in the same timestamp tick would not show.
func TestReader_RereadsRacilyCleanFiles(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.yaml"), manifest("a", "v1"))
	var skew time.Duration
	r, reads := countingReader(t, dir, &skew)
	scanOnce(t, r)
	scanOnce(t, r)
	if reads["a.yaml"] != 2 {
		t.Fatalf("a file written just now was read %d times in two scans, want 2", reads["a.yaml"])
	}
	skew = time.Hour // the last read is now long after the change
	scanOnce(t, r)
	scanOnce(t, r)
	if reads["a.yaml"] != 3 {
		t.Fatalf("read %d times, want 3: once more, then no more", reads["a.yaml"])
	}
}

// Every fullReadEvery-th scan reads every file, whatever its stat says.
func TestReader_FullReadEvery(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.yaml"), manifest("a", "v1"))
	skew := time.Hour
	r, reads := countingReader(t, dir, &skew)
	for range 2 * fullReadEvery {
		scanOnce(t, r)
	}
	// The first scan, then the two full ones.
	if got := reads["a.yaml"]; got != 3 {
		t.Fatalf("read %d times in %d scans, want 3", got, 2*fullReadEvery)
	}
}

// When nothing read changed, the snapshot emitted is the last one: the
// same slices, with a new ReadAt. Any change gives new slices.
func TestReader_ResendsAnUnchangedSnapshot(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.yaml"), manifest("a", "v1"))
	writeFile(t, filepath.Join(dir, "b.yaml"), "not: [yaml")
	writeFile(t, filepath.Join(dir, "c.yaml"), manifest("c", "v1"))
	skew := time.Hour
	r, _ := countingReader(t, dir, &skew)
	same := func(a, b v1alpha1.Snapshot) bool {
		return len(a.Apps) > 0 && len(a.Apps) == len(b.Apps) && &a.Apps[0] == &b.Apps[0] &&
			len(a.Files) == len(b.Files) && &a.Files[0] == &b.Files[0]
	}
	s1 := scanOnce(t, r)
	s2 := scanOnce(t, r)
	if !same(s1, s2) || s2.ReadAt.Before(s1.ReadAt) {
		t.Fatalf("an unchanged second scan did not re-send the first snapshot")
	}
	if f, _ := fileStatus(s2, "b.yaml"); f.Error == nil {
		t.Fatalf("b.yaml lost its error: %s", describe(s2))
	}
	writeAtomic(t, filepath.Join(dir, "a.yaml"), manifest("a", "v2"))
	s3 := scanOnce(t, r)
	if same(s2, s3) || appCmd(s3, "a") != "v2" {
		t.Fatalf("an edit was not a new snapshot: %s", describe(s3))
	}
	// c emptied (a write in progress): its last good app stays, with an
	// error; the next scan of the same files is the same snapshot.
	writeAtomic(t, filepath.Join(dir, "c.yaml"), "")
	s4 := scanOnce(t, r)
	if f, _ := fileStatus(s4, "c.yaml"); same(s3, s4) || f.Error == nil || appCmd(s4, "c") != "v1" {
		t.Fatalf("emptying c: %s", describe(s4))
	}
	if s5 := scanOnce(t, r); !same(s4, s5) {
		t.Fatalf("the same files after the emptying gave a new snapshot: %s", describe(s5))
	}
	if err := os.Remove(filepath.Join(dir, "b.yaml")); err != nil {
		t.Fatal(err)
	}
	if s6 := scanOnce(t, r); len(s6.Files) != 2 {
		t.Fatalf("a removed file is still there: %s", describe(s6))
	}
}
