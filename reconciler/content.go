package reconciler

import (
	"fmt"
	"strings"
	"time"

	"proclet.dev/proclet/apis/v1alpha1"
)

// contentNotes are the events of an app's new desired version sa (of
// revision rev, with the ManifestValid problem fileErr) about its content:
// which files changed its revision (field, path, old -> new digest, short;
// never a value), and a content problem that is new.
func contentNotes(st *appState, sa *v1alpha1.SourcedApp, rev string, fileErr *v1alpha1.FileError, now time.Time) []Event {
	var out []Event
	name := sa.App.Metadata.Name
	if e := sa.ContentError; e != nil && fileErr == e && (st.fileErr == nil || st.fileErr.Error() != e.Error()) {
		out = append(out, Event{Time: now, Type: "Warning", Reason: e.Reason, Object: sa.Path, App: name,
			Message: e.Error() + "; keeping revision " + st.revision})
	}
	if st.desired == nil || st.revision == rev || sa.ContentError != nil {
		return out
	}
	if changed := changedSources(st.desired.Content, sa.Content); changed != "" {
		out = append(out, Event{Time: now, Type: "Normal", Reason: "ContentChanged", Object: sa.Path, App: name,
			Message: fmt.Sprintf("%s; revision %s -> %s", changed, st.revision, rev)})
	}
	return out
}

// maxShownSources bounds the sources one event lists.
const maxShownSources = 4

// changedSources says which sources differ between two contents:
// "spec.rolloutOnChange.executable /srv/bin/api: 3f2a1c0d -> 9b7e0d11",
// "" when none does.
func changedSources(old, cur *v1alpha1.Content) string {
	if cur == nil || old == cur {
		return ""
	}
	before := map[string]v1alpha1.ContentSource{}
	if old != nil {
		for _, s := range old.Sources {
			before[s.Field] = s
		}
	}
	var parts []string
	n := 0
	for _, s := range cur.Sources {
		b, ok := before[s.Field]
		if ok && b.Digest == s.Digest && b.Path == s.Path {
			continue
		}
		if n++; n > maxShownSources {
			continue
		}
		from := "none"
		if ok {
			from = short(b.Digest)
		}
		parts = append(parts, fmt.Sprintf("%s %s: %s -> %s", s.Field, s.Path, from, short(s.Digest)))
	}
	if n > maxShownSources {
		parts = append(parts, fmt.Sprintf("and %d more", n-maxShownSources))
	}
	return strings.Join(parts, ", ")
}

// short is a digest as events show it.
func short(d string) string {
	if len(d) > 8 {
		return d[:8]
	}
	return d
}
