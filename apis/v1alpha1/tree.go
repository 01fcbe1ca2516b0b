package v1alpha1

import (
	"encoding"
	"fmt"
	"sort"
	"strconv"
)

// The three formats are first read into one generic tree that remembers the
// line of every key and value (where the format gives one), then bound to
// the Go types by bind.go. That way unknown fields, duplicate keys and type
// errors get the same field paths and messages in YAML, JSON and TOML.

// nodeKind is the JSON type of a tree node.
type nodeKind int

const (
	kindNull nodeKind = iota
	kindString
	kindNumber
	kindBool
	kindObject
	kindArray
	kindInvalid // a value the builder could not read; msg says why
)

func (k nodeKind) String() string {
	switch k {
	case kindString:
		return "a string"
	case kindNumber:
		return "a number"
	case kindBool:
		return "a boolean"
	case kindObject:
		return "an object"
	case kindArray:
		return "a list"
	default:
		return "null"
	}
}

// node is one value of a decoded document.
type node struct {
	kind nodeKind
	line int // 1-based; 0 when the format gives none
	// str is the string value, or for a number its JSON literal
	// ("8080", "1.5"), or for a number that JSON cannot hold (YAML .inf)
	// a non-JSON literal that bind rejects.
	str string
	// text is how a scalar was written, used when a number or boolean is
	// given where a string is wanted (`value: 8080` is "8080").
	text   string
	b      bool
	fields []field // kindObject, in source order, keys unique
	dups   []dup   // kindObject: keys given again after the first
	items  []*node // kindArray
	msg    string  // kindInvalid
}

// dup is a key repeated in an object.
type dup struct {
	key         string
	line, first int
}

// field is one key of an object.
type field struct {
	key  string
	line int
	val  *node
}

// Limits applied while building a tree so no input is expensive: a manifest
// is a few levels deep and a few hundred nodes.
const (
	maxDepth = 64
	maxNodes = 200_000
)

// builder holds the node budget of one document. Problems found while
// building become kindInvalid nodes, reported by bind with their field path
// (and ignored when they sit under a field that is dropped, like status).
type builder struct {
	nodes int
	// lines, for formats decoded into plain values (TOML), maps a key path
	// (see tomlLines) to its line.
	lines map[string]int
}

// invalid returns a node standing for an unreadable value.
func invalid(line int, format string, args ...any) *node {
	return &node{kind: kindInvalid, line: line, msg: fmt.Sprintf(format, args...)}
}

// spend counts one node at depth; a non-nil result replaces the node when
// the document is too deep or too large.
func (b *builder) spend(line, depth int) *node {
	b.nodes++
	switch {
	case depth > maxDepth:
		return invalid(line, "nested more than %d levels deep", maxDepth)
	case b.nodes == maxNodes+1:
		return invalid(line, "document has more than %d values (alias expansion?)", maxNodes)
	case b.nodes > maxNodes:
		return &node{line: line}
	}
	return nil
}

// joinKey appends an object key to a field path.
func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// joinIndex appends a list index to a field path.
func joinIndex(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// joinMapKey appends a map key (labels, nodeSelector) to a field path.
func joinMapKey(path, key string) string {
	return path + "[" + key + "]"
}

// fromGeneric builds a tree from the value of a format decoded into plain
// Go values (TOML). Keys are sorted (maps have no order); lines come from
// b.lines by key path.
func (b *builder) fromGeneric(v any, path string, depth int) *node {
	line := b.lines[path]
	if n := b.spend(line, depth); n != nil {
		return n
	}
	switch v := v.(type) {
	case nil:
		return &node{line: line}
	case string:
		return &node{kind: kindString, line: line, str: v, text: v}
	case bool:
		return &node{kind: kindBool, line: line, b: v, text: strconv.FormatBool(v)}
	case int64:
		s := strconv.FormatInt(v, 10)
		return &node{kind: kindNumber, line: line, str: s, text: s}
	case float64:
		return &node{kind: kindNumber, line: line, str: strconv.FormatFloat(v, 'g', -1, 64), text: strconv.FormatFloat(v, 'g', -1, 64)}
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		n := &node{kind: kindObject, line: line, fields: make([]field, 0, len(keys))}
		for _, k := range keys {
			p := tomlJoin(path, k)
			n.fields = append(n.fields, field{key: k, line: b.lines[p], val: b.fromGeneric(v[k], p, depth+1)})
		}
		return n
	case []any:
		n := &node{kind: kindArray, line: line, items: make([]*node, 0, len(v))}
		for i, e := range v {
			n.items = append(n.items, b.fromGeneric(e, tomlJoin(path, "#"+strconv.Itoa(i)), depth+1))
		}
		return n
	case encoding.TextMarshaler: // TOML dates and times
		t, err := v.MarshalText()
		if err != nil {
			return invalid(line, "%v", err)
		}
		return &node{kind: kindString, line: line, str: string(t), text: string(t)}
	default:
		s := fmt.Sprint(v)
		return &node{kind: kindString, line: line, str: s, text: s}
	}
}
