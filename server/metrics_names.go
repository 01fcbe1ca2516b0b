package server

// MetricFamily is one proclet_ metric family the daemon serves on
// /metrics, and the one place that names it, gives its help and type, and
// registers or builds it: its owner.
type MetricFamily struct {
	Name  string
	Owner string
}

// The owners of the metric families. Each family has exactly one; a
// source of numbers (the runtime's probe runs, the reconciler's exit
// counts) is not an owner, the code that exports them is.
const (
	// OwnerReconciler: the loop metrics, registered by
	// reconciler.New on the daemon's registry (reconciler/metrics.go).
	OwnerReconciler = "reconciler"
	// OwnerCollector: the per-app, per-instance, probe and job series,
	// built at scrape time by Collector (metrics.go, metrics_jobs.go)
	// from MetricsSources: the reconciler's views, exit counts and job
	// stats, and the ProbeRecorder the runtime records probe runs into.
	OwnerCollector = "server.Collector"
	// OwnerServer: the API's connection counts (connlimit.go), the
	// build info (metrics_buildinfo.go) and the node's info (node.go),
	// registered by New on Options.Registerer.
	OwnerServer = "server"
)

// MetricFamilies is every proclet_ metric family the daemon serves, the
// single list docs/metrics.md is checked against: every family here is
// documented there and exported after a short run of the daemon's parts,
// and every family documented or exported is here
// (TestMetricFamilies_AreDocumentedAndExported, and hack/e2e's
// TestMetrics_Contract against the built binary). A new metric goes into
// its owner, this list and docs/metrics.md, or a test fails.
var MetricFamilies = []MetricFamily{
	{"proclet_app_replicas_available", OwnerCollector},
	{"proclet_app_replicas_desired", OwnerCollector},
	{"proclet_app_replicas_ready", OwnerCollector},
	{"proclet_app_replicas_updated", OwnerCollector},
	{"proclet_ports_allocated", OwnerCollector},
	{"proclet_instance_up", OwnerCollector},
	{"proclet_instance_ready", OwnerCollector},
	{"proclet_instance_restarts_total", OwnerCollector},
	{"proclet_instance_cpu_seconds_total", OwnerCollector},
	{"proclet_instance_memory_rss_bytes", OwnerCollector},
	{"proclet_instance_start_time_seconds", OwnerCollector},
	{"proclet_instance_exits_total", OwnerCollector},
	{"proclet_probe_results_total", OwnerCollector},
	{"proclet_probe_duration_seconds", OwnerCollector},
	{"proclet_job_runs_total", OwnerCollector},
	{"proclet_job_duration_seconds", OwnerCollector},
	{"proclet_job_last_success_timestamp_seconds", OwnerCollector},
	{"proclet_cronjob_next_schedule_timestamp_seconds", OwnerCollector},
	{"proclet_cronjob_missed_schedules_total", OwnerCollector},
	{"proclet_reconcile_duration_seconds", OwnerReconciler},
	{"proclet_reconcile_errors_total", OwnerReconciler},
	{"proclet_manifest_errors", OwnerReconciler},
	{"proclet_manifest_last_change_timestamp_seconds", OwnerReconciler},
	{"proclet_build_info", OwnerServer},
	{"proclet_node_info", OwnerServer},
	{"proclet_manifests_source_revision_info", OwnerServer},
	{"proclet_api_connections", OwnerServer},
	{"proclet_api_connections_max", OwnerServer},
	{"proclet_api_connections_refused_total", OwnerServer},
	{"proclet_api_connections_idle_closed_total", OwnerServer},
}
