package main

import (
	_ "proclet.dev/proclet/runtime/sockets/shim" // an instance's exec shim: runs in init, before the rest

	"io"
	"os"
)

// Set at build time with -ldflags "-X main.version=... -X main.commit=...":
// version is a tag (v0.3.0) or what git describe says past one
// (v0.3.0-4-gabc1234); semanticVersion makes it v0.0.0-dev+COMMIT when
// there is none.
var (
	version = ""
	commit  = "unknown"
)

func init() {
	if commit == "unknown" {
		commit = vcsRevision()
	}
	version = semanticVersion(version, commit)
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes a command line and returns the exit code: 0, 1 when the
// command failed, 2 for a usage mistake (diff has its own codes).
func run(args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(legacyFlags(root, args))
	cmd, err := root.ExecuteC()
	return exitCode(cmd, stderr, err)
}
