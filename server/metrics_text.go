package server

import (
	"io"
	"math"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// textHandler serves a scrape that asks for the Prometheus text format
// (Prometheus asks for it unless told to prefer OpenMetrics) itself, and
// every other to next, promhttp's handler of reg and the state
// collectors merged (mergedGatherer). It writes what promhttp writes,
// byte for byte (tests compare them): the state collectors' families come
// in the text format straight from their build (gatherText), and the
// samples of reg's counters, gauges and untyped families whose names need
// no escaping are written by appendTextFamily: expfmt's encoder checks the
// validity of every name of every sample again and writes them through
// an escaper, 45 % of a scrape at a thousand instances; at 5000 the scrape
// took 60 ms against a target of 40.
type textHandler struct {
	reg   prometheus.Gatherer
	state []*Collector
	next  http.Handler
	// spare is what one scrape hands the next: which label names need no
	// escaping, and the buffer a family is written into. A scrape takes
	// it, or makes its own when another scrape has it.
	spare chan *textScratch
}

type textScratch struct {
	labelOK map[string]bool
	buf     []byte
}

func newTextHandler(reg prometheus.Gatherer, state []*Collector, next http.Handler) *textHandler {
	return &textHandler{reg: reg, state: state, next: next, spare: make(chan *textScratch, 1)}
}

// textItem is a family to write: reg's (mf) or a state collector's (tf).
type textItem struct {
	name string
	mf   *dto.MetricFamily
	tf   *textFamily
}

// gather returns the families of reg and of the state collectors, sorted
// by name, reg's first on a name both have (as mergedGatherer), and what
// to call once they are written.
func (h *textHandler) gather() (items []textItem, done func(), err error) {
	mfs, err := h.reg.Gather()
	items = make([]textItem, len(mfs))
	for i, mf := range mfs {
		items[i] = textItem{name: mf.GetName(), mf: mf}
	}
	dones := make([]func(), 0, len(h.state))
	for _, c := range h.state {
		tfs, done := c.gatherText()
		dones = append(dones, done)
		add := make([]textItem, len(tfs))
		for i := range tfs {
			add[i] = textItem{name: tfs[i].name, tf: &tfs[i]}
		}
		items = mergeByName(items, add, func(it textItem) string { return it.name })
	}
	return items, func() {
		for _, done := range dones {
			done()
		}
	}, err
}

func (h *textHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	format := expfmt.NegotiateAccept(r.Header, expfmt.DefaultOpenMetricsAcceptedFormats()...)
	if format.FormatType() != expfmt.TypeTextPlain {
		h.next.ServeHTTP(w, r)
		return
	}
	items, done, err := h.gather()
	if err != nil && len(items) == 0 {
		done()
		h.next.ServeHTTP(w, r) // gathers again, and answers the error as promhttp does
		return
	}
	defer done()
	w.Header().Add("Vary", "Accept")
	w.Header().Set("Content-Type", string(format))
	var only map[string]bool // promhttp's name[] filter
	if r.URL != nil {
		if names := r.URL.Query()["name[]"]; len(names) > 0 {
			only = make(map[string]bool, len(names))
			for _, n := range names {
				only[n] = true
			}
		}
	}
	var sc *textScratch
	select {
	case sc = <-h.spare:
	default:
		sc = &textScratch{labelOK: map[string]bool{}}
	}
	if len(sc.labelOK) > 1024 { // label names are few; a bound all the same
		clear(sc.labelOK)
	}
	defer func() {
		select {
		case h.spare <- sc:
		default:
		}
	}()
	scheme := format.ToEscapingScheme()
	for _, it := range items {
		if only != nil && !only[it.name] {
			continue
		}
		if err := writeTextItem(w, it, sc, scheme); err != nil {
			return // the scraper went away
		}
	}
}

// writeTextItem writes a family of textHandler's.
func writeTextItem(w io.Writer, it textItem, sc *textScratch, scheme model.EscapingScheme) error {
	if it.tf != nil { // the names need no escaping in any scheme
		if _, err := io.WriteString(w, it.tf.header); err != nil {
			return err
		}
		_, err := w.Write(it.tf.samples)
		return err
	}
	if fastText(it.mf, sc.labelOK) {
		sc.buf = appendTextFamily(sc.buf[:0], it.mf)
		_, err := w.Write(sc.buf)
		return err
	}
	// An error here is a family promhttp would skip too (ContinueOnError).
	_, _ = expfmt.MetricFamilyToText(w, model.EscapeMetricFamily(it.mf, scheme))
	return nil
}

// fastText reports whether appendTextFamily writes mf as expfmt would: a
// counter, gauge or untyped family with samples, whose name and label
// names need no quoting or escaping.
func fastText(mf *dto.MetricFamily, labelOK map[string]bool) bool {
	switch mf.GetType() {
	case dto.MetricType_COUNTER, dto.MetricType_GAUGE, dto.MetricType_UNTYPED:
	default:
		return false
	}
	if len(mf.Metric) == 0 || !model.LegacyValidation.IsValidMetricName(mf.GetName()) {
		return false
	}
	for _, m := range mf.Metric {
		for _, lp := range m.Label {
			name := lp.GetName()
			ok, seen := labelOK[name]
			if !seen {
				ok = name != model.MetricNameLabel && model.LegacyValidation.IsValidMetricName(name)
				labelOK[name] = ok
			}
			if !ok {
				return false
			}
		}
	}
	return true
}

// appendTextFamily appends mf (fastText) in the text format: HELP, TYPE,
// a line per sample.
func appendTextFamily(b []byte, mf *dto.MetricFamily) []byte {
	name, typ := mf.GetName(), mf.GetType()
	b = appendTextHeader(b, name, mf.Help, typ)
	for _, m := range mf.Metric {
		b = append(b, name...)
		for i, lp := range m.Label {
			if i == 0 {
				b = append(b, '{')
			} else {
				b = append(b, ',')
			}
			b = append(b, lp.GetName()...)
			b = append(b, `="`...)
			b = appendEscaped(b, lp.GetValue(), true)
			b = append(b, '"')
		}
		if len(m.Label) > 0 {
			b = append(b, '}')
		}
		b = append(b, ' ')
		switch typ {
		case dto.MetricType_COUNTER:
			b = appendSampleValue(b, m.GetCounter().GetValue())
		case dto.MetricType_GAUGE:
			b = appendSampleValue(b, m.GetGauge().GetValue())
		default:
			b = appendSampleValue(b, m.GetUntyped().GetValue())
		}
		if m.TimestampMs != nil {
			b = append(b, ' ')
			b = strconv.AppendInt(b, m.GetTimestampMs(), 10)
		}
		b = append(b, '\n')
	}
	return b
}

// appendTextHeader appends the HELP (when help is set) and TYPE lines of
// a counter, gauge, histogram or untyped family.
func appendTextHeader(b []byte, name string, help *string, typ dto.MetricType) []byte {
	if help != nil {
		b = append(b, "# HELP "...)
		b = append(b, name...)
		b = append(b, ' ')
		b = appendEscaped(b, *help, false)
		b = append(b, '\n')
	}
	b = append(b, "# TYPE "...)
	b = append(b, name...)
	switch typ {
	case dto.MetricType_COUNTER:
		return append(b, " counter\n"...)
	case dto.MetricType_GAUGE:
		return append(b, " gauge\n"...)
	case dto.MetricType_HISTOGRAM:
		return append(b, " histogram\n"...)
	}
	return append(b, " untyped\n"...)
}

// appendEscaped escapes \ and newline, and " in label values, as the
// text format wants.
func appendEscaped(b []byte, s string, quote bool) []byte {
	clean := true
	for i := 0; i < len(s) && clean; i++ { // a byte loop: strings.ContainsAny was 8 % of a scrape
		clean = s[i] != '\\' && s[i] != '\n' && s[i] != '"'
	}
	if clean {
		return append(b, s...)
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			b = append(b, `\\`...)
		case c == '\n':
			b = append(b, `\n`...)
		case c == '"' && quote:
			b = append(b, `\"`...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// appendSampleValue writes f as expfmt does.
func appendSampleValue(b []byte, f float64) []byte {
	switch {
	case f == 1:
		return append(b, '1')
	case f == 0:
		return append(b, '0')
	case f == -1:
		return append(b, "-1"...)
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, +1):
		return append(b, "+Inf"...)
	case math.IsInf(f, -1):
		return append(b, "-Inf"...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}
