package v1alpha1

import (
	"encoding"
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// The canonical JSON of a revision (canonicalJSON) written in one walk of
// the value, byte for byte what the round trip through encoding/json
// (canonicalRoundTrip: marshal, decode into maps, prune, encode) gives,
// without the intermediate text and maps: two thirds of the cost of the
// revisions of 1000 new apps was that round trip. Types it does not know
// how to walk exactly as encoding/json would (interfaces other than the
// JSON tree's, floats, embedded fields, maps with keys that are not
// strings, Marshalers other than this package's scalars) take the round
// trip; the differential tests (canonical_test.go) compare the two.

// canonicalPlan is how to write the values of one type; nil for a type
// that takes the round trip.
type canonicalPlan struct {
	kind   reflect.Kind
	fields []canonicalField // a struct's fields, sorted by their JSON names
	elem   *canonicalPlan   // a pointer's, slice's, array's or map's element
	scalar bool             // a Marshaler of this package (Duration, IntOrString)
}

type canonicalField struct {
	key   []byte // the name, quoted, and ':'
	index []int
	plan  *canonicalPlan
}

var canonicalPlans sync.Map // reflect.Type -> *canonicalPlan (nil: round trip)

var (
	marshalerType     = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	durationType      = reflect.TypeFor[Duration]()
	intOrStringType   = reflect.TypeFor[IntOrString]()
)

// planFor is the plan of t, nil when t takes the round trip.
func planFor(t reflect.Type) *canonicalPlan {
	if p, ok := canonicalPlans.Load(t); ok {
		return p.(*canonicalPlan)
	}
	p := buildPlan(t, map[reflect.Type]bool{})
	canonicalPlans.Store(t, p)
	return p
}

func buildPlan(t reflect.Type, building map[reflect.Type]bool) *canonicalPlan {
	if t == durationType || t == intOrStringType {
		return &canonicalPlan{kind: t.Kind(), scalar: true}
	}
	if t.Kind() == reflect.Pointer { // a nil one is null, else its element's
		if e := buildPlan(t.Elem(), building); e != nil {
			return &canonicalPlan{kind: reflect.Pointer, elem: e}
		}
		return nil
	}
	if building[t] || t.Implements(marshalerType) || t.Implements(textMarshalerType) ||
		reflect.PointerTo(t).Implements(marshalerType) || reflect.PointerTo(t).Implements(textMarshalerType) {
		return nil // recursive, or encoded by its own methods
	}
	building[t] = true
	defer delete(building, t)
	p := &canonicalPlan{kind: t.Kind()}
	switch t.Kind() {
	case reflect.Bool, reflect.String,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return p
	case reflect.Array:
		p.elem = buildPlan(t.Elem(), building)
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return nil // []byte is base64
		}
		p.elem = buildPlan(t.Elem(), building)
	case reflect.Map:
		if t.Key().Kind() != reflect.String || t.Key().Implements(textMarshalerType) {
			return nil
		}
		p.elem = buildPlan(t.Elem(), building)
	case reflect.Struct:
		return structPlan(t, building)
	default:
		return nil
	}
	if p.elem == nil {
		return nil
	}
	return p
}

// structPlan is the plan of a struct: its fields and those of the
// structs it embeds without a tag (ProbeHandler in Probe), as encoding/json
// promotes them; nil when a name is given twice (encoding/json's
// dominance rules decide), a field has the ",string" option or embeds
// anything else.
func structPlan(t reflect.Type, building map[reflect.Type]bool) *canonicalPlan {
	p := &canonicalPlan{kind: reflect.Struct}
	if !addFields(p, t, building) {
		return nil
	}
	names := map[string]bool{}
	for _, f := range p.fields {
		if names[string(f.key)] {
			return nil
		}
		names[string(f.key)] = true
	}
	slices.SortFunc(p.fields, func(a, b canonicalField) int { return strings.Compare(string(a.key), string(b.key)) })
	return p
}

// addFields adds the fields of struct t to p.
func addFields(p *canonicalPlan, t reflect.Type, building map[reflect.Type]bool) bool {
	return jsonFields(t, nil, building, func(name string, index []int, f reflect.StructField) bool {
		fp := buildPlan(f.Type, building)
		if fp == nil {
			return false
		}
		key := appendCanonicalString(nil, name)
		p.fields = append(p.fields, canonicalField{key: append(key, ':'), index: index, plan: fp})
		return true
	})
}

// simpleTag reports whether a tag name is letters, digits, '_' and '-'
// only: one encoding/json takes as written and that sorts as its quoted
// form.
func simpleTag(s string) bool {
	for _, c := range s {
		if !(c == '_' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// writeCanonical appends the pruned form of v (what the round trip would
// write for it as a list item) and reports whether it is empty (null, "",
// 0, false, {} or [] once pruned), which a field drops.
func writeCanonical(buf []byte, v reflect.Value, p *canonicalPlan) ([]byte, bool) {
	if p.scalar {
		return writeScalar(buf, v)
	}
	switch p.kind {
	case reflect.Bool:
		if v.Bool() {
			return append(buf, "true"...), false
		}
		return append(buf, "false"...), true
	case reflect.String:
		s := v.String()
		return appendCanonicalString(buf, s), s == ""
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.AppendInt(buf, v.Int(), 10), v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.AppendUint(buf, v.Uint(), 10), v.Uint() == 0
	case reflect.Pointer:
		if v.IsNil() {
			return append(buf, "null"...), true
		}
		return writeCanonical(buf, v.Elem(), p.elem)
	case reflect.Slice, reflect.Array:
		if p.kind == reflect.Slice && v.IsNil() {
			return append(buf, "null"...), true
		}
		buf = append(buf, '[')
		for i := range v.Len() {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf, _ = writeCanonical(buf, v.Index(i), p.elem)
		}
		return append(buf, ']'), v.Len() == 0
	case reflect.Map:
		if v.IsNil() {
			return append(buf, "null"...), true
		}
		return writeMap(buf, v, p)
	}
	// reflect.Struct
	buf = append(buf, '{')
	wrote := false
	for _, f := range p.fields {
		mark := len(buf)
		if wrote {
			buf = append(buf, ',')
		}
		buf = append(buf, f.key...)
		var empty bool
		if buf, empty = writeCanonical(buf, canonicalFieldOf(v, f.index), f.plan); empty {
			buf = buf[:mark]
		} else {
			wrote = true
		}
	}
	return append(buf, '}'), !wrote
}

// writeMap writes a map's entries sorted by key, as the round trip does:
// by the key decoded again (an invalid UTF-8 byte becomes U+FFFD), the
// last of keys that decode alike (in the order of the raw keys, which
// Marshal writes) winning.
func writeMap(buf []byte, v reflect.Value, p *canonicalPlan) ([]byte, bool) {
	type entry struct {
		raw, key string
		val      reflect.Value
	}
	entries := make([]entry, 0, v.Len())
	valid := true
	for it := v.MapRange(); it.Next(); {
		raw := it.Key().String()
		e := entry{raw: raw, key: raw, val: it.Value()}
		if !utf8.ValidString(raw) {
			e.key, valid = validUTF8(raw), false
		}
		entries = append(entries, e)
	}
	if !valid {
		slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.raw, b.raw) })
		last := make(map[string]int, len(entries))
		for i, e := range entries {
			last[e.key] = i
		}
		kept := make([]entry, 0, len(last))
		for i, e := range entries {
			if last[e.key] == i {
				kept = append(kept, e)
			}
		}
		entries = kept
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.key, b.key) })
	buf = append(buf, '{')
	wrote := false
	for _, e := range entries {
		mark := len(buf)
		if wrote {
			buf = append(buf, ',')
		}
		buf = appendCanonicalString(buf, e.key)
		buf = append(buf, ':')
		var empty bool
		if buf, empty = writeCanonical(buf, e.val, p.elem); empty {
			buf = buf[:mark]
		} else {
			wrote = true
		}
	}
	return append(buf, '}'), !wrote
}

// validUTF8 is s with each byte that is not part of valid UTF-8 replaced
// by U+FFFD, as encoding/json writes it (one U+FFFD per byte).
func validUTF8(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteString("\ufffd")
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// writeScalar writes a Duration or an IntOrString as their MarshalJSON
// does.
func writeScalar(buf []byte, v reflect.Value) ([]byte, bool) {
	switch x := v.Interface().(type) {
	case Duration:
		s := x.Duration.String()
		return appendCanonicalString(buf, s), false
	case IntOrString:
		if x.IsString {
			return appendCanonicalString(buf, x.StrVal), x.StrVal == ""
		}
		return strconv.AppendInt(buf, int64(x.IntVal), 10), x.IntVal == 0
	}
	panic("v1alpha1: canonical JSON: no scalar " + v.Type().String())
}

// appendCanonicalString appends s quoted as the round trip writes a
// string: encoding/json's escapes without the HTML ones (\" \\ \b \f \n
// \r \t, \u00XX for other control bytes, \u2028 and \u2029), and each
// byte of invalid UTF-8 as U+FFFD itself (Marshal writes \ufffd, which
// the decoder reads back as the rune, which the encoder writes as is).
func appendCanonicalString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\ufffd"...)
		case c == '\u2028' || c == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[c&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// canonicalFieldOf is v's field at index path (no pointer on the way).
func canonicalFieldOf(v reflect.Value, index []int) reflect.Value {
	if len(index) == 1 {
		return v.Field(index[0])
	}
	return v.FieldByIndex(index)
}
