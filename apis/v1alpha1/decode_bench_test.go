package v1alpha1

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the CPU time the process has used (every thread, the
// garbage collector's too): on a shared machine a benchmark's wall time
// measures the neighbours; report it per op with reportCPU.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the CPU time per op since start.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// BenchmarkDecode1000Files decodes 1000 manifest files, one app each, the
// way the watchers read a directory of 1000 apps on every scan: parse,
// default and validate. Per op is the whole directory; divide by 1000 for
// one file.
func BenchmarkDecode1000Files(b *testing.B) {
	minimal := func(i int) string {
		return fmt.Sprintf(`apiVersion: proclet.dev/v1alpha1
kind: App
metadata:
  name: app-%d
spec:
  command: ["/srv/bin/workload", "--mark-start", "/tmp/marks", "app-%d"]
  terminationGracePeriodSeconds: 5
`, i, i)
	}
	full, err := os.ReadFile(filepath.Join("testdata", "full.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	toml, err := os.ReadFile(filepath.Join("testdata", "app.toml"))
	if err != nil {
		b.Fatal(err)
	}
	cases := []struct {
		name, ext string
		file      func(i int) string
	}{
		{"minimal-yaml", ".yaml", minimal},
		{"full-yaml", ".yaml", func(i int) string {
			return strings.Replace(string(full), "name: web", fmt.Sprintf("name: web-%d", i), 1)
		}},
		{"toml", ".toml", func(i int) string {
			return strings.Replace(string(toml), `name = "api"`, fmt.Sprintf(`name = "api-%d"`, i), 1)
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			paths := make([]string, 1000)
			files := make([][]byte, 1000)
			size := 0
			for i := range files {
				paths[i] = fmt.Sprintf("apps/app-%d%s", i, c.ext)
				files[i] = []byte(c.file(i))
				size += len(files[i])
			}
			for i := range files {
				if _, err := DecodeFile(paths[i], files[i]); err != nil {
					b.Fatalf("%s: %v", paths[i], err)
				}
			}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				for i := range files {
					if _, err := DecodeFile(paths[i], files[i]); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// BenchmarkDecodeOneFile1000Docs decodes one multi-document file of 1000
// apps, as a deploy tool writes them (and hack/bench's "first instance
// live" at N = 1000 renames in): nothing of the file applies before all
// of it is decoded and valid, so this is on the path to the first start.
func BenchmarkDecodeOneFile1000Docs(b *testing.B) {
	var sb strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&sb, `---
apiVersion: proclet.dev/v1alpha1
kind: App
metadata:
  name: app-%d
spec:
  command: ["/srv/bin/workload", "--mark-start", "/tmp/marks", "app-%d"]
  terminationGracePeriodSeconds: 5
`, i, i)
	}
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		apps, err := DecodeFile("bench.yaml", data)
		if err != nil || len(apps) != 1000 {
			b.Fatal(len(apps), err)
		}
	}
	reportCPU(b, start)
}

// BenchmarkRevision1000 hashes the revisions of 1000 minimal apps, as
// Replace does for the apps of a new 1000-app file.
func BenchmarkRevision1000(b *testing.B) {
	apps := make([]App, 1000)
	for i := range apps {
		apps[i] = App{Kind: KindApp, Metadata: ObjectMeta{Name: fmt.Sprintf("app-%d", i)}, Spec: AppSpec{
			Command:                       []string{"/srv/bin/workload", "--mark-start", "/tmp/marks", fmt.Sprintf("app-%d", i)},
			TerminationGracePeriodSeconds: ptr(int64(5)),
		}}
	}
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		for i := range apps {
			AppRevision(&apps[i], "")
		}
	}
	reportCPU(b, start)
}
