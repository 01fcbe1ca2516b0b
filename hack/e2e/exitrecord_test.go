package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// TestExitCodeSurvivesDaemonKill: instances whose restartPolicy makes
// their exit code matter run under the waiting shim, so a daemon killed
// with kill -9 and started again reports the real code of an exit that
// happens after the restart: the Never app's exit 0 is Completed (not
// restarted), the OnFailure app's exit 3 is restarted with code 3 in its
// status and events. Without the shim both are Unknown, code -1.
func TestExitCodeSurvivesDaemonKill(t *testing.T) {
	skipShort(t)
	dir, state := t.TempDir(), t.TempDir()
	const after = "8s" // the exits come after the second daemon adopted them
	writeFile(t, filepath.Join(dir, "done.yaml"), strings.Replace(appManifest("done", 1, "--exit-after", after, "--exit-code", "0"),
		"spec:\n", "spec:\n  restartPolicy: Never\n", 1))
	writeFile(t, filepath.Join(dir, "fail.yaml"), strings.Replace(appManifest("fail", 1, "--exit-after", after, "--exit-code", "3"),
		"spec:\n", "spec:\n  restartPolicy: OnFailure\n", 1))
	d := startDaemonOn(t, dir, state)
	first := map[string]v1alpha1.Instance{}
	eventually(t, 20*time.Second, "both instances running", func() bool {
		for _, app := range []string{"done", "fail"} {
			for _, i := range d.instances(app) {
				if i.Phase == v1alpha1.PhaseRunning && i.PID > 0 {
					first[app] = i
				}
			}
		}
		return len(first) == 2
	})
	eventually(t, 5*time.Second, "both instances in instances.json", func() bool {
		data, _ := os.ReadFile(filepath.Join(state, "instances.json"))
		return bytes.Contains(data, []byte(first["done"].UID)) && bytes.Contains(data, []byte(first["fail"].UID))
	})
	if err := d.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-d.exited
	d = startDaemonOn(t, dir, state)
	for app, i := range first {
		if !alive(i.PID) {
			t.Fatalf("%s (pid %d) exited before the second daemon adopted it: the test needs a longer --exit-after", app, i.PID)
		}
	}

	var done v1alpha1.Instance
	eventually(t, 30*time.Second, "done's exit", func() bool {
		is := d.instances("done")
		if len(is) == 1 {
			done = is[0]
		}
		return done.LastExit != nil
	})
	if done.UID != first["done"].UID || done.Restarts != 0 || done.LastExit.Code != 0 || done.LastExit.Reason != "Completed" || done.Phase != v1alpha1.PhaseSucceeded {
		t.Fatalf("done after its exit 0 under the second daemon: %+v, exit %+v; want Succeeded, Completed, not restarted", done, done.LastExit)
	}

	var fail v1alpha1.Instance
	eventually(t, 30*time.Second, "fail restarted", func() bool {
		for _, i := range d.instances("fail") {
			if i.Restarts >= 1 && i.LastExit != nil {
				fail = i
				return true
			}
		}
		return false
	})
	if fail.LastExit.Code != 3 || fail.LastExit.Reason != "Error" {
		t.Fatalf("fail after its exit 3: exit %+v, want code 3, Error", fail.LastExit)
	}
	want := "exited with code 3 (Error)"
	eventually(t, 5*time.Second, "an event with the exit code", func() bool {
		for _, e := range d.events("fail") {
			if e.Reason == "Exited" && strings.Contains(e.Message, want) {
				return true
			}
		}
		return false
	})
}
