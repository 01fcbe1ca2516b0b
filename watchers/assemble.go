package watchers

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"proclet.dev/proclet/apis/v1alpha1"
)

// fileRead is one manifest file as read and decoded.
type fileRead struct {
	path  string             // relative, slash-separated
	apps  []v1alpha1.App     // decoded; ignored when errs is set
	errs  v1alpha1.ErrorList // why the file does not apply, if it does not
	empty bool               // the file had no bytes at all
	hash  string             // of the content; "" when unreadable
}

// state is what a scan carries to the next one. It changes only when a
// snapshot is emitted, so a held-back scan leaves no trace.
type state struct {
	good map[string][]v1alpha1.App // path -> the apps of its last good version
	// owner is, per app name, the path that provided it in the last
	// snapshot, before any assembly (Options.Owners); once asm is set, the
	// owner is the path of the name's app in asm.apps (ownerOf).
	owner    map[string]string
	asm      *assembly       // the last assembly; nil before the first
	dirLinks map[string]bool // the folder links of the last snapshot
}

// ownerOf is the path that provided name in the last snapshot.
func (s state) ownerOf(name string) (string, bool) {
	if s.asm == nil {
		p, ok := s.owner[name]
		return p, ok
	}
	if a := s.asm.app(name); a != nil {
		return a.Path, true
	}
	return "", false
}

// assembly is what one assembly made: the snapshot's apps and files, and
// what each file contributed, kept so that the next one redoes only what
// changed (reassemble). It is never modified once made.
type assembly struct {
	apps     []v1alpha1.SourcedApp // by name: the snapshot's
	statuses []v1alpha1.FileStatus // by path: the snapshot's
	files    []*fileAsm            // parallel to statuses
}

// app is the app named name in a.apps, nil if none.
func (a *assembly) app(name string) *v1alpha1.SourcedApp {
	i, ok := slices.BinarySearchFunc(a.apps, name, func(sa v1alpha1.SourcedApp, n string) int {
		return strings.Compare(sa.App.Metadata.Name, n)
	})
	if !ok {
		return nil
	}
	return &a.apps[i]
}

// fileAsm is what one file contributed to an assembly.
type fileAsm struct {
	path string
	apps []v1alpha1.App // its own, or its last good ones; nil: none
	own  *v1alpha1.FileError
	// status is the file's FileStatus in the assembly: its Objects are
	// shared by every assembly with the same apps.
	status v1alpha1.FileStatus
	first  map[string]int // name -> its first app of that name; built when first asked (index)
}

// contribution is the apps a file read contributes (its own, or its last
// good ones when it fails) and its own problem.
func contribution(f *fileRead, good map[string][]v1alpha1.App) ([]v1alpha1.App, *v1alpha1.FileError) {
	apps, errs := f.apps, f.errs
	if len(errs) == 0 && f.empty && len(good[f.path]) > 0 {
		errs = v1alpha1.ErrorList{{File: f.path, Reason: v1alpha1.ReasonInvalid,
			Message: "file is empty (a write in progress?); keeping its last good version"}}
	}
	if len(errs) > 0 {
		return good[f.path], summary(errs)
	}
	return apps, nil
}

// newFileAsm is a file's part of an assembly, its status without a
// DuplicateName error.
func newFileAsm(path string, apps []v1alpha1.App, own *v1alpha1.FileError) *fileAsm {
	return &fileAsm{path: path, apps: apps, own: own,
		status: v1alpha1.FileStatus{Path: path, Objects: objectsOf(apps), Error: own}}
}

// objectsOf lists the names of apps, once each, in order.
func objectsOf(apps []v1alpha1.App) []string {
	objects := []string{}
	var listed map[string]bool // for a file of many apps: slices.Contains would be quadratic
	if len(apps) > 16 {
		listed = make(map[string]bool, len(apps))
	}
	for _, a := range apps {
		name := a.Metadata.Name
		if listed != nil && !listed[name] || listed == nil && !slices.Contains(objects, name) {
			objects = append(objects, name)
			if listed != nil {
				listed[name] = true
			}
		}
	}
	return objects
}

// index is the position of the file's first app named name.
func (f *fileAsm) index(name string) (int, bool) {
	if f.first == nil {
		f.first = make(map[string]int, len(f.apps))
		for i := len(f.apps) - 1; i >= 0; i-- {
			f.first[f.apps[i].Metadata.Name] = i
		}
	}
	i, ok := f.first[name]
	return i, ok
}

// assemble turns the files read (sorted by path) and the previous state
// into a snapshot's apps and files, and the next state. It is pure.
//
//   - A file that fails contributes its last good apps, if it had any, and
//     carries the error. An empty file (0 bytes) that had apps is a write in
//     progress (O_TRUNC, then write): it fails the same way.
//   - An app name defined twice goes to the file that provided it in the
//     previous snapshot, else to the first by path (and by position in a
//     file). Only the losing object is dropped; its file carries a
//     DuplicateName error unless it already has one.
//
// dir gives a SourcedApp.Dir from its path. reassemble gives the same
// from the last assembly, redoing only what the changed files touch.
func assemble(files []fileRead, prev state, dir func(rel string) string) ([]v1alpha1.SourcedApp, []v1alpha1.FileStatus, state) {
	next := state{good: map[string][]v1alpha1.App{}}
	asm := &assembly{statuses: make([]v1alpha1.FileStatus, len(files)), files: make([]*fileAsm, len(files))}
	type candidate struct{ file, pos int }
	byName := map[string][]candidate{}
	for i := range files {
		apps, own := contribution(&files[i], prev.good)
		fa := newFileAsm(files[i].path, apps, own)
		asm.files[i], asm.statuses[i] = fa, fa.status
		if apps != nil {
			next.good[fa.path] = apps
		}
		for p := range apps {
			name := apps[p].Metadata.Name
			byName[name] = append(byName[name], candidate{file: i, pos: p})
		}
	}
	names := make([]string, 0, len(byName))
	for name := range byName {
		names = append(names, name)
	}
	slices.Sort(names)
	asm.apps = make([]v1alpha1.SourcedApp, 0, len(names))
	for _, name := range names {
		cands := byName[name]
		win := 0
		if owner, ok := prev.ownerOf(name); ok {
			if i := slices.IndexFunc(cands, func(c candidate) bool { return files[c.file].path == owner }); i >= 0 {
				win = i
			}
		}
		w := cands[win]
		wa := &asm.files[w.file].apps[w.pos]
		path := files[w.file].path
		asm.apps = append(asm.apps, v1alpha1.SourcedApp{App: *wa, Path: path, Dir: dir(path)})
		for i, c := range cands {
			if st := &asm.statuses[c.file]; i != win && st.Error == nil {
				st.Error = &v1alpha1.FileError{File: st.Path, Field: "metadata.name", Reason: v1alpha1.ReasonDuplicateName,
					Message: v1alpha1.DuplicateNameMessage(&asm.files[c.file].apps[c.pos], wa, path)}
			}
		}
	}
	for i, fa := range asm.files {
		fa.status = asm.statuses[i]
	}
	next.asm = asm
	return asm.apps, asm.statuses, next
}

// summary is the first problem of a file, saying how many more there are
// (`proclet validate` prints them all).
func summary(errs v1alpha1.ErrorList) *v1alpha1.FileError {
	e := *errs[0]
	if n := len(errs) - 1; n > 0 {
		e.Message += fmt.Sprintf(" (and %d more)", n)
	}
	return &e
}

// asErrorList turns a decoder's error into an ErrorList naming path.
func asErrorList(path string, err error) v1alpha1.ErrorList {
	var list v1alpha1.ErrorList
	var one *v1alpha1.FileError
	switch {
	case errors.As(err, &list) && len(list) > 0:
	case errors.As(err, &one):
		list = v1alpha1.ErrorList{one}
	default:
		return v1alpha1.ErrorList{{File: path, Reason: v1alpha1.ReasonInvalid, Message: err.Error()}}
	}
	out := make(v1alpha1.ErrorList, len(list))
	for i, e := range list {
		c := *e
		if c.File == "" {
			c.File = path
		}
		if c.Reason == "" {
			c.Reason = v1alpha1.ReasonInvalid
		}
		out[i] = &c
	}
	return out
}
