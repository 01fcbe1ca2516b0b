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
