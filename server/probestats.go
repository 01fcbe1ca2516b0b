package server

import (
	"slices"
	"sort"
	"sync"
	"time"
)

// ProbeRecorder counts probe runs per app and probe for the metrics. The
// runtime calls Record after each run (exec.Options.OnProbe); the
// collector reads ProbeStats at scrape time. Apps that are gone are not
// exported (the collector only looks up the apps that exist).
type ProbeRecorder struct {
	// mu guards stats.
	mu    sync.Mutex
	stats map[[2]string]*ProbeStats
}

// NewProbeRecorder returns an empty recorder.
func NewProbeRecorder() *ProbeRecorder {
	return &ProbeRecorder{stats: map[[2]string]*ProbeStats{}}
}

// Record counts one probe run of app's probe ("startup", "readiness" or
// "liveness") that succeeded or not and took d.
func (p *ProbeRecorder) Record(app, probe string, ok bool, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := [2]string{app, probe}
	s := p.stats[k]
	if s == nil {
		s = &ProbeStats{App: app, Probe: probe, Buckets: make([]uint64, len(ProbeDurationBuckets))}
		p.stats[k] = s
	}
	if ok {
		s.Success++
	} else {
		s.Failure++
	}
	secs := d.Seconds()
	s.DurationSum += secs
	for i := sort.SearchFloat64s(ProbeDurationBuckets, secs); i < len(s.Buckets); i++ {
		s.Buckets[i]++
	}
}

// ProbeStats implements ProbeStatsReader.
func (p *ProbeRecorder) ProbeStats() []ProbeStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]ProbeStats, 0, len(p.stats))
	for _, s := range p.stats {
		c := *s
		c.Buckets = slices.Clone(s.Buckets)
		out = append(out, c)
	}
	return out
}
