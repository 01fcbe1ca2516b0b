// Package manifestedit edits one annotation of one app in a manifest file's
// text, for `proclet rollout restart`: the bytes around the change are kept
// as they are (comments, indentation, quoting, key order, the other
// documents of a YAML stream), and only the lines needed are inserted or
// replaced.
//
// It owns finding the app's metadata in YAML (yaml.v3 node positions), JSON
// (a span-recording reader) and TOML (its table headers), inserting or
// replacing the annotation in the file's own style, and checking the result:
// the edited text must decode (v1alpha1.DecodeFile) to exactly the apps of
// the original plus the annotation. Whatever it cannot edit that way is
// refused with a RefusedError that says the change to make by hand.
//
// It must never touch the filesystem, the clock or the daemon: it is a
// function of bytes to bytes. Reading, the symlink checks and the atomic
// write are the caller's.
package manifestedit
