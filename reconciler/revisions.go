package reconciler

import (
	"runtime"
	"sync"
	"sync/atomic"

	"proclet.dev/proclet/apis/v1alpha1"
)

// parallelRevisions is the fewest new apps of one snapshot whose
// revisions are hashed on more than one core. Hashing a revision (the
// canonical JSON of the spec) is most of what Replace costs for apps it
// has not seen: 20-26 ms of CPU for a file of 1000 new apps, all before
// the first of them can start; a goroutine costs microseconds.
const parallelRevisions = 64

// newRevisions returns, for each admitted app (its index in snap) that
// has no desired version yet (a new app, or one back after its removal),
// its revision, hashed on up to GOMAXPROCS cores when there are many; ""
// for the others (and for all of them when there are few), which
// admitted hashes itself when it must. Pure: it reads apps and does not change them.
func newRevisions(apps map[string]*appState, snap []v1alpha1.SourcedApp, admitted []int) []string {
	revs := make([]string, len(admitted))
	var todo []int
	for i, k := range admitted {
		if st := apps[snap[k].App.Metadata.Name]; st == nil || st.desired == nil {
			todo = append(todo, i)
		}
	}
	workers := min(runtime.GOMAXPROCS(0), len(todo)/(parallelRevisions/2))
	if len(todo) < parallelRevisions || workers < 2 {
		return revs
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for k := int(next.Add(1) - 1); k < len(todo); k = int(next.Add(1) - 1) {
				sa := &snap[admitted[todo[k]]]
				revs[todo[k]] = v1alpha1.AppRevision(&sa.App, sa.ContentDigest())
			}
		})
	}
	wg.Wait()
	return revs
}
