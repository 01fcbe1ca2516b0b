package v1alpha1

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
)

// RolloutOnChange makes the content of files part of the app's revision:
// a change rolls the app under its strategy, as a new image rolls a
// Deployment. Paths are relative to the manifest's folder.
type RolloutOnChange struct {
	// Executable: the file command[0] resolves to (a PATH lookup, or
	// relative to the working dir) is hashed.
	Executable bool `json:"executable,omitempty"`
	// Paths are files or folders hashed (a folder: every regular file
	// under it, see MaxContentFiles and MaxContentDepth).
	Paths []string `json:"paths,omitempty" validate:"dive,required,nonul"`
}

// EnvFromSource is a dotenv file whose variables go into the environment
// before spec.env (which overrides them). A missing file is an error unless
// Optional.
type EnvFromSource struct {
	// File is the dotenv file (NAME=value lines), relative to the
	// manifest's folder.
	File string `json:"file" validate:"required,nonul"`
	// Optional makes a missing file no error (default false).
	Optional bool `json:"optional,omitempty"`
}

// EnvVarSource is where an env value comes from instead of Value: the
// whole of File, one trailing newline trimmed.
type EnvVarSource struct {
	// File is the file whose whole content, one trailing newline trimmed,
	// is the value; relative to the manifest's folder.
	File string `json:"file" validate:"required,nonul"`
}

// Bounds on the files an app's content reads (docs/faults.md). The values
// read are bounded as a spec's are: MaxExpandedValue each and
// MaxExpandedTotal for the environment (checked by the runtime).
const (
	// MaxRolloutPaths is the most entries of spec.rolloutOnChange.paths.
	MaxRolloutPaths = 64
	// MaxEnvFrom is the most entries of spec.envFrom.
	MaxEnvFrom = 16
	// MaxEnvFileSize is the most bytes of an envFrom file.
	MaxEnvFileSize = 1 << 20
	// MaxValueFileSize is the most bytes of a valueFrom file (one trailing
	// newline may come on top): an env value's bound.
	MaxValueFileSize = MaxExpandedValue
	// MaxContentFileSize is the most bytes of one file hashed for
	// rolloutOnChange (the executable included).
	MaxContentFileSize = 1 << 30
	// MaxContentFiles is the most files (and folders) under one path of
	// rolloutOnChange.paths.
	MaxContentFiles = 1000
	// MaxContentDepth is the most levels of folders under one path.
	MaxContentDepth = 8
)

// Content is what the files an app reads said at one read: the digests
// that are part of its revision, and the values of envFrom and valueFrom.
// The watcher makes it; it is never serialized to the API (the values are
// Secrets, which never print).
type Content struct {
	// Digest covers every source; it is part of the revision
	// (AppRevision).
	Digest string
	// Sources are the files read, in spec order.
	Sources []ContentSource
	// EnvFrom are the variables of spec.envFrom, merged (a later file
	// wins), sorted by name.
	EnvFrom []EnvValue
	// Values are spec.env's valueFrom values, by the entry's index.
	Values map[int]Secret
}

// ContentSource is one source of an app's content.
type ContentSource struct {
	Field  string `json:"field"`  // e.g. spec.envFrom[0].file
	Path   string `json:"path"`   // as the manifest says it (the executable: as resolved)
	Digest string `json:"digest"` // short; "absent" for an optional file that is not there
}

// EnvValue is one variable of an env file.
type EnvValue struct {
	Name  string
	Value Secret
}

// Secret is a value read from a file. It prints, marshals and logs as
// "(secret)"; only Reveal gives the value, for the process's environment.
type Secret struct{ v string }

// NewSecret wraps v.
func NewSecret(v string) Secret { return Secret{v: v} }

// Reveal is the value.
func (s Secret) Reveal() string { return s.v }

// Len is the value's length.
func (s Secret) Len() int { return len(s.v) }

const redacted = "(secret)"

func (s Secret) String() string                { return redacted }
func (s Secret) GoString() string              { return redacted }
func (s Secret) MarshalJSON() ([]byte, error)  { return json.Marshal(redacted) }
func (s Secret) MarshalText() ([]byte, error)  { return []byte(redacted), nil }
func (s Secret) LogValue() slog.Value          { return slog.StringValue(redacted) }
func (s Secret) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(redacted)) }
func (s *Secret) UnmarshalJSON(b []byte) error { return fmt.Errorf("a secret is never decoded") }
func (s Secret) Equal(o Secret) bool           { return s.v == o.v }

// ReasonContentUnavailable is the reason of an app's content that cannot
// be read (a path that disappeared, a bad env file): the app keeps its last
// good revision.
const ReasonContentUnavailable = "ContentUnavailable"

// ReadsFiles reports whether the spec's revision depends on files.
func (s *AppSpec) ReadsFiles() bool {
	if s.RolloutOnChange != nil && (s.RolloutOnChange.Executable || len(s.RolloutOnChange.Paths) > 0) || len(s.EnvFrom) > 0 {
		return true
	}
	for _, e := range s.Env {
		if e.ValueFrom != nil {
			return true
		}
	}
	return false
}

// content checks the fields that read files.
func (r *ruleSet) content(s *AppSpec) {
	if len(s.EnvFrom) > MaxEnvFrom {
		r.add("spec.envFrom", "has %d entries, over the bound of %d", len(s.EnvFrom), MaxEnvFrom)
	}
	for i, e := range s.Env {
		if e.ValueFrom == nil {
			continue
		}
		if e.Value != "" {
			r.add(fmt.Sprintf("spec.env[%d].valueFrom", i), "value and valueFrom are mutually exclusive")
		}
	}
	ro := s.RolloutOnChange
	if ro == nil {
		return
	}
	if len(ro.Paths) > MaxRolloutPaths {
		r.add("spec.rolloutOnChange.paths", "has %d entries, over the bound of %d", len(ro.Paths), MaxRolloutPaths)
	}
	if ro.Executable && len(s.Command) > 0 && strings.Contains(s.Command[0], "$(") {
		r.add("spec.rolloutOnChange.executable", "command[0] %s uses $(VAR): the executable cannot be known before the start",
			quote(s.Command[0]))
	}
}
