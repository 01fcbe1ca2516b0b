package exec

// This file is the notify socket's registry: which instance a sender's
// PID belongs to, the datagrams of a sender not yet known, and each
// instance's rate.

import (
	"time"

	"proclet.dev/proclet/runtime/probe"
	"proclet.dev/proclet/runtime/procfs"
)

// register makes the instance whose leader is pid known to the socket,
// applies what it may already have sent, and returns the unregister.
func (l *notifyListener) register(pid int, n *probe.Notify) func() {
	en := &notifyEntry{n: n, pid: pid, start: procfs.StartTicks(pid), tokens: notifyBurst, filled: time.Now()}
	l.mu.Lock()
	l.byLeader[pid] = en
	delete(l.retired, pid)
	var early []probe.Message
	kept := l.pending[:0]
	for _, p := range l.pending {
		if owner, _ := l.ownerLocked(p.pid); owner == en {
			early = append(early, p.msg)
		} else {
			kept = append(kept, p)
		}
	}
	l.pending = kept
	l.mu.Unlock()
	for _, m := range early {
		l.applyTo(en, m)
	}
	return func() { l.unregister(en) }
}

// unregister forgets en; what its tree sends from now on is ignored
// (quietly for a minute: a STOPPING=1 during a stop is no fault).
func (l *notifyListener) unregister(en *notifyEntry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byLeader[en.pid] == en {
		delete(l.byLeader, en.pid)
	}
	if en.mainPID != 0 && l.byMain[en.mainPID] == en {
		delete(l.byMain, en.mainPID)
	}
	now := time.Now()
	for pid, at := range l.retired {
		if now.Sub(at) > time.Minute {
			delete(l.retired, pid)
		}
	}
	l.retired[en.pid] = now
}

// pendLocked keeps a datagram of a sender no instance claims, for an
// instance not registered yet; the oldest are dropped (and counted) past
// maxNotifyPending or notifyPendingTTL.
func (l *notifyListener) pendLocked(pid int, msg probe.Message, now time.Time) {
	if len(l.pending) == maxNotifyPending {
		l.drops.add(l.log, "not from an instance's process tree", l.pending[0].pid)
		l.pending = append(l.pending[:0], l.pending[1:]...)
	}
	l.pending = append(l.pending, pendingNotify{pid: pid, msg: msg, at: now})
}

// expireLocked drops the pending datagrams older than notifyPendingTTL.
func (l *notifyListener) expireLocked(now time.Time) {
	kept := l.pending[:0]
	for _, p := range l.pending {
		if now.Sub(p.at) < notifyPendingTTL {
			kept = append(kept, p)
		} else {
			l.drops.add(l.log, "not from an instance's process tree", p.pid)
		}
	}
	l.pending = kept
}

// ownerLocked is the registered instance whose process tree pid is in:
// its accepted MAINPID, or a process of its group or session (the
// instance leads both), or a descendant that left them, found by its
// parents (at most maxNotifyDepth of them). The leader must still be the
// process registered (its start time), so a reused pid is no one's.
// retired reports a sender of an instance no longer probed.
func (l *notifyListener) ownerLocked(pid int) (en *notifyEntry, retired bool) {
	if en := l.byMain[pid]; en != nil && procfs.SameProcess(pid, en.mainStart) {
		return en, false
	}
	for range maxNotifyDepth {
		id, err := procfs.ReadIdent(pid)
		if err != nil {
			return nil, false
		}
		for _, p := range []int{pid, id.Pgrp, id.Session} {
			if en := l.byLeader[p]; en != nil && procfs.SameProcess(en.pid, en.start) {
				return en, false
			}
			if _, ok := l.retired[p]; ok {
				return nil, true
			}
		}
		if id.PPid <= 1 {
			return nil, false
		}
		pid = id.PPid
	}
	return nil, false
}

// take spends one of en's tokens, refilled at notifyRate a second up to
// notifyBurst.
func (en *notifyEntry) take(now time.Time) bool {
	en.tokens = min(notifyBurst, en.tokens+now.Sub(en.filled).Seconds()*notifyRate)
	en.filled = now
	if en.tokens < 1 {
		return false
	}
	en.tokens--
	return true
}
