package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestFleet_ThreeHostsFollowTheirRings runs three daemons on 127.0.0.1,
// .2 and .3, each on a folder a syncer keeps on its ring's branch of one
// bare repository (canary: one host, main: two, in zones a and b): a
// commit rolls an app on exactly the hosts whose labels match; a broken
// commit stops nothing anywhere; kill -9 of one daemon touches no other
// host and its return adopts its own instances only; `get apps --servers`
// prints one table with a NODE column; `rollout status --servers` gates
// the canary before the merge into main rolls the main hosts; a real
// Prometheus discovers every host's instances through the file_sd of
// `proclet fleet targets`.
func TestFleet_ThreeHostsFollowTheirRings(t *testing.T) {
	skipShort(t)
	hosts, repo, lo := startFleet(t)
	canary, mainA, mainB := hosts[0], hosts[1], hosts[2]

	// One commit on main adds an app for zone b: it runs on mainB only;
	// mainA has it NotScheduled, the canary host (its own branch) does not
	// have it, and nothing else moves.
	before := fleetPIDs(hosts)
	c1 := repo.commit(t, "main", "zonal: zone b only", map[string]string{"zonal.yaml": selectedManifest("zonal", "zone: b")})
	eventually(t, 30*time.Second, "zonal running on the zone b host", func() bool {
		return len(mainB.d.runningPIDs("zonal")) == 1 && sourceAt(mainA, "zonal", c1)
	})
	if a, ok := mainA.d.app("zonal"); !ok || len(mainA.d.instances("zonal")) != 0 || a.Status.AvailableReplicas != 0 {
		t.Errorf("zonal on the zone a host: present %v, %d instances", ok, len(mainA.d.instances("zonal")))
	}
	if _, ok := canary.d.app("zonal"); ok {
		t.Error("zonal reached the canary host, which follows its own branch")
	}
	after := fleetPIDs(hosts)
	delete(after[mainB.addr], "zonal-0")
	checkPIDs(t, "after the zonal commit", before, after)

	// A broken commit stops nothing on the hosts that read it; its revert
	// restarts nothing either.
	before = fleetPIDs(hosts)
	broken := repo.commit(t, "main", "a typo", map[string]string{"web.yaml": strings.Replace(fleetWebManifest(lo, "1"), "replicas:", "replica:", 1)})
	eventually(t, 30*time.Second, "both main hosts read the broken commit", func() bool {
		return sourceAt(mainA, "web", broken) && sourceAt(mainB, "web", broken) && invalid(mainA, "web") && invalid(mainB, "web")
	})
	checkPIDs(t, "after the broken commit", before, fleetPIDs(hosts))
	repo.git(t, "revert", "--no-edit", "HEAD")
	repo.git(t, "push", "-q", "origin", "main")
	reverted := repo.git(t, "rev-parse", "HEAD")
	eventually(t, 30*time.Second, "both main hosts read the revert", func() bool {
		return sourceAt(mainA, "web", reverted) && sourceAt(mainB, "web", reverted) && !invalid(mainA, "web") && !invalid(mainB, "web")
	})
	checkPIDs(t, "after the revert", before, fleetPIDs(hosts))

	fleetKillOneDaemon(t, hosts)
	fleetGetApps(t, hosts)
	fleetRingGate(t, hosts, repo, lo)
	fleetPrometheus(t, hosts)
}

// startFleet makes the repository (web on both branches, api for the main
// ring) and starts the three hosts, each once the previous runs web (so
// that their port ranges' host check sees each other's ports).
func startFleet(t *testing.T) ([]*fleetHost, *gitRepo, int) {
	dir := t.TempDir()
	repo := &gitRepo{bare: filepath.Join(dir, "repo.git"), work: filepath.Join(dir, "work")}
	if err := os.MkdirAll(repo.work, 0o755); err != nil {
		t.Fatal(err)
	}
	repo.git(t, "init", "-q", "--bare", "-b", "main", repo.bare)
	repo.git(t, "init", "-q", "-b", "main")
	repo.git(t, "remote", "add", "origin", repo.bare)
	lo := freePortRange(t, 30)
	repo.commit(t, "main", "web everywhere, api on the main ring", map[string]string{
		"web.yaml": fleetWebManifest(lo, "1"), "api.yaml": selectedManifest("api", "ring: main")})
	repo.git(t, "push", "-q", "origin", "main:canary")
	repo.git(t, "branch", "-q", "canary", "origin/canary")
	var hosts []*fleetHost
	for i, h := range []struct{ labels, branch string }{
		{"ring=canary,zone=a", "canary"}, {"ring=main,zone=a", "main"}, {"ring=main,zone=b", "main"}} {
		fh := &fleetHost{name: fmt.Sprintf("host%d", i+1), addr: fmt.Sprintf("127.0.0.%d:%d", i+1, freePort(t)), labels: h.labels, branch: h.branch,
			root: filepath.Join(dir, fmt.Sprintf("host%d", i+1), "git"), state: filepath.Join(dir, fmt.Sprintf("host%d", i+1), "state")}
		startSyncer(t, repo.bare, fh.branch, fh.root)
		fh.d = startDaemonOn(t, filepath.Join(fh.root, "current"), fh.state, "--listen", fh.addr, "--node-name", fh.name, "--node-labels", fh.labels, "--log-level", "info")
		eventually(t, 30*time.Second, "web ready on "+fh.addr, func() bool { return webReadyOn(fh) })
		hosts = append(hosts, fh)
	}
	eventually(t, 30*time.Second, "api on both main hosts", func() bool {
		return len(hosts[1].d.runningPIDs("api")) == 1 && len(hosts[2].d.runningPIDs("api")) == 1
	})
	if len(hosts[0].d.instances("api")) != 0 {
		t.Fatal("api runs on the canary host: its nodeSelector says ring: main")
	}
	return hosts, repo, lo
}

func webReadyOn(h *fleetHost) bool {
	insts := h.d.instances("web")
	return len(insts) == 1 && insts[0].Ready && len(h.d.runningPIDs("web")) == 1
}

// checkPIDs fails unless every host runs the same instances with the same
// PIDs as before, and no PID is listed by two hosts.
func checkPIDs(t *testing.T, when string, before, after map[string]map[string]int) {
	t.Helper()
	owner := map[int]string{}
	for addr, pids := range after {
		if !sameInstances(before[addr], pids) {
			t.Errorf("%s: %s's instances changed: %v, then %v", when, addr, before[addr], pids)
		}
		for _, pid := range pids {
			if o, dup := owner[pid]; dup {
				t.Errorf("%s: pid %d is listed by %s and by %s", when, pid, o, addr)
			}
			owner[pid] = addr
		}
	}
}

// fleetKillOneDaemon kill -9s the zone a main host's daemon: the other
// hosts keep their instances, its own keep running, and its return adopts
// exactly them (same PIDs), no other host's.
func fleetKillOneDaemon(t *testing.T, hosts []*fleetHost) {
	victim := hosts[1]
	before := fleetPIDs(hosts)
	if err := victim.d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-victim.d.exited
	for name, pid := range before[victim.addr] {
		if !alive(pid) {
			t.Errorf("%s (pid %d) died with its daemon", name, pid)
		}
	}
	others := []*fleetHost{hosts[0], hosts[2]}
	checkPIDs(t, "with one daemon killed", map[string]map[string]int{hosts[0].addr: before[hosts[0].addr], hosts[2].addr: before[hosts[2].addr]},
		fleetPIDs(others))
	victim.d = startDaemonOn(t, filepath.Join(victim.root, "current"), victim.state, "--listen", victim.addr, "--node-name", victim.name,
		"--node-labels", victim.labels, "--log-level", "info")
	eventually(t, 30*time.Second, "the restarted daemon adopted web and api", func() bool {
		return webReadyOn(victim) && len(victim.d.runningPIDs("api")) == 1
	})
	checkPIDs(t, "after the daemon's return", before, fleetPIDs(hosts))
}

// fleetGetApps: one table of every host's apps, NODE first.
func fleetGetApps(t *testing.T, hosts []*fleetHost) {
	code, out, errOut := proclet(t, "get", "apps", "--servers", servers(hosts...))
	if code != 0 {
		t.Fatalf("get apps --servers: %d\n%s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if f := strings.Fields(lines[0]); len(f) < 2 || f[0] != "NODE" || f[1] != "NAME" {
		t.Fatalf("header %q", lines[0])
	}
	var rows []string
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		rows = append(rows, f[0]+" "+f[1])
	}
	var want []string
	for i, h := range hosts {
		want = append(want, nodeOf(h)+" api", nodeOf(h)+" web")
		if i == 2 || i == 1 {
			want = append(want, nodeOf(h)+" zonal")
		}
	}
	slices.Sort(rows)
	slices.Sort(want)
	if !slices.Equal(rows, want) {
		t.Errorf("get apps --servers: rows %q, want %q\n%s", rows, want, out)
	}
}

// fleetRingGate: a commit on canary rolls web on the canary host only;
// `rollout status --servers canary --commit` succeeds once it is Ready;
// then the merge into main rolls both main hosts to the same revision.
func fleetRingGate(t *testing.T, hosts []*fleetHost, repo *gitRepo, lo int) {
	canary, mains := hosts[0], hosts[1:]
	before := fleetPIDs(hosts)
	oldRev := webRevision(canary)
	c := repo.commit(t, "canary", "web: V=2", map[string]string{"web.yaml": fleetWebManifest(lo, "2")})
	code, out, errOut := proclet(t, "rollout", "status", "web", "--servers", servers(canary), "--commit", c, "--timeout", "60s")
	if code != 0 || !strings.Contains(out, `app "web" successfully rolled out on 1 hosts`) {
		t.Fatalf("canary gate: %d\n%s%s", code, out, errOut)
	}
	newRev := webRevision(canary)
	if newRev == oldRev || !webReadyOn(canary) || canary.d.runningPIDs("web")["web-0"] == before[canary.addr]["web-0"] {
		t.Fatalf("the gate passed but canary's web is at %s (was %s), ready %v", newRev, oldRev, webReadyOn(canary))
	}
	for _, h := range mains {
		if got := hostPIDs(h, "web"); !sameInstances(got, map[string]int{"web-0": before[h.addr]["web-0"]}) || webRevision(h) != oldRev {
			t.Errorf("%s's web moved before the merge: %v at %s", h.addr, got, webRevision(h))
		}
	}
	// Main's gate names the main hosts while they wait.
	code, _, errOut = proclet(t, "rollout", "status", "web", "--servers", servers(mains...), "--commit", c, "--timeout", "1s")
	if code != 1 || !strings.Contains(errOut, nodeOf(mains[0])) || !strings.Contains(errOut, nodeOf(mains[1])) {
		t.Errorf("main before the merge: code %d, stderr %q", code, errOut)
	}
	repo.git(t, "checkout", "-q", "main")
	repo.git(t, "merge", "-q", "--no-edit", "canary")
	repo.git(t, "push", "-q", "origin", "main")
	merged := repo.git(t, "rev-parse", "HEAD")
	code, out, errOut = proclet(t, "rollout", "status", "web", "--servers", servers(mains...), "--commit", merged, "--timeout", "60s")
	if code != 0 || !strings.Contains(out, `app "web" successfully rolled out on 2 hosts`) {
		t.Fatalf("main after the merge: %d\n%s%s", code, out, errOut)
	}
	for _, h := range mains {
		if webRevision(h) != newRev || hostPIDs(h, "web")["web-0"] == before[h.addr]["web-0"] {
			t.Errorf("%s: web at %s, want %s, pid %v", h.addr, webRevision(h), newRev, hostPIDs(h, "web"))
		}
		if got := hostPIDs(h, "api"); !sameInstances(got, map[string]int{"api-0": before[h.addr]["api-0"]}) {
			t.Errorf("%s: api restarted by web's rollout: %v", h.addr, got)
		}
	}
}

// fleetPrometheus: a real Prometheus discovers every host's web instance
// through the file_sd `proclet fleet targets` writes, each with its node.
func fleetPrometheus(t *testing.T, hosts []*fleetHost) {
	bin := prometheusBinary(t)
	code, out, errOut := proclet(t, "fleet", "targets", "--servers", servers(hosts...))
	var groups []struct {
		Targets []string          `json:"targets"`
		Labels  map[string]string `json:"labels"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &groups) != nil || len(groups) != len(hosts) {
		t.Fatalf("fleet targets: %d %s\n%s", code, errOut, out)
	}
	sd := filepath.Join(t.TempDir(), "proclet.json")
	writeFile(t, sd, out)
	prom := startPrometheusWith(t, bin, fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: fleet
    file_sd_configs:
      - files: [%q]
        refresh_interval: 1s
`, sd))
	want := map[string]bool{} // node and the address of its web instance
	for _, h := range hosts {
		want[nodeOf(h)+" "+strings.Split(h.addr, ":")[0]+":"+strconv.Itoa(int(h.d.instances("web")[0].Ports["http"]))] = true
	}
	eventually(t, 60*time.Second, "every host's web discovered by Prometheus with its node", func() bool {
		var r struct {
			Data struct {
				ActiveTargets []struct {
					ScrapePool string            `json:"scrapePool"`
					Labels     map[string]string `json:"labels"`
				} `json:"activeTargets"`
			} `json:"data"`
		}
		if err := prom.get("/api/v1/targets?state=active", &r); err != nil {
			return false
		}
		found := 0
		for _, tg := range r.Data.ActiveTargets {
			if tg.ScrapePool == "fleet" && tg.Labels["app"] == "web" && want[tg.Labels["node"]+" "+tg.Labels["instance"]] {
				found++
			}
		}
		return found == len(hosts)
	})
}
