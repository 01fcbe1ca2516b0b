package watchers

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// contentApp is a sourced app of dir reading the given files.
func contentApp(dir string, spec v1alpha1.AppSpec) v1alpha1.SourcedApp {
	if spec.Command == nil {
		spec.Command = []string{"/bin/true"}
	}
	return v1alpha1.SourcedApp{App: v1alpha1.App{APIVersion: v1alpha1.GroupVersion, Kind: v1alpha1.KindApp,
		Metadata: v1alpha1.ObjectMeta{Name: "api"}, Spec: spec}, Path: "api.yaml", Dir: dir}
}

func mtimeOf(t *testing.T, path string) time.Time {
	t.Helper()
	st, err := statFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return time.Unix(0, st.mtime)
}

func TestContentFileWaitsForTheQuietWindow(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "server")
	writeFile(t, p, "half a bin")
	fr := newFileReader(500 * time.Millisecond)
	changed := mtimeOf(t, p)

	_, err := fr.read(kindHash, p, changed.Add(499*time.Millisecond))
	var unsettled *unsettledError
	if !errors.As(err, &unsettled) || !unsettled.until.Equal(changed.Add(500*time.Millisecond)) {
		t.Fatalf("read within the window: %v, want unsettled until mtime+500ms", err)
	}
	first, err := fr.read(kindHash, p, changed.Add(500*time.Millisecond))
	if err != nil || first.digest == "" {
		t.Fatalf("read after the window: %+v %v", first, err)
	}

	// Appending (a copy still going on) is unsettled again, whatever the
	// cache held; once quiet, a new digest.
	f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(" and the rest")
	f.Close()
	changed = mtimeOf(t, p)
	if _, err := fr.read(kindHash, p, changed.Add(100*time.Millisecond)); !errors.As(err, &unsettled) {
		t.Fatalf("read during a copy: %v, want unsettled", err)
	}
	second, err := fr.read(kindHash, p, changed.Add(time.Second))
	if err != nil || second.digest == first.digest {
		t.Fatalf("after the copy: digest %s (was %s), %v", second.digest, first.digest, err)
	}
	// A file written long ago and renamed into place is taken at once,
	// though the rename is new (its ctime).
	old := filepath.Join(dir, ".server.new")
	writeFile(t, old, "v3, complete")
	long := time.Now().Add(-time.Hour)
	os.Chtimes(old, long, long)
	rename(t, old, p)
	if c, err := fr.read(kindHash, p, time.Now()); err != nil || c.digest == second.digest {
		t.Fatalf("renamed into place: %+v %v", c, err)
	}

	// A future mtime (a skewed clock) is taken once the same stat has
	// been seen for the window.
	future := time.Now().Add(time.Hour)
	writeFile(t, p, "v4")
	os.Chtimes(p, future, future)
	now := time.Now()
	if _, err := fr.read(kindHash, p, now); !errors.As(err, &unsettled) || !unsettled.until.Equal(now.Add(500*time.Millisecond)) {
		t.Fatalf("future mtime, first seen: %v", err)
	}
	if c, err := fr.read(kindHash, p, now.Add(500*time.Millisecond)); err != nil || c.digest == "" {
		t.Fatalf("future mtime, a window later: %+v %v", c, err)
	}
	writeFile(t, p, "v5")
	changed = mtimeOf(t, p)
	second, _ = fr.read(kindHash, p, changed.Add(time.Second))

	// An unchanged file is not read again: its cache entry serves, even
	// within a window after its ctime (it was read once already).
	if again, err := fr.read(kindHash, p, changed.Add(time.Millisecond)); err != nil || again.digest != second.digest {
		t.Fatalf("unchanged file: %+v %v", again, err)
	}
}

// resolveQuiet resolves snap with every file long quiet.
func resolveQuiet(c *contents, apps ...v1alpha1.SourcedApp) contentRound {
	return resolveSnap(c, v1alpha1.Snapshot{Apps: apps, Files: []v1alpha1.FileStatus{{Path: "api.yaml", Objects: []string{"api"}}}})
}

func resolveSnap(c *contents, snap v1alpha1.Snapshot) contentRound {
	r := c.resolve(snap, time.Now().Add(time.Hour))
	c.commit(r)
	return r
}

func TestContentOfAnApp(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, ".env"), "A=from-file\nB=2\n")
	writeFile(t, filepath.Join(dir, "extra.env"), "B=override\n")
	writeFile(t, filepath.Join(dir, "secrets/db"), "s3cr3t\n")
	writeFile(t, filepath.Join(dir, "config/app.conf"), "x=1\n")
	writeFile(t, filepath.Join(dir, "config/sub/more.conf"), "y=1\n")
	spec := v1alpha1.AppSpec{
		EnvFrom:         []v1alpha1.EnvFromSource{{File: ".env"}, {File: "extra.env"}, {File: "missing.env", Optional: true}},
		Env:             []v1alpha1.EnvVar{{Name: "PLAIN", Value: "x"}, {Name: "DB", ValueFrom: &v1alpha1.EnvVarSource{File: "secrets/db"}}},
		RolloutOnChange: &v1alpha1.RolloutOnChange{Paths: []string{"config"}},
	}
	c := newContents(time.Millisecond)
	app := contentApp(dir, spec)
	apps := []v1alpha1.SourcedApp{app}
	snap := v1alpha1.Snapshot{Apps: apps, Files: []v1alpha1.FileStatus{{Path: "api.yaml", Objects: []string{"api"}}}}
	r := resolveSnap(c, snap)
	if len(r.snap.Apps) != 1 || r.snap.Apps[0].Content == nil {
		t.Fatalf("no content: %+v", r.snap.Apps)
	}
	ct := r.snap.Apps[0].Content
	env := map[string]string{}
	for _, v := range ct.EnvFrom {
		env[v.Name] = v.Value.Reveal()
	}
	if env["A"] != "from-file" || env["B"] != "override" || ct.Values[1].Reveal() != "s3cr3t" {
		t.Errorf("values: envFrom %v, valueFrom %q", env, ct.Values[1].Reveal())
	}
	if len(ct.Sources) != 5 || ct.Sources[2].Digest != "absent" || ct.Sources[4].Field != "spec.rolloutOnChange.paths[0]" {
		t.Errorf("sources %+v", ct.Sources)
	}
	if _, ok := r.watch[filepath.Join(dir, "config", "sub")]; !ok {
		t.Errorf("config/sub not watched: %v", r.watch)
	}

	// The same snapshot again, files unchanged: the very same slices.
	again := resolveSnap(c, snap)
	if !sameSlice(again.snap.Apps, r.snap.Apps) || again.snap.Apps[0].Content != ct {
		t.Error("an unchanged round made new slices")
	}

	// A rotated secret, a file deep in a folder: each a new digest.
	digests := map[string]bool{ct.Digest: true}
	for _, f := range []string{"secrets/db", "config/sub/more.conf", ".env"} {
		writeAtomic(t, filepath.Join(dir, f), "changed=1\n")
		nr := resolveQuiet(c, apps...)
		d := nr.snap.Apps[0].Content.Digest
		if digests[d] {
			t.Errorf("changing %s left the digest at %s", f, d)
		}
		digests[d] = true
	}
}

func TestContentPathGoneKeepsTheLastGoodVersion(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "bin/server"), "v1")
	c := newContents(time.Millisecond)
	app := contentApp(dir, v1alpha1.AppSpec{Command: []string{"bin/server"}, RolloutOnChange: &v1alpha1.RolloutOnChange{Executable: true}})
	good := resolveQuiet(c, app).snap.Apps[0]
	if good.Content == nil || good.ContentError != nil || good.Content.Sources[0].Path != filepath.Join(dir, "bin/server") {
		t.Fatalf("first round: %+v", good)
	}
	os.Remove(filepath.Join(dir, "bin/server"))
	changed := app
	changed.App.Spec.Replicas = new(int32) // and the manifest changed too
	snap := v1alpha1.Snapshot{Apps: []v1alpha1.SourcedApp{changed}, Files: []v1alpha1.FileStatus{{Path: "api.yaml"}}}
	// Gone for less than the quiet window (an rm, then a copy): the last
	// good version, no problem yet.
	at := time.Now()
	r := c.resolve(snap, at)
	if k := r.snap.Apps[0]; k.Content != good.Content || k.ContentError != nil || !r.until.Equal(at.Add(time.Millisecond)) {
		t.Errorf("just gone: content %v error %v until %v", k.Content, k.ContentError, r.until)
	}
	c.commit(r)
	r = c.resolve(snap, at.Add(time.Millisecond))
	c.commit(r)
	kept := r.snap.Apps[0]
	if kept.Content != good.Content || kept.App.Spec.Replicas != nil {
		t.Errorf("a gone executable did not keep the last good version: %+v", kept)
	}
	if e := kept.ContentError; e == nil || e.Error() != "api.yaml: spec.rolloutOnChange.executable: "+filepath.Join(dir, "bin/server")+": no such file or directory" ||
		e.Reason != v1alpha1.ReasonContentUnavailable {
		t.Errorf("content error: %v", e)
	}

	// A new app whose file is missing is not there; its file says why.
	c2 := newContents(time.Millisecond)
	r = resolveQuiet(c2, contentApp(dir, v1alpha1.AppSpec{EnvFrom: []v1alpha1.EnvFromSource{{File: ".env"}}}))
	if len(r.snap.Apps) != 0 || r.snap.Files[0].Error == nil ||
		r.snap.Files[0].Error.Error() != "api.yaml: spec.envFrom[0].file: .env: no such file or directory" {
		t.Errorf("new app with a missing env file: apps %v, file %+v", r.snap.Apps, r.snap.Files[0].Error)
	}
}

func TestContentUnsettledKeepsTheLastVersion(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "bin/server"), "v1")
	c := newContents(500 * time.Millisecond)
	app := contentApp(dir, v1alpha1.AppSpec{Command: []string{"bin/server"}, RolloutOnChange: &v1alpha1.RolloutOnChange{Executable: true}})
	// The daemon's first round takes a file however new: leaving the app
	// out would stop the instances a restarted daemon adopted.
	first := c.resolve(v1alpha1.Snapshot{Apps: []v1alpha1.SourcedApp{app}}, mtimeOf(t, filepath.Join(dir, "bin/server")))
	if len(first.snap.Apps) != 1 || first.snap.Apps[0].Content == nil || !first.until.IsZero() {
		t.Fatalf("first round: %+v", first)
	}
	c.commit(first)
	good := first.snap.Apps[0]
	writeFile(t, filepath.Join(dir, "bin/server"), "v2 half")
	changed := mtimeOf(t, filepath.Join(dir, "bin/server"))
	snap := v1alpha1.Snapshot{Apps: []v1alpha1.SourcedApp{app}}
	r := c.resolve(snap, changed.Add(100*time.Millisecond))
	if r.snap.Apps[0].Content != good.Content || r.snap.Apps[0].ContentError != nil || !r.until.Equal(changed.Add(500*time.Millisecond)) {
		t.Errorf("within the window: content %v (want the last), error %v, until %v", r.snap.Apps[0].Content, r.snap.Apps[0].ContentError, r.until)
	}
	c.commit(r)
	r = c.resolve(snap, changed.Add(500*time.Millisecond))
	if r.snap.Apps[0].Content.Digest == good.Content.Digest || !r.until.IsZero() {
		t.Errorf("after the window: digest %s, until %v", r.snap.Apps[0].Content.Digest, r.until)
	}
}

func TestContentBounds(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "big.env"), "A="+strings.Repeat("x", v1alpha1.MaxEnvFileSize)+"\n")
	writeFile(t, filepath.Join(dir, "big-secret"), strings.Repeat("x", v1alpha1.MaxValueFileSize+1))
	writeFile(t, filepath.Join(dir, "ok-secret"), strings.Repeat("x", v1alpha1.MaxValueFileSize)+"\n")
	for i := range v1alpha1.MaxContentFiles + 1 {
		writeFile(t, filepath.Join(dir, "many", fmt.Sprintf("f%04d", i)), "")
	}
	deep := filepath.Join(dir, "deep")
	for range v1alpha1.MaxContentDepth + 1 {
		deep = filepath.Join(deep, "d")
	}
	writeFile(t, filepath.Join(deep, "f"), "")
	huge := filepath.Join(dir, "huge")
	f, _ := os.Create(huge)
	f.Truncate(v1alpha1.MaxContentFileSize + 1) // sparse: never read
	f.Close()
	tests := []struct {
		spec v1alpha1.AppSpec
		want string
	}{
		{v1alpha1.AppSpec{EnvFrom: []v1alpha1.EnvFromSource{{File: "big.env"}}}, "spec.envFrom[0].file: big.env: the file has 1048579 bytes, over the bound of 1048576"},
		{v1alpha1.AppSpec{Env: []v1alpha1.EnvVar{{Name: "S", ValueFrom: &v1alpha1.EnvVarSource{File: "big-secret"}}}}, "spec.env[0].valueFrom.file: big-secret: the value has 65537 bytes, over the bound of 65536"},
		{v1alpha1.AppSpec{RolloutOnChange: &v1alpha1.RolloutOnChange{Paths: []string{"many"}}}, "spec.rolloutOnChange.paths[0]: many: more than 1000 files and folders"},
		{v1alpha1.AppSpec{RolloutOnChange: &v1alpha1.RolloutOnChange{Paths: []string{"deep"}}}, "spec.rolloutOnChange.paths[0]: deep: d/d/d/d/d/d/d/d/d is more than 8 folders deep"},
		{v1alpha1.AppSpec{RolloutOnChange: &v1alpha1.RolloutOnChange{Paths: []string{"huge"}}}, "spec.rolloutOnChange.paths[0]: huge: the file has 1073741825 bytes, over the bound of 1073741824"},
		{v1alpha1.AppSpec{Env: []v1alpha1.EnvVar{{Name: "S", ValueFrom: &v1alpha1.EnvVarSource{File: "ok-secret"}}}}, ""},
	}
	for _, tt := range tests {
		r := resolveQuiet(newContents(time.Millisecond), contentApp(dir, tt.spec))
		got := ""
		if e := r.snap.Files[0].Error; e != nil {
			got = e.Error()
		}
		if tt.want == "" && got != "" || tt.want != "" && got != "api.yaml: "+tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

func TestDirRollsContentWhenAFileChanges(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "secret"), "one\n")
	writeFile(t, filepath.Join(root, "api.yaml"), manifest("api", "/bin/true")+
		"  env:\n    - name: S\n      valueFrom:\n        file: secret\n")
	_, sink := startDir(t, Options{Root: root, ContentQuiet: 50 * time.Millisecond}, nil)
	first := sink.waitSnap(t, "the app with its content", func(s v1alpha1.Snapshot) bool {
		return len(s.Apps) == 1 && s.Apps[0].Content != nil
	})
	writeAtomic(t, filepath.Join(root, "secret"), "two\n")
	sink.waitSnap(t, "the rotated secret", func(s v1alpha1.Snapshot) bool {
		return len(s.Apps) == 1 && s.Apps[0].Content != nil && s.Apps[0].Content.Digest != first.Apps[0].Content.Digest &&
			s.Apps[0].Content.Values[0].Reveal() == "two"
	})
}

// A file written in place is taken only once it has been quiet for the
// window, by a scan the loop schedules itself (no event follows the
// last write).
func TestDirTakesAWrittenFileOnceQuiet(t *testing.T) {
	root := t.TempDir()
	const quiet = 300 * time.Millisecond
	writeFile(t, filepath.Join(root, "bin/app"), "v1")
	old := time.Now().Add(-time.Hour)
	os.Chtimes(filepath.Join(root, "bin/app"), old, old)
	writeFile(t, filepath.Join(root, "api.yaml"), manifest("api", "bin/app")+"  rolloutOnChange: {executable: true}\n")
	_, sink := startDir(t, Options{Root: root, ContentQuiet: quiet}, nil)
	first := sink.waitSnap(t, "the app with its content", func(s v1alpha1.Snapshot) bool {
		return len(s.Apps) == 1 && s.Apps[0].Content != nil
	})
	writeFile(t, filepath.Join(root, "bin/app"), "v2, written in place")
	written := mtimeOf(t, filepath.Join(root, "bin/app"))
	got := sink.waitSnap(t, "the new binary", func(s v1alpha1.Snapshot) bool {
		return len(s.Apps) == 1 && s.Apps[0].Content.Digest != first.Apps[0].Content.Digest
	})
	if got.ReadAt.Before(written.Add(quiet)) {
		t.Errorf("taken at %v, %v after the write: within the quiet window", got.ReadAt, got.ReadAt.Sub(written))
	}
}

// A CronJob reads the files of its job template; a problem with one is at
// the template's field, as in its file.
func TestContentOfACronJobIsAtItsTemplatesFields(t *testing.T) {
	dir := t.TempDir()
	c := (&v1alpha1.CronJob{APIVersion: v1alpha1.GroupVersion, Kind: v1alpha1.KindCronJob, Metadata: v1alpha1.ObjectMeta{Name: "api"},
		Spec: v1alpha1.CronJobSpec{Schedule: "@hourly", JobTemplate: v1alpha1.JobTemplateSpec{Spec: v1alpha1.JobSpec{
			Command: []string{"/bin/true"}, EnvFrom: []v1alpha1.EnvFromSource{{File: ".env"}}}}}}).Carrier()
	r := resolveQuiet(newContents(time.Millisecond), v1alpha1.SourcedApp{App: c, Path: "api.yaml", Dir: dir})
	if len(r.snap.Apps) != 0 || r.snap.Files[0].Error == nil ||
		r.snap.Files[0].Error.Error() != "api.yaml: spec.jobTemplate.spec.envFrom[0].file: .env: no such file or directory" {
		t.Errorf("cronjob with a missing env file: apps %v, file %+v", r.snap.Apps, r.snap.Files[0].Error)
	}
}
