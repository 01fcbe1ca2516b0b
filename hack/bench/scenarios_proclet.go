package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// procletExtras are the proclet-only scenarios at size n: one app of n
// replicas (the natural way to ask proclet for n copies), the daemon's
// SIGTERM, and the steady state with a readiness probe on every instance.
// Above 1000, only the first (the time budget; the targets of the others
// are at 1000).
func (b *bench) procletExtras(ctx context.Context, n int) {
	scenarios := []func(context.Context, int){b.procletReplicas, b.procletShutdown, b.procletProbes}
	if large(n) {
		scenarios = scenarios[:1]
		b.missAll("proclet", n, fmt.Sprintf("skipped: not run above N = %d (make bench's time budget)", largeN),
			"shutdown_ms", "probes_cpu_pct")
	}
	for _, scenario := range scenarios {
		if ctx.Err() != nil {
			return
		}
		scenario(ctx, n)
	}
}

// procletReplicas converges one app of n replicas, then scales it to 0.
func (b *bench) procletReplicas(ctx context.Context, n int) {
	var conv, stops []float64
	reps := b.cfg.Reps
	if n >= largeN {
		reps = 1 // the time budget; the N-apps figure has the repetitions
	}
	if err := b.validates(ctx, n); err != nil {
		b.logf("proclet-replicas-%d: %v", n, err)
		b.missAll("proclet", n, "cannot: "+err.Error(), "replicas_converge_ms", "replicas_stop_ms")
		return
	}
	for rep := range reps {
		name := fmt.Sprintf("proclet-replicas-%d-%d", n, rep)
		err := b.withPeer(ctx, procletKind, name, func(p peer, ph *phase) error {
			a := ph.app("r")
			a.replicas = n
			insts := make([]string, n)
			for i := range insts {
				insts[i] = fmt.Sprintf("r-%d", i)
			}
			t0, _, l, err := b.converge(ctx, p, ph, []app{a}, insts)
			if err != nil {
				return fmt.Errorf("converge: %w", err)
			}
			conv = append(conv, ms(l.Sub(t0)))
			// Stop by scaling to 0, not by removing the file: a removal is
			// held until the folder has been quiet for the debounce window
			// (an editor's save can look like one), a scale-down is not.
			a.replicas = -1
			s, err := stopTime(ctx, ph.token, b.stopTimeout(n), func() error { return p.apply(ctx, []app{a}) })
			if err != nil {
				return fmt.Errorf("stop all: %w", err)
			}
			stops = append(stops, ms(s))
			b.logf("%s: converge %.1f ms, stop all %.1f ms", name, ms(l.Sub(t0)), ms(s))
			return nil
		})
		if err != nil {
			b.logf("%s: %v", name, err)
			b.missAll("proclet", n, short(err), "replicas_converge_ms", "replicas_stop_ms")
			break
		}
	}
	b.setMedian("proclet", n, "replicas_converge_ms", conv)
	b.setMedian("proclet", n, "replicas_stop_ms", stops)
}

// procletShutdown converges n apps, then times the daemon's SIGTERM
// (--on-exit stop) until every instance is gone.
func (b *bench) procletShutdown(ctx context.Context, n int) {
	name := fmt.Sprintf("proclet-shutdown-%d", n)
	err := b.withPeer(ctx, procletKind, name, func(p peer, ph *phase) error {
		pp := p.(*procletPeer)
		apps := ph.apps(n)
		if _, _, _, err := b.converge(ctx, p, ph, apps, instances(apps)); err != nil {
			return fmt.Errorf("converge: %w", err)
		}
		s, err := stopTime(ctx, ph.token, b.stopTimeout(n), func() error {
			return pp.daemon.cmd.Process.Signal(syscall.SIGTERM)
		})
		if err != nil {
			return fmt.Errorf("shutdown: %w", err)
		}
		b.res.set("proclet", n, "shutdown_ms", "ms", ms(s), nil, "SIGTERM to the daemon (--on-exit stop)")
		b.logf("%s: daemon SIGTERM → all gone %.1f ms", name, ms(s))
		return nil
	})
	if err != nil {
		b.logf("%s: %v", name, err)
		b.missAll("proclet", n, short(err), "shutdown_ms")
	}
}

// procletProbes measures the steady state of n apps with an httpGet
// readiness probe on each, and beside it, over the same window, the probe
// floor (probefloor.go): a prober alone doing the same probes of the same
// instances.
func (b *bench) procletProbes(ctx context.Context, n int) {
	name := fmt.Sprintf("proclet-probes-%d", n)
	err := b.withPeer(ctx, procletKind, name, func(p peer, ph *phase) error {
		apps := ph.apps(n)
		for i := range apps {
			apps[i].extraSpec = fmt.Sprintf("  ports:\n    - name: http\n      port: %d\n"+
				"  readinessProbe:\n    httpGet: {path: /healthz, port: http}\n", b.cfg.ProbePort+i)
		}
		if _, _, _, err := b.converge(ctx, p, ph, apps, instances(apps)); err != nil {
			return fmt.Errorf("converge: %w", err)
		}
		// The steady state is all ready: a probe that failed before its
		// server listened passes a period (10 s) later, and the instance
		// turning ready is an event and a reconcile of its app, not the
		// probes' steady cost. The API is asked after that period, and
		// then every 2 s: a list of N instances is garbage the daemon's
		// RSS would carry into the window.
		if err := sleep(ctx, probePeriod+200*time.Millisecond); err != nil {
			return err
		}
		if err := p.(*procletPeer).waitReady(ctx, instances(apps), 30*time.Second+b.convergeTimeout(n)); err != nil {
			return fmt.Errorf("all ready: %w", err)
		}
		fl, err := b.startProber(ph, n)
		if err != nil {
			return fmt.Errorf("probe floor: %w", err)
		}
		defer fl.stop()
		st, err := b.steady(ctx, p, ph, b.cfg.Steady, fl.c.cmd.Process.Pid)
		if err != nil {
			return err
		}
		ok, failed, ferr := fl.stop()
		note := fmt.Sprintf("httpGet readiness probe on every instance, default period (10 s); over %s, from schedstat", b.cfg.Steady)
		b.res.set("proclet", n, "probes_cpu_pct", "%", st.onCPU, nil, note)
		b.res.set("proclet", n, "probes_rss_mib", "MiB", st.rss, nil, "")
		b.res.set("proclet", n, "probes_pss_mib", "MiB", st.pss, nil, "")
		b.logf("%s: steady with probes %.3f%% CPU (%.3f%% by ticks), RSS %.1f MiB", name, st.onCPU, st.cpu, st.rss)
		if ferr != nil {
			b.missAll("floor", n, "probe floor: "+short(ferr), "probes_cpu_pct")
			return nil
		}
		fnote := fmt.Sprintf("the same probes alone, beside the daemon over the same window: %d answered, %d failed over the run", ok, failed)
		b.res.set("floor", n, "probes_cpu_pct", "%", st.beside, nil, fnote)
		b.res.set("proclet", n, "floor_probes_cpu_pct", "%", st.beside, nil, "the probe floor, the same window")
		b.logf("%s: probe floor %.3f%% CPU (%d answered, %d failed)", name, st.beside, ok, failed)
		return nil
	})
	if err != nil {
		b.logf("%s: %v", name, err)
		b.missAll("proclet", n, short(err), "probes_cpu_pct", "probes_rss_mib")
	}
}

// probePeriod is the period of the probes the probe scenario gives
// (the default).
const probePeriod = 10 * time.Second

// waitReady polls the API every 2 s until every instance of insts is
// ready.
func (p *procletPeer) waitReady(ctx context.Context, insts []string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	want := make(map[string]bool, len(insts))
	for _, name := range insts {
		want[name] = true
	}
	for {
		if items, err := p.instances(); err == nil {
			ready := 0
			for _, i := range items {
				if i.Ready && want[i.Name] {
					ready++
				}
			}
			if ready == len(insts) {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return errTimeout
		}
		if err := sleep(ctx, 2*time.Second); err != nil {
			return err
		}
	}
}

// proberProc is the probe floor's process.
type proberProc struct {
	c          *child
	out        *bytes.Buffer
	ok, failed int
	err        error
	stopped    bool
}

// startProber starts the probe floor on the n probed instances' ports.
func (b *bench) startProber(ph *phase, n int) (*proberProc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	out := &bytes.Buffer{}
	cmd := exec.Command(self)
	cmd.Stdout, cmd.Stderr = out, ph.log
	c, err := b.r.start(ph.name, cmd, fmt.Sprintf("%s=%d,%d", proberEnv, b.cfg.ProbePort, n))
	if err != nil {
		return nil, err
	}
	return &proberProc{c: c, out: out}, nil
}

// stop ends the prober (once) and returns its counts of answered and
// failed probes.
func (f *proberProc) stop() (ok, failed int, err error) {
	if !f.stopped {
		f.stopped = true
		f.c.kill(syscall.SIGTERM)
		select {
		case <-f.c.done:
			if _, f.err = fmt.Sscanf(f.out.String(), "ok=%d failed=%d", &f.ok, &f.failed); f.err != nil {
				f.err = fmt.Errorf("prober said %q (%v): %w", f.out.String(), f.c.err, f.err)
			}
		case <-time.After(5 * time.Second):
			f.c.kill(syscall.SIGKILL)
			f.err = errors.New("prober did not exit on SIGTERM")
		}
	}
	return f.ok, f.failed, f.err
}

// procletIdleLatency is manifest write → first exec with no other app.
func (b *bench) procletIdleLatency(ctx context.Context) {
	err := b.withPeer(ctx, procletKind, "proclet-latency", func(p peer, ph *phase) error {
		b.writeExec(ctx, p.(*procletPeer), ph, 0)
		return nil
	})
	if err != nil {
		b.missAll("proclet", 0, short(err), "write_exec_p50_ms", "write_exec_p99_ms")
	}
}

// writeExec writes a new one-app manifest file, cfg.LatWrites times, and
// times each from the rename into the folder to the process's start
// stamp; the file is removed and its process gone before the next. n is
// how many apps run beside (recorded as the figure's size).
func (b *bench) writeExec(ctx context.Context, p *procletPeer, ph *phase, n int) {
	var lat []float64
	writes := b.writesAt(n)
	fail := func(err error) {
		b.logf("%s: write → exec: %v", ph.name, err)
		b.missAll("proclet", n, short(err), "write_exec_p50_ms", "write_exec_p99_ms")
	}
	for k := range writes {
		a := ph.app(fmt.Sprintf("lat%d", k))
		file := filepath.Join(p.manifests, a.name+".yaml")
		tmp := filepath.Join(p.manifests, "."+a.name+".yaml.tmp")
		if err := os.WriteFile(tmp, []byte(manifest(a)), 0o644); err != nil {
			fail(err)
			return
		}
		t0 := time.Now()
		if err := os.Rename(tmp, file); err != nil {
			fail(err)
			return
		}
		var s start
		err := ph.marks.wait(ctx, 30*time.Second, func(by map[string][]start) bool {
			var ok bool
			s, ok = firstAfter(by[a.inst], t0, 0)
			return ok
		})
		if err != nil {
			fail(err)
			return
		}
		lat = append(lat, ms(s.at.Sub(t0)))
		if err := os.Remove(file); err != nil {
			fail(err)
			return
		}
		if _, _, err := waitGone(ctx, []int{s.pid}, 30*time.Second); err != nil {
			fail(fmt.Errorf("%s still running 30 s after its file went: %w", a.inst, err))
			return
		}
		if err := sleep(ctx, quiet); err != nil {
			fail(err)
			return
		}
	}
	note := fmt.Sprintf("%d writes", len(lat))
	if n > 0 {
		note += fmt.Sprintf(", beside %d running apps in %d manifest file(s)", n, (n+appsPerFile-1)/appsPerFile)
	}
	b.res.set("proclet", n, "write_exec_p50_ms", "ms", pct(lat, 0.5), lat, note)
	b.res.set("proclet", n, "write_exec_p99_ms", "ms", pct(lat, 0.99), nil, note)
	b.logf("%s: write → exec p50 %.1f ms, p99 %.1f ms (%s)", ph.name, pct(lat, 0.5), pct(lat, 0.99), note)
}

// apiLatency times GET /api/v1/instances and GET /metrics with n
// instances running.
func (b *bench) apiLatency(p *procletPeer, n int) {
	for _, ep := range []struct{ path, metric string }{{"/api/v1/instances", "api_instances"}, {"/metrics", "metrics"}} {
		var lat []float64
		size := 0
		var err error
		for i := range b.cfg.APIReqs + 1 {
			var d time.Duration
			if d, size, err = p.get(ep.path); err != nil {
				break
			}
			if i > 0 { // the first warms the connection
				lat = append(lat, ms(d))
			}
		}
		if err != nil {
			b.missAll("proclet", n, short(err), ep.metric+"_p50_ms", ep.metric+"_p95_ms")
			continue
		}
		note := fmt.Sprintf("%d requests, %d KiB each", len(lat), size/1024)
		b.res.set("proclet", n, ep.metric+"_p50_ms", "ms", pct(lat, 0.5), lat, note)
		b.res.set("proclet", n, ep.metric+"_p95_ms", "ms", pct(lat, 0.95), nil, note)
		b.logf("proclet-%d: GET %s p50 %.2f ms p95 %.2f ms (%s)", n, ep.path, pct(lat, 0.5), pct(lat, 0.95), note)
	}
}
