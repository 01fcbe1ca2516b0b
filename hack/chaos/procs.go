package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// marker tells this run's instances from every other process on the
// host: an instance has PROCLET_UID in its environment, and either
// PROCLET_STATE_DIR naming this run's state dir (once the daemon sets it)
// or CHAOS_RUN set to this run's token (the daemon's own environment,
// which every instance inherits).
type marker struct {
	stateDir string
	token    string
}

// owns reports whether a process with environment env is one of this
// run's instances.
func (m marker) owns(env map[string]string) bool {
	if env["PROCLET_UID"] == "" {
		return false
	}
	if sd := env["PROCLET_STATE_DIR"]; sd != "" && filepath.Clean(sd) == m.stateDir {
		return true
	}
	return env["CHAOS_RUN"] == m.token
}

// procInfo is one process of this run, as /proc shows it.
type procInfo struct {
	pid, pgid  int
	startTicks uint64            // start time in clock ticks after boot: with pid, its identity
	env        map[string]string // PROCLET_* and CHAOS_RUN only
	cmdline    string
	listening  []int // TCP ports it has a LISTEN socket on
}

func (p procInfo) app() string      { return p.env["PROCLET_APP"] }
func (p procInfo) instance() string { return p.env["PROCLET_INSTANCE"] }
func (p procInfo) uid() string      { return p.env["PROCLET_UID"] }

func (p procInfo) String() string {
	return fmt.Sprintf("pid %d (pgid %d) %s/%s uid %s: %s", p.pid, p.pgid, p.app(), p.instance(), p.uid(), p.cmdline)
}

// parseStat reads the process group, the state and the start time from the
// contents of /proc/<pid>/stat. The command name may hold spaces and
// parentheses, so fields are counted from the last ')'.
func parseStat(b []byte) (pgid int, state byte, startTicks uint64, err error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return 0, 0, 0, fmt.Errorf("parse stat: no command field in %q", b)
	}
	f := strings.Fields(string(b[i+2:]))
	// f[0] is field 3 (state), f[2] field 5 (pgrp), f[19] field 22 (starttime).
	if len(f) < 20 {
		return 0, 0, 0, fmt.Errorf("parse stat: %d fields", len(f)+2)
	}
	if pgid, err = strconv.Atoi(f[2]); err != nil {
		return 0, 0, 0, fmt.Errorf("parse stat: pgrp: %w", err)
	}
	if startTicks, err = strconv.ParseUint(f[19], 10, 64); err != nil {
		return 0, 0, 0, fmt.Errorf("parse stat: starttime: %w", err)
	}
	return pgid, f[0][0], startTicks, nil
}

// parseEnviron keeps the variables the checks need from the contents of
// /proc/<pid>/environ (NUL-separated NAME=value).
func parseEnviron(b []byte) map[string]string {
	env := map[string]string{}
	for kv := range bytes.SplitSeq(b, []byte{0}) {
		k, v, ok := bytes.Cut(kv, []byte{'='})
		if !ok {
			continue
		}
		if name := string(k); strings.HasPrefix(name, "PROCLET_") || name == "CHAOS_RUN" {
			env[name] = string(v)
		}
	}
	return env
}

// parseListeners maps socket inode to port for the LISTEN sockets of the
// contents of /proc/net/tcp or /proc/net/tcp6.
func parseListeners(r io.Reader, into map[uint64]int) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	first := true
	for sc.Scan() {
		if first { // the header
			first = false
			continue
		}
		f := strings.Fields(sc.Text())
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		if len(f) < 10 || f[3] != "0A" {
			continue
		}
		_, portHex, ok := strings.Cut(f[1], ":")
		if !ok {
			continue
		}
		port, err := strconv.ParseUint(portHex, 16, 16)
		if err != nil {
			continue
		}
		inode, err := strconv.ParseUint(f[9], 10, 64)
		if err != nil || inode == 0 {
			continue
		}
		into[inode] = int(port)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("parse listeners: %w", err)
	}
	return nil
}

// procFS reads processes from a /proc tree (a fake one in tests).
type procFS struct {
	root string
}

// readProc reads one process; ok is false when it is gone, a zombie, or
// unreadable.
func (fs procFS) readProc(pid int) (procInfo, bool) {
	dir := filepath.Join(fs.root, strconv.Itoa(pid))
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return procInfo{}, false
	}
	pgid, state, start, err := parseStat(stat)
	if err != nil || state == 'Z' || state == 'X' {
		return procInfo{}, false
	}
	envb, err := os.ReadFile(filepath.Join(dir, "environ"))
	if err != nil {
		return procInfo{}, false
	}
	cmd, _ := os.ReadFile(filepath.Join(dir, "cmdline"))
	return procInfo{pid: pid, pgid: pgid, startTicks: start, env: parseEnviron(envb),
		cmdline: strings.TrimSpace(strings.ReplaceAll(string(cmd), "\x00", " "))}, true
}

// scan returns every live process m owns, sorted by pid, with the TCP
// ports each listens on.
// children are the pids of pid's children (its main thread's), none
// when it is gone.
func (fs procFS) children(pid int) []int {
	b, err := os.ReadFile(filepath.Join(fs.root, strconv.Itoa(pid), "task", strconv.Itoa(pid), "children"))
	if err != nil {
		return nil
	}
	var out []int
	for _, f := range strings.Fields(string(b)) {
		if c, err := strconv.Atoi(f); err == nil {
			out = append(out, c)
		}
	}
	return out
}

func (fs procFS) scan(m marker) ([]procInfo, error) {
	entries, err := os.ReadDir(fs.root)
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", fs.root, err)
	}
	var out []procInfo
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, ok := fs.readProc(pid); ok && m.owns(p.env) {
			out = append(out, p)
		}
	}
	listeners := map[uint64]int{}
	for _, name := range []string{"net/tcp", "net/tcp6"} {
		f, err := os.Open(filepath.Join(fs.root, name))
		if err != nil {
			continue // no IPv6, or a fake tree without it
		}
		err = parseListeners(f, listeners)
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	for i := range out {
		out[i].listening = fs.listeningPorts(out[i].pid, listeners)
	}
	return out, nil
}

// listeningPorts are the ports of the LISTEN sockets among pid's open
// files.
func (fs procFS) listeningPorts(pid int, listeners map[uint64]int) []int {
	fdDir := filepath.Join(fs.root, strconv.Itoa(pid), "fd")
	fds, err := os.ReadDir(fdDir)
	if err != nil {
		return nil
	}
	var ports []int
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join(fdDir, fd.Name()))
		if err != nil {
			continue
		}
		ino, ok := strings.CutPrefix(target, "socket:[")
		if !ok {
			continue
		}
		inode, err := strconv.ParseUint(strings.TrimSuffix(ino, "]"), 10, 64)
		if err != nil {
			continue
		}
		if port, ok := listeners[inode]; ok && !slices.Contains(ports, port) {
			ports = append(ports, port)
		}
	}
	slices.Sort(ports)
	return ports
}
