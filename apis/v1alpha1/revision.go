package v1alpha1

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"reflect"
)

// Revision returns the revision of a spec: 10 hex characters of the SHA-256
// of the canonical JSON of the defaulted spec, without the fields that do
// not change the process (replicas, strategy, minReadySeconds,
// progressDeadlineSeconds, dependsOn, nodeSelector). Metadata is not
// part of it: labels and annotations restart nothing, except the one
// annotation AppRevision adds (RestartedAtAnnotation).
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

// RestartedAtAnnotation is the one annotation that is part of an app's
// revision, as kubectl's restartedAt is part of a pod template: setting it
// to a new value (proclet rollout restart) rolls the app without changing
// its spec.
const RestartedAtAnnotation = "proclet.dev/restartedAt"

// AppRevision is the revision of an app whose files have the digest
// contentDigest (SourcedApp.Content; "" for an app that reads no file):
// Revision of its spec when it has neither that digest nor a
// RestartedAtAnnotation (so the revisions of such apps never change across
// releases), else the hash of the spec's view together with the
// annotation's value and the digest.
//
// A carried Job or CronJob has the revision of its job spec
// (revision_jobs.go): AppRevision handles every kind.
func AppRevision(app *App, contentDigest string) string {
	if !app.IsApp() {
		return jobRevision(app, contentDigest)
	}
	at := app.Metadata.Annotations[RestartedAtAnnotation]
	if at == "" && contentDigest == "" {
		return Revision(&app.Spec)
	}
	return canonicalHash(appRevisionView{revisionView(&app.Spec), at, contentDigest})
}

// appRevisionView is what AppRevision hashes beside the spec.
type appRevisionView struct {
	Spec        *AppSpec `json:"spec"`
	RestartedAt string   `json:"restartedAt,omitempty"`
	Content     string   `json:"content,omitempty"`
}

// ContentDigest is the digest of the files sa reads (Content.Digest), ""
// when it reads none: AppRevision's second argument.
func (sa *SourcedApp) ContentDigest() string {
	if sa == nil || sa.Content == nil {
		return ""
	}
	return sa.Content.Digest
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

// canonicalJSON is v as JSON with empty values dropped and keys sorted:
// written in one walk of v (canonical.go) when its type allows, else by
// canonicalRoundTrip; the two give the same bytes.
func canonicalJSON(v any) []byte {
	if rv := reflect.ValueOf(v); rv.IsValid() {
		if p := planFor(rv.Type()); p != nil {
			buf, _ := writeCanonical(make([]byte, 0, 1024), rv, p)
			return buf
		}
	}
	return canonicalRoundTrip(v)
}

// canonicalRoundTrip is canonicalJSON through encoding/json: marshal,
// decode into maps, prune, encode with sorted keys. It defines the
// canonical form.
func canonicalRoundTrip(v any) []byte {
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
