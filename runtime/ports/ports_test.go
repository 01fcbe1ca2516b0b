package ports

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"proclet.dev/proclet/apis/v1alpha1"

	"proclet.dev/proclet/runtime"
)

func rangePort(name, r string) v1alpha1.PortSpec { return v1alpha1.PortSpec{Name: name, Range: r} }
func fixedPort(name string, p int32) v1alpha1.PortSpec {
	return v1alpha1.PortSpec{Name: name, Port: p}
}

func hostSet(ports ...int32) *Set {
	s := new(Set)
	for _, p := range ports {
		s.add(p)
	}
	return s
}

// mustAssign assigns and returns the one port named name.
func mustAssign(t *testing.T, a *portAllocator, uid, app string, ordinal int, host *Set, specs ...v1alpha1.PortSpec) map[string]int32 {
	t.Helper()
	got, err := a.assign(uid, portKey{app, ordinal}, specs, host)
	if err != nil {
		t.Fatalf("assign %s (%s-%d): %v", uid, app, ordinal, err)
	}
	return got
}

func TestPortBounds(t *testing.T) {
	for _, tc := range []struct {
		spec   v1alpha1.PortSpec
		lo, hi int32
		bad    bool
	}{
		{spec: fixedPort("a", 8080), lo: 8080, hi: 8080},
		{spec: rangePort("a", "8000-8099"), lo: 8000, hi: 8099},
		{spec: rangePort("a", "1-65535"), lo: 1, hi: 65535},
		{spec: rangePort("a", "9000-80"), bad: true},
		{spec: rangePort("a", "0-80"), bad: true},
		{spec: rangePort("a", "80-65536"), bad: true},
		{spec: rangePort("a", "80"), bad: true},
		{spec: fixedPort("a", 0), bad: true},
	} {
		lo, hi, err := tc.spec.Bounds()
		if (err != nil) != tc.bad || lo != tc.lo || hi != tc.hi {
			t.Errorf("Bounds(%+v) = %d, %d, %v", tc.spec, lo, hi, err)
		}
	}
}

func TestAssignLowestFree(t *testing.T) {
	a := newPortAllocator()
	http := rangePort("http", "8000-8009")
	// 8000 is held by a live instance, 8001 by a foreign listener.
	if got := mustAssign(t, a, "u0", "web", 0, hostSet(), http)["http"]; got != 8000 {
		t.Fatalf("first = %d, want 8000", got)
	}
	if got := mustAssign(t, a, "u1", "web", 1, hostSet(8001), http)["http"]; got != 8002 {
		t.Errorf("with 8000 held and 8001 listening = %d, want 8002", got)
	}
}

func TestAssignSeveralPorts(t *testing.T) {
	a := newPortAllocator()
	got := mustAssign(t, a, "u0", "web", 0, hostSet(9000), rangePort("http", "9000-9009"), fixedPort("admin", 9100),
		rangePort("grpc", "9200-9209"))
	want := map[string]int32{"http": 9001, "admin": 9100, "grpc": 9200}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("ports = %v, want %v", got, want)
	}
}

func TestAssignStickyByOrdinal(t *testing.T) {
	a := newPortAllocator()
	http := rangePort("http", "8000-8009")
	for o := range 3 {
		mustAssign(t, a, fmt.Sprintf("u%d", o), "web", o, hostSet(), http)
	}
	// web-1 exits and is released; while it waits out its backoff a
	// scale-up starts web-3: it must not take web-1's port.
	a.release("u1")
	if got := mustAssign(t, a, "u3", "web", 3, hostSet(), http)["http"]; got != 8003 {
		t.Errorf("web-3 = %d, want 8003 (8001 stays web-1's)", got)
	}
	if got := mustAssign(t, a, "u1b", "web", 1, hostSet(), http)["http"]; got != 8001 {
		t.Errorf("web-1 restarted = %d, want its port 8001", got)
	}
	// The sticky port taken by a foreign listener meanwhile: the lowest
	// free port that is nobody's.
	a.release("u1b")
	if got := mustAssign(t, a, "u1c", "web", 1, hostSet(8001), http)["http"]; got != 8004 {
		t.Errorf("web-1 with 8001 taken = %d, want 8004", got)
	}
	// A narrower range that no longer holds the sticky port.
	a.release("u0")
	if got := mustAssign(t, a, "u0b", "web", 0, hostSet(), rangePort("http", "8005-8009"))["http"]; got != 8005 {
		t.Errorf("web-0 in a new range = %d, want 8005", got)
	}
}

func TestAssignTakesReservedPortsLast(t *testing.T) {
	a := newPortAllocator()
	http := rangePort("http", "8000-8002")
	for o := range 3 {
		mustAssign(t, a, fmt.Sprintf("u%d", o), "web", o, hostSet(), http)
	}
	a.release("u0")
	a.release("u2")
	// Every free port is some ordinal's: the lowest of them.
	if got := mustAssign(t, a, "u5", "web", 5, hostSet(), http)["http"]; got != 8000 {
		t.Errorf("web-5 = %d, want 8000", got)
	}
}

func TestAssignSurge(t *testing.T) {
	a := newPortAllocator()
	http := rangePort("http", "8000-8009")
	mustAssign(t, a, "old0", "web", 0, hostSet(), http)
	mustAssign(t, a, "old1", "web", 1, hostSet(), http)
	// The surge instance of web-0, while the old one still runs.
	if got := mustAssign(t, a, "new0", "web", 0, hostSet(), http)["http"]; got != 8002 {
		t.Fatalf("surge web-0 = %d, want 8002", got)
	}
	if got := a.sticky[portKey{"web", 0}]["http"]; got != 8000 {
		t.Errorf("web-0's port while the old instance lives = %d, want 8000", got)
	}
	// The old one goes: the ordinal's port is the new instance's.
	a.release("old0")
	if got := a.sticky[portKey{"web", 0}]["http"]; got != 8002 {
		t.Errorf("web-0's port after the old instance = %d, want 8002", got)
	}
	a.release("new0")
	if got := mustAssign(t, a, "newer0", "web", 0, hostSet(), http)["http"]; got != 8002 {
		t.Errorf("web-0 restarted = %d, want 8002", got)
	}
	// 8000 is nobody's any more.
	if got := mustAssign(t, a, "u2", "web", 2, hostSet(), http)["http"]; got != 8000 {
		t.Errorf("web-2 = %d, want 8000", got)
	}
}

func TestAssignOverlappingApps(t *testing.T) {
	a := newPortAllocator()
	seen := map[int32]string{}
	for o := range 3 {
		for _, app := range []struct{ name, r string }{{"api", "8000-8005"}, {"web", "8003-8009"}} {
			p := mustAssign(t, a, fmt.Sprintf("%s-%d", app.name, o), app.name, o, hostSet(), rangePort("http", app.r))["http"]
			if other, dup := seen[p]; dup {
				t.Fatalf("%s-%d got %d, already %s's", app.name, o, p, other)
			}
			seen[p] = fmt.Sprintf("%s-%d", app.name, o)
		}
	}
}

func TestAssignFixed(t *testing.T) {
	a := newPortAllocator()
	admin := fixedPort("admin", 9100)
	var pe *runtime.PortInUseError
	_, err := a.assign("u0", portKey{"web", 0}, []v1alpha1.PortSpec{admin}, hostSet(9100))
	if !errors.As(err, &pe) || pe.Port != 9100 || pe.Name != "admin" ||
		err.Error() != "port 9100 (admin) is in use by another process" {
		t.Fatalf("foreign listener: err = %v (%#v)", err, pe)
	}
	if got := mustAssign(t, a, "u0", "web", 0, hostSet(), admin)["admin"]; got != 9100 {
		t.Fatalf("free fixed port = %d", got)
	}
	_, err = a.assign("u1", portKey{"web", 0}, []v1alpha1.PortSpec{admin}, hostSet(9100))
	if !errors.As(err, &pe) || pe.Port != 9100 || err.Error() != "port 9100 (admin) is held by instance web-0 (uid u0)" {
		t.Fatalf("held by a live instance: err = %v", err)
	}
}

func TestAssignExhausted(t *testing.T) {
	a := newPortAllocator()
	http := rangePort("http", "8000-8002")
	mustAssign(t, a, "u0", "web", 0, hostSet(), http)
	// A failing assign records nothing, also for the ports before the
	// failing one.
	_, err := a.assign("u1", portKey{"web", 1}, []v1alpha1.PortSpec{rangePort("admin", "9000-9001"), http}, hostSet(8001, 8002))
	var pe *runtime.PortInUseError
	if !errors.As(err, &pe) || pe.Port != 0 || pe.Name != "http" ||
		err.Error() != "no free port in range 8000-8002 (http): 3 in use" {
		t.Fatalf("err = %v (%#v)", err, pe)
	}
	if _, ok := a.live["u1"]; ok || len(a.sticky) != 1 {
		t.Errorf("a failed assign was recorded: live %v sticky %v", a.live, a.sticky)
	}
}

func TestAssign500(t *testing.T) {
	a := newPortAllocator()
	http := rangePort("http", "20000-20499")
	seen := map[int32]int{}
	for o := range 500 {
		p := mustAssign(t, a, fmt.Sprintf("u%d", o), "web", o, hostSet(), http)["http"]
		if prev, dup := seen[p]; dup {
			t.Fatalf("web-%d got %d, already web-%d's", o, p, prev)
		}
		seen[p] = o
	}
	_, err := a.assign("u500", portKey{"web", 500}, []v1alpha1.PortSpec{http}, hostSet())
	if err == nil || err.Error() != "no free port in range 20000-20499 (http): 500 in use" {
		t.Errorf("501st: err = %v", err)
	}
}

func TestHoldAndRelease(t *testing.T) {
	a := newPortAllocator()
	a.hold("given", portKey{"web", 0}, map[string]int32{"http": 8000})
	if got := mustAssign(t, a, "u1", "web", 1, hostSet(), rangePort("http", "8000-8009"))["http"]; got != 8001 {
		t.Errorf("next to given ports = %d, want 8001", got)
	}
	if !a.release("given") || a.release("given") || a.release("unknown") {
		t.Error("release reports wrong")
	}
}

func TestPortStoreRoundTrip(t *testing.T) {
	dir := t.TempDir()
	st := &portStore{path: filepath.Join(dir, FileName)}
	a := newPortAllocator()
	http := rangePort("http", "8000-8009")
	mustAssign(t, a, "u0", "web", 0, hostSet(), http)
	mustAssign(t, a, "u1", "web", 1, hostSet(), http)
	mustAssign(t, a, "u1-surge", "web", 1, hostSet(), http) // 8002
	a.release("u0")
	if err := st.save(a); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(st.path)
	if err != nil {
		t.Fatal(err)
	}
	var f File
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	if len(f.Sticky) != 2 || len(f.Live) != 2 || f.Live[0].UID != "u1" || f.Live[1].Ports["http"] != 8002 {
		t.Errorf("file:\n%s", data)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temp files left: %v", entries)
	}

	// A new daemon: the sticky ports come back; the old live ones are
	// not held (8002 is free for anyone).
	loaded, err := st.load()
	if err != nil {
		t.Fatal(err)
	}
	b := newPortAllocator()
	b.restore(loaded)
	if got := mustAssign(t, b, "v1", "web", 1, hostSet(), http)["http"]; got != 8001 {
		t.Errorf("web-1 after restart = %d, want 8001", got)
	}
	if got := mustAssign(t, b, "v0", "web", 0, hostSet(), http)["http"]; got != 8000 {
		t.Errorf("web-0 after restart = %d, want 8000", got)
	}
	if got := mustAssign(t, b, "v2", "web", 2, hostSet(), http)["http"]; got != 8002 {
		t.Errorf("web-2 after restart = %d, want 8002", got)
	}
}

func TestPortStoreCoalesces(t *testing.T) {
	st := &portStore{path: filepath.Join(t.TempDir(), FileName)}
	a := newPortAllocator()
	mustAssign(t, a, "u0", "web", 0, hostSet(), rangePort("http", "8000-8009"))
	if err := st.save(a); err != nil {
		t.Fatal(err)
	}
	os.Remove(st.path)
	if err := st.save(a); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(st.path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an unchanged allocator was written again: %v", err)
	}
}

func TestPortStoreLoad(t *testing.T) {
	dir := t.TempDir()
	st := &portStore{path: filepath.Join(dir, FileName)}
	if f, err := st.load(); err != nil || len(f.Sticky)+len(f.Live) != 0 {
		t.Errorf("missing file: %+v, %v", f, err)
	}
	os.WriteFile(st.path, []byte("{not json"), 0o600)
	if _, err := st.load(); err == nil {
		t.Error("corrupt file: no error")
	}
}
