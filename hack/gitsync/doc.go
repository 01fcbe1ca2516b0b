// Command gitsync keeps a folder in step with a branch of a git
// repository, the way git-sync (github.com/kubernetes/git-sync) does, for
// the tests and for hosts without git-sync: every --period (with
// --jitter) it fetches --ref from --repo (shallow, --depth), checks the new
// commit out into ROOT/.worktrees/<commit>, points ROOT/<link> at it by
// making a symlink under a temporary name and renaming it over the link
// (one atomic rename: a reader sees the old tree or the new one, never a
// mix), then removes the previous worktree (and any other a killed
// syncer left). A daemon's --manifests is ROOT/<link>; the commit is the
// target's name, which the daemon reports as each app's
// status.sourceRevision.
//
//	gitsync --repo URL --ref main --root /srv/manifests --link current --period 1m
//
// It runs the real git binary. A failed fetch or checkout is logged and
// tried again at the next period; the link keeps pointing at the last good
// commit (never at nothing). --one-time syncs once and exits (0 on
// success). It owns nothing but ROOT.
package main
