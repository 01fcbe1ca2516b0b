package shim

import (
	"syscall"
	"unsafe"
)

// pidfdOpenNR is pidfd_open's number, the same on every architecture.
const pidfdOpenNR = 434

// stepPollNS is how often a step's exit is polled where pidfd_open is
// missing (Linux < 5.3).
const stepPollNS = 100e6

// runStep runs one step to its end: its output into its log files, killed
// (SIGKILL) at its timeout. It returns the step's exit code or signal, and
// whether the timeout ended it; an exec failure is code 127.
func runStep(s *initSpec, st initStep, cred *syscall.Credential) (code, sig int, timedOut bool) {
	streams := [2]string{"stdout", "stderr"}
	var logs [2]*stepLog
	var pipes [2][2]int
	for i := range logs {
		logs[i] = openStepLog(st.logs[i], streams[i], s)
		defer logs[i].close()
		if err := syscall.Pipe2(pipes[i][:], syscall.O_CLOEXEC); err != nil {
			logs[1].emit([]byte("proclet: init step "+st.name+": pipe: "+err.Error()), 'F', "proclet")
			return 127, 0, false
		}
	}
	attr := &syscall.ProcAttr{Dir: st.dir, Env: st.env, Files: []uintptr{0, uintptr(pipes[0][1]), uintptr(pipes[1][1])},
		Sys: &syscall.SysProcAttr{Credential: cred}}
	pid, err := syscall.ForkExec(st.path, st.args, attr)
	syscall.Close(pipes[0][1])
	syscall.Close(pipes[1][1])
	if err != nil {
		syscall.Close(pipes[0][0])
		syscall.Close(pipes[1][0])
		logs[1].emit([]byte("proclet: init step "+st.name+": exec "+st.path+": "+err.Error()), 'F', "proclet")
		return 127, 0, false
	}
	mark := []byte("--- started pid " + itoa(pid) + " revision " + s.revision + " ---")
	logs[0].emit(mark, 'F', "proclet")
	logs[1].emit(mark, 'F', "proclet")
	var deadline int64
	if st.timeoutSeconds > 0 {
		deadline = nowNanos(1) + st.timeoutSeconds*1e9
	}
	ws, timedOut := watchStep(pid, deadline, [2]int{pipes[0][0], pipes[1][0]}, logs)
	if ws.Signaled() {
		return 0, int(ws.Signal()), timedOut
	}
	return ws.ExitStatus(), 0, timedOut
}

// watchStep copies the step's output to its logs until it exits (or its
// deadline, monotonic ns, passes: it is then killed), reaps it, then
// takes what is left in the pipes and closes them.
func watchStep(pid int, deadline int64, fds [2]int, logs [2]*stepLog) (syscall.WaitStatus, bool) {
	pidfd, _, errno := syscall.RawSyscall(pidfdOpenNR, uintptr(pid), 0, 0)
	pfd := int(pidfd)
	if errno != 0 {
		pfd = -1
	} else {
		defer syscall.Close(pfd)
	}
	buf := make([]byte, 64<<10)
	var ws syscall.WaitStatus
	timedOut, reaped := false, false
	for !reaped {
		var r syscall.FdSet
		top := -1
		for _, fd := range append([]int{pfd}, fds[:]...) {
			if fd >= 0 {
				r.Bits[fd/64] |= 1 << (uint(fd) % 64)
				top = max(top, fd)
			}
		}
		var tv *syscall.Timeval
		wait := int64(-1)
		if deadline > 0 {
			wait = max(deadline-nowNanos(1), 0)
		}
		if pfd < 0 && (wait < 0 || wait > stepPollNS) {
			wait = stepPollNS
		}
		if wait >= 0 {
			t := syscall.NsecToTimeval(wait)
			tv = &t
		}
		_, err := syscall.Select(top+1, &r, nil, nil, tv)
		if err != nil && err != syscall.EINTR {
			fail("init runner: select: "+err.Error(), 127)
		}
		for i, fd := range fds {
			if fd >= 0 && r.Bits[fd/64]&(1<<(uint(fd)%64)) != 0 {
				if n, _ := syscall.Read(fd, buf); n > 0 {
					logs[i].feed(buf[:n])
				} else if n == 0 {
					syscall.Close(fd)
					fds[i] = -1
				}
			}
		}
		if deadline > 0 && !timedOut && nowNanos(1) >= deadline {
			syscall.Kill(pid, syscall.SIGKILL)
			timedOut = true
		}
		flags := syscall.WNOHANG
		if timedOut {
			flags = 0
		}
		if wpid, err := syscall.Wait4(pid, &ws, flags, nil); wpid == pid && err == nil {
			reaped = true
		}
	}
	// What the step wrote before it ended; a process it left behind may
	// hold the pipes: it gets EPIPE once they are closed.
	for i, fd := range fds {
		if fd < 0 {
			continue
		}
		syscall.SetNonblock(fd, true)
		for {
			n, _ := syscall.Read(fd, buf)
			if n <= 0 {
				break
			}
			logs[i].feed(buf[:n])
		}
		syscall.Close(fd)
	}
	return ws, timedOut
}

// stepLog writes one stream of a step into its log file in the CRI
// format of runtime/logfile (TIMESTAMP STREAM F|P TEXT), rotated as the
// instance's logs are: at maxSize, keeping maxFiles rotated files.
type stepLog struct {
	path     string
	stream   string
	fd       int
	size     int64
	mode     uint32
	maxSize  int64
	maxFiles int
	piece    int
	pend     []byte // the unfinished line
}

func openStepLog(path, stream string, s *initSpec) *stepLog {
	l := &stepLog{path: path, stream: stream, fd: -1, mode: s.mode, maxSize: max(s.maxSize, 1), maxFiles: s.maxFiles}
	l.piece = int(min(l.maxSize, 64<<10))
	l.open()
	return l
}

func (l *stepLog) open() {
	fd, err := syscall.Open(l.path, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_APPEND|syscall.O_CLOEXEC|syscall.O_NOFOLLOW, l.mode)
	if err != nil {
		syscall.Write(2, []byte("proclet: init step log "+l.path+": "+err.Error()+"\n"))
		return
	}
	syscall.Fchmod(fd, l.mode)
	var st syscall.Stat_t
	syscall.Fstat(fd, &st)
	l.fd, l.size = fd, st.Size
}

// feed takes output: every full line is written, a line longer than a
// piece is cut into P pieces, the rest waits for its end.
func (l *stepLog) feed(b []byte) {
	for len(b) > 0 {
		i := 0
		for i < len(b) && b[i] != '\n' {
			i++
		}
		if i == len(b) {
			l.pend = append(l.pend, b...)
			for len(l.pend) >= l.piece {
				l.emit(l.pend[:l.piece], 'P', l.stream)
				l.pend = append(l.pend[:0], l.pend[l.piece:]...)
			}
			return
		}
		line := append(l.pend, b[:i]...)
		for len(line) > l.piece {
			l.emit(line[:l.piece], 'P', l.stream)
			line = line[l.piece:]
		}
		l.emit(line, 'F', l.stream)
		l.pend = l.pend[:0]
		b = b[i+1:]
	}
}

// emit writes one line, rotating first when it would take the file
// past maxSize.
func (l *stepLog) emit(text []byte, tag byte, stream string) {
	out := make([]byte, 0, len(text)+64)
	out = appendTime(out, nowNanos(0))
	out = append(out, ' ')
	out = append(out, stream...)
	out = append(out, ' ', tag, ' ')
	out = append(out, text...)
	out = append(out, '\n')
	if l.fd >= 0 && l.size > 0 && l.size+int64(len(out)) > l.maxSize {
		l.rotate()
	}
	if l.fd < 0 {
		return
	}
	if n, err := syscall.Write(l.fd, out); err == nil {
		l.size += int64(n)
	}
}

// rotate shifts .log.N to .log.N+1, .log to .log.1 (or removes .log
// when no rotated file is kept), and opens a new .log.
func (l *stepLog) rotate() {
	syscall.Close(l.fd)
	l.fd = -1
	if l.maxFiles <= 0 {
		syscall.Unlink(l.path)
	} else {
		syscall.Unlink(l.path + "." + itoa(l.maxFiles))
		for i := l.maxFiles - 1; i >= 1; i-- {
			syscall.Rename(l.path+"."+itoa(i), l.path+"."+itoa(i+1))
		}
		syscall.Rename(l.path, l.path+".1")
	}
	l.open()
}

// close writes the unfinished line, as a full one (the step ended), and
// closes the file.
func (l *stepLog) close() {
	if len(l.pend) > 0 {
		l.emit(l.pend, 'F', l.stream)
		l.pend = nil
	}
	if l.fd >= 0 {
		syscall.Close(l.fd)
		l.fd = -1
	}
}

// nowNanos reads clock (0 realtime, 1 monotonic) in nanoseconds.
func nowNanos(clock uintptr) int64 {
	var ts syscall.Timespec
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clock, uintptr(unsafe.Pointer(&ts)), 0)
	return ts.Nano()
}

// appendTime appends the Unix time ns as runtime/logfile.TimeLayout
// (2006-01-02T15:04:05.000000000Z, UTC).
func appendTime(b []byte, ns int64) []byte {
	sec, frac := ns/1e9, ns%1e9
	days, rem := sec/86400, sec%86400
	// Howard Hinnant's civil_from_days.
	z := days + 719468
	era := z / 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	b = pad(b, y, 4)
	b = append(b, '-')
	b = pad(b, m, 2)
	b = append(b, '-')
	b = pad(b, d, 2)
	b = append(b, 'T')
	b = pad(b, rem/3600, 2)
	b = append(b, ':')
	b = pad(b, rem%3600/60, 2)
	b = append(b, ':')
	b = pad(b, rem%60, 2)
	b = append(b, '.')
	b = pad(b, frac, 9)
	return append(b, 'Z')
}

// pad appends n in decimal, zero-padded to width digits.
func pad(b []byte, n int64, width int) []byte {
	var d [20]byte
	i := len(d)
	for n > 0 || i == len(d) {
		i--
		d[i] = byte('0' + n%10)
		n /= 10
	}
	for range width - (len(d) - i) {
		b = append(b, '0')
	}
	return append(b, d[i:]...)
}
