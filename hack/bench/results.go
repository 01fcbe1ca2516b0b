package main

import (
	"math"
	"slices"
	"sync"
	"time"
)

// figure is one measured value: a metric of a peer at a size.
type figure struct {
	Peer    string    `json:"peer"`
	N       int       `json:"n"` // instances; 0 when the figure has no size
	Metric  string    `json:"metric"`
	Unit    string    `json:"unit"`
	Value   *float64  `json:"value"` // nil: not measured, Note says why
	Samples []float64 `json:"samples,omitempty"`
	Note    string    `json:"note,omitempty"`
}

// results is everything one run measured, as written to results.json.
type results struct {
	Machine  machine           `json:"machine"`
	Config   config            `json:"config"`
	Versions map[string]string `json:"versions"`
	How      map[string]string `json:"how"` // peer -> how a config reaches it
	Started  time.Time         `json:"started"`
	Finished time.Time         `json:"finished"`
	Partial  bool              `json:"partial,omitempty"` // interrupted or failed before the end
	Errors   []string          `json:"errors,omitempty"`

	mu      sync.Mutex
	Figures []figure `json:"figures"`
}

func (r *results) put(f figure) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, o := range r.Figures {
		if o.Peer == f.Peer && o.N == f.N && o.Metric == f.Metric {
			r.Figures[i] = f
			return
		}
	}
	r.Figures = append(r.Figures, f)
}

// set records value v (and the samples it summarises).
func (r *results) set(peer string, n int, metric, unit string, v float64, samples []float64, note string) {
	r.put(figure{Peer: peer, N: n, Metric: metric, Unit: unit, Value: &v, Samples: samples, Note: note})
}

// miss records that a figure could not be measured, and why.
func (r *results) miss(peer string, n int, metric, note string) {
	r.put(figure{Peer: peer, N: n, Metric: metric, Note: note})
}

func (r *results) get(peer string, n int, metric string) (figure, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range r.Figures {
		if f.Peer == peer && f.N == n && f.Metric == metric {
			return f, true
		}
	}
	return figure{}, false
}

func (r *results) value(peer string, n int, metric string) (float64, bool) {
	f, ok := r.get(peer, n, metric)
	if !ok || f.Value == nil {
		return math.NaN(), false
	}
	return *f.Value, true
}

func (r *results) addError(err string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Errors = append(r.Errors, err)
}

// pct is the q-th quantile (0 < q <= 1) of xs by nearest rank.
func pct(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

func median(xs []float64) float64 { return pct(xs, 0.5) }

// ms is d in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
