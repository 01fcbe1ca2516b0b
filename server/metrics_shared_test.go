package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// keptShared is a SharedReader that hands out the very apps, and
// instances pointing to the very maps and slices, that it keeps, as the
// reconciler does: a scrape that writes what it reads shows up in them.
type keptShared struct {
	apps  []*v1alpha1.App
	insts []v1alpha1.Instance
}

func (s keptShared) SharedApps() []*v1alpha1.App { return slices.Clone(s.apps) }

func (s keptShared) SharedInstances(string) ([]v1alpha1.Instance, bool) {
	return slices.Clone(s.insts), true
}

// /metrics reads the reconciler's shared views: it must never write them.
func TestMetricsHandler_NeverWritesTheSharedViews(t *testing.T) {
	web, db := metricsApp("web", 2, 1, 2, true), metricsApp("db", 1, 1, 1, false)
	exit := &v1alpha1.ExitStatus{Code: 1, Reason: "Error", At: time.Unix(1_700_000_000, 0)}
	insts := []v1alpha1.Instance{runningInstance("web", 0, 100, 1, 1<<20), runningInstance("web", 1, 101, 2, 2<<20),
		runningInstance("db", 0, 102, 3, 3<<20)}
	insts[1].LastExit, insts[1].Restarts = exit, 3
	insts[0].Listening = []int32{8080}
	r := keptShared{apps: []*v1alpha1.App{&db, &web}, insts: insts}
	encode := func() []byte {
		b, err := json.Marshal([]any{r.apps, r.insts})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	before := encode()
	h := NewMetricsHandler(loopRegistry(), NewCollector(MetricsSources{State: r, Exits: &metricsFake{}, Probes: &metricsFake{}}))
	for i := range 3 { // the collector recycles its slabs from one scrape to the next
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		if rec.Code != http.StatusOK || !bytes.Contains(rec.Body.Bytes(), []byte("proclet_instance_memory_rss_bytes")) {
			t.Fatalf("scrape %d: %d\n%s", i, rec.Code, rec.Body)
		}
		if after := encode(); !bytes.Equal(after, before) {
			t.Fatalf("scrape %d wrote the shared views:\nwas %s\nnow %s", i, before, after)
		}
	}
}
