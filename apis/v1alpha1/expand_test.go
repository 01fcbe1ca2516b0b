package v1alpha1

import "testing"

func TestExpand(t *testing.T) {
	vars := map[string]string{"A": "1", "PORT": "8000", "EMPTY": ""}
	lookup := func(name string) (string, bool) { v, ok := vars[name]; return v, ok }
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "no refs", "no refs"},
		{"ref", "$(A)", "1"},
		{"refs in text", ":$(PORT)/x-$(A)", ":8000/x-1"},
		{"empty value", "[$(EMPTY)]", "[]"},
		{"unknown kept", "$(NOPE) $(A)", "$(NOPE) 1"},
		{"escaped", "$$(A)", "$(A)"},
		{"double escape", "$$$$", "$$"},
		{"escape then ref", "$$$(A)", "$1"},
		{"lone dollar", "$5 and $A", "$5 and $A"},
		{"trailing dollar", "cost $", "cost $"},
		{"unclosed", "$(A", "$(A"},
		{"unclosed after ref", "$(A)$(B", "1$(B"},
		{"empty name", "$()", "$()"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := Expand(tc.in, lookup, 1<<10); err != nil || got != tc.want {
				t.Errorf("Expand(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}
