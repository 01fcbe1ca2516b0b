// Package watchers turns a manifests directory into a stream of full,
// consistent v1alpha1.Snapshots for the reconciler.
//
// It owns: watching every folder of the tree with fsnotify (and the folders
// holding the links on the way to it and to each manifest), following
// symbolic link swaps, debouncing, the periodic resync, the ignore rules,
// reading and decoding files (through apis), last-known-good per file and
// per-file errors. It must not start anything, or hold app state beyond
// what the last snapshot needs (the last good apps of each file, which
// file owns each name, and the last assembly: what each file contributed).
//
// # Reading
//
// Every scan lists the whole tree: fsnotify events only say "look again".
// A file is read (and hashed) again only when its stat changed since its
// last read (device, inode, size, mtime, ctime), when it changed less than
// 2 s before that read (a later write in the same timestamp tick would not
// show: git's "racily clean"), and on every 16th scan whatever its stat;
// it is decoded again only when its content hash changed. So the 30 s
// resync of 1000 unchanged manifests costs a walk and a stat per file:
// 10-12 ms (BenchmarkScan1000Files) against 21-24 ms when every file was
// read and hashed, and the reconciler then skips the snapshot it already
// has (BenchmarkReplace1000/unchanged: nanoseconds, against 13-21 ms for
// the diff).
// A scan after the first assembles the snapshot from the last one
// (reassemble.go): only the names that a changed, new or removed file
// defines or defined are decided again, and only the files that define
// one, or changed, get a new status; every other app is the last
// snapshot's value, copied. So a one-app file written beside 5000 apps in
// 5 files costs ~5 ms of CPU in the watcher (BenchmarkChangeOneFileBeside5000,
// against ~18 ms when every app was assembled again), most of it the copy
// of the apps' slice. The outcome is the full assembly's
// (TestReassemble_SameAsAssemble); a change that touches many names
// assembles everything, which costs less then.
//
// The root is resolved once per scan and everything is read through the
// resolved path; each link followed is read again afterwards, and a link
// that moved, or a file or folder that vanished mid-read (ENOENT), restarts
// the scan (a few times, then the source is reported unavailable). So a
// swap (git-sync's `ln -s .worktrees/B tmp && mv -T tmp link`, a ConfigMap
// volume's `..data_tmp` rename) yields the old set or the new set, never a
// mix, and never deletions.
//
// Not read: names starting with "." (but a change to a hidden link that a
// visible file points through is watched), editor leftovers, other
// extensions than .yaml .yml .json .toml (exact case), anything that is not
// a regular file after following links (FIFOs are checked with stat and
// opened non-blocking, never waited on), link loops. Each real folder is
// read once, under the first path that reaches it. A file over 1 MiB is an
// Unreadable error and is never read whole; so is a link named like a
// manifest that does not resolve.
//
// A file written in place and not closed yet (fsnotify v1.10 does not
// expose IN_CLOSE_WRITE: a second inotify instance on the same folders,
// closeWatch, reports writes and closes in one queue) keeps its last
// complete content, or is not there yet if it is new, until it is closed,
// renamed over or removed, or writeQuiet (2 s) passes without a write
// (writeMaxHold, 10 s, after the first): each valid prefix of a file
// written in chunks is never applied. The queue is drained right before
// and after each read, so a write that returned before the read, or came
// during it, is known.
//
// Folder links are followed, inside the tree or out of it (a team's folder
// linked in), but a walk watches at most 1000 folders and reads at most 16
// levels deep: a link to /usr/share or / makes the source unavailable with
// an error naming the link ("more than 1000 folders to watch, at share/x
// (through the folder link share -> /usr/share)"), not thousands of
// inotify watches, and the folders behind that link are not watched.
//
// # Decisions where Kubernetes and the manifest format give no rule
//
//   - Unavailable, not empty: a missing root, a dangling root link, a root
//     that is not a folder, an unreadable folder anywhere in the tree, a
//     folder link that resolved in the last snapshot and no longer does,
//     and a tree that kept changing through every retry. The sink gets
//     Unavailable and no snapshot; the reconciler keeps what it has. An
//     existing empty folder is a snapshot with no apps.
//   - Duplicate names: the file that provided the name in the last snapshot
//     (for the first scan: Options.Owners, the files of the daemon before a
//     restart) keeps it; otherwise the first path (then the first object in
//     the file) wins. Only the losing object is dropped; the other objects of
//     its file apply, and the file carries a DuplicateName error
//     ("app \"web\" is already defined in a.yaml") unless it already has
//     its own error. No flapping: ownership changes only when the owner
//     stops defining the name.
//   - Last good: a file that fails (to read, parse or validate) keeps
//     contributing the apps of its last good version; FileStatus.Objects
//     lists those, and FileStatus.Error is the first problem ("(and N
//     more)"; `proclet validate` prints them all). An empty (0 byte) file
//     that had apps is taken for a write in progress and fails the same
//     way: to remove every app of a file, delete it.
//   - Deletions wait for quiet: a scan whose result lacks an app of the
//     last snapshot is not emitted until a scan confirms it once no event
//     has come for a hold, counted from the last event and from the first
//     scan that saw the removal (a save that renames the old file away or
//     unlinks it and creates it again, or a folder being removed, looks
//     like a deletion for a moment; a scan can read in the middle of one
//     before its events arrive). The hold is Options.RemovalQuiet (2 ms)
//     after an event that announced the removal: the two steps of a save
//     are system calls microseconds apart. Each event while it is held
//     doubles it, up to the debounce window (a busy folder); it is the
//     whole window when an editor's backup, probe or swap file (saveMark)
//     was touched in the last window, a save under way, and for a scan not
//     caused by events (resync, Rescan, a watch error), which may have read
//     before a change's events came. The first scan always emits. A file
//     swapped for a FIFO, a device or a folder between the walk and its
//     read makes the scan read again, never a deletion.
//   - SourcedApp.Dir is the file's folder under the root as the user gave
//     it (not the resolved path), so a working directory defaulted from it
//     follows a git-sync swap instead of pinning a deleted worktree and
//     changing every app's revision on each commit.
//   - Snapshot.SourceRevision is the base name of the target of the last
//     link followed while resolving the root (git-sync's commit), else the
//     commit a .git at the resolved root checks out (gitrev.go: HEAD and
//     the refs read directly, never git run), else "".
//   - FileStatus.Objects lists every name a file defines, a duplicate it
//     lost included; SourcedApp.Path says which file an app came from.
//   - Every scan that reads the directory emits, changed or not (the
//     reconciler diffs); a file's problem is logged once per content and
//     message, an unavailability once until it changes. A scan whose
//     snapshot holds what the last one emitted held (the same files read,
//     each contributing the same apps, each name the same owner) re-sends
//     the last snapshot's slices (Sink.Replace), which the reconciler
//     skips without a diff.
//   - Snapshots share App values with the last-good cache: consumers must
//     not mutate them.
//
// # Files an app reads
//
// contents (contentset.go, appcontent.go, content.go) gives each app of
// an emitted snapshot its v1alpha1.Content: the digests and values of the
// files its envFrom, valueFrom and rolloutOnChange name, read through a
// stat cache (a file is read and hashed again only when its stat
// changed). Their folders join the watch set. A file whose mtime is less
// than Options.ContentQuiet (500 ms) old, or that changed while read, is
// not taken yet: the app keeps its last good version and a scan follows at
// the end of the window. A file that cannot be read (gone, over a bound,
// a dotenv error) keeps the app's last good version with ContentError
// set; a new app is left out and its manifest file carries the error. A
// round that decides as the last one did re-sends its slices (Sink). The
// values are v1alpha1.Secrets: dotenv errors name the line, never the
// content.
//
// # Events
//
// The first event after a quiet period scans at once; later ones within
// the debounce window coalesce into one scan at its end (debouncer). Events
// about editor leftovers are dropped. A folder watched for the first time
// (or recreated) after the scan that found it causes one more scan, since
// a change there before the watch was set is unseen. A watch error or a
// queue overflow rescans at once and rebuilds every watch; if no watch can
// be set at all, the periodic resync alone keeps the source fresh.
package watchers
