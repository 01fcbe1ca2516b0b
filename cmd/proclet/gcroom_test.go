package main

import (
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"testing"

	"proclet.dev/proclet/apis/v1alpha1"
)

func TestRoomyPercent(t *testing.T) {
	for _, c := range []struct {
		live uint64
		want int
	}{
		{0, roomyGCPercent},         // nothing measured yet: the most
		{1 << 20, roomyGCPercent},   // 16 MiB of room would be 1600 %: capped
		{4 << 20, roomyGCPercent},   // exactly the cap
		{8 << 20, 200},              // 16 MiB above 8 MiB live
		{20 << 20, 80},              // 16 MiB above 20 MiB live
		{64 << 20, daemonGCPercent}, // 25 % would be less than the daemon's own
		{1 << 40, daemonGCPercent},  // a huge heap: never below the daemon's own
	} {
		if got := roomyPercent(daemonGCPercent, c.live); got != c.want {
			t.Errorf("roomyPercent(%d, %d) = %d, want %d", daemonGCPercent, c.live, got, c.want)
		}
	}
}

// fakeGC records the GC percents a gcRoom sets.
type fakeGC struct {
	mu      sync.Mutex
	percent int
	sets    []int
}

func (f *fakeGC) set(p int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	old := f.percent
	f.percent = p
	f.sets = append(f.sets, p)
	return old
}

func (f *fakeGC) now() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.percent
}

// A large file decodes with the percent raised, a small one at the
// daemon's own; overlapping large decodes raise it once and put it back
// after the last one.
func TestGCRoom_RaisedWhileALargeFileDecodes(t *testing.T) {
	gc := &fakeGC{percent: daemonGCPercent}
	room := &gcRoom{base: daemonGCPercent, set: gc.set, live: func() uint64 { return 8 << 20 }}
	var during []int
	inner := func(path string, data []byte) ([]v1alpha1.App, error) {
		during = append(during, gc.now())
		return nil, nil
	}
	decode := room.decode(inner)
	if _, err := decode("small.yaml", make([]byte, roomyFileBytes-1)); err != nil {
		t.Fatal(err)
	}
	if _, err := decode("large.yaml", make([]byte, roomyFileBytes)); err != nil {
		t.Fatal(err)
	}
	if want := []int{daemonGCPercent, 200}; fmt.Sprint(during) != fmt.Sprint(want) {
		t.Errorf("GC percent during the decodes %v, want %v", during, want)
	}
	if got := gc.now(); got != daemonGCPercent {
		t.Errorf("GC percent after the decodes %d, want the daemon's %d", got, daemonGCPercent)
	}

	gc.sets = nil
	room.enter() // a first large decode under way
	if _, err := decode("large.yaml", make([]byte, roomyFileBytes)); err != nil {
		t.Fatal(err)
	}
	if got := gc.now(); got != 200 {
		t.Errorf("GC percent with a decode still under way %d, want 200", got)
	}
	room.leave()
	if want := []int{200, daemonGCPercent}; fmt.Sprint(gc.sets) != fmt.Sprint(want) {
		t.Errorf("overlapping decodes set %v, want %v", gc.sets, want)
	}
}

// A daemon whose live heap already leaves the room keeps its percent.
func TestGCRoom_LargeHeapLeftAsItIs(t *testing.T) {
	gc := &fakeGC{percent: daemonGCPercent}
	room := &gcRoom{base: daemonGCPercent, set: gc.set, live: func() uint64 { return 1 << 30 }}
	room.enter()
	if len(gc.sets) != 0 {
		t.Errorf("GC percent set to %v with a 1 GiB live heap, want it left", gc.sets)
	}
	room.leave()
	if got := gc.now(); got != daemonGCPercent {
		t.Errorf("GC percent after %d, want %d", got, daemonGCPercent)
	}
}

// BenchmarkDecodeRoomy decodes one file of 1000 apps as the daemon does
// (GC percent daemonGCPercent, a small live heap), plain and with room.
func BenchmarkDecodeRoomy(b *testing.B) {
	var sb strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&sb, "---\napiVersion: proclet.dev/v1alpha1\nkind: App\nmetadata:\n  name: app-%d\nspec:\n"+
			"  command: [\"/srv/bin/workload\", \"--mark-start\", \"/tmp/marks\", \"app-%d\"]\n  terminationGracePeriodSeconds: 5\n", i, i)
	}
	data := []byte(sb.String())
	defer debug.SetGCPercent(debug.SetGCPercent(daemonGCPercent))
	for _, c := range []struct {
		name   string
		decode func(string, []byte) ([]v1alpha1.App, error)
	}{
		{"plain", v1alpha1.DecodeFile},
		{"roomy", newGCRoom(daemonGCPercent).decode(v1alpha1.DecodeFile)},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := c.decode("apps.yaml", data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
