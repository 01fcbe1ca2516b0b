package exec

import (
	"fmt"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
	"proclet.dev/proclet/runtime/cgroup"
)

// startInCgroup starts cmd inside cg (nil: plainly) and returns the
// command that runs. The process is born in its cgroup with
// CLONE_INTO_CGROUP (clone3, Linux 5.7+), so whatever it forks at once is
// in the cgroup too. Where that fails (an older kernel, a fake
// cgroupfs in tests) it is started as usual and moved into the cgroup
// right after through cgroup.procs: what it forked before the move stays
// outside. A process that cannot be put in its cgroup is killed and the
// start fails, since its limits would not hold.
func (e *Runtime) startInCgroup(cmd *exec.Cmd, cg *cgroup.Cgroup) (*exec.Cmd, error) {
	if cg == nil {
		return cmd, cmd.Start()
	}
	attr := syscall.SysProcAttr{}
	if cmd.SysProcAttr != nil {
		attr = *cmd.SysProcAttr
	}
	attr.UseCgroupFD, attr.CgroupFD = true, cg.FD()
	into := &exec.Cmd{Path: cmd.Path, Args: cmd.Args, Env: cmd.Env, Dir: cmd.Dir,
		Stdin: cmd.Stdin, Stdout: cmd.Stdout, Stderr: cmd.Stderr, ExtraFiles: cmd.ExtraFiles, SysProcAttr: &attr}
	cloneErr := into.Start()
	if cloneErr == nil {
		return into, nil
	}
	if err := cmd.Start(); err != nil {
		return cmd, err
	}
	if e.cgroups.NoteCloneFailed() {
		e.log.Warn("cannot start instances inside their cgroup (CLONE_INTO_CGROUP); moving them in right after the start instead, so what they fork at once escapes the cgroup",
			"err", cloneErr)
	}
	pid := cmd.Process.Pid
	if err := cg.AddProc(pid); err != nil {
		unix.Kill(-pid, unix.SIGKILL)
		unix.Kill(pid, unix.SIGKILL)
		cmd.Wait()
		return cmd, fmt.Errorf("cgroup %s: %w", cg.Path(), err)
	}
	return cmd, nil
}
