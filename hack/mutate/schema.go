package main

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// A schema is one build of a file holding all its mutants: each function
// with mutants starts with "if mutantID == n { <body with mutant n> }" per
// mutant, and the test binary picks one with $PROCLET_MUTANT. One compile
// per file instead of one per mutant: the compile and link were nearly all
// of a mutant's cost. Each mutant is type-checked alone first (go/types on
// the package's export data, milliseconds): one that does not build is a
// build error and stays out of the schema. Mutants outside a function (a
// constant) are built one by one.

const mutantEnv = "PROCLET_MUTANT"

// checker type-checks one package with one of its files replaced.
type checker struct {
	fset  *token.FileSet
	pkg   string               // the import path
	files map[string]*ast.File // by absolute path, the package's other files
	imp   types.Importer
}

// newChecker loads what type-checking pkgDir's non-test files needs: their
// list (as the build selects them) and the export data of their imports.
func newChecker(goCmd, pkgDir string) (*checker, error) {
	cmd := exec.Command(goCmd, "list", "-export", "-deps", "-json=ImportPath,Dir,GoFiles,CgoFiles,Export", ".")
	cmd.Dir = pkgDir
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list -export in %s: %w", pkgDir, err)
	}
	type pkgInfo struct {
		ImportPath, Dir, Export string
		GoFiles, CgoFiles       []string
	}
	exports := map[string]string{}
	var self pkgInfo
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkgInfo
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("go list -export: %w", err)
		}
		exports[p.ImportPath] = p.Export
		self = p // the package itself comes last
	}
	if len(self.CgoFiles) > 0 {
		return nil, fmt.Errorf("%s uses cgo", self.ImportPath)
	}
	c := &checker{fset: token.NewFileSet(), pkg: self.ImportPath, files: map[string]*ast.File{}}
	c.imp = importer.ForCompiler(c.fset, "gc", func(path string) (io.ReadCloser, error) {
		if e := exports[path]; e != "" {
			return os.Open(e)
		}
		return nil, fmt.Errorf("no export data for %s", path)
	})
	for _, name := range self.GoFiles {
		p := filepath.Join(self.Dir, name)
		f, err := parser.ParseFile(c.fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		c.files[p] = f
	}
	return c, nil
}

// check type-checks the package with the files of over (by absolute
// path) in place of, or beside, its own.
func (c *checker) check(over map[string][]byte) error {
	var files []*ast.File
	for p, src := range over {
		f, err := parser.ParseFile(c.fset, p, src, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		files = append(files, f)
	}
	for p, g := range c.files {
		if over[p] == nil {
			files = append(files, g)
		}
	}
	var first error
	conf := types.Config{Importer: c.imp, Error: func(err error) {
		if first == nil {
			first = err
		}
	}}
	conf.Check(c.pkg, c.fset, files, nil)
	return first
}

// schema is the file with every mutant of ids in it, each chosen by its id.
type schema struct {
	src    []byte       // the file
	idFile []byte       // the file that reads mutantEnv
	inFunc map[int]bool // the mutants in it, by index in the target's list
}

// buildSchema writes the schema of ms (the mutants that build): those in a
// function body go in; the others are left to be built alone.
func buildSchema(name string, src []byte, ms []mutant, ok []bool) (*schema, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	s := &schema{inFunc: map[int]bool{}}
	var b strings.Builder
	last := 0
	for _, d := range f.Decls {
		fn, isFn := d.(*ast.FuncDecl)
		if !isFn || fn.Body == nil {
			continue
		}
		lb, rb := fset.Position(fn.Body.Lbrace).Offset, fset.Position(fn.Body.Rbrace).Offset
		var arms []string
		for i, m := range ms {
			if !ok[i] || m.start <= lb || m.end > rb {
				continue
			}
			body := string(m.apply(src)[lb+1 : rb+len(m.repl)-(m.end-m.start)])
			arm := fmt.Sprintf("if mutantID == %d {%s\n", i+1, body)
			if fn.Type.Results == nil {
				arm += "return\n"
			}
			arms = append(arms, arm+"}\n")
			s.inFunc[i] = true
		}
		if len(arms) == 0 {
			continue
		}
		b.Write(src[last : lb+1])
		b.WriteString("\n" + strings.Join(arms, ""))
		last = lb + 1
	}
	b.Write(src[last:])
	s.src = []byte(b.String())
	s.idFile = fmt.Appendf(nil, `package %s

import (
	"os"
	"strconv"
)

// mutantID is the mutant this test binary runs ($%s), 0 for none.
var mutantID, _ = strconv.Atoi(os.Getenv(%q))
`, f.Name.Name, mutantEnv, mutantEnv)
	return s, nil
}
