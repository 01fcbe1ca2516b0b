package v1alpha1

import (
	"strings"
	"testing"
)

func TestValidateSockets(t *testing.T) {
	tests := []struct {
		name    string
		sockets []SocketSpec
		field   string // "" for valid
		message string
	}{
		{"one", []SocketSpec{{Name: "http", Port: 7070}}, "", ""},
		{"any host", []SocketSpec{{Name: "http", Port: 7070, Host: "0.0.0.0"}, {Name: "v6", Port: 7071, Host: "::1"}}, "", ""},
		{"no name", []SocketSpec{{Port: 7070}}, "spec.sockets[0].name", "required"},
		{"bad name", []SocketSpec{{Name: "HTTP", Port: 7070}}, "spec.sockets[0].name", "not a port name"},
		{"no port", []SocketSpec{{Name: "http"}}, "spec.sockets[0].port", "required"},
		{"port too big", []SocketSpec{{Name: "http", Port: 70000}}, "spec.sockets[0].port", "65535"},
		{"hostname", []SocketSpec{{Name: "http", Port: 7070, Host: "localhost"}}, "spec.sockets[0].host", `"localhost" is not an IP address`},
		{"zone", []SocketSpec{{Name: "http", Port: 7070, Host: "fe80::1%eth0"}}, "spec.sockets[0].host", "not an IP address"},
		{"same name", []SocketSpec{{Name: "http", Port: 7070}, {Name: "http", Port: 7071}}, "spec.sockets[1].name", `"http" is already the name of spec.sockets[0]`},
		{"same port", []SocketSpec{{Name: "a", Port: 7070}, {Name: "b", Port: 7070, Host: "0.0.0.0"}}, "spec.sockets[1].port", "7070 is already the port of spec.sockets[0]"},
		{"in a range of spec.ports", []SocketSpec{{Name: "http", Port: 8050}}, "spec.sockets[0].port", `8050 is also spec.ports[0] ("8000-8099")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := validApp()
			a.Spec.Sockets = tt.sockets
			errs := Validate(a)
			if tt.field == "" {
				if len(errs) != 0 {
					t.Fatalf("want valid, got %v", errs)
				}
				return
			}
			for _, e := range errs {
				if e.Field == tt.field && strings.Contains(e.Message, tt.message) {
					return
				}
			}
			t.Fatalf("want %s: ...%s..., got %v", tt.field, tt.message, errs)
		})
	}
}

func TestValidateSocketsBound(t *testing.T) {
	a := validApp()
	for i := range MaxSockets + 1 {
		a.Spec.Sockets = append(a.Spec.Sockets, SocketSpec{Name: "s" + strings.Repeat("a", i%10) + string(rune('a'+i)), Port: int32(20000 + i)})
	}
	errs := Validate(a)
	for _, e := range errs {
		if e.Field == "spec.sockets" && strings.Contains(e.Message, "over the bound of 16") {
			return
		}
	}
	t.Fatalf("want the bound on spec.sockets, got %v", errs)
}

func TestSocketDefaultsAndAddress(t *testing.T) {
	a := validApp()
	a.Spec.Sockets = []SocketSpec{{Name: "http", Port: 7070}, {Name: "v6", Port: 7071, Host: "::"}}
	Default(a)
	if got := a.Spec.Sockets[0].Host; got != "127.0.0.1" {
		t.Errorf("default host = %q, want 127.0.0.1", got)
	}
	if got := a.Spec.Sockets[0].Address(); got != "127.0.0.1:7070" {
		t.Errorf("address = %q", got)
	}
	if got := a.Spec.Sockets[1].Address(); got != "[::]:7071" {
		t.Errorf("address = %q", got)
	}
	c := a.Spec.DeepCopy()
	c.Sockets[0].Port = 1
	if a.Spec.Sockets[0].Port != 7070 {
		t.Error("DeepCopy shares the sockets")
	}
}

func TestDecodeSockets(t *testing.T) {
	src := "apiVersion: proclet.dev/v1alpha1\nkind: App\nmetadata: {name: web}\nspec:\n  command: [web]\n  sockets:\n    - {name: http, port: 7070, hosts: x}\n"
	_, err := DecodeFile("m.yaml", []byte(src))
	if err == nil || !strings.Contains(err.Error(), "spec.sockets[0].hosts") {
		t.Fatalf("want an unknown-field error naming spec.sockets[0].hosts, got %v", err)
	}
}
