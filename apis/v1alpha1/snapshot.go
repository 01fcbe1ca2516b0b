package v1alpha1

import (
	"fmt"
	"time"
)

// Snapshot is the whole desired state read from a manifests directory at one
// moment: never a delta. The watchers produce it, the reconciler consumes it.
type Snapshot struct {
	// Apps are the apps to run, unique by name, sorted by name. An app whose
	// file is now broken is here in its last good version.
	Apps []SourcedApp
	// Files is every manifest file read, sorted by path, with its problem.
	Files []FileStatus
	// SourceRevision is the commit-like name of the symlink target the
	// directory was read through (git-sync), else the commit a .git at its
	// root checks out, or empty.
	SourceRevision string
	// ReadAt is when the directory was read.
	ReadAt time.Time
}

// SourcedApp is a valid, defaulted App and where it came from.
type SourcedApp struct {
	App App
	// Path is the file's path relative to the manifests directory.
	Path string
	// Dir is the absolute directory of the file: the default working dir.
	Dir string
	// Content is what the files the app reads said (envFrom, valueFrom,
	// rolloutOnChange); nil when it reads none. Never serialized.
	Content *Content `json:"-"`
	// ContentError is why the app's files cannot be read now; the App and
	// Content are then its last good version's.
	ContentError *FileError `json:"-"`
}

// FileStatus is one manifest file and what is wrong with it, if anything.
type FileStatus struct {
	Path string `json:"path"`
	// Objects are the names of the apps the file defines (its last good
	// version's when it is broken now).
	Objects []string `json:"objects"`
	// Error is the file's problem, nil when it applied.
	Error *FileError `json:"error"`
}

// FileError is a problem in a manifest file. It prints as
// FILE:LINE: FIELD: MESSAGE (LINE 0 and an empty FIELD are left out).
type FileError struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Field   string `json:"field,omitempty"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// Reasons of a FileError.
const (
	ReasonInvalid       = "Invalid"       // does not parse or validate
	ReasonDuplicateName = "DuplicateName" // another file already defines the name
	ReasonUnreadable    = "Unreadable"    // not a regular file, too large, I/O error
	ReasonPortConflict  = "PortConflict"  // ports overlap another app's
)

func (e *FileError) Error() string {
	s := e.File
	if e.Line > 0 {
		s += fmt.Sprintf(":%d", e.Line)
	}
	if e.Field != "" {
		s += ": " + e.Field
	}
	return s + ": " + e.Message
}
