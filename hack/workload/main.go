package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type config struct {
	port                       string
	exitAfter                  time.Duration
	exitCode                   int
	ignoreSigterm              bool
	children                   int
	grandchildren, setsidChild bool
	alloc, allocStep           int64
	allocInterval              time.Duration
	stdoutRate, stderrRate     int
	lines, lineSize            int
	lineID                     bool
	flood                      int64
	floodLine, floodWrite      int
	floodRate                  int64
	floodExit                  bool
	printEnv, printRlimit      bool
	announce                   bool
	readyAfter, failAfter      time.Duration
	markStart                  string
	role                       string // "" for the main process, "child" or "grandchild"
	socket                     string // serve on this inherited socket (listen.go)
}

func main() {
	var c config
	flag.StringVar(&c.port, "port", os.Getenv("PORT"), "HTTP port")
	flag.DurationVar(&c.exitAfter, "exit-after", -1, "exit after this long (0: at once)")
	flag.IntVar(&c.exitCode, "exit-code", 0, "exit code for --exit-after")
	flag.BoolVar(&c.ignoreSigterm, "ignore-sigterm", false, "ignore SIGTERM")
	flag.IntVar(&c.children, "children", 0, "sleeping children to start")
	flag.BoolVar(&c.grandchildren, "grandchildren", false, "each child starts a grandchild")
	flag.BoolVar(&c.setsidChild, "setsid-child", false, "start a child in its own session")
	flag.Func("alloc", "bytes to allocate and touch", sizeFlag(&c.alloc))
	flag.Func("alloc-step", "allocate in steps of this size", sizeFlag(&c.allocStep))
	flag.DurationVar(&c.allocInterval, "alloc-interval", time.Second, "time between steps")
	flag.IntVar(&c.stdoutRate, "stdout-rate", 0, "stdout lines per second")
	flag.IntVar(&c.stderrRate, "stderr-rate", 0, "stderr lines per second")
	flag.IntVar(&c.lines, "lines", 0, "stop each stream after this many lines (0: never)")
	flag.IntVar(&c.lineSize, "line-size", 0, "pad lines to this many bytes")
	flag.Func("flood", "bytes to write to stdout at full speed", sizeFlag(&c.flood))
	flag.IntVar(&c.floodLine, "flood-line", 0, "a newline every this many bytes of the flood (0: none)")
	flag.IntVar(&c.floodWrite, "flood-write", 64<<10, "bytes per write of the flood")
	flag.Func("flood-rate", "bytes a second the flood is paced at (0: as fast as it can)", sizeFlag(&c.floodRate))
	flag.BoolVar(&c.floodExit, "flood-exit", false, "exit once the flood is written")
	flag.BoolVar(&c.lineID, "line-id", false, "prefix lines with <pid>.<start ms>, unique per run")
	flag.BoolVar(&c.printEnv, "print-env", false, "print the environment")
	flag.BoolVar(&c.printRlimit, "print-rlimit", false, "print RLIMIT_NOFILE")
	flag.BoolVar(&c.announce, "announce", false, "print \"ready pid=<pid>\" on stderr when set up")
	flag.DurationVar(&c.readyAfter, "ready-after", 0, "/healthz is 503 until then")
	flag.DurationVar(&c.failAfter, "healthz-fail-after", 0, "/healthz is 500 from then on")
	flag.StringVar(&c.role, "role", "", "internal: child or grandchild")
	flag.StringVar(&c.socket, "socket", "", "serve HTTP on the inherited socket of this name (LISTEN_FDS; \"-\": the first), and drain on SIGTERM")
	flag.StringVar(&c.markStart, "mark-start", "", "write the start time into this directory")
	flag.Parse()
	os.Exit(run(c))
}

func run(c config) int {
	start := time.Now()
	instance := os.Getenv("PROCLET_INSTANCE")
	if instance == "" {
		instance = "workload"
	}
	if c.markStart != "" && c.role == "" {
		name := fmt.Sprintf("%s/%s.%d", c.markStart, instance, os.Getpid())
		if err := os.WriteFile(name, []byte(strconv.FormatInt(start.UnixNano(), 10)), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "mark-start:", err)
		}
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)

	if c.role == "child" && c.grandchildren {
		spawn(c, "grandchild", false)
	}
	if c.role == "" {
		for range c.children {
			spawn(c, "child", false)
		}
		if c.setsidChild {
			spawn(c, "child", true)
		}
		if !printInfo(c) {
			return 1
		}
		if c.port != "" {
			go serve(c, instance, start)
		}
		if c.socket != "" {
			go serveInherited(c.socket, handler(c, instance, start), stopServing, served)
		}
		go allocate(c.alloc, c.allocStep, c.allocInterval)
		go notifyLoop(start)
		prefix := instance
		if c.lineID {
			prefix += fmt.Sprintf(" %d.%d", os.Getpid(), start.UnixMilli())
		}
		go emit(os.Stdout, prefix+" stdout", c.stdoutRate, c.lines, c.lineSize)
		go emit(os.Stderr, prefix+" stderr", c.stderrRate, c.lines, c.lineSize)
		if c.flood > 0 {
			go func() {
				flood(c.flood, c.floodLine, c.floodWrite, c.floodRate)
				if c.floodExit {
					os.Exit(0)
				}
			}()
		}
		if c.announce {
			fmt.Fprintf(os.Stderr, "ready pid=%d\n", os.Getpid())
		}
	}

	var exit <-chan time.Time
	if c.exitAfter >= 0 && c.role == "" {
		exit = time.After(c.exitAfter)
	}
	for {
		select {
		case <-exit:
			return c.exitCode
		case <-sigs:
			if !c.ignoreSigterm {
				if c.socket != "" { // drain: finish what was accepted
					close(stopServing)
					<-served
				}
				return 0
			}
		}
	}
}

// printInfo prints the environment and RLIMIT_NOFILE when asked; false
// when the limit cannot be read.
func printInfo(c config) bool {
	if c.printEnv {
		env := os.Environ()
		slices.Sort(env)
		fmt.Println(strings.Join(env, "\n"))
	}
	if c.printRlimit {
		var r syscall.Rlimit
		if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
			fmt.Fprintln(os.Stderr, "getrlimit:", err)
			return false
		}
		fmt.Printf("rlimit nofile soft=%d hard=%d\n", r.Cur, r.Max)
	}
	return true
}

// spawn starts a sleeping copy of this program. Its stdout and stderr are
// ours, so it holds the same pipes; it is reaped in the background.
func spawn(c config, role string, setsid bool) {
	args := []string{"--role", role}
	if c.grandchildren {
		args = append(args, "--grandchildren")
	}
	if c.ignoreSigterm {
		args = append(args, "--ignore-sigterm")
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "spawn:", err)
		return
	}
	cmd := exec.Command(self, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: setsid}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "spawn:", err)
		return
	}
	fmt.Printf("child pid=%d\n", cmd.Process.Pid)
	go cmd.Wait() //nolint:errcheck // reaped only so it leaves no zombie
}

// stopServing and served end serveInherited on SIGTERM.
var stopServing, served = make(chan struct{}), make(chan struct{})

func serve(c config, instance string, start time.Time) {
	addr := c.port
	if !strings.Contains(addr, ":") {
		addr = ":" + addr
	}
	if err := http.ListenAndServe(addr, handler(c, instance, start)); err != nil {
		fmt.Fprintln(os.Stderr, "serve:", err)
		os.Exit(1)
	}
}

// handler serves /healthz and / (which names the instance and its pid).
func handler(c config, instance string, start time.Time) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		since := time.Since(start)
		switch {
		case since < c.readyAfter:
			http.Error(w, "not ready", http.StatusServiceUnavailable)
		case c.failAfter > 0 && since >= c.failAfter:
			http.Error(w, "failing", http.StatusInternalServerError)
		default:
			fmt.Fprint(w, "ok")
		}
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "instance=%s pid=%d\n", instance, os.Getpid())
	})
	return mux
}

// emit writes rate numbered lines a second to w, in batches every 10 ms so
// high rates work, and stops after limit lines when limit > 0.
func emit(w *os.File, prefix string, rate, limit, size int) {
	if rate <= 0 {
		return
	}
	start := time.Now()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var buf []byte
	seq := 1
	for {
		due := int(time.Since(start).Seconds()*float64(rate)) + 1
		if limit > 0 {
			due = min(due, limit)
		}
		buf = buf[:0]
		for ; seq <= due; seq++ {
			line := prefix + " " + strconv.Itoa(seq)
			if pad := size - len(line) - 2; pad > 0 {
				line += " " + strings.Repeat("x", pad)
			}
			buf = append(buf, line+"\n"...)
		}
		if _, err := w.Write(buf); err != nil || (limit > 0 && seq > limit) {
			return
		}
		<-tick.C
	}
}

// flood writes total bytes of letters to stdout as fast as it can (or at
// rate bytes a second, when rate > 0), in writes of size bytes, with a
// newline every line bytes (none when line is 0), then says so on stderr.
// A paced flood sleeps whenever it is 1 ms or more ahead of its rate.
func flood(total int64, line, size int, rate int64) {
	size = max(size, 1)
	buf := make([]byte, 64<<10+size) // a write starts anywhere in the pattern
	for i := range buf {
		buf[i] = 'a' + byte(i%26)
		if line > 0 && i%line == line-1 {
			buf[i] = '\n'
		}
	}
	period := len(buf) - size
	if line > 0 {
		period = period / line * line // so the lines go on across writes
	}
	began := time.Now()
	for done := int64(0); done < total; {
		if rate > 0 {
			due := began.Add(time.Duration(float64(done) / float64(rate) * float64(time.Second)))
			if ahead := time.Until(due); ahead >= time.Millisecond {
				time.Sleep(ahead)
			}
		}
		off := int(done % int64(period))
		n := int(min(total-done, int64(size)))
		if _, err := os.Stdout.Write(buf[off : off+n]); err != nil {
			fmt.Fprintln(os.Stderr, "flood:", err)
			return
		}
		done += int64(n)
	}
	fmt.Fprintln(os.Stderr, "flood done")
}

// allocate touches total bytes, all at once or step bytes per interval,
// and keeps them referenced for the life of the process.
var held [][]byte

func allocate(total, step int64, interval time.Duration) {
	if step <= 0 {
		step = total
	}
	for done := int64(0); done < total; done += step {
		if done > 0 {
			time.Sleep(interval)
		}
		b := make([]byte, min(step, total-done))
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		held = append(held, b)
	}
}

// sizeFlag parses a byte size: a number with an optional Ki, Mi, Gi
// (powers of 1024) or k, M, G (powers of 1000) suffix.
func sizeFlag(dst *int64) func(string) error {
	return func(s string) error {
		mult := int64(1)
		for _, u := range []struct {
			suffix string
			mult   int64
		}{{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"k", 1e3}, {"M", 1e6}, {"G", 1e9}} {
			if n, ok := strings.CutSuffix(s, u.suffix); ok {
				s, mult = n, u.mult
				break
			}
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("%q is not a size", s)
		}
		*dst = n * mult
		return nil
	}
}
