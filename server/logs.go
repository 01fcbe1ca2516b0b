package server

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/internal/boundedfile"
)

// logQuery is the query of a logs request.
type logQuery struct {
	stream   string // stdout or stderr
	tail     int    // lines from the end; -1: everything
	follow   bool
	previous bool   // the previous run's lines instead of the whole log
	init     string // an init step's log instead of the instance's ("": the instance's)
	view     logView
}

func parseLogQuery(r *http.Request, now time.Time) (logQuery, error) {
	q := logQuery{stream: "stdout", tail: -1}
	v := r.URL.Query()
	if s := v.Get("stream"); s != "" {
		if s != "stdout" && s != "stderr" {
			return q, badRequest("stream %q is neither stdout nor stderr", s)
		}
		q.stream = s
	}
	if s := v.Get("tail"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return q, badRequest("tail %q is not a number of lines", s)
		}
		q.tail = n
	}
	var err error
	for name, b := range map[string]*bool{"follow": &q.follow, "previous": &q.previous, "timestamps": &q.view.timestamps} {
		if s := v.Get(name); s != "" {
			if *b, err = strconv.ParseBool(s); err != nil {
				return q, badRequest("%s %q is neither true nor false", name, s)
			}
		}
	}
	if s := v.Get("init"); s != "" {
		if !logName.MatchString(s) || len(s) > 63 {
			return q, badRequest("init %q is not the name of an init step (a DNS-1123 label)", s)
		}
		q.init = s
	}
	switch s := v.Get("format"); s {
	case "", "text":
	case "json":
		q.view.json = true
	default:
		return q, badRequest("format %q is neither text nor json", s)
	}
	if s := v.Get("since"); s != "" {
		if q.view.since, err = parseSince(s, now); err != nil {
			return q, err
		}
	}
	return q, nil
}

// parseSince reads since: a duration back from now (10m, 1h30m) or a time
// (RFC 3339).
func parseSince(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Time{}, badRequest("since %q is neither a duration (10m) nor a time (RFC 3339, 2026-01-02T15:04:05Z)", s)
}

// logs serves GET /api/v1/apps/{app}/instances/{instance}/logs: the
// output of one instance as text (or JSON lines), the rotated files
// included, or its last tail lines, or its previous run's, or those read
// since a time; with follow, then what it writes until the client leaves.
// An instance that no longer exists (removed, scaled down, replaced) is
// answered from its files while they are kept (--log-retention). Memory
// stays bounded whatever the files' size.
func (s *Server) logs(w http.ResponseWriter, r *http.Request) {
	app, inst := mux.Vars(r)["app"], mux.Vars(r)["instance"]
	q, err := parseLogQuery(r, time.Now())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q.view.instance = inst
	if err := s.logKnown(app, inst, q.stream); err != nil {
		s.writeError(w, r, err)
		return
	}
	follow := q.follow && !q.previous && r.Method == http.MethodGet
	// A read holds every file of the log open: reads are capped, so that
	// API load cannot take the descriptors supervision needs.
	slots, tooMany := s.logReads, tooManyLogReads
	if follow {
		slots, tooMany = s.streams, tooManyStreams
	}
	if !slots.tryAcquire() {
		w.Header().Set("Retry-After", "5")
		s.writeError(w, r, tooMany(slots.limit()))
		return
	}
	defer slots.release()
	path := s.logPath(app, inst, q.stream)
	if q.init != "" {
		if path, err = s.initLogPath(app, inst, q.init, q.stream); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	segs, err := openSegments(path)
	if errors.Is(err, boundedfile.ErrNotRegular) {
		s.log.Warn("a log file is not a regular file; not read", "app", app, "instance", inst, "err", err)
		err = &apiError{status: http.StatusInternalServerError, code: "Internal",
			message: fmt.Sprintf("the %s log of %s is not a regular file; not read", q.stream, inst)}
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer segs.close()
	start, stop, err := logRange(segs, q, inst)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if q.view.json {
		w.Header().Set("Content-Type", "application/x-ndjson")
	} else {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	s.answerLog(r, newStreamWriter(w, s.t.streamWrite), segs, q, path, follow, start, stop)
}

// logKnown checks that app/inst is an instance the daemon runs, or one
// whose log files are still there (a removed app, an old instance): its
// name is then checked first, so a request can never name a path outside
// the logs folder.
func (s *Server) logKnown(app, inst, stream string) error {
	if insts, ok := s.status.Instances(app); ok && slices.ContainsFunc(insts, func(i v1alpha1.Instance) bool { return i.Name == inst }) {
		return nil
	}
	if logName.MatchString(app) && logName.MatchString(inst) && len(app) <= 63 && len(inst) <= 80 {
		if path := s.logPath(app, inst, stream); path != "" && logExists(path) {
			return nil
		}
	}
	if _, ok := s.status.Instances(app); !ok {
		return notFound("app %q not found, and it has no %s log kept", app, stream)
	}
	return notFound("instance %q of app %q not found, and it has no %s log kept", inst, app, stream)
}

// initLogPath is the stream's log of the init step of app/inst (see
// runtime/logfile.InitPath: the instance's name, ".init.", the step's);
// an error when the step never wrote one.
func (s *Server) initLogPath(app, inst, step, stream string) (string, error) {
	path := s.logPath(app, inst+".init."+step, stream)
	if path == "" || !logExists(path) {
		return "", notFound("instance %q of app %q has no %s log of an init step %q", inst, app, stream, step)
	}
	return path, nil
}

// logName is what app and instance names are made of (DNS-1123 labels):
// no slash nor dot, so no path traversal.
var logName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// logExists tells whether the log at path, or one of its rotated files, is
// there (Lstat: a link counts, and is refused when read if not a file).
func logExists(path string) bool {
	for _, p := range []string{path, path + ".1"} {
		if _, err := os.Lstat(p); err == nil {
			return true
		}
	}
	return false
}

// logRange is the part of the log the query asks for: from start to stop
// (stop is the end of the log unless previous).
func logRange(segs *segments, q logQuery, inst string) (start, stop position, err error) {
	stop = segs.end()
	if q.previous {
		var ok bool
		start, stop, ok, err = segs.previousRun()
		if err == nil && !ok {
			err = notFound("the %s log of %s holds no previous run", q.stream, inst)
		}
		if err != nil {
			return start, stop, err
		}
	}
	if q.tail >= 0 {
		from, err := segs.tailStart(q.tail, stop)
		if err != nil {
			return start, stop, err
		}
		if from.seg > start.seg || (from.seg == start.seg && from.off > start.off) {
			start = from
		}
	}
	return start, stop, nil
}

// answerLog writes the lines from start to stop through the view, then
// follows the log when asked.
func (s *Server) answerLog(r *http.Request, out *streamWriter, segs *segments, q logQuery, path string, follow bool, start, stop position) {
	vw := newViewWriter(out, q.view)
	// Without -f the answer ends where the log ended when it was asked
	// (stop): lines written meanwhile would make --tail N give more than N.
	if q.previous || !follow {
		if segs.copyRange(vw, start, stop) == nil && vw.finish() == nil {
			out.flush()
		}
		return
	}
	cur, err := segs.copyFrom(vw, start)
	if err != nil {
		return // the client went away or the file failed mid-answer: no way to say so now
	}
	if !out.flush() {
		if cur != nil {
			cur.Close()
		}
		return
	}
	s.follow(r.Context(), vw, out, path, cur)
}
