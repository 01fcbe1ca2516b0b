package server

import (
	"math"

	dto "github.com/prometheus/client_model/go"
)

// The collector's families in the text format, written straight from
// the state by build (a metricAlloc begun with text set) rather than
// built as dto families first and written from them: at 5000 instances
// the dto structs, their pointers and the encoder's checks were most of
// a scrape. The lines are expfmt's, byte for byte
// (TestMetricsHandler_SameAsRegistry compares them with what a registry
// of the same collector serves): the names of these families and of
// their labels need no quoting, so only label values are escaped.

// textFamily is one family of a collector with samples, in the text
// format: its name (for the order and the name[] filter), its HELP and
// TYPE lines, and its samples.
type textFamily struct {
	name, header string
	samples      []byte
}

// gatherText builds the collector's families in the text format, those
// with samples, sorted by name; they are valid until done is called.
func (c *Collector) gatherText() (fams []textFamily, done func()) {
	al := c.allocs.get()
	c.build(al, true)
	fams = al.textOut[:0]
	for i := range al.textFams {
		if len(al.textFams[i]) > 0 {
			fams = append(fams, textFamily{name: c.fams[i].name, header: c.fams[i].header, samples: al.textFams[i]})
		}
	}
	al.textOut = fams
	return fams, func() { c.allocs.put(al) }
}

// textHeader is a family's HELP and TYPE lines.
func textHeader(name, help string, typ dto.MetricType) string {
	return string(appendTextHeader(nil, name, &help, typ))
}

// textLabels appends a label set to a.labelText: `name="value",...`,
// values escaped.
func (a *metricAlloc) textLabels(nameValues []*string) labelSet {
	from := len(a.labelText)
	b := a.labelText
	for i := 0; i+1 < len(nameValues); i += 2 {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, *nameValues[i]...)
		b = append(b, `="`...)
		b = appendEscaped(b, *nameValues[i+1], true)
		b = append(b, '"')
	}
	a.labelText = b
	return labelSet{from: from, to: len(b)}
}

// appendTextLabels appends the braces and labels of a sample: l, and
// le="bound" when bucket is set.
func (a *metricAlloc) appendTextLabels(b []byte, l labelSet, bucket bool, bound float64) []byte {
	if l.from == l.to && !bucket {
		return b
	}
	b = append(b, '{')
	b = append(b, a.labelText[l.from:l.to]...)
	if bucket {
		if l.from != l.to {
			b = append(b, ',')
		}
		b = append(b, `le="`...)
		b = appendSampleValue(b, bound)
		b = append(b, '"')
	}
	return append(b, '}')
}

// textSample appends a sample of value v to family f.
func (a *metricAlloc) textSample(f int, l labelSet, v float64) {
	b := append(a.textFams[f], a.spec[f].name...)
	b = a.appendTextLabels(b, l, false, 0)
	b = append(b, ' ')
	b = appendSampleValue(b, v)
	a.textFams[f] = append(b, '\n')
}

// textHistogram appends a histogram to family f as expfmt writes one: a
// bucket per bound, +Inf (the count) unless a bound is +Inf, the sum and
// the count.
func (a *metricAlloc) textHistogram(f int, l labelSet, count uint64, sum float64, bounds []float64, counts []uint64) {
	name := a.spec[f].name
	b := a.textFams[f]
	line := func(suffix string, bucket bool, bound, v float64) {
		b = append(b, name...)
		b = append(b, suffix...)
		b = a.appendTextLabels(b, l, bucket, bound)
		b = append(b, ' ')
		b = appendSampleValue(b, v)
		b = append(b, '\n')
	}
	infSeen := false
	for i, bound := range bounds {
		var n uint64
		if i < len(counts) {
			n = counts[i]
		}
		line("_bucket", true, bound, float64(n))
		infSeen = infSeen || math.IsInf(bound, +1)
	}
	if !infSeen {
		line("_bucket", true, math.Inf(+1), float64(count))
	}
	line("_sum", false, 0, sum)
	line("_count", false, 0, float64(count))
	a.textFams[f] = b
}
