package v1alpha1

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// The JSON Schema (draft 2020-12) of each kind, generated from the Go types
// and their rules, so that there is one source of truth: the properties
// and their types from the json tags, the constraints from the validate
// tags (schemaTags) and from the rules that span fields where a schema can
// say them (schemaFieldRules, schemaTypeRules), the descriptions from the
// doc comments of the types and fields (schemaDocs). What a schema cannot
// say (a probe naming a port the app lacks, a dependsOn cycle, the sizes
// after $(VAR) expansion) is left to `proclet validate`; the schema is
// never stricter than it.
//
// The schema describes what the decoder reads: a number or boolean where
// a string is wanted is accepted (it is taken as written), and null means
// unset, so an optional field may be null. A YAML file holds one object
// per document and a JSON file may hold a list of objects: the schema is
// that of one object.

//go:generate go run ./internal/schemagen ../../docs/schema

// jsonSchema is one schema object.
type jsonSchema = map[string]any

// schemaDialect is the $schema of every generated schema.
const schemaDialect = "https://json-schema.org/draft/2020-12/schema"

// kinds are the kinds with a schema, each with its type and the name of
// its file.
var kinds = []struct {
	kind string
	typ  reflect.Type
	file string
}{
	{KindApp, appType, "app.json"},
	{KindJob, jobType, "job.json"},
	{KindCronJob, cronJobType, "cronjob.json"},
}

// Kinds lists the kinds Schema knows, in order.
func Kinds() []string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = k.kind
	}
	return out
}

// Schema returns the JSON Schema of one kind, indented, ending in a
// newline.
func Schema(kind string) ([]byte, error) {
	for _, k := range kinds {
		if k.kind == kind {
			s, err := kindSchema(k.typ)
			if err != nil {
				return nil, err
			}
			return marshalSchema(s)
		}
	}
	return nil, fmt.Errorf("unknown kind %q (want one of %s)", kind, strings.Join(Kinds(), ", "))
}

// schemaGen builds one kind's schema: the root, and $defs for the other
// struct types and the shared scalars.
type schemaGen struct {
	docs map[string]string
	defs map[string]jsonSchema
	errs []string
}

// kindSchema is the schema of a kind's type. Its error lists every field
// that has no schema (an unknown tag) or no description.
func kindSchema(t reflect.Type) (jsonSchema, error) {
	docs, err := schemaDocs()
	if err != nil {
		return nil, err
	}
	g := &schemaGen{docs: docs, defs: map[string]jsonSchema{}}
	root := g.object(t)
	root["$schema"] = schemaDialect
	root["title"] = t.Name()
	if len(g.defs) > 0 {
		defs := jsonSchema{}
		for k, v := range g.defs {
			defs[k] = v
		}
		root["$defs"] = defs
	}
	if len(g.errs) > 0 {
		slices.Sort(g.errs)
		return nil, fmt.Errorf("schema of %s:\n%s", t.Name(), strings.Join(g.errs, "\n"))
	}
	return root, nil
}

func (g *schemaGen) errorf(format string, args ...any) {
	g.errs = append(g.errs, fmt.Sprintf(format, args...))
}

// object is the schema of a struct type: its properties, which are
// required, no others.
func (g *schemaGen) object(t reflect.Type) jsonSchema {
	s := jsonSchema{"type": "object", "additionalProperties": false}
	if d := g.docs[t.Name()]; d != "" {
		s["description"] = d
	} else {
		g.errorf("%s: no doc comment", t.Name())
	}
	props := jsonSchema{}
	var required []any
	g.addFields(t, t, props, &required)
	if len(props) > 0 {
		s["properties"] = props
	}
	if len(required) > 0 {
		s["required"] = required
	}
	if rule := schemaTypeRules[t.Name()]; rule != nil {
		rule(s)
	}
	return s
}

// addFields adds the fields of t (embedded structs inlined, as JSON does)
// to props.
func (g *schemaGen) addFields(root, t reflect.Type, props jsonSchema, required *[]any) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" && f.Anonymous && f.Type.Kind() == reflect.Struct {
			g.addFields(root, f.Type, props, required)
			continue
		}
		if name == "-" || !f.IsExported() {
			continue
		}
		key := t.Name() + "." + f.Name
		s, req := g.field(root, f, key)
		desc := g.docs[key]
		if desc == "" {
			g.errorf("%s (%s): no doc comment", key, name)
		}
		if !req {
			s = nullable(s)
		}
		s["description"] = desc
		props[name] = s
		if req {
			*required = append(*required, name)
		}
	}
}

// field is the schema of one field, and whether it is required.
func (g *schemaGen) field(root reflect.Type, f reflect.StructField, key string) (jsonSchema, bool) {
	path := strings.ToLower(root.Name()[:1]) + root.Name()[1:] + "." + f.Name
	if droppedFields[key] {
		return jsonSchema{}, false // accepted and dropped: anything goes
	}
	s := g.typeSchema(f.Type)
	tag := f.Tag.Get("validate")
	req := false
	if tag != "" && tag != "-" {
		fieldRules, elemRules, keyRules := splitTag(tag)
		req = g.apply(s, fieldRules, f.Type, path)
		if len(elemRules) > 0 {
			inner := "items"
			if f.Type.Kind() == reflect.Map {
				inner = "additionalProperties"
			}
			g.apply(s[inner].(jsonSchema), elemRules, f.Type.Elem(), path)
		}
		if len(keyRules) > 0 {
			names := jsonSchema{"type": "string"}
			g.apply(names, keyRules, f.Type.Key(), path)
			s["propertyNames"] = names
		}
	}
	// A struct every one of whose objects needs a field is needed itself
	// (spec needs command, so an App needs spec).
	if f.Type.Kind() == reflect.Struct {
		if def, ok := g.defs[f.Type.Name()]; ok && def["required"] != nil {
			req = true
		}
	}
	if rule := schemaFieldRules[key]; rule != nil {
		rule(s)
	}
	return s, req
}

// droppedFields are accepted in a file and dropped (droppedPaths).
var droppedFields = map[string]bool{"App.Status": true, "Job.Status": true, "CronJob.Status": true,
	"ObjectMeta.Generation": true, "ObjectMeta.CreationTimestamp": true}

// typeSchema is the schema of a Go type before its field's tags.
func (g *schemaGen) typeSchema(t reflect.Type) jsonSchema {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case reflect.TypeFor[Duration](), reflect.TypeFor[IntOrString]():
		return g.ref(t, func() jsonSchema { return scalarDefs[t.Name()]() })
	}
	switch t.Kind() {
	case reflect.Struct:
		return g.ref(t, func() jsonSchema { return g.object(t) })
	case reflect.Slice:
		return jsonSchema{"type": "array", "items": g.typeSchema(t.Elem())}
	case reflect.Map:
		return jsonSchema{"type": "object", "additionalProperties": g.typeSchema(t.Elem())}
	case reflect.String:
		// Taken as written: `value: 8080` is "8080".
		return jsonSchema{"type": []any{"string", "number", "boolean"}}
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		bits := t.Bits()
		return jsonSchema{"type": "integer", "minimum": int64(-1) << (bits - 1), "maximum": int64(math.MaxInt64 >> (64 - bits))}
	case reflect.Bool:
		return jsonSchema{"type": "boolean"}
	}
	g.errorf("%s: no schema for kind %s", t, t.Kind())
	return jsonSchema{}
}

// ref is a reference to the $defs entry of t, made by build the first
// time.
func (g *schemaGen) ref(t reflect.Type, build func() jsonSchema) jsonSchema {
	if _, ok := g.defs[t.Name()]; !ok {
		g.defs[t.Name()] = nil // a recursive type refers to itself
		g.defs[t.Name()] = build()
	}
	return jsonSchema{"$ref": "#/$defs/" + t.Name()}
}

// nullable admits null (unset) besides s.
func nullable(s jsonSchema) jsonSchema {
	if len(s) == 0 {
		return s
	}
	if ty, ok := s["type"]; ok {
		if list, ok := ty.([]any); ok {
			s["type"] = append(list, "null")
		} else {
			s["type"] = []any{ty, "null"}
		}
		if e, ok := s["enum"].([]any); ok {
			s["enum"] = append(e, nil)
		}
		return s
	}
	return jsonSchema{"anyOf": []any{s, jsonSchema{"type": "null"}}}
}

// splitTag splits a validate tag into the field's rules, its elements'
// (after dive) and its map keys' (between keys and endkeys).
func splitTag(tag string) (field, elem, keys []string) {
	parts := strings.Split(tag, ",")
	i := slices.Index(parts, "dive")
	if i < 0 {
		return parts, nil, nil
	}
	field, elem = parts[:i], parts[i+1:]
	if len(elem) > 0 && elem[0] == "keys" {
		end := slices.Index(elem, "endkeys")
		keys, elem = elem[1:end], elem[end+1:]
	}
	return field, elem, keys
}

// apply adds the constraints of rules to s, the schema of a value of type
// t, and says whether "required" is among them.
func (g *schemaGen) apply(s jsonSchema, rules []string, t reflect.Type, path string) (required bool) {
	// omitempty skips a zero value, except through a pointer: there only
	// nil (null) is unset, and a 0 is checked (completions: 0).
	omitempty := slices.Contains(rules, "omitempty") && t.Kind() != reflect.Pointer
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	for _, r := range rules {
		name, param, _ := strings.Cut(r, "=")
		switch name {
		case "omitempty", "":
		case "required":
			required = true
		case "min", "max":
			g.bound(s, name, param, t, omitempty, path)
		case "eq":
			s["const"] = param
		case "oneof":
			var e []any
			for _, v := range strings.Fields(param) {
				e = append(e, v)
			}
			delete(s, "type")
			s["enum"] = e
		case "gt":
			if t != reflect.TypeFor[Duration]() || param != "0" {
				g.errorf("%s: no schema for %s", path, r)
			} // the Duration def is positive
		default:
			frag, ok := schemaTags[r]
			if !ok {
				g.errorf("%s: no schema for validate tag %q", path, r)
				continue
			}
			if frag(s) {
				required = true
			}
		}
	}
	return required
}

// bound applies min or max to numbers, lists and strings.
func (g *schemaGen) bound(s jsonSchema, name, param string, t reflect.Type, omitempty bool, path string) {
	n, err := strconv.ParseInt(param, 10, 64)
	if err != nil {
		g.errorf("%s: %s=%s: %v", path, name, param, err)
		return
	}
	switch t.Kind() {
	case reflect.Slice:
		s[map[string]string{"min": "minItems", "max": "maxItems"}[name]] = n
	case reflect.String:
		s[map[string]string{"min": "minLength", "max": "maxLength"}[name]] = n
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if name == "max" {
			s["maximum"] = n
			return
		}
		if omitempty && n > 0 {
			if n != 1 {
				g.errorf("%s: no schema for omitempty,min=%d", path, n)
			}
			n = 0 // 0 is unset: the rest must be >= 1
		}
		s["minimum"] = n
	default:
		g.errorf("%s: no schema for %s on %s", path, name, t)
	}
}
