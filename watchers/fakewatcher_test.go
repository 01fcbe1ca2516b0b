package watchers

import (
	"sync/atomic"

	"github.com/fsnotify/fsnotify"
)

// fakeWatcher watches nothing: events are lost unless a test injects them.
type fakeWatcher struct {
	events chan fsnotify.Event
	errs   chan error
}

func (f *fakeWatcher) Add(string) error              { return nil }
func (f *fakeWatcher) Remove(string) error           { return nil }
func (f *fakeWatcher) Events() <-chan fsnotify.Event { return f.events }
func (f *fakeWatcher) Errors() <-chan error          { return f.errs }
func (f *fakeWatcher) Close() error                  { return nil }

// fakeWatchers makes fakeWatchers and remembers them.
type fakeWatchers struct {
	made    atomic.Int32
	current atomic.Pointer[fakeWatcher]
}

func (fw *fakeWatchers) new() (watcher, error) {
	w := &fakeWatcher{events: make(chan fsnotify.Event), errs: make(chan error)}
	fw.current.Store(w)
	fw.made.Add(1)
	return w, nil
}
