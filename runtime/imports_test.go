package runtime

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "proclet.dev/proclet/"

// The runtime's packages import downwards only: the contract imports no
// implementation, a leaf never imports runtime/exec (nor another leaf but
// procfs, which ports reads the host's sockets with, and sockets, whose
// set of listening sockets ports holds), and nothing under
// runtime/ imports the reconciler or the server. Test files included: a
// leaf's test that needs exec belongs in exec.
func TestImportsRunDownwards(t *testing.T) {
	allowed := map[string][]string{ // runtime's own packages each may import
		"runtime":                   nil,
		"runtime/runtimetest":       {"runtime"},
		"runtime/internal/testutil": {"runtime"},
		"runtime/cgroup":            {"runtime", "runtime/internal/testutil"},
		"runtime/logfile":           {"runtime", "runtime/internal/testutil"},
		"runtime/probe":             {"runtime", "runtime/internal/testutil"},
		"runtime/procfs":            {"runtime", "runtime/internal/testutil"},
		"runtime/sockets/shim":      nil, // syscall only: see its doc
		"runtime/sockets":           {"runtime/sockets/shim", "runtime/internal/testutil"},
		"runtime/ports":             {"runtime", "runtime/procfs", "runtime/sockets", "runtime/internal/testutil"},
		"runtime/exec": {"runtime", "runtime/cgroup", "runtime/logfile", "runtime/probe", "runtime/procfs",
			"runtime/ports", "runtime/sockets", "runtime/sockets/shim", "runtime/internal/testutil"},
	}
	seen := 0
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		pkg := filepath.ToSlash(filepath.Join("runtime", filepath.Dir(path)))
		ok, known := allowed[pkg]
		if !known {
			t.Errorf("%s: package %s is not in this test's table: add it with what it may import", path, pkg)
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		seen++
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			own, isOwn := strings.CutPrefix(p, module)
			if !isOwn || !strings.HasPrefix(own, "runtime") {
				if isOwn && (strings.HasPrefix(own, "reconciler") || strings.HasPrefix(own, "server") || strings.HasPrefix(own, "cmd")) {
					t.Errorf("%s imports %s: the runtime never imports its callers", path, p)
				}
				continue
			}
			if own != pkg && !contains(ok, own) {
				t.Errorf("%s (package %s) imports %s: an import running back up", path, pkg, own)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen < 50 {
		t.Fatalf("read %d files: the walk missed the runtime's packages", seen)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
