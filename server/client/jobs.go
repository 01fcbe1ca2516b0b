package client

import (
	"context"
	"net/url"

	"proclet.dev/proclet/apis/v1alpha1"
)

// Jobs returns every Job with its status (GET /api/v1/jobs).
func (c *Client) Jobs(ctx context.Context) ([]v1alpha1.Job, error) {
	var l itemList[v1alpha1.Job]
	err := c.getJSON(ctx, "/api/v1/jobs", nil, &l)
	return l.Items, err
}

// Job returns one Job (GET /api/v1/jobs/{job}); a missing one is an
// *APIError that IsNotFound.
func (c *Client) Job(ctx context.Context, name string) (v1alpha1.Job, error) {
	var j v1alpha1.Job
	err := c.getJSON(ctx, "/api/v1/jobs/"+url.PathEscape(name), nil, &j)
	return j, err
}

// CronJobs returns every CronJob with its status (GET /api/v1/cronjobs).
func (c *Client) CronJobs(ctx context.Context) ([]v1alpha1.CronJob, error) {
	var l itemList[v1alpha1.CronJob]
	err := c.getJSON(ctx, "/api/v1/cronjobs", nil, &l)
	return l.Items, err
}

// CronJob returns one CronJob (GET /api/v1/cronjobs/{cronjob}); a missing
// one is an *APIError that IsNotFound.
func (c *Client) CronJob(ctx context.Context, name string) (v1alpha1.CronJob, error) {
	var cj v1alpha1.CronJob
	err := c.getJSON(ctx, "/api/v1/cronjobs/"+url.PathEscape(name), nil, &cj)
	return cj, err
}

// JobInstances returns the instances of every run kept of a Job (kind
// v1alpha1.KindJob) or a CronJob (v1alpha1.KindCronJob): GET
// /api/v1/jobs/{job}/instances or /api/v1/cronjobs/{cronjob}/instances.
func (c *Client) JobInstances(ctx context.Context, kind, name string) ([]v1alpha1.Instance, error) {
	var l itemList[v1alpha1.Instance]
	err := c.getJSON(ctx, jobPath(kind, name)+"/instances", nil, &l)
	return l.Items, err
}

// jobPath is the API path of a Job or CronJob.
func jobPath(kind, name string) string {
	if kind == v1alpha1.KindCronJob {
		return "/api/v1/cronjobs/" + url.PathEscape(name)
	}
	return "/api/v1/jobs/" + url.PathEscape(name)
}
