package ui

import (
	"bytes"
	"embed"
	"net/http"
	"time"
)

//go:embed assets
var assets embed.FS

// ContentSecurityPolicy is the policy of the page: its own script, style,
// image and connections (fetch and the watch WebSocket) only; no inline
// script or style, no eval, no plugins, no frames, no base or form
// targets elsewhere.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// asset is one embedded file and its content type.
type asset struct {
	body        []byte
	contentType string
}

// files maps the URL paths to the assets; nothing else is served.
var files = map[string]asset{
	"/":               {read("assets/index.html"), "text/html; charset=utf-8"},
	"/ui/app.js":      {read("assets/app.js"), "text/javascript; charset=utf-8"},
	"/ui/view.js":     {read("assets/view.js"), "text/javascript; charset=utf-8"},
	"/ui/style.css":   {read("assets/style.css"), "text/css; charset=utf-8"},
	"/ui/favicon.svg": {read("assets/favicon.svg"), "image/svg+xml"},
}

func read(name string) []byte {
	b, err := assets.ReadFile(name)
	if err != nil {
		panic("ui: embedded asset missing: " + name) // a build without its assets
	}
	return b
}

// Paths are the URL paths Handler serves: "/" and the files under /ui/.
func Paths() []string {
	out := make([]string, 0, len(files))
	for p := range files {
		out = append(out, p)
	}
	return out
}

// Handler serves the page at / and its assets under /ui/, GET and HEAD,
// each with its content type, the Content-Security-Policy and headers
// that keep the page out of frames and its URL out of Referer headers.
// Any other path is 404 (plain text: the server routes only Paths here).
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", a.contentType)
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
	})
}

// Serves reports whether Handler serves path: the server lets these
// through without a key.
func Serves(path string) bool {
	_, ok := files[path]
	return ok
}
