package manifestedit

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"

	"proclet.dev/proclet/apis/v1alpha1"
)

// MaxSize is the largest file edited: the daemon's bound on a manifest
// (1 MiB), so nothing is written that the daemon would not read.
const MaxSize = 1 << 20

// ErrNotFound: no object of the file is the app.
var ErrNotFound = errors.New("app not defined in the file")

// RefusedError is a file that cannot be edited safely. Change is the edit
// to make by hand.
type RefusedError struct {
	File   string
	Reason string
	Change string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("%s: cannot edit safely: %s", e.File, e.Reason)
}

// SetAnnotation returns data with metadata.annotations[key] = value on the
// object of app. path is used for its extension (.yaml, .yml, .json,
// .toml) and in errors. data must be a valid manifest that defines app.
func SetAnnotation(path string, data []byte, app, key, value string) ([]byte, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("%s: %d bytes, larger than the 1 MiB a manifest may be", path, len(data))
	}
	apps, err := v1alpha1.DecodeFile(path, data)
	if err != nil {
		return nil, fmt.Errorf("not a valid manifest: %w", err)
	}
	if indexOf(apps, app) < 0 {
		return nil, fmt.Errorf("%s: %w: %q", path, ErrNotFound, app)
	}
	refuse := func(reason string) error {
		return &RefusedError{File: path, Reason: reason, Change: HandChange(path, app, key, value)}
	}
	// A file whose every line ends in CRLF is edited as LF and turned back,
	// so new lines end as the others do.
	crlf := bytes.Count(data, []byte("\r\n")) > 0 && bytes.Count(data, []byte("\r\n")) == bytes.Count(data, []byte("\n"))
	if crlf {
		data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	}
	var out []byte
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml":
		out, err = editYAML(data, app, key, value)
	case ".json":
		out, err = editJSON(data, app, key, value)
	case ".toml":
		out, err = editTOML(data, key, value)
	default:
		err = fmt.Errorf("unsupported extension %q", filepath.Ext(path))
	}
	if err != nil {
		return nil, refuse(err.Error())
	}
	if crlf {
		out = bytes.ReplaceAll(out, []byte("\n"), []byte("\r\n"))
	}
	if err := check(path, apps, out, app, key, value); err != nil {
		return nil, refuse(err.Error())
	}
	return out, nil
}

// check verifies that out decodes to apps with the annotation set on app
// and nothing else changed.
func check(path string, apps []v1alpha1.App, out []byte, app, key, value string) error {
	got, err := v1alpha1.DecodeFile(path, out)
	if err != nil {
		return fmt.Errorf("the edited file would not decode: %v", err)
	}
	want := make([]v1alpha1.App, len(apps))
	for i := range apps {
		want[i] = apps[i]
		ann := make(map[string]string, len(apps[i].Metadata.Annotations)+1)
		for k, v := range apps[i].Metadata.Annotations {
			ann[k] = v
		}
		if apps[i].Metadata.Name == app {
			ann[key] = value
		}
		want[i].Metadata.Annotations = ann
	}
	for _, a := range [][]v1alpha1.App{got, want} {
		for i := range a {
			if len(a[i].Metadata.Annotations) == 0 {
				a[i].Metadata.Annotations = nil // absent and {} decode alike
			}
		}
	}
	if !reflect.DeepEqual(got, want) {
		return errors.New("the edit would change more than the annotation")
	}
	return nil
}

func indexOf(apps []v1alpha1.App, name string) int {
	for i := range apps {
		if apps[i].Metadata.Name == name {
			return i
		}
	}
	return -1
}

// HandChange is the edit to make by hand, in the file's format.
func HandChange(path, app, key, value string) string {
	q := strconv.Quote(value)
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		return fmt.Sprintf("in %s, in the object of app %q, set \"metadata\": {\"annotations\": {%q: %s}}", path, app, key, q)
	case ".toml":
		return fmt.Sprintf("in %s, under [metadata.annotations], set %q = %s", path, key, q)
	default:
		return fmt.Sprintf("in %s, in the document of app %q, set metadata.annotations:\n    %s: %s", path, app, key, q)
	}
}

// splice returns data with data[start:end] replaced by text.
func splice(data []byte, start, end int, text string) []byte {
	out := make([]byte, 0, len(data)+len(text))
	out = append(out, data[:start]...)
	out = append(out, text...)
	return append(out, data[end:]...)
}

// lineStart is the offset of the start of the line holding off.
func lineStart(data []byte, off int) int {
	for off > 0 && data[off-1] != '\n' {
		off--
	}
	return off
}

// blank reports whether s is only spaces and tabs.
func blank(s []byte) bool {
	for _, c := range s {
		if c != ' ' && c != '\t' {
			return false
		}
	}
	return true
}
