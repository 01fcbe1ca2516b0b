//go:build linux

package exec

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoPdeathsig holds a rule: instances must outlive the
// daemon, and Pdeathsig would kill them (even when only the forking OS
// thread exits). No code of this package may set it.
func TestNoPdeathsig(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.KeyValueExpr:
				if id, ok := n.Key.(*ast.Ident); ok && id.Name == "Pdeathsig" {
					t.Errorf("%s: Pdeathsig set", fset.Position(n.Pos()))
				}
			case *ast.SelectorExpr:
				if n.Sel.Name == "Pdeathsig" {
					t.Errorf("%s: Pdeathsig used", fset.Position(n.Pos()))
				}
			}
			return true
		})
	}
}
