package runtime

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

// hostListeners returns the TCP ports something on the host (in the
// daemon's network namespace) listens on, on any address, IPv4 or IPv6.
// It asks the kernel for its LISTEN sockets over sock_diag netlink, which
// walks only the listening hash: tens of microseconds. Where sock_diag is
// unavailable it reads procNet ("/proc/net") tcp and tcp6, which is
// correct but walks the whole established hash, empty buckets included:
// milliseconds per read on a host with a large table.
func hostListeners(procNet string) (*portSet, error) {
	set := new(portSet)
	if diagListeners(set) == nil {
		return set, nil
	}
	return set, procListeners(procNet, set)
}

// procListeners adds the LISTEN ports of procNet/tcp and tcp6 to set. A
// missing tcp6 (IPv6 disabled) is no error.
func procListeners(procNet string, set *portSet) error {
	for _, name := range []string{"tcp", "tcp6"} {
		data, err := os.ReadFile(filepath.Join(procNet, name))
		if errors.Is(err, fs.ErrNotExist) && name == "tcp6" {
			continue
		}
		if err != nil {
			return fmt.Errorf("host listeners: %w", err)
		}
		parseListeners(data, set)
	}
	return nil
}

// The sock_diag protocol (linux/inet_diag.h), which x/sys/unix lacks.
const (
	tcpStateListen     = 10 // TCP_LISTEN
	sizeofInetDiagReq  = 56 // struct inet_diag_req_v2
	inetDiagMsgPortOff = 4  // struct inet_diag_msg: id.idiag_sport, big endian
)

// diagListeners adds the ports of every TCP LISTEN socket, IPv4 and IPv6,
// to set with a sock_diag dump each (what ss -ltn does).
func diagListeners(set *portSet) error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return fmt.Errorf("sock_diag: %w", err)
	}
	defer unix.Close(fd)
	buf := make([]byte, 32<<10) // the kernel's dump messages are at most 32 KiB
	for i, family := range []byte{unix.AF_INET, unix.AF_INET6} {
		if err := diagDump(fd, uint32(i+1), family, set, buf); err != nil {
			return fmt.Errorf("sock_diag: %w", err)
		}
	}
	return nil
}

// diagDump asks for the LISTEN sockets of family and reads the answer up
// to its NLMSG_DONE.
func diagDump(fd int, seq uint32, family byte, set *portSet, buf []byte) error {
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
			case typ == unix.SOCK_DIAG_BY_FAMILY && len(body) >= inetDiagMsgPortOff+2:
				set.add(int32(binary.BigEndian.Uint16(body[inetDiagMsgPortOff:])))
			}
			l = (l + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1)
			if l >= len(msgs) {
				break
			}
			msgs = msgs[l:]
		}
	}
}

// parseListeners adds the local port of every LISTEN row of a
// /proc/net/tcp{,6} table to set. A row reads
// "  0: 0100007F:1F90 00000000:0000 0A ...": slot, local address:port
// (hex), remote address:port, state. The header and malformed rows are
// skipped.
func parseListeners(data []byte, set *portSet) {
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		var f [4][]byte
		n := 0
		for n < len(f) {
			line = bytes.TrimLeft(line, " \t")
			if len(line) == 0 {
				break
			}
			end := bytes.IndexAny(line, " \t")
			if end < 0 {
				end = len(line)
			}
			f[n], line = line[:end], line[end:]
			n++
		}
		if n < 4 || string(f[3]) != tcpListen {
			continue
		}
		i := bytes.LastIndexByte(f[1], ':')
		if i < 0 {
			continue
		}
		if p, ok := parseHex16(f[1][i+1:]); ok {
			set.add(int32(p))
		}
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
