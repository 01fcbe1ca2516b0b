package v1alpha1

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// An error about a file goes to the API, the events and the daemon's log,
// and the file may not be a manifest at all: a link in the manifest folder
// to a key file put the key into all three ("want an object, got a string
// "..."). So an error repeats a value of the document only when it is a
// short token (a misspelt field, "three" for replicas); anything longer, or
// on several lines, is described by its size. A document that is one
// scalar, or an object with none of an App's fields, is not echoed at all
// (bind.go).

// maxQuoted is the longest value an error message repeats.
const maxQuoted = 32

// quote is s quoted for a message when it is a short, single-line token,
// else "a value of N bytes".
func quote(s string) string {
	if isToken(s) {
		return strconv.Quote(s)
	}
	return fmt.Sprintf("a value of %d bytes", len(s))
}

// isToken: at most maxQuoted printable ASCII characters.
func isToken(s string) bool {
	if len(s) > maxQuoted {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// number is a number as written when it is a short token (`1.5`), else
// its size: a thousand digits are not repeated.
func number(s string) string {
	if isToken(s) {
		return s
	}
	return fmt.Sprintf("a number of %d characters", len(s))
}

// safeKey is a key of the document as a field path shows it: as written
// when it is a short token, else "<key of N bytes>".
func safeKey(k string) string {
	if isToken(k) && !strings.ContainsAny(k, "[]") {
		return k
	}
	return fmt.Sprintf("<key of %d bytes>", len(k))
}

// safePath rewrites a field path so that every key in it is a safeKey:
// "spec.<key of 40 bytes>", "metadata.labels[team]". List indexes and the
// schema's own field names pass unchanged.
func safePath(p string) string {
	var b strings.Builder
	for p != "" {
		switch p[0] {
		case '.':
			b.WriteByte('.')
			p = p[1:]
		case '[':
			end := strings.IndexByte(p, ']')
			if end < 0 {
				end = len(p)
			}
			seg := p[1:end]
			if _, err := strconv.Atoi(seg); err == nil {
				b.WriteString("[" + seg + "]")
			} else {
				b.WriteString("[" + safeKey(seg) + "]")
			}
			p = p[min(end+1, len(p)):]
		default:
			end := strings.IndexAny(p, ".[")
			if end < 0 {
				end = len(p)
			}
			b.WriteString(safeKey(p[:end]))
			p = p[end:]
		}
	}
	return b.String()
}

// quotedSpan is a quoted stretch of a parser's message.
var quotedSpan = regexp.MustCompile("\"(?:[^\"\\\\]|\\\\.)*\"|'[^']*'|`[^`]*`")

// scrubSyntax replaces each quoted stretch of a parser's syntax error that
// is not a short token with its size: parsers may quote the text they
// stopped at.
func scrubSyntax(msg string) string {
	return quotedSpan.ReplaceAllStringFunc(msg, func(q string) string {
		if isToken(q[1 : len(q)-1]) {
			return q
		}
		return fmt.Sprintf("<%d bytes>", len(q)-2)
	})
}

// tomlKeyMsg is go-toml's message about a key given twice, which names the
// key unquoted.
var tomlKeyMsg = regexp.MustCompile(`^(key|table) (.+?) (is already defined|already exists)$`)

// scrubTOML is scrubSyntax for go-toml's messages.
func scrubTOML(msg string) string {
	if m := tomlKeyMsg.FindStringSubmatch(msg); m != nil {
		return m[1] + " " + safeKey(m[2]) + " " + m[3]
	}
	return scrubSyntax(msg)
}
