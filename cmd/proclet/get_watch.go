package main

import (
	"context"
	"fmt"
	"io"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/server/client"
)

// `get -w` prints the list, then opens the daemon's watch and prints a row
// each time an app or instance changes in what its row shows, as kubectl
// get -w does. The watch is opened after the list: its first ADDED events
// are the state since, and those equal to a printed row print nothing.
// Changes of the ever-moving cells alone (AGE, CPU, MEM, the time since
// the last exit) print nothing either.

// watchInstances prints a row per change of an instance (of app only when
// app is not ""). A deleted instance's last row shows Deleted as its phase.
func watchInstances(ctx context.Context, c *client.Client, app string, wide bool, t *client.Table, insts []v1alpha1.Instance, stdout io.Writer) error {
	st, err := client.NewStreamTable(stdout, t)
	if err != nil {
		return err
	}
	last := map[string]string{}
	for i := range insts {
		last[insts[i].Name] = instanceKey(&insts[i])
	}
	return watchEvents(ctx, c, func(ev client.Event) error {
		in := ev.Instance
		if in == nil || (app != "" && in.App != app) {
			return nil
		}
		key := instanceKey(in)
		if ev.Type == v1alpha1.WatchDeleted {
			key = "deleted"
		}
		if last[in.Name] == key {
			return nil
		}
		last[in.Name] = key
		row := instanceTable([]v1alpha1.Instance{*in}, wide).Rows[0]
		if ev.Type == v1alpha1.WatchDeleted {
			row[1] = "Deleted"
			delete(last, in.Name)
		}
		return st.Row(row)
	})
}

// watchApps prints a row per change of an app (of name only when name is
// not ""). Instance events keep AGE (the oldest instance's) up to date.
func watchApps(ctx context.Context, c *client.Client, name string, wide bool, t *client.Table, apps []v1alpha1.App, insts []v1alpha1.Instance, stdout io.Writer) error {
	st, err := client.NewStreamTable(stdout, t)
	if err != nil {
		return err
	}
	last := map[string]string{}
	for i := range apps {
		last[apps[i].Metadata.Name] = appKey(&apps[i])
	}
	byName := map[string]v1alpha1.Instance{}
	for _, in := range insts {
		byName[in.Name] = in
	}
	return watchEvents(ctx, c, func(ev client.Event) error {
		if in := ev.Instance; in != nil {
			if ev.Type == v1alpha1.WatchDeleted {
				delete(byName, in.Name)
			} else {
				byName[in.Name] = *in
			}
			return nil
		}
		a := ev.App
		if a == nil || (name != "" && a.Metadata.Name != name) {
			return nil
		}
		key := appKey(a)
		if ev.Type == v1alpha1.WatchDeleted {
			key = "deleted"
		}
		if last[a.Metadata.Name] == key {
			return nil
		}
		last[a.Metadata.Name] = key
		if ev.Type == v1alpha1.WatchDeleted {
			delete(last, a.Metadata.Name)
		}
		all := make([]v1alpha1.Instance, 0, len(byName))
		for _, in := range byName {
			all = append(all, in)
		}
		return st.Row(appTable([]v1alpha1.App{*a}, all, wide).Rows[0])
	})
}

// watchEvents opens the watch and hands each event to f until ctx ends
// (Ctrl-C: no error), the daemon closes it, or f fails.
func watchEvents(ctx context.Context, c *client.Client, f func(client.Event) error) error {
	w, err := c.Watch(ctx)
	if err != nil {
		return err
	}
	defer w.Close()
	for {
		ev, err := w.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if err := f(ev); err != nil {
			return err
		}
	}
}

// instanceKey is what an instance's row shows but the cells that move on
// their own.
func instanceKey(in *v1alpha1.Instance) string {
	return fmt.Sprintf("%s|%s|%t|%d|%d|%s|%s", in.Phase, in.Reason, in.Ready, in.PID, in.Restarts, in.Revision, client.InstancePorts(in))
}

// appKey is what an app's row shows but AGE.
func appKey(a *v1alpha1.App) string {
	var st v1alpha1.AppStatus
	if a.Status != nil {
		st = *a.Status
	}
	r := int32(-1)
	if a.Spec.Replicas != nil {
		r = *a.Spec.Replicas
	}
	return fmt.Sprintf("%d|%d|%d|%d|%d|%s|%s", r, st.ReadyReplicas, st.UpdatedReplicas, st.AvailableReplicas, st.Replicas, st.Revision, st.Source)
}
