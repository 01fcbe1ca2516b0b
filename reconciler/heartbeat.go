package reconciler

// heartbeatKey is the queue item of a heartbeat: never an app's name (a
// name is a DNS label), so it never reaches a pass.
const heartbeatKey = "\x00heartbeat"

// Heartbeat asks the loop for a sign of life: it queues a heartbeat
// behind the queued passes, which the first free worker answers, and
// returns its ticket. Once HeartbeatAnswered is at least the ticket, the
// loop was alive after the call: its queue moved and a worker was free.
// A loop whose workers are all stuck in passes, or that no longer runs,
// never answers. The daemon's systemd watchdog is fed only by answers, so
// that a stuck loop is restarted rather than kept alive by a timer.
func (r *Reconciler) Heartbeat() uint64 {
	t := r.beatAsked.Add(1)
	r.q.Add(heartbeatKey)
	return t
}

// HeartbeatAnswered is the latest ticket of Heartbeat a worker answered
// (0: none yet).
func (r *Reconciler) HeartbeatAnswered() uint64 { return r.beatAnswered.Load() }

// answerHeartbeat answers every heartbeat asked so far when name is the
// heartbeat's queue item, and reports whether it was.
func (r *Reconciler) answerHeartbeat(name string) bool {
	if name != heartbeatKey {
		return false
	}
	r.beatAnswered.Store(r.beatAsked.Load())
	return true
}
