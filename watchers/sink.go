package watchers

import (
	"log/slog"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// Sink receives the watcher's output. Both methods are called from the
// goroutine running Dir.Run, one call at a time; they should return quickly.
type Sink interface {
	// Replace hands over the whole desired state read in one scan. It is
	// called after every scan that read the directory, changed or not: the
	// consumer diffs. The snapshot's App values are shared with the
	// watcher's last-good cache and must not be mutated. When nothing read
	// changed, the snapshot is the previous one again: its very Apps and
	// Files slices (same arrays, same lengths) with a new ReadAt, so a
	// consumer may skip its diff on identity; a slice once sent is never
	// refilled.
	Replace(snap v1alpha1.Snapshot)
	// Unavailable reports that the directory could not be read (missing,
	// dangling link, unreadable folder, kept changing): the consumer keeps
	// its current state. It is called again on every scan that fails.
	Unavailable(err error)
}

// Options configure a Dir. Zero values take the defaults noted.
type Options struct {
	// Root is the manifests directory; it may itself be a symbolic link.
	Root string
	// Resync is the period of the full rescan that heals lost events
	// (default 30s).
	Resync time.Duration
	// Debounce is the window in which events coalesce into one scan
	// (default 50ms).
	Debounce time.Duration
	// RemovalQuiet is the shortest quiet before a scan that removes an app
	// is confirmed and emitted, when an event announced the removal
	// (default DefaultRemovalQuiet; at most Debounce, which holds when
	// events keep coming: debouncer.Removal).
	RemovalQuiet time.Duration
	// Log receives the watcher's logs (default: discarded).
	Log *slog.Logger
	// Decode decodes, defaults and validates one file; path is the file's
	// slash-separated path relative to Root. Default v1alpha1.DecodeFile.
	Decode func(path string, data []byte) ([]v1alpha1.App, error)
	// Owners is, per app name, the file (a path as in SourcedApp.Path) that
	// provided it before the daemon restarted: of two files defining a
	// name, the first scan gives it to that one while it still defines it,
	// not to the first by path (the reconciler saves it: Owners).
	Owners map[string]string
	// ContentQuiet is how long a file an app reads (envFrom, valueFrom,
	// rolloutOnChange) must go unchanged before its new content is taken
	// (default DefaultContentQuiet).
	ContentQuiet time.Duration
}

// Defaults of Options.
const (
	DefaultResync   = 30 * time.Second
	DefaultDebounce = 50 * time.Millisecond
	// DefaultRemovalQuiet: the two steps of a save that looks like a
	// removal for a moment (vim's rename away then write, git's unlink then
	// create) are system calls microseconds apart.
	DefaultRemovalQuiet = 2 * time.Millisecond
)

func (o Options) withDefaults() Options {
	if o.Resync <= 0 {
		o.Resync = DefaultResync
	}
	if o.Debounce <= 0 {
		o.Debounce = DefaultDebounce
	}
	if o.RemovalQuiet <= 0 {
		o.RemovalQuiet = DefaultRemovalQuiet
	}
	o.RemovalQuiet = min(o.RemovalQuiet, o.Debounce)
	if o.ContentQuiet <= 0 {
		o.ContentQuiet = DefaultContentQuiet
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Decode == nil {
		o.Decode = v1alpha1.DecodeFile
	}
	return o
}
