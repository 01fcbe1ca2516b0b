package v1alpha1

import (
	"strings"
	"testing"
)

// daemonEnv stands for what the runtime adds before spec.env: each value
// no longer than its $(NAME) reference, so that a manifest validation
// passed must also expand within the bounds (validation counts such a
// reference as written).
var daemonEnv = map[string]string{
	"HOME": "/h", "PATH": "/bin", "PORT": "8080", "PORT_HTTP": "8080",
	"PROCLET_APP": "web", "PROCLET_INDEX": "0", "PROCLET_INSTANCE": "web-0",
}

// FuzzExpandDefaultsRevision follows a file past decoding, where the
// daemon takes it: defaults, the revision, and $(VAR) expansion of env,
// command and exec probes as the runtime does it. Whatever decodes must
// keep its revision through a copy and a second Default, and expand
// within MaxExpandedValue per value and MaxExpandedTotal together, as
// ExpandedLen predicted. The same bytes are also read as lines of
// NAME=value and expanded in turn: no input may panic, exceed the bound
// or disagree with ExpandedLen.
func FuzzExpandDefaultsRevision(f *testing.F) {
	addTestdata(f)
	for _, s := range []string{
		geometricManifest(4), // expands to 32 KiB: valid
		geometricManifest(8), // over the bound
		minimal + "  env: [{name: A, value: \"$(PORT)-$(HOME)\"}, {name: B, value: \"$$(A)$(A)$(A\"}]\n" +
			"  livenessProbe: {exec: {command: [check, \"$(B)\"]}}\n",
		"A=x\nB=$(A)$(A)$(A)$(A)\nC=$(B)$(B)$(B)$(B)\nD=$(C)$(C)$(C)$(C)$$\n",
	} {
		f.Add(uint8(0), []byte(s))
	}
	f.Fuzz(func(t *testing.T, ext uint8, data []byte) {
		expandLines(t, string(data))
		apps, err := decodeFile("fuzz"+fuzzExts[int(ext)%len(fuzzExts)], data)
		if err != nil {
			return
		}
		for i := range apps {
			s := &apps[i].Spec
			rev := Revision(s)
			c := s.DeepCopy()
			defaultSpec(c)
			if Revision(c) != rev || Revision(s) != rev {
				t.Fatalf("revision changed by a copy or a second Default")
			}
			expandSpec(t, s)
		}
	})
}

// expandSpec expands a valid spec as the runtime does and checks the
// bounds validation promised.
func expandSpec(t *testing.T, s *AppSpec) {
	vars := make(map[string]string, len(daemonEnv)+len(s.Env))
	for k, v := range daemonEnv {
		vars[k] = v
	}
	lookup := func(n string) (string, bool) { v, ok := vars[n]; return v, ok }
	total := 0
	for _, e := range s.Env {
		v, err := Expand(e.Value, lookup, MaxExpandedValue)
		if err != nil {
			t.Fatalf("a valid spec's env[%s] does not expand: %v", e.Name, err)
		}
		total += len(v)
		vars[e.Name] = v
	}
	commands := [][]string{s.Command}
	for _, p := range []*Probe{s.StartupProbe, s.ReadinessProbe, s.LivenessProbe} {
		if p != nil && p.Exec != nil {
			commands = append(commands, p.Exec.Command)
		}
	}
	for _, argv := range commands {
		n := total
		for _, a := range argv {
			v, err := Expand(a, lookup, MaxExpandedValue)
			if err != nil {
				t.Fatalf("a valid spec's argument does not expand: %v", err)
			}
			n += len(v)
		}
		if n > MaxExpandedTotal {
			t.Fatalf("a valid spec expands to %d bytes of env and arguments", n)
		}
	}
}

// expandLines reads data as NAME=value lines, each expanded with the ones
// before it under a small bound.
func expandLines(t *testing.T, data string) {
	const limit = 4 << 10
	vars := map[string]string{}
	lookup := func(n string) (string, bool) { v, ok := vars[n]; return v, ok }
	lookupLen := func(n string) (int, bool) { v, ok := vars[n]; return len(v), ok }
	for line := range strings.Lines(data) {
		name, value, _ := strings.Cut(strings.TrimSuffix(line, "\n"), "=")
		want := ExpandedLen(value, lookupLen)
		v, err := Expand(value, lookup, limit)
		switch {
		case err != nil && want <= limit:
			t.Fatalf("Expand refused %d bytes under a bound of %d: %v", want, limit, err)
		case err == nil && len(v) != want:
			t.Fatalf("Expand made %d bytes, ExpandedLen said %d", len(v), want)
		case err == nil && len(v) > limit:
			t.Fatalf("Expand made %d bytes over a bound of %d", len(v), limit)
		case err == nil && !strings.Contains(value, "$") && v != value:
			t.Fatalf("Expand changed a value without references")
		}
		if err == nil {
			vars[name] = v
		}
	}
}
