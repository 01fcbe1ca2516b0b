package v1alpha1

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// The canonical JSON written in one walk must be byte for byte what the
// round trip through encoding/json (canonicalRoundTrip, the definition)
// gives, for every value: a changed byte changes a revision, and every
// app would restart on upgrade.

// sameCanonical fails t when the walk and the round trip differ on v, or
// when v's type does not take the walk.
func sameCanonical(t testing.TB, what string, v any) {
	t.Helper()
	rv := reflect.ValueOf(v)
	p := planFor(rv.Type())
	if p == nil {
		t.Fatalf("%s: %T takes the round trip, not the walk", what, v)
	}
	got, _ := writeCanonical(nil, rv, p)
	if want := canonicalRoundTrip(v); !bytes.Equal(got, want) {
		t.Fatalf("%s: canonical JSON differs\nwalk:       %s\nround trip: %s", what, got, want)
	}
}

// revisionValues are the values AppRevision hashes for app, with and
// without an annotation and a content digest.
func revisionValues(app *App) map[string]any {
	out := map[string]any{}
	for _, at := range []string{"", "2026-12-08T03:00:00Z"} {
		for _, digest := range []string{"", "sha256:0123"} {
			key := "at=" + at + " digest=" + digest
			if app.IsApp() {
				out[key] = appRevisionView{revisionView(&app.Spec), at, digest}
				out["spec"] = revisionView(&app.Spec)
				continue
			}
			v := app.JobSpec().DeepCopy()
			defaultJobSpec(&v)
			out[key] = jobRevisionView{app.Kind, &v, at, digest}
		}
	}
	return out
}

func TestCanonicalWalkTestdata(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("testdata", "*"))
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		apps, err := DecodeFile(path, data)
		if err != nil {
			continue // the invalid examples
		}
		for i := range apps {
			kinds[apps[i].Kind] = true
			for what, v := range revisionValues(&apps[i]) {
				sameCanonical(t, path+" "+apps[i].Metadata.Name+" "+what, v)
			}
		}
	}
	for name, spec := range goldenSpecs(t) {
		sameCanonical(t, name, revisionView(spec))
		sameCanonical(t, name+" with new fields", specV2{AppSpec: *revisionView(spec), Cgroup: cgroupSpec{Path: "x"}})
	}
	for _, k := range []string{KindApp, KindJob, KindCronJob} {
		if !kinds[k] {
			t.Errorf("no %s in testdata: the walk is not compared on its spec", k)
		}
	}
}

func TestCanonicalWalkRandomSpecs(t *testing.T) {
	n := 3000
	if testing.Short() {
		n = 300
	}
	for seed := range uint64(n) {
		checkRandomSpecs(t, seed, seed*7+1)
	}
}

func FuzzCanonicalWalk(f *testing.F) {
	f.Add(uint64(1), uint64(2))
	f.Add(uint64(0xfeed), uint64(0xbeef))
	f.Fuzz(func(t *testing.T, a, b uint64) { checkRandomSpecs(t, a, b) })
}

func checkRandomSpecs(t testing.TB, a, b uint64) {
	g := &filler{r: rand.New(rand.NewPCG(a, b))}
	var spec AppSpec
	g.fill(reflect.ValueOf(&spec).Elem(), 0)
	sameCanonical(t, "AppSpec", &spec)
	sameCanonical(t, "App view", appRevisionView{&spec, g.str(), g.str()})
	var js JobSpec
	g.fill(reflect.ValueOf(&js).Elem(), 0)
	sameCanonical(t, "Job view", jobRevisionView{g.str(), &js, g.str(), g.str()})
	// The whole path, defaults included, with the oracle's bytes.
	app := App{Kind: KindApp, Spec: spec}
	app.Metadata.Annotations = map[string]string{RestartedAtAnnotation: g.str()}
	if got, want := AppRevision(&app, "d"), oracleHash(appRevisionView{revisionView(&spec), app.Metadata.Annotations[RestartedAtAnnotation], "d"}); got != want {
		t.Fatalf("AppRevision %s, the round trip's %s", got, want)
	}
}

// oracleHash is canonicalHash through the round trip.
func oracleHash(v any) string {
	sum := sha256.Sum256(canonicalRoundTrip(v))
	return hex.EncodeToString(sum[:])[:10]
}

// filler sets values at random: empty and zero ones often (what pruning
// drops), strings with the bytes JSON escapes, invalid UTF-8, U+2028,
// HTML characters, and maps whose keys decode alike.
type filler struct{ r *rand.Rand }

var fillerStrings = []string{"", "", "x", "0", "false", "a\x00b", "\b\f\n\r\t\x1f", `"\`, "<&>", "\u2028\u2029",
	"\xff", "a\xfeb", "\xed\xa0\x80", "é", "\U0001F600", "$(PORT)", "null", "{}", "[]", " "}

func (g *filler) str() string {
	s := fillerStrings[g.r.IntN(len(fillerStrings))]
	if g.r.IntN(4) == 0 {
		s += fillerStrings[g.r.IntN(len(fillerStrings))]
	}
	return s
}

func (g *filler) fill(v reflect.Value, depth int) {
	if depth > 12 || g.r.IntN(4) == 0 { // leave it zero
		return
	}
	switch v.Type() {
	case durationType:
		v.Set(reflect.ValueOf(Duration{time.Duration(g.r.IntN(3)) * time.Duration(g.r.Int64N(int64(time.Hour)))}))
		return
	case intOrStringType:
		if g.r.IntN(2) == 0 {
			v.Set(reflect.ValueOf(FromString(g.str())))
		} else {
			v.Set(reflect.ValueOf(FromInt(int32(g.r.IntN(3) - 1))))
		}
		return
	}
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(g.r.IntN(2) == 0)
	case reflect.String:
		v.SetString(g.str())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		x := []int64{0, 1, -1, 1 << 40, -(1 << 62)}[g.r.IntN(5)]
		if v.OverflowInt(x) {
			x = -1
		}
		v.SetInt(x)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(g.r.IntN(3)))
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		g.fill(v.Elem(), depth+1)
	case reflect.Slice:
		n := g.r.IntN(4)
		v.Set(reflect.MakeSlice(v.Type(), n, n))
		for i := range n {
			g.fill(v.Index(i), depth+1)
		}
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		for range g.r.IntN(5) {
			k := reflect.New(v.Type().Key()).Elem()
			k.SetString([]string{"a", "b", "", "a\xff", "a\xfe", "a\xfe1", "\u2028", "A", "é"}[g.r.IntN(9)])
			e := reflect.New(v.Type().Elem()).Elem()
			g.fill(e, depth+1)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				g.fill(v.Field(i), depth+1)
			}
		}
	}
}

func TestCanonicalWalkMapKeysThatDecodeAlike(t *testing.T) {
	// "a\xfe" and "a\xff" both decode to "a\uFFFD"; between them in the
	// raw order sits "a\xfe1": the round trip keeps the last raw one.
	for _, vals := range [][3]string{{"1", "2", "3"}, {"1", "", "3"}, {"1", "2", ""}} {
		m := map[string]string{"a\xfe": vals[0], "a\xfe1": vals[1], "a\xff": vals[2]}
		sameCanonical(t, "map", m)
	}
}

func TestCanonicalPlanTakesTheRoundTripForOtherTypes(t *testing.T) {
	for _, v := range []any{map[string]any{"a": 1}, map[int]string{}, []byte("x"), struct{ F float64 }{}} {
		if planFor(reflect.TypeOf(v)) != nil {
			t.Errorf("%T takes the walk", v)
		}
	}
	if planFor(reflect.TypeFor[*AppSpec]()) == nil || planFor(reflect.TypeFor[jobRevisionView]()) == nil {
		t.Errorf("the spec types take the round trip")
	}
}
