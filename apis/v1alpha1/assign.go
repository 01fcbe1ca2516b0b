package v1alpha1

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strconv"
	"sync"
	"unicode/utf8"
)

// assignBound sets dst, a zero value, from v, a value the binder returned
// (map[string]any, []any, string, json.Number, bool, nil), to what
// encoding/json gives when it decodes json.Marshal(v) into dst, without
// the text in between: that round trip was a sixth of the CPU of decoding
// a 1000-app file. It reports false, leaving dst partly set, where it
// would not do exactly what encoding/json does (interfaces, arrays,
// []byte, the ",string" option, fields whose names collide, a null for a
// type with its own UnmarshalJSON, a map key that is not UTF-8, a value
// of another type than the field's): the caller then takes the round
// trip (decodeObject). The differential tests (assign_test.go) compare
// the two.
func assignBound(dst reflect.Value, v any) bool {
	t := dst.Type()
	if v == nil {
		// encoding/json leaves a zero value as it is for null, but hands
		// "null" to an UnmarshalJSON that a value (not a pointer) has.
		k := t.Kind()
		return k == reflect.Pointer || k == reflect.Map || k == reflect.Slice ||
			!reflect.PointerTo(t).Implements(unmarshalerType)
	}
	if t.Kind() == reflect.Pointer {
		p := reflect.New(t.Elem())
		if !assignBound(p.Elem(), v) {
			return false
		}
		dst.Set(p)
		return true
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		raw, err := json.Marshal(v)
		if err != nil {
			return false
		}
		return dst.Addr().Interface().(json.Unmarshaler).UnmarshalJSON(raw) == nil
	}
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return false
	}
	switch t.Kind() {
	case reflect.Struct:
		return assignStruct(dst, v)
	case reflect.Map:
		return assignMap(dst, v)
	case reflect.Slice:
		return assignSlice(dst, v)
	}
	return assignScalar(dst, v)
}

var textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()

func assignStruct(dst reflect.Value, v any) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	fields := assignFields(dst.Type())
	if fields == nil {
		return false
	}
	for k, e := range m {
		index, ok := fields[k]
		if !ok || !assignBound(dst.FieldByIndex(index), e) {
			return false
		}
	}
	return true
}

func assignMap(dst reflect.Value, v any) bool {
	m, ok := v.(map[string]any)
	t := dst.Type()
	if !ok || t.Key().Kind() != reflect.String || reflect.PointerTo(t.Key()).Implements(textUnmarshalerType) {
		return false
	}
	out := reflect.MakeMapWithSize(t, len(m))
	for k, e := range m {
		if !utf8.ValidString(k) {
			return false // keys that Marshal writes alike: the last one wins there
		}
		ev := reflect.New(t.Elem()).Elem()
		if !assignBound(ev, e) {
			return false
		}
		out.SetMapIndex(reflect.ValueOf(k).Convert(t.Key()), ev)
	}
	dst.Set(out)
	return true
}

func assignSlice(dst reflect.Value, v any) bool {
	l, ok := v.([]any)
	t := dst.Type()
	if !ok || t.Elem().Kind() == reflect.Uint8 {
		return false
	}
	out := reflect.MakeSlice(t, len(l), len(l))
	for i, e := range l {
		if !assignBound(out.Index(i), e) {
			return false
		}
	}
	dst.Set(out)
	return true
}

func assignScalar(dst reflect.Value, v any) bool {
	switch dst.Kind() {
	case reflect.String:
		s, ok := v.(string)
		if ok && !utf8.ValidString(s) {
			s = validUTF8(s) // Marshal writes each bad byte as \ufffd
		}
		dst.SetString(s)
		return ok
	case reflect.Bool:
		b, ok := v.(bool)
		dst.SetBool(b)
		return ok
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := v.(json.Number)
		i, err := strconv.ParseInt(string(n), 10, 64)
		if !ok || err != nil || dst.OverflowInt(i) {
			return false
		}
		dst.SetInt(i)
		return true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, ok := v.(json.Number)
		u, err := strconv.ParseUint(string(n), 10, 64)
		if !ok || err != nil || dst.OverflowUint(u) {
			return false
		}
		dst.SetUint(u)
		return true
	case reflect.Float32, reflect.Float64:
		n, ok := v.(json.Number)
		f, err := strconv.ParseFloat(string(n), dst.Type().Bits())
		if !ok || err != nil || dst.OverflowFloat(f) {
			return false
		}
		dst.SetFloat(f)
		return true
	}
	return false
}

var assignTables sync.Map // reflect.Type -> map[string][]int (nil: take the round trip)

// assignFields maps the JSON names of struct t's fields (those of structs
// it embeds without a tag promoted, as encoding/json does) to their index
// paths; nil when two fields have one name, a field has the ",string"
// option, or a pointer or a non-struct is embedded without a name.
func assignFields(t reflect.Type) map[string][]int {
	if f, ok := assignTables.Load(t); ok {
		return f.(map[string][]int)
	}
	fields := map[string][]int{}
	if !addAssignFields(fields, t) {
		fields = nil
	}
	assignTables.Store(t, fields)
	return fields
}

func addAssignFields(fields map[string][]int, t reflect.Type) bool {
	return jsonFields(t, nil, map[reflect.Type]bool{}, func(name string, index []int, _ reflect.StructField) bool {
		if _, dup := fields[name]; dup {
			return false
		}
		fields[name] = index
		return true
	})
}
