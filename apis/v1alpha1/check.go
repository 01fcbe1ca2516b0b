package v1alpha1

import (
	"fmt"
	"slices"
)

// FileCheck is everything CheckFile found in one file: what proclet
// validate reports. The daemon uses DecodeFile, which applies a file only
// when it has no problem at all.
type FileCheck struct {
	// Path is the file, as given to CheckFile.
	Path string
	// Apps are the file's objects that are Apps, as far as they could be
	// decoded, defaulted, in file order: a refused value is left unset.
	// With Errors they are for checks across files only and must never
	// run.
	Apps []App
	// Errors are every problem of the file, ordered by line.
	Errors ErrorList

	binders []*binder // one per app: its field lines
}

// CheckFile decodes and validates one file as DecodeFile does, but keeps
// going: a value of the wrong type is reported and the rest of the file
// is still validated, and the file's dependency cycles and duplicate names
// are checked even when its objects have other problems. Pass the result
// to CheckSet for what spans files.
func CheckFile(path string, data []byte) (c *FileCheck) {
	defer func() {
		if r := recover(); r != nil {
			c = &FileCheck{Path: path, Errors: ErrorList{{File: path, Reason: ReasonInvalid,
				Message: fmt.Sprintf("cannot decode: internal error: %v", r)}}}
		}
	}()
	return checkFile(path, data)
}

// line is the line of field in the i-th app, or 0.
func (c *FileCheck) line(i int, field string) int {
	if i < len(c.binders) {
		return c.binders[i].lineOf(field)
	}
	return 0
}

// CheckSet adds to files the problems across them, as the daemon would
// see the files together: a name already defined by an earlier file,
// whatever the kinds (DuplicateName; the first file keeps it), a
// dependency whose condition does not suit the kind of its target in
// another file (depends_kinds.go), and a dependency cycle through apps of
// more than one file (a cycle within one file is that file's already),
// reported at the dependsOn entry of its first app. Apps of files with
// problems take part, so a cycle shows at once, not only after the other
// problems are fixed. Each file's Errors stay ordered by line.
func CheckSet(files []*FileCheck) {
	type origin struct{ file, app int }
	owner := map[string]origin{}
	var all []App
	for fi, f := range files {
		for ai, a := range f.Apps {
			name := a.Metadata.Name
			if name == "" {
				continue
			}
			prev, ok := owner[name]
			switch {
			case ok && prev.file == fi: // reported by the file itself
			case ok:
				f.insert(&FileError{File: f.Path, Line: f.line(ai, "metadata.name"),
					Field: "metadata.name", Reason: ReasonDuplicateName,
					Message: DuplicateNameMessage(&f.Apps[ai], &files[prev.file].Apps[prev.app], files[prev.file].Path)})
			default:
				owner[name] = origin{fi, ai}
				all = append(all, a)
			}
		}
	}
	for fi, f := range files {
		for ai := range f.Apps {
			for _, e := range dependencyKindProblems(&f.Apps[ai], func(name string) *App {
				if o, ok := owner[name]; ok && o.file != fi { // in the same file: the file's own
					return &files[o.file].Apps[o.app]
				}
				return nil
			}) {
				e.File, e.Line = f.Path, f.line(ai, e.Field)
				f.insert(e)
			}
		}
	}
	for _, c := range DependencyCycles(all) {
		at := owner[c[0]]
		if oneFile(c, func(n string) int { return owner[n].file }) {
			continue
		}
		f := files[at.file]
		field := dependsOnField(&f.Apps[at.app], c[1])
		f.insert(&FileError{File: f.Path, Line: f.line(at.app, field), Field: field,
			Reason: ReasonInvalid, Message: cycleMessage(c)})
	}
}

// insert adds e to the file's errors in line order, after those of its
// line, and before the "and N more" of a capped list.
func (c *FileCheck) insert(e *FileError) {
	i := 0
	for i < len(c.Errors) && i < maxErrors && c.Errors[i].Line <= e.Line {
		i++
	}
	c.Errors = slices.Insert(c.Errors, i, e)
}

// oneFile reports whether every app of cycle c comes from one file.
func oneFile(c []string, fileOf func(string) int) bool {
	for _, n := range c[1:] {
		if fileOf(n) != fileOf(c[0]) {
			return false
		}
	}
	return true
}
