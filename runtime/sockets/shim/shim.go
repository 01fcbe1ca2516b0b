package shim

import "syscall"

// Arg is argv[1] of the shim (sockets.ShimArg, which a test pins).
const Arg = "__proclet-listen-shim"

func init() {
	argv := cmdline()
	if len(argv) >= 2 && argv[1] == WaitArg {
		waitMain(argv)
	}
	if len(argv) >= 2 && argv[1] == InitArg {
		initMain(argv)
	}
	if len(argv) < 4 || argv[1] != Arg {
		return
	}
	path, args := argv[2], argv[3:]
	env := syscall.Environ()
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if len(kv) < 11 || kv[:11] != "LISTEN_PID=" {
			out = append(out, kv)
		}
	}
	out = append(out, "LISTEN_PID="+itoa(syscall.Getpid()))
	err := syscall.Exec(path, args, out)
	msg := "proclet: exec " + path + ": " + err.Error() + "\n"
	syscall.Write(2, []byte(msg))
	syscall.Exit(127)
}

// cmdline is the process's argv, from /proc/self/cmdline (os.Args is not
// set up yet: os is not initialised). Nil when it cannot be read.
func cmdline() []string {
	fd, err := syscall.Open("/proc/self/cmdline", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	defer syscall.Close(fd)
	var data []byte
	buf := make([]byte, 4096)
	for {
		n, err := syscall.Read(fd, buf)
		if n > 0 {
			data = append(data, buf[:n]...)
		}
		if err != nil || n <= 0 {
			break
		}
		if len(data) > 64<<20 {
			return nil
		}
	}
	var argv []string
	start := 0
	for i, c := range data {
		if c == 0 {
			argv = append(argv, string(data[start:i]))
			start = i + 1
		}
	}
	return argv
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for ; n > 0; n /= 10 {
		i--
		b[i] = byte('0' + n%10)
	}
	return string(b[i:])
}

// WaitArg is argv[1] of the waiting shim:
//
//	proclet WaitArg STATUSFILE CRED PATH ARGV0 ARGS...
//
// It forks and execs PATH as its child (same session and process group,
// same environment, fds 0-2 and the LISTEN_FDS sockets from 3), with the
// credential CRED ("-": its own; else "uid:gid:g1,g2,..."), waits for it,
// writes its exit into STATUSFILE (STATUSFILE.tmp, then a rename), and
// ends the same way: exit with its code, or die of its signal.
const WaitArg = "__proclet-wait-shim"

// InitArg is argv[1] of the init runner, the waiting shim's init mode
// (instances with spec.initCommands):
//
//	proclet InitArg FD
//
// FD holds the runner's spec (see initSpec); it runs the steps, each to
// its end, records its progress, then execs the command or waits for it
// as the waiting shim does. See "Init steps" in runtime/exec.
const InitArg = "__proclet-init-shim"
