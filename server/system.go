package server

import (
	"context"
	"fmt"
	"net/http"
	"os"
	goruntime "runtime"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/host"
	"github.com/shirou/gopsutil/v4/load"
	"github.com/shirou/gopsutil/v4/mem"
	"github.com/shirou/gopsutil/v4/process"
)

// systemInfo is the answer of GET /api/v1/system.
type systemInfo struct {
	Host   hostInfo   `json:"host"`
	Daemon daemonInfo `json:"daemon"`
}

type hostInfo struct {
	Hostname      string      `json:"hostname"`
	CPUs          int         `json:"cpus"`
	Load          loadAverage `json:"load"`
	Memory        memoryInfo  `json:"memory"`
	UptimeSeconds uint64      `json:"uptimeSeconds"`
}

type loadAverage struct {
	Load1  float64 `json:"load1"`
	Load5  float64 `json:"load5"`
	Load15 float64 `json:"load15"`
}

type memoryInfo struct {
	TotalBytes     uint64 `json:"totalBytes"`
	AvailableBytes uint64 `json:"availableBytes"`
}

type daemonInfo struct {
	Version       string    `json:"version"`
	PID           int       `json:"pid"`
	Goroutines    int       `json:"goroutines"`
	RSSBytes      uint64    `json:"rssBytes"`
	StartedAt     time.Time `json:"startedAt"`
	UptimeSeconds float64   `json:"uptimeSeconds"`
	// ManifestsError is why the manifests directory cannot be read now.
	ManifestsError string `json:"manifestsError,omitempty"`
}

// system serves GET /api/v1/system: the host and the daemon itself.
func (s *Server) system(w http.ResponseWriter, r *http.Request) {
	info, err := s.systemInfo(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}

func (s *Server) systemInfo(ctx context.Context) (systemInfo, error) {
	var info systemInfo
	var err error
	if info.Host.CPUs, err = cpu.CountsWithContext(ctx, true); err != nil {
		return info, fmt.Errorf("count cpus: %w", err)
	}
	avg, err := load.AvgWithContext(ctx)
	if err != nil {
		return info, fmt.Errorf("load average: %w", err)
	}
	info.Host.Load = loadAverage{Load1: avg.Load1, Load5: avg.Load5, Load15: avg.Load15}
	vm, err := mem.VirtualMemoryWithContext(ctx)
	if err != nil {
		return info, fmt.Errorf("memory: %w", err)
	}
	info.Host.Memory = memoryInfo{TotalBytes: vm.Total, AvailableBytes: vm.Available}
	if info.Host.UptimeSeconds, err = host.UptimeWithContext(ctx); err != nil {
		return info, fmt.Errorf("uptime: %w", err)
	}
	info.Host.Hostname, _ = os.Hostname()

	pid := os.Getpid()
	p, err := process.NewProcessWithContext(ctx, int32(pid))
	if err != nil {
		return info, fmt.Errorf("own process: %w", err)
	}
	mi, err := p.MemoryInfoWithContext(ctx)
	if err != nil {
		return info, fmt.Errorf("own memory: %w", err)
	}
	created, err := p.CreateTimeWithContext(ctx)
	if err != nil {
		return info, fmt.Errorf("own start time: %w", err)
	}
	started := time.UnixMilli(created).UTC()
	info.Daemon = daemonInfo{
		Version:        s.version,
		PID:            pid,
		Goroutines:     goruntime.NumGoroutine(),
		RSSBytes:       mi.RSS,
		StartedAt:      started,
		UptimeSeconds:  time.Since(started).Round(time.Millisecond).Seconds(),
		ManifestsError: s.status.SourceError(),
	}
	return info, nil
}
