package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"proclet.dev/proclet/server/client"
)

// fleet is the daemons a fleet command asks (--servers), how many at once
// and how long each may take.
type fleet struct {
	hosts     []string
	parallel  int
	timeout   time.Duration
	apiKey    string
	cacert    string // --cacert: the CA an https:// daemon is checked against
	maxAnswer int64
	// stream: the answers are streams (logs -f): neither bounded nor
	// timed, but for the node's name.
	stream bool

	mu    sync.Mutex
	names map[string]string // host → node name, once a daemon said it
}

// fleet returns the fleet the checked flags describe; https:// daemons are
// checked against the CA certificates in cacert ("" = the system's).
func (ff *fleetFlags) fleet(cacert string) *fleet {
	return &fleet{hosts: ff.hosts, parallel: ff.parallel, timeout: ff.hostTimeout,
		apiKey: os.Getenv("PROCLET_API_KEY"), cacert: cacert, maxAnswer: maxFleetAnswer, names: map[string]string{}}
}

// hostAnswer is one daemon's answer to a fleet command.
type hostAnswer[T any] struct {
	host string // as given in --servers
	node string // the daemon's node name, or its host:port when it has none
	val  T
	err  error
}

// fanOut asks every host with ask, at most f.parallel at a time, each
// under f.timeout, and returns the answers in the order of the hosts. A
// daemon's node name comes from GET /api/v1/node (asked once per host);
// a daemon without that endpoint (404) is named by its host:port.
func fanOut[T any](ctx context.Context, f *fleet, ask func(context.Context, *client.Client) (T, error)) []hostAnswer[T] {
	out := make([]hostAnswer[T], len(f.hosts))
	sem := make(chan struct{}, f.parallel)
	var wg sync.WaitGroup
	for i, h := range f.hosts {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i] = askHost(ctx, f, h, ask)
		}()
	}
	wg.Wait()
	return out
}

func askHost[T any](ctx context.Context, f *fleet, host string, ask func(context.Context, *client.Client) (T, error)) hostAnswer[T] {
	c := client.New(host, f.apiKey).WithCACertFile(f.cacert)
	if !f.stream {
		c = c.Bounded(f.maxAnswer)
	}
	hctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	a := hostAnswer[T]{host: host}
	node, err := f.nodeName(hctx, c)
	a.node = node
	if err == nil {
		actx := hctx
		if f.stream {
			actx = ctx // a follow lasts until Ctrl-C
		}
		a.val, err = ask(actx, c)
	}
	if err != nil {
		a.err = hostError(ctx, f, err)
	}
	return a
}

// nodeName is the daemon's name: what GET /api/v1/node says, else (a
// daemon without the endpoint, or whose answer names none) its host:port.
func (f *fleet) nodeName(ctx context.Context, c *client.Client) (string, error) {
	f.mu.Lock()
	name, ok := f.names[c.BaseURL()]
	f.mu.Unlock()
	if ok {
		return name, nil
	}
	n, err := c.Node(ctx)
	switch {
	case err == nil && n.Name != "":
		name = n.Name
	case err == nil || client.IsNotFound(err):
		name = c.Host()
	default:
		return c.Host(), err
	}
	f.mu.Lock()
	f.names[c.BaseURL()] = name
	f.mu.Unlock()
	return name, nil
}

// hostError says why a host gave no answer: a per-host timeout reads as
// such rather than as "context deadline exceeded".
func hostError(parent context.Context, f *fleet, err error) error {
	if errors.Is(err, context.DeadlineExceeded) && parent.Err() == nil {
		return fmt.Errorf("no answer within %s (--host-timeout)", f.timeout)
	}
	// One host of many: the transport's own reason, not the single-daemon
	// hint to set --server.
	if u, ok := errors.AsType[*client.UnreachableError](err); ok {
		return fmt.Errorf("cannot reach proclet at %s: %v", u.URL, u.Err)
	}
	return err
}

// reportFailures prints one line per host that did not answer, on
// stderr, and returns the error that ends the command (exit 1) when any
// did: the rows of the others are printed all the same.
func reportFailures[T any](stderr io.Writer, cmd string, answers []hostAnswer[T]) error {
	failed := 0
	for _, a := range answers {
		if a.err == nil {
			continue
		}
		failed++
		fmt.Fprintf(stderr, "%s: %s: %v\n", cmd, a.node, a.err)
	}
	if failed == 0 {
		return nil
	}
	return &exitError{code: 1, msg: fmt.Sprintf("%d of %d hosts did not answer", failed, len(answers))}
}

// nodeTables joins the tables of several nodes into one, with a NODE
// column first; a node without a table adds no row. nil when no node has
// a row.
func nodeTables(nodes []string, tables []*client.Table) *client.Table {
	var out *client.Table
	for i, t := range tables {
		if t == nil || len(t.Rows) == 0 {
			continue
		}
		if out == nil {
			out = &client.Table{Header: append([]string{"NODE"}, t.Header...)}
		}
		for _, r := range t.Rows {
			out.Append(append([]string{nodes[i]}, r...)...)
		}
	}
	return out
}

// nodeItem is one object of a fleet's -o json|yaml list: the API's object
// with the node it came from as its first field, "node".
type nodeItem struct {
	node string
	item any
}

func (n nodeItem) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(n.item)
	if err != nil {
		return nil, err
	}
	name, _ := json.Marshal(n.node)
	if len(b) < 2 || b[0] != '{' {
		return json.Marshal(map[string]json.RawMessage{"node": name, "item": b})
	}
	out := append([]byte(`{"node":`), name...)
	if len(b) > 2 {
		out = append(out, ',')
	}
	return append(out, b[1:]...), nil
}
