package v1alpha1

import (
	"reflect"
	"slices"
	"strings"
)

// jsonFields calls field with each field of struct t that encoding/json
// encodes, at index path at, with its JSON name: the fields of an
// embedded struct in its place, as encoding/json flattens them. It
// reports false, and stops, at what the fast paths that use it (the
// canonical JSON of a revision, the binding of a decoded document) do not
// copy of encoding/json: a ",string" option, a name that is not as
// written, an embedded non-struct, a struct embedded in itself
// (embedding holds the ones being walked), or when field does.
func jsonFields(t reflect.Type, at []int, embedding map[reflect.Type]bool, field func(name string, index []int, f reflect.StructField) bool) bool {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		index := append(slices.Clip(at), i)
		if f.Anonymous && name == "" && tag != "-" {
			if f.Type.Kind() != reflect.Struct || embedding[f.Type] {
				return false
			}
			embedding[f.Type] = true
			ok := jsonFields(f.Type, index, embedding, field)
			delete(embedding, f.Type)
			if !ok {
				return false
			}
			continue
		}
		if !f.IsExported() || tag == "-" {
			continue
		}
		if strings.Contains(","+opts+",", ",string,") || !simpleTag(name) {
			return false
		}
		if name == "" {
			name = f.Name
		}
		if !field(name, index, f) {
			return false
		}
	}
	return true
}
