package v1alpha1

import (
	"bytes"
	"errors"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// document is one object's tree and the line its document starts on.
type document struct {
	root *node
	line int
}

// syntaxError is a problem that stops reading a whole file.
type syntaxError struct {
	line int
	msg  string
}

func (e *syntaxError) Error() string { return e.msg }

// yamlLine matches the "yaml: line N: " prefix of go-yaml's errors.
var yamlLine = regexp.MustCompile(`^yaml: (?:line (\d+): )?`)

// parseYAML reads every document of a YAML stream. Documents that are
// empty (only comments, or null) are skipped. Lines count from the start of
// the stream, not of the document.
//
// A stream of many documents is parsed in parts on every core
// (yamlsplit.go), with the same documents and errors.
func parseYAML(data []byte) ([]document, error) {
	if w := yamlWorkers(); w >= 2 {
		if parts, lines := splitYAML(data, 2*w); parts != nil {
			if docs, ok := parseYAMLParts(parts, lines, w); ok {
				return docs, nil
			}
		}
	}
	return parseYAMLStream(data, nil)
}

// parseYAMLStream parses a YAML stream on one core; shift, if not nil,
// sees each document's node before its tree is built.
func parseYAMLStream(data []byte, shift func(*yaml.Node)) ([]document, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []document
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, yamlSyntaxError(err)
		}
		if n.Kind == 0 || len(n.Content) == 0 || isYAMLNull(n.Content[0]) {
			continue
		}
		if shift != nil {
			shift(&n)
		}
		var b builder
		docs = append(docs, document{root: b.fromYAML(n.Content[0], 0), line: n.Content[0].Line})
	}
}

// yamlSyntaxError turns go-yaml's "yaml: line 3: did not find expected key"
// into a line and a message.
func yamlSyntaxError(err error) error {
	msg := err.Error()
	line := 0
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	}
	return &syntaxError{line: line, msg: "invalid YAML: " + scrubSyntax(msg)}
}

func isYAMLNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// fromYAML builds the tree of a go-yaml node, following aliases and merge
// keys (<<) as go-yaml itself would.
func (b *builder) fromYAML(n *yaml.Node, depth int) *node {
	if v := b.spend(n.Line, depth); v != nil {
		return v
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return &node{line: n.Line}
		}
		return b.fromYAML(n.Content[0], depth+1)
	case yaml.AliasNode:
		if n.Alias == nil {
			return invalid(n.Line, "unknown alias *%s", n.Value)
		}
		return b.fromYAML(n.Alias, depth+1)
	case yaml.ScalarNode:
		return yamlScalar(n)
	case yaml.SequenceNode:
		out := &node{kind: kindArray, line: n.Line, items: make([]*node, 0, len(n.Content))}
		for _, c := range n.Content {
			out.items = append(out.items, b.fromYAML(c, depth+1))
		}
		return out
	case yaml.MappingNode:
		return b.yamlMapping(n, depth)
	default:
		return invalid(n.Line, "unsupported YAML node")
	}
}

func (b *builder) yamlMapping(n *yaml.Node, depth int) *node {
	out := &node{kind: kindObject, line: n.Line}
	seen := map[string]int{}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		for j := 0; k.Kind == yaml.AliasNode && k.Alias != nil && j < maxDepth; j++ {
			k = k.Alias
		}
		if k.Kind != yaml.ScalarNode {
			out.fields = append(out.fields, field{key: "?", line: k.Line,
				val: invalid(k.Line, "a key must be a string, not a %s", yamlKindName(k.Kind))})
			continue
		}
		if k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		if first, ok := seen[k.Value]; ok {
			out.dups = append(out.dups, dup{key: k.Value, line: k.Line, first: first})
			continue
		}
		seen[k.Value] = k.Line
		out.fields = append(out.fields, field{key: k.Value, line: k.Line, val: b.fromYAML(v, depth+1)})
	}
	// Keys written in the mapping win over merged ones; among merged
	// mappings the first wins (YAML merge key semantics).
	for _, m := range merges {
		srcs := []*yaml.Node{m}
		if m.Kind == yaml.SequenceNode {
			srcs = m.Content
		}
		for _, s := range srcs {
			src := b.fromYAML(s, depth+1)
			if src.kind != kindObject {
				if src.kind != kindInvalid {
					src = invalid(s.Line, "a merge (<<) needs a mapping or a list of mappings")
				}
				out.fields = append(out.fields, field{key: "<<", line: s.Line, val: src})
				continue
			}
			out.dups = append(out.dups, src.dups...)
			for _, f := range src.fields {
				if _, ok := seen[f.key]; !ok {
					seen[f.key] = f.line
					out.fields = append(out.fields, f)
				}
			}
		}
	}
	return out
}

func yamlKindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	default:
		return "complex value"
	}
}

// yamlScalar reads a scalar by its resolved tag. YAML 1.2 core schema as
// go-yaml v3 implements it: only true/false are booleans ("yes" is a
// string); dates and binary stay the text written.
func yamlScalar(n *yaml.Node) *node {
	text := n.Value
	switch n.ShortTag() {
	case "!!null":
		return &node{line: n.Line, text: text}
	case "!!bool":
		var v bool
		if err := n.Decode(&v); err != nil {
			return invalid(n.Line, "%s is not a boolean", quote(text))
		}
		return &node{kind: kindBool, line: n.Line, b: v, text: text}
	case "!!int", "!!float":
		var v any
		if err := n.Decode(&v); err != nil {
			return invalid(n.Line, "%s is not a number", quote(text))
		}
		var s string
		switch v := v.(type) {
		case int:
			s = strconv.Itoa(v)
		case int64:
			s = strconv.FormatInt(v, 10)
		case uint64:
			s = strconv.FormatUint(v, 10)
		case float64:
			if math.IsInf(v, 0) || math.IsNaN(v) {
				s = strings.TrimPrefix(text, "+")
			} else {
				s = strconv.FormatFloat(v, 'g', -1, 64)
			}
		default:
			return invalid(n.Line, "%s is not a number", quote(text))
		}
		return &node{kind: kindNumber, line: n.Line, str: s, text: text}
	default:
		return &node{kind: kindString, line: n.Line, str: text, text: text}
	}
}
