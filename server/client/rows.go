package client

import (
	"fmt"
	"strconv"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// AppTable is `proclet get apps`: NAME READY UP-TO-DATE AVAILABLE AGE.
// READY is readyReplicas/spec.replicas, or NotScheduled for an app whose
// nodeSelector does not match the daemon's node (status.state). proclet keeps no creation time, so
// AGE is the age of the app's oldest instance that has a start time
// (instances of every app may be passed; others are ignored), or "-".
func AppTable(apps []v1alpha1.App, instances []v1alpha1.Instance, now time.Time) *Table {
	oldest := map[string]time.Time{}
	for _, in := range instances {
		if in.StartedAt == nil || in.StartedAt.IsZero() {
			continue
		}
		if t, ok := oldest[in.App]; !ok || in.StartedAt.Before(t) {
			oldest[in.App] = *in.StartedAt
		}
	}
	t := &Table{Header: []string{"NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"}}
	for i := range apps {
		a := &apps[i]
		var st v1alpha1.AppStatus
		if a.Status != nil {
			st = *a.Status
		}
		age := none
		if c := a.Metadata.CreationTimestamp; !c.IsZero() {
			age = Age(&c, now) // the app's, as kubectl's AGE
		} else if o, ok := oldest[a.Metadata.Name]; ok {
			age = Age(&o, now) // a daemon that keeps no creation time
		}
		ready := fmt.Sprintf("%d/%d", st.ReadyReplicas, desiredReplicas(a))
		if st.State == v1alpha1.AppNotScheduled {
			ready = string(st.State)
		}
		t.Append(a.Metadata.Name, ready,
			strconv.Itoa(int(st.UpdatedReplicas)),
			strconv.Itoa(int(st.AvailableReplicas)),
			age)
	}
	return t
}

// InstanceTable is `proclet get instances`:
// NAME PHASE READY PID PORTS RESTARTS CPU MEM AGE.
func InstanceTable(instances []v1alpha1.Instance, now time.Time) *Table {
	t := &Table{Header: []string{"NAME", "PHASE", "READY", "PID", "PORTS", "RESTARTS", "CPU", "MEM", "AGE"}}
	for i := range instances {
		in := &instances[i]
		pid, cpu, mem, age := none, none, none, none
		if running(in) {
			pid = strconv.Itoa(in.PID)
			cpu = CPUPercent(in.CPUPercent)
			mem = Bytes(in.MemoryBytes)
			age = Age(in.StartedAt, now)
		}
		t.Append(in.Name, InstancePhase(in), strconv.FormatBool(in.Ready), pid,
			InstancePorts(in), Restarts(in, now), cpu, mem, age)
	}
	return t
}

// ConditionTable lists an app's conditions: TYPE STATUS REASON AGE MESSAGE,
// AGE being the time since the last transition.
func ConditionTable(conds []v1alpha1.Condition, now time.Time) *Table {
	t := &Table{Header: []string{"TYPE", "STATUS", "REASON", "AGE", "MESSAGE"}}
	for _, c := range conds {
		t.Append(c.Type, string(c.Status), orNone(c.Reason), Age(&c.LastTransitionTime, now), orNone(c.Message))
	}
	return t
}

// EventTable lists events as given (the API sends the newest first):
// AGE TYPE REASON OBJECT MESSAGE.
func EventTable(events []v1alpha1.Event, now time.Time) *Table {
	t := &Table{Header: []string{"AGE", "TYPE", "REASON", "OBJECT", "MESSAGE"}}
	for _, e := range events {
		t.Append(Age(&e.Time, now), e.Type, e.Reason, e.Object, e.Message)
	}
	return t
}

// desiredReplicas is spec.replicas with the default applied.
func desiredReplicas(a *v1alpha1.App) int32 {
	if a.Spec.Replicas == nil {
		return v1alpha1.DefaultReplicas
	}
	return *a.Spec.Replicas
}

func orNone(s string) string {
	if s == "" {
		return none
	}
	return s
}
