// Package main is schemagen, the go generate step that writes
// docs/schema from v1alpha1.SchemaFiles. It must not hold any rule of the
// schema itself: those live in v1alpha1, next to the types.
package main
