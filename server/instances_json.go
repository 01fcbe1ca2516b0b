package server

import (
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"proclet.dev/proclet/apis/v1alpha1"
)

// The instance lists are the API's largest answers and the ones tools poll
// (a thousand instances: ~450 KB). They are written by hand, byte for byte
// what writeJSON's encoding/json writes (indented by two spaces, no HTML
// escaping, a final newline), at a fraction of its cost: no reflection, no
// second pass to indent, one buffer reused. TestInstanceJSON_MatchesEncodingJSON
// holds the two together, every field of v1alpha1.Instance included: a new
// field fails it until it is written here too.

// maxKeptListBuffer is the largest buffer kept for the next list.
const maxKeptListBuffer = 4 << 20

// writeInstances answers 200 with {"items": insts}, written into the
// buffer the last list left (one at most is kept).
func (s *Server) writeInstances(w http.ResponseWriter, insts []v1alpha1.Instance) {
	var b []byte
	if bp := s.listBuffer.Swap(nil); bp != nil {
		b = (*bp)[:0]
	}
	b = appendInstanceList(b, insts)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b) // the client went away; nothing to do
	if cap(b) <= maxKeptListBuffer {
		s.listBuffer.Store(&b)
	}
}

// appendInstanceList appends {"items": insts} and a newline.
func appendInstanceList(b []byte, insts []v1alpha1.Instance) []byte {
	if insts == nil {
		return append(b, "{\n  \"items\": null\n}\n"...)
	}
	if len(insts) == 0 {
		return append(b, "{\n  \"items\": []\n}\n"...)
	}
	b = slices.Grow(b, 480*len(insts))
	b = append(b, "{\n  \"items\": ["...)
	for i := range insts {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n    "...)
		b = appendInstance(b, &insts[i])
	}
	return append(b, "\n  ]\n}\n"...)
}

// appendInstance appends one instance of a list: its fields at depth 3,
// in the order and with the omitempty of v1alpha1.Instance's tags.
func appendInstance(b []byte, in *v1alpha1.Instance) []byte {
	const ind = "\n      "
	b = append(b, "{"+ind+`"name": `...)
	b = appendString(b, in.Name)
	b = append(b, ","+ind+`"app": `...)
	b = appendString(b, in.App)
	b = append(b, ","+ind+`"uid": `...)
	b = appendString(b, in.UID)
	b = append(b, ","+ind+`"revision": `...)
	b = appendString(b, in.Revision)
	b = append(b, ","+ind+`"phase": `...)
	b = appendString(b, string(in.Phase))
	if in.Reason != "" {
		b = append(b, ","+ind+`"reason": `...)
		b = appendString(b, in.Reason)
	}
	if in.Message != "" {
		b = append(b, ","+ind+`"message": `...)
		b = appendString(b, in.Message)
	}
	b = append(b, ","+ind+`"ready": `...)
	b = strconv.AppendBool(b, in.Ready)
	b = append(b, ","+ind+`"pid": `...)
	b = strconv.AppendInt(b, int64(in.PID), 10)
	b = append(b, ","+ind+`"ports": `...)
	b = appendPorts(b, in.Ports)
	b = append(b, ","+ind+`"listening": `...)
	b = appendInt32s(b, in.Listening)
	b = append(b, ","+ind+`"restarts": `...)
	b = strconv.AppendInt(b, int64(in.Restarts), 10)
	b = append(b, ","+ind+`"startedAt": `...)
	b = appendTimePtr(b, in.StartedAt)
	b = append(b, ","+ind+`"nextStartAt": `...)
	b = appendTimePtr(b, in.NextStartAt)
	b = append(b, ","+ind+`"lastExit": `...)
	b = appendExit(b, in.LastExit)
	b = append(b, ","+ind+`"cpuPercent": `...)
	b = appendFloat(b, in.CPUPercent)
	b = append(b, ","+ind+`"memoryBytes": `...)
	b = strconv.AppendUint(b, in.MemoryBytes, 10)
	b = append(b, ","+ind+`"cpuSeconds": `...)
	b = appendFloat(b, in.CPUSeconds)
	return append(b, "\n    }"...)
}

// appendPorts appends a ports map at depth 4, keys sorted.
func appendPorts(b []byte, ports map[string]int32) []byte {
	switch {
	case ports == nil:
		return append(b, "null"...)
	case len(ports) == 0:
		return append(b, "{}"...)
	}
	keys := make([]string, 0, len(ports))
	for k := range ports {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, strings.Compare)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n        "...)
		b = appendString(b, k)
		b = append(b, ": "...)
		b = strconv.AppendInt(b, int64(ports[k]), 10)
	}
	return append(b, "\n      }"...)
}

// appendInt32s appends a list of numbers at depth 4.
func appendInt32s(b []byte, ns []int32) []byte {
	switch {
	case ns == nil:
		return append(b, "null"...)
	case len(ns) == 0:
		return append(b, "[]"...)
	}
	b = append(b, '[')
	for i, n := range ns {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n        "...)
		b = strconv.AppendInt(b, int64(n), 10)
	}
	return append(b, "\n      ]"...)
}

// appendExit appends a last exit at depth 4.
func appendExit(b []byte, e *v1alpha1.ExitStatus) []byte {
	if e == nil {
		return append(b, "null"...)
	}
	const ind = "\n        "
	b = append(b, "{"+ind+`"code": `...)
	b = strconv.AppendInt(b, int64(e.Code), 10)
	if e.Signal != "" {
		b = append(b, ","+ind+`"signal": `...)
		b = appendString(b, e.Signal)
	}
	b = append(b, ","+ind+`"reason": `...)
	b = appendString(b, e.Reason)
	b = append(b, ","+ind+`"at": `...)
	b = appendTime(b, e.At)
	return append(b, "\n      }"...)
}

func appendTimePtr(b []byte, t *time.Time) []byte {
	if t == nil {
		return append(b, "null"...)
	}
	return appendTime(b, *t)
}

// appendTime appends t as time.Time's MarshalJSON does (RFC 3339 with
// nanoseconds, quoted). MarshalJSON fails on a year outside 0-9999, and
// with it the whole answer; this writes the year as it is.
func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendFloat appends f as encoding/json does (ES6 number formatting). It
// writes NaN and infinities, which encoding/json refuses (failing the
// whole answer), as 0.
func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, '0')
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

// appendString appends s quoted as encoding/json does without HTML
// escaping: \" \\ \b \f \n \r \t, other control characters as \u00XX,
// invalid UTF-8 as \ufffd, U+2028 and U+2029 escaped.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
