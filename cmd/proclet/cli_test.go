package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"proclet.dev/proclet/apis/v1alpha1"
)

// commandPaths lists every command of the tree but cobra's own.
func commandPaths(c *cobra.Command) [][]string {
	var out [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" || sub.Name() == "completion" {
				continue
			}
			p := append(append([]string{}, path...), sub.Name())
			out = append(out, p)
			walk(sub, p)
		}
	}
	walk(c, nil)
	return out
}

// Every command's help is on stdout, with examples, exit 0, by --help and
// by `proclet help CMD` alike.
func TestHelp_OnStdoutWithExamples(t *testing.T) {
	paths := commandPaths(newRootCmd(nil, nil))
	if len(paths) < 10 {
		t.Fatalf("only %d commands: %q", len(paths), paths)
	}
	for _, p := range paths {
		code, out, errOut := cliRun(p[0], append(p[1:], "--help")...)
		if code != 0 || errOut != "" || !strings.Contains(out, "Usage:\n  proclet "+strings.Join(p, " ")) || !strings.Contains(out, "Examples:\n") {
			t.Errorf("%q --help: code %d, stderr %q, stdout\n%s", p, code, errOut, out)
		}
		code, viaHelp, errOut := cliRun("help", p...)
		if code != 0 || errOut != "" || viaHelp != out {
			t.Errorf("help %q: code %d, stderr %q, stdout differs from --help:\n%s", p, code, errOut, viaHelp)
		}
	}
	code, out, _ := cliRun("help", "get")
	if code != 0 || !strings.Contains(out, "proclet get instances -w") || strings.Contains(out, "[=true|false]") {
		t.Errorf("help get: code %d\n%s", code, out)
	}
	if code, out, _ := cliRun("--help"); code != 0 || !strings.Contains(out, "Commands of a running daemon:") {
		t.Errorf("--help: code %d\n%s", code, out)
	}
}

// Usage mistakes exit 2 with one message and where the help is.
func TestUsageMistakes_Exit2(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"get", "apps", "--bogus"}, "proclet get: unknown flag: --bogus\nSee 'proclet get --help'.\n"},
		{[]string{"logs", "-x", "web"}, "proclet logs: unknown shorthand flag: 'x' in -x\n"},
		{[]string{"frobnicate"}, `proclet: unknown command "frobnicate" for "proclet"`},
		{[]string{"gte"}, "Did you mean this?\n\tget"},
		{[]string{"rollout", "frobnicate"}, `unknown command "frobnicate" for "proclet rollout"`},
		{[]string{"get"}, "want a kind"},
		{[]string{"get", "pods"}, `unknown kind "pods"`},
		{[]string{"describe"}, "want exactly one app"},
		{[]string{"validate"}, "want at least one file or directory"},
		{[]string{"get", "events", "-w"}, "-w watches apps, instances, jobs and cronjobs"},
		{[]string{"get", "apps", "--for", "web"}, "--for is for events"},
		{[]string{"get", "events", "-o", "wide"}, `-o "wide": want json, yaml`},
		{[]string{"run", "--on-exit", "pause"}, `proclet run: --on-exit: "pause"`},
		{[]string{"run", "--resync"}, "flag needs an argument: --resync"},
	} {
		var o, e strings.Builder
		code := run(tc.args, &o, &e)
		out, errOut := o.String(), e.String()
		if code != 2 || !strings.Contains(errOut, tc.want) || out != "" {
			t.Errorf("%q: code %d, stdout %q, stderr %q; want 2 and %q", tc.args, code, out, errOut, tc.want)
		}
	}
	if code, _, errOut := cliRun("help"); code != 0 || errOut != "" {
		t.Errorf("help: code %d, stderr %q", code, errOut)
	}
	var o, e strings.Builder
	if code := run(nil, &o, &e); code != 2 || o.Len() != 0 || !strings.Contains(e.String(), "Usage:") {
		t.Errorf("no command: code %d, stdout %q, stderr %q", code, o.String(), e.String())
	}
}

// parse resolves a command line to its command and parses its flags as
// Execute would, without running it.
func parse(t *testing.T, args ...string) (*cobra.Command, []string, error) {
	t.Helper()
	root := newRootCmd(&strings.Builder{}, &strings.Builder{})
	root.InitDefaultCompletionCmd()
	args = legacyFlags(root, args)
	cmd, rest, err := root.Find(args)
	if err != nil {
		return nil, nil, err
	}
	if err := cmd.ParseFlags(rest); err != nil {
		return cmd, nil, err
	}
	pos := cmd.Flags().Args()
	return cmd, pos, cmd.ValidateArgs(pos)
}

func flagValue(t *testing.T, cmd *cobra.Command, name string) string {
	t.Helper()
	f := cmd.Flags().Lookup(name)
	if f == nil {
		t.Fatalf("%s has no --%s", cmd.CommandPath(), name)
	}
	return f.Value.String()
}

// Short flags as kubectl's, long flags anywhere, and the single-dash long
// flags Go's flag package accepted.
func TestFlags_ShortLongAndLegacy(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		flags map[string]string
		pos   string
	}{
		{[]string{"logs", "web", "-f", "--tail", "5"}, map[string]string{"follow": "true", "tail": "5"}, "web"},
		{[]string{"logs", "-follow", "-tail", "3", "web"}, map[string]string{"follow": "true", "tail": "3"}, "web"},
		{[]string{"logs", "--follow=true", "web/web-0"}, map[string]string{"follow": "true"}, "web/web-0"},
		{[]string{"get", "instances", "web", "-ojson"}, map[string]string{"output": "json"}, "instances web"},
		{[]string{"get", "-o", "wide", "-w", "apps"}, map[string]string{"output": "wide", "watch": "true"}, "apps"},
		{[]string{"get", "--watch", "instances", "--output=name"}, map[string]string{"output": "name", "watch": "true"}, "instances"},
		{[]string{"get", "apps", "--", "-o"}, map[string]string{"output": ""}, "apps -o"},
		{[]string{"run", "-manifests", "m", "-state-dir=s", "--listen", "127.0.0.1:1"}, map[string]string{"manifests": "m", "state-dir": "s", "listen": "127.0.0.1:1"}, ""},
		{[]string{"run", "--allowed-host", "a", "--allowed-host", "b"}, map[string]string{"allowed-host": "a,b"}, ""},
		{[]string{"rollout", "status", "web", "-timeout", "1m"}, map[string]string{"timeout": "1m0s"}, "web"},
	} {
		cmd, pos, err := parse(t, tc.args...)
		if err != nil {
			t.Errorf("%q: %v", tc.args, err)
			continue
		}
		for name, want := range tc.flags {
			if got := flagValue(t, cmd, name); got != want {
				t.Errorf("%q: --%s = %q, want %q", tc.args, name, got, want)
			}
		}
		if got := strings.Join(pos, " "); got != tc.pos {
			t.Errorf("%q: arguments %q, want %q", tc.args, got, tc.pos)
		}
	}
}

// docInvocation is a `$ proclet ...` line of docs/cli.md or a command of
// the README's table.
var docInvocation = regexp.MustCompile("(?:^\\$ |^\\| `)(proclet [^`|;#]*)")

// docSynopsis is a line of a code block that is a command's synopsis
// (`proclet get apps [NAME] [-o wide|json|yaml|name]`).
var docSynopsis = regexp.MustCompile(`^(proclet [^#]*)$`)

// Every command line the docs show still parses, flags and arguments.
func TestDocs_EveryInvocationParses(t *testing.T) {
	n := 0
	for _, doc := range []string{"../../docs/cli.md", "../../README.md"} {
		f, err := os.Open(doc)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		inFence, inPlain := false, false
		for sc.Scan() {
			text := sc.Text()
			if strings.HasPrefix(text, "```") {
				// Synopses are in plain blocks; console and sh blocks hold
				// output and pipes.
				inFence = !inFence
				inPlain = inFence && text == "```"
			}
			m := docInvocation.FindStringSubmatch(text)
			if m == nil && inPlain {
				m = docSynopsis.FindStringSubmatch(text)
			}
			if m == nil {
				continue
			}
			line := strings.NewReplacer("[", "", "]", "", "|", " ", "\\", "").Replace(strings.TrimSpace(m[1]))
			if strings.Contains(line, "--bogus") || strings.HasPrefix(line, "proclet gte") {
				continue // the docs' examples of usage mistakes
			}
			args := strings.Fields(line)[1:]
			// Placeholders of a synopsis: one choice stands for the rest.
			args = fillPlaceholders(args)
			n++
			if _, _, err := parse(t, args...); err != nil {
				t.Errorf("%s: %q: %v", doc, line, err)
			}
		}
		f.Close()
	}
	if n < 20 {
		t.Fatalf("only %d invocations found", n)
	}
}

// alternatives are the words of a synopsis' choice (json|yaml) after the
// first, which stands for them.
var alternatives = map[string]bool{"json": true, "yaml": true, "name": true, "zsh": true, "fish": true, "powershell": true}

// fillPlaceholders keeps the first form of an "apps / instances" choice and
// the first word of a synopsis' "-o wide|json|yaml", and gives N and D values.
func fillPlaceholders(args []string) []string {
	var out []string
	for i, a := range args {
		if a == "/" {
			break // `get apps` / `get instances APP`: the first form
		}
		switch {
		case a == "N":
			a = "10"
		case a == "D":
			a = "30s"
		case alternatives[a] && i > 0 && (alternatives[args[i-1]] || args[i-1] == "wide" || args[i-1] == "bash") && i > 1:
			continue
		}
		out = append(out, a)
	}
	return out
}

func TestSemanticVersion(t *testing.T) {
	for _, tc := range []struct{ v, commit, want string }{
		{"", "abc1234", "v0.0.0-dev+abc1234"},
		{"dev", "abc1234", "v0.0.0-dev+abc1234"},
		{"abc1234", "abc1234", "v0.0.0-dev+abc1234"},
		{"v0.3.0", "abc1234", "v0.3.0"},
		{"v0.3.0-4-gabc1234-dirty", "abc1234", "v0.3.0-4-gabc1234-dirty"},
		{"", "", "v0.0.0-dev+unknown"},
	} {
		if got := semanticVersion(tc.v, tc.commit); got != tc.want {
			t.Errorf("semanticVersion(%q, %q) = %q, want %q", tc.v, tc.commit, got, tc.want)
		}
	}
}

func TestVersion_AsksTheDaemon(t *testing.T) {
	url := (&cliFakeAPI{version: "v0.9.1"}).start(t)
	code, out, _ := cliRun("version", "--server", url)
	if code != 0 || !strings.HasPrefix(out, "Client Version: "+version+"\nGo Version: go") ||
		!strings.Contains(out, "\nServer Version: v0.9.1 ("+url+")\n") {
		t.Errorf("code %d\n%s", code, out)
	}
	dead := deadServer(t)
	start := time.Now()
	code, out, _ = cliRun("version", "--server", dead)
	if code != 0 || !strings.Contains(out, "Server Version: unavailable (cannot reach proclet at ") || time.Since(start) > versionTimeout+time.Second {
		t.Errorf("no daemon: code %d after %s\n%s", code, time.Since(start), out)
	}
}

func TestGet_ManifestsShowsTheProblemWithItsLine(t *testing.T) {
	api := &cliFakeAPI{manifests: []v1alpha1.FileStatus{
		{Path: "broken.yaml", Objects: []string{}, Error: &v1alpha1.FileError{File: "broken.yaml", Line: 7, Field: "spec.replicas", Reason: v1alpha1.ReasonInvalid, Message: "must be at most 1000"}},
		{Path: "dup.yaml", Objects: []string{"web"}, Error: &v1alpha1.FileError{File: "dup.yaml", Line: 4, Field: "metadata.name", Reason: v1alpha1.ReasonDuplicateName, Message: `app "web" is already defined in web.yaml`}},
		{Path: "web.yaml", Objects: []string{"web"}},
	}}
	url := api.start(t)
	code, out, errOut := cliRun("get", "manifests", "--server", url)
	want := "FILE          STATE           APPS   PROBLEM\n" +
		"broken.yaml   Invalid         -      broken.yaml:7: spec.replicas: must be at most 1000\n" +
		"dup.yaml      DuplicateName   web    dup.yaml:4: metadata.name: app \"web\" is already defined in web.yaml\n" +
		"web.yaml      Applied         web    -\n"
	if code != 0 || out != want {
		t.Errorf("code %d, stderr %q, stdout\n%s\nwant\n%s", code, errOut, out, want)
	}
	if code, out, _ := cliRun("get", "manifest", "broken.yaml", "-o", "name", "--server", url); code != 0 || out != "manifest/broken.yaml\n" {
		t.Errorf("-o name: code %d, %q", code, out)
	}
	// A new app whose only manifest is broken: describe says so.
	code, _, errOut = cliRun("describe", "broken", "--server", url)
	if wantErr := "proclet describe: app \"broken\" is not running: its manifest broken.yaml has a problem: broken.yaml:7: spec.replicas: must be at most 1000\n"; code != 1 || errOut != wantErr {
		t.Errorf("describe broken: code %d, stderr %q, want %q", code, errOut, wantErr)
	}
	if code, _, errOut = cliRun("describe", "nope", "--server", url); code != 1 || errOut != "proclet describe: app \"nope\" not found\n" {
		t.Errorf("describe nope: code %d, stderr %q", code, errOut)
	}
}

func TestGet_WideAndName(t *testing.T) {
	started := time.Now().Add(-3 * time.Minute)
	in0 := cliInstance("web", 0, started)
	in0.Revision = "abc"
	in0.LastExit = &v1alpha1.ExitStatus{Code: 1, Reason: "Error", At: time.Now().Add(-2 * time.Minute)}
	app := cliApp("web", 1, 1)
	app.Status.Source = "web.yaml"
	api := &cliFakeAPI{apps: []v1alpha1.App{app}, instances: []v1alpha1.Instance{in0}}
	url := api.start(t)
	code, out, _ := cliRun("get", "instances", "-o", "wide", "--server", url)
	lines := strings.Split(out, "\n")
	if code != 0 || !strings.HasSuffix(lines[0], "AGE   REVISION   LAST-EXIT          NEXT-START") ||
		!strings.HasSuffix(lines[1], "3m    abc        1 (Error) 2m ago   -") {
		t.Errorf("instances -o wide: code %d\n%s", code, out)
	}
	code, out, _ = cliRun("get", "apps", "-o", "wide", "--server", url)
	if code != 0 || !strings.Contains(out, "REVISION     PORTS   SOURCE     COMMAND\n") || !strings.HasSuffix(out, "   -       web.yaml   sleep 1000\n") {
		t.Errorf("apps -o wide: code %d\n%s", code, out)
	}
	if code, out, _ = cliRun("get", "instances", "-o", "name", "--server", url); code != 0 || out != "instance/web-0\n" {
		t.Errorf("instances -o name: code %d %q", code, out)
	}
	if code, out, _ = cliRun("get", "apps", "-oname", "--server", url); code != 0 || out != "app/web\n" {
		t.Errorf("apps -o name: code %d %q", code, out)
	}
}

// `logs web-1` is the instance web-1 of web.
func TestLogs_InstanceNameAlone(t *testing.T) {
	now := time.Now()
	api := &cliFakeAPI{
		apps:      []v1alpha1.App{cliApp("web", 2, 2)},
		instances: []v1alpha1.Instance{cliInstance("web", 0, now), cliInstance("web", 1, now)},
		logs:      map[string]string{"web-0": "zero\n", "web-1": "one\n"},
	}
	url := api.start(t)
	if code, out, errOut := cliRun("logs", "web-1", "--server", url); code != 0 || out != "one\n" {
		t.Errorf("logs web-1: code %d, stdout %q, stderr %q", code, out, errOut)
	}
	if code, _, errOut := cliRun("logs", "web-7", "--server", url); code != 1 || errOut != "proclet logs: app \"web-7\" not found (the logs of a removed app or instance are kept for a while: name it as APP/INSTANCE, web/web-7)\n" {
		t.Errorf("logs web-7: code %d, stderr %q", code, errOut)
	}
}

// deadServer is the URL of a server that is gone: connections are refused.
func deadServer(t *testing.T) string {
	t.Helper()
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	return dead.URL
}

// watchMsg is a message of the daemon's watch.
func watchMsg(t *testing.T, typ, kind string, obj any) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"type": typ, "kind": kind, "object": obj})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// get -w prints the table, then a row per change that shows: not for the
// watch's first ADDED of what the table already shows, nor for a change
// of AGE or CPU alone; a deleted instance's row says Deleted.
func TestGet_WatchPrintsChangedRows(t *testing.T) {
	started := time.Now().Add(-3 * time.Hour)
	web := cliApp("web", 2, 1)
	in0, in1 := cliInstance("web", 0, started), cliInstance("web", 1, started)
	ready := cliApp("web", 2, 2)
	busy := in0
	busy.CPUPercent = 50
	stopping := in1
	stopping.Phase = v1alpha1.PhaseTerminating
	other := cliInstance("db", 0, started)
	api := &cliFakeAPI{apps: []v1alpha1.App{web}, instances: []v1alpha1.Instance{in0, in1}}
	api.watch = []string{
		watchMsg(t, "ADDED", "App", web),
		watchMsg(t, "ADDED", "Instance", in0),
		watchMsg(t, "ADDED", "Instance", in1),
		watchMsg(t, "MODIFIED", "Instance", busy),
		watchMsg(t, "MODIFIED", "Instance", other),
		watchMsg(t, "MODIFIED", "App", ready),
		watchMsg(t, "MODIFIED", "Instance", stopping),
		watchMsg(t, "DELETED", "Instance", stopping),
	}
	url := api.start(t)
	code, out, errOut := cliRun("get", "instances", "web", "-w", "--server", url)
	want := "NAME    PHASE     READY   PID    PORTS   RESTARTS   CPU    MEM   AGE\n" +
		"web-0   Running   true    1000   -       0          0.0%   3Mi   3h\n" +
		"web-1   Running   true    1001   -       0          0.0%   3Mi   3h\n" +
		"web-1   Terminating   true    1001   -       0          0.0%   3Mi   3h\n" +
		"web-1   Deleted       true    1001   -       0          0.0%   3Mi   3h\n"
	if out != want || code != 1 || !strings.Contains(errOut, "the daemon closed the watch") {
		t.Errorf("instances -w: code %d, stderr %q, stdout\n%s\nwant\n%s", code, errOut, out, want)
	}
	code, out, _ = cliRun("get", "apps", "-w", "--server", url)
	want = "NAME   READY   UP-TO-DATE   AVAILABLE   AGE\n" +
		"web    1/2     2            1           3h\n" +
		"web    2/2     2            2           3h\n"
	if out != want || code != 1 {
		t.Errorf("apps -w: code %d, stdout\n%s\nwant\n%s", code, out, want)
	}
}
