package v1alpha1

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// SchemaFiles are the files published under docs/schema: one schema per
// kind, and index.json, the schema of any object of proclet.dev/v1alpha1,
// which picks the kind's schema by its kind field.
func SchemaFiles() (map[string][]byte, error) {
	files := map[string][]byte{}
	var allOf, names []any
	for _, k := range kinds {
		b, err := Schema(k.kind)
		if err != nil {
			return nil, err
		}
		files[k.file] = b
		names = append(names, k.kind)
		allOf = append(allOf, byKind(k.kind, k.file))
	}
	index, err := marshalSchema(indexSchema(names, allOf, nil))
	if err != nil {
		return nil, err
	}
	files["index.json"] = index
	return files, nil
}

// SchemaBundle is one self-contained schema of every kind: the index's
// choice by kind, with each kind's schema in its $defs (what `proclet
// schema` prints without --kind; a printed schema cannot refer to files
// beside it).
func SchemaBundle() ([]byte, error) {
	defs := jsonSchema{}
	var allOf, names []any
	for _, k := range kinds {
		s, err := kindSchema(k.typ)
		if err != nil {
			return nil, err
		}
		for name, d := range s["$defs"].(jsonSchema) {
			if prev, ok := defs[name]; ok && !reflect.DeepEqual(prev, d) {
				return nil, fmt.Errorf("kinds define $defs/%s differently", name)
			}
			defs[name] = d
		}
		delete(s, "$defs")
		delete(s, "$schema")
		defs[k.kind] = s
		names = append(names, k.kind)
		allOf = append(allOf, byKind(k.kind, "#/$defs/"+k.kind))
	}
	return marshalSchema(indexSchema(names, allOf, defs))
}

// byKind applies the schema at ref to an object of kind.
func byKind(kind, ref string) jsonSchema {
	return jsonSchema{
		"if":   jsonSchema{"properties": jsonSchema{"kind": jsonSchema{"const": kind}}, "required": []any{"kind"}},
		"then": jsonSchema{"$ref": ref},
	}
}

// indexSchema is the schema of any object of the group version.
func indexSchema(names, allOf []any, defs jsonSchema) jsonSchema {
	s := jsonSchema{
		"$schema":     schemaDialect,
		"title":       GroupVersion,
		"description": "Any object of " + GroupVersion + ": the schema of its kind (" + strings.Join(Kinds(), ", ") + ").",
		"type":        "object",
		"required":    []any{"apiVersion", "kind"},
		"properties": jsonSchema{
			"apiVersion": jsonSchema{"const": GroupVersion},
			"kind":       jsonSchema{"enum": names},
		},
		"allOf": allOf,
	}
	if defs != nil {
		s["$defs"] = defs
	}
	return s
}

func marshalSchema(s jsonSchema) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
