package main

import (
	"errors"
	"net"
	"strings"
	"testing"
)

// TestDaemonFlags_RemoteAccess: a --listen beyond loopback needs API keys
// and TLS, or --insecure-allow-remote; the refusal names the flag. A
// loopback --listen needs neither.
func TestDaemonFlags_RemoteAccess(t *testing.T) {
	refused := []struct {
		args []string
		want string
	}{
		{[]string{"--listen", "0.0.0.0:9090"}, "--listen 0.0.0.0:9090 is not a loopback address and no --api-key-file"},
		{[]string{"--listen", ":9090"}, "--insecure-allow-remote"},
		{[]string{"--listen", "[::]:9090"}, "--insecure-allow-remote"},
		{[]string{"--listen", "10.1.2.3:9090"}, "--insecure-allow-remote"},
		{[]string{"--listen", "node-a.lan:9090"}, "--insecure-allow-remote"},
		{[]string{"--listen", "10.1.2.3:9090", "--api-key-file", "keys"}, "API keys over plain HTTP would cross the network in clear"},
		{[]string{"--tls-cert-file", "c.pem"}, "--tls-cert-file and --tls-key-file go together"},
		{[]string{"--tls-key-file", "k.pem"}, "--tls-cert-file and --tls-key-file go together"},
		{[]string{"--advertise-address", "10.0.0.5"}, `--advertise-address: "10.0.0.5" is not host:port`},
		{[]string{"--advertise-address", ":9090"}, `--advertise-address: ":9090"`},
		{[]string{"--advertise-address", "h:0"}, `--advertise-address: "h:0"`},
	}
	for _, tt := range refused {
		if _, err := parseDaemonFlags(tt.args); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: %v, want an error with %q", tt.args, err, tt.want)
		}
	}
	allowed := [][]string{
		nil,
		{"--listen", "127.0.0.1:9090"},
		{"--listen", "[::1]:9090"},
		{"--listen", "localhost:0"},
		{"--listen", "0.0.0.0:9090", "--insecure-allow-remote"},
		{"--listen", "10.1.2.3:9090", "--api-key-file", "keys", "--insecure-allow-remote"},
		{"--listen", "10.1.2.3:9090", "--api-key-file", "keys", "--tls-cert-file", "c", "--tls-key-file", "k"},
		{"--advertise-address", "node-a.lan:9090"},
	}
	for _, args := range allowed {
		if _, err := parseDaemonFlags(args); err != nil {
			t.Errorf("%q: %v", args, err)
		}
	}
}

// TestAdvertiseAddress: --advertise-address, else --listen (with the
// bound port for port 0), else for every address the host name's first
// address beyond loopback, IPv4 first, else an error naming the flag.
func TestAdvertiseAddress(t *testing.T) {
	lookup := func(ips ...string) func(string) ([]net.IP, error) {
		return func(string) ([]net.IP, error) {
			var out []net.IP
			for _, s := range ips {
				out = append(out, net.ParseIP(s))
			}
			if len(out) == 0 {
				return nil, errors.New("no such host")
			}
			return out, nil
		}
	}
	bound := &net.TCPAddr{IP: net.IPv4zero, Port: 41234}
	tests := []struct {
		listen, advertise string
		bound             net.Addr
		lookup            func(string) ([]net.IP, error)
		want, wantErr     string
	}{
		{listen: "127.0.0.1:9090", advertise: "node-a.lan:9999", want: "node-a.lan:9999"},
		{listen: "127.0.0.1:9090", want: "127.0.0.1:9090"},
		{listen: "127.0.0.1:0", bound: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 41234}, want: "127.0.0.1:41234"},
		{listen: "10.1.2.3:9090", want: "10.1.2.3:9090"},
		{listen: "node-a.lan:9090", want: "node-a.lan:9090"},
		{listen: "0.0.0.0:9090", lookup: lookup("127.0.1.1", "fe80::1", "2001:db8::5", "10.0.0.5"), want: "10.0.0.5:9090"},
		{listen: "[::]:9090", lookup: lookup("2001:db8::5"), want: "[2001:db8::5]:9090"},
		{listen: ":0", bound: bound, lookup: lookup("10.0.0.5"), want: "10.0.0.5:41234"},
		{listen: "0.0.0.0:9090", lookup: lookup("127.0.1.1"), wantErr: "give --advertise-address host:port"},
		{listen: "0.0.0.0:9090", lookup: lookup(), wantErr: `the host name "host-a" resolves to no address beyond loopback`},
	}
	for _, tt := range tests {
		got, err := advertiseAddress(tt.listen, tt.advertise, tt.bound, "host-a", tt.lookup)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: %q, %v; want an error with %q", tt.listen, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s %s: %q, %v; want %q", tt.listen, tt.advertise, got, err, tt.want)
		}
	}
}
