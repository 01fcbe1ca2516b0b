//go:build linux

package exec

// This file holds <state-dir>/instances.json: every handle of the Runtime,
// written so that a daemon started after this one (kill -9, an upgrade with
// --on-exit keep) finds the instances still running and adopts them
// (adopt_linux.go). See "Adoption" in doc.go.

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"io/fs"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/internal/atomicfile"
	"proclet.dev/proclet/internal/boundedfile"

	"proclet.dev/proclet/runtime"
)

const (
	// instancesFileName is the handles' file in the state dir.
	instancesFileName = "instances.json"
	// instancesVersion is bumped when the file's meaning changes.
	instancesVersion = 1
	// flushEvery is how long after a change Run writes the file: a burst
	// of starts and exits is one write, made after them.
	flushEvery = 100 * time.Millisecond
	// maxInstancesFile bounds what is read of instances.json (64 MiB): a
	// record with its spec is 1-2 KB (TestInstancesFileHeadroom), so 5000
	// instances fit with room to spare, and a sparse 4 GiB file or a link
	// to /dev/zero is an error, not a daemon out of memory at every start.
	maxInstancesFile = 64 << 20
)

// instancesFile is the JSON of instances.json.
type instancesFile struct {
	Version   int              `json:"version"`
	Instances []instanceRecord `json:"instances"`
}

// instanceRecord is one handle: what a new daemon needs to check that the
// process is still the instance (PID, StartTicks, the PROCLET_UID of its
// environment) and to carry on with it.
type instanceRecord struct {
	UID      string            `json:"uid"`
	App      string            `json:"app"`
	Instance string            `json:"instance"`
	Ordinal  int               `json:"ordinal"`
	Revision string            `json:"revision"`
	Spec     *v1alpha1.AppSpec `json:"spec,omitempty"`
	Dir      string            `json:"dir,omitempty"`
	Ports    map[string]int32  `json:"ports,omitempty"`
	// ListenFDs is the fd number of each of spec.sockets in the
	// instance, by name: where the next daemon takes the socket back.
	ListenFDs map[string]int `json:"listenFDs,omitempty"`
	PID       int            `json:"pid"`
	// StartTicks is field 22 of /proc/<pid>/stat, the start time in clock
	// ticks since boot: (PID, StartTicks) names one process for ever.
	StartTicks uint64      `json:"startTicks"`
	StartedAt  time.Time   `json:"startedAt"`
	Probe      probeRecord `json:"probe"`
	// Exit is set once the instance exited (its handle not yet released):
	// a new daemon reports that exit instead of an Unknown one.
	Exit *v1alpha1.ExitStatus `json:"exit,omitempty"`
}

// probeRecord is ProbeStatus in the file, with names of its own so that a
// renamed Go field does not change the format.
type probeRecord struct {
	Started    bool      `json:"started"`
	Ready      bool      `json:"ready"`
	ReadySince time.Time `json:"readySince,omitzero"`
	Failed     string    `json:"failed,omitempty"`
	Message    string    `json:"message,omitempty"`
}

func toProbeRecord(p runtime.ProbeStatus) probeRecord {
	return probeRecord{Started: p.Started, Ready: p.Ready, ReadySince: p.ReadySince, Failed: p.Failed, Message: p.Message}
}

func (p probeRecord) status() runtime.ProbeStatus {
	return runtime.ProbeStatus{Started: p.Started, Ready: p.Ready, ReadySince: p.ReadySince, Failed: p.Failed, Message: p.Message}
}

// startSpec is the StartSpec the record was started with.
func (r *instanceRecord) startSpec() runtime.StartSpec {
	return runtime.StartSpec{UID: r.UID, App: r.App, Instance: r.Instance, Ordinal: r.Ordinal, Revision: r.Revision,
		Spec: r.Spec, Dir: r.Dir, Ports: maps.Clone(r.Ports)}
}

// instanceStore reads and writes instances.json. Changes mark it dirty
// (markDirty, from any goroutine, lock or no lock); Run's flush loop writes
// flushEvery after a change; Detach and StopAll write at once.
type instanceStore struct {
	path  string
	limit int64             // maxInstancesFile: the most a daemon reads back
	saver *atomicfile.Saver // the dirty flag and Run's flush loop; set by New

	// mu serialises writes (held across one snapshot and its write, so
	// an older snapshot never overwrites a newer one) and guards last.
	mu      sync.Mutex
	last    uint64 // the hash of the content on disk (hash), when written
	written bool   // last is set: the file was written or loaded
	over    bool   // the last write was over limit (logged once)
	hash    maphash.Hash

	// encoded is each handle's record as last written, encoded, so that a
	// write re-encodes only the records that changed (encodeLocked). The
	// store owns it: the handles never see it. Guarded by mu.
	encoded map[*handle]*encodedRecord
	gen     uint64 // the write that encodeLocked is at: the encodings it used carry it

	// Reused by each write (mu).
	records []handleRecord
	order   []*handleRecord
}

func newInstanceStore(stateDir string) *instanceStore {
	return &instanceStore{path: filepath.Join(stateDir, instancesFileName), limit: maxInstancesFile,
		encoded: map[*handle]*encodedRecord{}}
}

// markDirty says the handles changed. It never blocks.
func (s *instanceStore) markDirty() { s.saver.MarkDirty() }

// load reads the file. A missing file is fs.ErrNotExist (wrapped); a file
// that is not a regular file, is over maxInstancesFile, does not decode,
// or has another version, is an error too.
func (s *instanceStore) load() ([]instanceRecord, error) {
	data, err := boundedfile.Read(s.path, s.limit)
	if err != nil {
		return nil, fmt.Errorf("instances state: %w", err)
	}
	var f instancesFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("instances state %s is corrupt: %w", s.path, err)
	}
	if f.Version != instancesVersion {
		return nil, fmt.Errorf("instances state %s has version %d, want %d", s.path, f.Version, instancesVersion)
	}
	s.mu.Lock()
	s.last, s.written = s.sum(func(w io.Writer) error { _, err := w.Write(data); return err }), true
	s.mu.Unlock()
	return f.Instances, nil
}

// isMissing reports whether a load error only says there is no file.
func isMissing(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// recordsLocked returns a record of every handle worth remembering: every
// handle not yet released, except those that exited from a planned stop
// (reason "Stopped": the reconciler asked for it and needs nothing more
// of it; this keeps a "stop" shutdown from leaving a file full of them),
// each with its handle, appended to out[:0], unsorted (sortRecords: not
// while e.mu is held). Caller holds e.mu.
func (e *Runtime) recordsLocked(out []handleRecord) []handleRecord {
	out = out[:0]
	for _, h := range e.handles {
		if h.live.finished && h.live.state.Exit != nil && h.live.state.Exit.Reason == "Stopped" {
			continue
		}
		s := h.spec
		r := instanceRecord{
			UID: s.UID, App: s.App, Instance: s.Instance, Ordinal: s.Ordinal, Revision: s.Revision,
			Spec: s.Spec, Dir: s.Dir, Ports: h.live.state.Ports, ListenFDs: listenFDs(s.Spec),
			PID: h.pid, StartTicks: h.startTicks, StartedAt: h.live.state.StartedAt,
			Probe: toProbeRecord(h.live.state.Probe),
		}
		if h.live.finished && h.live.state.Exit != nil {
			x := *h.live.state.Exit
			r.Exit = &x
		}
		out = append(out, handleRecord{h: h, rec: r})
	}
	return out
}

// sortRecords puts records in the file's order (app, ordinal, UID) into
// order[:0] and returns it: pointers, cheaper to swap than records.
func sortRecords(records []handleRecord, order []*handleRecord) []*handleRecord {
	order = order[:0]
	for i := range records {
		order = append(order, &records[i])
	}
	slices.SortFunc(order, func(x, y *handleRecord) int {
		a, b := &x.rec, &y.rec
		if c := strings.Compare(a.App, b.App); c != 0 {
			return c
		}
		if a.Ordinal != b.Ordinal {
			return a.Ordinal - b.Ordinal
		}
		return strings.Compare(a.UID, b.UID)
	})
	return order
}

// handleRecord is a handle's record as of now, with the handle and, once
// encodeLocked ran, its encoding.
type handleRecord struct {
	h   *handle
	rec instanceRecord
	enc *encodedRecord
}

// encodedRecord is a record as last written and its JSON, kept by the
// store for its handle so that a write re-encodes only the records that
// changed: with a thousand instances, encoding them all (each with its
// spec) at every start or exit cost ~14 ms of CPU, beside the restart it
// delayed.
type encodedRecord struct {
	rec  instanceRecord
	json []byte
	gen  uint64 // the last write that used it
}

// sameRecord reports whether two records of one handle encode the same.
// The spec and the ports are set at the start and never written
// afterwards: they are compared by identity.
func sameRecord(a, b *instanceRecord) bool {
	return a.UID == b.UID && a.App == b.App && a.Instance == b.Instance && a.Ordinal == b.Ordinal &&
		a.Revision == b.Revision && a.Spec == b.Spec && a.Dir == b.Dir && sameMap(a.Ports, b.Ports) &&
		a.PID == b.PID && a.StartTicks == b.StartTicks && a.StartedAt.Equal(b.StartedAt) &&
		a.StartedAt.Location() == b.StartedAt.Location() && a.Probe == b.Probe &&
		(a.Exit == nil) == (b.Exit == nil) && (a.Exit == nil || *a.Exit == *b.Exit)
}

// sameMap reports whether two maps are the same map (or both empty).
func sameMap[K comparable, V any](a, b map[K]V) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b) && (a == nil) == (b == nil)
	}
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

// encodeLocked brings the encoding of each record up to date with it:
// only a changed record is encoded again. It drops the encodings of the
// handles no longer recorded (released, or stopped for good). Caller
// holds s.mu.
func (s *instanceStore) encodeLocked(records []*handleRecord) error {
	s.gen++
	for _, hr := range records {
		c := s.encoded[hr.h]
		if c == nil || !sameRecord(&c.rec, &hr.rec) {
			b, err := json.Marshal(&hr.rec)
			if err != nil {
				return err
			}
			c = &encodedRecord{rec: hr.rec, json: b}
			s.encoded[hr.h] = c
		}
		c.gen = s.gen
		hr.enc = c
	}
	if len(s.encoded) > len(records) { // some handles went: a sweep, only then
		for h, c := range s.encoded {
			if c.gen != s.gen {
				delete(s.encoded, h)
			}
		}
	}
	return nil
}

// writeRecords writes the file's content for records (in order, encoded
// by encodeLocked) to w, as json.Marshal of an instancesFile gives it.
// The content is written, not built: with a thousand instances it is
// over a megabyte, which a kept copy would add to the daemon's memory.
func writeRecords(w io.Writer, records []*handleRecord) error {
	if _, err := fmt.Fprintf(w, `{"version":%d,"instances":[`, instancesVersion); err != nil {
		return err
	}
	for i, hr := range records {
		if i > 0 {
			if _, err := w.Write([]byte{','}); err != nil {
				return err
			}
		}
		if _, err := w.Write(hr.enc.json); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, "]}\n")
	return err
}

// writeInstances writes the file now (when its content changed: a hash of
// it tells): to a temp file, fsynced, renamed over the file. Errors are
// logged: the state in memory stays right and the next change retries.
func (e *Runtime) writeInstances() {
	s := e.store
	s.mu.Lock()
	defer s.mu.Unlock()
	s.saver.Clean()
	e.mu.Lock()
	// The records share only what never changes after a start: the spec
	// (read only) and the ports map (State.Ports is never written).
	s.records = e.recordsLocked(s.records)
	e.mu.Unlock()
	s.order = sortRecords(s.records, s.order)
	defer func() {
		clear(s.order) // let released handles go
		clear(s.records)
	}()
	if err := s.encodeLocked(s.order); err != nil { // not indented: written often, with every instance
		e.log.Error("encoding the instances state", "err", err)
		return
	}
	sum := s.sum(func(w io.Writer) error { return writeRecords(w, s.order) })
	if s.written && sum == s.last {
		return
	}
	var size countingWriter
	err := atomicfile.WriteFunc(s.path, func(w io.Writer) error {
		bw := bufio.NewWriterSize(io.MultiWriter(w, &size), 64<<10)
		if err := writeRecords(bw, s.order); err != nil {
			return err
		}
		return bw.Flush()
	})
	if err != nil {
		e.log.Error("saving the instances state; a daemon restarted now finds the instances by their environment", "file", s.path, "err", err)
		s.saver.MarkDirty() // retried at the next flush
		return
	}
	s.last, s.written = sum, true
	if over := int64(size) > s.limit; over != s.over {
		s.over = over
		if over {
			e.log.Error("the instances state is larger than a restarted daemon reads; it would find the instances by their environment marker, without their specs",
				"file", s.path, "bytes", int64(size), "bound", boundedfile.Bytes(s.limit))
		}
	}
}

// countingWriter counts what is written through it.
type countingWriter int64

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}

// sum is the hash of what write writes. Caller holds s.mu.
func (s *instanceStore) sum(write func(io.Writer) error) uint64 {
	s.hash.Reset()
	write(&s.hash) // a maphash.Hash never fails a write
	return s.hash.Sum64()
}

// moveAside moves an unreadable state file aside (boundedfile.MoveAside),
// so that a good one is written in its place, and returns log attributes
// saying where it went, or why it could not be moved.
func moveAside(path string) []any {
	aside, err := boundedfile.MoveAside(path, time.Now())
	if err != nil {
		return []any{"move_err", err}
	}
	return []any{"moved_to", aside}
}
