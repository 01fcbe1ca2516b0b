package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// apiClient reads the daemon's REST API, every request bounded.
type apiClient struct {
	http *http.Client
}

func newAPIClient() *apiClient {
	return &apiClient{http: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}}
}

func (c *apiClient) get(ctx context.Context, base, path string, v any) error {
	if base == "" {
		return fmt.Errorf("get %s: no daemon", path)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		return fmt.Errorf("get %s: %w", path, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("get %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("get %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("get %s: %s: %s", path, resp.Status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("get %s: %w", path, err)
	}
	return nil
}

// apiState is what the daemon reports at one moment: every app, every
// instance, every manifest file.
type apiState struct {
	apps      []v1alpha1.App
	instances []v1alpha1.Instance
	files     []v1alpha1.FileStatus
	jobs      []v1alpha1.Job
	cronJobs  []v1alpha1.CronJob
	readAt    time.Time // when the reading began
}

// isJob reports whether name is a Job or a CronJob of s.
func (s apiState) isJob(name string) bool {
	return slices.ContainsFunc(s.jobs, func(j v1alpha1.Job) bool { return j.Metadata.Name == name }) ||
		slices.ContainsFunc(s.cronJobs, func(c v1alpha1.CronJob) bool { return c.Metadata.Name == name })
}

// state reads apps, instances, manifests, jobs and cronjobs (five
// requests: they may disagree by a reconcile, which the checks tolerate by
// polling).
func (c *apiClient) state(ctx context.Context, base string) (apiState, error) {
	s := apiState{readAt: time.Now()}
	var apps struct {
		Items []v1alpha1.App `json:"items"`
	}
	if err := c.get(ctx, base, "/api/v1/apps", &apps); err != nil {
		return s, err
	}
	insts, err := c.instances(ctx, base)
	if err != nil {
		return s, err
	}
	var files struct {
		Items []v1alpha1.FileStatus `json:"items"`
	}
	if err := c.get(ctx, base, "/api/v1/manifests", &files); err != nil {
		return s, err
	}
	var jobs struct {
		Items []v1alpha1.Job `json:"items"`
	}
	if err := c.get(ctx, base, "/api/v1/jobs", &jobs); err != nil {
		return s, err
	}
	var crons struct {
		Items []v1alpha1.CronJob `json:"items"`
	}
	if err := c.get(ctx, base, "/api/v1/cronjobs", &crons); err != nil {
		return s, err
	}
	s.apps, s.instances, s.files, s.jobs, s.cronJobs = apps.Items, insts, files.Items, jobs.Items, crons.Items
	return s, nil
}

// instances reads every instance.
func (c *apiClient) instances(ctx context.Context, base string) ([]v1alpha1.Instance, error) {
	var l struct {
		Items []v1alpha1.Instance `json:"items"`
	}
	if err := c.get(ctx, base, "/api/v1/instances", &l); err != nil {
		return nil, err
	}
	return l.Items, nil
}
