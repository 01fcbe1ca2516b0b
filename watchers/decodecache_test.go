package watchers

import (
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"proclet.dev/proclet/apis/v1alpha1"
)

// An edit beside many manifests decodes only the edited file: the others
// are re-read, and their decoding is reused by content.
func TestDir_DecodesOnlyWhatChanged(t *testing.T) {
	dir := t.TempDir()
	for i := range 20 {
		writeFile(t, filepath.Join(dir, fmt.Sprintf("a%02d.yaml", i)), manifest(fmt.Sprintf("a%02d", i), "v1"))
	}
	var decodes atomic.Int64
	decode := func(path string, data []byte) ([]v1alpha1.App, error) {
		decodes.Add(1)
		return v1alpha1.DecodeFile(path, data)
	}
	_, sink := startDir(t, Options{Root: dir, Decode: decode}, nil)
	sink.waitSnap(t, "20 apps", func(s v1alpha1.Snapshot) bool { return len(s.Apps) == 20 })
	before := decodes.Load()
	writeFile(t, filepath.Join(dir, "a07.yaml"), manifest("a07", "v2"))
	sink.waitSnap(t, "the edit", func(s v1alpha1.Snapshot) bool { return appCmd(s, "a07") == "v2" })
	if got := decodes.Load() - before; got < 1 || got > 2 {
		t.Fatalf("%d decodes for one edited file beside 19 others, want 1 (2 with a partial write)", got)
	}
}
