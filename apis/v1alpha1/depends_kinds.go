package v1alpha1

import "fmt"

// The condition of a dependency must suit the kind of its target: Ready
// and Started are an App's (its instances), Complete a Job's (its
// current revision ran to completion), and a CronJob has nothing to wait
// for. The target is checked where it is known: in the same file
// (DecodeFile, CheckFile) and across the files given together
// (CheckSet); a target defined elsewhere is the reconciler's to wait for.

// dependencyKindProblems are the problems of a's dependencies on the
// targets lookup finds (nil: not known here), with their fields; the
// caller places them on lines.
func dependencyKindProblems(a *App, lookup func(string) *App) []*FileError {
	var out []*FileError
	for k, d := range a.Spec.DependsOn {
		t := lookup(d.App)
		if t == nil {
			continue
		}
		var msg string
		switch cond := d.Condition; {
		case t.CronJob != nil:
			msg = fmt.Sprintf("%q is a cronjob: it has no completion to wait for (depend on a Job or an App)", d.App)
		case t.Job != nil && cond != DependencyComplete:
			msg = fmt.Sprintf("%q is a job: depend on it with condition Complete, not %s", d.App, condOrDefault(cond))
		case t.IsApp() && cond == DependencyComplete:
			msg = fmt.Sprintf("%q is an app: Complete is a job's condition (use Ready or Started)", d.App)
		default:
			continue
		}
		out = append(out, &FileError{Field: a.SpecPath(fmt.Sprintf("dependsOn[%d].condition", k)),
			Reason: ReasonInvalid, Message: msg})
	}
	return out
}

// condOrDefault names a condition, the default when unset.
func condOrDefault(c DependencyCondition) DependencyCondition {
	if c == "" {
		return DependencyReady
	}
	return c
}

// kindAside says first's kind in a duplicate name's message when it
// differs from dup's: ", as an app".
func kindAside(dup, first *App) string {
	if n := first.KindNoun(); n != dup.KindNoun() {
		return fmt.Sprintf(", as %s %s", article(n), n)
	}
	return ""
}
