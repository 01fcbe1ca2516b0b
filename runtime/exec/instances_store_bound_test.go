//go:build linux

package exec

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// TestInstancesFileHeadroom: instances.json for 5000 instances of an app
// that sets every field of the schema (testdata/full.yaml, defaults
// applied) fits 4 times in maxInstancesFile, so the bound refuses only a
// file no daemon wrote.
func TestInstancesFileHeadroom(t *testing.T) {
	data, err := os.ReadFile("../../apis/v1alpha1/testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	apps, err := v1alpha1.DecodeFile("full.yaml", data)
	if err != nil || len(apps) == 0 {
		t.Fatalf("decode: %v", err)
	}
	v1alpha1.Default(&apps[0])
	spec := &apps[0].Spec
	const n = 5000
	f := instancesFile{Version: instancesVersion}
	at := time.Date(2026, 12, 7, 14, 0, 0, 123456789, time.UTC)
	for i := range n {
		f.Instances = append(f.Instances, instanceRecord{
			UID: fmt.Sprintf("%032x", i), App: apps[0].Metadata.Name, Instance: fmt.Sprintf("%s-%d", apps[0].Metadata.Name, i),
			Ordinal: i, Revision: "7d9f8c6b5a", Spec: spec, Dir: "/srv/manifests/team-a/services",
			Ports: map[string]int32{"http": 31000, "metrics": 32000}, PID: 4000000 + i, StartTicks: 123456789,
			StartedAt: at, Probe: probeRecord{Started: true, Ready: true, ReadySince: at},
		})
	}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("instances.json: %d bytes for %d instances, %d per instance; bound %d", len(b), n, len(b)/n, maxInstancesFile)
	if len(b)*4 > maxInstancesFile {
		t.Fatalf("%d bytes for %d instances: less than 4 times under the bound of %d", len(b), n, maxInstancesFile)
	}
}
