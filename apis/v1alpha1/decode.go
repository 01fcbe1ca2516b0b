package v1alpha1

import (
	"bytes"
	"fmt"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// ErrorList is every problem found in one file; it is an error, and
// errors.Is(list, ErrInvalid) holds.
type ErrorList []*FileError

func (l ErrorList) Error() string {
	s := make([]string, len(l))
	for i, e := range l {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// Is makes errors.Is(list, ErrInvalid) true.
func (l ErrorList) Is(target error) bool { return target == ErrInvalid }

// Unwrap gives errors.As access to each *FileError.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// Caps on what one file can make us report: a hostile file must not turn
// into megabytes of status.
const (
	maxErrors     = 50
	maxFieldLen   = 256
	maxMessageLen = 512
)

var appType = reflect.TypeFor[App]()

// DecodeFile decodes every object of one manifest file, chosen by the
// extension of path (case-insensitive), then defaults and validates each.
// path is used in errors only: nothing here reads the filesystem.
//
//   - .yaml, .yml: a YAML stream; each "---" document is one object, and
//     empty documents (only comments, or null) are skipped.
//   - .json: one object, or a list of objects (each one object).
//   - .toml: one object.
//
// The three share one strict reading: unknown fields and repeated keys are
// errors; `status` and `metadata.generation` are accepted and dropped. A
// number or boolean where a string is wanted is taken as written. A file
// with no object at all (empty) decodes to no apps and no error.
//
// On any problem it returns no apps and an ErrorList: each entry names the
// file, the line (where the format gives one: always in YAML and JSON, only
// for syntax errors in TOML; lines count from the start of the file) and
// the field path, e.g. `spec.ports[0].range`.
func DecodeFile(path string, data []byte) (apps []App, err error) {
	defer func() {
		if r := recover(); r != nil {
			apps = nil
			err = ErrorList{{File: path, Reason: ReasonInvalid, Message: fmt.Sprintf("cannot decode: internal error: %v", r)}}
		}
	}()
	return decodeFile(path, data)
}

// decodeFile is DecodeFile without the recover (the fuzzers want the
// panic).
func decodeFile(path string, data []byte) ([]App, error) {
	c := checkFile(path, data)
	if len(c.Errors) > 0 {
		return nil, c.Errors
	}
	return c.Apps, nil
}

// parseDocs parses the documents of data in the format of the file
// extension ext (lower case); known is false for an extension of none.
func parseDocs(ext string, data []byte) (docs []document, known bool, err error) {
	switch ext {
	case ".yaml", ".yml":
		docs, err = parseYAML(data)
	case ".json":
		docs, err = parseJSON(data)
	case ".toml":
		docs, err = parseTOML(data)
	default:
		return nil, false, nil
	}
	return docs, true, err
}

func checkFile(path string, data []byte) *FileCheck {
	c := &FileCheck{Path: path}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	ext := strings.ToLower(filepath.Ext(path))
	docs, known, err := parseDocs(ext, data)
	if !known {
		c.Errors = ErrorList{{File: path, Reason: ReasonInvalid,
			Message: fmt.Sprintf("unsupported file extension %q (want .yaml, .yml, .json or .toml)", ext)}}
		return c
	}
	if err != nil {
		line := 0
		if se, ok := err.(*syntaxError); ok {
			line = se.line
		}
		c.Errors = ErrorList{{File: path, Line: line, Reason: ReasonInvalid, Message: err.Error()}}
		return c
	}

	var errs ErrorList
	c.Apps = make([]App, 0, len(docs))
	for _, d := range decodeDocuments(docs) {
		errs = append(errs, d.errs...)
		if d.b != nil {
			c.Apps = append(c.Apps, d.app)
			c.binders = append(c.binders, d.b)
		}
	}
	errs = append(errs, fileRules(c.Apps, c.binders)...)
	if len(errs) > 0 {
		c.Errors = finish(path, errs)
	}
	return c
}

// decoded is what decodeDocument returned for one document.
type decoded struct {
	app  App
	b    *binder
	errs ErrorList
}

// parallelDocs is the fewest documents of one file decoded on more than
// one core: a deploy tool's file of 1000 apps took 60-70 ms of CPU to
// decode, about half of it binding and validating the documents, which
// are independent of each other; a goroutine costs microseconds.
const parallelDocs = 32

// decodeDocuments decodes each document (decodeDocument), on up to
// GOMAXPROCS cores for a file of many, and returns the results in the
// documents' order, so the file's apps and errors do not depend on which
// finished first.
func decodeDocuments(docs []document) []decoded {
	out := make([]decoded, len(docs))
	workers := min(runtime.GOMAXPROCS(0), len(docs)/parallelDocs)
	if workers < 2 {
		for i, d := range docs {
			out[i].app, out[i].b, out[i].errs = decodeDocument(d)
		}
		return out
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	var panicked atomic.Value
	for range workers {
		wg.Go(func() {
			defer func() {
				if r := recover(); r != nil {
					panicked.Store(fmt.Sprint(r))
				}
			}()
			for i := int(next.Add(1) - 1); i < len(docs); i = int(next.Add(1) - 1) {
				out[i].app, out[i].b, out[i].errs = decodeDocument(docs[i])
			}
		})
	}
	wg.Wait()
	if r := panicked.Load(); r != nil {
		panic(r) // DecodeFile's recover reports it, as it would have on one core
	}
	return out
}

// decodeDocument binds, decodes, defaults and validates one object. Its
// errors carry lines but no file. A value of the wrong type is reported
// and left unset, and the rest of the object is still validated, so that
// one pass shows every problem; a validation error about a field whose
// value was refused (or its parent, or what an unknown field was likely
// meant to be) is not reported again. The document's kind field chooses
// its type (decode_kinds.go). The binder is nil when the document is not
// an object of proclet at all (a scalar, no App field, an unknown kind).
func decodeDocument(d document) (App, *binder, ErrorList) {
	var app App
	b := newBinder(d.line)
	t := documentType(d.root, b)
	if t == nil {
		return app, nil, b.errs
	}
	v := b.bind(d.root, t, "")
	if v == nil {
		return app, nil, b.errs
	}
	if err := decodeObject(v, t, &app); err != nil { // bind let through what encoding/json refuses: a bug
		return app, nil, append(b.errs, &FileError{Line: d.line, Reason: ReasonInvalid, Message: "cannot decode: " + err.Error()})
	}
	dropDaemonMetadata(&app.Metadata)
	Default(&app)
	errs := b.errs
	for _, e := range Validate(&app) {
		if b.refused(e.Field) {
			continue
		}
		e.Line = b.lineOf(e.Field)
		errs = append(errs, e)
	}
	return app, b, errs
}

// refused reports whether a validation error at field is one the binder
// already explains: field, a field under it or its parent was refused, or
// field is what a misspelt key was meant to be.
func (b *binder) refused(field string) bool {
	for _, p := range b.refusedPaths {
		if p == field || isUnder(field, p) || isUnder(p, field) {
			return true
		}
	}
	return false
}

// isUnder reports whether path p is strictly inside path parent.
func isUnder(p, parent string) bool {
	if parent == "" {
		return p != ""
	}
	if len(p) <= len(parent) || !strings.HasPrefix(p, parent) {
		return false
	}
	c := p[len(parent)]
	return c == '.' || c == '['
}

// fileRules are the checks across the objects of one file: a name defined
// twice (whatever the kinds), the condition of a dependency on an object
// of the file (depends_kinds.go), and dependency cycles among them (of
// each name's first object).
func fileRules(apps []App, binders []*binder) ErrorList {
	var errs ErrorList
	first := make(map[string]int, len(apps))
	var unique []int // of the first object of each name
	for i := range apps {
		a := &apps[i]
		if a.Metadata.Name == "" {
			continue
		}
		if j, ok := first[a.Metadata.Name]; ok {
			errs = append(errs, &FileError{Field: "metadata.name", Line: binders[i].lineOf("metadata.name"),
				Reason: ReasonDuplicateName,
				Message: fmt.Sprintf("%q is already defined in this file (line %d%s)",
					a.Metadata.Name, binders[j].lineOf("metadata.name"), kindAside(&apps[i], &apps[j]))})
			continue
		}
		first[a.Metadata.Name] = i
		unique = append(unique, i)
	}
	lookup := func(name string) *App {
		if j, ok := first[name]; ok {
			return &apps[j]
		}
		return nil
	}
	for i := range apps {
		for _, e := range dependencyKindProblems(&apps[i], lookup) {
			e.Line = binders[i].lineOf(e.Field)
			errs = append(errs, e)
		}
	}
	var cycles [][]string
	if anyDependency(apps) {
		firsts := make([]App, len(unique))
		for k, i := range unique {
			firsts[k] = apps[i]
		}
		cycles = DependencyCycles(firsts)
	}
	for _, c := range cycles {
		i := first[c[0]]
		field := dependsOnField(&apps[i], c[1])
		errs = append(errs, &FileError{Field: field, Line: binders[i].lineOf(field),
			Reason: ReasonInvalid, Message: cycleMessage(c)})
	}
	return errs
}

// dependsOnField is the field of a's (last) dependency on the app named
// on, or spec.dependsOn (spec.jobTemplate.spec.dependsOn for a CronJob).
func dependsOnField(a *App, on string) string {
	field := a.SpecPath("dependsOn")
	for k, d := range a.Spec.DependsOn {
		if d.App == on {
			field = a.SpecPath(fmt.Sprintf("dependsOn[%d].app", k))
		}
	}
	return field
}

// finish sets the file of every error, orders them by line and caps them.
func finish(path string, errs ErrorList) ErrorList {
	for _, e := range errs {
		e.File = path
		e.Field = clip(safePath(e.Field), maxFieldLen)
		e.Message = clip(e.Message, maxMessageLen)
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
	if len(errs) > maxErrors {
		more := len(errs) - maxErrors
		errs = append(errs[:maxErrors], &FileError{File: path, Reason: ReasonInvalid,
			Message: fmt.Sprintf("and %d more problem(s)", more)})
	}
	return errs
}

// lineOf finds the line of a field path, or of its nearest parent present
// in the file (a missing required field is placed at its parent).
func (b *binder) lineOf(path string) int {
	for {
		if l, ok := b.lines[path]; ok && l > 0 {
			return l
		}
		if path == "" {
			return 0
		}
		path = parentPath(path)
	}
}

// parentPath drops the last segment: "a.b[0]" -> "a.b" -> "a" -> "".
func parentPath(p string) string {
	if strings.HasSuffix(p, "]") {
		if i := strings.LastIndexByte(p, '['); i >= 0 {
			return p[:i]
		}
	}
	if i := strings.LastIndexByte(p, '.'); i >= 0 {
		return p[:i]
	}
	return ""
}

// clip shortens s to at most n bytes (on a rune boundary), marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("...")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
