//go:build !linux

package watchers

import "errors"

// closeWatch needs inotify: elsewhere a file is read as soon as an event
// says it changed, whether its writer finished or not.
type closeWatch struct{ wake chan struct{} }

type writeEvent struct {
	path string
	op   writeOp
}

type writeOp uint8

const (
	opWrite writeOp = iota + 1
	opClose
	opReplaced
)

func newCloseWatch() (*closeWatch, error) {
	return nil, errors.New("close-after-write events need inotify (Linux)")
}

func (c *closeWatch) add(string) error                         { return nil }
func (c *closeWatch) remove(string)                            {}
func (c *closeWatch) drain() (evs []writeEvent, overflow bool) { return nil, false }
func (c *closeWatch) close() error                             { return nil }
