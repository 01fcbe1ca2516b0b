package client

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"proclet.dev/proclet/apis/v1alpha1"
)

// Op is what a Change says will happen to an app.
type Op byte

// The ops of a diff. OpProblem and OpKept are notes: they change nothing
// that runs.
const (
	OpAdd     Op = '+' // a new app: its instances start
	OpRemove  Op = '-' // the app goes: its instances stop
	OpModify  Op = '~' // the app changes: a rollout, a scale, labels
	OpProblem Op = '!' // a file of the directory is invalid
	OpKept    Op = '=' // an app whose file is invalid: the daemon keeps its last good version
)

// Change is one line of `proclet diff`.
type Change struct {
	Op   Op
	Name string // the app, or the file of an OpProblem
	Text string // what follows the name
}

// String is the line as printed: "+ web (new, 3 replicas)".
func (c Change) String() string {
	if c.Op == OpProblem {
		return "! " + c.Text
	}
	if c.Op == OpModify {
		return fmt.Sprintf("~ %s: %s", c.Name, c.Text)
	}
	return fmt.Sprintf("%c %s (%s)", c.Op, c.Name, c.Text)
}

// Differs reports whether c changes what runs (add, remove, modify).
func (c Change) Differs() bool { return c.Op == OpAdd || c.Op == OpRemove || c.Op == OpModify }

// noRestart are the spec fields that v1alpha1.Revision leaves out: changing
// them restarts nothing.
var noRestart = map[string]bool{
	"replicas": true, "strategy": true, "minReadySeconds": true,
	"progressDeadlineSeconds": true, "dependsOn": true, "nodeSelector": true,
}

// Diff computes what a daemon running remote would change if local were
// its manifests: the file problems of local first (by path), then one
// Change per app that differs, by name. It is pure.
//
// The API redacts env values, so env is compared by names, and a change of
// values only shows through the revision: local's v1alpha1.AppRevision
// (with the digest of the files it reads)
// against the app's status.revision. A file that is invalid in local keeps
// the daemon's apps from that file (status.source) running in their last
// good version (OpKept), as the daemon would.
func Diff(local v1alpha1.Snapshot, remote []v1alpha1.App) []Change {
	var out []Change
	broken := map[string]bool{}
	for _, f := range local.Files {
		if f.Error == nil {
			continue
		}
		broken[f.Path] = true
		msg := f.Error.Error()
		if f.Error.File == "" {
			msg = f.Path + msg
		}
		out = append(out, Change{Op: OpProblem, Name: f.Path, Text: msg})
	}
	want := map[string]*v1alpha1.App{}
	digests := map[string]string{}
	for i := range local.Apps {
		want[local.Apps[i].App.Metadata.Name] = &local.Apps[i].App
		digests[local.Apps[i].App.Metadata.Name] = local.Apps[i].ContentDigest()
	}
	have := map[string]*v1alpha1.App{}
	for i := range remote {
		have[remote[i].Metadata.Name] = &remote[i]
	}
	names := slices.Sorted(maps.Keys(want))
	for name := range have {
		if want[name] == nil {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		l, r := want[name], have[name]
		switch {
		case r == nil:
			out = append(out, Change{Op: OpAdd, Name: name, Text: addedText(l)})
		case l == nil && r.Status != nil && broken[r.Status.Source]:
			out = append(out, Change{Op: OpKept, Name: name,
				Text: fmt.Sprintf("kept: %s is invalid, the daemon keeps its last good version", r.Status.Source)})
		case l == nil:
			out = append(out, Change{Op: OpRemove, Name: name, Text: "removed"})
		default:
			if c, ok := compareApp(l, digests[name], r); ok {
				out = append(out, c)
			}
		}
	}
	return out
}

// compareApp describes how l (local, whose files have the digest
// digest) differs from r (what runs).
func compareApp(l *v1alpha1.App, digest string, r *v1alpha1.App) (Change, bool) {
	restart, other := specDiffs(&l.Spec, &r.Spec)
	kr, ko := kindDiffs(l, r)
	restart, other = append(restart, kr...), append(other, ko...)
	meta := metaDiffs(&l.Metadata, &r.Metadata)
	localRev := v1alpha1.AppRevision(l, digest)
	remoteRev := ""
	if r.Status != nil {
		remoteRev = r.Status.Revision
	}
	rolls := len(restart) > 0
	if remoteRev != "" {
		rolls = localRev != remoteRev
	}
	c := Change{Op: OpModify, Name: l.Metadata.Name}
	switch {
	case rolls:
		switch ra := v1alpha1.RestartedAtAnnotation; {
		case len(restart) > 0:
		case l.Metadata.Annotations[ra] != r.Metadata.Annotations[ra]:
			restart = []string{"annotation " + ra} // proclet rollout restart
		default:
			restart = []string{"env or probe header values"} // the parts of the spec the API hides
		}
		c.Text = rollText(l, r, localRev, remoteRev, strings.Join(slices.Concat(restart, other, meta), ", "))
	case len(other) > 0:
		what := "no restart"
		if len(other) == 1 && strings.HasPrefix(other[0], "replicas ") {
			what = "scale, no restart"
		}
		c.Text = fmt.Sprintf("%s (%s)", strings.Join(slices.Concat(other, meta), ", "), what)
	case len(meta) > 0:
		c.Text = strings.Join(meta, " and ") + " only (no restart)"
	default:
		return Change{}, false
	}
	return c, true
}

// specDiffs lists the top-level spec fields that differ, in the order of
// AppSpec, split into those that make a new revision and the others.
// Replicas reads "replicas 3 -> 5"; env is compared by names only.
func specDiffs(l, r *v1alpha1.AppSpec) (restart, other []string) {
	lf, rf := specFields(l), specFields(r)
	t := reflect.TypeFor[v1alpha1.AppSpec]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name == "" || name == "-" || reflect.DeepEqual(lf[name], rf[name]) {
			continue
		}
		switch {
		case name == "replicas":
			other = append(other, fmt.Sprintf("replicas %d -> %d", derefReplicas(r.Replicas), derefReplicas(l.Replicas)))
		case noRestart[name]:
			other = append(other, name)
		default:
			restart = append(restart, name)
		}
	}
	return restart, other
}

// specFields is the defaulted spec as generic JSON, by top-level field,
// with env reduced to its names and the probes' header values blanked
// (the API shows neither).
func specFields(s *v1alpha1.AppSpec) map[string]any {
	c := v1alpha1.App{Spec: *s.DeepCopy()}
	v1alpha1.Default(&c)
	for _, p := range []*v1alpha1.Probe{c.Spec.StartupProbe, c.Spec.ReadinessProbe, c.Spec.LivenessProbe} {
		if p != nil && p.HTTPGet != nil {
			for i := range p.HTTPGet.HTTPHeaders {
				p.HTTPGet.HTTPHeaders[i].Value = "" // a deep copy: ours to write
			}
		}
	}
	names := make([]string, len(c.Spec.Env))
	for i, e := range c.Spec.Env {
		names[i] = e.Name
	}
	c.Spec.Env = nil
	raw, err := json.Marshal(c.Spec)
	if err != nil {
		panic("client: marshal spec: " + err.Error()) // every v1alpha1 type marshals
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		panic("client: unmarshal spec: " + err.Error())
	}
	if len(names) > 0 {
		m["env"] = names
	}
	return m
}

func metaDiffs(l, r *v1alpha1.ObjectMeta) []string {
	var out []string
	if !maps.Equal(l.Labels, r.Labels) {
		out = append(out, "labels")
	}
	if !maps.Equal(l.Annotations, r.Annotations) {
		out = append(out, "annotations")
	}
	return out
}

func derefReplicas(p *int32) int32 {
	if p == nil {
		return v1alpha1.DefaultReplicas
	}
	return *p
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
