package server

import (
	"bytes"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// encodingJSON is what writeJSON writes for v.
func encodingJSON(t *testing.T, v any) string {
	t.Helper()
	rec := httptest.NewRecorder()
	writeJSON(rec, http.StatusOK, v)
	return rec.Body.String()
}

// trickyStrings need escaping, or look as if they do.
var trickyStrings = []string{"", "web-0", `quote " and \ backslash`, "tab\tnew\nline\rcr\bbs\fff", "\x00\x01\x1f\x7f",
	"<html> & 'amp'", "héllo wörld ✓", "bad utf8 \xff\xfe end", "\u2028 and \u2029", "\xe2\x80", "emoji 🙂", "/slash/"}

var timeType = reflect.TypeFor[time.Time]()

// fill sets v, and every field inside it, to a random value: nil and
// empty maps, slices and pointers included, floats in every format.
func fill(v reflect.Value, rnd *rand.Rand) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(trickyStrings[rnd.IntN(len(trickyStrings))])
	case reflect.Bool:
		v.SetBool(rnd.IntN(2) == 1)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n := rnd.Int64() >> rnd.IntN(64)
		if rnd.IntN(2) == 0 {
			n = -n
		}
		for v.OverflowInt(n) {
			n /= 1 << 16
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n := rnd.Uint64() >> rnd.IntN(64)
		for v.OverflowUint(n) {
			n /= 1 << 16
		}
		v.SetUint(n)
	case reflect.Float32, reflect.Float64:
		floats := []float64{0, 1, -1, 0.1, 12.5, 1e-6, 9.99e-7, -3.25e-9, 1e20, 1e21, 123456789.123456, 1e-320,
			rnd.Float64() * 100, rnd.NormFloat64() * 1e10}
		v.SetFloat(floats[rnd.IntN(len(floats))])
	case reflect.Map:
		if rnd.IntN(4) == 0 {
			return // nil
		}
		m := reflect.MakeMap(v.Type())
		for range rnd.IntN(4) {
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			fill(k, rnd)
			fill(e, rnd)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Slice:
		if rnd.IntN(4) == 0 {
			return // nil
		}
		s := reflect.MakeSlice(v.Type(), rnd.IntN(4), 4)
		for i := range s.Len() {
			fill(s.Index(i), rnd)
		}
		v.Set(s)
	case reflect.Pointer:
		if rnd.IntN(3) == 0 {
			return // nil
		}
		p := reflect.New(v.Type().Elem())
		fill(p.Elem(), rnd)
		v.Set(p)
	case reflect.Struct:
		if v.Type() == timeType {
			zone := []*time.Location{time.UTC, time.FixedZone("", 2*3600), time.FixedZone("", -(9*3600 + 30*60))}
			t := time.Unix(rnd.Int64N(250_000_000_000)-62_000_000_000, rnd.Int64N(1e9)).In(zone[rnd.IntN(len(zone))])
			if rnd.IntN(4) == 0 {
				t = t.Truncate(time.Second)
			}
			v.Set(reflect.ValueOf(t))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), rnd)
			}
		}
	default:
		panic("fill: no random " + v.Type().String())
	}
}

// TestInstanceJSON_MatchesEncodingJSON holds the hand-written instance
// lists to what encoding/json writes, byte for byte, over random
// instances with every field set (a field added to v1alpha1.Instance and
// not written by hand fails it).
func TestInstanceJSON_MatchesEncodingJSON(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for round := range 300 {
		insts := make([]v1alpha1.Instance, rnd.IntN(4))
		for i := range insts {
			fill(reflect.ValueOf(&insts[i]).Elem(), rnd)
		}
		if round == 0 {
			insts = nil
		}
		want := encodingJSON(t, list[v1alpha1.Instance]{Items: insts})
		if got := string(appendInstanceList(nil, insts)); got != want {
			t.Fatalf("round %d: wrote\n%s\nencoding/json writes\n%s", round, got, want)
		}
	}
}

func TestInstanceJSON_NonFiniteFloats(t *testing.T) {
	got := string(appendInstanceList(nil, []v1alpha1.Instance{{CPUPercent: nanFloat(), CPUSeconds: 1}}))
	if !bytes.Contains([]byte(got), []byte(`"cpuPercent": 0,`)) {
		t.Fatalf("NaN written as\n%s", got)
	}
}

func nanFloat() float64 { z := 0.0; return z / z }

// sharedStatus is a fakeStatus that counts the reads of its shared
// instances, which are the ones it serves: a handler that modifies what
// it reads shows up in them.
type sharedStatus struct {
	*fakeStatus
	shared int
}

func (s *sharedStatus) SharedInstances(app string) ([]v1alpha1.Instance, bool) {
	s.shared++
	return s.fakeStatus.Instances(app)
}

func TestServer_InstanceListsAsEncodingJSON(t *testing.T) {
	f := newFake()
	f.instances["web"][0].Ports, f.instances["web"][0].Listening = nil, nil // shown as {} and []
	f.instances["web"][0].LastExit = &v1alpha1.ExitStatus{Code: 137, Signal: "SIGKILL", Reason: "LivenessProbeFailed",
		At: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)}
	before := slices.Clone(f.instances["web"])
	s := &sharedStatus{fakeStatus: f}
	h := New(Options{Status: s})
	for _, path := range []string{"/api/v1/instances", "/api/v1/apps/web/instances"} {
		app := ""
		if path != "/api/v1/instances" {
			app = "web"
		}
		insts, _ := f.Instances(app)
		want := encodingJSON(t, list[v1alpha1.Instance]{Items: presentInstances(insts)})
		rec := get(t, h, "GET", path)
		if rec.Body.String() != want {
			t.Errorf("%s:\n%s\nwant\n%s", path, rec.Body, want)
		}
		if rec.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%s: Content-Type %q", path, rec.Header().Get("Content-Type"))
		}
	}
	if s.shared != 2 {
		t.Errorf("the shared reader was read %d times, want 2", s.shared)
	}
	if !reflect.DeepEqual(f.instances["web"], before) {
		t.Errorf("answering modified the reader's instances:\n%+v\nwas\n%+v", f.instances["web"], before)
	}
}
