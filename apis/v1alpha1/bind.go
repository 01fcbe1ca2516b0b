package v1alpha1

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// binder checks a tree against a Go type, strictly, and returns the plain
// JSON value (map[string]any, []any, string, json.Number, bool) that
// encoding/json then decodes: unknown fields, repeated keys and values of
// the wrong type are reported with their field path and line.
//
// Values written as a number or boolean where a string is wanted are taken
// as written (`value: 8080` is "8080", `memory: 1024` is "1024"); the
// reverse is an error (`replicas: "3"`). null, or a key with no value,
// means unset; so does an empty list or map (`env: []`, `labels: {}`).
type binder struct {
	errs ErrorList
	// lines maps each field path seen to its line (the key's line for an
	// object field), so that validation errors can be placed.
	lines map[string]int
	// refusedPaths are the fields whose value was refused (left unset),
	// and the fields misspelt keys were likely meant to be: validation
	// errors about them would repeat what errs says.
	refusedPaths []string
}

// droppedPaths are accepted in a file and thrown away unread: they are the
// daemon's to set.
var droppedPaths = map[string]bool{"status": true, "metadata.generation": true, "metadata.creationTimestamp": true}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

func newBinder(docLine int) *binder {
	return &binder{lines: map[string]int{"": docLine}}
}

func (b *binder) errorf(path string, line int, format string, args ...any) {
	b.errs = append(b.errs, &FileError{Field: path, Line: line, Reason: ReasonInvalid, Message: fmt.Sprintf(format, args...)})
	b.refusedPaths = append(b.refusedPaths, path)
}

// bind returns the JSON value of n as type t, or nil (unset, or wrong).
func (b *binder) bind(n *node, t reflect.Type, path string) any {
	if n.kind == kindInvalid {
		b.errorf(path, n.line, "%s", n.msg)
		return nil
	}
	if n.kind == kindNull {
		return nil
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return b.bindUnmarshaler(n, t, path)
	}
	switch t.Kind() {
	case reflect.Struct:
		return b.bindStruct(n, t, path)
	case reflect.Slice:
		return b.bindSlice(n, t, path)
	case reflect.Map:
		return b.bindMap(n, t, path)
	case reflect.String:
		switch n.kind {
		case kindString:
			return n.str
		case kindNumber, kindBool:
			return n.text
		}
		b.errorf(path, n.line, "want a string, got %s", n.kind)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return b.bindInt(n, t, path)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return b.bindUint(n, t, path)
	case reflect.Float32, reflect.Float64:
		if n.kind != kindNumber {
			b.errorf(path, n.line, "want a number, got %s%s", n.kind, quoted(n))
			return nil
		}
		f, err := strconv.ParseFloat(n.str, t.Bits())
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			b.errorf(path, n.line, "want a finite number, got %s", number(n.text))
			return nil
		}
		return json.Number(strconv.FormatFloat(f, 'g', -1, t.Bits()))
	case reflect.Bool:
		if n.kind != kindBool {
			b.errorf(path, n.line, "want true or false, got %s%s", n.kind, quoted(n))
			return nil
		}
		return n.b
	default:
		v, err := b.plain(n, path)
		if err != nil {
			b.errorf(path, n.line, "%v", err)
			return nil
		}
		return v
	}
	return nil
}

// bindInt returns n as a JSON integer that fits t (a signed integer
// type), or nil (wrong, with its error).
func (b *binder) bindInt(n *node, t reflect.Type, path string) any {
	if n.kind != kindNumber {
		b.errorf(path, n.line, "want an integer, got %s%s", n.kind, quoted(n))
		return nil
	}
	v, err := strconv.ParseInt(n.str, 10, t.Bits())
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			b.errorf(path, n.line, "%s is out of range", number(n.text))
		} else {
			b.errorf(path, n.line, "want an integer, got %s", number(n.text))
		}
		return nil
	}
	return json.Number(strconv.FormatInt(v, 10))
}

// bindUint is bindInt for an unsigned integer type.
func (b *binder) bindUint(n *node, t reflect.Type, path string) any {
	if n.kind != kindNumber {
		b.errorf(path, n.line, "want an integer >= 0, got %s%s", n.kind, quoted(n))
		return nil
	}
	v, err := strconv.ParseUint(n.str, 10, t.Bits())
	if err != nil {
		b.errorf(path, n.line, "want an integer >= 0 in range, got %s", number(n.text))
		return nil
	}
	return json.Number(strconv.FormatUint(v, 10))
}

// quoted shows a wrongly typed string when it is a short token: ` "3"`
// (quote.go says why a longer one is not shown).
func quoted(n *node) string {
	if n.kind == kindString && isToken(n.str) {
		return " " + quote(n.str)
	}
	return ""
}

// bindUnmarshaler hands a value to a type's own UnmarshalJSON (Duration,
// IntOrString) and reports its error at the field.
func (b *binder) bindUnmarshaler(n *node, t reflect.Type, path string) any {
	v, err := b.plain(n, path)
	if err != nil {
		b.errorf(path, n.line, "%v", err)
		return nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		b.errorf(path, n.line, "%s is not a valid value", number(n.text))
		return nil
	}
	u := reflect.New(t).Interface().(json.Unmarshaler)
	if err := u.UnmarshalJSON(raw); err != nil {
		b.errorf(path, n.line, "%s", strings.TrimPrefix(err.Error(), "json: "))
		return nil
	}
	return v
}

// plain is the JSON value of a node with no type to check it against.
func (b *binder) plain(n *node, path string) (any, error) {
	switch n.kind {
	case kindNull:
		return nil, nil
	case kindString:
		return n.str, nil
	case kindBool:
		return n.b, nil
	case kindNumber:
		if !json.Valid([]byte(n.str)) {
			return nil, fmt.Errorf("%s is not a finite number", number(n.text))
		}
		return json.Number(n.str), nil
	case kindArray:
		out := make([]any, len(n.items))
		for i, it := range n.items {
			v, err := b.plain(it, joinIndex(path, i))
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case kindObject:
		out := make(map[string]any, len(n.fields))
		for _, f := range n.fields {
			v, err := b.plain(f.val, joinKey(path, f.key))
			if err != nil {
				return nil, err
			}
			out[f.key] = v
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s", n.msg)
}

func (b *binder) dups(n *node, path string, join func(string, string) string) {
	for _, d := range n.dups {
		if d.first > 0 {
			b.errorf(join(path, d.key), d.line, "duplicate key (first at line %d)", d.first)
		} else {
			b.errorf(join(path, d.key), d.line, "duplicate key")
		}
	}
}

func (b *binder) bindStruct(n *node, t reflect.Type, path string) any {
	if n.kind != kindObject && path == "" {
		// The whole document is one scalar: a key file, a password. Not a
		// word of it is repeated.
		b.errorf(path, n.line, "want an object, got %s", n.kind)
		return nil
	}
	if n.kind != kindObject {
		b.errorf(path, n.line, "want an object, got %s%s", n.kind, quoted(n))
		return nil
	}
	fields := structFields(t)
	if path == "" && !hasAnyField(n, fields) {
		// Not an App at all (a config or credentials file): its keys may be
		// its secrets, so none is named.
		b.errorf(path, n.line, "not an App: none of %s at the top level", strings.Join(fields.names, ", "))
		return nil
	}
	b.dups(n, path, joinKey)
	out := make(map[string]any, len(n.fields))
	for _, f := range n.fields {
		fp := joinKey(path, f.key)
		if droppedPaths[fp] {
			continue
		}
		if _, ok := b.lines[fp]; !ok {
			b.lines[fp] = f.line
		}
		if f.val.kind == kindInvalid && (f.key == "<<" || f.key == "?") {
			b.errorf(fp, f.val.line, "%s", f.val.msg)
			continue
		}
		ft, ok := fields.types[f.key]
		if !ok {
			b.unknown(path, fp, f.key, f.line, fields.names)
			continue
		}
		if v := b.bind(f.val, ft, fp); v != nil {
			out[f.key] = v
		}
	}
	return out
}

// hasAnyField reports whether object n has at least one field of table.
func hasAnyField(n *node, table *fieldTable) bool {
	for _, f := range n.fields {
		if _, ok := table.types[f.key]; ok {
			return true
		}
	}
	return false
}

func (b *binder) bindSlice(n *node, t reflect.Type, path string) any {
	if n.kind != kindArray {
		b.errorf(path, n.line, "want a list, got %s%s", n.kind, quoted(n))
		return nil
	}
	out := make([]any, 0, len(n.items))
	for i, it := range n.items {
		ip := joinIndex(path, i)
		b.lines[ip] = it.line
		if it.kind == kindNull {
			b.errorf(ip, it.line, "must not be null")
			continue
		}
		out = append(out, b.bind(it, t.Elem(), ip))
	}
	if len(out) == 0 {
		return nil // [] is unset, like null: one App per meaning
	}
	return out
}

func (b *binder) bindMap(n *node, t reflect.Type, path string) any {
	if n.kind != kindObject {
		b.errorf(path, n.line, "want an object, got %s%s", n.kind, quoted(n))
		return nil
	}
	if t.Key().Kind() != reflect.String {
		b.errorf(path, n.line, "unsupported map key type %s", t.Key())
		return nil
	}
	b.dups(n, path, joinMapKey)
	out := make(map[string]any, len(n.fields))
	for _, f := range n.fields {
		fp := joinMapKey(path, f.key)
		b.lines[fp] = f.line
		if f.val.kind == kindNull {
			b.errorf(fp, f.line, "must not be null (write \"\" for an empty value)")
			continue
		}
		if v := b.bind(f.val, t.Elem(), fp); v != nil {
			out[f.key] = v
		}
	}
	if len(out) == 0 {
		return nil // {} is unset, like null
	}
	return out
}

// fieldTable is the JSON fields of a struct type, embedded structs inlined
// as encoding/json does.
type fieldTable struct {
	types map[string]reflect.Type
	names []string
}

var fieldTables sync.Map // reflect.Type -> *fieldTable

func structFields(t reflect.Type) *fieldTable {
	if ft, ok := fieldTables.Load(t); ok {
		return ft.(*fieldTable)
	}
	ft := &fieldTable{types: map[string]reflect.Type{}}
	var add func(reflect.Type)
	add = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" || (!f.IsExported() && !f.Anonymous) {
				continue
			}
			if name == "" && f.Anonymous && f.Type.Kind() == reflect.Struct {
				add(f.Type)
				continue
			}
			if name == "" {
				name = f.Name
			}
			if _, ok := ft.types[name]; !ok {
				ft.types[name] = f.Type
				ft.names = append(ft.names, name)
			}
		}
	}
	add(t)
	fieldTables.Store(t, ft)
	return ft
}

// unknown reports an unknown field of the object at path, and refuses
// the field it was likely meant to be (not the object: its other
// problems still stand).
func (b *binder) unknown(path, fp, key string, line int, names []string) {
	b.errs = append(b.errs, &FileError{Field: fp, Line: line, Reason: ReasonInvalid,
		Message: "unknown field" + suggest(key, names)})
	if name := closest(key, names); name != "" {
		b.refusedPaths = append(b.refusedPaths, joinKey(path, name))
	}
}

// suggest names the known field closest to a misspelt one, if any is close.
func suggest(key string, names []string) string {
	best := closest(key, names)
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// closest is the known field closest to a misspelt one, or "".
func closest(key string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		d := editDistance(strings.ToLower(key), strings.ToLower(n))
		if strings.EqualFold(key, n) {
			d = 0
		}
		if d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance, for short field names.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
