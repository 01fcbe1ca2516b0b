package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"proclet.dev/proclet/runtime/exec"
)

// config is the command line.
type config struct {
	minutes         float64
	bin             string
	seed            uint64
	rate            int
	converge        time.Duration
	daemonKillEvery time.Duration
	killPercent     int
	portBase        int
	keep            bool
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("chaos", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Float64Var(&c.minutes, "minutes", 2, "how long the chaos lasts, in `minutes`")
	fs.StringVar(&c.bin, "bin", "bin", "the `directory` holding proclet and workload (make build)")
	fs.Uint64Var(&c.seed, "seed", 0, "seed of the manifest changes and kills (0: pick one and print it)")
	fs.IntVar(&c.rate, "rate", 5, "stdout lines a second of every instance")
	fs.DurationVar(&c.converge, "converge", 60*time.Second, "deadline for convergence once the chaos stops")
	fs.DurationVar(&c.daemonKillEvery, "daemon-kill-every", 25*time.Second, "mean time between two kill -9 of the daemon")
	fs.IntVar(&c.killPercent, "kill-percent", 25, "share of the steps (%) that kill an instance rather than edit a manifest")
	fs.IntVar(&c.portBase, "port-base", 0, "first port of the apps' ranges (0: 20000 plus a offset drawn from the seed)")
	fs.BoolVar(&c.keep, "keep", false, "keep the temp directory (manifests, state, daemon log) even when nothing broke")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case c.minutes <= 0:
		return c, errors.New("-minutes must be positive")
	case c.rate <= 0 || c.rate > 1000:
		return c, errors.New("-rate must be in 1..1000")
	case c.converge <= 0 || c.daemonKillEvery <= 0:
		return c, errors.New("-converge and -daemon-kill-every must be positive")
	case c.killPercent < 0 || c.killPercent > 100:
		return c, errors.New("-kill-percent must be in 0..100")
	}
	if c.seed == 0 {
		c.seed = uint64(time.Now().UnixNano()%1_000_000_000) + 1
	}
	if c.portBase == 0 {
		c.portBase = 20000 + int(c.seed%40)*200
	}
	if c.portBase < 1024 || c.portBase+poolSize*portSpan > 65535 {
		return c, fmt.Errorf("-port-base %d: the ranges must fit in 1024..65535", c.portBase)
	}
	return c, nil
}

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

// realMain runs the test and returns the exit code: 0 when every
// invariant held, 1 on a breach, 2 when the test could not run, 130 on ^C.
func realMain(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "chaos:", err)
		return 2
	}
	bin, err := filepath.Abs(cfg.bin)
	if err != nil {
		fmt.Fprintln(stderr, "chaos:", err)
		return 2
	}
	for _, b := range []string{"proclet", "workload"} {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			fmt.Fprintf(stderr, "chaos: %v (run make build first)\n", err)
			return 2
		}
	}
	dir, err := os.MkdirTemp("", "proclet-chaos-")
	if err != nil {
		fmt.Fprintln(stderr, "chaos:", err)
		return 2
	}
	c := newChaos(cfg, bin, dir, stdout)
	fmt.Fprintf(stdout, "chaos: seed %d, %.1f minutes, ports %d-%d, work dir %s\n",
		cfg.seed, cfg.minutes, cfg.portBase, cfg.portBase+poolSize*portSpan-1, dir)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	began := time.Now()
	runErr := c.run(ctx)

	// Whatever happened: no daemon, no instance of this run survives.
	if err := c.d.kill(10 * time.Second); err != nil {
		c.breach(invDaemon, "cleanup: "+err.Error())
	}
	for _, p := range c.tr.cleanup(10 * time.Second) {
		c.breach(invDaemon, "cleanup: cannot kill "+p.String())
	}

	code := 0
	switch {
	case ctx.Err() != nil:
		fmt.Fprintln(stderr, "chaos: interrupted")
		code = 130
	case runErr != nil:
		fmt.Fprintln(stderr, "chaos:", runErr)
		code = 2
	}
	c.summary(stdout, time.Since(began))
	if code == 0 && c.breachCount() > 0 {
		code = 1
	}
	if code == 0 && !cfg.keep {
		if run := exec.TmpfsRunDir(c.stateDir); run != "" { // the daemon's FIFOs, by default on a tmpfs
			os.RemoveAll(run)
		}
		os.RemoveAll(dir)
	} else {
		fmt.Fprintf(stdout, "\n  kept for inspection: %s (daemon log: %s)\n", dir, c.d.logPath)
	}
	return code
}

// newChaos lays out the work dir: manifests/, state/, marks/ (the starts
// of the Jobs' processes), daemon.log.
func newChaos(cfg config, bin, dir string, out io.Writer) *chaos {
	manifests := filepath.Join(dir, "manifests")
	stateDir := filepath.Join(dir, "state")
	marks := filepath.Join(dir, "marks")
	_ = os.MkdirAll(marks, 0o755) // a failure shows as a workload's stderr line and no mark
	token := filepath.Base(dir)
	m := marker{stateDir: stateDir, token: token}
	fs := procFS{root: "/proc"}
	return &chaos{
		cfg:       cfg,
		out:       out,
		manifests: manifests,
		stateDir:  stateDir,
		fleet:     newFleet(filepath.Join(bin, "workload"), cfg.rate, cfg.portBase),
		jobs:      newJobFleet(filepath.Join(bin, "workload"), cfg.rate, marks),
		marks:     marks,
		killed:    map[int][]time.Time{},
		mrand:     rand.New(rand.NewPCG(cfg.seed, 1)),
		krand:     rand.New(rand.NewPCG(cfg.seed, 2)),
		d: &daemonRunner{bin: filepath.Join(bin, "proclet"), manifests: manifests, stateDir: stateDir,
			env: append(os.Environ(), "CHAOS_RUN="+token), logPath: filepath.Join(dir, "daemon.log")},
		api:      newAPIClient(),
		fs:       fs,
		mark:     m,
		tr:       newTracker(fs, m),
		everApps: map[string]bool{},
		changes:  map[string]int{},
		breaches: map[string][]string{},
	}
}
