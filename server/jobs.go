package server

import (
	"net/http"

	"github.com/gorilla/mux"

	"proclet.dev/proclet/apis/v1alpha1"
)

// The Jobs and CronJobs endpoints are shaped like the apps': the same
// {"items": [...]} envelope, the same NotFound naming the object, env
// values redacted. A run's processes are instances named NAME-RUN-INDEX,
// listed under the Job's (or CronJob's) name; their logs are those of any
// instance (jobLogs).

// listJobs serves GET /api/v1/jobs.
func (s *Server) listJobs(w http.ResponseWriter, r *http.Request) {
	jobs := nonNil(s.status.Jobs())
	for i := range jobs {
		redactJob(&jobs[i])
	}
	writeJSON(w, http.StatusOK, list[v1alpha1.Job]{Items: jobs})
}

// getJob serves GET /api/v1/jobs/{job}.
func (s *Server) getJob(w http.ResponseWriter, r *http.Request) {
	name := mux.Vars(r)["job"]
	j, ok := s.status.Job(name)
	if !ok {
		s.writeError(w, r, notFound("job %q not found", name))
		return
	}
	redactJob(&j)
	writeJSON(w, http.StatusOK, j)
}

// listCronJobs serves GET /api/v1/cronjobs.
func (s *Server) listCronJobs(w http.ResponseWriter, r *http.Request) {
	cjs := nonNil(s.status.CronJobs())
	for i := range cjs {
		redactCronJob(&cjs[i])
	}
	writeJSON(w, http.StatusOK, list[v1alpha1.CronJob]{Items: cjs})
}

// getCronJob serves GET /api/v1/cronjobs/{cronjob}.
func (s *Server) getCronJob(w http.ResponseWriter, r *http.Request) {
	name := mux.Vars(r)["cronjob"]
	cj, ok := s.status.CronJob(name)
	if !ok {
		s.writeError(w, r, notFound("cronjob %q not found", name))
		return
	}
	redactCronJob(&cj)
	writeJSON(w, http.StatusOK, cj)
}

// jobKind is what the job routes need to know of one of the two kinds:
// its path variable, its name in a NotFound, and whether it exists.
type jobKind struct {
	param, noun string
	exists      func(JobReader, string) bool
}

var (
	kindJob     = jobKind{"job", "job", func(r JobReader, n string) bool { _, ok := r.Job(n); return ok }}
	kindCronJob = jobKind{"cronjob", "cronjob",
		func(r JobReader, n string) bool { _, ok := r.CronJob(n); return ok }}
)

// jobInstances serves GET /api/v1/jobs/{job}/instances and
// /api/v1/cronjobs/{cronjob}/instances: the instances of every run kept,
// as /api/v1/apps/{app}/instances lists an app's.
func (s *Server) jobInstances(k jobKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := mux.Vars(r)[k.param]
		if !k.exists(s.status, name) {
			s.writeError(w, r, notFound("%s %q not found", k.noun, name))
			return
		}
		insts, _ := s.instances(name)
		s.writeInstances(w, presentInstances(insts))
	}
}

// jobLogs serves GET /api/v1/jobs/{job}/instances/{instance}/logs and the
// cronjob's: the logs handler of an app's instance, with the same query,
// for the instance NAME-RUN-INDEX (kept while its files are, as any
// instance's, after its run is forgotten).
func (s *Server) jobLogs(k jobKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := mux.Vars(r)
		s.logs(w, mux.SetURLVars(r, map[string]string{"app": v[k.param], "instance": v["instance"]}))
	}
}

// registerJobRoutes adds the Jobs' and CronJobs' routes to r.
func (s *Server) registerJobRoutes(r *mux.Router, get []string) {
	r.HandleFunc("/api/v1/jobs", s.listJobs).Methods(get...)
	r.HandleFunc("/api/v1/jobs/{job}", s.getJob).Methods(get...)
	r.Handle("/api/v1/jobs/{job}/instances", s.withFreshUsage(s.jobInstances(kindJob))).Methods(get...)
	r.HandleFunc("/api/v1/jobs/{job}/instances/{instance}/logs", s.jobLogs(kindJob)).Methods(get...)
	r.HandleFunc("/api/v1/cronjobs", s.listCronJobs).Methods(get...)
	r.HandleFunc("/api/v1/cronjobs/{cronjob}", s.getCronJob).Methods(get...)
	r.Handle("/api/v1/cronjobs/{cronjob}/instances", s.withFreshUsage(s.jobInstances(kindCronJob))).Methods(get...)
	r.HandleFunc("/api/v1/cronjobs/{cronjob}/instances/{instance}/logs", s.jobLogs(kindCronJob)).Methods(get...)
}
