package watchers

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// BenchmarkScan1000Files is one scan of an unchanged directory of 1000
// manifests, as every resync does: a walk and a stat per file (each file
// was read by an earlier scan, long enough ago not to be racily clean),
// then the snapshot, which is the last one again.
func BenchmarkScan1000Files(b *testing.B) {
	dir := b.TempDir()
	for i := range 1000 {
		name := fmt.Sprintf("app%04d", i)
		data := "apiVersion: proclet.dev/v1alpha1\nkind: App\nmetadata:\n  name: " + name +
			"\nspec:\n  command: [\"/bin/sleep\", \"1000\"]\n"
		writeFile(b, filepath.Join(dir, name+".yaml"), data)
	}
	r := newReader(dir, v1alpha1.DecodeFile)
	r.now = func() time.Time { return time.Now().Add(time.Hour) }
	ctx := context.Background()
	scan := func() {
		s := r.read(ctx, time.Now())
		if s.err != nil || len(s.snap.Apps) != 1000 {
			b.Fatalf("%d apps: %v", len(s.snap.Apps), s.err)
		}
		r.commit(s)
	}
	scan()
	b.ReportAllocs()
	for b.Loop() {
		scan()
	}
}

// BenchmarkFullRead1000Files is a scan that reads every file (every 16th
// scan does), without and with the close watch: with it, the queue of
// writes is drained before and after each file is read (reader.hold).
func BenchmarkFullRead1000Files(b *testing.B) {
	dir := b.TempDir()
	for i := range 1000 {
		name := fmt.Sprintf("app%04d", i)
		data := "apiVersion: proclet.dev/v1alpha1\nkind: App\nmetadata:\n  name: " + name +
			"\nspec:\n  command: [\"/bin/sleep\", \"1000\"]\n"
		writeFile(b, filepath.Join(dir, name+".yaml"), data)
	}
	for _, watched := range []bool{false, true} {
		b.Run(fmt.Sprintf("closeWatch=%v", watched), func(b *testing.B) {
			r := newReader(dir, v1alpha1.DecodeFile)
			if watched {
				cw, err := newCloseWatch()
				if err != nil {
					b.Skip(err)
				}
				defer cw.close()
				if err := cw.add(dir); err != nil {
					b.Fatal(err)
				}
				var w writes
				r.hold = func(real string) bool {
					evs, _ := cw.drain()
					w.apply(evs, time.Now(), func(string) bool { return true })
					return w.held(real, time.Now())
				}
			}
			ctx := context.Background()
			for b.Loop() {
				r.reads = fullReadEvery - 1 // the next scan reads every file
				s := r.read(ctx, time.Now())
				if s.err != nil || len(s.snap.Apps) != 1000 {
					b.Fatalf("%d apps: %v", len(s.snap.Apps), s.err)
				}
				r.commit(s)
			}
		})
	}
}

// A resync of an unchanged directory of 1000 manifests stats the files
// and assembles nothing: the snapshot is the last one (the same slices),
// for a few allocations a file (the walk's), not the thousands of an
// assembly of every app.
func TestScan_UnchangedAssemblesNothing(t *testing.T) {
	dir := t.TempDir()
	for i := range 1000 {
		name := fmt.Sprintf("app%04d", i)
		writeFile(t, filepath.Join(dir, name+".yaml"), "apiVersion: proclet.dev/v1alpha1\nkind: App\nmetadata:\n  name: "+name+
			"\nspec:\n  command: [\"/bin/sleep\", \"1000\"]\n")
	}
	r := newReader(dir, v1alpha1.DecodeFile)
	r.now = func() time.Time { return time.Now().Add(time.Hour) } // not racily clean
	r.reads = 1                                                   // no full read among the scans below
	first := r.commit(r.read(t.Context(), time.Now()))
	var again v1alpha1.Snapshot
	allocs := testing.AllocsPerRun(5, func() {
		s := r.read(t.Context(), time.Now())
		if s.err != nil {
			t.Fatal(s.err)
		}
		again = r.commit(s)
	})
	if len(again.Apps) != 1000 || &again.Apps[0] != &first.Apps[0] || &again.Files[0] != &first.Files[0] {
		t.Fatalf("the resync's snapshot is not the last one: %d apps", len(again.Apps))
	}
	if allocs > 10*1000 {
		t.Errorf("a resync of 1000 unchanged files made %.0f allocations, want at most 10 a file", allocs)
	}
}

// benchManifests writes files manifests of per apps each, as the bench
// harness's apply does (bench.yaml, bench-1.yaml, ...), and returns the
// folder.
func benchManifests(b *testing.B, files, per int) string {
	dir := b.TempDir()
	for f := range files {
		var sb strings.Builder
		for i := range per {
			fmt.Fprintf(&sb, "---\napiVersion: proclet.dev/v1alpha1\nkind: App\nmetadata:\n  name: bench-%d\nspec:\n"+
				"  command: [\"/srv/bin/workload\", \"--mark-start\", \"/tmp/marks\", \"bench-%d\"]\n  terminationGracePeriodSeconds: 5\n",
				f*per+i, f*per+i)
		}
		writeFile(b, filepath.Join(dir, fmt.Sprintf("bench-%d.yaml", f)), sb.String())
	}
	return dir
}

// BenchmarkChangeOneFileBeside5000 is the watcher's share of a manifest
// write beside 5000 apps (5 files of 1000): a one-app file appears, or
// goes, and the scan reads it, assembles the snapshot and gives the apps
// their content, as the loop does before Sink.Replace. Per op is one
// such scan.
func BenchmarkChangeOneFileBeside5000(b *testing.B) {
	dir := benchManifests(b, 5, 1000)
	r := newReader(dir, v1alpha1.DecodeFile)
	r.now = func() time.Time { return time.Now().Add(time.Hour) } // not racily clean
	c := newContents(DefaultContentQuiet)
	ctx := context.Background()
	scan := func(want int) {
		s := r.read(ctx, time.Now())
		if s.err != nil || len(s.snap.Apps) != want {
			b.Fatalf("%d apps, want %d: %v", len(s.snap.Apps), want, s.err)
		}
		round := c.resolve(r.commit(s), time.Now())
		c.commit(round)
	}
	scan(5000)
	lat := filepath.Join(dir, "lat.yaml")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if i%2 == 1 {
			writeFile(b, lat, fmt.Sprintf("apiVersion: proclet.dev/v1alpha1\nkind: App\nmetadata:\n  name: lat%d\nspec:\n  command: [\"/bin/true\"]\n", i))
			scan(5001)
		} else {
			if err := os.Remove(lat); err != nil {
				b.Fatal(err)
			}
			scan(5000)
		}
	}
}
