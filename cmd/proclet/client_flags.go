package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"proclet.dev/proclet/server/client"
)

// defaultServer is where client commands look for the daemon when neither
// --server nor PROCLET_SERVER says otherwise: the daemon's default --listen.
const defaultServer = "http://127.0.0.1:9090"

// clientFlags are the flags of every client command. The API key is read
// from PROCLET_API_KEY only: a flag would show it in ps and shell history.
type clientFlags struct {
	server string
	cacert string // PEM CA certificates an https:// --server is checked against
	output string // "" or one of the formats addOutputFlag allowed
}

// addClientFlags registers --server and --cacert on cmd.
func addClientFlags(cmd *cobra.Command) *clientFlags {
	cf := &clientFlags{}
	server := os.Getenv("PROCLET_SERVER")
	if server == "" {
		server = defaultServer
	}
	cmd.Flags().StringVar(&cf.server, "server", server, "the daemon's URL (PROCLET_SERVER sets the default)")
	cmd.Flags().StringVar(&cf.cacert, "cacert", os.Getenv("PROCLET_CACERT"), "PEM `file` of the CA certificates an https:// --server is checked against instead of the system's (PROCLET_CACERT sets the default)")
	return cf
}

// addOutputFlag registers -o/--output with the formats allowed.
func (cf *clientFlags) addOutputFlag(cmd *cobra.Command, formats ...string) {
	cmd.Flags().StringVarP(&cf.output, "output", "o", "", "output format: "+strings.Join(formats, ", ")+" (default: a table)")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(formats, cobra.ShellCompDirectiveNoFileComp))
}

// client returns the API client the flags and PROCLET_API_KEY describe.
func (cf *clientFlags) client() *client.Client {
	return client.New(cf.server, os.Getenv("PROCLET_API_KEY")).WithCACertFile(cf.cacert)
}

// checkOutput refuses a -o that is not one of formats.
func (cf *clientFlags) checkOutput(formats ...string) error {
	if cf.output == "" || slices.Contains(formats, cf.output) {
		return nil
	}
	return &usageError{fmt.Sprintf("-o %q: want %s", cf.output, strings.Join(formats, ", "))}
}

// usageError is a command line mistake: exit 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// exitError ends a command with code; msg, when set, is printed first.
// diff uses it for its own codes, after printing what it has to.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return fmt.Sprintf("exit %d: %s", e.code, e.msg) }

// exitCode prints err (if any) as one line "proclet CMD: message" on
// stderr and returns the exit code: 0, 1 for a failure, 2 for a usage
// mistake (followed by where the help is).
func exitCode(cmd *cobra.Command, stderr io.Writer, err error) int {
	name := "proclet"
	if cmd != nil {
		name = cmd.CommandPath()
	}
	var ue *usageError
	var ee *exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		if ee.msg != "" {
			fmt.Fprintf(stderr, "%s: %s\n", name, ee.msg)
		}
		return ee.code
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "%s: %v\nSee '%s --help'.\n", name, err, name)
		return 2
	default:
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
}
