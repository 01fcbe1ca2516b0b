package watchers

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// editFiles is one random step of a directory: each file is left as it
// was (the same fileRead, its decoded apps the same slice, as the decode
// cache hands them), rewritten with other apps, broken, emptied, removed,
// or a new file comes. Names come from a small set, so files keep
// defining the same names (duplicates that appear and disappear).
func editFiles(rng *rand.Rand, files []fileRead, step int) []fileRead {
	paths := []string{"a.yaml", "b.yaml", "c/d.yaml", "c/e.yaml", "f.yaml", "g.yaml"}
	names := []string{"api", "db", "web", "cache", "queue", "mail", "auth", "cron"}
	by := map[string]fileRead{}
	for _, f := range files {
		by[f.path] = f
	}
	edits := 1 + rng.IntN(2)
	if rng.IntN(8) == 0 {
		edits = len(paths) // now and then, many at once
	}
	for range edits {
		p := paths[rng.IntN(len(paths))]
		switch k := rng.IntN(10); {
		case k < 5:
			var apps []v1alpha1.App
			for range rng.IntN(4) {
				apps = append(apps, app(names[rng.IntN(len(names))], fmt.Sprintf("%s-%d", p, step)))
			}
			by[p] = fileRead{path: p, apps: apps, hash: fmt.Sprintf("%s-%d", p, step)}
		case k < 7:
			by[p] = fileRead{path: p, errs: v1alpha1.ErrorList{{File: p, Reason: v1alpha1.ReasonInvalid, Message: fmt.Sprint("boom ", rng.IntN(2))}}}
		case k < 8:
			by[p] = fileRead{path: p, empty: true, hash: "empty"}
		default:
			delete(by, p)
		}
	}
	out := make([]fileRead, 0, len(by))
	for _, f := range by {
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b fileRead) int {
		if a.path < b.path {
			return -1
		}
		return 1
	})
	return out
}

// The incremental assembly is the full one: over random sequences of
// edits (duplicates across files that come and go, owners that keep or
// lose a name, broken and emptied files keeping their last good apps,
// files removed), reassemble from the last assembly gives the snapshot
// and the owners that assemble gives from the same previous state, and it
// does take its own path (not the fallback) in most steps.
func TestReassemble_SameAsAssemble(t *testing.T) {
	incremental := 0
	for seed := range uint64(300) {
		rng := rand.New(rand.NewPCG(seed, 7))
		var files []fileRead
		var inc, full state
		for step := range 30 {
			files = editFiles(rng, files, step)
			wantApps, wantFiles, nextFull := assemble(files, full, dirOf)
			apps, statuses, nextInc, ok := reassemble(files, inc, dirOf)
			if !ok {
				apps, statuses, nextInc = assemble(files, inc, dirOf)
			} else {
				incremental++
			}
			if !reflect.DeepEqual(apps, wantApps) || !reflect.DeepEqual(statuses, wantFiles) {
				ga, gf := summarize(apps, statuses)
				wa, wf := summarize(wantApps, wantFiles)
				t.Fatalf("seed %d step %d: incremental\n  apps %q\n  files %q\nwant\n  apps %q\n  files %q\n(errors %v / %v)",
					seed, step, ga, gf, wa, wf, errorsOf(statuses), errorsOf(wantFiles))
			}
			for _, a := range wantApps {
				o1, _ := nextInc.ownerOf(a.App.Metadata.Name)
				o2, _ := nextFull.ownerOf(a.App.Metadata.Name)
				if o1 != o2 {
					t.Fatalf("seed %d step %d: owner of %s %q, want %q", seed, step, a.App.Metadata.Name, o1, o2)
				}
			}
			if !reflect.DeepEqual(nextInc.good, nextFull.good) {
				t.Fatalf("seed %d step %d: last good %v, want %v", seed, step, nextInc.good, nextFull.good)
			}
			inc, full = nextInc, nextFull
		}
	}
	if incremental < 300*30/2 {
		t.Fatalf("the incremental path ran in %d steps of %d", incremental, 300*30)
	}
}

func errorsOf(files []v1alpha1.FileStatus) []string {
	var out []string
	for _, f := range files {
		if f.Error != nil {
			out = append(out, f.Error.Error())
		}
	}
	return out
}

// Nothing changed: the last assembly's very slices and state.
func TestReassemble_UnchangedIsTheLastAssembly(t *testing.T) {
	files := []fileRead{good("a.yaml", app("web", "a")), bad("b.yaml")}
	apps, statuses, st := assemble(files, state{}, dirOf)
	again, againFiles, next, ok := reassemble(files, st, dirOf)
	if !ok || next.asm != st.asm || !sameSlice(again, apps) || !sameSlice(againFiles, statuses) {
		t.Fatalf("ok %v, same assembly %v", ok, next.asm == st.asm)
	}
}

// A conflict across files that appears and goes when one file changes,
// through the reader, beside a large file that does not change: its apps
// are the last snapshot's values, and the loser's DuplicateName comes and
// goes with the other file's definition.
func TestScan_DuplicateComesAndGoesBesideUnchangedFiles(t *testing.T) {
	dir := t.TempDir()
	var big string
	for i := range 50 {
		big += "---\n" + manifest(fmt.Sprintf("big%02d", i), "big")
	}
	writeFile(t, filepath.Join(dir, "big.yaml"), big)
	writeFile(t, filepath.Join(dir, "a.yaml"), manifest("web", "from-a"))
	r := newReader(dir, v1alpha1.DecodeFile)
	r.now = func() time.Time { return time.Now().Add(time.Hour) }
	scan := func() v1alpha1.Snapshot {
		t.Helper()
		s := r.read(t.Context(), time.Now())
		if s.err != nil {
			t.Fatal(s.err)
		}
		return r.commit(s)
	}
	first := scan()
	check := func(snap v1alpha1.Snapshot, webFrom, dupOn string) {
		t.Helper()
		web := slices.IndexFunc(snap.Apps, func(sa v1alpha1.SourcedApp) bool { return sa.App.Metadata.Name == "web" })
		if web < 0 || snap.Apps[web].Path != webFrom {
			t.Fatalf("web not from %s: %s", webFrom, describe(snap))
		}
		for _, f := range snap.Files {
			dup := f.Error != nil && f.Error.Reason == v1alpha1.ReasonDuplicateName
			if dup != (f.Path == dupOn) {
				t.Fatalf("%s error %v (want a DuplicateName on %q)", f.Path, f.Error, dupOn)
			}
		}
		big := slices.IndexFunc(snap.Apps, func(sa v1alpha1.SourcedApp) bool { return sa.App.Metadata.Name == "big00" })
		if big < 0 || !sameValue(&snap.Apps[big], &first.Apps[slices.IndexFunc(first.Apps, func(sa v1alpha1.SourcedApp) bool {
			return sa.App.Metadata.Name == "big00"
		})]) {
			t.Fatalf("an app of the unchanged file is not the last snapshot's value")
		}
	}
	check(first, "a.yaml", "")
	writeFile(t, filepath.Join(dir, "b.yaml"), manifest("web", "from-b")+"---\n"+manifest("db", "db"))
	check(scan(), "a.yaml", "b.yaml") // a.yaml had it first
	writeFile(t, filepath.Join(dir, "a.yaml"), manifest("api", "api"))
	check(scan(), "b.yaml", "") // a.yaml gave it up: b.yaml's now, without an error
	writeFile(t, filepath.Join(dir, "a.yaml"), manifest("web", "back-in-a"))
	check(scan(), "b.yaml", "a.yaml") // the owner keeps it
	if err := os.Remove(filepath.Join(dir, "b.yaml")); err != nil {
		t.Fatal(err)
	}
	check(scan(), "a.yaml", "")
}

// sameValue reports whether *a and *b are the same value, sharing its
// command (the decoded app itself, not a copy decoded again).
func sameValue(a, b *v1alpha1.SourcedApp) bool {
	return reflect.DeepEqual(a, b) && a.Path == b.Path && sameSlice(a.App.Spec.Command, b.App.Spec.Command)
}

func TestRemoves(t *testing.T) {
	apps := func(names ...string) []v1alpha1.SourcedApp {
		out := []v1alpha1.SourcedApp{}
		for _, n := range names {
			out = append(out, v1alpha1.SourcedApp{App: app(n, "x")})
		}
		return out
	}
	last := apps("api", "db", "web")
	for _, tc := range []struct {
		emitted, now []v1alpha1.SourcedApp
		want         bool
	}{
		{nil, apps("api"), false},
		{last, last, false},
		{last, apps("api", "db", "web"), false},
		{last, apps("api", "cache", "db", "web", "x"), false},
		{last, apps("api", "web"), true},
		{last, apps("db", "web"), true},
		{last, apps("api", "db"), true},
		{last, apps("api", "cache", "web"), true},
		{last, apps(), true},
	} {
		if got := removes(tc.emitted, v1alpha1.Snapshot{Apps: tc.now}); got != tc.want {
			t.Errorf("removes(%d apps, %d apps) = %v, want %v", len(tc.emitted), len(tc.now), got, tc.want)
		}
	}
}
