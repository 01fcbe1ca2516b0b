package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"time"
)

// docSetup prepares the state an example of the docs shows. It is found
// by the step's `# comment` (or the whole `$ # ...` line), else by its
// command and a piece of its expected output.
type docSetup struct {
	comment  string // the step's comment, exactly
	cmd      string // else: the command, exactly...
	output   string // ...and a piece of the doc's output under it
	prepare  func(e *docEnv)
	env      func(e *docEnv, r *docRun)
	progress bool // lines per change: compareProgress
}

func findSetup(s docStep) (docSetup, bool) {
	for _, d := range docSetups {
		if d.comment != "" && d.comment == s.comment ||
			d.comment == "" && d.cmd == s.cmd && strings.Contains(strings.Join(s.want, "\n"), d.output) {
			return d, true
		}
	}
	return docSetup{}, false
}

const apiManifest = `apiVersion: proclet.dev/v1alpha1
kind: App
metadata:
  name: api
spec:
  replicas: %s
  command: ["../bin/workload", "--stdout-rate", "1"]
`

var docSetups = []docSetup{
	// docs/cli.md, "Finding the daemon".
	{cmd: "proclet get apps", output: "cannot reach proclet", env: func(e *docEnv, r *docRun) {
		r.server = "http://127.0.0.1:1" // never a developer's daemon on :9090
	}},
	{comment: "# the daemon has --api-key-file", env: keyedServer},
	{cmd: "PROCLET_API_KEY=wrong proclet get apps", output: "unauthorized", env: keyedServer},
	// docs/cli.md, `get instances`: a second daemon running flaky.
	{comment: "# on the daemon running flaky", env: func(e *docEnv, r *docRun) {
		if e.flaky == nil {
			dir := e.t.TempDir()
			writeFile(e.t, filepath.Join(dir, "flaky.yaml"),
				appManifest("flaky", 2, "--exit-after", "0", "--exit-code", "1"))
			e.flaky = startDaemon(e.t, dir)
			e.t.Cleanup(func() { recordPIDs(e.flaky) })
			eventually(e.t, 20*time.Second, "flaky in CrashLoopBackOff", func() bool {
				for _, i := range e.flaky.instances("flaky") {
					if i.Reason == "CrashLoopBackOff" {
						return true
					}
				}
				return false
			})
		}
		r.server = e.flaky.base
	}},
	// docs/cli.md, `get manifests` to `describe api`: api.yaml invalid,
	// workers.yaml with a typo (the daemon keeps its last good version).
	{cmd: "proclet get manifests", output: "workers.yaml   Invalid", prepare: func(e *docEnv) {
		m := filepath.Join(e.root, "manifests")
		writeFile(e.t, filepath.Join(m, "api.yaml"), strings.Replace(apiManifest, "%s", "many", 1))
		b, err := os.ReadFile(filepath.Join(m, "workers.yaml"))
		if err != nil {
			e.t.Fatal(err)
		}
		writeFile(e.t, filepath.Join(m, "workers.yaml"), strings.Replace(string(b), "replicas: 3", "replica: 3", 1))
		waitManifests(e, 2)
	}},
	// docs/cli.md, `diff`: back to the shipped files, then edits of a copy.
	{cmd: "cp -r manifests /tmp/d && proclet diff /tmp/d; echo $?", output: "0", prepare: func(e *docEnv) {
		m := filepath.Join(e.root, "manifests")
		os.Remove(filepath.Join(m, "api.yaml"))
		b, err := os.ReadFile(filepath.Join(m, "workers.yaml"))
		if err != nil {
			e.t.Fatal(err)
		}
		writeFile(e.t, filepath.Join(m, "workers.yaml"), strings.Replace(string(b), "replica: 3", "replicas: 3", 1))
		waitManifests(e, 0)
	}},
	{comment: "# workers: replicas 3 -> 5; hello: another command and env value; sleeper deleted; api added", prepare: func(e *docEnv) {
		d := filepath.Join(e.root, "d")
		editFile(e, filepath.Join(d, "workers.yaml"), "replicas: 3", "replicas: 5")
		editFile(e, filepath.Join(d, "hello.yaml"), `"--stdout-rate", "1"`, `"--stdout-rate", "2"`)
		editFile(e, filepath.Join(d, "hello.yaml"), `value: "hello from`, `value: "hi from`)
		if err := os.Remove(filepath.Join(d, "sleeper.yaml")); err != nil {
			e.t.Fatal(err)
		}
		writeFile(e.t, filepath.Join(d, "api.yaml"), strings.Replace(apiManifest, "%s", "2", 1))
	}},
	{comment: "# plus a broken file", prepare: func(e *docEnv) {
		writeFile(e.t, filepath.Join(e.root, "d", "broken.yaml"), "apiVersion: proclet.dev/v1alpha1\nkind: App\nmetadata:\n  name: broken\nspec: {replicas: many, command: [sleep, \"1\"]}\n")
	}},
	{comment: "# back to the shipped files; then sleeper and workers get a new command, workers 4 replicas", prepare: func(e *docEnv) {
		d := filepath.Join(e.root, "d")
		for _, f := range []string{"api.yaml", "broken.yaml"} {
			if err := os.Remove(filepath.Join(d, f)); err != nil {
				e.t.Fatal(err)
			}
		}
		for _, f := range []string{"hello.yaml", "sleeper.yaml", "workers.yaml"} {
			b, err := os.ReadFile(filepath.Join(e.root, "manifests", f))
			if err != nil {
				e.t.Fatal(err)
			}
			writeFile(e.t, filepath.Join(d, f), string(b))
		}
		editFile(e, filepath.Join(d, "sleeper.yaml"), `"86400"`, `"86401"`)
		editFile(e, filepath.Join(d, "workers.yaml"), `"--stdout-rate", "1"`, `"--stdout-rate", "2"`)
		editFile(e, filepath.Join(d, "workers.yaml"), "replicas: 3", "replicas: 4")
	}},
	// docs/cli.md, `rollout restart`: a file it refuses to edit, and a
	// git-sync checkout reached through a symlink.
	{cmd: "proclet rollout restart web --manifests manifests", output: "anchor", env: func(e *docEnv, r *docRun) {
		r.dir = e.t.TempDir()
		writeFile(e.t, filepath.Join(r.dir, "manifests", "web.yaml"), "apiVersion: proclet.dev/v1alpha1\nkind: App\nmetadata: &m\n  name: web\nspec:\n  command: [sleep, \"1\"]\n")
	}},
	{cmd: "proclet rollout restart web --manifests /srv/git/current", output: "symlink", env: func(e *docEnv, r *docRun) {
		git := filepath.Join(e.t.TempDir(), "srv", "git")
		writeFile(e.t, filepath.Join(git, "rev1", "web.yaml"), "apiVersion: proclet.dev/v1alpha1\nkind: App\nmetadata:\n  name: web\nspec:\n  command: [sleep, \"1\"]\n")
		if err := os.Symlink("rev1", filepath.Join(git, "current")); err != nil {
			e.t.Fatal(err)
		}
		r.subst["/srv/git"] = git
	}},
	{cmd: "proclet rollout status web --revision 70a37e50f7", progress: true},
	// docs/cli.md, `validate`.
	{cmd: "proclet validate manifests/ extra/db.yaml", output: "problem(s)", env: func(e *docEnv, r *docRun) {
		r.dir = e.t.TempDir()
		writeFile(e.t, filepath.Join(r.dir, "manifests", "a.yaml"), `apiVersion: proclet.dev/v1alpha1
kind: App
metadata: {name: a}
spec:
  replicas: "three"
  command: [sleep, "1"]
  dependsOn: [{app: b}]
  restartPolicy: Sometimes
---
apiVersion: proclet.dev/v1alpha1
kind: App
metadata: {name: b}
spec:
  command: [sleep, "1"]
  dependsOn: [{app: a}]
`)
		writeFile(e.t, filepath.Join(r.dir, "extra", "db.yaml"), `apiVersion: proclet.dev/v1alpha1
kind: App
metadata: {name: db}
spec:
  comand: [sleep, "1"]
---
apiVersion: proclet.dev/v1alpha1
kind: App
metadata:
  name: a
spec:
  command: [sleep, "1"]
`)
	}},
}

// keyedServer points the example at a daemon with --api-key-file.
func keyedServer(e *docEnv, r *docRun) {
	if e.keyed == nil {
		keys := filepath.Join(e.t.TempDir(), "keys")
		writeFile(e.t, keys, "e2e-docs-key\n")
		e.keyed = startDaemon(e.t, e.t.TempDir(), "--api-key-file", keys)
	}
	r.server = e.keyed.base
}

func editFile(e *docEnv, path, old, new string) {
	b, err := os.ReadFile(path)
	if err != nil {
		e.t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		e.t.Fatalf("%s has no %q", path, old)
	}
	writeFile(e.t, path, strings.Replace(string(b), old, new, 1))
}

// waitManifests waits until the daemon has read its folder as it is now
// and reports n files with a problem.
func waitManifests(e *docEnv, n int) {
	want, err := filepath.Glob(filepath.Join(e.root, "manifests", "*.yaml"))
	if err != nil {
		e.t.Fatal(err)
	}
	eventually(e.t, 10*time.Second, "the daemon read the manifests", func() bool {
		var l struct {
			Items []struct {
				Path  string `json:"path"`
				Error any    `json:"error"`
			} `json:"items"`
		}
		if code, err := e.d.getJSON("/api/v1/manifests", &l); code != 200 || err != nil || len(l.Items) != len(want) {
			return false
		}
		bad := 0
		for _, i := range l.Items {
			if i.Error != nil {
				bad++
			}
		}
		return bad == n
	})
}
