//go:build !linux

package shim

import "syscall"

// initMain: the init runner runs on Linux only (the runtime that starts
// it is Linux's).
func initMain([]string) {
	syscall.Write(2, []byte("init runner: Linux only\n"))
	syscall.Exit(127)
}
