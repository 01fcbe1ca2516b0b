package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

var addrRE = regexp.MustCompile(`msg="serving the API" addr=(\S+)`)

func main() {
	bin := flag.String("bin", "bin", "the folder of the proclet binary")
	sizesFlag := flag.String("sizes", "10,50,100", "numbers of daemons to ask")
	apps := flag.Int("apps", 1, "apps per daemon, one sleeping instance each")
	reps := flag.Int("reps", 5, "runs of each measurement")
	parallels := flag.String("parallel", "32", "--parallel values of the CLI, comma-separated")
	flag.Parse()
	var sizes []int
	for _, s := range strings.Split(*sizesFlag, ",") {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			fail("-sizes %q", *sizesFlag)
		}
		sizes = append(sizes, n)
	}
	proclet, err := filepath.Abs(filepath.Join(*bin, "proclet"))
	if err != nil {
		fail("%v", err)
	}
	dir, err := os.MkdirTemp("", "fleetbench")
	if err != nil {
		fail("%v", err)
	}
	defer os.RemoveAll(dir)
	var daemons []*exec.Cmd
	defer func() { stopAll(daemons) }()
	var addrs []string
	start := time.Now()
	for i := range slices.Max(sizes) {
		cmd, addr, err := startDaemon(proclet, filepath.Join(dir, strconv.Itoa(i)), *apps)
		if cmd != nil {
			daemons = append(daemons, cmd)
		}
		if err != nil {
			stopAll(daemons)
			fail("daemon %d: %v", i, err)
		}
		addrs = append(addrs, addr)
	}
	fmt.Printf("%d daemons started in %s\n", len(addrs), time.Since(start).Round(time.Millisecond))
	// The floor: one daemon asked without --servers (the process start).
	report("get apps --server (one daemon, no fan-out)", measure(daemons, *reps, 0, *apps, proclet, "get", "apps", "--server", addrs[0]))
	for _, par := range strings.Split(*parallels, ",") {
		for _, n := range sizes {
			args := []string{"get", "apps", "--servers", strings.Join(addrs[:n], ","), "--parallel", par}
			report(fmt.Sprintf("get apps --servers %3d hosts (--parallel %s)", n, par), measure(daemons, *reps, n, *apps, proclet, args...))
		}
	}
}

// measure runs the CLI reps times, checks it printed rows of n hosts × apps
// (n 0: one host), and returns the wall times, sorted.
func measure(daemons []*exec.Cmd, reps, n, apps int, proclet string, args ...string) []time.Duration {
	var times []time.Duration
	for range reps {
		t0 := time.Now()
		out, err := exec.Command(proclet, args...).CombinedOutput()
		if err != nil {
			stopAll(daemons)
			fail("%v: %v\n%s", args[:3], err, out)
		}
		times = append(times, time.Since(t0))
		if rows := strings.Count(string(out), "\n") - 1; rows != max(n, 1)*apps {
			stopAll(daemons)
			fail("%v against %d: %d rows, want %d", args[:3], n, rows, max(n, 1)*apps)
		}
	}
	slices.Sort(times)
	return times
}

func report(what string, times []time.Duration) {
	fmt.Printf("%-48s median %s  min %s  max %s\n", what, times[len(times)/2].Round(time.Millisecond),
		times[0].Round(time.Millisecond), times[len(times)-1].Round(time.Millisecond))
}

// startDaemon runs proclet on a folder of apps sleeping apps and returns
// once it serves the API, with its address.
func startDaemon(proclet, dir string, apps int) (*exec.Cmd, string, error) {
	manifests := filepath.Join(dir, "manifests")
	if err := os.MkdirAll(manifests, 0o755); err != nil {
		return nil, "", err
	}
	for a := range apps {
		m := fmt.Sprintf("apiVersion: proclet.dev/v1alpha1\nkind: App\nmetadata: {name: app%d}\nspec:\n  command: [/bin/sleep, \"86400\"]\n", a)
		if err := os.WriteFile(filepath.Join(manifests, fmt.Sprintf("app%d.yaml", a)), []byte(m), 0o644); err != nil {
			return nil, "", err
		}
	}
	cmd := exec.Command(proclet, "run", "--manifests", manifests, "--state-dir", filepath.Join(dir, "state"),
		"--listen", "127.0.0.1:0", "--sample-interval", "0", "--run-dir", filepath.Join(dir, "run"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if m := addrRE.FindStringSubmatch(sc.Text()); m != nil {
			go func() {
				for sc.Scan() {
				}
			}()
			return cmd, m[1], nil
		}
	}
	return cmd, "", fmt.Errorf("exited before serving the API")
}

// stopAll stops every daemon gracefully (which stops its instances), then
// kills what is left of each process group.
func stopAll(daemons []*exec.Cmd) {
	for _, d := range daemons {
		_ = d.Process.Signal(syscall.SIGTERM)
	}
	for _, d := range daemons {
		done := make(chan struct{})
		go func() { _ = d.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
		}
		_ = syscall.Kill(-d.Process.Pid, syscall.SIGKILL)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "fleetbench: "+format+"\n", args...)
	os.Exit(1)
}
