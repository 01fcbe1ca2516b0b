package exec

import "slices"

// Apps implements Interface: the apps the Runtime holds a handle for.
func (e *Runtime) Apps() []string {
	e.mu.Lock()
	seen := map[string]bool{}
	for _, h := range e.handles {
		seen[h.spec.App] = true
	}
	e.mu.Unlock()
	out := make([]string, 0, len(seen))
	for a := range seen {
		out = append(out, a)
	}
	slices.Sort(out)
	return out
}
