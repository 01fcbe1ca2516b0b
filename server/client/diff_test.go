package client

import (
	"slices"
	"testing"

	"proclet.dev/proclet/apis/v1alpha1"
)

// mkApp is a defaulted app as a manifest would give it.
func mkApp(name string, replicas int32, command ...string) v1alpha1.App {
	a := v1alpha1.App{APIVersion: v1alpha1.GroupVersion, Kind: v1alpha1.KindApp,
		Metadata: v1alpha1.ObjectMeta{Name: name},
		Spec:     v1alpha1.AppSpec{Replicas: &replicas, Command: command}}
	v1alpha1.Default(&a)
	return a
}

// served is app as the daemon's API shows it: status.revision set, env
// and probe header values redacted, from file path.
func served(a v1alpha1.App, path string) v1alpha1.App {
	r := *a.DeepCopy()
	r.Status = &v1alpha1.AppStatus{Revision: v1alpha1.Revision(&r.Spec), Source: path}
	for i := range r.Spec.Env {
		r.Spec.Env[i].Value = "<redacted>"
	}
	if p := r.Spec.ReadinessProbe; p != nil && p.HTTPGet != nil {
		for i := range p.HTTPGet.HTTPHeaders {
			p.HTTPGet.HTTPHeaders[i].Value = "<redacted>"
		}
	}
	return r
}

func snapshot(apps ...v1alpha1.App) v1alpha1.Snapshot {
	var s v1alpha1.Snapshot
	for _, a := range apps {
		s.Apps = append(s.Apps, v1alpha1.SourcedApp{App: a, Path: a.Metadata.Name + ".yaml"})
		s.Files = append(s.Files, v1alpha1.FileStatus{Path: a.Metadata.Name + ".yaml", Objects: []string{a.Metadata.Name}})
	}
	return s
}

func with(a v1alpha1.App, edit func(*v1alpha1.App)) v1alpha1.App {
	c := *a.DeepCopy()
	edit(&c)
	return c
}

func TestDiff(t *testing.T) {
	web := mkApp("web", 3, "srv", "--port", "8000")
	web.Spec.Env = []v1alpha1.EnvVar{{Name: "TOKEN", Value: "old"}}
	web.Spec.ReadinessProbe = &v1alpha1.Probe{ProbeHandler: v1alpha1.ProbeHandler{HTTPGet: &v1alpha1.HTTPGetAction{
		Path: "/ready", Port: v1alpha1.FromString("http"), HTTPHeaders: []v1alpha1.HTTPHeader{{Name: "Authorization", Value: "Bearer old"}}}}}
	v1alpha1.Default(&web)
	newHeader := with(web, func(a *v1alpha1.App) { a.Spec.ReadinessProbe.HTTPGet.HTTPHeaders[0].Value = "Bearer new" })
	db := mkApp("db", 1, "db")
	revOf := func(a v1alpha1.App) string { return v1alpha1.Revision(&a.Spec) }
	newWeb := with(web, func(a *v1alpha1.App) { a.Spec.Command = []string{"srv2"} })
	rolled := with(newWeb, func(a *v1alpha1.App) {
		*a.Spec.Replicas = 2
		a.Spec.Env = append(a.Spec.Env, v1alpha1.EnvVar{Name: "MORE", Value: "1"})
		a.Metadata.Labels = map[string]string{"x": "y"}
	})

	for _, tc := range []struct {
		name   string
		local  v1alpha1.Snapshot
		remote []v1alpha1.App
		want   []string
	}{
		{"nothing differs", snapshot(web, db), []v1alpha1.App{served(db, "db.yaml"), served(web, "web.yaml")}, nil},
		{"new and removed", snapshot(web, mkApp("one", 1, "x")), []v1alpha1.App{served(db, "db.yaml"), served(web, "web.yaml")},
			[]string{"- db (removed)", "+ one (new, 1 replica)"}},
		{"scale only", snapshot(with(web, func(a *v1alpha1.App) { *a.Spec.Replicas = 5 })), []v1alpha1.App{served(web, "web.yaml")},
			[]string{"~ web: replicas 3 -> 5 (scale, no restart)"}},
		{"labels only", snapshot(with(web, func(a *v1alpha1.App) { a.Metadata.Labels = map[string]string{"tier": "front"} })),
			[]v1alpha1.App{served(web, "web.yaml")}, []string{"~ web: labels only (no restart)"}},
		{"new command rolls", snapshot(newWeb), []v1alpha1.App{served(web, "web.yaml")},
			[]string{"~ web: revision " + revOf(web) + " -> " + revOf(newWeb) + " (rolls 3 instances: command)"}},
		{"env value only, seen through the revision", snapshot(with(web, func(a *v1alpha1.App) { a.Spec.Env[0].Value = "new" })),
			[]v1alpha1.App{served(web, "web.yaml")},
			[]string{"~ web: revision " + revOf(web) + " -> " + revOf(with(web, func(a *v1alpha1.App) { a.Spec.Env[0].Value = "new" })) +
				" (rolls 3 instances: env or probe header values)"}},
		{"probe header value only, seen through the revision", snapshot(newHeader), []v1alpha1.App{served(web, "web.yaml")},
			[]string{"~ web: revision " + revOf(web) + " -> " + revOf(newHeader) + " (rolls 3 instances: env or probe header values)"}},
		{"rollout with scale down and labels", snapshot(rolled), []v1alpha1.App{served(web, "web.yaml")},
			[]string{"~ web: revision " + revOf(web) + " -> " + revOf(rolled) +
				" (rolls 2 instances: command, env, replicas 3 -> 2, labels)"}},
		{"strategy and replicas", snapshot(with(web, func(a *v1alpha1.App) {
			*a.Spec.Replicas = 4
			a.Spec.Strategy = v1alpha1.Strategy{Type: v1alpha1.Recreate}
		})), []v1alpha1.App{served(web, "web.yaml")},
			[]string{"~ web: replicas 3 -> 4, strategy (no restart)"}},
		{"invalid file keeps the daemon's app", v1alpha1.Snapshot{Files: []v1alpha1.FileStatus{{Path: "web.yaml",
			Error: &v1alpha1.FileError{File: "web.yaml", Line: 4, Field: "spec.replicas", Reason: "Invalid", Message: "must be a number"}}}},
			[]v1alpha1.App{served(web, "web.yaml")},
			[]string{"! web.yaml:4: spec.replicas: must be a number", "= web (kept: web.yaml is invalid, the daemon keeps its last good version)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, c := range Diff(tc.local, tc.remote) {
				got = append(got, c.String())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestDiff_UnknownRemoteRevisionFallsBackToFields(t *testing.T) {
	web := mkApp("web", 1, "srv")
	r := served(web, "web.yaml")
	r.Status.Revision = ""
	if got := Diff(snapshot(web), []v1alpha1.App{r}); len(got) != 0 {
		t.Errorf("got %v, want no change", got)
	}
	edited := with(web, func(a *v1alpha1.App) { a.Spec.Command = []string{"srv", "-v"} })
	got := Diff(snapshot(edited), []v1alpha1.App{r})
	want := "~ web: revision - -> " + v1alpha1.Revision(&edited.Spec) + " (rolls 1 instance: command)"
	if len(got) != 1 || got[0].String() != want || !got[0].Differs() {
		t.Errorf("got %v, want %s", got, want)
	}
}
