package v1alpha1

import "fmt"

// MaxInitCommands bounds spec.initCommands: each step is a process run
// before every start of every instance.
const MaxInitCommands = 16

// initCommands checks the init steps of s: their number, unique names, a
// program, unique env names, no valueFrom (a step's env is written in the
// manifest; a file's value goes into spec.env, which every step sees),
// timeoutSeconds within MaxDurationSeconds, and what $(VAR) expansion
// makes of each step's env and command (initExpansion).
func (r *ruleSet) initCommands(s *AppSpec) {
	if len(s.InitCommands) > MaxInitCommands {
		r.add("spec.initCommands", "has %d entries, over the bound of %d", len(s.InitCommands), MaxInitCommands)
	}
	names := map[string]int{}
	for i, c := range s.InitCommands {
		path := fmt.Sprintf("spec.initCommands[%d]", i)
		if j, ok := names[c.Name]; ok && c.Name != "" {
			r.add(path+".name", "%s is already the name of spec.initCommands[%d]", quote(c.Name), j)
		} else {
			names[c.Name] = i
		}
		if len(c.Command) > 0 && c.Command[0] == "" {
			r.add(path+".command[0]", "the program must not be empty")
		}
		env := map[string]int{}
		for k, e := range c.Env {
			if j, ok := env[e.Name]; ok && e.Name != "" {
				r.add(fmt.Sprintf("%s.env[%d].name", path, k), "%s is already set by %s.env[%d]", quote(e.Name), path, j)
			} else {
				env[e.Name] = k
			}
			if e.ValueFrom != nil {
				r.add(fmt.Sprintf("%s.env[%d].valueFrom", path, k),
					"is not supported in an init step (set it in spec.env: every step sees the instance's environment)")
			}
		}
		r.seconds(path+".timeoutSeconds", c.TimeoutSeconds)
	}
}

// initExpansion measures, as expansion does for spec.command, what $(VAR)
// expansion makes of each init step: the step's env values may reference
// spec.env and the step's earlier entries, and its command all of them;
// each value is bounded by MaxExpandedValue, and spec.env's entries with
// the step's entries and its arguments together by MaxExpandedTotal.
// envTotal and x are spec.env's, already measured.
func (r *ruleSet) initExpansion(s *AppSpec, envTotal int, x *expansionSizes) {
	for i, c := range s.InitCommands {
		path := fmt.Sprintf("spec.initCommands[%d]", i)
		sx := &expansionSizes{sizes: make(map[string]int, len(x.sizes)+len(c.Env))}
		for k, v := range x.sizes {
			sx.sizes[k] = v
		}
		total, over := envTotal, false
		for k, e := range c.Env {
			n, refOver := sx.measure(e.Value)
			field := fmt.Sprintf("%s.env[%d].value", path, k)
			switch {
			case refOver:
				sx.sizes[e.Name] = overBound
				continue
			case n > MaxExpandedValue:
				r.add(field, "%v", &ExpandTooLongError{Size: n, Limit: MaxExpandedValue})
				sx.sizes[e.Name] = overBound
				continue
			}
			sx.sizes[e.Name] = n
			total += envEntryLen(e.Name, n)
			if total > MaxExpandedTotal {
				r.add(field, "%v", &ExpandTooLongError{Size: total, Limit: MaxExpandedTotal, Total: true})
				over = true
				break
			}
		}
		if !over {
			r.argv(path+".command", c.Command, total, sx)
		}
	}
}
