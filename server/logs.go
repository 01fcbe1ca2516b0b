package server

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/gorilla/mux"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/internal/boundedfile"
)

// logQuery is the query of a logs request.
type logQuery struct {
	stream string // stdout or stderr
	tail   int    // lines from the end; -1: everything
	follow bool
}

func parseLogQuery(r *http.Request) (logQuery, error) {
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
	if s := v.Get("follow"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return q, badRequest("follow %q is neither true nor false", s)
		}
		q.follow = b
	}
	return q, nil
}

// logs serves GET /api/v1/apps/{app}/instances/{instance}/logs: the
// output of one instance as text, the rotated files included, or its last
// tail lines; with follow, then what it writes until the client leaves.
// Memory stays bounded whatever the files' size.
func (s *Server) logs(w http.ResponseWriter, r *http.Request) {
	app, inst := mux.Vars(r)["app"], mux.Vars(r)["instance"]
	q, err := parseLogQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	insts, ok := s.status.Instances(app)
	if !ok {
		s.writeError(w, r, notFound("app %q not found", app))
		return
	}
	if !slices.ContainsFunc(insts, func(i v1alpha1.Instance) bool { return i.Name == inst }) {
		s.writeError(w, r, notFound("instance %q of app %q not found", inst, app))
		return
	}
	follow := q.follow && r.Method == http.MethodGet
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
	start, err := segs.tailStart(q.tail)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	out := newStreamWriter(w, s.t.streamWrite)
	cur, err := segs.copyFrom(out, start)
	if err != nil {
		return // the client went away or the file failed mid-answer: no way to say so now
	}
	if !out.flush() || !follow {
		if cur != nil {
			cur.Close()
		}
		return
	}
	s.follow(r.Context(), out, path, cur)
}
