//go:build !linux

package probe

import "time"

// poller is Linux's (poll_linux.go); elsewhere every run goes to the pool.
type poller struct{}

func (*incarnation) poll(*Scheduler, *Loop) bool { return false }
func (*incarnation) pollerWake()                 {}
func (*incarnation) closePoller(*Scheduler)      {}

func (inc *incarnation) wait(s *Scheduler, next time.Time) { s.waitTimer(next) }
