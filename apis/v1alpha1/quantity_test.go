package v1alpha1

import (
	"math/big"
	"strings"
	"testing"
)

func TestQuantity(t *testing.T) {
	tests := []struct {
		q     Quantity
		value int64
		milli int64
	}{
		{"", 0, 0},
		{"0", 0, 0},
		{"1", 1, 1000},
		{"1Ki", 1024, 1024000},
		{"256Mi", 256 << 20, 256 << 20 * 1000},
		{"1.5Gi", 3 << 29, 3 << 29 * 1000},
		{"2Ti", 2 << 40, 2 << 40 * 1000},
		{"1Pi", 1 << 50, 1 << 50 * 1000},
		{"1Ei", 1 << 60, -1},
		{"1k", 1000, 1000000},
		{"1M", 1000000, 1000000000},
		{"1G", 1000000000, 1000000000000},
		{"1T", 1000000000000, 1000000000000000},
		{"500m", 1, 500},
		{"100m", 1, 100},
		{"1500m", 2, 1500},
		{"0.5", 1, 500},
		{".5", 1, 500},
		{"1.", 1, 1000},
		{"100u", 1, 1},
		{"1n", 1, 1},
		{"1e3", 1000, 1000000},
		{"1E3", 1000, 1000000},
		{"5e-3", 1, 5},
		{"+2", 2, 2000},
		{"-2", -2, -2000},
		{"-500m", 0, -500},
	}
	for _, tt := range tests {
		v, err := tt.q.Value()
		if err != nil || v != tt.value {
			t.Errorf("%q.Value() = %d, %v; want %d", tt.q, v, err, tt.value)
		}
		m, err := tt.q.MilliValue()
		if tt.milli == -1 {
			if err == nil {
				t.Errorf("%q.MilliValue() = %d, want out of range", tt.q, m)
			}
			continue
		}
		if err != nil || m != tt.milli {
			t.Errorf("%q.MilliValue() = %d, %v; want %d", tt.q, m, err, tt.milli)
		}
	}
}

func TestQuantityErrors(t *testing.T) {
	for _, q := range []Quantity{
		"x", "Mi", "1mi", "1KB", "1 Mi", " 1", "1.2.3", "--1", "1e", "1e1000", "1e-1000", "1Zi", "1.5e3Mi",
		"8Ei", "1e40", Quantity(strings.Repeat("9", 41)),
	} {
		if v, err := q.Value(); err == nil {
			t.Errorf("%q.Value() = %d, want an error", q, v)
		}
	}
}

// The fast path agrees with the big-number parse wherever it answers, and
// declines (so the big-number parse answers, or says why not) on every
// other form: signs, points, exponents, 19 digits and more, overflow.
func TestScaledFast_AgreesWithParse(t *testing.T) {
	slow := func(s string, unit int64) (int64, error) {
		r, err := parseQuantity(s)
		if err != nil {
			return 0, err
		}
		r.Mul(r, new(big.Rat).SetInt64(unit))
		n := ratCeil(r)
		if !n.IsInt64() {
			return 0, errQuantityRange
		}
		return n.Int64(), nil
	}
	var inputs []string
	for suffix := range quantitySuffixes {
		for _, digits := range []string{"0", "1", "7", "999", "1500", "123456789", "999999999999999999", "9223372036854775807", "18446744073709551616"} {
			inputs = append(inputs, digits+suffix)
		}
	}
	inputs = append(inputs, "-1Mi", "+1", "1.5Gi", ".5", "1e3", "5E-3", "Mi", "", "1Xi", "1 Mi")
	answered := 0
	for _, s := range inputs {
		for _, unit := range []int64{1, 1000} {
			fast, ok := scaledFast(s, unit)
			want, err := slow(s, unit)
			if ok {
				answered++
				if err != nil || fast != want {
					t.Errorf("%q × %d: fast %d, the big-number parse %d (%v)", s, unit, fast, want, err)
				}
			}
		}
	}
	if answered < 150 {
		t.Errorf("the fast path answered %d of %d: it should answer digits and a suffix", answered, 2*len(inputs))
	}
	for _, s := range []string{"-1Mi", "1.5Gi", "1e3", "9223372036854775807", "9Ei"} {
		if _, ok := scaledFast(s, 1000); ok {
			t.Errorf("%q: the fast path answered a form it must leave to the big-number parse", s)
		}
	}
}
