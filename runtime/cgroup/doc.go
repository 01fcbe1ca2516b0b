// Package cgroup manages the cgroup v2 folders of the instances under a
// subtree delegated to the daemon (--cgroup-root): one folder per
// instance, <root>/<app>/<instance>-<uid8>, with memory.max and cpu.max
// from its spec where the controllers are there, and its removal once
// the instance has exited.
//
// It owns those folders and nothing else: it must never create, write or
// remove anything outside the root (every folder is made and opened
// relative to its parent's descriptor, without following a link), never
// start or wait for a process (runtime/exec does, and tells it when the
// instance exited), and never import runtime/exec.
package cgroup
