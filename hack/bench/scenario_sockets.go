package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// socketSizes are the replica counts of the socket rollout scenario.
var socketSizes = []int{3, 30}

// socketRollouts is the socket scenario (-only sockets): an app of n
// replicas serving on one inherited socket (spec.sockets) is rolled (a
// command change, the default strategy, minReadySeconds 1) while 4
// clients request the socket's port, one connection per request. The
// figures: requests that failed (refused, reset, EOF, not 200) among
// those made during the rollout, and how long the rollout took.
func (b *bench) socketRollouts(ctx context.Context) {
	for _, n := range socketSizes {
		if ctx.Err() != nil {
			return
		}
		name := fmt.Sprintf("proclet-socket-rollout-%d", n)
		err := b.withPeer(ctx, procletKind, name, func(pe peer, ph *phase) error {
			return b.socketRollout(ctx, pe.(*procletPeer), ph, n)
		})
		if err != nil {
			b.logf("%s: %v", name, err)
			b.res.addError(fmt.Sprintf("%s: %v", name, err))
		}
	}
}

func (b *bench) socketRollout(ctx context.Context, p *procletPeer, ph *phase, n int) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	extra := fmt.Sprintf("  minReadySeconds: 1\n  sockets:\n    - {name: http, port: %d, host: 127.0.0.1}\n", port)
	a := ph.app("s", "--socket", "http")
	a.replicas, a.extraSpec = n, extra
	if err := p.apply(ctx, []app{a}); err != nil {
		return err
	}
	if err := p.waitAvailable(ctx, "s", n, 1, 60*time.Second); err != nil {
		return fmt.Errorf("first revision: %w", err)
	}
	c := newSocketClients(fmt.Sprintf("http://127.0.0.1:%d/", port), 4)
	defer c.stop()
	for c.requests.Load() < 100 && ctx.Err() == nil {
		if err := sleep(ctx, 10*time.Millisecond); err != nil {
			return err
		}
	}
	a2 := ph.app("s", "--socket", "http", "--exit-code", "0") // another command: a new revision
	a2.replicas, a2.extraSpec = n, extra
	before, failedBefore := c.requests.Load(), c.failures.Load()
	t0 := time.Now()
	if err := p.apply(ctx, []app{a2}); err != nil {
		return err
	}
	if err := p.waitAvailable(ctx, "s", n, 2, 120*time.Second); err != nil {
		return fmt.Errorf("rollout: %w", err)
	}
	took := time.Since(t0)
	c.stop()
	reqs, failed := c.requests.Load()-before, c.failures.Load()-failedBefore
	key := fmt.Sprintf("socket_rollout_%d", n)
	b.res.set("proclet", 0, key+"_failed", "requests", float64(failed), nil, fmt.Sprintf("of %d", reqs))
	b.res.set("proclet", 0, key+"_requests", "requests", float64(reqs), nil, "")
	b.res.set("proclet", 0, key+"_ms", "ms", ms(took), nil, "")
	b.logf("socket rollout, %d replicas: %d of %d requests failed, rollout %.0f ms; first failure: %v",
		n, failed, reqs, ms(took), c.first.Load())
	return nil
}

// waitAvailable polls the app until generation gen is observed and all n
// replicas are updated and available.
func (p *procletPeer) waitAvailable(ctx context.Context, name string, n, gen int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		var a struct {
			Status struct {
				Replicas, UpdatedReplicas, AvailableReplicas, ObservedGeneration int
			} `json:"status"`
		}
		resp, err := p.client.Get(p.base + "/api/v1/apps/" + name)
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&a)
			resp.Body.Close()
		}
		s := a.Status
		if err == nil && s.ObservedGeneration >= gen && s.Replicas == n && s.UpdatedReplicas == n && s.AvailableReplicas == n {
			return nil
		}
		if time.Now().After(deadline) {
			return errTimeout
		}
		if err := sleep(ctx, 10*time.Millisecond); err != nil {
			return err
		}
	}
}

// socketClients request url in a loop, one connection per request.
type socketClients struct {
	requests, failures atomic.Int64
	first              atomic.Value
	done               chan struct{}
	once               sync.Once
	wg                 sync.WaitGroup
}

func newSocketClients(url string, n int) *socketClients {
	c := &socketClients{done: make(chan struct{})}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for range n {
		c.wg.Go(func() {
			for {
				select {
				case <-c.done:
					return
				default:
				}
				resp, err := client.Get(url)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("HTTP %d", resp.StatusCode)
					}
				}
				c.requests.Add(1)
				if err != nil {
					c.failures.Add(1)
					c.first.CompareAndSwap(nil, err.Error())
				}
			}
		})
	}
	return c
}

func (c *socketClients) stop() {
	c.once.Do(func() { close(c.done) })
	c.wg.Wait()
}
