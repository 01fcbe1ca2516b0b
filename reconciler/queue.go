package reconciler

import (
	"sync"
	"time"
)

// queue is a deduplicating work queue of app names, in the manner of
// client-go's workqueue: a name waiting in the queue is there once however
// often it is added; a name being processed is never handed to a second
// worker, and if it is added meanwhile it is queued again once Done.
type queue struct {
	// mu guards the fields below; cond signals a new item or shutdown.
	mu         sync.Mutex
	cond       *sync.Cond
	items      []string
	dirty      map[string]bool // queued, or to be queued again after processing
	processing map[string]bool
	timers     map[string]delayed // the earliest pending delayed add per name
	shutdown   bool
}

type delayed struct {
	at    time.Time
	timer *time.Timer
}

func newQueue() *queue {
	q := &queue{dirty: map[string]bool{}, processing: map[string]bool{}, timers: map[string]delayed{}}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// Add queues name now.
func (q *queue) Add(name string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.addLocked(name)
}

func (q *queue) addLocked(name string) {
	if q.shutdown || q.dirty[name] {
		return
	}
	q.dirty[name] = true
	if q.processing[name] {
		return // Done queues it again
	}
	q.items = append(q.items, name)
	q.cond.Signal()
}

// AddAfter queues name once d has passed. Only the earliest pending
// delayed add of a name is kept.
func (q *queue) AddAfter(name string, d time.Duration) {
	if d <= 0 {
		q.Add(name)
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.shutdown {
		return
	}
	at := time.Now().Add(d)
	if t, ok := q.timers[name]; ok {
		if !t.at.After(at) {
			return
		}
		t.timer.Stop()
	}
	q.timers[name] = delayed{at: at, timer: time.AfterFunc(d, func() {
		q.mu.Lock()
		defer q.mu.Unlock()
		if t, ok := q.timers[name]; ok && t.at.Equal(at) {
			delete(q.timers, name)
		}
		q.addLocked(name)
	})}
}

// Get blocks until a name is ready or the queue is shut down (ok false).
// The caller must call Done(name) when it is finished with it.
func (q *queue) Get() (name string, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.items) == 0 && !q.shutdown {
		q.cond.Wait()
	}
	if q.shutdown {
		return "", false
	}
	name, q.items = q.items[0], q.items[1:]
	q.processing[name] = true
	delete(q.dirty, name)
	return name, true
}

// Done marks name processed; if it was added meanwhile it is queued again.
func (q *queue) Done(name string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.processing, name)
	if q.dirty[name] && !q.shutdown {
		q.items = append(q.items, name)
		q.cond.Signal()
	}
}

// Len is the number of names waiting (not those being processed).
func (q *queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

// ShutDown wakes every Get with ok false and stops the delayed adds.
func (q *queue) ShutDown() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.shutdown = true
	for name, t := range q.timers {
		t.timer.Stop()
		delete(q.timers, name)
	}
	q.cond.Broadcast()
}
