package watchers

import (
	"path/filepath"
	"slices"
	"testing"

	"proclet.dev/proclet/apis/v1alpha1"
)

// TRAP 4 across a daemon restart: the file that held a name before keeps
// it on the first scan (Options.Owners), not the first by path; an owner
// that no longer defines the name gives way to the usual rule.
func TestDir_PriorOwnerKeepsTheName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, owner, winner, loser string
	}{
		{"the owner still defines it", "b.yaml", "b.yaml", "a.yaml"},
		{"the owner is gone", "gone.yaml", "a.yaml", "b.yaml"},
		{"no owner saved", "", "a.yaml", "b.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			writeFile(t, filepath.Join(root, "a.yaml"), manifest("web", "from-a"))
			writeFile(t, filepath.Join(root, "b.yaml"), manifest("web", "from-b"))
			opts := Options{Root: root}
			if tc.owner != "" {
				opts.Owners = map[string]string{"web": tc.owner, "other": "b.yaml"}
			}
			_, sink := startDir(t, opts, nil)
			snap := sink.waitSnap(t, "web", hasApps("web"))
			if got := snap.Apps[0].Path; len(snap.Apps) != 1 || got != tc.winner {
				t.Fatalf("web from %s, want %s: %s", got, tc.winner, describe(snap))
			}
			f, _ := fileStatus(snap, tc.loser)
			if f.Error == nil || f.Error.Reason != v1alpha1.ReasonDuplicateName {
				t.Fatalf("%s error = %v, want DuplicateName", tc.loser, f.Error)
			}
		})
	}
}

// The assemble rule the first scan applies to a restored owner.
func TestAssemble_PriorOwner(t *testing.T) {
	files := []fileRead{good("a.yaml", app("web", "a")), good("b.yaml", app("web", "b"), app("db", "d"))}
	apps, statuses, next := assemble(files, state{owner: map[string]string{"web": "b.yaml", "db": "a.yaml"}}, dirOf)
	as, fs := summarize(apps, statuses)
	if want := []string{"db@b.yaml:d", "web@b.yaml:b"}; !slices.Equal(as, want) {
		t.Fatalf("apps %v, want %v", as, want)
	}
	if want := []string{"a.yaml[web]!DuplicateName", "b.yaml[web,db]"}; !slices.Equal(fs, want) {
		t.Fatalf("files %v, want %v", fs, want)
	}
	web, _ := next.ownerOf("web")
	db, _ := next.ownerOf("db")
	if web != "b.yaml" || db != "b.yaml" {
		t.Fatalf("next owners: web %q, db %q", web, db)
	}
}
