package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// appGeneration is app's metadata.generation (0 when absent).
func (d *daemon) appGeneration(app string) int64 {
	d.t.Helper()
	var a v1alpha1.App
	if code, err := d.getJSON("/api/v1/apps/"+app, &a); code != 200 || err != nil {
		return 0
	}
	return a.Metadata.Generation
}

// inPlaceChunks is web's manifest in three parts, each prefix a valid
// manifest with another spec.
func inPlaceChunks(arg string) []string {
	return []string{appManifest("web", 2, arg), "  workingDir: /tmp\n", "  env: [{name: A, value: b}]\n"}
}

// TRAP 1 against the binary: a manifest rewritten in place in three chunks
// 50 ms apart rolls the app once, to the final content, or not at all when
// that is what was there.
func TestInPlaceRewrite(t *testing.T) {
	skipShort(t)
	for _, tc := range []struct {
		name, arg string
		bump      int64
	}{
		{"new content", "b", 1},
		{"same content", "a", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "web.yaml")
			writeFile(t, file, strings.Join(inPlaceChunks("a"), ""))
			d := startDaemon(t, dir)
			var pids map[string]int
			eventually(t, 10*time.Second, "two running instances", func() bool {
				pids = d.runningPIDs("web")
				return len(pids) == 2
			})
			gen := d.appGeneration("web")

			f, err := os.OpenFile(file, os.O_WRONLY|os.O_TRUNC, 0)
			if err != nil {
				t.Fatal(err)
			}
			for i, c := range inPlaceChunks(tc.arg) {
				if i > 0 {
					time.Sleep(50 * time.Millisecond) // the pauses between the writes are under test
				}
				if _, err := f.WriteString(c); err != nil {
					t.Fatal(err)
				}
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			// Another app's file, saved after the close: once it runs, the
			// daemon has read web.yaml's final content too.
			writeFile(t, filepath.Join(dir, "marker.yaml"), appManifest("marker", 1))
			eventually(t, 10*time.Second, "the marker app running", func() bool { return len(d.runningPIDs("marker")) == 1 })
			if tc.bump == 0 {
				if now := d.runningPIDs("web"); len(now) != 2 || now["web-0"] != pids["web-0"] || now["web-1"] != pids["web-1"] {
					t.Fatalf("instances replaced by a rewrite of the same content: %v, were %v", now, pids)
				}
			} else {
				eventually(t, 20*time.Second, "both instances replaced", func() bool {
					now := d.runningPIDs("web")
					return len(now) == 2 && now["web-0"] != pids["web-0"] && now["web-1"] != pids["web-1"]
				})
			}
			if got := d.appGeneration("web"); got != gen+tc.bump {
				t.Fatalf("generation %d after the rewrite, was %d: want +%d (a half-written file was applied)", got, gen, tc.bump)
			}
		})
	}
}
