package manifestedit

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// jsonValue is a JSON value and where it is written: data[start:end].
type jsonValue struct {
	start, end int
	kind       byte // '{', '[', '"', or 'x' for a number, true, false, null
	members    []jsonMember
	items      []*jsonValue
}

type jsonMember struct {
	key      string
	keyStart int
	value    *jsonValue
}

// maxJSONDepth bounds the span reader's recursion; the decoder already
// accepted the file, whose depth it bounds lower.
const maxJSONDepth = 1000

// editJSON sets the annotation in the object of app (the file's object,
// or one of its list).
func editJSON(data []byte, app, key, value string) ([]byte, error) {
	r := &jsonSpans{data: data}
	root, err := r.value(0)
	if err != nil {
		return nil, err
	}
	objs := []*jsonValue{root}
	if root.kind == '[' {
		objs = root.items
	}
	for _, o := range objs {
		meta := o.get("metadata")
		if meta == nil || meta.kind != '{' {
			continue
		}
		if n := meta.get("name"); n == nil || n.kind != '"' || r.str(n) != app {
			continue
		}
		entry := strconv.Quote(key) + ": " + strconv.Quote(value)
		ann := meta.get("annotations")
		switch {
		case ann == nil:
			return insertMember(data, meta, `"annotations": {`+entry+`}`), nil
		case ann.kind == 'x' && string(data[ann.start:ann.end]) == "null":
			return splice(data, ann.start, ann.end, "{"+entry+"}"), nil
		case ann.kind != '{':
			return nil, errors.New("metadata.annotations is not an object")
		}
		if v := ann.get(key); v != nil {
			return splice(data, v.start, v.end, strconv.Quote(value)), nil
		}
		return insertMember(data, ann, entry), nil
	}
	return nil, fmt.Errorf("no object defines app %q", app)
}

// insertMember adds member as the first member of object o: on a line of
// its own, indented as the first member, when that one has a line of its
// own; else inline.
func insertMember(data []byte, o *jsonValue, member string) []byte {
	if len(o.members) == 0 {
		return splice(data, o.start+1, o.start+1, member)
	}
	first := o.members[0].keyStart
	ls := lineStart(data, first)
	if ls > o.start && blank(data[ls:first]) {
		return splice(data, ls, ls, string(data[ls:first])+member+",\n")
	}
	return splice(data, first, first, member+", ")
}

func (v *jsonValue) get(key string) *jsonValue {
	if v == nil {
		return nil
	}
	for i := len(v.members) - 1; i >= 0; i-- {
		if v.members[i].key == key {
			return v.members[i].value
		}
	}
	return nil
}

// jsonSpans reads JSON recording where each value is written.
type jsonSpans struct {
	data []byte
	pos  int
}

func (r *jsonSpans) str(v *jsonValue) string {
	var s string
	json.Unmarshal(r.data[v.start:v.end], &s) // already checked by the reader
	return s
}

func (r *jsonSpans) skipSpace() {
	for r.pos < len(r.data) {
		switch r.data[r.pos] {
		case ' ', '\t', '\n', '\r':
			r.pos++
		default:
			return
		}
	}
}

func (r *jsonSpans) errorf(format string, args ...any) error {
	return fmt.Errorf("JSON at byte %d: %s", r.pos, fmt.Sprintf(format, args...))
}

func (r *jsonSpans) value(depth int) (*jsonValue, error) {
	if depth > maxJSONDepth {
		return nil, r.errorf("nested too deep")
	}
	r.skipSpace()
	if r.pos >= len(r.data) {
		return nil, r.errorf("unexpected end")
	}
	v := &jsonValue{start: r.pos, kind: r.data[r.pos]}
	var err error
	switch v.kind {
	case '{':
		err = r.object(v, depth)
	case '[':
		err = r.array(v, depth)
	case '"':
		err = r.stringEnd()
	default:
		v.kind = 'x'
		for r.pos < len(r.data) && !isJSONDelim(r.data[r.pos]) {
			r.pos++
		}
	}
	v.end = r.pos
	return v, err
}

func isJSONDelim(c byte) bool {
	switch c {
	case ',', '}', ']', ' ', '\t', '\n', '\r':
		return true
	}
	return false
}

func (r *jsonSpans) stringEnd() error {
	end := quoteEnd(r.data, r.pos)
	if end < 0 {
		return r.errorf("unterminated string")
	}
	var s string
	if err := json.Unmarshal(r.data[r.pos:end+1], &s); err != nil {
		return r.errorf("bad string: %v", err)
	}
	r.pos = end + 1
	return nil
}

func (r *jsonSpans) object(v *jsonValue, depth int) error {
	r.pos++
	for {
		r.skipSpace()
		if r.pos < len(r.data) && r.data[r.pos] == '}' && len(v.members) == 0 {
			r.pos++
			return nil
		}
		k, err := r.value(depth + 1)
		if err != nil {
			return err
		}
		if k.kind != '"' {
			return r.errorf("want a key")
		}
		r.skipSpace()
		if r.pos >= len(r.data) || r.data[r.pos] != ':' {
			return r.errorf("want a colon")
		}
		r.pos++
		val, err := r.value(depth + 1)
		if err != nil {
			return err
		}
		v.members = append(v.members, jsonMember{key: r.str(k), keyStart: k.start, value: val})
		if done, err := r.next('}'); done || err != nil {
			return err
		}
	}
}

func (r *jsonSpans) array(v *jsonValue, depth int) error {
	r.pos++
	for {
		r.skipSpace()
		if r.pos < len(r.data) && r.data[r.pos] == ']' && len(v.items) == 0 {
			r.pos++
			return nil
		}
		it, err := r.value(depth + 1)
		if err != nil {
			return err
		}
		v.items = append(v.items, it)
		if done, err := r.next(']'); done || err != nil {
			return err
		}
	}
}

// next reads a comma (more to come) or the closing byte (done).
func (r *jsonSpans) next(closing byte) (bool, error) {
	r.skipSpace()
	if r.pos >= len(r.data) {
		return false, r.errorf("unexpected end")
	}
	switch r.data[r.pos] {
	case ',':
		r.pos++
		return false, nil
	case closing:
		r.pos++
		return true, nil
	}
	return false, r.errorf("want , or %c", closing)
}
