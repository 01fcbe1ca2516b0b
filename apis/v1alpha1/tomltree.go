package v1alpha1

import (
	"errors"
	"strconv"
	"strings"

	toml "github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// parseTOML reads a TOML file: one object. go-toml rejects duplicate keys
// itself. An empty file has no documents.
func parseTOML(data []byte) ([]document, error) {
	var m map[string]any
	if err := toml.Unmarshal(data, &m); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			line, _ := de.Position()
			return nil, &syntaxError{line: line, msg: "invalid TOML: " + scrubTOML(strings.TrimPrefix(de.Error(), "toml: "))}
		}
		return nil, &syntaxError{msg: "invalid TOML: " + scrubTOML(strings.TrimPrefix(err.Error(), "toml: "))}
	}
	if len(m) == 0 {
		return nil, nil
	}
	b := builder{lines: tomlLines(data)}
	return []document{{root: b.fromGeneric(m, "", 0), line: 1}}, nil
}

// tomlLines maps key paths (segments joined by tomlSep, list items as
// "#N") to the line they are written on. Decoding into plain values loses
// positions, so the file is read a second time with go-toml's AST parser.
// That API is marked unstable: if it fails or changes, lines are only lost.
func tomlLines(data []byte) (lines map[string]int) {
	defer func() {
		if recover() != nil {
			lines = nil
		}
	}()
	t := &tomlLiner{lines: map[string]int{}, arrays: map[string]int{}, index: newLineIndex(data)}
	t.p.Reset(data)
	for t.p.NextExpression() {
		e := t.p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			segs, line := t.key(e.Key())
			var path string
			for i, s := range segs {
				path = tomlJoin(path, s)
				t.note(path, line)
				last := i == len(segs)-1
				if n, ok := t.arrays[path]; ok && !(last && e.Kind == unstable.ArrayTable) {
					path = tomlJoin(path, "#"+strconv.Itoa(n-1))
				}
			}
			if e.Kind == unstable.ArrayTable {
				n := t.arrays[path]
				t.arrays[path] = n + 1
				path = tomlJoin(path, "#"+strconv.Itoa(n))
				t.lines[path] = line
			}
			t.table = path
		case unstable.KeyValue:
			t.keyValue(e, t.table)
		}
	}
	return t.lines
}

const tomlSep = "\x00"

func tomlJoin(path, seg string) string {
	if path == "" {
		return seg
	}
	return path + tomlSep + seg
}

type tomlLiner struct {
	p      unstable.Parser
	index  lineIndex
	lines  map[string]int
	arrays map[string]int // array table path -> items so far
	table  string         // the current [table]
}

// note records the first line a path appears on.
func (t *tomlLiner) note(path string, line int) {
	if _, ok := t.lines[path]; !ok {
		t.lines[path] = line
	}
}

func (t *tomlLiner) line(n *unstable.Node) int {
	if n == nil || n.Raw.Length == 0 {
		return 0
	}
	return t.index.at(int64(n.Raw.Offset))
}

// key returns the parts of a dotted key and the line of its first part.
func (t *tomlLiner) key(it unstable.Iterator) ([]string, int) {
	var segs []string
	line := 0
	for it.Next() {
		if line == 0 {
			line = t.line(it.Node())
		}
		segs = append(segs, string(it.Node().Data))
	}
	return segs, line
}

func (t *tomlLiner) keyValue(kv *unstable.Node, table string) {
	segs, line := t.key(kv.Key())
	path := table
	for _, s := range segs {
		path = tomlJoin(path, s)
		t.note(path, line)
	}
	t.value(kv.Value(), path, line)
}

func (t *tomlLiner) value(v *unstable.Node, path string, line int) {
	switch v.Kind {
	case unstable.InlineTable:
		for it := v.Children(); it.Next(); {
			if it.Node().Kind == unstable.KeyValue {
				t.keyValue(it.Node(), path)
			}
		}
	case unstable.Array:
		i := 0
		for it := v.Children(); it.Next(); i++ {
			p := tomlJoin(path, "#"+strconv.Itoa(i))
			l := t.line(it.Node())
			if l == 0 {
				l = line
			}
			t.note(p, l)
			t.value(it.Node(), p, l)
		}
	}
}
