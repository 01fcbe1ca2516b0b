package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"proclet.dev/proclet/server/client"
)

// defaultServer is where client commands look for the daemon when neither
// --server nor PROCLET_SERVER says otherwise: the daemon's default --listen.
const defaultServer = "http://127.0.0.1:9090"

// clientFlags are the flags of every client command. The API key is read
// from PROCLET_API_KEY only: a flag would show it in ps and shell history.
type clientFlags struct {
	server string
	output string // "", "json" or "yaml"; only where withOutput registered it
}

// newClientFlags returns the flag set of a client command, with --server,
// and -o/--output when withOutput.
func newClientFlags(name, usage string, withOutput bool, stderr io.Writer) (*flag.FlagSet, *clientFlags) {
	cf := &clientFlags{}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: %s\n\nFlags:\n", usage)
		fs.PrintDefaults()
	}
	server := os.Getenv("PROCLET_SERVER")
	if server == "" {
		server = defaultServer
	}
	fs.StringVar(&cf.server, "server", server, "the daemon's `URL`; PROCLET_SERVER sets the default, else "+defaultServer)
	if withOutput {
		fs.StringVar(&cf.output, "o", "", "output `format`: json or yaml (default: a table)")
		fs.StringVar(&cf.output, "output", "", "same as -o `format`")
	}
	return fs, cf
}

// client returns the API client the flags and PROCLET_API_KEY describe.
func (cf *clientFlags) client() *client.Client {
	return client.New(cf.server, os.Getenv("PROCLET_API_KEY"))
}

// checkOutput refuses an unknown -o.
func (cf *clientFlags) checkOutput() error {
	switch cf.output {
	case "", "json", "yaml":
		return nil
	}
	return fmt.Errorf("-o %q: want json or yaml", cf.output)
}

// parseArgs parses flags wherever they are among the arguments (`get
// instances web -o yaml` as well as `get -o yaml instances web`) and
// returns the others in order. "--" ends the flags.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// usageError is a command line mistake: exit 2 after the usage.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// exitCode prints err (if any) and returns the exit code of a client
// command: 0, 1 for a failure, 2 for a usage mistake (flag.ErrHelp: 0).
func exitCode(fs *flag.FlagSet, stderr io.Writer, err error) int {
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "proclet %s: %v\n", fs.Name(), err)
		fs.Usage()
		return 2
	default:
		fmt.Fprintf(stderr, "proclet %s: %v\n", fs.Name(), err)
		return 1
	}
}
