// Package atomicfile is the one way the daemon writes its state files
// (reconciler.json, instances.json, ports.json): a crash, a full disk or a
// kill at any point leaves either the old or the new content, never a
// torn file (Write, WriteFunc). Saver is the one dirty-flag save loop: a
// burst of changes costs one write per interval.
//
// It owns writing, never reading (internal/boundedfile reads the files,
// with a bound), and it must never decide what is written: the callers
// take their snapshot in the save function Saver calls.
package atomicfile
