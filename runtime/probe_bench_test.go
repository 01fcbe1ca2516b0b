package runtime

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"proclet.dev/proclet/apis/v1alpha1"
)

// The cost of one probe run, client and server side together (both run in
// this process): at 500 instances probed every second, ns/op x 500 is the
// CPU a second of probing takes, at most (the benchmark is wall time).

func BenchmarkHTTPProbe(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) }))
	defer srv.Close()
	p := newHTTPProbe(&v1alpha1.HTTPGetAction{Path: "/healthz"}, srv.Listener.Addr().(*net.TCPAddr).Port)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if res := p.probe(ctx); !res.ok {
			b.Fatal(res.msg)
		}
	}
}

func BenchmarkTCPProbe(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	p := newTCPProbe(&v1alpha1.TCPSocketAction{}, ln.Addr().(*net.TCPAddr).Port)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if res := p.probe(ctx); !res.ok {
			b.Fatal(res.msg)
		}
	}
}

func BenchmarkExecProbe(b *testing.B) {
	p := newExecProbe([]string{"/bin/true"}, newEnvList([]string{"PATH=/usr/bin:/bin"}), b.TempDir(), nil)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if res := p.probe(ctx); !res.ok {
			b.Fatal(res.msg)
		}
	}
}
