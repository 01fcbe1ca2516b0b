package v1alpha1

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// Revision returns the revision of a spec: 10 hex characters of the SHA-256
// of the canonical JSON of the defaulted spec, without the fields that do
// not change the process (replicas, strategy, minReadySeconds,
// progressDeadlineSeconds, dependsOn, nodeSelector). Metadata is never
// part of it: labels and annotations restart nothing.
//
// The canonical form drops every empty value (null, "", 0, false, {}, [])
// from objects, recursively, and sorts keys, so a field added in a later
// release leaves every revision unchanged as long as it is unset. A new
// field must therefore never get a non-empty default, or every app would
// restart on upgrade; revision_test.go pins the hashes.
//
// The spec is not modified; it need not be defaulted.
func Revision(spec *AppSpec) string {
	return canonicalHash(revisionView(spec))
}

// RevisionWithContent is Revision for an app whose files are part of its
// revision (Content.Digest): the spec and the digest hashed together. An
// empty digest gives Revision, so an app that reads no file keeps its
// revision across releases.
func RevisionWithContent(spec *AppSpec, digest string) string {
	if digest == "" {
		return Revision(spec)
	}
	return canonicalHash(struct {
		Spec    *AppSpec `json:"spec"`
		Content string   `json:"content"`
	}{revisionView(spec), digest})
}

// revisionView is the defaulted copy of spec that Revision hashes.
func revisionView(spec *AppSpec) *AppSpec {
	s := spec.DeepCopy()
	if s == nil {
		s = &AppSpec{}
	}
	defaultSpec(s)
	s.Replicas = nil
	s.Strategy = Strategy{}
	s.MinReadySeconds = 0
	s.ProgressDeadlineSeconds = nil
	s.DependsOn = nil
	s.NodeSelector = nil
	return s
}

// canonicalHash hashes the canonical JSON of v.
func canonicalHash(v any) string {
	sum := sha256.Sum256(canonicalJSON(v))
	return hex.EncodeToString(sum[:])[:10]
}

// canonicalJSON is v as JSON with empty values dropped and keys sorted.
func canonicalJSON(v any) []byte {
	raw, err := json.Marshal(v)
	if err != nil {
		// Every type of this package marshals; reaching here is a bug.
		panic("v1alpha1: canonical JSON: " + err.Error())
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var generic any
	if err := dec.Decode(&generic); err != nil {
		panic("v1alpha1: canonical JSON: " + err.Error())
	}
	generic = prune(generic)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(generic); err != nil {
		panic("v1alpha1: canonical JSON: " + err.Error())
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// prune drops empty values from objects, recursively. List items are kept
// (their position is meaning: `command: ["x", ""]`), only pruned inside.
func prune(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			e = prune(e)
			if isEmpty(e) {
				delete(v, k)
			} else {
				v[k] = e
			}
		}
		return v
	case []any:
		for i, e := range v {
			v[i] = prune(e)
		}
		return v
	}
	return v
}

func isEmpty(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == ""
	case bool:
		return !v
	case json.Number:
		f, err := v.Float64()
		return err == nil && f == 0
	case map[string]any:
		return len(v) == 0
	case []any:
		return len(v) == 0
	}
	return false
}
