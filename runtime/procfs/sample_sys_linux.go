package procfs

// The system calls of the sampler's pass, on byte paths. A pass makes
// three of them per process of the host; x/sys/unix would copy each Go
// string path to terminate it with a NUL, one allocation per call.

import (
	"bytes"
	"encoding/binary"
	"unsafe"

	"golang.org/x/sys/unix"
)

// openat opens path, NUL-terminated, relative to dirfd.
func openat(dirfd int, path []byte, flags int) (int, error) {
	if len(path) == 0 || path[len(path)-1] != 0 {
		return -1, unix.EINVAL
	}
	for {
		fd, _, errno := unix.Syscall6(unix.SYS_OPENAT, uintptr(dirfd), uintptr(unsafe.Pointer(&path[0])),
			uintptr(flags), 0, 0, 0)
		switch errno {
		case 0:
			return int(fd), nil
		case unix.EINTR:
			continue
		}
		return -1, errno
	}
}

// readlinkat reads the target of the link path, NUL-terminated, relative
// to dirfd into buf, and returns its length (at most len(buf): longer
// targets are cut).
func readlinkat(dirfd int, path, buf []byte) (int, error) {
	if len(path) == 0 || path[len(path)-1] != 0 || len(buf) == 0 {
		return 0, unix.EINVAL
	}
	n, _, errno := unix.Syscall6(unix.SYS_READLINKAT, uintptr(dirfd), uintptr(unsafe.Pointer(&path[0])),
		uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// ReadDirents calls fn with the name, NUL-terminated, the inode number and
// the offset of the next entry (d_off) of every entry of the directory
// open as fd ("." and ".." included), reading with getdents into buf from
// the directory's offset, until fn returns false. name is valid only
// during the call.
func ReadDirents(fd int, buf []byte, fn func(name []byte, ino uint64, off int64) bool) error {
	// struct linux_dirent64: d_ino u64, d_off s64, d_reclen u16, d_type
	// u8, d_name (NUL-terminated, padded to reclen).
	const nameOff = 19
	ne := binary.NativeEndian
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n <= 0 {
			return nil
		}
		for b := buf[:n]; len(b) >= nameOff; {
			reclen := int(ne.Uint16(b[16:]))
			if reclen <= nameOff || reclen > len(b) {
				break
			}
			name := b[nameOff:reclen]
			if i := bytes.IndexByte(name, 0); i > 0 {
				if !fn(name[:i+1], ne.Uint64(b), int64(ne.Uint64(b[8:]))) {
					return nil
				}
			}
			b = b[reclen:]
		}
	}
}
