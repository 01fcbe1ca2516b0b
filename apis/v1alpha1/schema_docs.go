package v1alpha1

import (
	"embed"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"strings"
	"sync"
)

// The schema's descriptions are the doc comments of the types and fields
// of a manifest, read from this package's own source, embedded: they
// cannot drift from the code, and no generated file has to be kept in
// step. These are the files that declare the types of a manifest.
//
//go:embed types.go jobs.go content.go notify.go sockets.go scalars.go quantity.go
var schemaSources embed.FS

// schemaDocs maps "Type" and "Type.Field" to their doc comments, as one
// line of text each.
var schemaDocs = sync.OnceValues(func() (map[string]string, error) {
	docs := map[string]string{}
	fset := token.NewFileSet()
	entries, err := fs.ReadDir(schemaSources, ".")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		src, err := schemaSources.ReadFile(e.Name())
		if err != nil {
			return nil, err
		}
		f, err := parser.ParseFile(fset, e.Name(), src, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		for _, d := range f.Decls {
			if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.TYPE {
				addTypeDocs(docs, g)
			}
		}
	}
	return docs, nil
})

// addTypeDocs adds the docs of one type declaration and its fields.
func addTypeDocs(docs map[string]string, g *ast.GenDecl) {
	for _, spec := range g.Specs {
		ts := spec.(*ast.TypeSpec)
		doc := ts.Doc
		if doc == nil && len(g.Specs) == 1 {
			doc = g.Doc
		}
		docs[ts.Name.Name] = docText(doc)
		st, ok := ts.Type.(*ast.StructType)
		if !ok {
			continue
		}
		for _, f := range st.Fields.List {
			text := docText(f.Doc)
			if text == "" {
				text = docText(f.Comment)
			}
			for _, n := range f.Names {
				docs[ts.Name.Name+"."+n.Name] = text
			}
		}
	}
}

// docText is a comment as one line.
func docText(c *ast.CommentGroup) string {
	if c == nil {
		return ""
	}
	return strings.Join(strings.Fields(c.Text()), " ")
}
