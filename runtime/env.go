package runtime

import (
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Expand replaces $(VAR) references in s the way Kubernetes does for
// command and env: $(VAR) becomes lookup's value when lookup knows VAR and
// is left as written when it does not; $$ is an escaped $; any other $ is
// kept. An unclosed "$(" is kept as written.
func Expand(s string, lookup func(string) (string, bool)) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch next := s[i+1]; {
		case next == '$':
			b.WriteByte('$')
			i++
		case next == '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString("$(")
				i++
				continue
			}
			name := s[i+2 : i+2+end]
			if v, ok := lookup(name); ok {
				b.WriteString(v)
			} else {
				b.WriteString("$(" + name + ")")
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// envList is an ordered environment in which a later Set of a name replaces
// the earlier value in place.
type envList struct {
	names  []string
	values map[string]string
}

func newEnvList(base []string) *envList {
	l := &envList{values: make(map[string]string, len(base)+8)}
	for _, kv := range base {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			continue
		}
		l.Set(name, value)
	}
	return l
}

// Set defines or replaces name.
func (l *envList) Set(name, value string) {
	if _, ok := l.values[name]; !ok {
		l.names = append(l.names, name)
	}
	l.values[name] = value
}

// Unset removes name.
func (l *envList) Unset(name string) {
	if _, ok := l.values[name]; !ok {
		return
	}
	delete(l.values, name)
	for i, n := range l.names {
		if n == name {
			l.names = append(l.names[:i], l.names[i+1:]...)
			break
		}
	}
}

// Lookup is the mapping Expand needs.
func (l *envList) Lookup(name string) (string, bool) {
	v, ok := l.values[name]
	return v, ok
}

// Environ returns NAME=value pairs in definition order.
func (l *envList) Environ() []string {
	out := make([]string, len(l.names))
	for i, n := range l.names {
		out[i] = n + "=" + l.values[n]
	}
	return out
}

// secretEnv is never passed on to an instance.
const secretEnv = "PROCLET_API_KEY"

// instanceEnv builds an instance's environment: the daemon's (without
// PROCLET_API_KEY), then the built-ins (PROCLET_APP, PROCLET_INSTANCE,
// PROCLET_INDEX, PROCLET_UID, PROCLET_REVISION, PROCLET_STATE_DIR, PORT,
// PORT_<NAME>), then extra (HOME and such for another user), then the
// spec's entries in order, later winning. A spec value may reference, with
// $(VAR), anything defined before it: the daemon's env, the built-ins and
// earlier entries. PROCLET_UID, PROCLET_REVISION and PROCLET_STATE_DIR are
// the marker by which a daemon recognises its instances (adoption): the
// spec cannot override them.
func instanceEnv(daemon []string, stateDir string, s StartSpec, extra map[string]string) *envList {
	l := newEnvList(daemon)
	l.Unset(secretEnv)
	l.Set("PROCLET_APP", s.App)
	l.Set("PROCLET_INSTANCE", s.Instance)
	l.Set("PROCLET_INDEX", strconv.Itoa(s.Ordinal))
	marker := func() {
		l.Set(envUID, s.UID)
		l.Set(envRevision, s.Revision)
		l.Set(envStateDir, stateDir)
	}
	marker()
	if first, ok := firstPort(s); ok {
		l.Set("PORT", strconv.Itoa(int(s.Ports[first])))
	}
	for _, name := range sortedKeys(s.Ports) {
		l.Set("PORT_"+portEnvName(name), strconv.Itoa(int(s.Ports[name])))
	}
	for _, name := range sortedKeys(extra) {
		l.Set(name, extra[name])
	}
	if s.Spec != nil {
		for _, e := range s.Spec.Env {
			l.Set(e.Name, Expand(e.Value, l.Lookup))
		}
	}
	marker()
	return l
}

// firstPort is the name of the instance's first port in the order of
// Spec.Ports (the sorted first name when Spec names none of them).
func firstPort(s StartSpec) (string, bool) {
	if s.Spec != nil {
		for _, p := range s.Spec.Ports {
			if _, ok := s.Ports[p.Name]; ok {
				return p.Name, true
			}
		}
	}
	names := sortedKeys(s.Ports)
	if len(names) == 0 {
		return "", false
	}
	return names[0], true
}

// portEnvName turns a port name into its variable suffix: "metrics-v2" ->
// "METRICS_V2".
func portEnvName(name string) string {
	return strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
