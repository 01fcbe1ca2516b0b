package v1alpha1

import (
	"fmt"
	"iter"
	"math"
	"strings"
)

// Bounds on what $(VAR) expansion may make of a manifest. Env values that
// reference each other several times each grow geometrically: a 1 KB file
// can ask for gigabytes. Both bounds sit well below the kernel's (an
// execve string is at most 128 KiB, argv and environment together about
// 2 MiB by default), so a start fails with a reason naming the field
// rather than with E2BIG, and the daemon never builds the huge value.
const (
	// MaxExpandedValue is the most bytes one env value, command argument
	// or exec probe argument may have once expanded.
	MaxExpandedValue = 64 << 10
	// MaxExpandedTotal is the most bytes the expanded entries of spec.env
	// (NAME=value) and one command's arguments (spec.command, or an exec
	// probe's) may have together.
	MaxExpandedTotal = 1 << 20
)

// ExpandTooLongError is a $(VAR) expansion over a bound. Its message gives
// sizes only, never the value.
type ExpandTooLongError struct {
	Size  int // the expanded size, saturated at math.MaxInt
	Limit int
	Total bool // the bound is MaxExpandedTotal, not MaxExpandedValue
}

func (e *ExpandTooLongError) Error() string {
	if e.Total {
		return fmt.Sprintf("the expanded env entries and arguments reach %s, over the bound of %s ($(VAR) references)",
			sizeText(e.Size), sizeText(e.Limit))
	}
	return fmt.Sprintf("expands to %s, over the bound of %s ($(VAR) references)", sizeText(e.Size), sizeText(e.Limit))
}

// sizeText is a byte count for a message: "70000 bytes", "more than 8 EiB".
func sizeText(n int) string {
	if n == math.MaxInt {
		return "more than 8 EiB"
	}
	return fmt.Sprintf("%d bytes", n)
}

// expandPieces walks s as $(VAR) expansion reads it, yielding each piece
// of the result: literal text (ref false) or the name of a reference (ref
// true). $$ is an escaped $, any other $ is kept, an unclosed "$(" is kept
// as written: the rules of Kubernetes' command and env expansion.
func expandPieces(s string) iter.Seq2[string, bool] {
	return func(yield func(string, bool) bool) {
		for s != "" {
			i := strings.IndexByte(s, '$')
			if i < 0 || i+1 == len(s) {
				yield(s, false)
				return
			}
			if i > 0 && !yield(s[:i], false) {
				return
			}
			switch s[i+1] {
			case '$':
				if !yield("$", false) {
					return
				}
				s = s[i+2:]
			case '(':
				end := strings.IndexByte(s[i+2:], ')')
				if end < 0 {
					yield(s[i:], false)
					return
				}
				if !yield(s[i+2:i+2+end], true) {
					return
				}
				s = s[i+3+end:]
			default:
				if !yield("$", false) {
					return
				}
				s = s[i+1:]
			}
		}
	}
}

// ExpandedLen is the length of s once expanded, lookupLen giving the
// length of each variable it knows (a reference it does not know stays as
// written). It saturates at math.MaxInt and builds nothing, so a
// geometric expansion is measured before anything is allocated.
func ExpandedLen(s string, lookupLen func(string) (int, bool)) int {
	n := 0
	for piece, ref := range expandPieces(s) {
		size := len(piece)
		if ref {
			var ok bool
			if size, ok = lookupLen(piece); !ok {
				size = len("$()") + len(piece)
			}
		}
		n = satAdd(n, size)
	}
	return n
}

// Expand replaces the $(VAR) references in s with lookup's values (see
// expandPieces for the rules). Over limit bytes it builds nothing and
// returns an *ExpandTooLongError.
func Expand(s string, lookup func(string) (string, bool), limit int) (string, error) {
	if !strings.Contains(s, "$") {
		if len(s) > limit {
			return "", &ExpandTooLongError{Size: len(s), Limit: limit}
		}
		return s, nil
	}
	n := ExpandedLen(s, func(name string) (int, bool) {
		v, ok := lookup(name)
		return len(v), ok
	})
	if n > limit {
		return "", &ExpandTooLongError{Size: n, Limit: limit}
	}
	var b strings.Builder
	b.Grow(n)
	for piece, ref := range expandPieces(s) {
		if !ref {
			b.WriteString(piece)
		} else if v, ok := lookup(piece); ok {
			b.WriteString(v)
		} else {
			b.WriteString("$(" + piece + ")")
		}
	}
	return b.String(), nil
}

// satAdd adds two non-negative ints, saturating at math.MaxInt.
func satAdd(a, b int) int {
	if a > math.MaxInt-b {
		return math.MaxInt
	}
	return a + b
}
