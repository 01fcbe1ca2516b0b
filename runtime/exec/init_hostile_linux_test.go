package exec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A progress file that is not the runner's (a link, too big, another
// PID, out of range, garbage) is ignored.
func TestInit_HostileProgress(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	uid, pid := "uid-x", 4242
	path := h.e.initProgressPath(uid)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	good := `{"pid":4242,"step":1,"total":2,"state":"running","code":0,"signal":0,"timeout":false,"at":1}`
	target := filepath.Join(t.TempDir(), "target")
	os.WriteFile(target, []byte(good), 0o600)
	for name, write := range map[string]func() error{
		"link":      func() error { return os.Symlink(target, path) },
		"too big":   func() error { return os.WriteFile(path, []byte(good+strings.Repeat(" ", 600)), 0o600) },
		"other pid": func() error { return os.WriteFile(path, []byte(strings.Replace(good, "4242", "4243", 1)), 0o600) },
		"out of range": func() error {
			return os.WriteFile(path, []byte(strings.Replace(good, `"step":1`, `"step":3`, 1)), 0o600)
		},
		"garbage":  func() error { return os.WriteFile(path, []byte("{{{"), 0o600) },
		"a folder": func() error { return os.Mkdir(path, 0o700) },
	} {
		os.RemoveAll(path)
		if err := write(); err != nil {
			t.Fatal(err)
		}
		if r, ok := h.e.readInitRecord(uid, pid); ok {
			t.Errorf("%s: read %+v", name, r)
		}
	}
	os.RemoveAll(path)
	os.WriteFile(path, []byte(good), 0o600)
	if r, ok := h.e.readInitRecord(uid, pid); !ok || r.Step != 1 || r.Total != 2 {
		t.Errorf("the runner's own: %+v, %v", r, ok)
	}
}
