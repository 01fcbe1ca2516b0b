package v1alpha1

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	toml "github.com/pelletier/go-toml/v2"
	"github.com/santhosh-tekuri/jsonschema/v6"
	yaml "go.yaml.in/yaml/v3"
)

const schemaDir = "../../docs/schema"

// Every field of every kind has a schema and a description, and so does
// every type: the generator refuses a tag it cannot say and a field
// without a doc comment.
func TestSchema_EveryFieldHasASchemaAndADescription(t *testing.T) {
	for _, kind := range Kinds() {
		b, err := Schema(kind)
		if err != nil {
			t.Fatal(err)
		}
		var s map[string]any
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatal(err)
		}
		walkProperties(s, "", func(path string, p map[string]any) {
			if d, _ := p["description"].(string); d == "" {
				t.Errorf("%s: %s has no description", kind, path)
			}
		})
	}
	// The check itself: a type with an undocumented field, an unknown tag.
	type undocumented struct {
		A string `json:"a"`
		B string `json:"b" validate:"nosuchtag"`
	}
	_, err := kindSchema(reflect.TypeFor[undocumented]())
	for _, want := range []string{"undocumented: no doc comment", "undocumented.A (a): no doc comment", `no schema for validate tag "nosuchtag"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("schema of an undocumented type: error %v, want %q", err, want)
		}
	}
	if _, err := Schema("Nope"); err == nil {
		t.Error("Schema(Nope) did not fail")
	}
}

// walkProperties calls fn on every property schema under s.
func walkProperties(s any, path string, fn func(string, map[string]any)) {
	switch s := s.(type) {
	case map[string]any:
		// An object's own properties; those of an if, a oneOf or a
		// refinement beside a $ref restate some of them.
		if props, ok := s["properties"].(map[string]any); ok && s["type"] == "object" {
			for name, p := range props {
				fn(path+"."+name, p.(map[string]any))
			}
		}
		for k, v := range s {
			walkProperties(v, path+"/"+k, fn)
		}
	case []any:
		for _, v := range s {
			walkProperties(v, path, fn)
		}
	}
}

// docs/schema is what the generator prints: `go generate ./apis/v1alpha1`
// refreshes it.
func TestSchema_PublishedFilesAreUpToDate(t *testing.T) {
	files, err := SchemaFiles()
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(schemaDir)
	if err != nil {
		t.Fatal(err)
	}
	var onDisk []string
	for _, e := range entries {
		onDisk = append(onDisk, e.Name())
	}
	var want []string
	for name, data := range files {
		want = append(want, name)
		got, err := os.ReadFile(filepath.Join(schemaDir, name))
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("docs/schema/%s differs from the generator's (run go generate ./apis/v1alpha1)", name)
		}
	}
	slices.Sort(want)
	if !slices.Equal(onDisk, want) {
		t.Errorf("docs/schema has %v, the generator writes %v", onDisk, want)
	}
}

// compiledSchema compiles docs/schema/index.json (and the kinds' schemas
// it refers to) with a 2020-12 validator.
func compiledSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	entries, err := os.ReadDir(schemaDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		f, err := os.Open(filepath.Join(schemaDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.AddResource("file:///schema/"+e.Name(), doc); err != nil {
			t.Fatal(err)
		}
	}
	s, err := c.Compile("file:///schema/index.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// objects reads the objects of a manifest file as JSON values, as the
// schema sees them: each YAML document, each item of a JSON list.
func objects(t *testing.T, path string, data []byte) []any {
	t.Helper()
	var out []any
	var raw []any
	switch filepath.Ext(path) {
	case ".yaml", ".yml":
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var v any
			err := dec.Decode(&v)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if v != nil {
				raw = append(raw, v)
			}
		}
	case ".json":
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if list, ok := v.([]any); ok {
			raw = list
		} else {
			raw = []any{v}
		}
	case ".toml":
		var v map[string]any
		if err := toml.Unmarshal(data, &v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		raw = []any{v}
	default:
		t.Fatalf("%s: unknown extension", path)
	}
	for _, v := range raw {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, inst)
	}
	return out
}

// validManifests are the decode tests' valid inputs the testdata files do
// not cover: explicit zeros, null as unset, scalars taken as written,
// anchors and merge keys, notify: {}.
var validManifests = map[string]string{
	"zeros.yaml":   minimal + "  replicas: 0\n  terminationGracePeriodSeconds: 0\n",
	"nulls.yaml":   minimal + "  replicas: null\n  restartBackoff:\n  env: []\n  lifecycle: {preStop: null}\n",
	"scalars.yaml": minimal + "  env: [{name: PORT2, value: 8080}, {name: DEBUG, value: true}, {name: V, value: 1.10}]\n  resources: {limits: {memory: 1048576, cpu: 500m}}\n",
	"anchors.yaml": minimal + "  readinessProbe: &probe\n    httpGet: {path: /healthz, port: http}\n    periodSeconds: 5\n" +
		"  livenessProbe:\n    <<: *probe\n    periodSeconds: 20\n  ports: [{name: http, range: 8000-8009}]\n",
	"notify.yaml": minimal + "  readinessProbe: {notify: {}}\n  livenessProbe: {notify: {}, periodSeconds: 30}\n",
	"fixed.yaml":  minimal + "  replicas: 1\n  ports: [{name: http, port: 8080}, {name: admin, range: 9000-9001}]\n",
	"strategy.yaml": minimal + "  strategy: {type: Recreate}\n  restartBackoff: {initial: 500ms, max: 1h30m}\n" +
		"  lifecycle: {preStop: {exec: {command: [sleep, '1']}}}\n  stopSignal: INT\n  dependsOn: [{app: db, condition: Started}]\n",
	"valuefrom.yaml": minimal + "  env: [{name: A, valueFrom: {file: a.txt}}, {name: B, value: \"\", valueFrom: {file: b}}]\n" +
		"  envFrom: [{file: web.env, optional: true}]\n  rolloutOnChange: {executable: true, paths: [config/]}\n",
	"edges.yaml": strings.Replace(minimal, "[./web]", "[./web, 8080, true]", 1) + "  env: [{name: A}]\n  ports: [{name: http, port: 0, range: 8000-8001}]\n" +
		"  readinessProbe: {exec: {command: [a]}, notify: null}\n  livenessProbe: {httpGet: {port: 8080, host: '::1'}, successThreshold: 1}\n" +
		"  strategy: {rollingUpdate: {maxSurge: 0%, maxUnavailable: 100%}}\n  stopSignal: TERM\n" +
		"  restartBackoff: {initial: +1.5s, max: 1h30m}\n  resources: {limits: {memory: 1e3, cpu: 0.5, openFiles: 1024}}\n" +
		"  logs: {maxSize: 1.5Gi}\n  nodeSelector: {example.com/role: web, empty: ''}\n",
}

// Every example manifest, testdata file and valid decode case decodes and
// passes the schema.
func TestSchema_ValidManifestsPass(t *testing.T) {
	s := compiledSchema(t)
	files := map[string][]byte{}
	for _, glob := range []string{"../../manifests/*.yaml", "testdata/*"} {
		paths, err := filepath.Glob(glob)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			files[p] = b
		}
	}
	for name, data := range validManifests {
		files[name] = []byte(data)
	}
	if len(files) < 15 {
		t.Fatalf("only %d files", len(files))
	}
	for path, data := range files {
		if _, err := DecodeFile(path, data); err != nil {
			t.Errorf("%s does not decode: %v", path, err)
		}
		for i, obj := range objects(t, path, data) {
			if err := s.Validate(obj); err != nil {
				t.Errorf("%s, object %d: the schema refuses it:\n%v", path, i, err)
			}
		}
	}
}

// The bundle (proclet schema without --kind) stands alone: it compiles
// with nothing beside it and judges as the published files do.
func TestSchema_BundleStandsAlone(t *testing.T) {
	b, err := SchemaBundle()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("file:///bundle.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("file:///bundle.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(objects(t, "a.yaml", []byte(validManifests["anchors.yaml"]))[0]); err != nil {
		t.Errorf("a valid manifest refused: %v", err)
	}
	for _, bad := range []string{minimal + "  replicas: 10001\n", strings.Replace(minimal, "kind: App", "kind: Pod", 1)} {
		if err := s.Validate(objects(t, "a.yaml", []byte(bad))[0]); err == nil {
			t.Errorf("accepted:\n%s", bad)
		}
	}
}
