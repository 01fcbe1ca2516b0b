package logfile

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// criLine is a line of a log file in the CRI format.
var criLine = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (stdout|stderr|proclet) [FP] `)

// tagged reads a log file as "F text" / "P text" lines, failing the test
// on a line that is not in the CRI format.
func tagged(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.SplitAfter(string(data), "\n") {
		if line == "" {
			continue
		}
		if !criLine.MatchString(line) || !strings.HasSuffix(line, "\n") {
			t.Fatalf("%s: line %q is not a CRI line", filepath.Base(name), line)
		}
		l := ParseLine([]byte(strings.TrimSuffix(line, "\n")))
		out = append(out, "FP"[b2i(l.Partial):b2i(l.Partial)+1]+" "+string(l.Text))
	}
	return strings.Join(out, "|")
}
