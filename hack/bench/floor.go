package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// floorRun is the physical floor of one size: a Go loop starting the same
// n workloads (each in its own session and process group, as proclet
// starts an instance), timed to their start stamps; then SIGTERM to every
// group, timed until the last one has exited. No supervisor, no config: the cost of the work itself.
// When measure is set, it is given the workloads' PIDs once they all run,
// and the host's MemAvailable (KiB) before the first started.
func (b *bench) floorRun(ctx context.Context, n int, label string, measure func(availBefore int64, pids []int)) (first, all, stop time.Duration, err error) {
	ph, err := b.newPhase(fmt.Sprintf("floor-%d-%s", n, label))
	if err != nil {
		return 0, 0, 0, err
	}
	defer ph.close()
	apps := ph.apps(n)
	var kids []*child
	avail := memAvailableKiB()
	t0 := time.Now()
	for _, a := range apps {
		if ctx.Err() != nil {
			return 0, 0, 0, ctx.Err()
		}
		cmd := exec.Command(a.argv[0], a.argv[1:]...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		c, err := b.r.start(ph.name, cmd, "PROCLET_INSTANCE="+a.inst)
		if err != nil {
			return 0, 0, 0, err
		}
		kids = append(kids, c)
	}
	spawned := time.Since(t0)
	f, l, err := ph.marks.all(ctx, b.convergeTimeout(n), instances(apps), t0)
	if os.Getenv("BENCH_DEBUG") != "" {
		b.logf("%s: Start loop %.1f ms, last stamp %.1f ms", ph.name, ms(spawned), ms(l.Sub(t0)))
	}
	if err != nil {
		return 0, 0, 0, err
	}
	if measure != nil {
		pids := make([]int, len(kids))
		for i, c := range kids {
			pids[i] = c.cmd.Process.Pid
		}
		measure(avail, pids)
	}
	s, err := stopTime(ctx, ph.token, b.stopTimeout(n), func() error {
		for _, c := range kids {
			c.kill(syscall.SIGTERM)
		}
		return nil
	})
	return f.Sub(t0), l.Sub(t0), s, err
}

// floorSamples are every floor measurement of one size.
type floorSamples struct{ first, all, stop []float64 }

// floorAt measures the floor at n once more, labelled label, adds it to
// the floor's figures (medians over every measurement of the run) and
// returns it.
// The first one (label "0") also measures the workloads' memory.
func (b *bench) floorAt(ctx context.Context, n int, label string) (all, stop float64, err error) {
	var measure func(int64, []int)
	if label == "0" {
		measure = func(avail int64, pids []int) { b.measureMemory(n, avail, pids) }
	}
	f, a, s, err := b.floorRun(ctx, n, label, measure)
	if err != nil {
		return 0, 0, err
	}
	b.floorMu.Lock()
	fs := b.floors[n]
	if fs == nil {
		fs = &floorSamples{}
		b.floors[n] = fs
	}
	fs.first, fs.all, fs.stop = append(fs.first, ms(f)), append(fs.all, ms(a)), append(fs.stop, ms(s))
	b.floorMu.Unlock()
	b.setMedian("floor", n, "converge_ms", fs.all)
	b.setMedian("floor", n, "first_ms", fs.first)
	b.setMedian("floor", n, "stop_ms", fs.stop)
	return ms(a), ms(s), nil
}

// adjacentFloor measures the floor at n right before peer runs at n: the
// load of a shared machine drifts over a run, and a ratio is fair only
// against a floor measured under the same load. The peer's "÷ floor"
// figures use it.
func (b *bench) adjacentFloor(ctx context.Context, peer string, n int) {
	all, stop, err := b.floorAt(ctx, n, "before-"+peer)
	if err != nil {
		b.logf("floor before %s at %d: %v", peer, n, err)
		return
	}
	b.res.set(peer, n, "floor_converge_ms", "ms", all, nil, "the floor measured just before")
	b.res.set(peer, n, "floor_stop_ms", "ms", stop, nil, "the floor measured just before")
	b.logf("floor before %s-%d: all started %.1f ms, stopped %.1f ms", peer, n, all, stop)
}

// inotifyLatency is the floor of "manifest written → noticed": a file
// written aside and renamed into a watched folder, timed until the
// IN_MOVED_TO event is read.
func inotifyLatency(dir string, count int) ([]float64, error) {
	watched := filepath.Join(dir, "watched")
	if err := os.MkdirAll(watched, 0o755); err != nil {
		return nil, err
	}
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "inotify")
	defer f.Close()
	if _, err := unix.InotifyAddWatch(fd, watched, unix.IN_MOVED_TO); err != nil {
		return nil, err
	}
	buf := make([]byte, 4096)
	var out []float64
	for i := range count {
		tmp := filepath.Join(dir, fmt.Sprintf("m%d.tmp", i))
		if err := os.WriteFile(tmp, []byte("apiVersion: proclet.dev/v1alpha1\n"), 0o644); err != nil {
			return nil, err
		}
		t0 := time.Now()
		if err := os.Rename(tmp, filepath.Join(watched, fmt.Sprintf("m%d.yaml", i))); err != nil {
			return nil, err
		}
		n, err := f.Read(buf)
		d := time.Since(t0)
		if err != nil || n < unix.SizeofInotifyEvent {
			return nil, fmt.Errorf("inotify read: %v", err)
		}
		ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[0]))
		if ev.Mask&unix.IN_MOVED_TO == 0 {
			return nil, fmt.Errorf("inotify: unexpected event %#x", ev.Mask)
		}
		out = append(out, ms(d))
	}
	return out, nil
}
