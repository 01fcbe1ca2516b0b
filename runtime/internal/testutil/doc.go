// Package testutil holds the test helpers the runtime's packages share
// (runtime/exec and its leaves), so that none is written twice.
//
// It is imported by tests only and must never import runtime/exec or a
// leaf: every package of the runtime can use it.
package testutil
