package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/server/client"
)

// `get jobs` and `get cronjobs` are `get apps` for the two run-to-completion
// kinds: the API's objects with -o json|yaml, KIND/NAME with -o name, a
// kubectl-like table otherwise, a row per change with -w, one table with a
// NODE column with --servers.

// instancesOf are the instances of the app, Job or CronJob name (of every
// one when name is ""): a daemon lists a Job's under its name, and answers
// for it under the jobs' and cronjobs' paths too.
func instancesOf(ctx context.Context, c *client.Client, name string) ([]v1alpha1.Instance, error) {
	insts, err := c.Instances(ctx, name)
	if name == "" || !client.IsNotFound(err) {
		return insts, err
	}
	for _, kind := range []string{v1alpha1.KindJob, v1alpha1.KindCronJob} {
		if in, jerr := c.JobInstances(ctx, kind, name); jerr == nil {
			return in, nil
		}
	}
	return nil, err
}

func getJobs(ctx context.Context, c *client.Client, output string, o getOptions, stdout, stderr io.Writer) error {
	var (
		jobs []v1alpha1.Job
		obj  any
	)
	if o.name != "" {
		j, err := c.Job(ctx, o.name)
		if err != nil {
			return err
		}
		jobs, obj = []v1alpha1.Job{j}, j
	} else {
		var err error
		if jobs, err = c.Jobs(ctx); err != nil {
			return err
		}
		obj = itemList[v1alpha1.Job]{Items: nonNil(jobs)}
	}
	switch output {
	case "json", "yaml":
		return printOut(stdout, output, obj, nil)
	case "name":
		_, err := io.WriteString(stdout, client.Names("job", jobNames(jobs)))
		return err
	}
	if len(jobs) == 0 && !o.watch {
		fmt.Fprintln(stderr, "No jobs found.")
		return nil
	}
	t := jobTable(jobs, output == "wide")
	if o.watch {
		return watchObjects(ctx, c, t, stdout, jobRows(jobs, o.name, output == "wide"))
	}
	return printOut(stdout, "", nil, t)
}

func getCronJobs(ctx context.Context, c *client.Client, output string, o getOptions, stdout, stderr io.Writer) error {
	var (
		cjs []v1alpha1.CronJob
		obj any
	)
	if o.name != "" {
		cj, err := c.CronJob(ctx, o.name)
		if err != nil {
			return err
		}
		cjs, obj = []v1alpha1.CronJob{cj}, cj
	} else {
		var err error
		if cjs, err = c.CronJobs(ctx); err != nil {
			return err
		}
		obj = itemList[v1alpha1.CronJob]{Items: nonNil(cjs)}
	}
	switch output {
	case "json", "yaml":
		return printOut(stdout, output, obj, nil)
	case "name":
		_, err := io.WriteString(stdout, client.Names("cronjob", cronJobNames(cjs)))
		return err
	}
	if len(cjs) == 0 && !o.watch {
		fmt.Fprintln(stderr, "No cronjobs found.")
		return nil
	}
	t := cronJobTable(cjs, output == "wide")
	if o.watch {
		return watchObjects(ctx, c, t, stdout, cronJobRows(cjs, o.name, output == "wide"))
	}
	return printOut(stdout, "", nil, t)
}

// rowWatch turns the watch's events of one kind into rows: row returns
// the object's name and row, ok false for an event of another kind or
// object.
type rowWatch struct {
	last map[string]string // name -> the row last printed, joined
	row  func(ev client.Event) (name string, row []string, ok bool)
	// gone is the column that says Deleted in a deleted object's last row.
	gone int
}

// watchObjects prints t, then a row each time an object's row changes in
// more than its ages (DURATION, AGE, LAST SCHEDULE, NEXT move on their
// own: a row that differs only there is not printed). A deleted object's
// last row says Deleted in its STATUS column (a Job's) or NEXT (a
// CronJob's).
func watchObjects(ctx context.Context, c *client.Client, t *client.Table, stdout io.Writer, rw rowWatch) error {
	st, err := client.NewStreamTable(stdout, t)
	if err != nil {
		return err
	}
	return watchEvents(ctx, c, func(ev client.Event) error {
		name, row, ok := rw.row(ev)
		if !ok {
			return nil
		}
		key := rowKey(t.Header, row)
		if ev.Type == v1alpha1.WatchDeleted {
			key = "deleted"
			row[rw.gone] = "Deleted"
		}
		if rw.last[name] == key {
			return nil
		}
		rw.last[name] = key
		if ev.Type == v1alpha1.WatchDeleted {
			delete(rw.last, name)
		}
		return st.Row(row)
	})
}

// movingColumns are the cells that change with the clock alone.
var movingColumns = map[string]bool{"DURATION": true, "AGE": true, "LAST SCHEDULE": true, "NEXT": true, "LAST SUCCESS": true}

// rowKey is a row without its moving cells.
func rowKey(header, row []string) string {
	var b strings.Builder
	for i, cell := range row {
		if i < len(header) && movingColumns[header[i]] {
			continue
		}
		b.WriteString(cell + "\x00")
	}
	return b.String()
}

func jobRows(jobs []v1alpha1.Job, name string, wide bool) rowWatch {
	rw := rowWatch{last: map[string]string{}, gone: 4}
	t := jobTable(jobs, wide)
	for i := range jobs {
		rw.last[jobs[i].Metadata.Name] = rowKey(t.Header, t.Rows[i])
	}
	rw.row = func(ev client.Event) (string, []string, bool) {
		j := ev.Job
		if j == nil || (name != "" && j.Metadata.Name != name) {
			return "", nil, false
		}
		return j.Metadata.Name, jobTable([]v1alpha1.Job{*j}, wide).Rows[0], true
	}
	return rw
}

func cronJobRows(cjs []v1alpha1.CronJob, name string, wide bool) rowWatch {
	rw := rowWatch{last: map[string]string{}, gone: 6}
	t := cronJobTable(cjs, wide)
	for i := range cjs {
		rw.last[cjs[i].Metadata.Name] = rowKey(t.Header, t.Rows[i])
	}
	rw.row = func(ev client.Event) (string, []string, bool) {
		c := ev.CronJob
		if c == nil || (name != "" && c.Metadata.Name != name) {
			return "", nil, false
		}
		return c.Metadata.Name, cronJobTable([]v1alpha1.CronJob{*c}, wide).Rows[0], true
	}
	return rw
}

func jobTable(jobs []v1alpha1.Job, wide bool) *client.Table {
	if wide {
		return client.JobTableWide(jobs, time.Now())
	}
	return client.JobTable(jobs, time.Now())
}

func cronJobTable(cjs []v1alpha1.CronJob, wide bool) *client.Table {
	if wide {
		return client.CronJobTableWide(cjs, time.Now())
	}
	return client.CronJobTable(cjs, time.Now())
}

func jobNames(jobs []v1alpha1.Job) []string {
	out := make([]string, len(jobs))
	for i := range jobs {
		out[i] = jobs[i].Metadata.Name
	}
	return out
}

func cronJobNames(cjs []v1alpha1.CronJob) []string {
	out := make([]string, len(cjs))
	for i := range cjs {
		out[i] = cjs[i].Metadata.Name
	}
	return out
}

// hostJobs is one daemon's Jobs (or Job name; none when it has no such
// Job), for `get jobs --servers`.
func hostJobs(ctx context.Context, c *client.Client, name string, wide bool) (hostList, error) {
	var jobs []v1alpha1.Job
	if name != "" {
		j, err := c.Job(ctx, name)
		if client.IsNotFound(err) {
			return hostList{}, nil
		}
		if err != nil {
			return hostList{}, err
		}
		jobs = []v1alpha1.Job{j}
	} else {
		var err error
		if jobs, err = c.Jobs(ctx); err != nil {
			return hostList{}, err
		}
	}
	l := hostList{names: prefixed("job/", jobNames(jobs)), table: jobTable(jobs, wide)}
	for _, j := range jobs {
		l.items = append(l.items, j)
	}
	return l, nil
}

// hostCronJobs is one daemon's CronJobs (or CronJob name), for `get
// cronjobs --servers`.
func hostCronJobs(ctx context.Context, c *client.Client, name string, wide bool) (hostList, error) {
	var cjs []v1alpha1.CronJob
	if name != "" {
		cj, err := c.CronJob(ctx, name)
		if client.IsNotFound(err) {
			return hostList{}, nil
		}
		if err != nil {
			return hostList{}, err
		}
		cjs = []v1alpha1.CronJob{cj}
	} else {
		var err error
		if cjs, err = c.CronJobs(ctx); err != nil {
			return hostList{}, err
		}
	}
	l := hostList{names: prefixed("cronjob/", cronJobNames(cjs)), table: cronJobTable(cjs, wide)}
	for _, cj := range cjs {
		l.items = append(l.items, cj)
	}
	return l, nil
}
