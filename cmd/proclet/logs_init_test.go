package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// --init NAME asks the daemon for the init step's log (?init=NAME) of
// the instance, with the other flags as they are.
func TestLogs_InitFlag(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.Path + "?" + r.URL.RawQuery
		io.WriteString(w, "migrated\n")
	}))
	t.Cleanup(srv.Close)
	code, out, errOut := cliRun("logs", "web/web-0", "--init", "migrate", "--stderr", "--server", srv.URL)
	if code != 0 || out != "migrated\n" {
		t.Fatalf("code %d, stdout %q, stderr %q", code, out, errOut)
	}
	if want := "/api/v1/apps/web/instances/web-0/logs?init=migrate&stream=stderr"; got != want {
		t.Fatalf("request %s, want %s", got, want)
	}
}
