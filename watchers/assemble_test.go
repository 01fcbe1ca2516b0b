package watchers

import (
	"path"
	"slices"
	"testing"

	"proclet.dev/proclet/apis/v1alpha1"
)

func app(name, cmd string) v1alpha1.App {
	return v1alpha1.App{APIVersion: v1alpha1.GroupVersion, Kind: v1alpha1.KindApp,
		Metadata: v1alpha1.ObjectMeta{Name: name}, Spec: v1alpha1.AppSpec{Command: []string{cmd}}}
}

func good(p string, apps ...v1alpha1.App) fileRead {
	return fileRead{path: p, apps: apps, hash: "h-" + p}
}

func bad(p string) fileRead {
	return fileRead{path: p, errs: v1alpha1.ErrorList{{File: p, Line: 3, Reason: v1alpha1.ReasonInvalid, Message: "boom"}}}
}

func dirOf(rel string) string { return path.Join("/root", path.Dir(rel)) }

// summarize is "name@path:cmd" per app, and "path[objects]!reason" per file.
func summarize(apps []v1alpha1.SourcedApp, files []v1alpha1.FileStatus) (as, fs []string) {
	for _, a := range apps {
		as = append(as, a.App.Metadata.Name+"@"+a.Path+":"+a.App.Spec.Command[0])
	}
	for _, f := range files {
		s := f.Path + "["
		for i, o := range f.Objects {
			if i > 0 {
				s += ","
			}
			s += o
		}
		s += "]"
		if f.Error != nil {
			s += "!" + f.Error.Reason
		}
		fs = append(fs, s)
	}
	return as, fs
}

func TestAssemble(t *testing.T) {
	tests := []struct {
		name      string
		prev      []fileRead // a previous scan, assembled first (nil: cold start)
		files     []fileRead
		wantApps  []string
		wantFiles []string
	}{
		{
			name:      "apps sorted by name, files by path",
			files:     []fileRead{good("a.yaml", app("web", "w")), good("b/c.yaml", app("db", "d"), app("api", "a"))},
			wantApps:  []string{"api@b/c.yaml:a", "db@b/c.yaml:d", "web@a.yaml:w"},
			wantFiles: []string{"a.yaml[web]", "b/c.yaml[db,api]"},
		},
		{
			name:      "a broken file on a cold start contributes nothing",
			files:     []fileRead{bad("a.yaml")},
			wantFiles: []string{"a.yaml[]!Invalid"},
		},
		{
			name:      "a broken file keeps its last good apps",
			prev:      []fileRead{good("a.yaml", app("web", "v1"), app("db", "d"))},
			files:     []fileRead{bad("a.yaml")},
			wantApps:  []string{"db@a.yaml:d", "web@a.yaml:v1"},
			wantFiles: []string{"a.yaml[web,db]!Invalid"},
		},
		{
			name:      "fixing the file applies the fix",
			prev:      []fileRead{good("a.yaml", app("web", "v1"))},
			files:     []fileRead{good("a.yaml", app("web", "v2"))},
			wantApps:  []string{"web@a.yaml:v2"},
			wantFiles: []string{"a.yaml[web]"},
		},
		{
			name:      "an empty file that had apps is a write in progress",
			prev:      []fileRead{good("a.yaml", app("web", "v1"))},
			files:     []fileRead{{path: "a.yaml", empty: true}},
			wantApps:  []string{"web@a.yaml:v1"},
			wantFiles: []string{"a.yaml[web]!Invalid"},
		},
		{
			name:      "an empty file on a cold start is just empty",
			files:     []fileRead{{path: "a.yaml", empty: true}},
			wantFiles: []string{"a.yaml[]"},
		},
		{
			name:      "a deleted file takes its apps (and its last good) away",
			prev:      []fileRead{good("a.yaml", app("web", "v1")), good("b.yaml", app("db", "d"))},
			files:     []fileRead{good("b.yaml", app("db", "d"))},
			wantApps:  []string{"db@b.yaml:d"},
			wantFiles: []string{"b.yaml[db]"},
		},
		{
			name:      "duplicate on a cold start: the first path wins, the other objects of the loser apply",
			files:     []fileRead{good("a.yaml", app("web", "a")), good("b.yaml", app("web", "b"), app("db", "d"))},
			wantApps:  []string{"db@b.yaml:d", "web@a.yaml:a"},
			wantFiles: []string{"a.yaml[web]", "b.yaml[web,db]!DuplicateName"},
		},
		{
			name:      "duplicate: the file that already provided the name keeps it",
			prev:      []fileRead{good("b.yaml", app("web", "b"))},
			files:     []fileRead{good("a.yaml", app("web", "a")), good("b.yaml", app("web", "b"))},
			wantApps:  []string{"web@b.yaml:b"},
			wantFiles: []string{"a.yaml[web]!DuplicateName", "b.yaml[web]"},
		},
		{
			name:      "duplicate: a broken owner keeps the name with its last good version",
			prev:      []fileRead{good("b.yaml", app("web", "b"))},
			files:     []fileRead{good("a.yaml", app("web", "a")), bad("b.yaml")},
			wantApps:  []string{"web@b.yaml:b"},
			wantFiles: []string{"a.yaml[web]!DuplicateName", "b.yaml[web]!Invalid"},
		},
		{
			name:      "duplicate within one file: the first object wins",
			files:     []fileRead{good("a.yaml", app("web", "1"), app("web", "2"))},
			wantApps:  []string{"web@a.yaml:1"},
			wantFiles: []string{"a.yaml[web]!DuplicateName"},
		},
		{
			name:      "the owner gone, the next file by path takes the name",
			prev:      []fileRead{good("a.yaml", app("web", "a")), good("b.yaml", app("web", "b")), good("c.yaml", app("web", "c"))},
			files:     []fileRead{good("b.yaml", app("web", "b")), good("c.yaml", app("web", "c"))},
			wantApps:  []string{"web@b.yaml:b"},
			wantFiles: []string{"b.yaml[web]", "c.yaml[web]!DuplicateName"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var st state
			if tt.prev != nil {
				_, _, st = assemble(tt.prev, state{}, dirOf)
			}
			apps, files, _ := assemble(tt.files, st, dirOf)
			gotApps, gotFiles := summarize(apps, files)
			if !slices.Equal(gotApps, tt.wantApps) {
				t.Errorf("apps = %q, want %q", gotApps, tt.wantApps)
			}
			if !slices.Equal(gotFiles, tt.wantFiles) {
				t.Errorf("files = %q, want %q", gotFiles, tt.wantFiles)
			}
		})
	}
}

func TestAssemble_DuplicateMessageAndDir(t *testing.T) {
	apps, files, _ := assemble([]fileRead{good("a.yaml", app("web", "a")), good("sub/b.yaml", app("web", "b"), app("db", "d"))}, state{}, dirOf)
	e := files[1].Error
	if e == nil || e.Error() != `sub/b.yaml: metadata.name: app "web" is already defined in a.yaml` {
		t.Fatalf("loser error = %v", e)
	}
	if got, want := apps[0].Dir, "/root/sub"; apps[0].App.Metadata.Name != "db" || got != want {
		t.Fatalf("db Dir = %q, want %q", got, want)
	}
	if got, want := apps[1].Dir, "/root"; got != want {
		t.Fatalf("web Dir = %q, want %q", got, want)
	}
}

// The owner holds across any number of scans: no flapping.
func TestAssemble_NoFlapping(t *testing.T) {
	files := []fileRead{good("a.yaml", app("web", "a")), good("b.yaml", app("web", "b"))}
	_, _, st := assemble([]fileRead{good("b.yaml", app("web", "b"))}, state{}, dirOf)
	for i := range 5 {
		var apps []v1alpha1.SourcedApp
		apps, _, st = assemble(files, st, dirOf)
		if apps[0].Path != "b.yaml" {
			t.Fatalf("scan %d: web from %s, want b.yaml", i, apps[0].Path)
		}
	}
}

func TestSummaryAndErrorList(t *testing.T) {
	list := v1alpha1.ErrorList{
		{File: "a.yaml", Line: 2, Field: "spec.command", Reason: v1alpha1.ReasonInvalid, Message: "required"},
		{File: "a.yaml", Line: 9, Reason: v1alpha1.ReasonInvalid, Message: "x"},
	}
	if got, want := summary(list).Error(), "a.yaml:2: spec.command: required (and 1 more)"; got != want {
		t.Fatalf("summary = %q, want %q", got, want)
	}
	if list[0].Message != "required" {
		t.Fatal("summary changed the decoder's error")
	}
	got := asErrorList("b.yaml", errString("plain"))
	if len(got) != 1 || got[0].File != "b.yaml" || got[0].Reason != v1alpha1.ReasonInvalid || got[0].Message != "plain" {
		t.Fatalf("asErrorList(plain) = %+v", got[0])
	}
	got = asErrorList("b.yaml", &v1alpha1.FileError{Message: "one"})
	if len(got) != 1 || got[0].File != "b.yaml" || got[0].Reason != v1alpha1.ReasonInvalid {
		t.Fatalf("asErrorList(*FileError) = %+v", got[0])
	}
}

type errString string

func (e errString) Error() string { return string(e) }

// Names are unique across the kinds: a Job named as an App of another
// file loses as an App would, and the message says both kinds.
func TestAssemble_DuplicateAcrossKinds(t *testing.T) {
	job := (&v1alpha1.Job{APIVersion: v1alpha1.GroupVersion, Kind: v1alpha1.KindJob, Metadata: v1alpha1.ObjectMeta{Name: "web"},
		Spec: v1alpha1.JobSpec{Command: []string{"./migrate"}}}).Carrier()
	apps, files, _ := assemble([]fileRead{good("a.yaml", app("web", "a")), good("b.yaml", job)}, state{}, dirOf)
	e := files[1].Error
	if e == nil || e.Reason != v1alpha1.ReasonDuplicateName ||
		e.Error() != `b.yaml: metadata.name: job "web" is already defined in a.yaml (as an app)` {
		t.Fatalf("loser error = %v", e)
	}
	if len(apps) != 1 || !apps[0].App.IsApp() || !slices.Equal(files[1].Objects, []string{"web"}) {
		t.Fatalf("apps = %+v, files = %+v", apps, files)
	}
}
