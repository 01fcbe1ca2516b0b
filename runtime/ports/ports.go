package ports

import (
	"fmt"
	"maps"
	"sync"

	"proclet.dev/proclet/apis/v1alpha1"

	"proclet.dev/proclet/runtime"
)

// Set is a set of TCP ports, one bit each (8 KiB).
type Set [65536 / 64]uint64

func (s *Set) add(p int32) {
	if p >= 0 && p < 65536 {
		s[p/64] |= 1 << (p % 64)
	}
}

func (s *Set) Has(p int32) bool {
	return p >= 0 && p < 65536 && s[p/64]&(1<<(p%64)) != 0
}

// portKey names an ordinal of an app: what a port sticks to.
type portKey struct {
	App     string
	Ordinal int
}

// portAlloc is what one live instance holds.
type portAlloc struct {
	key   portKey
	ports map[string]int32
	seq   uint64 // order of allocation: the newest replacement wins an ordinal
}

// portAllocator hands out ports and remembers them. It does no I/O: the
// host's listeners come in as a portSet, and persisting its tables is the
// portStore's job. See "Ports" in doc.go for the rules.
type portAllocator struct {
	// mu guards the fields below.
	mu sync.Mutex
	// sticky is the ports each ordinal had last, by name: handed back to
	// the ordinal's next instance when free, avoided by others while
	// anything else is free.
	sticky map[portKey]map[string]int32
	live   map[string]portAlloc // by uid: running or stopping instances
	seq    uint64
	// version counts changes, so that the store writes only news.
	version uint64
}

func newPortAllocator() *portAllocator {
	return &portAllocator{sticky: map[portKey]map[string]int32{}, live: map[string]portAlloc{}}
}

// assign picks the ports of instance uid of key from specs (in spec
// order) and records them as held by uid. host holds the ports something
// listens on. A fixed port is taken as is unless another live instance
// holds it or the host listens on it. A range gives, in this order: the
// ordinal's sticky port, the lowest free port nobody's sticky port, the
// lowest free port. Both failures are *PortInUseError and record nothing.
func (a *portAllocator) assign(uid string, key portKey, specs []v1alpha1.PortSpec, host *Set) (map[string]int32, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var held, reserved, taken Set
	for u, al := range a.live {
		if u != uid {
			for _, p := range al.ports {
				held.add(p)
			}
		}
	}
	for k, ports := range a.sticky {
		if k != key {
			for _, p := range ports {
				reserved.add(p)
			}
		}
	}
	free := func(p int32) bool { return !held.Has(p) && !host.Has(p) && !taken.Has(p) }
	mine := a.sticky[key]
	out := make(map[string]int32, len(specs))
	for _, ps := range specs {
		lo, hi, err := ps.Bounds()
		if err != nil {
			return nil, err
		}
		var p int32
		if ps.Range == "" {
			if err := a.checkFixedLocked(uid, ps, host); err != nil {
				return nil, err
			}
			p = lo
		} else if p = pickPort(lo, hi, mine[ps.Name], free, &reserved); p == 0 {
			inUse := 0
			for q := lo; q <= hi; q++ {
				if !free(q) {
					inUse++
				}
			}
			return nil, &runtime.PortInUseError{Name: ps.Name,
				Message: fmt.Sprintf("no free port in range %s (%s): %d in use", ps.Range, ps.Name, inUse)}
		}
		taken.add(p)
		out[ps.Name] = p
	}
	a.holdLocked(uid, key, out)
	return maps.Clone(out), nil
}

// pickPort returns the sticky port when it is in [lo, hi] and free, else
// the lowest free port not reserved, else the lowest free port, else 0.
func pickPort(lo, hi, sticky int32, free func(int32) bool, reserved *Set) int32 {
	if sticky >= lo && sticky <= hi && free(sticky) {
		return sticky
	}
	fallback := int32(0)
	for p := lo; p <= hi; p++ {
		if !free(p) {
			continue
		}
		if !reserved.Has(p) {
			return p
		}
		if fallback == 0 {
			fallback = p
		}
	}
	return fallback
}

// checkFixedLocked refuses a fixed port that another live instance holds
// or that something on the host listens on.
func (a *portAllocator) checkFixedLocked(uid string, ps v1alpha1.PortSpec, host *Set) error {
	for u, al := range a.live {
		for _, p := range al.ports {
			if u != uid && p == ps.Port {
				return &runtime.PortInUseError{Port: ps.Port, Name: ps.Name,
					Message: fmt.Sprintf("port %d (%s) is held by instance %s-%d (uid %s)", ps.Port, ps.Name, al.key.App, al.key.Ordinal, u)}
			}
		}
	}
	if host.Has(ps.Port) {
		return &runtime.PortInUseError{Port: ps.Port, Name: ps.Name,
			Message: fmt.Sprintf("port %d (%s) is in use by another process", ps.Port, ps.Name)}
	}
	return nil
}

// Hold records ports as held by uid without checking them: the caller
// chose them.
func (a *portAllocator) hold(uid string, key portKey, ports map[string]int32) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.holdLocked(uid, key, maps.Clone(ports))
}

// holdLocked records ports (owned from now on) as uid's. They become the
// ordinal's sticky ports unless another live instance of the ordinal runs:
// a rollout's surge instance takes the ordinal over only once the old one
// is released.
func (a *portAllocator) holdLocked(uid string, key portKey, ports map[string]int32) {
	a.seq++
	a.live[uid] = portAlloc{key: key, ports: ports, seq: a.seq}
	if _, ok := a.newestLocked(key, uid); !ok {
		a.sticky[key] = maps.Clone(ports)
	}
	a.version++
}

// Release frees the ports of uid. When another live instance of the same
// ordinal remains (a rollout's replacement), its ports become the
// ordinal's sticky ports. It reports whether uid held anything.
func (a *portAllocator) release(uid string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	al, ok := a.live[uid]
	if !ok {
		return false
	}
	delete(a.live, uid)
	if other, ok := a.newestLocked(al.key, uid); ok {
		a.sticky[al.key] = maps.Clone(other.ports)
	}
	a.version++
	return true
}

// newestLocked returns the newest live instance of key other than uid.
func (a *portAllocator) newestLocked(key portKey, uid string) (portAlloc, bool) {
	var best portAlloc
	found := false
	for u, al := range a.live {
		if u != uid && al.key == key && (!found || al.seq > best.seq) {
			best, found = al, true
		}
	}
	return best, found
}

// holder returns the instance of another app than app that holds port,
// if any.
func (a *portAllocator) holder(port int32, app string) (holderApp string, ordinal int, uid string, ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for u, al := range a.live {
		if al.key.App == app {
			continue
		}
		for _, p := range al.ports {
			if p == port {
				return al.key.App, al.key.Ordinal, u, true
			}
		}
	}
	return "", 0, "", false
}
