package server

import (
	"bufio"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
)

// NewMetricsHandler serves reg, and the series of each state collector
// given, in the Prometheus text format, or OpenMetrics when the scraper
// asks for it (promhttp: content negotiation and gzip). A collector that
// fails does not fail the scrape: the rest is still served.
//
// A state collector given here should not also be registered on reg: its
// families are then merged into reg's as they are, without the registry's
// per-series checks and sorting, which at a thousand instances cost more
// than the rest of the scrape. (If it is registered too, reg's copy of a
// family wins: the output is the same, only slower.)
func NewMetricsHandler(reg prometheus.Gatherer, state ...*Collector) http.Handler {
	opts := promhttp.HandlerOpts{EnableOpenMetrics: true, ErrorHandling: promhttp.ContinueOnError}
	if len(state) == 0 {
		return buffered(promhttp.HandlerFor(reg, opts))
	}
	return buffered(promhttp.HandlerForTransactional(mergedGatherer{reg: reg, state: state}, opts))
}

// metricsBufferSize is how much of an answer buffered holds before it
// writes: a thousand instances make ~700 KB of text, which net/http's own
// 4 KiB buffer sends in some 170 write calls.
const metricsBufferSize = 64 << 10

// buffered makes h's writes go out in pieces of metricsBufferSize. It
// keeps one buffer between answers.
func buffered(h http.Handler) http.Handler {
	var spare atomic.Pointer[bufio.Writer]
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bw := spare.Swap(nil)
		if bw == nil {
			bw = bufio.NewWriterSize(w, metricsBufferSize)
		} else {
			bw.Reset(w)
		}
		h.ServeHTTP(bufferedResponse{ResponseWriter: w, bw: bw}, r)
		_ = bw.Flush() // the client went away; nothing to do
		bw.Reset(nil)
		spare.Store(bw)
	})
}

// bufferedResponse is a ResponseWriter whose body goes through bw; the
// status and headers go straight to the ResponseWriter, which sends them
// with the first piece of the body (or at once on WriteHeader).
type bufferedResponse struct {
	http.ResponseWriter
	bw *bufio.Writer
}

func (b bufferedResponse) Write(p []byte) (int, error) { return b.bw.Write(p) }

// Unwrap is for http.ResponseController.
func (b bufferedResponse) Unwrap() http.ResponseWriter { return b.ResponseWriter }

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
	out := make([]*dto.MetricFamily, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch c := strings.Compare(a[i].GetName(), b[j].GetName()); {
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
