package v1alpha1

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// assignBound must set what encoding/json decodes from the marshalled
// bound value (decodeObjectJSON, the definition), or give up.

// sameAssign binds each document of a file and compares the two paths on
// it; it returns how many documents took assignBound and how many were
// bound.
func sameAssign(t testing.TB, path string, data []byte) (assigned, bound int) {
	t.Helper()
	docs, _, err := parseDocs(filepath.Ext(path), data)
	if err != nil {
		return 0, 0
	}
	for _, d := range docs {
		b := newBinder(d.line)
		typ := documentType(d.root, b)
		if typ == nil {
			continue
		}
		v := b.bind(d.root, typ, "")
		if v == nil {
			continue
		}
		bound++
		if checkAssign(t, path, typ, v) {
			assigned++
		}
	}
	return assigned, bound
}

// checkAssign compares the two paths on one bound value; it reports
// whether assignBound took it.
func checkAssign(t testing.TB, what string, typ reflect.Type, v any) bool {
	t.Helper()
	var got, want App
	ok := assignObject(v, typ, &got)
	err := decodeObjectJSON(v, typ, &want)
	if !ok {
		return false
	}
	got.Status = nil
	if err != nil {
		t.Fatalf("%s: assigned what encoding/json refuses (%v): %#v", what, err, v)
	}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		t.Fatalf("%s: assigned differs from encoding/json's\nassigned: %s\njson:     %s", what, g, w)
	}
	return true
}

func TestAssignTestdata(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "*"))
	total := 0
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		assigned, bound := sameAssign(t, path, data)
		if _, err := DecodeFile(path, data); err == nil && assigned != bound {
			t.Errorf("%s: %d of %d documents took the round trip", path, bound-assigned, bound)
		}
		total += assigned
	}
	if total == 0 {
		t.Fatal("no document compared")
	}
}

// TestAssignRandomSpecs compares the two on random specs of every kind
// (filler's values, through their JSON form as a file).
func TestAssignRandomSpecs(t *testing.T) {
	n := 500
	if testing.Short() {
		n = 100
	}
	for seed := range uint64(n) {
		g := &filler{r: rand.New(rand.NewPCG(seed, 99))}
		var spec AppSpec
		g.fill(reflect.ValueOf(&spec).Elem(), 0)
		var js JobSpec
		g.fill(reflect.ValueOf(&js).Elem(), 0)
		docs := []any{
			map[string]any{"apiVersion": GroupVersion, "kind": KindApp, "metadata": map[string]any{"name": "a"}, "spec": spec},
			map[string]any{"apiVersion": GroupVersion, "kind": KindJob, "metadata": map[string]any{"name": "j"}, "spec": js},
			map[string]any{"apiVersion": GroupVersion, "kind": KindCronJob, "metadata": map[string]any{"name": "c"},
				"spec": map[string]any{"schedule": g.str(), "jobTemplate": map[string]any{"spec": js}}},
		}
		data, err := json.Marshal(docs)
		if err != nil {
			t.Fatal(err)
		}
		if assigned, bound := sameAssign(t, "random.json", data); bound != 3 || assigned == 0 {
			t.Fatalf("seed %d: %d of %d documents assigned", seed, assigned, bound)
		}
	}
}

// TestAssignOddValues: what the binder does not hand over from a file,
// but assignBound must still get right or give up on.
func TestAssignOddValues(t *testing.T) {
	doc := func(spec map[string]any) map[string]any {
		return map[string]any{"apiVersion": GroupVersion, "kind": KindApp, "metadata": map[string]any{"name": "a"}, "spec": spec}
	}
	for name, spec := range map[string]map[string]any{
		"invalid UTF-8":       {"command": []any{"a\xff", "\xed\xa0\x80"}, "workingDir": "x\xfe"},
		"invalid map key":     {"command": []any{"a"}, "nodeSelector": map[string]any{"a\xff": "1", "a\xfe": "2"}},
		"null items":          {"command": []any{nil, "x"}, "ports": []any{nil}},
		"null IntOrString":    {"readinessProbe": map[string]any{"httpGet": map[string]any{"port": nil}}},
		"null Duration":       {"restartBackoff": map[string]any{"initial": nil}},
		"wrong type":          {"command": "x"},
		"number for a string": {"workingDir": json.Number("3")},
		"case-folded key":     {"Command": []any{"a"}},
		"float for an int":    {"minReadySeconds": json.Number("1.5")},
		"out of range":        {"minReadySeconds": json.Number("99999999999")},
	} {
		checkAssign(t, name, appType, doc(spec))
	}
	if checkAssign(t, "invalid map key", appType, doc(map[string]any{"nodeSelector": map[string]any{"a\xff": "1"}})) {
		t.Error("a map key that is not UTF-8 did not take the round trip")
	}
}

func FuzzAssignBound(f *testing.F) {
	addTestdata(f)
	f.Add(uint8(0), []byte(minimal+"  readinessProbe: {httpGet: {port: http}}\n  restartBackoff: {initial: 1s}\n"))
	f.Fuzz(func(t *testing.T, ext uint8, data []byte) {
		path := "fuzz" + fuzzExts[int(ext)%len(fuzzExts)]
		if strings.Count(string(data), "\n") > 2000 {
			return
		}
		sameAssign(t, path, data)
	})
}
