package e2e

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// installBinary copies the workload to path through a temp name and a
// rename, as a deploy does, with tag appended (an ELF ignores trailing
// bytes): each tag is another binary, with another digest.
func installBinary(t testing.TB, path, tag string) {
	t.Helper()
	data, err := os.ReadFile(bins.workload)
	if err != nil {
		t.Fatal(err)
	}
	data = append(data, []byte("\n"+tag)...)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".new")
	if err := os.WriteFile(tmp, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// contentManifest is an app running bin/app (relative to the manifest),
// rolled when it or the listed paths change, with extra spec lines.
func contentManifest(replicas int, extra string) string {
	return fmt.Sprintf(`apiVersion: proclet.dev/v1alpha1
kind: App
metadata:
  name: app
spec:
  replicas: %d
  command: ["bin/app"]
  terminationGracePeriodSeconds: 5
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}
%s`, replicas, extra)
}

// appStatus is GET /api/v1/apps/NAME's status; zero while there is no
// such app.
func (d *daemon) appStatus(name string) v1alpha1.AppStatus {
	d.t.Helper()
	var a v1alpha1.App
	code, err := d.getJSON("/api/v1/apps/"+name, &a)
	if err != nil || code != 200 && code != 404 {
		d.t.Fatalf("app %s: %d %v", name, code, err)
	}
	if a.Status == nil {
		return v1alpha1.AppStatus{}
	}
	return *a.Status
}

// settledAt reports whether every instance of app runs revision rev, ready.
func (d *daemon) settledAt(app string, replicas int, rev string) bool {
	n := 0
	for _, i := range d.instances(app) {
		if i.Revision != rev || i.Phase != v1alpha1.PhaseRunning || !i.Ready {
			return false
		}
		n++
	}
	return n == replicas
}

func (d *daemon) events(app string) []v1alpha1.Event {
	d.t.Helper()
	var l struct {
		Items []v1alpha1.Event `json:"items"`
	}
	if code, err := d.getJSON("/api/v1/events?app="+app+"&limit=500", &l); err != nil || code != 200 {
		d.t.Fatalf("events: %d %v", code, err)
	}
	return l.Items
}

func statusCondition(st v1alpha1.AppStatus, typ string) v1alpha1.Condition {
	for _, c := range st.Conditions {
		if c.Type == typ {
			return c
		}
	}
	return v1alpha1.Condition{}
}

// Replacing the executable (renamed into place) rolls the app to a new
// revision, and an event names the path with the old and new digests.
func TestContentExecutableReplacedRollsTheApp(t *testing.T) {
	skipShort(t)
	dir := t.TempDir()
	installBinary(t, filepath.Join(dir, "bin/app"), "v1")
	writeFile(t, filepath.Join(dir, "app.yaml"), contentManifest(2, "  rolloutOnChange: {executable: true}\n"))
	d := startDaemon(t, dir)
	var rev1 string
	eventually(t, 20*time.Second, "two ready instances", func() bool {
		rev1 = d.appStatus("app").Revision
		return rev1 != "" && d.settledAt("app", 2, rev1)
	})

	installBinary(t, filepath.Join(dir, "bin/app"), "v2")
	var rev2 string
	eventually(t, 30*time.Second, "a new revision, rolled out", func() bool {
		rev2 = d.appStatus("app").Revision
		return rev2 != rev1 && d.settledAt("app", 2, rev2)
	})
	var msg string
	for _, e := range d.events("app") {
		if e.Reason == "ContentChanged" {
			msg = e.Message
		}
	}
	want := "spec.rolloutOnChange.executable " + filepath.Join(dir, "bin/app") + ": "
	if !strings.HasPrefix(msg, want) || !strings.HasSuffix(msg, "; revision "+rev1+" -> "+rev2) {
		t.Errorf("ContentChanged event %q, want %q... -> ...; revision %s -> %s", msg, want, rev1, rev2)
	}
}

// Rotating a secret file rolls the app, the new value reaches the
// process, and no value appears in any API response, event, log line of
// the daemon, or state file.
func TestContentSecretRotationRollsAndNeverShows(t *testing.T) {
	skipShort(t)
	dir := t.TempDir()
	const secret1, secret2, fromEnv = "s3cr3t-one-8d1f", "s3cr3t-two-77c2", "env-file-value-42ab"
	installBinary(t, filepath.Join(dir, "bin/app"), "v1")
	writeFile(t, filepath.Join(dir, "secrets/token"), secret1+"\n")
	writeFile(t, filepath.Join(dir, "app.env"), "# settings\nFROM_FILE="+fromEnv+"\nMODE=file\n")
	writeFile(t, filepath.Join(dir, "app.yaml"), contentManifest(2, `  envFrom:
    - file: app.env
  env:
    - name: MODE
      value: spec
    - name: TOKEN
      valueFrom: {file: secrets/token}
`))
	d := startDaemon(t, dir)
	var rev1 string
	eventually(t, 20*time.Second, "two ready instances", func() bool {
		rev1 = d.appStatus("app").Revision
		return rev1 != "" && d.settledAt("app", 2, rev1)
	})
	checkEnviron(t, d, map[string]string{"TOKEN": secret1, "FROM_FILE": fromEnv, "MODE": "spec"})

	writeFile(t, filepath.Join(dir, "secrets/token"), secret2+"\n")
	var rev2 string
	eventually(t, 30*time.Second, "the rotated secret rolled out", func() bool {
		rev2 = d.appStatus("app").Revision
		return rev2 != rev1 && d.settledAt("app", 2, rev2)
	})
	checkEnviron(t, d, map[string]string{"TOKEN": secret2})

	var shown []string
	for _, path := range []string{"/api/v1/apps", "/api/v1/apps/app", "/api/v1/instances", "/api/v1/apps/app/instances",
		"/api/v1/events?limit=500", "/api/v1/manifests", "/api/v1/system", "/api/v1/targets", "/metrics"} {
		shown = append(shown, path+":\n"+d.get(path))
	}
	out, err := exec.Command(bins.proclet, "describe", "app", "--server", d.base).CombinedOutput()
	if err != nil {
		t.Fatalf("describe: %v\n%s", err, out)
	}
	shown = append(shown, "describe:\n"+string(out), "daemon log:\n"+d.logs.String())
	_ = filepath.WalkDir(d.stateDir, func(p string, e fs.DirEntry, err error) error {
		if err == nil && e.Type().IsRegular() && !strings.Contains(p, string(filepath.Separator)+"logs"+string(filepath.Separator)) {
			b, _ := os.ReadFile(p)
			shown = append(shown, "state file "+p+":\n"+string(b))
		}
		return nil
	})
	for _, s := range shown {
		for _, v := range []string{secret1, secret2, fromEnv} {
			if strings.Contains(s, v) {
				t.Errorf("a value read from a file shows in %s", s[:min(len(s), 2000)])
			}
		}
	}
	var app v1alpha1.App
	if code, err := d.getJSON("/api/v1/apps/app", &app); err != nil || code != 200 {
		t.Fatalf("app: %d %v", code, err)
	}
	if vf := app.Spec.Env[1].ValueFrom; vf == nil || vf.File != "secrets/token" || len(app.Spec.EnvFrom) != 1 || app.Spec.EnvFrom[0].File != "app.env" {
		t.Errorf("the API does not show the source paths: env %+v, envFrom %+v", app.Spec.Env, app.Spec.EnvFrom)
	}
	// The status names each file with a digest of what it held.
	digests := map[string]string{}
	for _, f := range app.Status.Files {
		digests[f.Field] = f.Path + " " + f.Digest
	}
	if tok := digests["spec.env[1].valueFrom.file"]; !strings.HasPrefix(tok, "secrets/token ") || len(tok) < len("secrets/token ")+8 {
		t.Errorf("status.files %+v: want spec.env[1].valueFrom.file with its path and digest", app.Status.Files)
	}
	if !strings.Contains(string(out), "secrets/token digest ") {
		t.Errorf("describe shows no digest of secrets/token:\n%s", out)
	}
}

// checkEnviron checks the environment of every running instance of app.
func checkEnviron(t *testing.T, d *daemon, want map[string]string) {
	t.Helper()
	for name, pid := range d.runningPIDs("app") {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if err != nil {
			t.Fatal(err)
		}
		env := map[string]string{}
		for _, kv := range bytes.Split(b, []byte{0}) {
			k, v, _ := strings.Cut(string(kv), "=")
			env[k] = v
		}
		for k, v := range want {
			if env[k] != v {
				t.Errorf("%s: %s=%q, want %q", name, k, env[k], v)
			}
		}
	}
}

// A watched path that disappears keeps the last good revision running
// (the same processes), and the app's ManifestValid condition says why.
func TestContentPathDeletedKeepsTheLastGoodRevision(t *testing.T) {
	skipShort(t)
	dir := t.TempDir()
	installBinary(t, filepath.Join(dir, "bin/app"), "v1")
	writeFile(t, filepath.Join(dir, "config/app.conf"), "a=1\n")
	writeFile(t, filepath.Join(dir, "app.yaml"), contentManifest(2, "  rolloutOnChange: {paths: [config/app.conf]}\n"))
	d := startDaemon(t, dir)
	var rev string
	eventually(t, 20*time.Second, "two ready instances", func() bool {
		rev = d.appStatus("app").Revision
		return rev != "" && d.settledAt("app", 2, rev)
	})
	pids := d.runningPIDs("app")

	if err := os.Remove(filepath.Join(dir, "config/app.conf")); err != nil {
		t.Fatal(err)
	}
	want := "app.yaml: spec.rolloutOnChange.paths[0]: config/app.conf: no such file or directory"
	eventually(t, 15*time.Second, "ManifestValid=False naming the path", func() bool {
		c := statusCondition(d.appStatus("app"), v1alpha1.ConditionManifestValid)
		return c.Status == v1alpha1.ConditionFalse && c.Reason == v1alpha1.ReasonContentUnavailable && strings.HasPrefix(c.Message, want)
	})
	if st := d.appStatus("app"); st.Revision != rev || !d.settledAt("app", 2, rev) {
		t.Errorf("revision %s (was %s), instances %+v", st.Revision, rev, d.instances("app"))
	}
	if now := d.runningPIDs("app"); fmt.Sprint(now) != fmt.Sprint(pids) {
		t.Errorf("instances changed: %v, were %v", now, pids)
	}

	// The file back as it was: valid again, the same revision, nothing restarted.
	writeFile(t, filepath.Join(dir, "config/app.conf"), "a=1\n")
	eventually(t, 15*time.Second, "ManifestValid=True", func() bool {
		return statusCondition(d.appStatus("app"), v1alpha1.ConditionManifestValid).Status == v1alpha1.ConditionTrue
	})
	if st := d.appStatus("app"); st.Revision != rev {
		t.Errorf("the same content back gave revision %s, was %s", st.Revision, rev)
	}
	if now := d.runningPIDs("app"); fmt.Sprint(now) != fmt.Sprint(pids) {
		t.Errorf("instances changed: %v, were %v", now, pids)
	}
}

// A restarted daemon reads the files again: the same content is the same
// revision, so it adopts the running instances and restarts nothing, and
// the values were never on disk for it to find.
func TestContentRevisionSurvivesADaemonRestart(t *testing.T) {
	skipShort(t)
	dir, state := t.TempDir(), t.TempDir()
	installBinary(t, filepath.Join(dir, "bin/app"), "v1")
	writeFile(t, filepath.Join(dir, "secrets/token"), "tok-5e11\n")
	writeFile(t, filepath.Join(dir, "app.env"), "A=1\n")
	writeFile(t, filepath.Join(dir, "app.yaml"), contentManifest(2, `  envFrom: [{file: app.env}]
  env: [{name: TOKEN, valueFrom: {file: secrets/token}}]
  rolloutOnChange: {executable: true}
`))
	d := startDaemonOn(t, dir, state, "--on-exit", "keep")
	var rev string
	eventually(t, 20*time.Second, "two ready instances", func() bool {
		rev = d.appStatus("app").Revision
		return rev != "" && d.settledAt("app", 2, rev)
	})
	pids := d.runningPIDs("app")
	d.stop()

	d = startDaemonOn(t, dir, state)
	eventually(t, 20*time.Second, "the instances adopted at the same revision", func() bool {
		return d.appStatus("app").Revision == rev && d.settledAt("app", 2, rev) && fmt.Sprint(d.runningPIDs("app")) == fmt.Sprint(pids)
	})
	checkEnviron(t, d, map[string]string{"TOKEN": "tok-5e11", "A": "1"})
}
