package watchers

import (
	"slices"
	"strings"

	"proclet.dev/proclet/apis/v1alpha1"
)

// reassemble is assemble from the last assembly (prev.asm): only the
// names the changed files define, or defined, are decided again, and only
// the files that changed or define such a name get a new status; every
// other app and file is the last assembly's (so a write beside thousands
// of unchanged apps costs work in proportion to the apps it touches, and
// a copy of the apps' slice). A file is unchanged when it contributes the
// same apps (the same slice: the decode cache's, or its last good one)
// with the same problem of its own. Its outcome is assemble's, the same
// snapshot and state; ok is false when it cannot tell (no last assembly,
// files out of order) or when so much changed that assemble is cheaper.
// When nothing changed, the apps and files are the last assembly's very
// slices, and next.asm is prev.asm.
func reassemble(files []fileRead, prev state, dir func(rel string) string) (apps []v1alpha1.SourcedApp, statuses []v1alpha1.FileStatus, next state, ok bool) {
	last := prev.asm
	if last == nil || !slices.IsSortedFunc(files, func(a, b fileRead) int { return strings.Compare(a.path, b.path) }) {
		return nil, nil, state{}, false
	}
	d := diffFiles(files, last, prev.good)
	next = state{good: d.good}
	if len(d.names) == 0 && !d.restated {
		next.asm = last
		return last.apps, last.statuses, next, true
	}
	// Deciding a name looks at every file: past a bound, assemble's one
	// pass over every app costs less.
	if len(d.names)*len(files) > 4*len(last.apps)+4096 {
		return nil, nil, state{}, false
	}
	names := make([]string, 0, len(d.names))
	for name := range d.names {
		names = append(names, name)
	}
	slices.Sort(names)
	asm := &assembly{files: d.files, statuses: make([]v1alpha1.FileStatus, len(files))}
	asm.apps = last.apps // only problems changed: the same apps
	if len(names) > 0 {
		asm.apps = mergeApps(last.apps, names, d.decide(names, prev, dir))
	}
	for i, fa := range asm.files {
		if !d.changed[i] && !fa.defines(d.names) {
			asm.statuses[i] = fa.status
			continue
		}
		st := fa.status
		st.Error = fa.own
		if st.Error == nil {
			st.Error = asm.duplicate(fa)
		}
		if st.Error != fa.status.Error {
			c := *fa
			c.status = st
			asm.files[i] = &c
		}
		asm.statuses[i] = st
	}
	next.asm = asm
	return asm.apps, asm.statuses, next, true
}

// fileDiff is how the files read differ from the last assembly's.
type fileDiff struct {
	files    []*fileAsm      // by path: the last assembly's for a file that contributes the same
	changed  []bool          // parallel to files: its apps or its own problem changed
	names    map[string]bool // the names a changed, new or gone file defines or defined
	restated bool            // a file changed, came or went
	good     map[string][]v1alpha1.App
}

func diffFiles(files []fileRead, last *assembly, good map[string][]v1alpha1.App) fileDiff {
	d := fileDiff{files: make([]*fileAsm, len(files)), changed: make([]bool, len(files)),
		names: map[string]bool{}, good: make(map[string][]v1alpha1.App, len(files))}
	gone := func(fa *fileAsm) {
		d.restated = true
		d.mark(fa.apps)
	}
	j := 0
	for i := range files {
		f := &files[i]
		for ; j < len(last.files) && last.files[j].path < f.path; j++ {
			gone(last.files[j])
		}
		var old *fileAsm
		if j < len(last.files) && last.files[j].path == f.path {
			old = last.files[j]
			j++
		}
		apps, own := contribution(f, good)
		if apps != nil {
			d.good[f.path] = apps
		}
		switch {
		case old != nil && sameSlice(apps, old.apps) && sameError(own, old.own):
			d.files[i] = old
			continue
		case old != nil && sameSlice(apps, old.apps):
			c := *old
			c.own = own
			d.files[i] = &c
		default:
			if old != nil {
				d.mark(old.apps)
			}
			d.mark(apps)
			d.files[i] = newFileAsm(f.path, apps, own)
		}
		d.changed[i], d.restated = true, true
	}
	for ; j < len(last.files); j++ {
		gone(last.files[j])
	}
	return d
}

func (d *fileDiff) mark(apps []v1alpha1.App) {
	for i := range apps {
		d.names[apps[i].Metadata.Name] = true
	}
}

// decide gives each of names (sorted) its app as assemble would: the
// first app of that name in the file that provided it in the last
// snapshot, if that file still defines it, else in the first file by
// path that does. A name no file defines any more is not in the result.
func (d *fileDiff) decide(names []string, prev state, dir func(rel string) string) map[string]v1alpha1.SourcedApp {
	won := make(map[string]v1alpha1.SourcedApp, len(names))
	for _, name := range names {
		owner, hasOwner := prev.ownerOf(name)
		var w *fileAsm
		wp := -1
		for _, fa := range d.files {
			p, ok := fa.index(name)
			if !ok {
				continue
			}
			if w == nil || hasOwner && fa.path == owner {
				w, wp = fa, p
			}
			if hasOwner && fa.path == owner {
				break
			}
		}
		if w != nil {
			won[name] = v1alpha1.SourcedApp{App: w.apps[wp], Path: w.path, Dir: dir(w.path)}
		}
	}
	return won
}

// mergeApps is last (sorted by name) with each of names (sorted) replaced
// by its app in won, or left out when won has none. The apps between two
// names are copied as one span: an element at a time costs a write
// barrier each while the collector marks.
func mergeApps(last []v1alpha1.SourcedApp, names []string, won map[string]v1alpha1.SourcedApp) []v1alpha1.SourcedApp {
	out := make([]v1alpha1.SourcedApp, 0, len(last)+len(won))
	i := 0
	for _, name := range names {
		j, found := slices.BinarySearchFunc(last[i:], name, func(sa v1alpha1.SourcedApp, n string) int {
			return strings.Compare(sa.App.Metadata.Name, n)
		})
		out = append(out, last[i:i+j]...)
		i += j
		if found {
			i++
		}
		if w, ok := won[name]; ok {
			out = append(out, w)
		}
	}
	return append(out, last[i:]...)
}

// defines reports whether the file defines any of names.
func (f *fileAsm) defines(names map[string]bool) bool {
	if len(names) < len(f.apps) {
		for name := range names {
			if _, ok := f.index(name); ok {
				return true
			}
		}
		return false
	}
	for i := range f.apps {
		if names[f.apps[i].Metadata.Name] {
			return true
		}
	}
	return false
}

// duplicate is the DuplicateName error of fa in the assembly, nil when
// each of its apps is the one of its name: for the first name (sorted)
// one of its apps loses, its first app of that name that loses, as
// assemble gives it. The assembly's apps must be decided.
func (a *assembly) duplicate(fa *fileAsm) *v1alpha1.FileError {
	var loser, winner *v1alpha1.App
	var path string
	for p := range fa.apps {
		name := fa.apps[p].Metadata.Name
		if loser != nil && name >= loser.Metadata.Name {
			continue
		}
		w := a.app(name)
		if first, _ := fa.index(name); w.Path == fa.path && first == p {
			continue
		}
		loser, winner, path = &fa.apps[p], &w.App, w.Path
	}
	if loser == nil {
		return nil
	}
	return &v1alpha1.FileError{File: fa.path, Field: "metadata.name", Reason: v1alpha1.ReasonDuplicateName,
		Message: v1alpha1.DuplicateNameMessage(loser, winner, path)}
}

// sameError reports whether two of a file's own problems are the same.
func sameError(a, b *v1alpha1.FileError) bool {
	return a == b || a != nil && b != nil && *a == *b
}
