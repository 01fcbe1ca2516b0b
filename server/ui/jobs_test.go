package ui

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The page shows Jobs and CronJobs from the watch, each card only when the
// daemon has some: the markup has both tables, hidden, and app.js files
// the watch's Job and CronJob events and renders them with view.js's rows.
func TestPage_HasJobAndCronJobCards(t *testing.T) {
	html := string(read("assets/index.html"))
	for _, id := range []string{"jobs-card", "cronjobs-card"} {
		if !regexp.MustCompile(`<section id="` + id + `" class="card" hidden>`).MatchString(html) {
			t.Errorf("index.html lacks a hidden section %s", id)
		}
	}
	for _, th := range []string{"<th>job</th>", "completions</th>", "<th>status</th>", "<th>last run</th>", "<th>cronjob</th>",
		"<th>schedule</th>", "<th>next</th>", "active</th>"} {
		if !strings.Contains(html, th) {
			t.Errorf("index.html lacks %s", th)
		}
	}
	js := string(read("assets/app.js"))
	for _, want := range []string{"ev.kind === 'Job'", "ev.kind === 'CronJob'", "jobRow(j)", "cronJobRow(c)", "Job: state.jobs", "CronJob: state.cronJobs"} {
		if !strings.Contains(js, want) {
			t.Errorf("app.js lacks %s", want)
		}
	}
}

// view.js's job cells, run by node on objects shaped as the API sends
// them (skipped without node: hack/e2e's browser test covers the page).
func TestView_JobCells(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("no node")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "view.mjs"), read("assets/view.js"), 0o644); err != nil {
		t.Fatal(err)
	}
	script := `
import { jobState, completions, lastRun, until } from './view.mjs';
const ago = (s) => new Date(Date.now() - s * 1000).toISOString();
const out = [
  jobState({ status: { conditions: [{ type: 'Complete', status: 'True' }] } }),
  jobState({ status: { conditions: [{ type: 'Failed', status: 'True', reason: 'DeadlineExceeded' }] } }),
  jobState({ status: { run: 2, startTime: ago(5), conditions: [], runs: [{ run: 2 }] } }),
  jobState({ status: { run: 1, conditions: [], runs: [{ run: 1, result: 'Failed', reason: 'BackoffLimitExceeded' }] } }),
  jobState({ spec: {} }),
  completions({ spec: { completions: 3 }, status: { succeeded: 1 } }),
  completions({ spec: {}, status: {} }),
  lastRun([{ name: 'report-29412345', result: 'Complete', finishedAt: ago(125) }, { name: 'report-29412340' }]),
  lastRun([]),
  until(new Date(Date.now() + 600500).toISOString()),
  until(ago(1)),
  until(undefined),
];
console.log(out.join('|'));
`
	cmd := exec.Command(node, "--input-type=module", "-e", script)
	cmd.Dir = dir
	got, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, got)
	}
	want := "Complete|Failed (DeadlineExceeded)|Running|Failed (BackoffLimitExceeded)|Pending|1/3|0/1|" +
		"report-29412345 Complete, 2m ago||in 10m|now|"
	if s := strings.TrimSpace(string(got)); s != want {
		t.Errorf("got  %s\nwant %s", s, want)
	}
}
