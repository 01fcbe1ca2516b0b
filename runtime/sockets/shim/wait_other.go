//go:build !linux

package shim

import "syscall"

// waitMain: the waiting shim runs on Linux only (the runtime that starts
// it is Linux's).
func waitMain([]string) {
	syscall.Write(2, []byte("waiting shim: Linux only\n"))
	syscall.Exit(127)
}
