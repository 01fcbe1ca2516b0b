package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"strings"
)

// mutant is one change of one file: the bytes [start, end) replaced by repl.
type mutant struct {
	file       string // as given on the command line
	line       int
	start, end int
	repl       string
}

// apply returns src with m applied.
func (m mutant) apply(src []byte) []byte {
	out := make([]byte, 0, len(src)+len(m.repl))
	out = append(out, src[:m.start]...)
	out = append(out, m.repl...)
	return append(out, src[m.end:]...)
}

// describe returns the source lines m touches, before and after, with
// their whitespace collapsed: what a survivor prints, and the key of an
// accepted equivalent mutant (stable when lines above move).
func (m mutant) describe(src []byte) (orig, mutated string) {
	ls := bytes.LastIndexByte(src[:m.start], '\n') + 1
	le := len(src)
	if i := bytes.IndexByte(src[m.end:], '\n'); i >= 0 {
		le = m.end + i
	}
	orig = collapse(string(src[ls:le]))
	mutated = collapse(string(src[ls:m.start]) + m.repl + string(src[m.end:le]))
	if mutated == "" {
		mutated = "(removed)"
	}
	return orig, mutated
}

func collapse(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// swaps is what each operator is mutated to: a comparison to its boundary
// and its negation, arithmetic and logic to its opposite.
var swaps = map[token.Token][]token.Token{
	token.LSS: {token.LEQ, token.GEQ}, token.LEQ: {token.LSS, token.GTR},
	token.GTR: {token.GEQ, token.LEQ}, token.GEQ: {token.GTR, token.LSS},
	token.EQL: {token.NEQ}, token.NEQ: {token.EQL},
	token.ADD: {token.SUB}, token.SUB: {token.ADD}, token.MUL: {token.QUO}, token.QUO: {token.MUL},
	token.REM: {token.MUL}, token.LAND: {token.LOR}, token.LOR: {token.LAND},
	token.ADD_ASSIGN: {token.SUB_ASSIGN}, token.SUB_ASSIGN: {token.ADD_ASSIGN},
	token.MUL_ASSIGN: {token.QUO_ASSIGN}, token.QUO_ASSIGN: {token.MUL_ASSIGN},
	token.INC: {token.DEC}, token.DEC: {token.INC},
}

// enumerate returns every mutant of the Go source src, in source order.
func enumerate(name string, src []byte) ([]mutant, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", name, err)
	}
	e := &enumerator{name: name, fset: fset, src: src}
	ast.Inspect(f, e.visit)
	slices.SortStableFunc(e.out, func(a, b mutant) int { return a.start - b.start })
	return e.out, nil
}

type enumerator struct {
	name string
	fset *token.FileSet
	src  []byte
	out  []mutant
}

func (e *enumerator) add(start, end token.Pos, repl string) {
	s, t := e.fset.Position(start), e.fset.Position(end)
	e.out = append(e.out, mutant{file: e.name, line: s.Line, start: s.Offset, end: t.Offset, repl: repl})
}

func (e *enumerator) text(n ast.Node) string {
	return string(e.src[e.fset.Position(n.Pos()).Offset:e.fset.Position(n.End()).Offset])
}

func (e *enumerator) visit(n ast.Node) bool {
	switch n := n.(type) {
	case *ast.GenDecl:
		return n.Tok == token.CONST || n.Tok == token.VAR
	case *ast.DeferStmt:
		return false // cleanups: decide nothing
	case *ast.CallExpr:
		if isLogging(n) {
			return false
		}
		if id, ok := n.Fun.(*ast.Ident); ok && (id.Name == "min" || id.Name == "max") {
			e.add(id.Pos(), id.End(), map[string]string{"min": "max", "max": "min"}[id.Name])
		}
	case *ast.BinaryExpr:
		if !isStringLit(n.X) && !isStringLit(n.Y) {
			for _, to := range swaps[n.Op] {
				e.add(n.OpPos, n.OpPos+token.Pos(len(n.Op.String())), to.String())
			}
		}
	case *ast.UnaryExpr:
		if n.Op == token.NOT || n.Op == token.SUB {
			e.add(n.OpPos, n.OpPos+1, "")
		}
	case *ast.Ident:
		if n.Name == "true" || n.Name == "false" {
			e.add(n.Pos(), n.End(), map[string]string{"true": "false", "false": "true"}[n.Name])
		}
	case *ast.BasicLit:
		e.literal(n)
	case *ast.IfStmt:
		e.negate(n.Cond)
	case *ast.SwitchStmt:
		if n.Tag == nil {
			for _, c := range n.Body.List {
				for _, x := range c.(*ast.CaseClause).List {
					e.negate(x)
				}
			}
		}
	case *ast.AssignStmt:
		for _, to := range swaps[n.Tok] {
			e.add(n.TokPos, n.TokPos+token.Pos(len(n.Tok.String())), to.String())
		}
	case *ast.IncDecStmt:
		for _, to := range swaps[n.Tok] {
			e.add(n.TokPos, n.TokPos+2, to.String())
		}
	case *ast.BlockStmt:
		e.removals(n.List, false)
	case *ast.CaseClause:
		e.removals(n.Body, false)
	case *ast.CommClause:
		e.removals(n.Body, false)
	case *ast.FuncDecl:
		if n.Body != nil {
			// The body's last statement is kept when it returns a value:
			// without it the function does not build.
			e.removals(n.Body.List, n.Type.Results != nil)
			for _, s := range n.Body.List {
				ast.Inspect(s, e.visit)
			}
		}
		return false
	}
	return true
}

// literal mutates an integer constant to ±1 (0 only to 1).
func (e *enumerator) literal(n *ast.BasicLit) {
	if n.Kind != token.INT {
		return
	}
	v, err := strconv.ParseInt(n.Value, 0, 64)
	if err != nil {
		return
	}
	e.add(n.Pos(), n.End(), strconv.FormatInt(v+1, 10))
	if v > 0 {
		e.add(n.Pos(), n.End(), strconv.FormatInt(v-1, 10))
	}
}

// negate mutates a condition to its negation, unless a comparison or a
// "!" whose own mutants already negate it.
func (e *enumerator) negate(x ast.Expr) {
	switch c := x.(type) {
	case *ast.BinaryExpr:
		if c.Op != token.LAND && c.Op != token.LOR {
			return
		}
	case *ast.UnaryExpr:
		if c.Op == token.NOT {
			return
		}
	case *ast.ParenExpr:
		return
	}
	e.add(x.Pos(), x.End(), "!("+e.text(x)+")")
}

// removals mutates each statement of list that does something on its own
// (a call, an assignment, an increment, a return, a break or continue) to
// nothing; keepLast spares the last one.
func (e *enumerator) removals(list []ast.Stmt, keepLast bool) {
	for i, s := range list {
		if keepLast && i == len(list)-1 {
			break
		}
		switch s := s.(type) {
		case *ast.ExprStmt:
			if c, ok := s.X.(*ast.CallExpr); ok && isLogging(c) {
				continue
			}
		case *ast.AssignStmt:
			if s.Tok == token.DEFINE {
				continue
			}
		case *ast.IncDecStmt, *ast.ReturnStmt, *ast.BranchStmt:
		default:
			continue
		}
		e.add(s.Pos(), s.End(), "")
	}
}

// isLogging reports whether c is a call on a logger (log.X, slog.X, or a
// logger field): what it says is not a decision.
func isLogging(c *ast.CallExpr) bool {
	sel, ok := c.Fun.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	x := sel.X
	if inner, ok := x.(*ast.SelectorExpr); ok {
		x = inner.Sel
	}
	id, ok := x.(*ast.Ident)
	return ok && (id.Name == "log" || id.Name == "slog")
}

func isStringLit(x ast.Expr) bool {
	l, ok := x.(*ast.BasicLit)
	return ok && l.Kind == token.STRING
}

// scope keeps the mutants of ms that t judges: those inside t.funcs when it
// names functions (each must exist), else those outside t.exclude.
func (t *target) scope(ms []mutant) ([]mutant, error) {
	if t.funcs == nil && t.exclude == nil {
		return ms, nil
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, t.file, t.src, parser.SkipObjectResolution)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", t.file, err)
	}
	type span struct {
		name       string
		start, end int
	}
	var spans []span
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok {
			spans = append(spans, span{fn.Name.Name, fset.Position(fn.Pos()).Offset, fset.Position(fn.End()).Offset})
		}
	}
	for name := range t.funcs {
		if !slices.ContainsFunc(spans, func(s span) bool { return s.name == name }) {
			return nil, fmt.Errorf("%s: no function %s", t.file, name)
		}
	}
	in := func(m mutant) string {
		for _, s := range spans {
			if m.start >= s.start && m.start < s.end {
				return s.name
			}
		}
		return ""
	}
	return slices.DeleteFunc(slices.Clone(ms), func(m mutant) bool {
		if t.funcs != nil {
			return !t.funcs[in(m)]
		}
		return t.exclude[in(m)]
	}), nil
}
