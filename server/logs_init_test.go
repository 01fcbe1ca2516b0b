package server

import (
	"strings"
	"testing"
	"time"
)

// ?init=NAME reads the init step's log (the instance's name, ".init.",
// the step's: runtime/logfile.InitPath), with every view of a log; a
// step without a log is 404, a name that is no step's is 400.
func TestLogs_InitStep(t *testing.T) {
	f := newLogFixture(t, Options{})
	now := time.Now()
	writeFile(t, f.path("web-0", "stdout"), cri(now, "stdout", "F", "main"))
	writeFile(t, f.path("web-0.init.migrate", "stdout"), cri(now, "stdout", "F", "migrating")+cri(now, "stdout", "F", "done"))
	writeFile(t, f.path("web-0.init.migrate", "stderr"), cri(now, "stderr", "F", "warning"))
	base := "/api/v1/apps/web/instances/web-0/logs"
	for _, tc := range []struct{ query, want string }{
		{"", "main\n"},
		{"?init=migrate", "migrating\ndone\n"},
		{"?init=migrate&tail=1", "done\n"},
		{"?init=migrate&stream=stderr", "warning\n"},
	} {
		rec := get(t, f.s, "GET", base+tc.query)
		if rec.Code != 200 || rec.Body.String() != tc.want {
			t.Errorf("%s: %d %q, want %q", tc.query, rec.Code, rec.Body, tc.want)
		}
	}
	if rec := get(t, f.s, "GET", base+"?init=seed"); rec.Code != 404 || !strings.Contains(rec.Body.String(), `init step \"seed\"`) {
		t.Errorf("unknown step: %d %s, want 404", rec.Code, rec.Body)
	}
	for _, q := range []string{"?init=../web-0", "?init=Migrate", "?init=a.b"} {
		if rec := get(t, f.s, "GET", base+q); rec.Code != 400 {
			t.Errorf("%s: %d, want 400", q, rec.Code)
		}
	}
}
