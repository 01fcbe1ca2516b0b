package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"time"
)

// withPeer runs fn against a fresh supervisor of kind in a new phase, and
// tears both down whatever happens.
func (b *bench) withPeer(ctx context.Context, k peerKind, name string, fn func(p peer, ph *phase) error) error {
	ph, err := b.newPhase(name)
	if err != nil {
		return err
	}
	defer ph.close()
	p := k.new(ph)
	defer p.close()
	if err := p.start(ctx); err != nil {
		return fmt.Errorf("start %s: %w", k.name, err)
	}
	// A moment of quiet: the supervisor's own start-up work (proclet's
	// first scan opens a debounce window) is not what is timed.
	if err := sleep(ctx, quiet); err != nil {
		return err
	}
	return fn(p, ph)
}

// quiet is the pause after a supervisor starts, and between two timed
// manifest writes: edits by people or deploy tools are further apart.
const quiet = 300 * time.Millisecond

// converge applies apps and waits for a start of every instance of insts,
// then checks they are all alive. It returns when the apply began, and
// the first and the last start.
func (b *bench) converge(ctx context.Context, p peer, ph *phase, apps []app, insts []string) (t0, first, last time.Time, err error) {
	t0 = time.Now()
	if err := p.apply(ctx, apps); err != nil {
		return t0, first, last, err
	}
	first, last, err = ph.marks.all(ctx, b.convergeTimeout(len(insts))-time.Since(t0), insts, t0)
	if err != nil {
		return t0, first, last, err
	}
	if live := len(marked(ph.token)); live < len(insts) {
		return t0, first, last, fmt.Errorf("%d of %d started, only %d alive", len(insts), len(insts), live)
	}
	return t0, first, last, nil
}

// peerSize runs the scenarios of one peer at one size: cold converge and
// stop all, repeated; on the last repetition, with the apps running, the
// steady state, crash restarts, (proclet) the API's latency, and a change.
func (b *bench) peerSize(ctx context.Context, k peerKind, n int) {
	reps := b.repsAt(k.name, n)
	var conv, first, apiConv, stops []float64
	for rep := range reps {
		name := fmt.Sprintf("%s-%d-%d", k.name, n, rep)
		err := b.withPeer(ctx, k, name, func(p peer, ph *phase) error {
			apps := ph.apps(n)
			t0, f, l, err := b.converge(ctx, p, ph, apps, instances(apps))
			if err != nil {
				return fmt.Errorf("converge: %w", err)
			}
			conv, first = append(conv, ms(l.Sub(t0))), append(first, ms(f.Sub(t0)))
			b.logf("%s: converge %.1f ms", name, ms(l.Sub(t0)))
			if pp, ok := p.(*procletPeer); ok {
				at, err := pp.waitAPI(ctx, instances(apps), false, b.convergeTimeout(n))
				if err != nil {
					return fmt.Errorf("converge per the API: %w", err)
				}
				apiConv = append(apiConv, ms(at.Sub(t0)))
			}
			if rep == reps-1 {
				b.running(ctx, k, p, ph, apps)
			}
			s, err := stopTime(ctx, ph.token, b.stopTimeout(n), func() error { return p.stopAll(ctx) })
			if err != nil {
				return fmt.Errorf("stop all: %w", err)
			}
			stops = append(stops, ms(s))
			b.logf("%s: stop all %.1f ms", name, ms(s))
			return nil
		})
		if err != nil {
			b.logf("%s: %v", name, err)
			b.res.addError(fmt.Sprintf("%s: %v", name, err))
			b.missAll(k.name, n, short(err), "converge_ms", "first_ms", "api_converge_ms", "stop_ms", "steady_cpu_pct",
				"steady_rss_mib", "steady_pss_mib", "crash_p50_ms", "crash_p95_ms", "change_ms", "change_untouched")
			break
		}
	}
	b.setMedian(k.name, n, "converge_ms", conv)
	b.setMedian(k.name, n, "first_ms", first)
	b.setMedian(k.name, n, "api_converge_ms", apiConv)
	b.setMedian(k.name, n, "stop_ms", stops)
}

// running measures what needs the apps up: the steady state, crash
// restarts, the API (proclet) and finally a change (which leaves n+1
// apps).
func (b *bench) running(ctx context.Context, k peerKind, p peer, ph *phase, apps []app) {
	n := len(apps)
	if st, err := b.steady(ctx, p, ph, b.steadyAt(n)); err != nil {
		b.missAll(k.name, n, short(err), "steady_cpu_pct", "steady_rss_mib", "steady_pss_mib")
	} else {
		note := fmt.Sprintf("over %s, %d processes", b.steadyAt(n), st.procs)
		b.res.set(k.name, n, "steady_cpu_pct", "%", st.onCPU, nil,
			fmt.Sprintf("%s, from schedstat (%.3f %% by ticks)", note, st.cpu))
		b.res.set(k.name, n, "steady_rss_mib", "MiB", st.rss, nil, note)
		b.res.set(k.name, n, "steady_pss_mib", "MiB", st.pss, nil, note)
		b.res.set(k.name, n, "steady_fds", "fds", float64(st.fds), nil, note)
		b.logf("%s: steady %.3f%% CPU (%.3f%% by ticks), RSS %.1f MiB, PSS %.1f MiB, %d fds (%s)", ph.name, st.onCPU, st.cpu, st.rss, st.pss, st.fds, note)
	}
	if ctx.Err() != nil || b.cfg.Only == "steady" {
		return
	}
	kills := b.killsAt(n)
	lat, floor, timeouts, err := b.crashRestarts(ctx, ph, instances(apps), kills)
	b.recordRestartFloor(k.name, n, floor)
	if err != nil || len(lat) == 0 {
		b.missAll(k.name, n, short(errors.Join(err, fmt.Errorf("%d of %d kills timed out", timeouts, kills))),
			"crash_p50_ms", "crash_p95_ms")
	} else {
		note := fmt.Sprintf("%d kills", len(lat)+timeouts)
		if timeouts > 0 {
			note += fmt.Sprintf(", %d with no restart within 10 s (left out)", timeouts)
		}
		if n < kills {
			note += fmt.Sprintf("; %d instances, so each is killed about %d times", n, (kills+n-1)/n)
		}
		b.res.set(k.name, n, "crash_p50_ms", "ms", pct(lat, 0.5), lat, note)
		b.res.set(k.name, n, "crash_p95_ms", "ms", pct(lat, 0.95), nil, note)
		b.logf("%s: crash restart p50 %.1f ms p95 %.1f ms (%s)", ph.name, pct(lat, 0.5), pct(lat, 0.95), note)
	}
	if pp, ok := p.(*procletPeer); ok && ctx.Err() == nil {
		b.apiLatency(pp, n)
		if n == b.procletTop() {
			b.writeExec(ctx, pp, ph, n)
		}
	}
	if ctx.Err() != nil {
		return
	}
	if k.name == "runit" && n >= 1000 {
		b.missAll(k.name, n, "cannot: runsvdir supervises at most 1000 services (MAXSERVICES), the change adds one",
			"change_ms", "change_untouched")
		return
	}
	if k.name == "pm2" && n >= 1000 {
		// pm2 start restarts every app, one at a time (13.5 s for 100 in
		// a trial run): minutes at 1000, for the same answer as at 100.
		b.missAll(k.name, n, "skipped: PM2 restarts all N+1 apps (see N = 100)", "change_ms", "change_untouched")
		return
	}
	d, untouched, err := b.change(ctx, p, ph, apps)
	if err != nil {
		b.missAll(k.name, n, short(err), "change_ms", "change_untouched")
		return
	}
	b.res.set(k.name, n, "change_ms", "ms", ms(d), nil, "")
	b.res.set(k.name, n, "change_untouched", "restarts", float64(untouched), nil, fmt.Sprintf("of %d untouched", n-1))
	b.logf("%s: change %.1f ms, %d of %d untouched restarted", ph.name, ms(d), untouched, n-1)
}

// steadyState is what steady measures.
type steadyState struct {
	cpu float64 // % of one core
	// onCPU is cpu from the schedstat of the threads of the supervisor's
	// processes at the start (ns, not 10 ms ticks; a process forked in
	// the window is not counted whole); beside is the same of the
	// processes steady was given beside the supervisor.
	onCPU, beside float64
	rss, pss      float64 // MiB, summed over the supervisor's processes
	fds           int     // open descriptors, summed
	procs         int
}

// steady measures the supervisor's CPU (utime+stime of its processes, the
// workloads left out) over window, after a settling pause, and its memory:
// RSS summed (what the target is in, and what `ps` shows) and PSS
// summed (fair to the supervisors made of one small process per service,
// whose shared pages RSS counts again for each).
func (b *bench) steady(ctx context.Context, p peer, ph *phase, window time.Duration, beside ...int) (steadyState, error) {
	if err := sleep(ctx, b.settle()); err != nil {
		return steadyState{}, err
	}
	procs := supervisorTree(p.roots(), ph.token)
	if len(procs) == 0 {
		return steadyState{}, errors.New("no supervisor process found")
	}
	first := procs
	before, t := cpuTicks(procs), time.Now()
	onBefore, besideBefore := onCPU(first), onCPU(beside)
	if err := sleep(ctx, window); err != nil {
		return steadyState{}, err
	}
	onAfter, besideAfter := onCPU(first), onCPU(beside)
	secs := time.Since(t).Seconds()
	pct := func(d time.Duration) float64 { return d.Seconds() / secs * 100 }
	procs = supervisorTree(p.roots(), ph.token)
	after := cpuTicks(procs)
	st := steadyState{cpu: usage(before, after, secs), procs: len(procs),
		onCPU: pct(onAfter - onBefore), beside: pct(besideAfter - besideBefore)}
	for _, pid := range procs {
		st.rss += float64(rssKiB(pid)) / 1024
		st.pss += float64(pssKiB(pid)) / 1024
		st.fds += openFDs(pid)
	}
	return st, nil
}

// crashRestarts kills an instance with SIGKILL, kills times, each time
// another one where there are enough, and times each to the new process's
// start stamp. Before each kill, a round of the restart floor
// (restartLoop) is timed the same way, so that a drift of the machine's
// load weighs on both alike.
func (b *bench) crashRestarts(ctx context.Context, ph *phase, insts []string, kills int) (lat, floor []float64, timeouts int, err error) {
	loop, err := b.newRestartLoop(ctx, ph.name)
	if err != nil {
		b.logf("%s: restart floor: %v", ph.name, err)
	} else {
		defer loop.close()
	}
	n := len(insts)
	for k := range kills {
		if loop != nil {
			if d, err := loop.round(ctx); err != nil {
				b.logf("%s: restart floor: %v", ph.name, err)
				loop.close()
				loop = nil
			} else {
				floor = append(floor, ms(d))
			}
		}
		d, ok, err := b.crashOne(ctx, ph, insts[crashTarget(k, n, kills)])
		switch {
		case err != nil:
			return lat, floor, timeouts, err
		case !ok:
			timeouts++
		default:
			lat = append(lat, d)
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return lat, floor, timeouts, err
		}
	}
	return lat, floor, timeouts, nil
}

// crashTarget is the instance of the k-th of kills kills among n.
func crashTarget(k, n, kills int) int {
	if n >= kills {
		return k * (n / kills)
	}
	return k % n
}

// crashOne kills inst's process with SIGKILL and times it to the new
// process's start stamp, in ms; not ok when inst was not running or was
// not restarted within 10 s.
func (b *bench) crashOne(ctx context.Context, ph *phase, inst string) (float64, bool, error) {
	s, ok := ph.marks.latest(inst)
	if !ok || !alive(s.pid) {
		return 0, false, nil
	}
	t := time.Now()
	if err := syscall.Kill(s.pid, syscall.SIGKILL); err != nil {
		return 0, false, fmt.Errorf("kill %d: %w", s.pid, err)
	}
	var next start
	err := ph.marks.wait(ctx, 10*time.Second, func(by map[string][]start) bool {
		var ok bool
		next, ok = firstAfter(by[inst], t, s.pid)
		return ok
	})
	switch {
	case errors.Is(err, errTimeout):
		return 0, false, nil
	case err != nil:
		return 0, false, err
	}
	return ms(next.at.Sub(t)), true, nil
}

// change adds an app and changes another's command in one apply, times
// until both run, and counts the other apps whose process was restarted
// (a new start, or the old PID gone) a moment later.
func (b *bench) change(ctx context.Context, p peer, ph *phase, apps []app) (time.Duration, int, error) {
	n := len(apps)
	c := n / 2
	desired := slices.Clone(apps)
	changed := desired[c]
	changed.argv = append([]string{changed.argv[0], "--exit-code", "3"}, changed.argv[1:]...)
	desired[c] = changed
	added := ph.app(fmt.Sprintf("a%d", n))
	desired = append(desired, added)
	before := map[string]int{}
	for _, a := range apps {
		if s, ok := ph.marks.latest(a.inst); ok {
			before[a.inst] = s.pid
		}
	}
	t0 := time.Now()
	if err := p.apply(ctx, desired); err != nil {
		return 0, 0, err
	}
	var done time.Time
	err := ph.marks.wait(ctx, 30*time.Second+time.Duration(n)*20*time.Millisecond-time.Since(t0), func(by map[string][]start) bool {
		a, ok1 := firstAfter(by[added.inst], t0, 0)
		ch, ok2 := firstAfter(by[changed.inst], t0, before[changed.inst])
		done = a.at
		if ch.at.After(done) {
			done = ch.at
		}
		return ok1 && ok2
	})
	if err != nil {
		return 0, 0, fmt.Errorf("change: %w", err)
	}
	if s, _ := ph.marks.latest(changed.inst); !strings.Contains(cmdline(s.pid), "--exit-code") {
		return 0, 0, fmt.Errorf("change: %s restarted without the new command", changed.inst)
	}
	if err := sleep(ctx, time.Second); err != nil {
		return 0, 0, err
	}
	restarted := ph.marks.since(t0)
	untouched := 0
	for _, a := range apps {
		if a.inst == changed.inst {
			continue
		}
		if restarted[a.inst] > 0 || !alive(before[a.inst]) {
			untouched++
		}
	}
	return done.Sub(t0), untouched, nil
}

// crashLoop runs one app that exits at once, alone, for cfg.Loop: how many
// times the supervisor starts it, and what that costs the supervisor.
func (b *bench) crashLoop(ctx context.Context, k peerKind) {
	err := b.withPeer(ctx, k, k.name+"-crashloop", func(p peer, ph *phase) error {
		a := ph.app("crash", "--exit-after", "0", "--exit-code", "1")
		t0 := time.Now()
		if err := p.apply(ctx, []app{a}); err != nil {
			return err
		}
		procs := supervisorTree(p.roots(), ph.token)
		before, t := cpuTicks(procs), time.Now()
		if err := sleep(ctx, time.Until(t0.Add(b.cfg.Loop))); err != nil {
			return err
		}
		procs = supervisorTree(p.roots(), ph.token)
		cpu := usage(before, cpuTicks(procs), time.Since(t).Seconds())
		starts := 0
		for _, s := range ph.marks.byInstCopy(a.inst) {
			if !s.at.After(t0.Add(b.cfg.Loop)) {
				starts++
			}
		}
		note := fmt.Sprintf("in %s", b.cfg.Loop)
		b.res.set(k.name, 0, "crashloop_starts", "starts", float64(starts), nil, note)
		b.res.set(k.name, 0, "crashloop_cpu_pct", "%", cpu, nil, note)
		b.logf("%s: crash loop %d starts, %.2f%% CPU in %s", ph.name, starts, cpu, b.cfg.Loop)
		return nil
	})
	if err != nil {
		b.logf("%s crash loop: %v", k.name, err)
		b.missAll(k.name, 0, short(err), "crashloop_starts", "crashloop_cpu_pct")
	}
}

// missAll records note for each metric of peer at n not measured yet.
func (b *bench) missAll(peer string, n int, note string, metrics ...string) {
	for _, m := range metrics {
		if _, ok := b.res.get(peer, n, m); !ok {
			b.res.miss(peer, n, m, note)
		}
	}
}

// setMedian records the median of samples, when there are any.
func (b *bench) setMedian(peer string, n int, metric string, samples []float64) {
	if len(samples) == 0 {
		return
	}
	note := ""
	if len(samples) > 1 {
		note = fmt.Sprintf("median of %d", len(samples))
	}
	b.res.set(peer, n, metric, "ms", median(samples), samples, note)
}

// short is an error as a table note: "timeout", or its message.
func short(err error) string {
	if errors.Is(err, errTimeout) {
		return "timeout"
	}
	if err == nil {
		return "failed"
	}
	return err.Error()
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
