package watchers

import (
	"path/filepath"
	"slices"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// contents turns a snapshot's apps into apps with their content (what
// their envFrom, valueFrom and rolloutOnChange files say), keeping each
// app's last good version while its files cannot be read or are not quiet.
// Only the loop's goroutine uses it.
type contents struct {
	fr        *fileReader
	committed bool                           // a round was emitted: the daemon's first is not judged quiet
	good      map[string]v1alpha1.SourcedApp // app name -> its last good version emitted
	last      struct {
		in, out     []v1alpha1.SourcedApp
		files       []v1alpha1.FileStatus // the files given with in
		outFiles    []v1alpha1.FileStatus
		keys        []appKey
		sourceRevis string
	}
}

// appKey is what decided one app's outcome, to tell an unchanged round.
type appKey struct {
	content *v1alpha1.Content
	err     string
	kept    bool // the last good version was used
	dropped bool
}

func newContents(quiet time.Duration) *contents {
	return &contents{fr: newFileReader(quiet), good: map[string]v1alpha1.SourcedApp{}}
}

// contentRound is the outcome of resolving one snapshot: apply it with
// commit when the snapshot is emitted.
type contentRound struct {
	snap  v1alpha1.Snapshot
	keys  []appKey
	good  map[string]v1alpha1.SourcedApp
	in    []v1alpha1.SourcedApp
	files []v1alpha1.FileStatus
	until time.Time // the earliest a file becomes quiet; zero for none
	watch watchSet
	errs  []*v1alpha1.FileError // the apps' content problems
}

// resolve gives snap's apps their content. An app whose files cannot be
// read keeps its last good version with ContentError set; a new one is
// left out and its file carries the error. An app with a file changed
// less than the quiet window ago keeps its last good version (a new one
// waits) until round.until. A round that decides as the last committed
// one did, on the same snapshot, gives the last snapshot's very slices.
func (c *contents) resolve(snap v1alpha1.Snapshot, now time.Time) contentRound {
	round := contentRound{snap: snap, in: snap.Apps, files: snap.Files, watch: watchSet{}, good: map[string]v1alpha1.SourcedApp{}}
	// The first round takes every file as it is: an app left out of the
	// daemon's first snapshot would have its adopted instances stopped.
	c.fr.anyAge = !c.committed
	if !slices.ContainsFunc(snap.Apps, func(sa v1alpha1.SourcedApp) bool { return sa.App.Spec.ReadsFiles() }) {
		c.fr.endRound()
		return round
	}
	apps := make([]v1alpha1.SourcedApp, 0, len(snap.Apps))
	var fileErrs map[string]*v1alpha1.FileError
	for _, sa := range snap.Apps {
		if !sa.App.Spec.ReadsFiles() {
			apps = append(apps, sa)
			round.keys = append(round.keys, appKey{})
			continue
		}
		name := sa.App.Metadata.Name
		prev, had := c.good[name]
		var prevContent *v1alpha1.Content
		if had {
			prevContent = prev.Content
		}
		r := c.fr.resolveApp(&sa, prevContent, now)
		round.addWatch(r.dirs)
		if !r.until.IsZero() && (round.until.IsZero() || r.until.Before(round.until)) {
			round.until = r.until
		}
		var key appKey
		switch {
		case r.err == nil && r.until.IsZero():
			sa.Content = r.content
			key.content = r.content
			round.good[name] = sa
		case had:
			kept := prev
			kept.ContentError = r.err
			sa, key.kept = kept, true
			if r.err != nil {
				key.err = r.err.Error()
			}
			round.good[name] = prev
		default:
			key.dropped = true
			if r.err != nil {
				key.err = r.err.Error()
				if fileErrs == nil {
					fileErrs = map[string]*v1alpha1.FileError{}
				}
				if _, ok := fileErrs[sa.Path]; !ok {
					fileErrs[sa.Path] = r.err
				}
			}
		}
		if r.err != nil {
			round.errs = append(round.errs, r.err)
		}
		round.keys = append(round.keys, key)
		if !key.dropped {
			apps = append(apps, sa)
		}
	}
	c.fr.endRound()
	if c.sameAsLast(round) {
		round.snap.Apps, round.snap.Files = c.last.out, c.last.outFiles
		return round
	}
	round.snap.Apps = apps
	round.snap.Files = withErrors(snap.Files, fileErrs)
	return round
}

// sameAsLast reports whether round decided as the last committed round,
// on the same snapshot.
func (c *contents) sameAsLast(round contentRound) bool {
	return c.last.out != nil && sameSlice(round.in, c.last.in) && sameSlice(round.files, c.last.files) &&
		round.snap.SourceRevision == c.last.sourceRevis && slices.Equal(round.keys, c.last.keys)
}

// commit records an emitted round: its apps' good versions, and the
// slices to send again for the same round.
func (c *contents) commit(round contentRound) {
	c.committed = true
	c.good = round.good
	c.last.in, c.last.files, c.last.keys = round.in, round.files, round.keys
	c.last.out, c.last.outFiles, c.last.sourceRevis = round.snap.Apps, round.snap.Files, round.snap.SourceRevision
}

// addWatch adds the folders of an app's files to the round's watch set,
// by their resolved path (as the manifests' folders are).
func (round *contentRound) addWatch(dirs []watchDir) {
	for _, w := range dirs {
		dir := w.dir
		if real, err := filepath.EvalSymlinks(dir); err == nil {
			dir = real
		}
		if w.name == "" {
			round.watch.all(dir)
		} else {
			round.watch.name(dir, w.name)
		}
	}
}

// withErrors is files with errs set on the files that have no error of
// their own; files itself when errs is empty.
func withErrors(files []v1alpha1.FileStatus, errs map[string]*v1alpha1.FileError) []v1alpha1.FileStatus {
	if len(errs) == 0 {
		return files
	}
	out := slices.Clone(files)
	for i := range out {
		if e, ok := errs[out[i].Path]; ok && out[i].Error == nil {
			out[i].Error = e
		}
	}
	return out
}
