package shim

import "syscall"

// initSpec is what the daemon hands the init runner (InitArg) through a
// file descriptor: NUL-terminated fields, in this order:
//
//	"proclet-init-1" PROGRESS RECORD CRED MODE MAXSIZE MAXFILES REVISION NSTEPS
//	NSTEPS times: NAME DIR TIMEOUT STDOUTLOG STDERRLOG PATH ARGC ARGV... ENVC ENV...
//	PATH ARGC ARGV...   (the command, run with the runner's environment)
//
// RECORD "" means no exit record: the runner execs the command when CRED
// is "-" too.
type initSpec struct {
	progress, record, cred string
	mode                   uint32
	maxSize                int64
	maxFiles               int
	revision               string
	steps                  []initStep
	path                   string
	args                   []string
}

type initStep struct {
	name, dir      string
	timeoutSeconds int64
	logs           [2]string
	path           string
	args, env      []string
}

// initSpecMagic is the first field of an init spec.
const initSpecMagic = "proclet-init-1"

// fields splits data into NUL-terminated fields.
type fields struct {
	f  []string
	ok bool
}

func (p *fields) next() string {
	if len(p.f) == 0 {
		p.ok = false
		return ""
	}
	s := p.f[0]
	p.f = p.f[1:]
	return s
}

func (p *fields) num(limit int64) int64 {
	s := p.next()
	n, ok := atoi64(s)
	if !ok || n > limit {
		p.ok = false
	}
	return n
}

func (p *fields) list(limit int64) []string {
	n := p.num(limit)
	if !p.ok || int64(len(p.f)) < n {
		p.ok = false
		return nil
	}
	out := p.f[:n:n]
	p.f = p.f[n:]
	return out
}

// parseInitSpec parses an init spec; ok is false when it is not one.
func parseInitSpec(data []byte) (initSpec, bool) {
	p := &fields{ok: true}
	start := 0
	for i, c := range data {
		if c == 0 {
			p.f = append(p.f, string(data[start:i]))
			start = i + 1
		}
	}
	var s initSpec
	if p.next() != initSpecMagic {
		return s, false
	}
	s.progress, s.record, s.cred = p.next(), p.next(), p.next()
	s.mode = uint32(p.num(0o7777))
	s.maxSize = p.num(1 << 50)
	s.maxFiles = int(p.num(1 << 20))
	s.revision = p.next()
	n := p.num(64)
	for i := int64(0); i < n && p.ok; i++ {
		st := initStep{name: p.next(), dir: p.next(), timeoutSeconds: p.num(1 << 40)}
		st.logs = [2]string{p.next(), p.next()}
		st.path = p.next()
		st.args = p.list(1 << 20)
		st.env = p.list(1 << 20)
		s.steps = append(s.steps, st)
	}
	s.path = p.next()
	s.args = p.list(1 << 20)
	return s, p.ok && len(s.args) > 0 && s.progress != ""
}

// initMain is the init runner; it never returns. It runs each step as its
// child (in the runner's session and process group, the instance's, so
// that a stop reaches the step), its output into the step's log files,
// each step bounded by its timeout; it records its progress in PROGRESS
// before each step, after a failure and before the command. A failed
// step ends the attempt: the runner kills its process group, itself
// included. Otherwise it execs the command (no exit record, no user
// switch: the instance's PID becomes the command's), or runs it as the
// waiting shim does.
func initMain(argv []string) {
	if len(argv) < 3 {
		fail("init runner: too few arguments", 127)
	}
	fd, ok := atoi(argv[2])
	if !ok {
		fail("init runner: bad spec fd "+argv[2], 127)
	}
	data := readAll(fd, 64<<20)
	syscall.Close(fd)
	s, ok := parseInitSpec(data)
	if !ok {
		fail("init runner: unreadable spec", 127)
	}
	for _, sig := range ignored {
		setDisposition(sig, 1) // SIG_IGN, as the waiting shim: a stop reaches the steps through the group
	}
	var cred *syscall.Credential
	if s.cred != "-" {
		if cred, ok = parseCred(s.cred); !ok {
			fail("init runner: bad credential "+s.cred, 127)
		}
	}
	total := len(s.steps)
	for i, st := range s.steps {
		writeProgress(s.progress, i, total, "running", 0, 0, false)
		code, sig, timedOut := runStep(&s, st, cred)
		if code != 0 || sig != 0 || timedOut {
			writeProgress(s.progress, i, total, "failed", code, sig, timedOut)
			if s.record != "" {
				writeStatus(s.record, code, sig)
			}
			// The attempt is over: what the step left in the group goes
			// with it, even while no daemon runs (the daemon takes the
			// step's code from PROGRESS, and RECORD has it).
			syscall.Kill(0, syscall.SIGKILL)
			syscall.Exit(128 + int(syscall.SIGKILL))
		}
	}
	writeProgress(s.progress, total, total, "done", 0, 0, false)
	if s.record == "" && cred == nil {
		for _, sig := range ignored {
			setDisposition(sig, 0) // an ignored signal stays ignored across exec
		}
		err := syscall.Exec(s.path, s.args, syscall.Environ())
		fail("proclet: exec "+s.path+": "+err.Error(), 127)
	}
	runWaited(s.record, s.cred, s.path, s.args) // "" (a user switch without a record): the status is the reaped one
}

// readAll reads fd to its end, at most limit bytes.
func readAll(fd, limit int) []byte {
	var data []byte
	buf := make([]byte, 64<<10)
	for len(data) <= limit {
		n, err := syscall.Read(fd, buf)
		if err == syscall.EINTR {
			continue
		}
		if n <= 0 || err != nil {
			break
		}
		data = append(data, buf[:n]...)
	}
	return data
}

// writeProgress records where the runner is, atomically, as one line of
// JSON: {"pid":P,"step":I,"total":N,"state":S,"code":C,"signal":G,"timeout":T,"at":NS}.
func writeProgress(path string, step, total int, state string, code, sig int, timedOut bool) {
	to := "false"
	if timedOut {
		to = "true"
	}
	line := `{"pid":` + itoa(syscall.Getpid()) + `,"step":` + itoa(step) + `,"total":` + itoa(total) +
		`,"state":"` + state + `","code":` + itoa(code) + `,"signal":` + itoa(sig) + `,"timeout":` + to +
		`,"at":` + itoa(int(nowNanos(0))) + "}\n"
	writeFileAtomic(path, line)
}

// writeFileAtomic writes line to path through path.tmp and a rename.
// Failing, it tells stderr.
func writeFileAtomic(path, line string) {
	tmp := path + ".tmp"
	fd, err := syscall.Open(tmp, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_TRUNC|syscall.O_CLOEXEC|syscall.O_NOFOLLOW, 0o600)
	if err == nil {
		_, err = syscall.Write(fd, []byte(line))
		if err2 := syscall.Close(fd); err == nil {
			err = err2
		}
	}
	if err == nil {
		err = syscall.Rename(tmp, path)
	}
	if err != nil {
		syscall.Write(2, []byte("proclet: writing "+path+": "+err.Error()+"\n"))
	}
}

// atoi64 parses a non-negative decimal of at most 18 digits.
func atoi64(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}
