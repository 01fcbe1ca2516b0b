package procfs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// tcpListen is the st column of a LISTEN socket in /proc/net/tcp{,6}.
const tcpListen = "0A"

// A ListenFunc receives one TCP LISTEN socket: its local port and the
// inode of the socket (what /proc/<pid>/fd/N links to as "socket:[inode]").
// The sampler maps inodes to ports, the port allocator keeps the ports.
type ListenFunc func(port int32, inode uint64)

// ProcListenSockets reads procNet/tcp and tcp6 and calls fn for each LISTEN
// socket. A missing tcp6 (IPv6 disabled) is no error.
func ProcListenSockets(procNet string, fn ListenFunc) error {
	for _, name := range []string{"tcp", "tcp6"} {
		data, err := os.ReadFile(filepath.Join(procNet, name))
		if errors.Is(err, fs.ErrNotExist) && name == "tcp6" {
			continue
		}
		if err != nil {
			return fmt.Errorf("host listeners: %w", err)
		}
		ParseListenSockets(data, fn)
	}
	return nil
}

// The sock_diag protocol (linux/inet_diag.h), which x/sys/unix lacks.
const (
	tcpStateListen      = 10 // TCP_LISTEN
	sizeofInetDiagReq   = 56 // struct inet_diag_req_v2
	inetDiagMsgPortOff  = 4  // struct inet_diag_msg: id.idiag_sport, big endian
	inetDiagMsgInodeOff = 68 // struct inet_diag_msg: idiag_inode, native endian
	sizeofInetDiagMsg   = 72
	diagBufSize         = 32 << 10 // the kernel's dump messages are at most 32 KiB
)

// DiagListenSockets calls fn for every TCP LISTEN socket, IPv4 and IPv6,
// with a sock_diag dump each (what ss -ltn does). The kernel walks only
// its listening hash, however many connections the host has. buf, if not
// nil, is the receive buffer (diagBufSize bytes), reused by a caller that
// asks often.
func DiagListenSockets(buf []byte, fn ListenFunc) error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return fmt.Errorf("sock_diag: %w", err)
	}
	defer unix.Close(fd)
	if len(buf) < diagBufSize {
		buf = make([]byte, diagBufSize)
	}
	for i, family := range []byte{unix.AF_INET, unix.AF_INET6} {
		if err := diagDump(fd, uint32(i+1), family, fn, buf); err != nil {
			return fmt.Errorf("sock_diag: %w", err)
		}
	}
	return nil
}

// diagDump asks for the LISTEN sockets of family and reads the answer up
// to its NLMSG_DONE.
func diagDump(fd int, seq uint32, family byte, fn ListenFunc, buf []byte) error {
	ne := binary.NativeEndian
	var req [unix.SizeofNlMsghdr + sizeofInetDiagReq]byte
	ne.PutUint32(req[0:], uint32(len(req)))
	ne.PutUint16(req[4:], unix.SOCK_DIAG_BY_FAMILY)
	ne.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	ne.PutUint32(req[8:], seq)
	r := req[unix.SizeofNlMsghdr:]
	r[0], r[1] = family, unix.IPPROTO_TCP
	ne.PutUint32(r[4:], 1<<tcpStateListen)
	if err := unix.Sendto(fd, req[:], 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return err
		}
		for msgs := buf[:n]; len(msgs) >= unix.SizeofNlMsghdr; {
			l := int(ne.Uint32(msgs[0:]))
			if l < unix.SizeofNlMsghdr || l > len(msgs) {
				return errors.New("malformed netlink message")
			}
			typ, body := ne.Uint16(msgs[4:]), msgs[unix.SizeofNlMsghdr:l]
			switch {
			case ne.Uint32(msgs[8:]) != seq:
			case typ == unix.NLMSG_DONE:
				return nil
			case typ == unix.NLMSG_ERROR:
				if len(body) >= 4 {
					if errno := -int32(ne.Uint32(body)); errno != 0 {
						return unix.Errno(errno)
					}
				}
				return errors.New("unexpected netlink ack")
			case typ == unix.SOCK_DIAG_BY_FAMILY && len(body) >= sizeofInetDiagMsg:
				fn(int32(binary.BigEndian.Uint16(body[inetDiagMsgPortOff:])), uint64(ne.Uint32(body[inetDiagMsgInodeOff:])))
			}
			l = (l + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1)
			if l >= len(msgs) {
				break
			}
			msgs = msgs[l:]
		}
	}
}

// ParseListenSockets calls fn for every LISTEN row of a /proc/net/tcp{,6}
// table. A row reads
// "  0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5001 ...":
// slot, local address:port (hex), remote address:port, state, queues,
// timer, retransmits, uid, timeout, inode. The header and malformed rows
// are skipped; a row cut before its inode gives inode 0.
func ParseListenSockets(data []byte, fn ListenFunc) {
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		var f [10][]byte
		n := 0
		next := func() bool {
			line = bytes.TrimLeft(line, " \t")
			if len(line) == 0 {
				return false
			}
			end := bytes.IndexAny(line, " \t")
			if end < 0 {
				end = len(line)
			}
			f[n], line = line[:end], line[end:]
			n++
			return true
		}
		for n < 4 && next() {
		}
		if n < 4 || string(f[3]) != tcpListen {
			continue // the rest of a row is read only for LISTEN rows
		}
		i := bytes.LastIndexByte(f[1], ':')
		if i < 0 {
			continue
		}
		p, ok := parseHex16(f[1][i+1:])
		if !ok {
			continue
		}
		for n < len(f) && next() {
		}
		var inode uint64
		if n == len(f) {
			inode, _ = parseDecimal(f[9])
		}
		fn(int32(p), inode)
	}
}

// parseHex16 parses 1-4 hex digits.
func parseHex16(b []byte) (uint16, bool) {
	if len(b) == 0 || len(b) > 4 {
		return 0, false
	}
	var v uint16
	for _, c := range b {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		default:
			return 0, false
		}
		v = v<<4 | uint16(d)
	}
	return v, true
}
