package client

import (
	"fmt"
	"strings"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// AppTableWide is `proclet get apps -o wide`: AppTable's columns, then
// REVISION (status.revision), PORTS (the spec's named ports), SOURCE (the
// manifest file) and COMMAND, as kubectl's wide adds CONTAINERS and IMAGES.
func AppTableWide(apps []v1alpha1.App, instances []v1alpha1.Instance, now time.Time) *Table {
	t := AppTable(apps, instances, now)
	t.Header = append(t.Header, "REVISION", "PORTS", "SOURCE", "COMMAND")
	for i := range apps {
		a := &apps[i]
		var st v1alpha1.AppStatus
		if a.Status != nil {
			st = *a.Status
		}
		t.Rows[i] = append(t.Rows[i], orNone(st.Revision), specPorts(a.Spec.Ports), orNone(st.Source), orNone(shellJoin(a.Spec.Command)))
	}
	return t
}

// InstanceTableWide is `proclet get instances -o wide`: InstanceTable's
// columns, then REVISION, LAST-EXIT (code or signal and reason, with its
// age) and NEXT-START (when a backoff ends). The host is always this one,
// so there is no NODE column.
func InstanceTableWide(instances []v1alpha1.Instance, now time.Time) *Table {
	t := InstanceTable(instances, now)
	t.Header = append(t.Header, "REVISION", "LAST-EXIT", "NEXT-START")
	for i := range instances {
		in := &instances[i]
		next := none
		if in.NextStartAt != nil && in.NextStartAt.After(now) {
			next = "in " + Age(&now, *in.NextStartAt)
		}
		t.Rows[i] = append(t.Rows[i], orNone(in.Revision), lastExit(in.LastExit, now), next)
	}
	return t
}

// ManifestTable is `proclet get manifests`: FILE STATE APPS PROBLEM, one
// row per file the daemon read. STATE is Applied, or the problem's reason
// (Invalid, DuplicateName, Unreadable, PortConflict); PROBLEM is
// FILE:LINE: FIELD: MESSAGE.
func ManifestTable(files []v1alpha1.FileStatus) *Table {
	t := &Table{Header: []string{"FILE", "STATE", "APPS", "PROBLEM"}}
	for _, f := range files {
		state, problem := "Applied", none
		if f.Error != nil {
			state, problem = orNone(f.Error.Reason), f.Error.Error()
		}
		t.Append(f.Path, state, orNone(strings.Join(f.Objects, ",")), problem)
	}
	return t
}

// Names is `-o name`: KIND/NAME per object, as kubectl prints them.
func Names(kind string, names []string) string {
	var b strings.Builder
	for _, n := range names {
		b.WriteString(kind + "/" + n + "\n")
	}
	return b.String()
}

func specPorts(ports []v1alpha1.PortSpec) string {
	if len(ports) == 0 {
		return none
	}
	parts := make([]string, len(ports))
	for i, p := range ports {
		switch {
		case p.Port != 0:
			parts[i] = fmt.Sprintf("%s:%d", p.Name, p.Port)
		case p.Range != "":
			parts[i] = p.Name + ":" + p.Range
		default:
			parts[i] = p.Name
		}
	}
	return strings.Join(parts, ",")
}

func lastExit(e *v1alpha1.ExitStatus, now time.Time) string {
	if e == nil {
		return none
	}
	what := fmt.Sprintf("%d", e.Code)
	if e.Signal != "" {
		what = e.Signal
	}
	if e.Reason != "" {
		what += " (" + e.Reason + ")"
	}
	if !e.At.IsZero() {
		what += " " + Age(&e.At, now) + " ago"
	}
	return what
}
