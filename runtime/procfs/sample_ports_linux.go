package procfs

// The ports half of a sampling pass: the host's listening sockets, and
// which of them an instance's processes hold.

import (
	"bytes"
	"maps"
	"slices"
	"strconv"

	"golang.org/x/sys/unix"
)

// youngPasses: a tree whose processes changed this few passes ago is
// scanned whenever the host gains a listening socket (a server that
// listens a moment after its start: the pass that saw it start scanned it
// before). On a busy host every pass gains one: this is what a mass start
// costs in fd scans afterwards.
const youngPasses = 1

// hostSockets reports the host's TCP LISTEN sockets over sock_diag, which
// walks only the kernel's listening hash, or else from procNet/tcp{,6},
// which walks every connection, TIME_WAIT included (milliseconds on a busy
// host: it was a quarter of the daemon's idle CPU). fn may see sockets of
// a failed sock_diag dump before those of the fallback.
func hostSockets(diagBuf []byte, procNet string, fn ListenFunc) error {
	if DiagListenSockets(diagBuf, fn) == nil {
		return nil
	}
	return ProcListenSockets(procNet, fn)
}

// readListening reads the host's listening sockets into s.listen, and
// bumps s.gainGen when there is one that was not there at the last pass.
// Sockets that cannot be read are taken as none.
func (s *Sampler) readListening() {
	clear(s.next)
	if err := s.sockets(func(port int32, inode uint64) {
		if inode != 0 {
			s.next[inode] = port
		}
	}); err != nil {
		clear(s.next)
	}
	if maps.Equal(s.next, s.listen) {
		return
	}
	for inode := range s.next {
		if _, ok := s.listen[inode]; !ok {
			s.gainGen++
			break
		}
	}
	s.listen, s.next = s.next, s.listen
}

// listeningFor returns the sorted TCP ports a's tree listens on. Reading
// every fd link of every process would cost more than the rest of the
// pass, and ports rarely change: the tree's fds are read again only when
// its set of processes changed, on a full pass (every fullPassEvery-th),
// or when the host gained a listening socket and the tree may have opened
// it: its CPU time moved since its last scan (listening takes system
// calls), or its processes changed less than youngPasses ago (a server
// starting up may not use a whole tick). A socket that went away needs no
// scan: the ports are those of the inodes found, still listening.
func (s *Sampler) listeningFor(dirfd int, a *instanceAccount, tree []procSample, full bool) []int32 {
	sum := treeSum(tree)
	if !a.scanned || a.treeSum != sum {
		a.changedAt = s.passes
	}
	gained := a.scanGen != s.gainGen && (a.ticks != a.scanTicks || s.passes-a.changedAt <= youngPasses)
	if !a.scanned || full || a.treeSum != sum || gained {
		a.sockets = s.scanSockets(dirfd, tree, a.sockets[:0])
		a.scanned, a.scanGen, a.scanTicks, a.treeSum = true, s.gainGen, a.ticks, sum
	}
	var ports []int32
	for _, inode := range a.sockets {
		if port, ok := s.listen[inode]; ok && !slices.Contains(ports, port) {
			ports = append(ports, port)
		}
	}
	slices.Sort(ports)
	return ports
}

// treeSum identifies a set of processes whatever their order.
func treeSum(tree []procSample) uint64 {
	var sum uint64
	for _, p := range tree {
		h := uint64(p.pid)*0x9E3779B97F4A7C15 ^ p.start*0xC2B2AE3D27D4EB4F
		sum += h ^ h>>29
	}
	return sum + uint64(len(tree))
}

// scanSockets appends to inodes those of the host's listening sockets
// (s.listen) that the tree's processes hold, through their open file
// descriptors (root is open as dirfd).
func (s *Sampler) scanSockets(dirfd int, tree []procSample, inodes []uint64) []uint64 {
	if len(s.listen) == 0 {
		return inodes
	}
	for _, p := range tree {
		s.path = append(strconv.AppendInt(s.path[:0], int64(p.pid), 10), "/fd\x00"...)
		fdDir, err := openat(dirfd, s.path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC)
		if err != nil {
			continue
		}
		ReadDirents(fdDir, s.dirents, func(name []byte, _ uint64, _ int64) bool {
			if name[0] == '.' {
				return true
			}
			n, err := readlinkat(fdDir, name, s.link)
			if err != nil {
				return true
			}
			l := s.link[:n]
			// "socket:[12345]"
			if !bytes.HasPrefix(l, []byte("socket:[")) || l[len(l)-1] != ']' {
				return true
			}
			if inode, ok := parseDecimal(l[8 : len(l)-1]); ok {
				if _, ok := s.listen[inode]; ok && !slices.Contains(inodes, inode) {
					inodes = append(inodes, inode)
				}
			}
			return true
		})
		unix.Close(fdDir)
	}
	return inodes
}
