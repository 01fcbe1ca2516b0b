//go:build linux

package exec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// encodeLocked and writeRecords give what json.Marshal of the file gives, and follows
// every change of a record although it reuses the encodings of the
// unchanged ones.
func TestEncodeInstances_SameAsMarshalAndFollowsChanges(t *testing.T) {
	spec := &v1alpha1.AppSpec{Command: []string{"/bin/sleep", "<&>"}, Env: []v1alpha1.EnvVar{{Name: "A", Value: "b"}}}
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	var records []handleRecord
	for i := range 3 {
		records = append(records, handleRecord{h: &handle{}, rec: instanceRecord{
			UID: fmt.Sprintf("u%d", i), App: "web", Instance: fmt.Sprintf("web-%d", i), Ordinal: i, Revision: "r1",
			Spec: spec, Dir: "/srv", Ports: map[string]int32{"http": int32(8000 + i)}, PID: 100 + i, StartTicks: 7,
			StartedAt: t0, Probe: probeRecord{Started: true},
		}})
	}
	s := newInstanceStore(t.TempDir())
	check := func(step string) {
		t.Helper()
		order := sortRecords(records, nil)
		if err := s.encodeLocked(order); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := writeRecords(&buf, order); err != nil {
			t.Fatal(err)
		}
		got := buf.Bytes()
		f := instancesFile{Version: instancesVersion, Instances: []instanceRecord{}}
		for _, hr := range records {
			f.Instances = append(f.Instances, hr.rec)
		}
		want, _ := json.Marshal(f)
		if string(got) != string(want)+"\n" {
			t.Fatalf("%s: encodeInstances =\n%s\nwant\n%s", step, got, want)
		}
	}
	check("first")
	check("unchanged")
	changes := []struct {
		name   string
		change func(r *instanceRecord)
	}{
		{"ready", func(r *instanceRecord) { r.Probe.Ready, r.Probe.ReadySince = true, t0.Add(time.Second) }},
		{"exited", func(r *instanceRecord) { r.Exit = &v1alpha1.ExitStatus{Code: 1, Reason: "Error", At: t0} }},
		{"exit changed in place of a copy", func(r *instanceRecord) { x := *r.Exit; x.Code = 2; r.Exit = &x }},
		{"restarted", func(r *instanceRecord) { r.PID, r.StartedAt, r.Exit = 999, t0.Add(time.Minute), nil }},
		{"new ports map", func(r *instanceRecord) { r.Ports = map[string]int32{"http": 9000} }},
		{"new spec", func(r *instanceRecord) { r.Spec = &v1alpha1.AppSpec{Command: []string{"/bin/true"}} }},
	}
	for _, c := range changes {
		c.change(&records[1].rec)
		check(c.name)
	}
	records = records[:0]
	check("empty")
	if len(s.encoded) != 0 {
		t.Errorf("the store keeps %d encodings of handles no longer recorded", len(s.encoded))
	}
}
