package server

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// hostPolicy is the defence against DNS rebinding: a web page of
// attacker.example whose name is made to resolve to 127.0.0.1 reaches the
// API from the operator's browser with Host: attacker.example:PORT, and
// reads its answers as same-origin. The Host header is what tells such a
// request apart: a name, never an IP literal, and never localhost
// (browsers resolve localhost themselves).
type hostPolicy struct {
	// loopback: the API listens on a loopback address only, so every
	// legitimate Host is localhost, a loopback IP or one of names.
	loopback bool
	// names are the --allowed-host names, lower case.
	names map[string]bool
}

func newHostPolicy(loopback bool, allowed []string) *hostPolicy {
	p := &hostPolicy{loopback: loopback, names: map[string]bool{}}
	for _, n := range allowed {
		if n = strings.ToLower(strings.TrimSpace(n)); n != "" {
			p.names[n] = true
		}
	}
	return p
}

// enforced reports whether Host headers are checked at all: on loopback
// always, elsewhere only when names are given (beyond loopback the API
// keys are the defence: a rebinding page cannot know them).
func (p *hostPolicy) enforced() bool { return p.loopback || len(p.names) > 0 }

// allowedName reports whether host (a name or an IP, without port or
// brackets) may be the daemon's name: localhost and loopback IPs on
// loopback, any IP literal beyond it (rebinding needs a name), and the
// names given.
func (p *hostPolicy) allowedName(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if p.names[host] {
		return true
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	return ip.IsLoopback() || !p.loopback
}

// allowedHost reports whether a Host header ("name", "name:port",
// "[::1]:port"; empty for an HTTP/1.0 request without one) is allowed.
func (p *hostPolicy) allowedHost(hostport string) bool {
	if hostport == "" || !p.enforced() {
		return true
	}
	return p.allowedName(hostOnly(hostport))
}

// hostOnly strips the port and IPv6 brackets of a Host header.
func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]")
}

// checkHost refuses a request whose Host header the policy does not
// allow, with 403 and Connection: close, before anything else looks at
// it. The policy depends on the listener: serve sets it; a Server used
// as a bare http.Handler has none and checks nothing.
func (s *Server) checkHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := s.hosts.Load(); p != nil && !p.allowedHost(r.Host) {
			w.Header().Set("Connection", "close")
			s.writeError(w, r, forbiddenHost(r.Host))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func forbiddenHost(host string) *apiError {
	return &apiError{status: http.StatusForbidden, code: "Forbidden", message: fmt.Sprintf(
		"Host %q is not allowed: this daemon answers only localhost, its IP addresses and the names given with --allowed-host (a defence against DNS rebinding)",
		host)}
}

// checkOrigin decides whether a WebSocket upgrade may proceed: a browser
// always sends Origin, so a request without one is not a browser's (the
// CLI, websocat) and is let through, as are the daemon's own origin (the
// one its Host names), the --cors-origin and an origin whose host p
// allows (a page served from this host, or from an --allowed-host name).
func (s *Server) checkOrigin(r *http.Request) error {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	if s.corsOrigin != "" && strings.EqualFold(origin, s.corsOrigin) {
		return nil
	}
	u, err := url.Parse(origin)
	if err == nil && u.Host != "" {
		if strings.EqualFold(u.Host, r.Host) {
			return nil
		}
		if p := s.hosts.Load(); p != nil && p.enforced() && p.allowedName(hostOnly(u.Host)) {
			return nil
		}
	}
	return &apiError{status: http.StatusForbidden, code: "Forbidden", message: fmt.Sprintf(
		"Origin %q may not open the watch: only the daemon's own origin, --cors-origin and pages of localhost or an --allowed-host name may",
		origin)}
}

// LocalHostsOnly wraps a handler served on loopback (the profiler) with
// the API's Host check: only localhost and loopback IPs are answered, so
// that no DNS rebinding page can read it.
func LocalHostsOnly(next http.Handler) http.Handler {
	p := newHostPolicy(true, nil)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !p.allowedHost(r.Host) {
			w.Header().Set("Connection", "close")
			http.Error(w, forbiddenHost(r.Host).message, http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}
