package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumBinary finds a Chromium, or skips (fails under CI, which
// installs Debian's chromium).
func chromiumBinary(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("chromium is not installed, and CI is set: .ci/run must install it (apt-get install chromium)")
	}
	t.Skip("chromium not found in PATH: `apt-get install chromium` to run the browser tests")
	return ""
}

// browser is a headless Chromium tab, with the page's console problems
// collected: an exception, or a Content-Security-Policy violation (the
// page must work under its own policy).
type browser struct {
	t   *testing.T
	ctx context.Context

	mu       sync.Mutex
	problems []string
}

func newBrowser(t *testing.T, width, height int) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumBinary(t)),
		chromedp.WindowSize(width, height),
		chromedp.UserDataDir(t.TempDir()),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium refuses to run as root with its sandbox
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	// Cancelling the allocator kills the browser it started, and its
	// children (by their user data dir), and waits for them.
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b := &browser{t: t, ctx: ctx}
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("starting chromium: %v", err)
	}
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			if m.IsException() || strings.Contains(m.Text, "Content Security Policy") {
				b.mu.Lock()
				b.problems = append(b.problems, m.String())
				b.mu.Unlock()
			}
		}
	}()
	return b
}

func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// eval runs a JavaScript expression that yields a boolean.
func (b *browser) eval(expr string) bool {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

func (b *browser) text(expr string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// until polls a boolean expression in the page until it holds; if it
// never does, the test fails with the page's text.
func (b *browser) until(within time.Duration, what, expr string) {
	b.t.Helper()
	deadline := time.Now().Add(within)
	for !b.eval(expr) {
		if time.Now().After(deadline) {
			b.t.Fatalf("not within %s: %s (%s); the page shows:\n%s", within, what, expr, b.text(`document.body.innerText`))
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not a wait for an event
	}
}

// click clicks the element sel selects, from the page: a row may be
// rebuilt (a new CPU sample) between a protocol click's lookup of the node
// and its mouse events.
func (b *browser) click(sel string) {
	b.t.Helper()
	if !b.eval(fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) return false; e.click(); return true })()`, sel)) {
		b.t.Fatalf("click: nothing matches %s", sel)
	}
}

func (b *browser) checkConsole() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.problems {
		b.t.Errorf("page console: %s", p)
	}
}

// rows is an expression: the names (data-ATTR) of the rows of table id.
func rows(table, attr string) string {
	return fmt.Sprintf(`[...document.querySelectorAll('#%s tbody tr')].map(r => r.getAttribute('data-%s')).join(' ')`, table, attr)
}

// TestUI_ShowsAppsLiveAndScales: the page lists the apps and instances
// through the watch; scaling an app in its manifest makes the new
// instances appear without a reload; clicking an instance shows its log.
func TestUI_ShowsAppsLiveAndScales(t *testing.T) {
	skipShort(t)
	b := newBrowser(t, 1280, 900)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "alpha.yaml"), appManifest("alpha", 1, "--stdout-rate", "20"))
	d := startDaemon(t, dir)
	eventually(t, 30*time.Second, "alpha-0 running", func() bool { return len(d.runningPIDs("alpha")) == 1 })

	b.do("open the page", chromedp.Navigate(d.base+"/"))
	b.until(30*time.Second, "alpha listed with alpha-0, live",
		`document.querySelector('#apps tr[data-app="alpha"]') !== null && `+
			`document.querySelector('#instances tr[data-instance="alpha-0"]') !== null && `+
			`document.getElementById('conn').textContent === 'live'`)
	b.do("mark the page", chromedp.Evaluate[chromedp.Void](`window.notReloaded = true`))

	writeFile(t, filepath.Join(dir, "alpha.yaml"), appManifest("alpha", 3, "--stdout-rate", "20"))
	b.until(30*time.Second, "alpha-1 and alpha-2 shown",
		rows("instances", "instance")+` === 'alpha-0 alpha-1 alpha-2'`)
	b.until(30*time.Second, "alpha 3/3 ready", `document.querySelector('#apps tr[data-app="alpha"] td:nth-child(2)').textContent === '3/3'`)
	if !b.eval(`window.notReloaded === true`) {
		t.Errorf("the page was reloaded: new instances must come through the watch")
	}
	for _, p := range d.runningPIDs("alpha") {
		seenPIDs.Store(p, true)
	}

	b.click(`#instances tr[data-instance="alpha-1"]`)
	b.until(30*time.Second, "alpha-1's log shown", `document.getElementById('log').textContent.split('\n').length > 3 && `+
		`document.querySelector('#instances tr.selected')?.getAttribute('data-instance') === 'alpha-1'`)
	b.until(30*time.Second, "events listed", `document.querySelectorAll('#events tbody tr').length > 0`)
	b.checkConsole()
}

// TestUI_AsksForTheKey: a daemon with API keys gets the key prompt; the
// key entered shows the apps (the watch takes it as a subprotocol), and
// never appears in the URL.
func TestUI_AsksForTheKey(t *testing.T) {
	skipShort(t)
	b := newBrowser(t, 1024, 768)
	const key = "ui-e2e-key/with+odd=chars"
	keys := filepath.Join(t.TempDir(), "keys")
	writeFile(t, keys, key+"\n")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "gated.yaml"), appManifest("gated", 1))
	d := startDaemon(t, dir, "--api-key-file", keys)

	b.do("open the page", chromedp.Navigate(d.base+"/"))
	b.until(30*time.Second, "the key prompt shown", `!document.getElementById('key-prompt').hidden && document.getElementById('main').hidden`)

	b.do("enter a wrong key",
		chromedp.SendKeys(chromedp.ID("key-input"), "wrong"),
		chromedp.Click(chromedp.CSS(`#key-form button[type=submit]`)))
	b.until(30*time.Second, "the prompt again, saying the key was refused",
		`!document.getElementById('key-prompt').hidden && document.getElementById('key-reason').textContent.includes('refused')`)

	b.do("enter the key",
		chromedp.SendKeys(chromedp.ID("key-input"), key),
		chromedp.Click(chromedp.CSS(`#key-form button[type=submit]`)))
	b.until(30*time.Second, "gated listed, live", `document.querySelector('#apps tr[data-app="gated"]') !== null && `+
		`document.querySelector('#instances tr[data-instance="gated-0"]') !== null && `+
		`document.getElementById('conn').textContent === 'live' && document.getElementById('key-prompt').hidden`)
	if u := b.text(`location.href`); strings.Contains(u, "key") {
		t.Errorf("the URL holds the key: %s", u)
	}
	b.checkConsole()
}

// TestUI_ReconnectsAfterDaemonRestart: the page notices the daemon gone,
// retries with backoff, and shows what changed meanwhile once the daemon
// is back on the same address, without a reload.
func TestUI_ReconnectsAfterDaemonRestart(t *testing.T) {
	skipShort(t)
	b := newBrowser(t, 1024, 768)
	dir, state := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir, "one.yaml"), appManifest("one", 1))
	addr := freeAddr(t)
	d := startDaemonOn(t, dir, state, "--listen", addr)
	b.do("open the page", chromedp.Navigate(d.base+"/"))
	b.until(30*time.Second, "one listed", `document.querySelector('#apps tr[data-app="one"]') !== null && document.getElementById('conn').textContent === 'live'`)
	b.do("mark the page", chromedp.Evaluate[chromedp.Void](`window.notReloaded = true`))
	d.instances("one")

	d.stop()
	b.until(30*time.Second, "the page says it is disconnected", `document.getElementById('conn').textContent.includes('retrying')`)
	writeFile(t, filepath.Join(dir, "two.yaml"), appManifest("two", 1))
	d2 := startDaemonOn(t, dir, state, "--listen", addr)
	b.until(60*time.Second, "two listed after the restart, live",
		`document.querySelector('#apps tr[data-app="two"]') !== null && document.getElementById('conn').textContent === 'live'`)
	if !b.eval(`window.notReloaded === true`) {
		t.Errorf("the page was reloaded")
	}
	d2.instances("one")
	d2.instances("two")
	b.checkConsole()
}

// freeAddr is a loopback address with a port free at the time of the call.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestUI_Screenshot runs the shipped examples (manifests/) and saves a
// screenshot of the page to $PROCLET_UI_SCREENSHOT (docs/ui.png is made
// this way). Opt-in: the examples hold fixed ports (hello's 18080) that a
// `make run` beside the tests would hold.
func TestUI_Screenshot(t *testing.T) {
	skipShort(t)
	out := os.Getenv("PROCLET_UI_SCREENSHOT")
	if out == "" {
		t.Skip("set PROCLET_UI_SCREENSHOT=FILE.png to run the examples and save a screenshot of the page")
	}
	b := newBrowser(t, 1360, 1000)
	root := t.TempDir()
	dir := filepath.Join(root, "manifests")
	examples, err := filepath.Glob("../../manifests/*.yaml")
	if err != nil || len(examples) == 0 {
		t.Fatalf("no examples in manifests/: %v", err)
	}
	for _, f := range examples {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, filepath.Base(f)), string(data))
	}
	// The examples run ../bin/workload, relative to their folder.
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(bins.workload, filepath.Join(root, "bin", "workload")); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, dir)
	for app, n := range map[string]int{"hello": 1, "sleeper": 1, "web": 3, "workers": 3} {
		eventually(t, 60*time.Second, app+" running", func() bool { return len(d.runningPIDs(app)) == n })
	}
	b.do("open the page", chromedp.Navigate(d.base+"/"))
	b.until(60*time.Second, "every app ready and every instance sampled",
		`[...document.querySelectorAll('#apps tbody tr td:nth-child(2)')].map(td => td.textContent).join(' ') === '1/1 1/1 3/3 3/3' && `+
			`[...document.querySelectorAll('#instances tbody tr td:nth-child(8)')].every(td => td.textContent !== '—')`)
	b.click(`#instances tr[data-instance="web-1"]`)
	b.until(30*time.Second, "web-1's log shown", `document.getElementById('log').textContent.split('\n').length > 8`)
	b.until(30*time.Second, "events listed", `document.querySelectorAll('#events tbody tr').length > 5`)
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, png, 0o644); err != nil {
		t.Fatal(err)
	}
	b.checkConsole()
}
