package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// complete asks for the completions of args (the last one being typed),
// as the shell scripts do through cobra's __complete.
func complete(t *testing.T, args ...string) (names []string, directive string) {
	t.Helper()
	code, out, errOut := cliRun("__complete", args...)
	if code != 0 {
		t.Fatalf("__complete %q: code %d, stderr %q", args, code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	return lines[:len(lines)-1], lines[len(lines)-1]
}

func TestCompletion_NamesFromTheDaemon(t *testing.T) {
	now := time.Now()
	api := &cliFakeAPI{
		apps: []v1alpha1.App{cliApp("web", 2, 2), cliApp("workers", 1, 1), cliApp("db", 1, 1)},
		instances: []v1alpha1.Instance{cliInstance("web", 0, now), cliInstance("web", 1, now),
			cliInstance("workers", 0, now), cliInstance("db", 0, now)},
		manifests: []v1alpha1.FileStatus{{Path: "web.yaml"}, {Path: "db.yaml"}},
	}
	url := api.start(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"logs", "--server", url, "w"}, "web web-0 web-1 workers workers-0"},
		{[]string{"logs", "--server", url, "web/"}, "web/web-0 web/web-1"},
		{[]string{"describe", "--server", url, ""}, "db web workers"},
		{[]string{"describe", "--server", url, "web", ""}, ""},
		{[]string{"get", ""}, "apps instances jobs cronjobs manifests events"},
		{[]string{"get", "--server", url, "instances", "d"}, "db"},
		{[]string{"get", "--server", url, "manifests", ""}, "web.yaml db.yaml"},
		{[]string{"get", "events", "--server", url, "--for", "wo"}, "workers"},
		{[]string{"get", "apps", "-o", ""}, "wide json yaml name"},
		{[]string{"rollout", "status", "--server", url, "we"}, "web"},
	} {
		names, directive := complete(t, tc.args...)
		if got := strings.Join(names, " "); got != tc.want || directive != ":4" {
			t.Errorf("%q: %q %s, want %q :4 (no files)", tc.args, got, directive, tc.want)
		}
	}
}

// Without a daemon, completion offers nothing, quickly, and says nothing.
func TestCompletion_NoDaemonIsSilentAndFast(t *testing.T) {
	dead := deadServer(t)
	start := time.Now()
	names, directive := complete(t, "logs", "--server", dead, "w")
	if len(names) != 0 || directive != ":4" || time.Since(start) > completionTimeout+time.Second {
		t.Errorf("%q %s after %s", names, directive, time.Since(start))
	}
	t.Setenv("PROCLET_SERVER", dead)
	if code, out, errOut := cliRun("__complete", "describe", ""); code != 0 || out != ":4\n" || strings.Contains(errOut, "cannot reach") {
		t.Errorf("describe: code %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// A daemon that accepts but never answers costs the shell completionTimeout.
func TestCompletion_HangingDaemonIsBounded(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	start := time.Now()
	names, directive := complete(t, "describe", "--server", srv.URL, "")
	if took := time.Since(start); len(names) != 0 || directive != ":4" || took < completionTimeout || took > completionTimeout+2*time.Second {
		t.Errorf("%q %s after %s, want nothing after about %s", names, directive, took, completionTimeout)
	}
}

func TestCompletion_Scripts(t *testing.T) {
	for shell, want := range map[string]string{
		"bash":       "__start_proclet",
		"zsh":        "#compdef proclet",
		"fish":       "complete -c proclet",
		"powershell": "Register-ArgumentCompleter",
	} {
		code, out, errOut := cliRun("completion", shell)
		if code != 0 || errOut != "" || !strings.Contains(out, want) {
			t.Errorf("completion %s: code %d, stderr %q, %d bytes without %q", shell, code, errOut, len(out), want)
		}
	}
}
