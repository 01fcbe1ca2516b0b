package watchers

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestReadManifest(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "ok.yaml"), "a: 1\n")
	writeFile(t, filepath.Join(dir, "max.yaml"), strings.Repeat("#", MaxManifestSize))
	writeFile(t, filepath.Join(dir, "big.yaml"), strings.Repeat("#", MaxManifestSize+1))
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	symlink(t, "fifo.yaml", filepath.Join(dir, "tofifo.yaml"))
	symlink(t, "ok.yaml", filepath.Join(dir, "took.yaml"))

	tests := []struct {
		name    string
		size    int
		wantErr error
	}{
		{name: "ok.yaml", size: 5},
		{name: "took.yaml", size: 5},
		{name: "max.yaml", size: MaxManifestSize},
		{name: "big.yaml", wantErr: ErrTooLarge},
		{name: "fifo.yaml", wantErr: ErrNotRegular}, // returns at once: never opened
		{name: "tofifo.yaml", wantErr: ErrNotRegular},
		{name: ".", wantErr: ErrNotRegular},
		{name: "missing.yaml", wantErr: os.ErrNotExist},
	}
	for _, tt := range tests {
		data, err := ReadManifest(filepath.Join(dir, tt.name))
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("ReadManifest(%s) error = %v, want %v", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil || len(data) != tt.size {
			t.Errorf("ReadManifest(%s) = %d bytes, %v; want %d bytes", tt.name, len(data), err, tt.size)
		}
	}
}
