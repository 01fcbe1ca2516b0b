package main

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"proclet.dev/proclet/apis/v1alpha1"
)

// TestManifestsDecode: every good file the model writes is a valid App with
// the model's replicas and command; every broken one is refused.
func TestManifestsDecode(t *testing.T) {
	f := newFleet("/bin/workload", 5, 20000)
	r := rand.New(rand.NewPCG(1, 1))
	for i := range poolSize {
		name := f.add(r, i)
		a := f.apps[name]
		a.replicas = i % (maxReplicas + 1)
		a.ports = i%2 == 0
		apps, err := v1alpha1.DecodeFile(a.file, []byte(f.manifest(a)))
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, f.manifest(a))
		}
		if len(apps) != 1 || apps[0].Metadata.Name != name || int(*apps[0].Spec.Replicas) != a.replicas {
			t.Fatalf("%s decoded as %+v", name, apps)
		}
		if got, want := apps[0].Spec.Command, a.command(f.workload, f.rate); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: command %q, want %q", name, got, want)
		}
		if a.ports && (len(apps[0].Spec.Ports) != 1 || apps[0].Spec.ReadinessProbe == nil) {
			t.Fatalf("%s: ports %+v probe %+v", name, apps[0].Spec.Ports, apps[0].Spec.ReadinessProbe)
		}
		for _, how := range breakages {
			a.broken = how
			if _, err := v1alpha1.DecodeFile(a.file, []byte(f.manifest(a))); err == nil {
				t.Fatalf("%s broken by %s decodes:\n%s", name, how, f.manifest(a))
			}
		}
		a.broken = ""
	}
}

// TestPlanReplays: one seed, one sequence of changes.
func TestPlanReplays(t *testing.T) {
	play := func(seed uint64) []change {
		f := newFleet("/bin/workload", 5, 20000)
		r := rand.New(rand.NewPCG(seed, 1))
		f.add(r, 0)
		var out []change
		for range 500 {
			if ch, ok := f.plan(r); ok {
				out = append(out, ch)
			}
		}
		return out
	}
	a, b := play(42), play(42)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same seed gave two sequences")
	}
	if reflect.DeepEqual(a, play(43)) {
		t.Fatal("seeds 42 and 43 gave the same sequence")
	}
	kinds := map[string]int{}
	for _, ch := range a {
		kinds[ch.kind]++
	}
	for _, k := range []string{kindAdd, kindRemove, kindScale, kindRoll, kindRelabel, kindBreak, kindFix} {
		if kinds[k] == 0 {
			t.Errorf("500 steps and no %s: %v", k, kinds)
		}
	}
}

// TestPlanBounds: whatever the sequence, the model stays within its
// bounds, a broken file is only fixed or removed, and port ranges never
// overlap.
func TestPlanBounds(t *testing.T) {
	f := newFleet("/bin/workload", 5, 20000)
	r := rand.New(rand.NewPCG(7, 7))
	f.add(r, 0)
	for step := range 2000 {
		before := map[string]appModel{}
		for n, a := range f.apps {
			before[n] = *a
		}
		ch, ok := f.plan(r)
		if !ok {
			continue
		}
		if was, existed := before[ch.app]; existed && was.broken != "" && ch.kind != kindFix && ch.kind != kindRemove {
			t.Fatalf("step %d: %s of broken %s", step, ch.kind, ch.app)
		}
		if len(f.apps) == 0 || len(f.apps) > maxApps {
			t.Fatalf("step %d: %d apps", step, len(f.apps))
		}
		used := map[int]string{}
		for n, a := range f.apps {
			if a.replicas < 0 || a.replicas > maxReplicas || !strings.HasPrefix(a.name, "app-") {
				t.Fatalf("step %d: %+v", step, *a)
			}
			if o, dup := used[a.portLow]; dup {
				t.Fatalf("step %d: %s and %s share a port range", step, n, o)
			}
			used[a.portLow] = n
		}
	}
	f.fixAll()
	for _, a := range f.apps {
		if a.broken != "" {
			t.Fatalf("%s still broken after fixAll", a.name)
		}
	}
}
