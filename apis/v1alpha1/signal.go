package v1alpha1

import (
	"fmt"
	"strings"
	"syscall"
)

// signals are the signal names a manifest may use, without "SIG".
var signals = map[string]syscall.Signal{
	"ABRT":   syscall.SIGABRT,
	"ALRM":   syscall.SIGALRM,
	"BUS":    syscall.SIGBUS,
	"CHLD":   syscall.SIGCHLD,
	"CONT":   syscall.SIGCONT,
	"FPE":    syscall.SIGFPE,
	"HUP":    syscall.SIGHUP,
	"ILL":    syscall.SIGILL,
	"INT":    syscall.SIGINT,
	"IO":     syscall.SIGIO,
	"KILL":   syscall.SIGKILL,
	"PIPE":   syscall.SIGPIPE,
	"PROF":   syscall.SIGPROF,
	"QUIT":   syscall.SIGQUIT,
	"SEGV":   syscall.SIGSEGV,
	"STOP":   syscall.SIGSTOP,
	"SYS":    syscall.SIGSYS,
	"TERM":   syscall.SIGTERM,
	"TRAP":   syscall.SIGTRAP,
	"TSTP":   syscall.SIGTSTP,
	"TTIN":   syscall.SIGTTIN,
	"TTOU":   syscall.SIGTTOU,
	"URG":    syscall.SIGURG,
	"USR1":   syscall.SIGUSR1,
	"USR2":   syscall.SIGUSR2,
	"VTALRM": syscall.SIGVTALRM,
	"WINCH":  syscall.SIGWINCH,
	"XCPU":   syscall.SIGXCPU,
	"XFSZ":   syscall.SIGXFSZ,
}

// ParseSignal returns the signal a name stands for: "SIGTERM" or "TERM",
// in upper case, as kill(1) and Kubernetes' stopSignal spell them.
func ParseSignal(name string) (syscall.Signal, error) {
	if s, ok := signals[strings.TrimPrefix(name, "SIG")]; ok {
		return s, nil
	}
	return 0, fmt.Errorf("%s is not a signal name (want e.g. SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1)", quote(name))
}
