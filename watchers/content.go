package watchers

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// DefaultContentQuiet is how long a file an app reads must go unwritten
// (its mtime) before its new content is taken: a binary being copied in
// place is never started half-written. A file renamed into place keeps the
// mtime of its writing, so a file written earlier and renamed in is taken
// at once. A file whose mtime is in the future (a skewed clock, touch -d)
// is taken once it has kept the same stat for the window.
const DefaultContentQuiet = 500 * time.Millisecond

// How a content file is read.
type readKind byte

const (
	kindHash  readKind = 'h' // rolloutOnChange: hashed only
	kindEnv   readKind = 'e' // envFrom: hashed and parsed as dotenv
	kindValue readKind = 'v' // valueFrom: hashed and kept whole
)

// cachedFile is one content file as last read: a file whose stat is the
// same is not read again.
type cachedFile struct {
	stat   fileStat
	digest string
	env    []v1alpha1.EnvValue // kindEnv
	value  v1alpha1.Secret     // kindValue
	err    error               // a parse or bound error, kept while the stat is
}

// unsettledError is a file changed less than the quiet window ago: the
// app keeps what it had until Until.
type unsettledError struct {
	path  string
	until time.Time
}

func (e *unsettledError) Error() string { return e.path + " changed less than the quiet window ago" }

// fileReader reads content files through a stat cache. Only the loop's
// goroutine uses it.
type fileReader struct {
	quiet   time.Duration
	cache   map[string]cachedFile // kind + path -> last read
	pending map[string]pending    // kind + path -> a stat not quiet yet, since when
	used    map[string]bool       // keys used this round (the rest are dropped)
	anyAge  bool                  // take files however recently written (the first round)
}

// pending is a file's stat first seen at since, not quiet yet.
type pending struct {
	stat  fileStat
	since time.Time
}

func newFileReader(quiet time.Duration) *fileReader {
	return &fileReader{quiet: quiet, cache: map[string]cachedFile{}, pending: map[string]pending{}, used: map[string]bool{}}
}

// endRound drops the cache entries no app used since the last endRound.
func (fr *fileReader) endRound() {
	for k := range fr.cache {
		if !fr.used[k] {
			delete(fr.cache, k)
		}
	}
	for k := range fr.pending {
		if !fr.used[k] {
			delete(fr.pending, k)
		}
	}
	fr.used = map[string]bool{}
}

// read returns the file at abs as kind reads it. A file written (mtime)
// less than the quiet window before now, and not seen with the same stat
// for the window either, is an *unsettledError; so is one that changed
// while it was read.
func (fr *fileReader) read(kind readKind, abs string, now time.Time) (cachedFile, error) {
	key := string(kind) + abs
	fr.used[key] = true
	st, err := statFile(abs)
	if errors.Is(err, fs.ErrNotExist) {
		return cachedFile{}, fr.gone(key, abs, err, now)
	}
	if err != nil {
		return cachedFile{}, err
	}
	if c, ok := fr.cache[key]; ok && c.stat == st {
		return c, c.err
	}
	if err := fr.quietSince(key, abs, st, now); err != nil {
		return cachedFile{}, err
	}
	c, err := readContentFile(kind, abs, st)
	if errors.Is(err, fs.ErrNotExist) { // removed between the stat and the open
		return cachedFile{}, &unsettledError{path: abs, until: now.Add(fr.quiet)}
	}
	if err != nil {
		return cachedFile{}, err
	}
	if after, err := statFile(abs); err != nil || after != st {
		return cachedFile{}, &unsettledError{path: abs, until: now.Add(fr.quiet)}
	}
	fr.cache[key] = c
	return c, c.err
}

// gone is the error of a file that is not there: a file read before is
// taken for gone only once it has been missing for the quiet window (an
// rm, then a copy, or a folder being replaced, is a change, not a loss);
// until then an *unsettledError.
func (fr *fileReader) gone(key, abs string, err error, now time.Time) error {
	if _, had := fr.cache[key]; !had || fr.anyAge {
		return err
	}
	p, ok := fr.pending[key]
	if !ok || p.stat != (fileStat{}) {
		p = pending{since: now}
		fr.pending[key] = p
	}
	if until := p.since.Add(fr.quiet); now.Before(until) {
		return &unsettledError{path: abs, until: until}
	}
	return err
}

// quietSince returns an *unsettledError unless the file of stat st was
// written a quiet window before now, or has had st for that long.
func (fr *fileReader) quietSince(key, abs string, st fileStat, now time.Time) error {
	until := time.Unix(0, st.mtime).Add(fr.quiet)
	if fr.anyAge || !now.Before(until) {
		delete(fr.pending, key)
		return nil
	}
	p, ok := fr.pending[key]
	if !ok || p.stat != st {
		p = pending{stat: st, since: now}
		fr.pending[key] = p
	}
	if seen := p.since.Add(fr.quiet); !now.Before(seen) {
		delete(fr.pending, key)
		return nil
	} else if seen.Before(until) {
		until = seen
	}
	return &unsettledError{path: abs, until: until}
}

// readContentFile reads (or only hashes) one file, within the bound of
// its kind. A bound or syntax problem is kept in cachedFile.err.
func readContentFile(kind readKind, abs string, st fileStat) (cachedFile, error) {
	c := cachedFile{stat: st}
	limit := int64(v1alpha1.MaxContentFileSize)
	switch kind {
	case kindEnv:
		limit = v1alpha1.MaxEnvFileSize
	case kindValue:
		limit = v1alpha1.MaxValueFileSize + 2 // a trailing "\r\n" may go
	}
	if st.size > limit {
		c.err = fmt.Errorf("the file has %d bytes, over the bound of %d", st.size, limit)
		return c, nil
	}
	f, err := os.Open(abs)
	if err != nil {
		return c, err
	}
	defer f.Close()
	h := sha256.New()
	var data []byte
	if kind == kindHash {
		if _, err := io.Copy(h, io.LimitReader(f, limit+1)); err != nil {
			return c, err
		}
	} else {
		if data, err = io.ReadAll(io.LimitReader(f, limit+1)); err != nil {
			return c, err
		}
		h.Write(data)
	}
	c.digest = hex.EncodeToString(h.Sum(nil))[:16]
	switch kind {
	case kindEnv:
		c.env, c.err = parseEnvFile(data)
	case kindValue:
		c.value, c.err = fileValue(data)
	}
	return c, nil
}

// fileValue is a valueFrom file's value: the whole file, one trailing
// newline ("\n" or "\r\n") trimmed.
func fileValue(data []byte) (v1alpha1.Secret, error) {
	s := strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r")
	if len(s) > v1alpha1.MaxValueFileSize {
		return v1alpha1.Secret{}, fmt.Errorf("the value has %d bytes, over the bound of %d", len(s), v1alpha1.MaxValueFileSize)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return v1alpha1.Secret{}, errors.New("the value holds a NUL byte, which an environment cannot hold")
	}
	return v1alpha1.NewSecret(s), nil
}

// folderDigest hashes every regular file under dir (names starting with
// "." and editor leftovers left out; links to files followed, links to
// folders hashed as their target's name, not entered), within
// MaxContentFiles entries and MaxContentDepth levels. dirs gets every
// folder walked (to watch).
func (fr *fileReader) folderDigest(dir string, now time.Time, dirs *[]string) (string, error) {
	h := sha256.New()
	n := 0
	var walk func(rel string, depth int) error
	walk = func(rel string, depth int) error {
		if depth > v1alpha1.MaxContentDepth {
			return fmt.Errorf("%s is more than %d folders deep", rel, v1alpha1.MaxContentDepth)
		}
		abs := filepath.Join(dir, rel)
		*dirs = append(*dirs, abs)
		entries, err := os.ReadDir(abs)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if ignoredName(e.Name()) {
				continue
			}
			if n++; n > v1alpha1.MaxContentFiles {
				return fmt.Errorf("more than %d files and folders", v1alpha1.MaxContentFiles)
			}
			r := filepath.Join(rel, e.Name())
			switch fi, err := os.Stat(filepath.Join(dir, r)); {
			case err != nil:
				return err
			case fi.IsDir() && e.Type()&fs.ModeSymlink != 0:
				target, _ := os.Readlink(filepath.Join(dir, r))
				fmt.Fprintf(h, "%s\x00link\x00%s\n", r, target)
			case fi.IsDir():
				if err := walk(r, depth+1); err != nil {
					return err
				}
			case fi.Mode().IsRegular():
				c, err := fr.read(kindHash, filepath.Join(dir, r), now)
				if err == nil {
					err = c.err
				}
				if err != nil {
					return fmt.Errorf("%s: %w", r, err)
				}
				fmt.Fprintf(h, "%s\x00%s\n", r, c.digest)
			}
		}
		return nil
	}
	if err := walk(".", 0); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// executablePath is the file command[0] runs, resolved as the runtime
// resolves it: with a slash, relative to the working dir; a bare name, in
// the absolute entries of PATH (the spec's literal PATH, else the
// daemon's).
func executablePath(spec *v1alpha1.AppSpec, dir string) (string, error) {
	argv0 := spec.Command[0]
	wd := spec.WorkingDir
	if wd == "" {
		wd = dir
	} else if !filepath.IsAbs(wd) {
		wd = filepath.Join(dir, wd)
	}
	if strings.Contains(argv0, "/") {
		if filepath.IsAbs(argv0) {
			return argv0, nil
		}
		return filepath.Join(wd, argv0), nil
	}
	pathEnv := os.Getenv("PATH")
	for _, e := range spec.Env {
		if e.Name == "PATH" && e.ValueFrom == nil && !strings.Contains(e.Value, "$(") {
			pathEnv = e.Value
		}
	}
	for _, d := range filepath.SplitList(pathEnv) {
		if !filepath.IsAbs(d) {
			continue
		}
		p := filepath.Join(d, argv0)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s is not in PATH", argv0)
}
