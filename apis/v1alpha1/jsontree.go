package v1alpha1

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
)

// lineIndex turns byte offsets into 1-based line numbers.
type lineIndex []int // offsets of '\n'

func newLineIndex(data []byte) lineIndex {
	var idx lineIndex
	for i, c := range data {
		if c == '\n' {
			idx = append(idx, i)
		}
	}
	return idx
}

// at returns the line of the byte at offset off.
func (l lineIndex) at(off int64) int {
	return sort.Search(len(l), func(i int) bool { return int64(l[i]) >= off }) + 1
}

// jsonReader reads a JSON text token by token, so that every key and value
// knows its line and repeated keys are seen (encoding/json keeps the last).
type jsonReader struct {
	dec   *json.Decoder
	lines lineIndex
	b     builder
}

// parseJSON reads one JSON value: an object, or a list of objects (each one
// document). Empty input has no documents.
func parseJSON(data []byte) ([]document, error) {
	r := &jsonReader{dec: json.NewDecoder(bytes.NewReader(data)), lines: newLineIndex(data)}
	r.dec.UseNumber()
	tok, line, err := r.token()
	if errors.Is(err, io.EOF) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	root, err := r.value(tok, line, 0)
	if err != nil {
		return nil, err
	}
	if _, line, err := r.token(); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, err
		}
		return nil, &syntaxError{line: line, msg: "invalid JSON: more than one value (put several objects in one [list])"}
	}
	var docs []document
	switch root.kind {
	case kindArray:
		for i, it := range root.items {
			if it.kind == kindNull {
				continue
			}
			if it.kind != kindObject {
				return nil, &syntaxError{line: it.line, msg: fmt.Sprintf("item %d: want an object, got %s", i, it.kind)}
			}
			docs = append(docs, document{root: it, line: it.line})
		}
	case kindObject:
		docs = append(docs, document{root: root, line: root.line})
	default:
		return nil, &syntaxError{line: root.line, msg: fmt.Sprintf("want an object or a list of objects, got %s", root.kind)}
	}
	return docs, nil
}

// token returns the next token and the line it ends on.
func (r *jsonReader) token() (json.Token, int, error) {
	tok, err := r.dec.Token()
	line := r.lines.at(r.dec.InputOffset())
	if err == nil || errors.Is(err, io.EOF) {
		return tok, line, err
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line = r.lines.at(se.Offset - 1)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, line, &syntaxError{line: line, msg: "invalid JSON: unexpected end of input"}
	}
	return nil, line, &syntaxError{line: line, msg: "invalid JSON: " + scrubSyntax(trimJSONPrefix(err.Error()))}
}

func trimJSONPrefix(s string) string {
	if len(s) > 6 && s[:6] == "json: " {
		return s[6:]
	}
	return s
}

// value builds the node that starts with tok.
func (r *jsonReader) value(tok json.Token, line, depth int) (*node, error) {
	if depth > maxDepth {
		return nil, &syntaxError{line: line, msg: fmt.Sprintf("invalid JSON: nested more than %d levels deep", maxDepth)}
	}
	if n := r.b.spend(line, depth); n != nil && n.kind == kindInvalid {
		return nil, &syntaxError{line: line, msg: "invalid JSON: " + n.msg}
	}
	switch t := tok.(type) {
	case nil:
		return &node{line: line, text: "null"}, nil
	case bool:
		return &node{kind: kindBool, line: line, b: t, text: fmt.Sprint(t)}, nil
	case json.Number:
		return &node{kind: kindNumber, line: line, str: string(t), text: string(t)}, nil
	case string:
		return &node{kind: kindString, line: line, str: t, text: t}, nil
	case json.Delim:
		if t == '[' {
			return r.array(line, depth)
		}
		return r.object(line, depth)
	}
	return nil, &syntaxError{line: line, msg: fmt.Sprintf("invalid JSON: unexpected %v", tok)}
}

func (r *jsonReader) array(line, depth int) (*node, error) {
	out := &node{kind: kindArray, line: line}
	for {
		tok, l, err := r.token()
		if err != nil {
			return nil, eofIsUnexpected(err, l)
		}
		if tok == json.Delim(']') {
			return out, nil
		}
		v, err := r.value(tok, l, depth+1)
		if err != nil {
			return nil, err
		}
		out.items = append(out.items, v)
	}
}

func (r *jsonReader) object(line, depth int) (*node, error) {
	out := &node{kind: kindObject, line: line}
	seen := map[string]int{}
	for {
		tok, kl, err := r.token()
		if err != nil {
			return nil, eofIsUnexpected(err, kl)
		}
		if tok == json.Delim('}') {
			return out, nil
		}
		key, _ := tok.(string) // Token guarantees a string key here
		tok, vl, err := r.token()
		if err != nil {
			return nil, eofIsUnexpected(err, vl)
		}
		v, err := r.value(tok, vl, depth+1)
		if err != nil {
			return nil, err
		}
		if first, ok := seen[key]; ok {
			out.dups = append(out.dups, dup{key: key, line: kl, first: first})
			continue
		}
		seen[key] = kl
		out.fields = append(out.fields, field{key: key, line: kl, val: v})
	}
}

func eofIsUnexpected(err error, line int) error {
	if errors.Is(err, io.EOF) {
		return &syntaxError{line: line, msg: "invalid JSON: unexpected end of input"}
	}
	return err
}
