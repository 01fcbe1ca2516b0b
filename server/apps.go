package server

import (
	"net/http"
	"slices"

	"github.com/gorilla/mux"

	"proclet.dev/proclet/apis/v1alpha1"
)

// notApp reports whether a is a carried Job or CronJob: the reader's Apps
// never returns one, and the apps endpoints would not show it if it did.
func notApp(a v1alpha1.App) bool { return !a.IsApp() }

// listApps serves GET /api/v1/apps: the apps of kind App.
func (s *Server) listApps(w http.ResponseWriter, r *http.Request) {
	apps := slices.DeleteFunc(s.status.Apps(), notApp)
	for i := range apps {
		redact(&apps[i])
	}
	writeJSON(w, http.StatusOK, list[v1alpha1.App]{Items: apps})
}

// getApp serves GET /api/v1/apps/{app}.
func (s *Server) getApp(w http.ResponseWriter, r *http.Request) {
	name := mux.Vars(r)["app"]
	app, ok := s.status.App(name)
	if !ok || notApp(app) {
		s.writeError(w, r, notFound("app %q not found", name))
		return
	}
	redact(&app)
	writeJSON(w, http.StatusOK, app)
}

// listAppInstances serves GET /api/v1/apps/{app}/instances.
func (s *Server) listAppInstances(w http.ResponseWriter, r *http.Request) {
	name := mux.Vars(r)["app"]
	insts, ok := s.instances(name)
	if !ok {
		s.writeError(w, r, notFound("app %q not found", name))
		return
	}
	s.writeInstances(w, presentInstances(insts))
}

// listInstances serves GET /api/v1/instances.
func (s *Server) listInstances(w http.ResponseWriter, r *http.Request) {
	insts, _ := s.instances("")
	s.writeInstances(w, presentInstances(insts))
}

// instances reads the instances of app (all when empty) for an answer,
// without deep copies: presentInstances only sets fields of the structs,
// and the encoder only reads.
func (s *Server) instances(app string) ([]v1alpha1.Instance, bool) {
	return s.status.SharedInstances(app)
}

// withFreshUsage calls Options.FreshUsage before h: h shows the
// instances' usage, which the runtime samples only when it is read (or
// when a decision needs it), at most one sampling interval old.
func (s *Server) withFreshUsage(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fresh()
		h.ServeHTTP(w, r)
	})
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// presentInstances shapes instances for an answer: collections are [] and
// {} rather than null.
func presentInstances(insts []v1alpha1.Instance) []v1alpha1.Instance {
	insts = nonNil(insts)
	for i := range insts {
		presentInstance(&insts[i])
	}
	return insts
}

func presentInstance(i *v1alpha1.Instance) {
	if i.Ports == nil {
		i.Ports = map[string]int32{}
	}
	i.Listening = nonNil(i.Listening)
}
