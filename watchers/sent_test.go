package watchers

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// A snapshot once sent is never changed: the reconciler keeps its apps and
// skips a re-sent snapshot by the identity of its slices (Sink), so a
// refilled slice or an app edited in place would be an edit it never sees.
// Every snapshot's apps and files must encode, after every later scan, as
// they did when they were sent.
func TestReader_NeverChangesASentSnapshot(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.yaml"), manifest("a", "v1"))
	writeFile(t, filepath.Join(dir, "b.yaml"), "not: [yaml")
	writeFile(t, filepath.Join(dir, "c.yaml"), manifest("c", "v1"))
	skew := time.Hour
	r, _ := countingReader(t, dir, &skew)
	type sent struct {
		step string
		snap v1alpha1.Snapshot
		enc  []byte
	}
	encode := func(s v1alpha1.Snapshot) []byte {
		b, err := json.Marshal(struct {
			Apps  []v1alpha1.SourcedApp
			Files []v1alpha1.FileStatus
		}{s.Apps, s.Files})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var all []sent
	scan := func(step string) {
		t.Helper()
		s := scanOnce(t, r)
		all = append(all, sent{step, s, encode(s)})
		for _, p := range all {
			if now := encode(p.snap); !bytes.Equal(now, p.enc) {
				t.Fatalf("after %s, the snapshot sent after %s changed:\nwas %s\nnow %s", step, p.step, p.enc, now)
			}
		}
	}
	scan("the first scan")
	scan("an unchanged scan")
	writeAtomic(t, filepath.Join(dir, "a.yaml"), manifest("a", "v2"))
	scan("an edit")
	writeAtomic(t, filepath.Join(dir, "c.yaml"), "")
	scan("emptying a file")
	scan("the same files again")
	writeAtomic(t, filepath.Join(dir, "c.yaml"), manifest("c", "v3"))
	scan("refilling the file")
	writeAtomic(t, filepath.Join(dir, "b.yaml"), manifest("b", "v1"))
	scan("fixing a broken file")
	writeAtomic(t, filepath.Join(dir, "d.yaml"), manifest("a", "dup"))
	scan("a duplicate name")
	if err := os.Remove(filepath.Join(dir, "a.yaml")); err != nil {
		t.Fatal(err)
	}
	scan("removing the owner of the duplicate")
	scan("an unchanged scan at the end")
}
