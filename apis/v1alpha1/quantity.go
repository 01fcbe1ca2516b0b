package v1alpha1

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"strings"
)

// Quantity is a Kubernetes resource quantity as written: "256Mi", "1G",
// "500m". Value and MilliValue parse it; validation rejects what they cannot.
//
// The grammar is Kubernetes': an optional sign, a decimal number ("1",
// "1.5", ".5"), then either a suffix — binary Ki Mi Gi Ti Pi Ei, decimal
// n u m k M G T P E, or none — or a decimal exponent ("1e3", "5E-3"). The
// empty Quantity means "not set" and is 0.
type Quantity string

// Limits that keep parsing cheap whatever the input: no quantity anyone
// means has more digits or a larger exponent than this.
const (
	maxQuantityDigits   = 40
	maxQuantityExponent = 40
)

var errQuantityRange = errors.New("out of range")

// Value returns the quantity as an integer, rounded up ("500m" is 1, "1Ki"
// is 1024), as Kubernetes' Quantity.Value does.
func (q Quantity) Value() (int64, error) { return q.scaled(1) }

// MilliValue returns the quantity in thousandths, rounded up ("500m" is
// 500, "2" is 2000): the unit of CPU limits.
func (q Quantity) MilliValue() (int64, error) { return q.scaled(1000) }

func (q Quantity) scaled(unit int64) (int64, error) {
	if q == "" {
		return 0, nil
	}
	if n, ok := scaledFast(string(q), unit); ok {
		return n, nil
	}
	r, err := parseQuantity(string(q))
	if err != nil {
		return 0, err
	}
	r.Mul(r, new(big.Rat).SetInt64(unit))
	n := ratCeil(r)
	if !n.IsInt64() {
		return 0, fmt.Errorf("quantity %s: %w", quote(string(q)), errQuantityRange)
	}
	return n.Int64(), nil
}

// scaledFast is scaled for what manifests hold: digits and a suffix (or
// none), without big numbers; a thousand apps' decode parsed their
// quantities with math/big a fifth of its allocations. ok is false for
// every other form (a sign, a point, an exponent, more than 18 digits, an
// unknown suffix) and when the result overflows: parseQuantity then says
// what the value is or why it is wrong.
func scaledFast(s string, unit int64) (int64, bool) {
	var n uint64
	i := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if i == 18 {
			return 0, false
		}
		n = n*10 + uint64(s[i]-'0')
	}
	m, known := quantitySuffixes[s[i:]]
	if i == 0 || !known || unit <= 0 {
		return 0, false
	}
	mult, div := uint64(1), uint64(1)
	for range m.exp {
		mult *= uint64(m.base) // at most 2^60 or 10^18
	}
	for range -m.exp {
		div *= 10 // at most 10^9
	}
	hi, v := bits.Mul64(n, mult)
	if hi != 0 {
		return 0, false
	}
	if hi, v = bits.Mul64(v, uint64(unit)); hi != 0 || v > math.MaxInt64 {
		return 0, false
	}
	return int64((v + div - 1) / div), true // rounded up, as ratCeil
}

// ratCeil returns the smallest integer >= r.
func ratCeil(r *big.Rat) *big.Int {
	q, m := new(big.Int).QuoRem(r.Num(), r.Denom(), new(big.Int))
	if m.Sign() > 0 {
		q.Add(q, big.NewInt(1))
	}
	return q
}

// quantitySuffixes maps a suffix to its multiplier as (base, exponent).
var quantitySuffixes = map[string]struct{ base, exp int64 }{
	"":   {10, 0},
	"n":  {10, -9},
	"u":  {10, -6},
	"m":  {10, -3},
	"k":  {10, 3},
	"M":  {10, 6},
	"G":  {10, 9},
	"T":  {10, 12},
	"P":  {10, 15},
	"E":  {10, 18},
	"Ki": {2, 10},
	"Mi": {2, 20},
	"Gi": {2, 30},
	"Ti": {2, 40},
	"Pi": {2, 50},
	"Ei": {2, 60},
}

// parseQuantity parses s exactly into a rational number.
func parseQuantity(s string) (*big.Rat, error) {
	bad := func(why string) error {
		return fmt.Errorf("%s is not a quantity (%s; want e.g. \"256Mi\", \"1G\", \"500m\")", quote(s), why)
	}
	rest := s
	neg := false
	if rest != "" && (rest[0] == '+' || rest[0] == '-') {
		neg = rest[0] == '-'
		rest = rest[1:]
	}
	// The number: digits with at most one decimal point.
	var digits strings.Builder
	frac, i, seenDigit, seenPoint := 0, 0, false, false
	for ; i < len(rest); i++ {
		c := rest[i]
		if c >= '0' && c <= '9' {
			digits.WriteByte(c)
			seenDigit = true
			if seenPoint {
				frac++
			}
			continue
		}
		if c == '.' && !seenPoint {
			seenPoint = true
			continue
		}
		break
	}
	if !seenDigit {
		return nil, bad("no number")
	}
	if digits.Len() > maxQuantityDigits {
		return nil, bad("too many digits")
	}
	suffix := rest[i:]
	var base, exp int64 = 10, 0
	if m, ok := quantitySuffixes[suffix]; ok {
		base, exp = m.base, m.exp
	} else if suffix[0] == 'e' || suffix[0] == 'E' {
		e, ok := parseSmallInt(suffix[1:])
		if !ok {
			return nil, bad("unknown suffix " + suffix)
		}
		exp = e
	} else {
		return nil, bad("unknown suffix " + suffix)
	}

	mant, _ := new(big.Int).SetString(digits.String(), 10)
	r := new(big.Rat).SetInt(mant)
	r.Mul(r, ratPow(10, -int64(frac)))
	r.Mul(r, ratPow(base, exp))
	if neg {
		r.Neg(r)
	}
	return r, nil
}

// parseSmallInt parses an optionally signed decimal exponent within
// ±maxQuantityExponent.
func parseSmallInt(s string) (int64, bool) {
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "" || len(s) > 3 {
		return 0, false
	}
	var n int64
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if n > maxQuantityExponent {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

// ratPow returns base**exp for a small exponent of either sign.
func ratPow(base, exp int64) *big.Rat {
	abs := exp
	if abs < 0 {
		abs = -abs
	}
	p := new(big.Int).Exp(big.NewInt(base), big.NewInt(abs), nil)
	if exp < 0 {
		return new(big.Rat).SetFrac(big.NewInt(1), p)
	}
	return new(big.Rat).SetInt(p)
}
