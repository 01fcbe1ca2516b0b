package reconciler

import (
	"reflect"
	"sync"

	"proclet.dev/proclet/apis/v1alpha1"
)

// Watch event types, as Kubernetes names them.
const (
	WatchAdded    = v1alpha1.WatchAdded
	WatchModified = v1alpha1.WatchModified
	WatchDeleted  = v1alpha1.WatchDeleted
)

// WatchEvent is one change of an app, a Job or an instance. Object is a
// v1alpha1.App, a v1alpha1.Job, a v1alpha1.CronJob or a v1alpha1.Instance (a copy the
// receiver may keep), as Kind says ("App", "Job", "CronJob", "Instance"). The
// type lives in apis so that the server can name it without importing us.
type WatchEvent = v1alpha1.WatchEvent

// broadcaster fans watch events out to subscribers. A subscriber that does
// not keep up (its buffer is full) is dropped, its channel closed, rather
// than slowing the reconciler down.
type broadcaster struct {
	// mu guards subs.
	mu   sync.Mutex
	subs map[chan WatchEvent]struct{}
}

func (b *broadcaster) subscribe(buffer int) chan WatchEvent {
	ch := make(chan WatchEvent, buffer)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.subs == nil {
		b.subs = map[chan WatchEvent]struct{}{}
	}
	b.subs[ch] = struct{}{}
	return ch
}

func (b *broadcaster) unsubscribe(ch chan WatchEvent) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.subs[ch]; ok {
		delete(b.subs, ch)
		close(ch)
	}
}

// publish never blocks: the send is non-blocking on a buffered channel.
func (b *broadcaster) publish(events []WatchEvent) {
	if len(events) == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		for _, e := range events {
			select {
			case ch <- e:
			default:
				delete(b.subs, ch)
				close(ch)
			}
			if _, ok := b.subs[ch]; !ok {
				break
			}
		}
	}
}

// Watch subscribes to changes of apps and instances. The channel first
// carries an ADDED event for every app and instance that exists, then a
// MODIFIED or DELETED event for each change. It is closed when cancel is
// called, or when the subscriber falls more than buffer events behind
// (a slow client is dropped, never waited for).
func (r *Reconciler) Watch(buffer int) (events <-chan WatchEvent, cancel func()) {
	if buffer <= 0 {
		buffer = 256
	}
	return r.status.watch(buffer)
}

// watch lists and subscribes under s.mu, so that no change falls between
// the listing and the subscription (changes are published under s.mu too).
func (s *statusStore) watch(buffer int) (<-chan WatchEvent, func()) {
	s.mu.Lock()
	var initial []WatchEvent
	for _, sh := range s.apps {
		if v := sh.viewCopy(); v != nil {
			initial = append(initial, WatchEvent{Type: WatchAdded, Kind: "App", Object: *v})
		}
		if j := sh.jobCopy(); j != nil {
			initial = append(initial, WatchEvent{Type: WatchAdded, Kind: v1alpha1.KindJob, Object: *j})
		}
		if c := sh.cronCopy(); c != nil {
			initial = append(initial, WatchEvent{Type: WatchAdded, Kind: v1alpha1.KindCronJob, Object: *c})
		}
		for _, inst := range cloneInstances(sh.instances) {
			initial = append(initial, WatchEvent{Type: WatchAdded, Kind: "Instance", Object: inst})
		}
	}
	ch := s.watchers.subscribe(max(buffer, len(initial)+buffer))
	s.watchers.publishTo(ch, initial)
	s.mu.Unlock()
	return ch, func() { s.watchers.unsubscribe(ch) }
}

func (b *broadcaster) publishTo(ch chan WatchEvent, events []WatchEvent) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range events {
		ch <- e // the buffer was sized to hold them
	}
}

// changes compares an app's previous derived state with the new one and
// returns the watch events between them. Caller holds the status
// store's lock.
func changes(prevView *v1alpha1.App, prevInsts []v1alpha1.Instance, view *v1alpha1.App, insts []v1alpha1.Instance) []WatchEvent {
	var out []WatchEvent
	switch {
	case view == nil && prevView != nil:
		out = append(out, WatchEvent{Type: WatchDeleted, Kind: "App", Object: *prevView.DeepCopy()})
	case view != nil && prevView == nil:
		out = append(out, WatchEvent{Type: WatchAdded, Kind: "App", Object: *view.DeepCopy()})
	case view != nil && !reflect.DeepEqual(prevView, view):
		out = append(out, WatchEvent{Type: WatchModified, Kind: "App", Object: *view.DeepCopy()})
	}
	key := func(i v1alpha1.Instance) string { return i.Name + "/" + i.UID + "/" + i.Revision }
	before := map[string]v1alpha1.Instance{}
	for _, i := range prevInsts {
		before[key(i)] = i
	}
	seen := map[string]bool{}
	for _, i := range cloneInstances(insts) {
		k := key(i)
		seen[k] = true
		p, ok := before[k]
		switch {
		case !ok:
			out = append(out, WatchEvent{Type: WatchAdded, Kind: "Instance", Object: i})
		case !reflect.DeepEqual(p, i):
			out = append(out, WatchEvent{Type: WatchModified, Kind: "Instance", Object: i})
		}
	}
	for _, i := range cloneInstances(prevInsts) {
		if !seen[key(i)] {
			out = append(out, WatchEvent{Type: WatchDeleted, Kind: "Instance", Object: i})
		}
	}
	return out
}

// jobChanges are the watch events between a Job's previous view and its
// new one (nil: none). Caller holds the status store's lock.
func jobChanges(prev, cur *v1alpha1.Job) []WatchEvent {
	switch {
	case cur == nil && prev != nil:
		return []WatchEvent{{Type: WatchDeleted, Kind: v1alpha1.KindJob, Object: *copyJob(prev)}}
	case cur != nil && prev == nil:
		return []WatchEvent{{Type: WatchAdded, Kind: v1alpha1.KindJob, Object: *copyJob(cur)}}
	case cur != nil && !reflect.DeepEqual(prev, cur):
		return []WatchEvent{{Type: WatchModified, Kind: v1alpha1.KindJob, Object: *copyJob(cur)}}
	}
	return nil
}

// cronChanges are the watch events between a CronJob's previous view and
// its new one (nil: none). Caller holds the status store's lock.
func cronChanges(prev, cur *v1alpha1.CronJob) []WatchEvent {
	switch {
	case cur == nil && prev != nil:
		return []WatchEvent{{Type: WatchDeleted, Kind: v1alpha1.KindCronJob, Object: *copyCron(prev)}}
	case cur != nil && prev == nil:
		return []WatchEvent{{Type: WatchAdded, Kind: v1alpha1.KindCronJob, Object: *copyCron(cur)}}
	case cur != nil && !reflect.DeepEqual(prev, cur):
		return []WatchEvent{{Type: WatchModified, Kind: v1alpha1.KindCronJob, Object: *copyCron(cur)}}
	}
	return nil
}
