// Package v1alpha1 is the schema of proclet's manifests: the
// App, Job and CronJob types and the API shapes around them (AppStatus,
// JobStatus, Instance, Snapshot), and everything that turns bytes into a
// trusted App.
//
// It owns:
//   - decoding: DecodeFile reads YAML (multi-document), JSON (an object or
//     a list of objects) and TOML through one strict reader: unknown
//     fields, repeated keys and wrongly typed values are errors with a file,
//     a line and a field path (`m.yaml:12: spec.ports[0].range: ...`);
//     status and metadata.generation in a file are dropped. Each object's
//     kind chooses its type (decode_kinds.go); a Job or CronJob comes out
//     as its carrier App (jobs.go, carrier.go: App.Job, App.CronJob,
//     App.JobSpec), so every consumer of []App reads all three kinds;
//     a file of many documents is parsed in parts (yamlsplit.go) and its
//     documents decoded on every core, each bound value set into its type
//     directly (assign.go), with the documents and errors of the one-core,
//     encoding/json path that defines them;
//   - defaults (Default) and validation (Validate: go-playground/validator
//     tags on the types plus the rules that span fields; ValidateSet for
//     dependency cycles across apps);
//   - checking (CheckFile, CheckSet: proclet validate): every problem of a
//     file in one pass, a wrongly typed value reported and left unset while
//     the rest is validated, and names and cycles across files even when
//     some have problems. DecodeFile, the daemon's, stays all or nothing;
//   - the JSON Schema of each kind (Schema, SchemaBundle, SchemaFiles;
//     schema*.go), generated from the types, their tags, the rules a schema
//     can say and the fields' doc comments (embedded, read with go/ast);
//     docs/schema holds its files (go generate);
//   - the bounds of what a manifest may ask for (rules_bounds.go: durations
//     of at most 10 years, probe paths and headers, $(VAR) expansion sizes
//     measured by ExpandedLen without building anything; Expand, which the
//     runtime uses, refuses to build past its bound), and errors that never
//     repeat more of a file than a short token (quote.go);
//   - a CronJob's schedule and time zone, read as Kubernetes reads them
//     (ParseSchedule: robfig/cron/v3; LoadTimeZone, with the time zone
//     database built in);
//   - the revision hash (Revision), which must stay stable across releases,
//     and AppRevision, the revision of an app (or a carried Job or
//     CronJob: revision_jobs.go), with its restartedAt
//     annotation and the digest of the files it reads (envFrom,
//     valueFrom, rolloutOnChange: content.go) when it has them; its
//     canonical JSON is written in one walk of the spec (canonical.go),
//     byte for byte the encoding/json round trip that defines it;
//     Content and Secret, what the watcher read of those files (a Secret
//     never prints, marshals or logs its value);
//   - small helpers on a spec: Quantity parsing, ParseSignal, GracePeriod,
//     DeepCopy.
//
// It must not touch the filesystem, processes, the network or the clock,
// keep state, or log: it is pure functions over bytes and values, and it
// imports nothing of proclet's. The one exception is LoadTimeZone, which
// reads the host's time zone database (time.LoadLocation), falling back
// to the copy built in (time/tzdata).
//
// # Instance phases
//
// An instance of an App moves through these phases (InstancePhase):
//
//	               waiting for a dependency, a port or its backoff
//	                    +-----+
//	                    v     |
//	(new) ---------> Pending -+
//	                  ^    |
//	                  |    | process forked
//	                  |    v
//	                  |  Starting --startup probe passed (or none)--> Running
//	                  |    |                                            |
//	                  |    +----- exited, or startup/liveness failed ---+
//	                  |                        |
//	                  +------------------------+ restartPolicy restarts it:
//	                    reason CrashLoopBackOff, nextStartAt = now + backoff
//
//	Starting, Running --stopped (scale down, rollout, app deleted)--> Terminating
//	Terminating: preStop, then stopSignal to the group, SIGKILL after the grace
//	Terminating, or exited and not restarted --> Succeeded (exit 0) | Failed
//	Pending --cannot start (no binary, bad workingDir or user)--> Failed,
//	        retried with backoff, so a later fix is picked up
//
// A healthy instance goes Pending -> Starting -> Running -> Terminating ->
// Succeeded or Failed; a crash loops back to Pending (CrashLoopBackOff)
// until its backoff has elapsed.
package v1alpha1
