package shim

import (
	"syscall"
	"unsafe"
)

// ignored are the signals the waiting shim ignores: those a stop sends (to
// the whole process group, which the child is in) and the others whose
// default would end the shim before its child. Its child starts with them
// at their default (Go's fork resets what the runtime handles).
var ignored = []syscall.Signal{
	syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT,
	syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGPIPE, syscall.SIGALRM,
	syscall.SIGVTALRM, syscall.SIGPROF, syscall.SIGXCPU, syscall.SIGXFSZ,
	syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU, syscall.SIGIO,
	syscall.SIGPWR, syscall.SIGSTKFLT,
	// What a stopSignal may name too. Ignored, a fault of the shim's own
	// still kills it (the kernel forces the default for a fault).
	syscall.SIGABRT, syscall.SIGBUS, syscall.SIGFPE, syscall.SIGILL,
	syscall.SIGSEGV, syscall.SIGSYS, syscall.SIGTRAP,
}

// waitMain is the waiting shim; it never returns.
func waitMain(argv []string) {
	if len(argv) < 6 {
		fail("waiting shim: too few arguments", 127)
	}
	runWaited(argv[2], argv[3], argv[4], argv[5:])
}

// runWaited runs path as the waiting shim's child, records its exit into
// status ("": nowhere) and ends the same way; it never returns.
func runWaited(status, cred, path string, args []string) {
	for _, s := range ignored {
		setDisposition(s, 1) // SIG_IGN
	}
	attr := &syscall.ProcAttr{Env: syscall.Environ(), Files: childFiles(), Sys: &syscall.SysProcAttr{}}
	if cred != "-" {
		c, ok := parseCred(cred)
		if !ok {
			fail("waiting shim: bad credential "+cred, 127)
		}
		attr.Sys.Credential = c
	}
	pid, err := syscall.ForkExec(path, args, attr)
	if err != nil {
		writeStatus(status, 127, 0)
		fail("proclet: exec "+path+": "+err.Error(), 127)
	}
	var ws syscall.WaitStatus
	for {
		_, err := syscall.Wait4(pid, &ws, 0, nil)
		if err != syscall.EINTR {
			break
		}
	}
	switch {
	case ws.Signaled():
		sig := ws.Signal()
		writeStatus(status, 0, int(sig))
		setDisposition(sig, 0) // SIG_DFL
		syscall.Kill(syscall.Getpid(), sig)
		syscall.Exit(128 + int(sig)) // a signal whose default is not to die
	default:
		code := ws.ExitStatus()
		writeStatus(status, code, 0)
		syscall.Exit(code)
	}
}

// childFiles is fds 0, 1, 2 and the LISTEN_FDS sockets (3…) of the
// shim, which the child gets at the same numbers. The shim keeps its own
// copies: the next daemon takes the sockets back from the PID it adopts.
func childFiles() []uintptr {
	files := []uintptr{0, 1, 2}
	v, ok := syscall.Getenv("LISTEN_FDS")
	if !ok {
		return files
	}
	n, ok := atoi(v)
	if !ok || n > 1024 {
		return files
	}
	for i := range n {
		// Sockets only: LISTEN_FDS set without sockets (by the spec's
		// env) must not hand the child a closed fd (the fork would fail)
		// nor one of the Go runtime's own (it keeps the cgroup CPU limit
		// files open, at 3 and 4 when nothing else is there).
		var st syscall.Stat_t
		if syscall.Fstat(3+i, &st) != nil || st.Mode&syscall.S_IFMT != syscall.S_IFSOCK {
			break
		}
		files = append(files, uintptr(3+i))
	}
	return files
}

// parseCred parses "uid:gid:g1,g2,...".
func parseCred(s string) (*syscall.Credential, bool) {
	var f []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ':' {
			f = append(f, s[start:i])
			start = i + 1
		}
	}
	if len(f) != 3 {
		return nil, false
	}
	uid, ok1 := atoi(f[0])
	gid, ok2 := atoi(f[1])
	if !ok1 || !ok2 {
		return nil, false
	}
	c := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
	start = 0
	for i := 0; i <= len(f[2]) && f[2] != ""; i++ {
		if i == len(f[2]) || f[2][i] == ',' {
			g, ok := atoi(f[2][start:i])
			if !ok {
				return nil, false
			}
			c.Groups = append(c.Groups, uint32(g))
			start = i + 1
		}
	}
	return c, true
}

// writeStatus writes the child's exit to path, atomically (a temporary
// file, then a rename), as one line of JSON:
// {"pid":P,"code":C,"signal":S,"at":UNIXNANOS}, P the shim's own PID
// (the one the daemon tracks). Failing, it tells stderr.
func writeStatus(path string, code, sig int) {
	if path == "" {
		return
	}
	var tv syscall.Timeval
	syscall.Gettimeofday(&tv)
	at := int(tv.Sec)*1000000000 + int(tv.Usec)*1000
	line := `{"pid":` + itoa(syscall.Getpid()) + `,"code":` + itoa(code) + `,"signal":` + itoa(sig) + `,"at":` + itoa(at) + "}\n"
	writeFileAtomic(path, line)
}

// sigaction is the kernel's struct sigaction (amd64, arm64).
type sigaction struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

// setDisposition sets sig's action to h: 0 default, 1 ignore. Raw: Go
// has no way to do it without os/signal (and its imports' init).
func setDisposition(sig syscall.Signal, h uintptr) {
	act := sigaction{handler: h}
	syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0)
}

func fail(msg string, code int) {
	syscall.Write(2, []byte(msg+"\n"))
	syscall.Exit(code)
}

// atoi parses a non-negative decimal.
func atoi(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
