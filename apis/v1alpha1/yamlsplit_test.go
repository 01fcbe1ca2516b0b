package v1alpha1

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Parsing a stream in parts must give the documents (trees and lines) of
// parsing it whole, or give up.

// sameSplit compares the parts' documents with the stream's; it reports
// whether the parts were taken.
func sameSplit(t testing.TB, data []byte, maxParts int) bool {
	t.Helper()
	parts, lines := splitYAML(data, maxParts)
	if parts == nil {
		return false
	}
	if got := strings.Join(func() []string {
		s := make([]string, len(parts))
		for i, p := range parts {
			s[i] = string(p)
		}
		return s
	}(), ""); got != string(data) {
		t.Fatalf("the parts do not make the stream")
	}
	got, ok := parseYAMLParts(parts, lines, 2)
	want, err := parseYAMLStream(data, nil)
	if !ok {
		return false
	}
	if err != nil {
		t.Fatalf("the parts parsed, the stream did not: %v\n%s", err, data)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("the parts' documents differ from the stream's\n%s", data)
	}
	return true
}

// manyDocs is n documents of doc (which may use %d for the index),
// joined with sep.
func manyDocs(n int, sep, doc string) []byte {
	var sb strings.Builder
	for i := range n {
		if i > 0 || strings.HasPrefix(sep, "\n") {
			sb.WriteString(sep)
		}
		fmt.Fprintf(&sb, doc, i)
	}
	return []byte(sb.String())
}

func TestSplitYAMLSameDocuments(t *testing.T) {
	app := "apiVersion: proclet.dev/v1alpha1\nkind: App\nmetadata:\n  name: a%d\nspec:\n  command: [a, b]\n"
	taken := map[string][]byte{
		"plain":               manyDocs(100, "---\n", app),
		"leading marker":      manyDocs(100, "---\n", "---\n"+app)[4:],
		"marker with comment": manyDocs(100, "--- # next\n", app),
		"marker with value":   manyDocs(100, "--- ", "{name: a%d}\n"),
		"block scalars":       manyDocs(100, "---\n", "a: |\n  x%d\n  ---\n  y\nb: >-\n  z\n"),
		"top-level scalars":   manyDocs(100, "---\n", "|\n  text %d\n"),
		"empty documents":     manyDocs(100, "---\n", "# only a comment %d\n"),
		"anchors":             manyDocs(100, "---\n", "a: &x {b: %d}\nc: *x\nd: {<<: *x}\n"),
		"document ends":       manyDocs(100, "---\n", "a: %d\n...\n"),
		"tab after marker":    manyDocs(100, "---\t\n", "a: %d\n"),
		"flow over lines":     manyDocs(100, "---\n", "a: [1,\n  %d]\n"),
	}
	for name, data := range taken {
		if !sameSplit(t, data, 4) {
			t.Errorf("%s: the parts were not taken", name)
		}
	}
	given := map[string][]byte{
		"anchor in another part": append(manyDocs(100, "---\n", "a: %d\n"), "---\nb: *x\n"...),
		"syntax error":           append(manyDocs(100, "---\n", "a: %d\n"), "---\nb: [\n"...),
		"quoted over a marker":   manyDocs(100, "---\n", "a: \"x%d\n---\n\"\n"),
	}
	for name, data := range given {
		if sameSplit(t, data, 4) {
			t.Errorf("%s: the parts were taken", name)
		}
	}
	for name, data := range map[string][]byte{
		"directive":       append([]byte("%YAML 1.2\n"), manyDocs(100, "---\n", "a: %d\n")...),
		"carriage return": manyDocs(100, "---\r\n", "a: %d\r\n"),
		"few documents":   manyDocs(parallelDocs-1, "---\n", "a: %d\n"),
		"marker in text":  manyDocs(100, "\n", "a: %d ---\n"),
		"one core":        manyDocs(100, "---\n", "a: %d\n"),
	} {
		maxParts := 4
		if name == "one core" {
			maxParts = 1
		}
		if parts, _ := splitYAML(data, maxParts); parts != nil {
			t.Errorf("%s: cut in %d parts", name, len(parts))
		}
	}
}

func TestSplitYAMLTestdata(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "*.y*ml"))
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		doc := strings.ReplaceAll(string(data), "%", "%%")
		sameSplit(t, manyDocs(40, "\n---\n", doc), 4)
	}
}

// FuzzSplitYAML repeats an arbitrary document so that the stream is cut,
// and compares.
func FuzzSplitYAML(f *testing.F) {
	addTestdata(f)
	f.Add(uint8(0), []byte("a: |\n  x\n---\nb: 'y\n"))
	f.Add(uint8(0), []byte("a: &x [1]\n---\nb: *x\n"))
	f.Fuzz(func(t *testing.T, n uint8, doc []byte) {
		if len(doc) > 4096 {
			return
		}
		d := strings.ReplaceAll(string(doc), "%", "%%")
		sameSplit(t, manyDocs(parallelDocs+int(n%8), "---\n", d), 2+int(n%4))
	})
}
