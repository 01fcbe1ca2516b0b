package watchers

import (
	"path/filepath"
	"strings"
)

// ignoredName reports whether a folder entry is never read as (or searched
// for) manifests: hidden names (".git", the "..data" internals of a
// ConfigMap volume) and editor or package-manager leftovers.
func ignoredName(name string) bool {
	return strings.HasPrefix(name, ".") || leftover(name)
}

// leftover reports an editor or package-manager leftover. Events about them
// are dropped: vim's "4913" probe and swap files would otherwise trigger
// scans at the worst moments of a save.
func leftover(name string) bool {
	switch {
	case name == "4913",
		strings.HasSuffix(name, "~"),
		strings.HasSuffix(name, ".swp"),
		strings.HasSuffix(name, ".tmp"),
		strings.HasSuffix(name, ".bak"),
		strings.Contains(name, ".dpkg-"),
		len(name) >= 2 && strings.HasPrefix(name, "#") && strings.HasSuffix(name, "#"):
		return true
	}
	return false
}

// saveMark reports a leftover an editor touches while it saves by renaming
// the old file away first: vim's and Emacs' backup ("web.yaml~", ".bak"),
// vim's writability probe ("4913") and swap file. A removal seen while one
// was just touched is held for the whole window (debouncer.Leftover). Not
// the temporary files of an atomic save (".tmp", ".dpkg-new"): a rename
// over a file never looks like a removal.
func saveMark(name string) bool {
	return name == "4913" || strings.HasSuffix(name, "~") || strings.HasSuffix(name, ".bak") ||
		strings.HasSuffix(name, ".swp")
}

// manifestExt reports whether a file name has a manifest extension. The
// match is exact (".YAML" is not one), as the decoder's is.
func manifestExt(name string) bool {
	switch filepath.Ext(name) {
	case ".yaml", ".yml", ".json", ".toml":
		return true
	}
	return false
}
