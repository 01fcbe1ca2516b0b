package watchers

import (
	"context"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
)

// Dir watches a manifests directory and sends its whole content to a Sink
// on start, whenever it changes (debounced) and on every resync.
type Dir struct {
	opts   Options // with defaults
	root   string  // Options.Root made absolute
	sink   Sink
	log    *slog.Logger
	rescan chan struct{}

	// Seams for tests.
	newWatcher func() (watcher, error)
	readDir    func(string) ([]os.DirEntry, error)
}

// New returns a Dir reading opts.Root into sink. Call Run to start it.
func New(opts Options, sink Sink) *Dir {
	opts = opts.withDefaults()
	root := opts.Root
	if abs, err := filepath.Abs(root); err == nil {
		root = abs
	}
	return &Dir{
		opts:       opts,
		root:       root,
		sink:       sink,
		log:        opts.Log,
		rescan:     make(chan struct{}, 1),
		newWatcher: newFSWatcher,
	}
}

// Rescan asks for a full rescan soon (SIGHUP). It never blocks; requests
// made before the rescan starts coalesce into it.
func (d *Dir) Rescan() {
	select {
	case d.rescan <- struct{}{}:
	default:
	}
}

// Run scans at once, then watches until ctx is done, and returns nil after
// everything it started has stopped. Call it once.
func (d *Dir) Run(ctx context.Context) error {
	r := newReader(d.root, d.opts.Decode)
	r.state.owner = maps.Clone(d.opts.Owners) // the first scan's "last snapshot"
	if d.readDir != nil {
		r.readDir = d.readDir
	}
	l := &loop{
		d:       d,
		r:       r,
		ws:      newWatches(d.newWatcher, d.log),
		db:      debouncer{window: d.opts.Debounce, quiet: d.opts.RemovalQuiet},
		logged:  map[string]string{},
		content: newContents(d.opts.ContentQuiet),
		clogged: map[string]string{},
	}
	defer l.ws.close()
	return l.run(ctx)
}
