package probe

import "bytes"

// quickResponse is a response header as the poller reads it: the status
// and the framing of the body, when the header is one it handles alone.
type quickResponse struct {
	code     int
	location string
	// body is how much of the body to read: min(Content-Length,
	// probeBodyLimit), or probeBodyLimit when it runs to the close.
	body  int64
	toEOF bool // no Content-Length: the body ends with the connection
}

// headerEnd is the length of the header at the start of b (status line
// and fields through the empty line), 0 when b holds no complete header.
// bare is set when a line ends in LF alone.
func headerEnd(b []byte) (n int, bare bool) {
	for i := 0; ; {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return 0, bare
		}
		j += i
		if j == 0 || b[j-1] != '\r' {
			bare = true
		}
		if j == i || (j == i+1 && b[i] == '\r') { // an empty line
			return j + 1, bare
		}
		i = j + 1
	}
}

// parseQuick parses the header h (through its empty line). ok is false
// when the response is not one the poller handles alone: anything but a
// well-formed HTTP/1.0 or 1.1 final response framed by Content-Length or
// the close. net/http reads those instead (the pool runs the probe
// again), with its own errors for the malformed ones.
func parseQuick(h []byte) (r quickResponse, ok bool) {
	line, rest, _ := bytes.Cut(h, []byte("\r\n"))
	if len(line) < 12 || !(bytes.HasPrefix(line, []byte("HTTP/1.1 ")) || bytes.HasPrefix(line, []byte("HTTP/1.0 "))) ||
		(len(line) > 12 && line[12] != ' ') {
		return r, false
	}
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return r, false
		}
		r.code = r.code*10 + int(c-'0')
	}
	if r.code < 200 || r.code > 599 {
		return r, false // informational (net/http skips them), or odd
	}
	cl, haveCL := int64(-1), false
	for len(rest) > 2 {
		var field []byte
		field, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		name, value, found := bytes.Cut(field, []byte(":"))
		if !found || !validHeaderName(name) || !validHeaderValue(value) {
			return r, false
		}
		value = bytes.Trim(value, " \t")
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, valid := parseLength(value)
			if haveCL || !valid {
				return r, false
			}
			cl, haveCL = n, true
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			return r, false
		case bytes.EqualFold(name, []byte("Location")):
			if r.location != "" {
				return r, false
			}
			r.location = string(value)
		}
	}
	switch {
	case r.code == 204 || r.code == 304:
		r.body = 0
	case haveCL:
		r.body = min(cl, probeBodyLimit)
	default:
		r.body, r.toEOF = probeBodyLimit, true
	}
	return r, true
}

// parseLength is a Content-Length: decimal digits only, below 2^62.
func parseLength(v []byte) (n int64, ok bool) {
	if len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}
