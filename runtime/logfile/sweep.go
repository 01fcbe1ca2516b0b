package logfile

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// SweepBudget bounds the files one Sweep looks at (an lstat each), so a
// sweep stays cheap whatever the logs folder holds; the next sweep goes on
// from where it stopped.
const SweepBudget = 10000

// Sweep deletes the log files under <stateDir>/logs of the instances live
// does not know (removed apps, scaled-down or replaced instances) when the
// newest of the instance's files (both streams, rotated ones included) was
// last written before cutoff; an app folder left empty goes too. It looks
// at up to budget files, app folders in name order from the one after
// after ("" : the first), and returns where the next sweep starts ("" :
// from the beginning again) and how many files it deleted. Names that are
// not log files are left alone.
func Sweep(stateDir string, cutoff time.Time, live func(app, instance string) bool, after string, budget int) (next string, removed int) {
	root := filepath.Join(stateDir, "logs")
	apps, err := os.ReadDir(root)
	if err != nil {
		return "", 0
	}
	for _, a := range apps {
		if !a.IsDir() || a.Name() <= after && after != "" {
			continue
		}
		if budget <= 0 {
			return after, removed
		}
		n, looked := sweepApp(filepath.Join(root, a.Name()), a.Name(), cutoff, live, budget)
		removed += n
		budget -= looked
		after = a.Name()
	}
	return "", removed
}

// sweepApp is Sweep for one app folder; it returns the files deleted and
// looked at.
func sweepApp(dir, app string, cutoff time.Time, live func(app, instance string) bool, budget int) (removed, looked int) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, 1
	}
	newest := map[string]time.Time{} // instance: its files' last write
	files := map[string][]string{}
	for _, e := range entries {
		inst, ok := logInstance(e.Name())
		if !ok || looked >= budget || live(app, inst) {
			continue
		}
		looked++
		st, err := os.Lstat(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		if st.ModTime().After(newest[inst]) {
			newest[inst] = st.ModTime()
		}
		files[inst] = append(files[inst], e.Name())
	}
	for inst, names := range files {
		if !newest[inst].Before(cutoff) || looked >= budget && len(names) > 0 && !complete(entries, inst, names) {
			continue
		}
		for _, n := range names {
			if os.Remove(filepath.Join(dir, n)) == nil {
				removed++
			}
		}
	}
	os.Remove(dir) // only when empty
	return removed, max(looked, 1)
}

// complete tells whether names are all the files of inst in entries (a
// sweep cut short by its budget deletes an instance's files only when it
// looked at every one of them).
func complete(entries []os.DirEntry, inst string, names []string) bool {
	for _, e := range entries {
		if i, ok := logInstance(e.Name()); ok && i == inst && !slices.Contains(names, e.Name()) {
			return false
		}
	}
	return true
}

// logInstance is the instance whose log file name is
// <instance>.<stdout|stderr>.log[.N], or one of its init steps',
// <instance>.init.<step>.<stdout|stderr>.log[.N].
func logInstance(name string) (string, bool) {
	for _, stream := range []string{".stdout.log", ".stderr.log"} {
		if i := strings.Index(name, stream); i > 0 {
			rest := name[i+len(stream):]
			if rest == "" || rest[0] == '.' && len(rest) > 1 && strings.Trim(rest[1:], "0123456789") == "" {
				inst, _, _ := strings.Cut(name[:i], ".init.")
				return inst, inst != ""
			}
		}
	}
	return "", false
}
