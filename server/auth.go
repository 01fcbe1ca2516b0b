package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"proclet.dev/proclet/internal/boundedfile"
	"proclet.dev/proclet/server/ui"
)

// MaxAPIKeyFile bounds the API key file (1 MiB: ten thousand keys of a
// hundred bytes). A larger file, or one that is not a regular file (a
// FIFO would hang the start, a link to /dev/zero never end), is an error.
const MaxAPIKeyFile = 1 << 20

// LoadAPIKeys reads an API key file: one key per line, surrounding blanks
// trimmed, blank lines and lines starting with # ignored. A file without
// any key is an error: whoever names a key file wants the API closed.
// Errors never quote the file's content.
func LoadAPIKeys(path string) ([]string, error) {
	data, err := boundedfile.Read(path, MaxAPIKeyFile)
	if err != nil {
		return nil, fmt.Errorf("api key file: %w", err)
	}
	var keys []string
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		keys = append(keys, line)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("api key file %s: %w", path, errNoKeys)
	}
	return keys, nil
}

var errNoKeys = errors.New("no key in the file")

// keyring holds the SHA-256 digests of the API keys: comparing digests of
// equal length in constant time says nothing about a key's length or
// content.
type keyring [][sha256.Size]byte

func newKeyring(keys []string) keyring {
	var kr keyring
	for _, k := range keys {
		if k = strings.TrimSpace(k); k != "" {
			kr = append(kr, sha256.Sum256([]byte(k)))
		}
	}
	return kr
}

// valid reports whether presented is one of the keys. It compares against
// every key, without an early exit.
func (kr keyring) valid(presented string) bool {
	if presented == "" {
		return false
	}
	d := sha256.Sum256([]byte(presented))
	match := 0
	for i := range kr {
		match |= subtle.ConstantTimeCompare(d[:], kr[i][:])
	}
	return match == 1
}

// presentedKeys are the keys a request carries: Authorization: Bearer K,
// Authorization: ApiKey K (schemes case-insensitive) and X-API-Key: K;
// and on a WebSocket upgrade of the watch, a subprotocol
// proclet.key.BASE64URL(K) (watchKeys).
func presentedKeys(r *http.Request) []string {
	out := watchKeys(r)
	for _, v := range r.Header.Values("Authorization") {
		scheme, key, ok := strings.Cut(strings.TrimSpace(v), " ")
		if ok && (strings.EqualFold(scheme, "Bearer") || strings.EqualFold(scheme, "ApiKey")) {
			out = append(out, strings.TrimSpace(key))
		}
	}
	for _, v := range r.Header.Values("X-API-Key") {
		out = append(out, strings.TrimSpace(v))
	}
	return out
}

// WatchProtocol is the subprotocol the watch selects when a client offers
// it; keyProtocolPrefix starts the one that carries a key, which is never
// selected (never echoed back).
const (
	WatchProtocol     = "proclet.v1"
	keyProtocolPrefix = "proclet.key."
)

// watchKeys are the keys offered as Sec-WebSocket-Protocol values
// proclet.key.K, K the key's bytes in unpadded base64url (a subprotocol is
// a token), on a WebSocket upgrade of /api/v1/watch only. A browser can
// set no header on a WebSocket, and a key in the URL would end up in
// histories and logs; the protocol header is what Kubernetes uses for
// the same purpose. A value that is not base64url is ignored.
func watchKeys(r *http.Request) []string {
	if r.URL.Path != "/api/v1/watch" || !isWebSocket(r) {
		return nil
	}
	var out []string
	for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
		for p := range strings.SplitSeq(v, ",") {
			enc, ok := strings.CutPrefix(strings.TrimSpace(p), keyProtocolPrefix)
			if !ok {
				continue
			}
			if k, err := base64.RawURLEncoding.DecodeString(enc); err == nil {
				out = append(out, strings.TrimSpace(string(k)))
			}
		}
	}
	return out
}

// open reports whether path needs no key: the probes, /metrics when
// public, and the web page's assets (the same for everyone, without data:
// the page must load to ask for the key).
func (s *Server) open(path string) bool {
	return path == "/healthz" || path == "/readyz" || (path == "/metrics" && s.metricsPub) || ui.Serves(path)
}

// authenticate refuses requests without a valid key, when keys are
// configured, before routing: an unauthenticated client learns nothing,
// not even which paths exist. Keys are never logged.
func (s *Server) authenticate(next http.Handler) http.Handler {
	if len(s.keys) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.open(r.URL.Path) {
			ok := false
			for _, k := range presentedKeys(r) {
				if s.keys.valid(k) {
					ok = true
				}
			}
			if !ok {
				// A client without the key has no use for the
				// connection: keeping it alive would let one hold a slot
				// of the connection cap for nothing.
				w.Header().Set("Connection", "close")
				w.Header().Set("WWW-Authenticate", "Bearer")
				s.writeError(w, r, errUnauthorized)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
