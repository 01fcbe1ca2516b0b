package client

import (
	"strings"

	"proclet.dev/proclet/apis/v1alpha1"
)

// filesSummary lists the files an app reads besides its manifest:
// "envFrom app.env, local.env (optional); rollout on change of the
// executable, config/". Empty when it reads none. Paths only: the daemon
// never shows what they hold.
func filesSummary(s *v1alpha1.AppSpec) string {
	var parts []string
	if len(s.EnvFrom) > 0 {
		files := make([]string, len(s.EnvFrom))
		for i, e := range s.EnvFrom {
			files[i] = e.File
			if e.Optional {
				files[i] += " (optional)"
			}
		}
		parts = append(parts, "envFrom "+strings.Join(files, ", "))
	}
	if ro := s.RolloutOnChange; ro != nil && (ro.Executable || len(ro.Paths) > 0) {
		var what []string
		if ro.Executable {
			what = append(what, "the executable")
		}
		what = append(what, ro.Paths...)
		parts = append(parts, "rollout on change of "+strings.Join(what, ", "))
	}
	return strings.Join(parts, "; ")
}
