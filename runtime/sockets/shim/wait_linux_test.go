package shim

import "testing"

func TestParseCred(t *testing.T) {
	c, ok := parseCred("65534:65533:1,22,333")
	if !ok || c.Uid != 65534 || c.Gid != 65533 || len(c.Groups) != 3 || c.Groups[2] != 333 {
		t.Fatalf("parseCred: %+v, %v", c, ok)
	}
	if c, ok := parseCred("1:2:"); !ok || len(c.Groups) != 0 || c.Groups == nil {
		t.Fatalf("no groups: %+v, %v (want an empty, non-nil list: no supplementary groups)", c, ok)
	}
	for _, bad := range []string{"", "1:2", "a:2:", "1:2:x", "1:2:3:4", "-1:2:", "1:2:3,"} {
		if _, ok := parseCred(bad); ok {
			t.Errorf("parseCred(%q) accepted", bad)
		}
	}
}
