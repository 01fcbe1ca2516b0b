package watchers

import (
	"errors"
	"fmt"
	"slices"

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
	good     map[string][]v1alpha1.App // path -> the apps of its last good version
	owner    map[string]string         // app name -> the path that provided it in the last snapshot
	dirLinks map[string]bool           // the folder links of the last snapshot
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
// dir gives a SourcedApp.Dir from its path.
func assemble(files []fileRead, prev state, dir func(rel string) string) ([]v1alpha1.SourcedApp, []v1alpha1.FileStatus, state) {
	next := state{good: map[string][]v1alpha1.App{}, owner: map[string]string{}}
	type candidate struct {
		app  v1alpha1.App
		file int
	}
	byName := map[string][]candidate{}
	statuses := make([]v1alpha1.FileStatus, len(files))
	for i, f := range files {
		apps, errs := f.apps, f.errs
		if len(errs) == 0 && f.empty && len(prev.good[f.path]) > 0 {
			errs = v1alpha1.ErrorList{{File: f.path, Reason: v1alpha1.ReasonInvalid,
				Message: "file is empty (a write in progress?); keeping its last good version"}}
		}
		st := v1alpha1.FileStatus{Path: f.path, Objects: []string{}}
		if len(errs) > 0 {
			st.Error = summary(errs)
			apps = prev.good[f.path]
		}
		if apps != nil {
			next.good[f.path] = apps
		}
		var listed map[string]bool // for a file of many apps: slices.Contains would be quadratic
		if len(apps) > 16 {
			listed = make(map[string]bool, len(apps))
		}
		for _, a := range apps {
			name := a.Metadata.Name
			if listed != nil && !listed[name] || listed == nil && !slices.Contains(st.Objects, name) {
				st.Objects = append(st.Objects, name)
				if listed != nil {
					listed[name] = true
				}
			}
			byName[name] = append(byName[name], candidate{app: a, file: i})
		}
		statuses[i] = st
	}
	names := make([]string, 0, len(byName))
	for name := range byName {
		names = append(names, name)
	}
	slices.Sort(names)
	out := make([]v1alpha1.SourcedApp, 0, len(names))
	for _, name := range names {
		cands := byName[name]
		win := 0
		if owner, ok := prev.owner[name]; ok {
			if i := slices.IndexFunc(cands, func(c candidate) bool { return files[c.file].path == owner }); i >= 0 {
				win = i
			}
		}
		w := cands[win]
		path := files[w.file].path
		out = append(out, v1alpha1.SourcedApp{App: w.app, Path: path, Dir: dir(path)})
		next.owner[name] = path
		for i, c := range cands {
			if st := &statuses[c.file]; i != win && st.Error == nil {
				st.Error = &v1alpha1.FileError{File: st.Path, Field: "metadata.name", Reason: v1alpha1.ReasonDuplicateName,
					Message: v1alpha1.DuplicateNameMessage(&c.app, &w.app, path)}
			}
		}
	}
	return out, statuses, next
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
