// Package reconciler converges the runtime to the desired state: it takes
// full snapshots of the manifests (watchers.Sink), keeps one work queue
// keyed by app name, and for each app runs one pass at a time: read the
// desired app and the observed instances, plan (plan.go: a pure function
// of desired, observed, slots and now), execute the plan's actions through
// runtime.Interface, then derive the status readers see (deriveStatus: pure
// too) and publish the changes to watchers.
//
// It owns: the desired store (what the last snapshot asked for: specs,
// revisions, generations, file errors, owners, the dependents index), the
// per-ordinal slots (restarts, backoff, last exit), the derived status
// (views and instances, published to readers and watchers), the events
// ring, the loop metrics and exit counts, and the state file that carries
// slots and generations across a daemon restart (saver.go).
//
// One room per concern: reconciler.go is the loop (Run, the workers, one
// pass) and wires the stores; desired.go the desired store (Replace,
// Unavailable; after the first snapshot it applies only the apps that
// differ from the last one, replace.go), content.go its events about the
// files apps read;
// plan.go, rollout.go and backoff.go the pure planner; executor.go the
// executor (starts, stops, releases); derive.go the pure status
// derivation; status.go the status store, view.go its readers and
// watch.go the watch broadcaster; events.go the events ring; saver.go and
// state.go the state file; metrics.go and usage.go the loop metrics and
// the usage refresh; heartbeat.go the loop's liveness (a heartbeat queued
// behind the passes, answered by a free worker: the systemd watchdog).
// A Job travels as an App that carries it (App.Job): jobkinds.go
// dispatches each pass by kind. A Job's pass plans its runs (jobplan.go:
// pure, once per revision, on the machinery of job.go that CronJobs reuse),
// the executor starts their instances NAME-RUN-INDEX (jobexec.go), the
// runs live in the appState and the state file (a finished run is never
// run again), jobderive.go derives the Job's status and instances,
// jobview.go reads them, jobstats.go counts the finished runs, and a
// dependsOn with condition Complete waits for the Job's current run
// (depends.go).
// A CronJob (App.CronJob) decides its schedule in cronplan.go (pure: the
// slot to run, the runs to replace, the slots missed, when to look again,
// Kubernetes' rules), makes and drives its runs on the same machinery in
// cronjob.go (a run numbered by its slot's minute, so that one slot never
// makes two runs, even after a kill -9 lost its record), prunes them by
// the history limits (cronhistory.go) and derives its status in
// cronview.go.
// What the loop holds of one app is an appState: its desiredApp (written
// by Replace) and the loop's slots, guarded by r.mu, never held across a
// runtime call. What readers see of it (the view, the
// instances) is in the status store, under its own lock, taken after r.mu
// when both are: a reader never waits for a snapshot or a plan.
//
// It must never: touch the OS other than through runtime.Interface and its
// own state file; hold its lock across a runtime call; mutate a view,
// instance list or desired app once published (readers share them: they
// are replaced, never modified); let the plan read a clock, the runtime or
// anything not in its input; or stop an app's instances because a snapshot
// could not be read (Unavailable keeps everything running).
package reconciler
