// Package atomicfile is the one way the daemon writes its state files
// (reconciler.json, instances.json, ports.json): a crash, a full disk or a
// kill at any point leaves either the old or the new content, never a
// torn file.
//
// It owns writing, never reading (internal/boundedfile reads them, with
// a bound), and it must never decide what is written or when: the
// callers' save loops do.
package atomicfile
