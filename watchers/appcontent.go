package watchers

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// source is one file (or folder) an app reads.
type source struct {
	field    string // spec.envFrom[0].file
	path     string // as the manifest says it
	abs      string
	kind     readKind
	folder   bool // rolloutOnChange.paths may name a folder
	optional bool
	index    int // spec.env index of a valueFrom
}

// sourcesOf lists what sa reads, in a fixed order: envFrom, valueFrom,
// the executable, the paths. An executable that cannot be resolved is
// the error. The fields are those of sa's file (a CronJob's are under
// spec.jobTemplate.spec; a Job has no rolloutOnChange).
func sourcesOf(sa *v1alpha1.SourcedApp) ([]source, *v1alpha1.FileError) {
	s := &sa.App.Spec
	abs := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(sa.Dir, p)
	}
	var out []source
	for i, e := range s.EnvFrom {
		out = append(out, source{field: sa.App.SpecPath(fmt.Sprintf("envFrom[%d].file", i)), path: e.File, abs: abs(e.File), kind: kindEnv, optional: e.Optional})
	}
	for i, e := range s.Env {
		if e.ValueFrom != nil {
			out = append(out, source{field: sa.App.SpecPath(fmt.Sprintf("env[%d].valueFrom.file", i)), path: e.ValueFrom.File,
				abs: abs(e.ValueFrom.File), kind: kindValue, index: i})
		}
	}
	if ro := s.RolloutOnChange; ro != nil {
		if ro.Executable {
			p, err := executablePath(s, sa.Dir)
			if err != nil {
				return nil, contentError(sa, "spec.rolloutOnChange.executable", err.Error())
			}
			out = append(out, source{field: "spec.rolloutOnChange.executable", path: p, abs: p, kind: kindHash})
		}
		for i, p := range ro.Paths {
			out = append(out, source{field: fmt.Sprintf("spec.rolloutOnChange.paths[%d]", i), path: p, abs: abs(p), kind: kindHash, folder: true})
		}
	}
	return out, nil
}

func contentError(sa *v1alpha1.SourcedApp, field, msg string) *v1alpha1.FileError {
	return &v1alpha1.FileError{File: sa.Path, Field: field, Reason: v1alpha1.ReasonContentUnavailable, Message: msg}
}

// resolved is what reading an app's files gave.
type resolved struct {
	content *v1alpha1.Content
	err     *v1alpha1.FileError // cannot be read: keep the last good version
	until   time.Time           // non-zero: a file is not quiet yet; look again then
	dirs    []watchDir          // what to watch
}

// watchDir is a folder to watch: for one name in it, or every name.
type watchDir struct {
	dir, name string // name "": every name
}

// resolveApp reads every file sa reads. prev is the app's last good
// content (nil for none): when the digest is the same, it is returned
// again, the same pointer, so an unchanged app is the same app.
func (fr *fileReader) resolveApp(sa *v1alpha1.SourcedApp, prev *v1alpha1.Content, now time.Time) resolved {
	var r resolved
	sources, ferr := sourcesOf(sa)
	if ferr != nil {
		r.err = ferr
		return r
	}
	c := &v1alpha1.Content{}
	h := sha256.New()
	for _, src := range sources {
		r.dirs = append(r.dirs, watchDir{dir: filepath.Dir(src.abs), name: filepath.Base(src.abs)})
		digest, err := fr.readSource(src, c, now, &r.dirs)
		var unsettled *unsettledError
		switch {
		case errors.As(err, &unsettled):
			if r.until.IsZero() || unsettled.until.Before(r.until) {
				r.until = unsettled.until
			}
			continue
		case err != nil:
			if r.err == nil {
				r.err = contentError(sa, src.field, src.path+": "+errText(err))
			}
			continue
		}
		c.Sources = append(c.Sources, v1alpha1.ContentSource{Field: src.field, Path: src.path, Digest: digest})
		fmt.Fprintf(h, "%s\x00%s\x00%s\n", src.field, src.path, digest)
	}
	if r.err != nil || !r.until.IsZero() {
		return r
	}
	c.Digest = hex.EncodeToString(h.Sum(nil))[:16]
	c.EnvFrom = mergeEnv(c.EnvFrom)
	if prev != nil && prev.Digest == c.Digest {
		c = prev
	}
	r.content = c
	return r
}

// readSource reads one source into c and returns its digest.
func (fr *fileReader) readSource(src source, c *v1alpha1.Content, now time.Time, dirs *[]watchDir) (string, error) {
	if src.folder {
		if fi, err := os.Stat(src.abs); err == nil && fi.IsDir() {
			var walked []string
			d, err := fr.folderDigest(src.abs, now, &walked)
			for _, w := range walked {
				*dirs = append(*dirs, watchDir{dir: w})
			}
			return d, err
		}
	}
	f, err := fr.read(src.kind, src.abs, now)
	if errors.Is(err, fs.ErrNotExist) && src.optional {
		return "absent", nil
	}
	if err != nil {
		return "", err
	}
	switch src.kind {
	case kindEnv:
		c.EnvFrom = append(c.EnvFrom, f.env...)
	case kindValue:
		if c.Values == nil {
			c.Values = map[int]v1alpha1.Secret{}
		}
		c.Values[src.index] = f.value
	}
	return f.digest, nil
}

// mergeEnv keeps the last of each name (a later envFrom file wins),
// sorted by name.
func mergeEnv(vals []v1alpha1.EnvValue) []v1alpha1.EnvValue {
	if len(vals) == 0 {
		return nil
	}
	last := map[string]int{}
	for i, v := range vals {
		last[v.Name] = i
	}
	out := make([]v1alpha1.EnvValue, 0, len(last))
	for i, v := range vals {
		if last[v.Name] == i {
			out = append(out, v)
		}
	}
	slices.SortFunc(out, func(a, b v1alpha1.EnvValue) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return out
}

// errText is an error without the path os put in front (the message says
// the manifest's path instead).
func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	if errors.Is(err, ErrNotRegular) {
		return "not a regular file"
	}
	return err.Error()
}
