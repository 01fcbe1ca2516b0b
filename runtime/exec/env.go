//go:build linux

package exec

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"proclet.dev/proclet/apis/v1alpha1"

	"proclet.dev/proclet/runtime"
)

// envList is an ordered environment in which a later Set of a name replaces
// the earlier value in place. It is kept as the NAME=value slice exec takes:
// an entry of the daemon's environment that an instance does not change is
// the daemon's own string, shared by every instance, so the environment a
// running instance keeps (for its preStop hook and exec probes) costs a
// slice and its own few variables, not a copy of the daemon's environment
// (at 1000 instances that was ~6 MiB of the heap).
type envList struct {
	kv  []string
	idx map[string]int // name -> index in kv; nil once frozen
}

func newEnvList(base []string) *envList {
	l := &envList{kv: make([]string, 0, len(base)+8), idx: make(map[string]int, len(base)+8)}
	for _, kv := range base {
		name, _, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			continue
		}
		l.put(name, kv)
	}
	return l
}

// put sets name's entry to kv ("name=value").
func (l *envList) put(name, kv string) {
	if l.idx == nil {
		l.index()
	}
	if i, ok := l.idx[name]; ok {
		l.kv[i] = kv
		return
	}
	l.idx[name] = len(l.kv)
	l.kv = append(l.kv, kv)
}

// index rebuilds idx after freeze.
func (l *envList) index() {
	l.idx = make(map[string]int, len(l.kv))
	for i, kv := range l.kv {
		name, _, _ := strings.Cut(kv, "=")
		l.idx[name] = i
	}
}

// Set defines or replaces name.
func (l *envList) Set(name, value string) { l.put(name, name+"="+value) }

// Unset removes name.
func (l *envList) Unset(name string) {
	if l.idx == nil {
		l.index()
	}
	i, ok := l.idx[name]
	if !ok {
		return
	}
	l.kv = append(l.kv[:i], l.kv[i+1:]...)
	l.index()
}

// freeze drops the index, keeping only the slice: Lookup then scans.
func (l *envList) freeze() *envList {
	l.idx = nil
	l.kv = slices.Clip(l.kv)
	return l
}

// Lookup is the mapping Expand needs.
func (l *envList) Lookup(name string) (string, bool) {
	if l.idx != nil {
		i, ok := l.idx[name]
		if !ok {
			return "", false
		}
		return l.kv[i][len(name)+1:], true
	}
	for _, kv := range l.kv {
		if len(kv) > len(name) && kv[len(name)] == '=' && kv[:len(name)] == name {
			return kv[len(name)+1:], true
		}
	}
	return "", false
}

// Environ returns NAME=value pairs in definition order. The slice is
// shared: callers must not modify it.
func (l *envList) Environ() []string { return slices.Clip(l.kv) }

// secretEnv is never passed on to an instance.
const secretEnv = "PROCLET_API_KEY"

// instanceEnv builds an instance's environment: the daemon's (without
// PROCLET_API_KEY), then the built-ins (PROCLET_APP, PROCLET_INSTANCE,
// PROCLET_INDEX, PROCLET_UID, PROCLET_REVISION, PROCLET_STATE_DIR, PORT,
// PORT_<NAME>), then extra (HOME and such for another user), then the
// variables of spec.envFrom's files, then the spec's entries in order,
// later winning (Kubernetes' precedence: env overrides envFrom). A spec
// value may reference, with $(VAR), anything defined before it: the
// daemon's env, the built-ins, envFrom's variables and earlier entries.
// Values read from files (envFrom, valueFrom) are taken as they are, never
// expanded. PROCLET_UID, PROCLET_REVISION and PROCLET_STATE_DIR are the
// marker by which a daemon recognises its instances (adoption): the spec
// cannot override them.
//
// Each value is bounded (v1alpha1.MaxExpandedValue, and MaxExpandedTotal
// for envFrom's and the spec's values together; the returned total is
// theirs). Validation has checked the same bounds, but only here are the
// daemon's environment, the built-ins and the files' values known: over a
// bound the start fails with an error naming the field, and the value is
// never built. No error repeats a value.
func instanceEnv(daemon []string, stateDir string, s runtime.StartSpec, extra map[string]string) (*envList, int, error) {
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
	notifyEnv(l, s.Spec, stateDir) // NOTIFY_SOCKET, WATCHDOG_USEC (notify_linux.go)
	for _, name := range sortedKeys(extra) {
		l.Set(name, extra[name])
	}
	total, err := specEnv(l, s)
	if err != nil {
		return nil, 0, err
	}
	marker()
	return l.freeze(), total, nil
}

// specEnv sets envFrom's variables, then spec.env's entries, in l, and
// returns their size (NAME=value each).
func specEnv(l *envList, s runtime.StartSpec) (int, error) {
	total := 0
	add := func(field, name string, n int) error {
		if total += len(name) + 1 + n; total > v1alpha1.MaxExpandedTotal {
			return fmt.Errorf("%s (%s): %w", field, name, &v1alpha1.ExpandTooLongError{Size: total, Limit: v1alpha1.MaxExpandedTotal, Total: true})
		}
		return nil
	}
	if s.Content != nil {
		for _, e := range s.Content.EnvFrom {
			if e.Value.Len() > v1alpha1.MaxExpandedValue {
				return 0, fmt.Errorf("spec.envFrom (%s): %w", e.Name, &v1alpha1.ExpandTooLongError{Size: e.Value.Len(), Limit: v1alpha1.MaxExpandedValue})
			}
			if err := add("spec.envFrom", e.Name, e.Value.Len()); err != nil {
				return 0, err
			}
			l.Set(e.Name, e.Value.Reveal())
		}
	}
	if s.Spec == nil {
		return total, nil
	}
	for i, e := range s.Spec.Env {
		var v string
		if e.ValueFrom != nil {
			secret, ok := v1alpha1.Secret{}, false
			if s.Content != nil {
				secret, ok = s.Content.Values[i]
			}
			if !ok {
				return 0, fmt.Errorf("spec.env[%d].valueFrom (%s): the file %s was not read", i, e.Name, shownArg(e.ValueFrom.File))
			}
			v = secret.Reveal()
		} else {
			var err error
			if v, err = v1alpha1.Expand(e.Value, l.Lookup, v1alpha1.MaxExpandedValue); err != nil {
				return 0, fmt.Errorf("spec.env[%d].value (%s): %w", i, e.Name, err)
			}
		}
		if err := add(fmt.Sprintf("spec.env[%d].value", i), e.Name, len(v)); err != nil {
			return 0, err
		}
		l.Set(e.Name, v)
	}
	return total, nil
}

// expandArgv expands a command's arguments with env, each bounded by
// v1alpha1.MaxExpandedValue and all of them, on top of envTotal bytes of
// the spec's environment, by MaxExpandedTotal. path names the command in
// errors ("spec.command").
func expandArgv(path string, argv []string, env *envList, envTotal int) ([]string, error) {
	out := make([]string, len(argv))
	total := envTotal
	for i, a := range argv {
		v, err := v1alpha1.Expand(a, env.Lookup, v1alpha1.MaxExpandedValue)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", path, i, err)
		}
		if total += len(v); total > v1alpha1.MaxExpandedTotal {
			return nil, fmt.Errorf("%s[%d]: %w", path, i,
				&v1alpha1.ExpandTooLongError{Size: total, Limit: v1alpha1.MaxExpandedTotal, Total: true})
		}
		out[i] = v
	}
	return out, nil
}

// firstPort is the name of the instance's first port in the order of
// Spec.Ports (the sorted first name when Spec names none of them).
func firstPort(s runtime.StartSpec) (string, bool) {
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

// specEnvBytes is the size of the entries (NAME=value) of spec.env in env
// (an instance's environment): what an exec probe's arguments add to.
func specEnvBytes(env *envList, spec *v1alpha1.AppSpec) int {
	n := 0
	if spec != nil {
		for _, e := range spec.Env {
			v, _ := env.Lookup(e.Name)
			n += len(e.Name) + 1 + len(v)
		}
	}
	return n
}

// maxShownArg is the most of a program name an error repeats: an expanded
// argv[0] may be 64 KiB, and the error becomes an event and a status.
const maxShownArg = 256

// shownArg is arg for an error message, cut to maxShownArg bytes.
func shownArg(arg string) string {
	if len(arg) <= maxShownArg {
		return arg
	}
	return arg[:maxShownArg] + fmt.Sprintf("... (%d bytes)", len(arg))
}
