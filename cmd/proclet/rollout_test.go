package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

func rolloutApp(replicas, updated, available int32, rev string, conds ...v1alpha1.Condition) v1alpha1.App {
	return v1alpha1.App{
		Metadata: v1alpha1.ObjectMeta{Name: "web", Generation: 2},
		Spec:     v1alpha1.AppSpec{Replicas: &replicas},
		Status: &v1alpha1.AppStatus{Replicas: updated, UpdatedReplicas: updated, AvailableReplicas: available,
			Revision: rev, ObservedGeneration: 2, Conditions: conds},
	}
}

func TestRolloutProgress(t *testing.T) {
	running := func(rev string, phase v1alpha1.InstancePhase) v1alpha1.Instance {
		return v1alpha1.Instance{App: "web", Revision: rev, Phase: phase}
	}
	behind := rolloutApp(3, 3, 3, "new")
	behind.Metadata.Generation = 3
	cases := []struct {
		name    string
		app     v1alpha1.App
		insts   []v1alpha1.Instance
		wantRev string
		msg     string
		done    bool
		err     string
	}{
		{"no status yet", v1alpha1.App{Metadata: v1alpha1.ObjectMeta{Name: "web"}}, nil, "", `Waiting for the daemon to report app "web"'s status...`, false, ""},
		{"updating", rolloutApp(3, 1, 1, "new"), nil, "", "Waiting for rollout to finish: 1 out of 3 new replicas have been updated...", false, ""},
		{"old still running", rolloutApp(3, 3, 3, "new"), []v1alpha1.Instance{running("old", v1alpha1.PhaseTerminating), running("new", v1alpha1.PhaseRunning)}, "",
			"Waiting for rollout to finish: 1 old replicas are pending termination...", false, ""},
		{"old pending slot is not a process", rolloutApp(1, 1, 1, "new"), []v1alpha1.Instance{running("old", v1alpha1.PhasePending)}, "",
			`app "web" successfully rolled out`, true, ""},
		{"not yet available", rolloutApp(3, 3, 1, "new"), nil, "", "Waiting for rollout to finish: 1 of 3 updated replicas are available...", false, ""},
		{"scale down", rolloutApp(2, 3, 3, "new"), nil, "", "Waiting for rollout to finish: 1 extra replicas are pending termination...", false, ""},
		{"done", rolloutApp(3, 3, 3, "new"), []v1alpha1.Instance{running("new", v1alpha1.PhaseRunning)}, "", `app "web" successfully rolled out`, true, ""},
		{"completed instances count as rolled out", rolloutApp(2, 1, 1, "new"), []v1alpha1.Instance{running("new", v1alpha1.PhaseSucceeded), running("old", v1alpha1.PhaseSucceeded)}, "",
			`app "web" successfully rolled out`, true, ""},
		{"zero replicas", rolloutApp(0, 0, 0, "new"), nil, "", `app "web" successfully rolled out`, true, ""},
		{"waiting for the wanted revision", rolloutApp(3, 3, 3, "old"), nil, "new", `Waiting for the daemon to read revision new (app "web" is at old)...`, false, ""},
		{"wanted revision reached", rolloutApp(1, 1, 1, "new"), nil, "new", `app "web" successfully rolled out`, true, ""},
		{"generation not observed", behind, nil, "", "Waiting for the rollout's spec update to be observed...", false, ""},
		{"deadline exceeded", rolloutApp(3, 1, 0, "new", v1alpha1.Condition{Type: "Progressing", Status: "False", Reason: "ProgressDeadlineExceeded", Message: "revision new has not progressed for 2s"}), nil, "",
			"", false, `app "web" exceeded its progress deadline: revision new has not progressed for 2s`},
		{"invalid manifest", rolloutApp(3, 3, 3, "new", v1alpha1.Condition{Type: "ManifestValid", Status: "False", Message: "web.yaml:3: bad"}), nil, "",
			"", false, `app "web" is invalid (the daemon keeps its last good version): web.yaml:3: bad`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			msg, done, err := rolloutProgress(tc.app, tc.insts, tc.wantRev)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if msg != tc.msg || done != tc.done || gotErr != tc.err {
				t.Fatalf("got (%q, %v, %q), want (%q, %v, %q)", msg, done, gotErr, tc.msg, tc.done, tc.err)
			}
		})
	}
}

func TestRolloutStatusAgainstTheAPI(t *testing.T) {
	done := cliApp("web", 2, 2)
	stalled := cliApp("api", 2, 0)
	stalled.Status.AvailableReplicas = 0
	api := &cliFakeAPI{apps: []v1alpha1.App{done, stalled}}
	url := api.start(t)

	code, out, errOut := cliRun("rollout", "status", "web", "--server", url)
	if code != 0 || out != "app \"web\" successfully rolled out\n" {
		t.Fatalf("finished rollout: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	start := time.Now()
	code, out, errOut = cliRun("rollout", "status", "api", "--server", url, "--timeout", "300ms")
	if code != 1 || out != "Waiting for rollout to finish: 0 of 2 updated replicas are available...\n" ||
		!strings.Contains(errOut, `timed out after 300ms waiting for the rollout of app "api"`) {
		t.Fatalf("stalled rollout: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("--timeout 300ms took %s", d)
	}
	code, _, errOut = cliRun("rollout", "status", "nope", "--server", url)
	if code != 1 || !strings.Contains(errOut, `app "nope" not found`) {
		t.Fatalf("unknown app: exit %d, stderr %q", code, errOut)
	}
	if code, _, _ = cliRun("rollout", "status", "web", "--timeout", "-1s", "--server", url); code != 2 {
		t.Fatalf("negative --timeout: exit %d, want 2", code)
	}
}

const restartManifest = `# web tier
apiVersion: proclet.dev/v1alpha1
kind: App
metadata:
  name: web
spec:
  command: ["sleep", "1000"]
`

func TestRolloutRestartEditsTheFileInPlace(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "web.yaml")
	if err := os.WriteFile(file, []byte(restartManifest), 0o640); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 7, 16, 50, 0, 0, time.FixedZone("X", 3600))
	var out strings.Builder
	if err := rolloutRestart(dir, "web", now, &out); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(file)
	want := strings.Replace(restartManifest, "metadata:\n", "metadata:\n  annotations:\n    proclet.dev/restartedAt: \"2026-12-07T15:50:00Z\"\n", 1)
	if string(got) != want {
		t.Fatalf("file:\n%s\nwant:\n%s", got, want)
	}
	if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o640 {
		t.Fatalf("mode %v, want 0640 kept", fi.Mode().Perm())
	}
	apps, err := v1alpha1.DecodeFile(file, got)
	if err != nil {
		t.Fatal(err)
	}
	rev := v1alpha1.AppRevision(&apps[0], "")
	if !strings.Contains(out.String(), "revision "+rev) || !strings.Contains(out.String(), "--revision "+rev) {
		t.Fatalf("output %q does not name the new revision %s", out.String(), rev)
	}
	// The same second again: a value that still differs.
	if err := rolloutRestart(dir, "web", now, &out); err != nil {
		t.Fatal(err)
	}
	again, _ := os.ReadFile(file)
	if string(again) == string(got) {
		t.Fatal("a second restart within the second left the file unchanged")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("the folder holds %d entries, want only web.yaml (no temp file left)", len(entries))
	}
}

func TestRolloutRestartRefusesASymlinkedFolder(t *testing.T) {
	root := t.TempDir()
	rev := filepath.Join(root, "rev-0123abcd")
	if err := os.Mkdir(rev, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rev, "web.yaml"), []byte(restartManifest), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(root, "current")
	if err := os.Symlink("rev-0123abcd", link); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := cliRun("rollout", "restart", "web", "--manifests", link)
	if code != 1 || out != "" {
		t.Fatalf("exit %d, stdout %q; want 1 and nothing", code, out)
	}
	for _, want := range []string{"reached through the symlink " + link, "web.yaml:5\n+  annotations:\n+    proclet.dev/restartedAt: \""} {
		if !strings.Contains(errOut, want) {
			t.Fatalf("stderr %q lacks %q", errOut, want)
		}
	}
	if got, _ := os.ReadFile(filepath.Join(rev, "web.yaml")); string(got) != restartManifest {
		t.Fatalf("the file was changed:\n%s", got)
	}
}

func TestRolloutRestartErrors(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "web.yaml"), []byte(restartManifest), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "broken.yaml"), []byte("kind: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := cliRun("rollout", "restart", "api", "--manifests", dir)
	if code != 1 || !strings.Contains(errOut, `app "api" is not defined in a valid file of `+dir+` (files with problems: broken.yaml`) {
		t.Fatalf("unknown app: exit %d, stderr %q", code, errOut)
	}
	anchored := strings.Replace(restartManifest, "metadata:", "metadata: &m", 1)
	if err := os.WriteFile(filepath.Join(dir, "web.yaml"), []byte(anchored), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = cliRun("rollout", "restart", "web", "--manifests", dir)
	if code != 1 || !strings.Contains(errOut, "cannot edit safely") || !strings.Contains(errOut, "proclet.dev/restartedAt: \"") {
		t.Fatalf("unsafe edit: exit %d, stderr %q", code, errOut)
	}
	huge := restartManifest + "#" + strings.Repeat("x", 1<<20) + "\n"
	if err := os.WriteFile(filepath.Join(dir, "web.yaml"), []byte(huge), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = cliRun("rollout", "restart", "web", "--manifests", dir)
	if code != 1 || !strings.Contains(errOut, `app "web" is not defined in a valid file of `+dir+` (files with problems: broken.yaml, web.yaml`) {
		t.Fatalf("a file over 1 MiB: exit %d, stderr %q", code, errOut)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "web.yaml")); string(got) != huge {
		t.Fatal("the file over 1 MiB was changed")
	}
	if code, _, _ = cliRun("rollout", "restart"); code != 2 {
		t.Fatalf("no app: exit %d, want 2", code)
	}
	if code, _, _ = cliRun("rollout", "frobnicate"); code != 2 {
		t.Fatalf("unknown subcommand: exit %d, want 2", code)
	}
}
