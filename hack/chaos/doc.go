// Command chaos is proclet's chaos test: for a given number of minutes it
// runs the real daemon (bin/proclet) on a temp manifests directory and
// state directory, keeps changing the manifests (scale, roll, add,
// remove, break and fix, relabel; Jobs and CronJobs added, rolled and
// removed), kills random instances and, every so
// often, the daemon itself (kill -9, then a new daemon on the same state
// dir, which must adopt the instances, not start them twice). Then it
// stops, fixes every file, waits for convergence and checks the
// invariants:
//
//  1. each app has exactly its replicas, all at its newest revision
//     (the daemon's spec is the file's, generation == observedGeneration),
//     all ready; no manifest in error; no app the files no longer define;
//  2. no process of this run outside them: every process on the host with
//     the run's marker in its environment is an instance the API reports
//     (no orphans), with the same uid, and no instance runs twice (no
//     duplicates); no instance the API reports is missing (no ghosts);
//  3. no port given to, or listened on by, two instances; every ready
//     instance listens on its port; no instance found its port taken;
//  4. every line each instance printed is in its logs once: per run of a
//     process, seqs 1, 2, 3 ... without gap, duplicate or reordering (a
//     missing tail is allowed: a killed process may take its last lines
//     with it); every process seen running has lines; the last instances'
//     logs run up to their stop;
//  5. the Jobs and CronJobs (jobs.go, jobcheck.go): each converges to its
//     newest file, the run of a Job's newest revision finished; from the
//     starts their processes mark, no run index runs again after it
//     succeeded (a finished Job is never run again, a slot never makes
//     two runs, whatever the daemon kills), no CronJob run starts before
//     its slot, and under Forbid no run overlaps the one before;
//
// plus: a graceful stop (SIGTERM) of the last daemon stops every instance.
// It prints a summary and every breach, and exits 1 on any breach, 2 when
// it could not run, 130 on ^C. Whatever happens it kills the daemon and
// every process of the run (by process group, each checked in /proc first).
//
//	go run ./hack/chaos -minutes 2 -bin bin        # after make build
//	make chaos MINUTES=30 SEED=42
//
// docs/chaos.md says more: the marker, the seed, how to read a breach.
//
// It owns the invariants and the random schedule of changes and kills
// (a seed replays a run). It must never touch a process without the run's
// marker, never kill by name, and never read the daemon's state dir to
// check an invariant: what it checks is what the API, /proc and the log
// files show, as a user would see them.
package main
