// Package server is proclet's read-only HTTP face: the REST API of API.md,
// /healthz, /readyz and, later, /metrics. It reads the reconciler's state
// through the narrow StatusReader interface and never writes state.
//
// Every answer that shows a spec redacts env values (a manifest may hold a
// secret). Errors are JSON through one table (errors.go).
package server
