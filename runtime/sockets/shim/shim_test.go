package shim

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImportsOnlySyscall: the shim runs as soon as its imports are
// initialised, so every import is init work each start through the shim
// pays. It imports syscall, nothing else.
func TestImportsOnlySyscall(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		af, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			if imp.Path.Value != `"syscall"` && imp.Path.Value != `"unsafe"` {
				t.Errorf("%s imports %s: the shim may import syscall (and unsafe, which has no init) only", f, imp.Path.Value)
			}
		}
	}
}

func TestItoa(t *testing.T) {
	for n, want := range map[int]string{0: "0", 7: "7", 4194304: "4194304"} {
		if got := itoa(n); got != want {
			t.Errorf("itoa(%d) = %q", n, got)
		}
	}
}

func TestParseCred(t *testing.T) {
	c, ok := parseCred("65534:65533:1,22,333")
	if !ok || c.Uid != 65534 || c.Gid != 65533 || len(c.Groups) != 3 || c.Groups[2] != 333 {
		t.Fatalf("parseCred: %+v, %v", c, ok)
	}
	if c, ok := parseCred("1:2:"); !ok || len(c.Groups) != 0 || c.Groups == nil {
		t.Fatalf("no groups: %+v, %v (want an empty, non-nil list: no supplementary groups)", c, ok)
	}
	for _, bad := range []string{"", "1:2", "a:2:", "1:2:x", "1:2:3:4", "-1:2:", "1:2:3,"} {
		if _, ok := parseCred(bad); ok {
			t.Errorf("parseCred(%q) accepted", bad)
		}
	}
}
