package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// maxShown caps the breaches printed per invariant.
const maxShown = 40

// summary prints the figures and every breach.
func (c *chaos) summary(w io.Writer, total time.Duration) {
	var ch []string
	n := 0
	for _, k := range []string{kindAdd, kindRemove, kindScale, kindRoll, kindRelabel, kindBreak, kindFix} {
		ch = append(ch, fmt.Sprintf("%s %d", k, c.changes[k]))
		n += c.changes[k]
	}
	fmt.Fprintf(w, "\nchaos summary (seed %d; replay with -seed %d)\n", c.cfg.seed, c.cfg.seed)
	conv := "not reached"
	if c.converged {
		conv = c.convergedIn.Round(100 * time.Millisecond).String()
	}
	appsConv := "never"
	if c.appsConverged {
		appsConv = c.appsConvergedIn.Round(100 * time.Millisecond).String()
	}
	fmt.Fprintf(w, "  minutes of chaos      %.1f (%s in all)\n", c.cfg.minutes, total.Round(time.Second))
	fmt.Fprintf(w, "  convergence           %s (invariant 1 alone: %s)\n", conv, appsConv)
	fmt.Fprintf(w, "  daemon kills survived %d of %d\n", c.daemonRestarts, c.daemonKills)
	fmt.Fprintf(w, "  instance kills        %d\n", c.instanceKills)
	fmt.Fprintf(w, "  manifest changes      %d (%s)\n", n, strings.Join(ch, ", "))
	fmt.Fprintf(w, "  processes seen        %d (API answers failed: %d)\n", len(c.tr.seen), c.apiErrors)
	fmt.Fprintf(w, "  job process starts    %d\n", c.jobStarts)
	fmt.Fprintf(w, "  log lines checked     %d in %d runs (%d cut tails, %d rounds written again at a daemon kill)\n", c.logLines, c.logRuns, c.cutTails, c.logReplays)
	fmt.Fprintf(w, "  daemon log            %d warnings, %d errors\n", c.daemonLog.warnings, c.daemonLog.errors)
	fmt.Fprintf(w, "  invariant breaches    %d\n", c.breachCount())
	for _, inv := range slices.Sorted(maps.Keys(c.breaches)) {
		b := c.breaches[inv]
		if len(b) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n  %s: %d\n", inv, len(b))
		for i, m := range b {
			if i == maxShown {
				fmt.Fprintf(w, "    ... and %d more\n", len(b)-maxShown)
				break
			}
			fmt.Fprintf(w, "    - %s\n", m)
		}
	}
}
