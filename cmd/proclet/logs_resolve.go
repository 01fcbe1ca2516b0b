package main

import (
	"context"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/server/client"
)

// findInstance finds the instance called name among every app's, for
// `proclet logs web-1`: an app of that name comes first (the caller asked
// for it), so this is asked only once no app is called name.
func findInstance(ctx context.Context, c *client.Client, name string) (v1alpha1.Instance, bool) {
	all, err := c.Instances(ctx, "")
	if err != nil {
		return v1alpha1.Instance{}, false
	}
	for _, in := range all {
		if in.Name == name {
			return in, true
		}
	}
	return v1alpha1.Instance{}, false
}
