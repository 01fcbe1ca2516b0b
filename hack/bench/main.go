package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// config is the command line.
type config struct {
	Sizes     []int         `json:"sizes"`
	Peers     []string      `json:"peers"`
	Reps      int           `json:"reps"`
	Kills     int           `json:"kills"`
	Steady    time.Duration `json:"steadyNs"`
	Loop      time.Duration `json:"crashLoopNs"`
	LatWrites int           `json:"latencyWrites"`
	APIReqs   int           `json:"apiRequests"`
	ProbePort int           `json:"probePortBase"`
	Quick     bool          `json:"quick"`
	Bin       string        `json:"-"`
	Out       string        `json:"-"`
	Install   bool          `json:"-"`
	Keep      bool          `json:"-"`
	Profile   bool          `json:"-"`
	Only      string        `json:"only,omitempty"`
}

var allKinds = []peerKind{procletKind, pm2Kind, supervisordKind, s6Kind, runitKind}

func parseFlags() (config, error) {
	var c config
	quick := flag.Bool("quick", os.Getenv("QUICK") != "", "N = 10 and 100, shorter windows (also QUICK=1 in the environment)")
	sizes := flag.String("sizes", "", "instance counts, up to 10000 (default 10,100,1000,5000; quick: 10,100); above 1000 see large.go")
	peers := flag.String("peers", "proclet,pm2,supervisord,s6,runit", "supervisors to measure")
	flag.IntVar(&c.Reps, "reps", 0, "repetitions of converge and stop all (default 3; quick: 1); peers do 1 at N >= 1000, everyone above 1000")
	flag.IntVar(&c.Kills, "kills", 0, "kill -9 per size (default 20; quick: 10)")
	flag.DurationVar(&c.Steady, "steady", 0, "steady-state window (default 30s; quick: 5s)")
	flag.DurationVar(&c.Loop, "crash-loop", 0, "crash-loop window (default 30s; quick: 5s)")
	flag.IntVar(&c.LatWrites, "writes", 0, "manifest writes timed to exec (default 50; quick: 20)")
	flag.IntVar(&c.APIReqs, "requests", 30, "requests per API latency figure")
	flag.IntVar(&c.ProbePort, "probe-port", 21000, "first port of the probed instances (N ports from there)")
	flag.StringVar(&c.Bin, "bin", "bin", "folder with proclet and workload (make build)")
	flag.StringVar(&c.Out, "out", "hack/bench/results", "results folder")
	flag.BoolVar(&c.Install, "install", true, "install missing peers (npm, apt-get)")
	flag.BoolVar(&c.Keep, "keep", false, "keep the temporary folder (configs, logs)")
	flag.StringVar(&c.Only, "only", "", "run one scenario alone: output (proclet and the floor only), sockets, probes (proclet only), steady (converge, the steady window, stop)")
	flag.BoolVar(&c.Profile, "profile", false, "also record perf profiles of proclet at the largest N (converge, steady) into the results")
	flag.Parse()
	c.Quick = *quick
	def := func(v *int, full, q int) {
		if *v <= 0 {
			*v = full
			if c.Quick {
				*v = q
			}
		}
	}
	defD := func(v *time.Duration, full, q time.Duration) {
		if *v <= 0 {
			*v = full
			if c.Quick {
				*v = q
			}
		}
	}
	def(&c.Reps, 3, 1)
	def(&c.Kills, 20, 10)
	def(&c.LatWrites, 50, 20)
	defD(&c.Steady, 30*time.Second, 5*time.Second)
	defD(&c.Loop, 30*time.Second, 5*time.Second)
	if *sizes == "" {
		*sizes = "10,100,1000,5000"
		if c.Quick {
			*sizes = "10,100"
		}
	}
	for s := range strings.SplitSeq(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > maxSize {
			return c, fmt.Errorf("-sizes: %q is not a count from 1 to %d", s, maxSize)
		}
		c.Sizes = append(c.Sizes, n)
	}
	slices.Sort(c.Sizes)
	if c.Only != "" && c.Only != "output" && c.Only != "sockets" && c.Only != "steady" && c.Only != "probes" {
		return c, fmt.Errorf("-only: unknown scenario %q (known: output, sockets, steady, probes)", c.Only)
	}
	for p := range strings.SplitSeq(*peers, ",") {
		p = strings.TrimSpace(p)
		if !slices.ContainsFunc(allKinds, func(k peerKind) bool { return k.name == p }) {
			return c, fmt.Errorf("-peers: unknown %q", p)
		}
		c.Peers = append(c.Peers, p)
	}
	return c, nil
}

func main() {
	if spec := os.Getenv(proberEnv); spec != "" { // the probe floor (probefloor.go)
		os.Exit(proberMain(spec))
	}
	cfg, err := parseFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	r := newReaper()
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	// A closed stdout (| head) must not kill the harness before it cleans
	// up: with a handler (not SIG_IGN, which children would inherit), a
	// write to it fails instead.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	go func() {
		s := <-sigs
		fmt.Fprintf(os.Stderr, "\nbench: %v: stopping, cleaning up (again to kill at once)\n", s)
		cancel()
		<-sigs
		n := r.cleanup()
		fmt.Fprintf(os.Stderr, "bench: killed %d processes\n", n)
		os.Exit(130)
	}()
	code := runSafely(ctx, cfg, r)
	cancel()
	if n := r.cleanup(); n > 0 {
		fmt.Fprintf(os.Stderr, "bench: cleanup killed %d leftover processes\n", n)
	}
	os.Exit(code)
}

// runSafely runs the bench and cleans up even when it panics.
func runSafely(ctx context.Context, cfg config, r *reaper) (code int) {
	defer func() {
		if p := recover(); p != nil {
			r.cleanup()
			panic(p)
		}
	}()
	if err := run(ctx, cfg, r); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	return 0
}

// bench is one run.
type bench struct {
	cfg      config
	r        *reaper
	res      *results
	tmp      string
	workload string
	proclet  string
	tools    tools
	began    time.Time

	floorMu sync.Mutex // guards floors
	floors  map[int]*floorSamples
	// restarts are the restart floor's rounds by size (restartfloor.go).
	restarts map[int][]float64
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%6.1fs] %s\n", time.Since(b.began).Seconds(), fmt.Sprintf(format, args...))
}

// Timeouts grow with the size: PM2 needs seconds per hundred apps.
func (b *bench) convergeTimeout(n int) time.Duration {
	return 30*time.Second + time.Duration(n)*90*time.Millisecond
}
func (b *bench) stopTimeout(n int) time.Duration {
	return 30*time.Second + time.Duration(n)*120*time.Millisecond
}
func (b *bench) cmdTimeout(n int) time.Duration {
	return 60*time.Second + time.Duration(n)*150*time.Millisecond
}

// settle is the pause before a steady-state window, for the start-up work
// to finish.
func (b *bench) settle() time.Duration {
	if b.cfg.Quick {
		return time.Second
	}
	return 3 * time.Second
}

func run(ctx context.Context, cfg config, r *reaper) error {
	b := &bench{cfg: cfg, r: r, began: time.Now(), floors: map[int]*floorSamples{}, restarts: map[int][]float64{},
		res: &results{Machine: readMachine(), Config: cfg, How: map[string]string{}, Started: time.Now()}}
	if killed := sweepStale(); len(killed) > 0 {
		b.logf("killed %d processes left by an earlier run: %s", len(killed), strings.Join(killed, ", "))
	}
	if os.Geteuid() != 0 {
		b.logf("warning: not root: the peers cannot be installed, and supervisord and runit expect root")
	}
	var err error
	if b.workload, err = filepath.Abs(filepath.Join(cfg.Bin, "workload")); err != nil {
		return err
	}
	if b.proclet, err = filepath.Abs(filepath.Join(cfg.Bin, "proclet")); err != nil {
		return err
	}
	for _, p := range []string{b.workload, b.proclet} {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("%w (run make build first)", err)
		}
	}
	if b.tmp, err = os.MkdirTemp("", "proclet-bench-"); err != nil {
		return err
	}
	if !cfg.Keep {
		defer os.RemoveAll(b.tmp)
	}
	out := filepath.Join(cfg.Out, b.began.Format("20060102-150405"))
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}

	if cfg.Only != "" {
		return b.runOnly(ctx, out)
	}
	want := map[string]bool{}
	for _, p := range cfg.Peers {
		want[p] = true
	}
	var problems []string
	if cfg.Install {
		b.tools, problems = b.install(ctx, want)
	} else if p, err := exec.LookPath("pm2"); err == nil {
		b.tools.pm2 = p
	}
	for _, p := range problems {
		b.logf("cannot measure: %s", p)
		b.res.addError(p)
	}
	b.res.Versions = b.versions(ctx)
	b.logf("sizes %v, peers %v, %d reps, %d kills, steady %s, crash loop %s; temp %s", cfg.Sizes, cfg.Peers,
		cfg.Reps, cfg.Kills, cfg.Steady, cfg.Loop, b.tmp)

	defer b.finish(ctx, out)
	defer b.prepareHost(ctx)()
	b.floor(ctx)
	b.measurePeers(ctx, want, out)
	return ctx.Err()
}

// runOnly runs the one scenario -only names, alone.
func (b *bench) runOnly(ctx context.Context, out string) error {
	defer b.finish(ctx, out)
	b.res.How["proclet"] = procletKind.how
	switch b.cfg.Only {
	case "output":
		b.outputCost(ctx)
		return ctx.Err()
	case "sockets":
		b.socketRollouts(ctx)
		return ctx.Err()
	case "steady":
		for _, n := range b.cfg.Sizes {
			b.peerSize(ctx, procletKind, n) // converge, the steady window, stop all
		}
		return ctx.Err()
	case "probes": // the steady state with a readiness probe on each, at every size
		for _, n := range b.cfg.Sizes {
			b.procletProbes(ctx, n)
		}
		return ctx.Err()
	}
	return fmt.Errorf("-only: unknown scenario %q", b.cfg.Only)
}

// finish writes the report into out, partial when ctx ended early.
func (b *bench) finish(ctx context.Context, out string) {
	b.res.Finished = time.Now()
	b.res.Partial = ctx.Err() != nil
	if err := b.report(out); err != nil {
		fmt.Fprintln(os.Stderr, "bench: report:", err)
	}
}

// measurePeers runs the scenarios of every wanted supervisor that is
// installed, one after the other, at every size.
func (b *bench) measurePeers(ctx context.Context, want map[string]bool, out string) {
	cfg := b.cfg
	for _, k := range allKinds {
		if !want[k.name] || ctx.Err() != nil {
			continue
		}
		if k.name == "pm2" && b.tools.pm2 == "" {
			b.missPeer(k.name, "not installed")
			continue
		}
		if bins, ok := aptPeers[k.name]; ok {
			if _, err := exec.LookPath(bins.bins[0]); err != nil {
				b.missPeer(k.name, "not installed")
				continue
			}
		}
		b.res.How[k.name] = k.how
		if k.name == "proclet" {
			b.procletIdleLatency(ctx)
		}
		for _, n := range cfg.Sizes {
			if ctx.Err() != nil {
				break
			}
			if b.skipSize(k.name, n) {
				continue
			}
			b.adjacentFloor(ctx, k.name, n)
			b.peerSize(ctx, k, n)
			if k.name == "proclet" && ctx.Err() == nil {
				b.procletExtras(ctx, n)
			}
		}
		if ctx.Err() == nil {
			b.crashLoop(ctx, k)
		}
		if k.name == "proclet" && ctx.Err() == nil {
			b.outputCost(ctx)
		}
		if k.name == "proclet" && cfg.Profile && ctx.Err() == nil {
			b.profileProclet(ctx, b.procletTop(), out)
		}
	}
}

// floor measures the physical floor at every size, one fork/exec alone,
// and the inotify latency.
func (b *bench) floor(ctx context.Context) {
	b.res.How["floor"] = "a Go loop of exec.Command(...).Start(), then SIGTERM to every group; " +
		"the column is the median of every floor measurement of the run (3 at the start, 1 above 1000, and one just before each supervisor at each N); " +
		"the restart row's floor is a Go loop of SIGKILL, wait for the death, reap, and exec the next, one round before each kill of every supervisor"
	// A warm-up, not recorded: the first start of the workload binary pays
	// for the page cache.
	if _, _, _, err := b.floorRun(ctx, min(100, b.top()), "warmup", nil); err != nil {
		b.logf("floor warm-up: %v", err)
	}
	for _, n := range b.cfg.Sizes {
		if err := b.fits(n); err != nil {
			b.missAll("floor", n, "cannot: "+err.Error(), "converge_ms")
			continue
		}
		for rep := range floorReps(n) {
			if _, _, err := b.floorAt(ctx, n, strconv.Itoa(rep)); err != nil {
				b.logf("floor-%d: %v", n, err)
				b.missAll("floor", n, short(err), "converge_ms", "first_ms", "stop_ms")
				return
			}
		}
		a, _ := b.res.value("floor", n, "converge_ms")
		s, _ := b.res.value("floor", n, "stop_ms")
		b.logf("floor-%d: all started %.1f ms, stopped %.1f ms", n, a, s)
	}
	var one []float64
	for rep := range 20 {
		_, a, _, err := b.floorRun(ctx, 1, "one-"+strconv.Itoa(rep), nil)
		if err != nil {
			b.missAll("floor", 1, short(err), "exec_ms")
			return
		}
		one = append(one, ms(a))
	}
	b.res.set("floor", 1, "exec_ms", "ms", median(one), one, "one process, median of 20")
	lat, err := inotifyLatency(b.tmp, 50)
	if err != nil {
		b.missAll("floor", 0, short(err), "inotify_p50_ms", "inotify_p99_ms")
		return
	}
	b.res.set("floor", 0, "inotify_p50_ms", "ms", pct(lat, 0.5), lat, "50 renames into a watched folder")
	b.res.set("floor", 0, "inotify_p99_ms", "ms", pct(lat, 0.99), nil, "")
	b.logf("floor: one exec %.2f ms, inotify p50 %.3f ms p99 %.3f ms", median(one), pct(lat, 0.5), pct(lat, 0.99))
}

// missPeer records that peer could not be measured at all.
func (b *bench) missPeer(peer, note string) {
	for _, n := range b.cfg.Sizes {
		b.missAll(peer, n, note, "converge_ms")
	}
}
