package main

import (
	_ "proclet.dev/proclet/runtime/sockets/shim" // an instance's exec shim: runs in init, before the rest

	"fmt"
	"os"
)

// Set at build time with -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "dev"
	commit  = "unknown"
)

const usage = `proclet runs processes from a directory of manifests.

Usage:
  proclet run [--manifests DIR] [--state-dir DIR] [--listen ADDR] [flags]
  proclet validate DIR...
  proclet get apps [NAME] [-o json|yaml]
  proclet get instances [APP] [-o json|yaml]
  proclet describe APP
  proclet logs APP[/INSTANCE] [-f] [--tail N] [--stderr]
  proclet diff DIR
  proclet rollout restart APP [--manifests DIR]
  proclet rollout status APP [--timeout D] [--revision REV]
  proclet version

Run 'proclet run --help' for the daemon's flags. The client commands (get,
describe, logs, diff, rollout status) find the daemon with --server URL or PROCLET_SERVER
(default http://127.0.0.1:9090) and send PROCLET_API_KEY when it is set.
`

func main() {
	os.Exit(run(os.Args[1:]))
}

// run dispatches a command line and returns the exit code.
func run(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return 2
	}
	switch args[0] {
	case "run":
		return runDaemon(args[1:])
	case "validate":
		return runValidate(args[1:], os.Stdout, os.Stderr)
	case "schema":
		return runSchema(args[1:], os.Stdout, os.Stderr)
	case "get":
		return runGet(args[1:], os.Stdout, os.Stderr)
	case "describe":
		return runDescribe(args[1:], os.Stdout, os.Stderr)
	case "logs":
		return runLogs(args[1:], os.Stdout, os.Stderr)
	case "diff":
		return runDiff(args[1:], os.Stdout, os.Stderr)
	case "rollout":
		return runRollout(args[1:], os.Stdout, os.Stderr)
	case "version", "--version", "-v":
		printVersion(os.Stdout)
		return 0
	case "help", "--help", "-h":
		fmt.Fprint(os.Stdout, usage)
		return 0
	default:
		fmt.Fprintf(os.Stderr, "proclet: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}
