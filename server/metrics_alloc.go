package server

import (
	"sync"
	"sync/atomic"
	"time"

	dto "github.com/prometheus/client_model/go"

	"proclet.dev/proclet/apis/v1alpha1"
)

// metricAlloc holds everything one scrape's families are made of, in
// slabs: a few allocations per scrape instead of several per series (a
// thousand instances make about twelve thousand series, 2.5 MB of protobuf
// structs). Once the scrape is written, a metricAlloc can be reset and
// used for the next one (see allocPool): every element is set again
// before it is handed out.
//
// A metricAlloc builds one of two things (begin): the dto families, for
// the Gatherer, OpenMetrics and protobuf, or the samples of each family
// already in the text format (textFams, metrics_textfams.go), which is
// what Prometheus asks for: the same series from the same build, written
// by one or the other set of methods.
type metricAlloc struct {
	text bool      // this scrape writes textFams, not the dto families
	spec []famSpec // the collector's families (names, for the text)

	fams     [famCount]dto.MetricFamily
	out      []*dto.MetricFamily
	metrics  slab[dto.Metric]
	pairs    slab[dto.LabelPair]
	pairPtrs slab[*dto.LabelPair]
	floats   slab[float64]
	uints    slab[uint64]
	gauges   slab[dto.Gauge]
	counters slab[dto.Counter]
	buckets  slab[dto.Bucket]
	bucketPs slab[*dto.Bucket]
	hists    slab[dto.Histogram]

	// The text format: each family's samples, and the label sets they
	// share (`name="value",...`, labelSet.from:to).
	textFams  [famCount][]byte
	labelText []byte
	textOut   []textFamily

	// Scratch of build, kept for the next scrape.
	byName []*v1alpha1.Instance
	groups [][]*v1alpha1.Instance
	probes [][]string
	exits  []exitCount
	jobs   []JobStats
}

// size makes room for a scrape of so many gauges, counters, histograms of
// buckets buckets each, and label pairs; more can be had, at a cost.
func (a *metricAlloc) size(gauges, counters, histograms, buckets, pairs int) {
	if a.text {
		return // the text buffers keep the size of the last scrape
	}
	metrics := gauges + counters + histograms
	a.metrics.reset(metrics)
	a.floats.reset(metrics)
	a.gauges.reset(gauges)
	a.counters.reset(counters)
	a.hists.reset(histograms)
	a.uints.reset(histograms * (buckets + 1))
	a.buckets.reset(histograms * buckets)
	a.bucketPs.reset(histograms * buckets)
	a.pairs.reset(pairs)
	a.pairPtrs.reset(pairs)
}

// slab hands out the elements of one big slice, then of smaller ones when
// it runs out.
type slab[T any] struct{ all, free []T }

// reset makes all of the slab free again, at least n elements.
func (s *slab[T]) reset(n int) {
	if len(s.all) < n {
		s.all = make([]T, n+n/8)
	}
	s.free = s.all
}

// take returns the next element, as it was left: the caller sets it.
func (s *slab[T]) take() *T {
	if len(s.free) == 0 {
		s.free = make([]T, 64)
	}
	e := &s.free[0]
	s.free = s.free[1:]
	return e
}

// takeN returns the next n elements as a full slice (an append copies).
func (s *slab[T]) takeN(n int) []T {
	if len(s.free) < n {
		s.free = make([]T, max(64, n))
	}
	out := s.free[:n:n]
	s.free = s.free[n:]
	return out
}

// begin starts a scrape of c's families: the text format when text is
// set, else the dto families, empty, in c.fams order (a.out).
func (a *metricAlloc) begin(c *Collector, text bool) {
	a.text, a.spec = text, c.fams
	if text {
		for i := range a.textFams {
			a.textFams[i] = a.textFams[i][:0]
		}
		a.labelText = a.labelText[:0]
		return
	}
	a.out = a.out[:0]
	for i := range a.fams {
		f, s := &a.fams[i], &c.fams[i]
		f.Name, f.Help, f.Type, f.Metric = &s.name, &s.help, &s.typ, f.Metric[:0]
		a.out = append(a.out, f)
	}
}

// labelSet is the labels of one or more series: the dto pairs, or in the
// text format a.labelText[from:to].
type labelSet struct {
	pairs    []*dto.LabelPair
	from, to int
}

// metric returns a metric with labels and no value yet.
func (a *metricAlloc) metric(labels []*dto.LabelPair) *dto.Metric {
	m := a.metrics.take()
	m.Label, m.Gauge, m.Counter, m.Histogram = labels, nil, nil, nil
	return m
}

// labels returns a label set, given as name, value, name, value...
// pointers (not copied: the strings must not change while the families
// are in use).
func (a *metricAlloc) labels(nameValues ...*string) labelSet {
	if a.text {
		return a.textLabels(nameValues)
	}
	out := a.pairPtrs.takeN(len(nameValues) / 2)
	for i := range out {
		p := a.pairs.take()
		p.Name, p.Value = nameValues[2*i], nameValues[2*i+1]
		out[i] = p
	}
	return labelSet{pairs: out}
}

func (a *metricAlloc) float(v float64) *float64 {
	f := a.floats.take()
	*f = v
	return f
}

func (a *metricAlloc) uint(v uint64) *uint64 {
	u := a.uints.take()
	*u = v
	return u
}

// gauge adds a sample of value v to the gauge family f.
func (a *metricAlloc) gauge(f int, l labelSet, v float64) {
	if a.text {
		a.textSample(f, l, v)
		return
	}
	m := a.metric(l.pairs)
	g := a.gauges.take()
	g.Value = a.float(v)
	m.Gauge = g
	a.fams[f].Metric = append(a.fams[f].Metric, m)
}

// counter adds a sample of value v to the counter family f.
func (a *metricAlloc) counter(f int, l labelSet, v float64) {
	if a.text {
		a.textSample(f, l, v)
		return
	}
	m := a.metric(l.pairs)
	c := a.counters.take()
	c.Value = a.float(v)
	m.Counter = c
	a.fams[f].Metric = append(a.fams[f].Metric, m)
}

// histogram adds to the histogram family f a histogram of count runs
// summing sum, with the cumulative counts of bounds (missing counts are 0).
func (a *metricAlloc) histogram(f int, l labelSet, count uint64, sum float64, bounds []float64, counts []uint64) {
	if a.text {
		a.textHistogram(f, l, count, sum, bounds, counts)
		return
	}
	m := a.metric(l.pairs)
	h := a.hists.take()
	h.SampleCount, h.SampleSum, h.Bucket = a.uint(count), a.float(sum), a.bucketPs.takeN(len(bounds))
	for i := range bounds {
		var n uint64
		if i < len(counts) {
			n = counts[i]
		}
		b := a.buckets.take()
		b.CumulativeCount, b.UpperBound = a.uint(n), &bounds[i]
		h.Bucket[i] = b
	}
	m.Histogram = h
	a.fams[f].Metric = append(a.fams[f].Metric, m)
}

// allocPool keeps the metricAlloc of the last scrape that is done, for
// the next: one at most, so that the memory it holds stays bounded (a
// sync.Pool would keep one per P, and each is a few MB), and for
// spareFor only: a daemon nobody scrapes holds none (a text scrape's
// lines: 0.8 MB at a thousand instances, 4.2 MB at 5000; the dto slabs of
// the other formats, 3 MB at a thousand; fresh slabs cost a scrape ~4 ms
// more, mostly GC).
type allocPool struct {
	spare atomic.Pointer[metricAlloc]
	mu    sync.Mutex
	timer *time.Timer // drops spare once no scrape came for spareFor
}

// spareFor is how long a scrape's slabs are kept for the next: longer
// than Prometheus's usual intervals (15 s to 1 min).
const spareFor = 90 * time.Second

func (p *allocPool) get() *metricAlloc {
	if a := p.spare.Swap(nil); a != nil {
		return a
	}
	return &metricAlloc{}
}

// put keeps a for a later scrape, without what points into the reader's
// state (label values, instances): a kept metricAlloc must not keep an
// old state alive.
func (p *allocPool) put(a *metricAlloc) {
	clear(a.pairs.all)
	a.pairs.free = nil
	clear(a.byName[:cap(a.byName)])
	clear(a.groups[:cap(a.groups)])
	clear(a.exits[:cap(a.exits)])
	clear(a.jobs[:cap(a.jobs)])
	clear(a.textOut[:cap(a.textOut)])
	p.spare.Store(a)
	p.mu.Lock()
	if p.timer == nil {
		p.timer = time.AfterFunc(spareFor, func() { p.spare.Store(nil) })
	} else {
		p.timer.Reset(spareFor)
	}
	p.mu.Unlock()
}
