//go:build !linux

package main

// becomeSubreaper is Linux's PR_SET_CHILD_SUBREAPER; elsewhere a mutant's
// orphaned processes are not collected.
func becomeSubreaper() {}

// killOrphans has nothing to collect where becomeSubreaper did nothing.
func killOrphans() {}
