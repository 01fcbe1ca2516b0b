package manifestedit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// editYAML sets the annotation in the document of app, in the style of
// the file: a block mapping gets new lines indented as its siblings, a flow
// mapping ({name: web}) gets a flow entry, an existing value is replaced
// where it is written.
func editYAML(data []byte, app, key, value string) ([]byte, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("no document defines app %q", app)
		}
		if err != nil {
			return nil, err
		}
		if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
			continue
		}
		metaKey, meta := mapGet(doc.Content[0], "metadata")
		if meta == nil || meta.Kind != yaml.MappingNode {
			continue
		}
		if _, name := mapGet(meta, "name"); name == nil || name.Value != app {
			continue
		}
		e := &yamlEditor{data: data}
		return e.setIn(metaKey, meta, key, value)
	}
}

// mapGet returns the key and value nodes of key in mapping m.
func mapGet(m *yaml.Node, key string) (*yaml.Node, *yaml.Node) {
	if m.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Value == key {
			return k, m.Content[i+1]
		}
	}
	return nil, nil
}

type yamlEditor struct{ data []byte }

// offset is the byte offset of a node's 1-based line and column (which
// yaml.v3 counts in characters).
func (e *yamlEditor) offset(n *yaml.Node) (int, error) {
	line, off := 1, 0
	for line < n.Line {
		i := bytes.IndexByte(e.data[off:], '\n')
		if i < 0 {
			return 0, errors.New("node position past the end of the file")
		}
		off += i + 1
		line++
	}
	for col := 1; col < n.Column; col++ {
		if off >= len(e.data) || e.data[off] == '\n' {
			return 0, errors.New("node position past the end of its line")
		}
		_, size := utf8.DecodeRune(e.data[off:])
		off += size
	}
	return off, nil
}

// setIn sets key in the metadata mapping meta (whose key node is metaKey).
func (e *yamlEditor) setIn(metaKey, meta *yaml.Node, key, value string) ([]byte, error) {
	if meta.Anchor != "" {
		return nil, errors.New("metadata has an anchor (&): other documents may share it")
	}
	entry := key + ": " + strconv.Quote(value)
	annKey, ann := mapGet(meta, "annotations")
	switch {
	case ann == nil && meta.Style&yaml.FlowStyle != 0:
		return e.flowInsert(meta, "annotations: {"+entry+"}")
	case ann == nil:
		step := meta.Content[0].Column - metaKey.Column
		if step <= 0 {
			step = 2
		}
		return e.blockInsert(meta, "annotations:", entry, step)
	case ann.Anchor != "" || ann.Kind == yaml.AliasNode:
		return nil, errors.New("metadata.annotations is an anchor or an alias")
	case ann.Kind == yaml.ScalarNode && ann.Tag == "!!null":
		return e.nullInsert(annKey, ann, entry)
	case ann.Kind != yaml.MappingNode:
		return nil, errors.New("metadata.annotations is not a mapping")
	}
	if _, v := mapGet(ann, key); v != nil {
		return e.replaceScalar(v, ann.Style&yaml.FlowStyle != 0, strconv.Quote(value))
	}
	if ann.Style&yaml.FlowStyle != 0 || len(ann.Content) == 0 {
		return e.flowInsert(ann, entry)
	}
	return e.blockInsert(ann, entry, "", 0)
}

// blockInsert inserts line (then child, indented step more, when not
// empty) before the first key of the block mapping m, at its indentation.
func (e *yamlEditor) blockInsert(m *yaml.Node, line, child string, step int) ([]byte, error) {
	first, err := e.offset(m.Content[0])
	if err != nil {
		return nil, err
	}
	ls := lineStart(e.data, first)
	indent := e.data[ls:first]
	if !blank(indent) {
		return nil, errors.New("the mapping does not start on a line of its own")
	}
	text := string(indent) + line + "\n"
	if child != "" {
		text += string(indent) + spaces(step) + child + "\n"
	}
	return splice(e.data, ls, ls, text), nil
}

// nullInsert fills an empty `annotations:` (nothing after the colon) with
// one entry on the next line.
func (e *yamlEditor) nullInsert(annKey, ann *yaml.Node, entry string) ([]byte, error) {
	k, err := e.offset(annKey)
	if err != nil {
		return nil, err
	}
	end := bytes.IndexByte(e.data[k:], '\n')
	if end < 0 {
		end = len(e.data) - k
	}
	rest := e.data[k+len(annKey.Value) : k+end]
	if ann.Value != "" || !bytes.HasPrefix(rest, []byte(":")) || !blank(uncomment(rest[1:])) {
		return nil, errors.New("metadata.annotations is null, written on its key's line")
	}
	ls := lineStart(e.data, k)
	text := "\n" + string(e.data[ls:k]) + "  " + entry
	return splice(e.data, k+end, k+end, text), nil
}

// uncomment drops a " # comment" (or a line that is one).
func uncomment(s []byte) []byte {
	for i, c := range s {
		if c == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t') {
			return s[:i]
		}
	}
	return s
}

// flowInsert adds entry to the flow mapping m, before its closing brace.
func (e *yamlEditor) flowInsert(m *yaml.Node, entry string) ([]byte, error) {
	open, err := e.offset(m)
	if err != nil {
		return nil, err
	}
	if open >= len(e.data) || e.data[open] != '{' {
		return nil, errors.New("a flow mapping that does not start with {")
	}
	closing, err := matchBrace(e.data, open)
	if err != nil {
		return nil, err
	}
	at := closing
	for at > open+1 && (e.data[at-1] == ' ' || e.data[at-1] == '\t' || e.data[at-1] == '\n' || e.data[at-1] == '\r') {
		at--
	}
	switch {
	case at == open+1:
	case e.data[at-1] == ',':
		entry = " " + entry
	default:
		entry = ", " + entry
	}
	return splice(e.data, at, at, entry), nil
}

// matchBrace returns the offset of the } that closes the { at open,
// skipping quoted strings and comments.
func matchBrace(data []byte, open int) (int, error) {
	depth := 0
	for i := open; i < len(data); i++ {
		switch c := data[i]; c {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i, nil
			}
		case '"', '\'':
			end := quoteEnd(data, i)
			if end < 0 {
				return 0, errors.New("an unterminated quoted string")
			}
			i = end
		case '#':
			if data[i-1] == ' ' || data[i-1] == '\t' || data[i-1] == '\n' {
				for i < len(data) && data[i] != '\n' {
					i++
				}
			}
		}
	}
	return 0, errors.New("a flow mapping without its closing brace")
}

// quoteEnd is the offset of the quote that closes the one at start, or -1.
func quoteEnd(data []byte, start int) int {
	q := data[start]
	for i := start + 1; i < len(data); i++ {
		switch {
		case q == '"' && data[i] == '\\':
			i++
		case data[i] == q && q == '\'' && i+1 < len(data) && data[i+1] == '\'':
			i++
		case data[i] == q:
			return i
		}
	}
	return -1
}

// replaceScalar replaces the text of the one-line scalar v with text.
func (e *yamlEditor) replaceScalar(v *yaml.Node, inFlow bool, text string) ([]byte, error) {
	if v.Kind != yaml.ScalarNode || v.Tag != "!!str" && v.Tag != "!!timestamp" {
		return nil, errors.New("the annotation's value is not a plain string")
	}
	start, err := e.offset(v)
	if err != nil {
		return nil, err
	}
	eol := bytes.IndexByte(e.data[start:], '\n')
	if eol < 0 {
		eol = len(e.data) - start
	}
	eol += start
	var end int
	switch v.Style {
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		end = quoteEnd(e.data, start) + 1
		if end <= 0 || end > eol {
			return nil, errors.New("the annotation's value spans several lines")
		}
	case 0:
		end = start + len(uncomment(e.data[start:eol]))
		if inFlow {
			if i := bytes.IndexAny(e.data[start:end], ",}]"); i >= 0 {
				end = start + i
			}
		}
		for end > start && (e.data[end-1] == ' ' || e.data[end-1] == '\t' || e.data[end-1] == '\r') {
			end--
		}
	default:
		return nil, errors.New("the annotation's value is a block scalar (| or >)")
	}
	return splice(e.data, start, end, text), nil
}

func spaces(n int) string { return string(bytes.Repeat([]byte(" "), n)) }
