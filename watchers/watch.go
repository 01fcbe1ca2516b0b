package watchers

import (
	"log/slog"
	"os"
	"path/filepath"
	"syscall"

	"github.com/fsnotify/fsnotify"
)

// watchSet maps a folder (a resolved path) to the names in it whose events
// matter. A nil name set means every name: the folders of the tree itself.
// The others are folders holding a link on the way (events for the link's
// name only) or a manifest's target file.
type watchSet map[string]map[string]bool

// all makes every event in dir matter.
func (s watchSet) all(dir string) { s[dir] = nil }

// name makes events for name in dir matter.
func (s watchSet) name(dir, name string) {
	names, ok := s[dir]
	if ok && names == nil {
		return
	}
	if names == nil {
		names = map[string]bool{}
		s[dir] = names
	}
	names[name] = true
}

// watcher is the part of *fsnotify.Watcher used here: a seam for tests that
// lose or inject events.
type watcher interface {
	Add(path string) error
	Remove(path string) error
	Events() <-chan fsnotify.Event
	Errors() <-chan error
	Close() error
}

// fsWatcher is the real watcher: fsnotify, plus a closeWatch on the same
// folders for the close-after-write events fsnotify does not expose.
type fsWatcher struct {
	*fsnotify.Watcher
	cw    *closeWatch // nil when none could be made: files are read as soon as they change
	cwErr error
}

func newFSWatcher() (watcher, error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	cw, cwErr := newCloseWatch()
	return fsWatcher{Watcher: w, cw: cw, cwErr: cwErr}, nil
}

func (w fsWatcher) Events() <-chan fsnotify.Event { return w.Watcher.Events }
func (w fsWatcher) Errors() <-chan error          { return w.Watcher.Errors }

// Add watches dir with both; a folder the close watch misses only loses
// the wait for writers to close (the fsnotify watch is what matters).
func (w fsWatcher) Add(dir string) error {
	if err := w.Watcher.Add(dir); err != nil {
		return err
	}
	if w.cw != nil {
		_ = w.cw.add(dir)
	}
	return nil
}

func (w fsWatcher) Remove(dir string) error {
	if w.cw != nil {
		w.cw.remove(dir)
	}
	return w.Watcher.Remove(dir)
}

func (w fsWatcher) Close() error {
	if w.cw != nil {
		_ = w.cw.close()
	}
	return w.Watcher.Close()
}

// closes is the watcher's close watch, if it has one (test watchers do not).
func (w fsWatcher) closes() (*closeWatch, error) { return w.cw, w.cwErr }

// fileID tells a folder from a new one created at the same path.
type fileID struct{ dev, ino uint64 }

func idOf(fi os.FileInfo) fileID {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fileID{dev: uint64(st.Dev), ino: st.Ino}
	}
	return fileID{}
}

type watched struct {
	names map[string]bool // nil: every name
	id    fileID
}

// watches keeps the fsnotify watches equal to the last scan's watch set.
// Only Dir's loop goroutine uses it.
type watches struct {
	newWatcher func() (watcher, error)
	log        *slog.Logger
	w          watcher            // nil while none could be made: resync alone keeps the source fresh
	dirs       map[string]watched // the folders watched now
	failing    map[string]bool    // folders whose Add failed, logged once
	createErr  string             // the last error making a watcher, logged once
	cw         *closeWatch        // the watcher's close watch; nil without one
	cwErr      string             // the last error making a close watch, logged once
}

func newWatches(newWatcher func() (watcher, error), log *slog.Logger) *watches {
	return &watches{newWatcher: newWatcher, log: log, dirs: map[string]watched{}, failing: map[string]bool{}}
}

// channels returns the watcher's channels (nil ones, which block, without a watcher).
func (ws *watches) channels() (<-chan fsnotify.Event, <-chan error) {
	if ws.w == nil {
		return nil, nil
	}
	return ws.w.Events(), ws.w.Errors()
}

func (ws *watches) ensure() {
	if ws.w != nil {
		return
	}
	w, err := ws.newWatcher()
	if err != nil {
		if err.Error() != ws.createErr {
			ws.log.Warn("cannot watch the manifests directory; relying on the periodic rescan", "error", err)
			ws.createErr = err.Error()
		}
		return
	}
	ws.w, ws.createErr = w, ""
	if c, ok := w.(interface{ closes() (*closeWatch, error) }); ok {
		var err error
		if ws.cw, err = c.closes(); err != nil && err.Error() != ws.cwErr {
			ws.log.Warn("cannot tell when a manifest being written is closed; reading it as soon as it changes", "error", err)
			ws.cwErr = err.Error()
		}
	}
}

// wake is readable when the close watch may have events (nil without one).
func (ws *watches) wake() <-chan struct{} {
	if ws.cw == nil {
		return nil
	}
	return ws.cw.wake
}

// drainWrites returns the close watch's queued events.
func (ws *watches) drainWrites() ([]writeEvent, bool) {
	if ws.cw == nil {
		return nil, false
	}
	return ws.cw.drain()
}

// rebuild drops the watcher and every watch (after an overflow or a watch
// error their state is unknown); the next sync adds them to a new one.
func (ws *watches) rebuild() {
	ws.close()
	ws.dirs = map[string]watched{}
	ws.ensure()
}

func (ws *watches) close() {
	if ws.w != nil {
		_ = ws.w.Close()
		ws.w, ws.cw = nil, nil
	}
}

// sync watches every folder of set. It adds a watch again even where one
// exists, since a folder deleted and recreated under the same name lost
// its watch. With prune it also drops the folders not in set (not after a
// failed scan: its set may be partial). It reports whether a folder is
// watched now that was not (or was another folder) when the scan read it:
// a change there before the watch existed is unseen, so one more scan must
// follow.
func (ws *watches) sync(set watchSet, prune bool) (added bool) {
	ws.ensure()
	if ws.w == nil {
		return false
	}
	for dir, names := range set {
		fi, err := os.Stat(dir)
		if err != nil || !fi.IsDir() {
			continue
		}
		if err := ws.w.Add(dir); err != nil {
			if !ws.failing[dir] {
				ws.log.Warn("cannot watch a folder; relying on the periodic rescan", "dir", dir, "error", err)
				ws.failing[dir] = true
			}
			delete(ws.dirs, dir)
			continue
		}
		delete(ws.failing, dir)
		id := idOf(fi)
		if old, ok := ws.dirs[dir]; !ok || old.id != id {
			added = true
		}
		ws.dirs[dir] = watched{names: names, id: id}
	}
	if prune {
		for dir := range ws.dirs {
			if _, ok := set[dir]; !ok {
				_ = ws.w.Remove(dir) // fails when the folder is gone: fine
				delete(ws.dirs, dir)
			}
		}
	}
	return added
}

// relevant reports whether an event may change what a scan reads.
func (ws *watches) relevant(ev fsnotify.Event) bool {
	name := filepath.Base(ev.Name)
	if leftover(name) {
		return false
	}
	if d, ok := ws.dirs[filepath.Dir(ev.Name)]; ok {
		return d.names == nil || d.names[name]
	}
	return true // the watched folder itself, or unknown: better a scan too many
}
