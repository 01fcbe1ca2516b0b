package server

import (
	"bufio"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
)

// NewMetricsHandler serves reg, and the series of each state collector
// given, in the Prometheus text format, or OpenMetrics when the scraper
// asks for it (promhttp: content negotiation), gzipped at gzip.BestSpeed
// when the scraper accepts gzip (as Prometheus does). A collector that
// fails does not fail the scrape: the rest is still served.
//
// A state collector given here should not also be registered on reg: its
// families are then merged into reg's as they are, without the registry's
// per-series checks and sorting, which at a thousand instances cost more
// than the rest of the scrape. (If it is registered too, reg's copy of a
// family wins: the output is the same, only slower.)
func NewMetricsHandler(reg prometheus.Gatherer, state ...*Collector) http.Handler {
	// promhttp would gzip at the default level: 14 of the 24 ms of a
	// scrape of a thousand apps. buffered compresses instead, at BestSpeed
	// (BenchmarkMetrics1000Apps/gzip 24 → 8–12 ms; body 61 → 63 KB).
	opts := promhttp.HandlerOpts{EnableOpenMetrics: true, ErrorHandling: promhttp.ContinueOnError, DisableCompression: true}
	// The text format, which Prometheus asks for by default, is written
	// by textHandler (metrics_text.go), the collectors' families straight
	// from the state (metrics_textfams.go); the rest by promhttp, from the
	// same families built as dto (mergedGatherer).
	var g prometheus.TransactionalGatherer = mergedGatherer{reg: reg, state: state}
	if len(state) == 0 {
		g = prometheus.ToTransactionalGatherer(reg)
	}
	return buffered(newTextHandler(reg, state, promhttp.HandlerForTransactional(g, opts)))
}

// metricsBufferSize is how much of an answer buffered holds before it
// writes: a thousand instances make ~700 KB of text, which net/http's own
// 4 KiB buffer sends in some 170 write calls.
const metricsBufferSize = 64 << 10

// buffered makes h's writes go out in pieces of metricsBufferSize, and
// gzips an answer of status 200 when the request accepts gzip
// (gzipPieces). It keeps one buffer between answers.
func buffered(h http.Handler) http.Handler {
	var spare atomic.Pointer[bufio.Writer]
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bw := spare.Swap(nil)
		if bw == nil {
			bw = bufio.NewWriterSize(w, metricsBufferSize)
		} else {
			bw.Reset(w)
		}
		br := &bufferedResponse{ResponseWriter: w, bw: bw, gzip: acceptsGzip(r.Header.Get("Accept-Encoding"))}
		h.ServeHTTP(br, r)
		if br.gz != nil {
			_ = br.gz.Close() // the client went away; nothing to do
		}
		_ = bw.Flush()
		bw.Reset(nil)
		spare.Store(bw)
	})
}

// acceptsGzip reports whether an Accept-Encoding header value accepts
// gzip: it names gzip, or else *, with a q above 0 (RFC 9110 12.5.3).
func acceptsGzip(header string) bool {
	gzipQ, starQ := -1.0, -1.0
	for part := range strings.SplitSeq(header, ",") {
		name, params, _ := strings.Cut(part, ";")
		q := 1.0
		for param := range strings.SplitSeq(params, ";") {
			if k, v, ok := strings.Cut(strings.TrimSpace(param), "="); ok && strings.EqualFold(k, "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "gzip":
			gzipQ = q
		case "*":
			starQ = q
		}
	}
	if gzipQ >= 0 {
		return gzipQ > 0
	}
	return starQ > 0
}

// bufferedResponse is a ResponseWriter whose body goes through bw, and
// through a gzip writer first when gzip is accepted and the status is 200
// (decided at WriteHeader or the first Write). The status and headers go
// straight to the ResponseWriter, which sends them with the first piece of
// the body.
type bufferedResponse struct {
	http.ResponseWriter
	bw   *bufio.Writer
	gzip bool        // the request accepts gzip
	gz   *gzipPieces // set once the body is being gzipped
	out  io.Writer   // where the body goes; nil until decided
}

func (b *bufferedResponse) WriteHeader(code int) {
	if b.out == nil {
		b.decide(code)
	}
	b.ResponseWriter.WriteHeader(code)
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.out == nil {
		b.decide(http.StatusOK)
	}
	return b.out.Write(p)
}

func (b *bufferedResponse) decide(code int) {
	b.out = b.bw
	if !b.gzip || code != http.StatusOK {
		return
	}
	h := b.Header()
	h.Set("Content-Encoding", "gzip")
	h.Add("Vary", "Accept-Encoding")
	h.Del("Content-Length")
	b.gz = newGzipPieces(b.bw)
	b.out = b.gz
}

// Unwrap is for http.ResponseController.
func (b *bufferedResponse) Unwrap() http.ResponseWriter { return b.ResponseWriter }

// mergedGatherer gathers reg and the state collectors, whose families are
// already sorted and consistent (they are built that way, and tested to
// match what a registry makes of them). It is transactional: the
// collectors' slabs go back to them for the next scrape once promhttp has
// written this one.
type mergedGatherer struct {
	reg   prometheus.Gatherer
	state []*Collector
}

// Gather implements prometheus.TransactionalGatherer: reg's families and
// the collectors', sorted by name; on a name both have, reg's.
func (m mergedGatherer) Gather() ([]*dto.MetricFamily, func(), error) {
	out, err := m.reg.Gather()
	dones := make([]func(), 0, len(m.state))
	for _, c := range m.state {
		fams, done := c.gatherTransactional()
		dones = append(dones, done)
		out = mergeFamilies(out, fams)
	}
	return out, func() {
		for _, done := range dones {
			done()
		}
	}, err
}

// mergeFamilies merges two lists of families sorted by name into one; on a
// name both have, a's family is kept.
func mergeFamilies(a, b []*dto.MetricFamily) []*dto.MetricFamily {
	return mergeByName(a, b, (*dto.MetricFamily).GetName)
}

// mergeByName merges two lists sorted by name into one; on a name both
// have, a's element is kept.
func mergeByName[T any](a, b []T, name func(T) string) []T {
	out := make([]T, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch c := strings.Compare(name(a[i]), name(b[j])); {
		case c < 0:
			out = append(out, a[i])
			i++
		case c > 0:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}
