package exec

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/runtime"
)

// BenchmarkStartWaitShim is what the waiting shim costs a start (Start
// to the workload's main, p50, as BenchmarkStartSocketShim) and what a
// waiting shim holds (its RSS and PSS from smaps_rollup, in KiB, just
// after the command started; here no daemon maps the binary, so PSS
// counts its pages the daemon would share): plain against RecordExit,
// through a freshly built bin/proclet as the daemon runs it.
func BenchmarkStartWaitShim(b *testing.B) {
	e, ctx := shimBenchRuntime(b)
	l := 0
	for _, record := range []bool{false, true} {
		name := map[bool]string{false: "plain", true: "waitshim"}[record]
		b.Run(name, func(b *testing.B) {
			marks := b.TempDir()
			var took []time.Duration
			var rss, pss []int
			for i := 0; b.Loop(); i++ {
				l++
				s := runtime.StartSpec{UID: "u" + strconv.Itoa(l), App: "bench", Instance: "bench-" + strconv.Itoa(l), Ordinal: l,
					Revision: "r", Dir: marks, RecordExit: record,
					Spec: &v1alpha1.AppSpec{Command: []string{workload, "--exit-after", "50ms", "--mark-start", marks}}}
				t0 := time.Now()
				st, err := e.Start(ctx, s)
				if err != nil {
					b.Fatal(err)
				}
				stamp := waitStampGlob(b, filepath.Join(marks, s.Instance+".*"))
				took = append(took, stamp.Sub(t0))
				if r, p, ok := rollup(st.PID); ok && record { // the shim's, not the workload's
					rss, pss = append(rss, r), append(pss, p)
				}
				for e.releaseIfExited(s.UID) {
				}
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "ms-start-to-main-p50")
			if len(rss) > 0 {
				slices.Sort(rss)
				slices.Sort(pss)
				b.ReportMetric(float64(rss[len(rss)/2]), "KiB-rss-p50")
				b.ReportMetric(float64(pss[len(pss)/2]), "KiB-pss-p50")
			}
		})
	}
}

// waitStampGlob is waitStamp for the one file matching pattern (the
// stamp is named by the workload's PID, which is not the shim's).
func waitStampGlob(b *testing.B, pattern string) time.Time {
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m, _ := filepath.Glob(pattern); len(m) == 1 {
			if data, err := os.ReadFile(m[0]); err == nil && len(data) > 0 {
				if ns, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64); err == nil {
					return time.Unix(0, ns)
				}
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("no start stamp %s", pattern)
		}
		time.Sleep(200 * time.Microsecond) // polling the stamp: it holds the time, not when it was read
	}
}

// rollup is pid's Rss and Pss in KiB (/proc/<pid>/smaps_rollup).
func rollup(pid int) (rss, pss int, ok bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
	if err != nil {
		return 0, 0, false
	}
	for line := range strings.Lines(string(data)) {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		n, _ := strconv.Atoi(f[1])
		switch f[0] {
		case "Rss:":
			rss = n
		case "Pss:":
			pss = n
		}
	}
	return rss, pss, rss > 0
}
