package ui

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func get(t *testing.T, method, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec
}

func TestHandler_ServesEachAssetWithItsTypeAndPolicy(t *testing.T) {
	want := map[string]string{
		"/":               "text/html; charset=utf-8",
		"/ui/app.js":      "text/javascript; charset=utf-8",
		"/ui/view.js":     "text/javascript; charset=utf-8",
		"/ui/style.css":   "text/css; charset=utf-8",
		"/ui/favicon.svg": "image/svg+xml",
	}
	paths := Paths()
	slices.Sort(paths)
	if got := slices.Sorted(maps.Keys(want)); !slices.Equal(paths, got) {
		t.Fatalf("Paths() = %v, want %v", paths, got)
	}
	for path, ct := range want {
		rec := get(t, http.MethodGet, path)
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != ct || rec.Body.Len() == 0 {
			t.Errorf("GET %s: %d %q, %d bytes; want 200 %q", path, rec.Code, rec.Header().Get("Content-Type"), rec.Body.Len(), ct)
		}
		h := rec.Header()
		if h.Get("Content-Security-Policy") != ContentSecurityPolicy || h.Get("X-Frame-Options") != "DENY" ||
			h.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("GET %s: headers %v", path, h)
		}
		if !Serves(path) {
			t.Errorf("Serves(%q) = false", path)
		}
		head := get(t, http.MethodHead, path)
		if head.Code != http.StatusOK || head.Body.Len() != 0 || head.Header().Get("Content-Type") != ct {
			t.Errorf("HEAD %s: %d, %d bytes", path, head.Code, head.Body.Len())
		}
	}
	for _, p := range []string{"/ui/", "/ui/nope.js", "/index.html", "/ui/../ui/app.js", "/ui/assets/app.js"} {
		if Serves(p) {
			t.Errorf("Serves(%q) = true", p)
		}
		if rec := get(t, http.MethodGet, p); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, rec.Code)
		}
	}
}

// The policy allows only the page's own files: no inline code or style,
// no other origin, no framing.
func TestContentSecurityPolicy_IsSelfOnly(t *testing.T) {
	for _, d := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"} {
		if !strings.Contains(ContentSecurityPolicy, d) {
			t.Errorf("policy lacks %q: %s", d, ContentSecurityPolicy)
		}
	}
	for _, bad := range []string{"unsafe-inline", "unsafe-eval", "http:", "https:", "*", "data:"} {
		if strings.Contains(ContentSecurityPolicy, bad) {
			t.Errorf("policy allows %q: %s", bad, ContentSecurityPolicy)
		}
	}
}

// The page must work under its own policy, and load nothing from
// elsewhere: every script and stylesheet is a file Handler serves, and
// there is no inline script, inline style or event-handler attribute.
func TestIndex_LoadsOnlyItsOwnAssets(t *testing.T) {
	html := string(read("assets/index.html"))
	refs := regexp.MustCompile(`(?:src|href)="([^"]*)"`).FindAllStringSubmatch(html, -1)
	if len(refs) < 3 {
		t.Fatalf("found %d references in index.html", len(refs))
	}
	for _, m := range refs {
		if !Serves(m[1]) {
			t.Errorf("index.html refers to %q, which is not served", m[1])
		}
	}
	imports := regexp.MustCompile(`(?m)^import .* from '\./([^']+)';$`).FindAllStringSubmatch(string(read("assets/app.js")), -1)
	if len(imports) == 0 {
		t.Fatal("app.js imports nothing")
	}
	for _, m := range imports {
		if !Serves("/ui/" + m[1]) {
			t.Errorf("app.js imports %q, which is not served", m[1])
		}
	}
	for _, re := range []string{`<script(?:\s[^>]*)?>\s*[^<\s]`, `<style`, `\sstyle=`, `\son[a-z]+=`, `javascript:`} {
		if loc := regexp.MustCompile(re).FindStringIndex(html); loc != nil {
			t.Errorf("index.html has inline code or style (%s): %q", re, html[loc[0]:min(loc[1]+40, len(html))])
		}
	}
}

// Every value from the daemon goes in as text: the script never parses
// HTML or code from strings.
func TestScript_NeverInsertsHTML(t *testing.T) {
	js := string(read("assets/app.js")) + string(read("assets/view.js"))
	for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "setAttribute('style'", "createContextualFragment"} {
		if strings.Contains(js, bad) {
			t.Errorf("app.js uses %s", bad)
		}
	}
	// Read-only: no method but the default GET, and the key never in a URL.
	for _, bad := range []string{"method:", "'POST'", "'PUT'", "'DELETE'", "'PATCH'", "?key=", "&key=", "apiKey="} {
		if strings.Contains(js, bad) {
			t.Errorf("app.js contains %q", bad)
		}
	}
}
