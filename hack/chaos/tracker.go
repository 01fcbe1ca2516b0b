package main

import (
	"fmt"
	"slices"
	"syscall"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// sighting is one process the API reported for an instance.
type sighting struct {
	app, instance, uid string
	pid                int
	startTicks         uint64 // from /proc when first seen; 0 when it was already gone
	first, last        time.Time
	// children are pid's children of the same instance: the command a
	// waiting shim runs (Jobs, CronJobs). The API shows the shim's pid;
	// the command marks its start and prints its lines with its own.
	children []int
}

// pids are the sighting's pid and its command's, if a shim runs it.
func (s *sighting) pids() []int { return append([]int{s.pid}, s.children...) }

// tracker remembers every instance process any daemon of this run
// reported, so that the run can kill only processes that are its own (a
// PID is checked against /proc before every signal: it may have been
// recycled) and clean every one of them up at the end.
type tracker struct {
	fs   procFS
	mark marker
	seen map[string]*sighting // by uid/pid
}

func newTracker(fs procFS, m marker) *tracker {
	return &tracker{fs: fs, mark: m, seen: map[string]*sighting{}}
}

// observe records the instances of one API answer.
func (t *tracker) observe(insts []v1alpha1.Instance, now time.Time) {
	for _, i := range insts {
		if i.PID <= 0 {
			continue
		}
		key := fmt.Sprintf("%s/%d", i.UID, i.PID)
		s := t.seen[key]
		if s == nil {
			s = &sighting{app: i.App, instance: i.Name, uid: i.UID, pid: i.PID, first: now}
			if p, ok := t.fs.readProc(i.PID); ok && p.uid() == i.UID {
				s.startTicks = p.startTicks
			}
			t.seen[key] = s
		}
		if len(s.children) == 0 {
			s.children = t.children(i.PID, i.UID)
		}
		s.last = now
	}
}

// children are the children of pid that belong to the instance uid (a
// waiting shim's command), from /proc/PID/task/PID/children.
func (t *tracker) children(pid int, uid string) []int {
	var out []int
	for _, c := range t.fs.children(pid) {
		if p, ok := t.fs.readProc(c); ok && p.uid() == uid {
			out = append(out, c)
		}
	}
	return out
}

// sighting is the sighting of pid as uid, nil if none.
func (t *tracker) sighting(pid int, uid string) *sighting {
	return t.seen[fmt.Sprintf("%s/%d", uid, pid)]
}

// sightings are every process seen, oldest first.
func (t *tracker) sightings() []*sighting {
	out := make([]*sighting, 0, len(t.seen))
	for _, s := range t.seen {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b *sighting) int { return a.first.Compare(b.first) })
	return out
}

// current reports whether pid is still the process the API called uid,
// and one of this run's.
func (t *tracker) current(pid int, uid string, startTicks uint64) (procInfo, bool) {
	p, ok := t.fs.readProc(pid)
	return p, ok && t.mark.owns(p.env) && p.uid() == uid && (startTicks == 0 || p.startTicks == startTicks)
}

// kill SIGKILLs the instance process pid (only pid: the chaos of an
// instance crashing) after checking it is still uid's.
func (t *tracker) kill(pid int, uid string) bool {
	if _, ok := t.current(pid, uid, 0); !ok {
		return false
	}
	return syscall.Kill(pid, syscall.SIGKILL) == nil
}

// cleanup SIGKILLs the process group of every process this run saw or
// owns now, and waits, at most within, until /proc shows none of them. It
// returns what is left.
func (t *tracker) cleanup(within time.Duration) []procInfo {
	for _, s := range t.seen {
		if p, ok := t.current(s.pid, s.uid, s.startTicks); ok {
			killGroup(p)
		}
	}
	deadline := time.Now().Add(within)
	for {
		left, err := t.fs.scan(t.mark)
		if err != nil || len(left) == 0 {
			return nil
		}
		for _, p := range left { // orphans no API ever reported
			killGroup(p)
		}
		if time.Now().After(deadline) {
			return left
		}
		time.Sleep(50 * time.Millisecond) // polling /proc until the kills land
	}
}

// killGroup SIGKILLs p and, when p leads its process group, the group:
// never a group p merely belongs to, which might be someone else's.
func killGroup(p procInfo) {
	if p.pgid == p.pid && p.pgid != syscall.Getpgrp() {
		_ = syscall.Kill(-p.pgid, syscall.SIGKILL)
	}
	_ = syscall.Kill(p.pid, syscall.SIGKILL)
}
