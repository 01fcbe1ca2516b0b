package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// writeManifest writes content to dir/rel. Atomically by default (a hidden
// temp file renamed over the target, as editors and git do); in place
// (truncate, then write) when inPlace, which the watcher must survive too:
// it may read the file half-written, and must then wait for the rest.
func writeManifest(dir, rel, content string, inPlace bool) error {
	path := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	if inPlace {
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			return fmt.Errorf("write manifest: %w", err)
		}
		return nil
	}
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".chaos-tmp")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	return nil
}

// removeManifest deletes dir/rel.
func removeManifest(dir, rel string) error {
	if err := os.Remove(filepath.Join(dir, rel)); err != nil {
		return fmt.Errorf("remove manifest: %w", err)
	}
	return nil
}
