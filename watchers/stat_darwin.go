package watchers

import "syscall"

// statTimes are a stat's modification and change times, in nanoseconds.
// Only so that the package builds and vets on macOS (make lint): the
// daemon runs on Linux.
func statTimes(st *syscall.Stat_t) (mtime, ctime int64) {
	return st.Mtimespec.Nano(), st.Ctimespec.Nano()
}
