package v1alpha1

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// The checkers below each say what is wrong with one value, or nil. They
// back the custom validator tags (validate.go) and give their messages.

var (
	dns1123LabelRe = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	portNameRe     = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	envNameRe      = regexp.MustCompile(`^[-._a-zA-Z][-._a-zA-Z0-9]*$`)
	labelNameRe    = regexp.MustCompile(`^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`)
	headerNameRe   = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
)

// checkDNS1123Label: app names and dependsOn[].app.
func checkDNS1123Label(s string) error {
	if len(s) > 63 || !dns1123LabelRe.MatchString(s) {
		return fmt.Errorf("%s is not a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)", quote(s))
	}
	return nil
}

// checkDNS1123Subdomain: the prefix of a label key.
func checkDNS1123Subdomain(s string) error {
	if len(s) > 253 {
		return fmt.Errorf("%s is longer than 253 characters", quote(s))
	}
	for _, part := range strings.Split(s, ".") {
		if !dns1123LabelRe.MatchString(part) {
			return fmt.Errorf("%s is not a DNS-1123 subdomain (lowercase letters, digits, '-' and '.')", quote(s))
		}
	}
	return nil
}

// checkPortName is Kubernetes' IsValidPortName (an IANA service name): at
// most 15 lowercase letters, digits and '-', at least one letter, no '--'
// and no '-' at either end.
func checkPortName(s string) error {
	switch {
	case len(s) > 15:
		return fmt.Errorf("%s is not a port name (at most 15 characters)", quote(s))
	case !portNameRe.MatchString(s) || strings.Contains(s, "--"):
		return fmt.Errorf("%s is not a port name (lowercase letters, digits and single '-' inside, e.g. \"http\", \"metrics-2\")", quote(s))
	case !strings.ContainsAny(s, "abcdefghijklmnopqrstuvwxyz"):
		return fmt.Errorf("%s is not a port name (it needs at least one letter; a number must not be quoted)", quote(s))
	}
	return nil
}

// checkEnvName is Kubernetes' IsEnvVarName.
func checkEnvName(s string) error {
	if !envNameRe.MatchString(s) {
		return fmt.Errorf("%s is not an environment variable name (letters, digits, '_', '-' and '.', not starting with a digit)", quote(s))
	}
	return nil
}

// checkLabelKey is Kubernetes' qualified name: an optional DNS subdomain
// prefix and '/', then a name of at most 63 characters.
func checkLabelKey(s string) error {
	prefix, name, hasPrefix := strings.Cut(s, "/")
	if !hasPrefix {
		name = prefix
	} else if err := checkDNS1123Subdomain(prefix); err != nil {
		return fmt.Errorf("%s is not a valid key: prefix %w", quote(s), err)
	}
	if len(name) > 63 || !labelNameRe.MatchString(name) {
		return fmt.Errorf("%s is not a valid key (an optional DNS prefix and '/', then at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit)", quote(s))
	}
	return nil
}

// checkLabelValue is Kubernetes' label value: empty, or like a key's name.
func checkLabelValue(s string) error {
	if s != "" && (len(s) > 63 || !labelNameRe.MatchString(s)) {
		return fmt.Errorf("%s is not a valid label value (at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit)", quote(s))
	}
	return nil
}

// checkNoNUL: argv, environment and paths cannot hold a NUL byte.
func checkNoNUL(s string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return errors.New("must not contain a NUL byte")
	}
	return nil
}

// checkHTTPPath: a probe path is absolute.
func checkHTTPPath(s string) error {
	if !strings.HasPrefix(s, "/") || strings.ContainsAny(s, " \t\r\n\x00") {
		return fmt.Errorf("%s is not a URL path (it starts with '/' and has no spaces)", quote(s))
	}
	return nil
}

// checkHeaderName: an HTTP token.
func checkHeaderName(s string) error {
	if !headerNameRe.MatchString(s) {
		return fmt.Errorf("%s is not an HTTP header name", quote(s))
	}
	return nil
}

// checkHeaderValue: no line breaks or NUL.
func checkHeaderValue(s string) error {
	if strings.ContainsAny(s, "\r\n\x00") {
		return errors.New("must not contain a line break or NUL byte")
	}
	return nil
}

// checkQuantity: a quantity that parses and is positive.
func checkQuantity(s string) error {
	if v, ok := scaledFast(s, 1000); ok && v > 0 {
		return nil // digits and a suffix, within range (MilliValue's fast path)
	}
	r, err := parseQuantity(s)
	if err != nil {
		return err
	}
	if r.Sign() <= 0 {
		return fmt.Errorf("%s must be greater than zero", quote(s))
	}
	if _, err := Quantity(s).MilliValue(); err != nil {
		return fmt.Errorf("%s is too large", quote(s))
	}
	return nil
}

// checkSignal: a signal name ParseSignal knows.
func checkSignal(s string) error {
	_, err := ParseSignal(s)
	return err
}

// parsePortRange parses "LOW-HIGH" with 1 <= LOW <= HIGH <= 65535.
func parsePortRange(s string) (lo, hi int32, err error) {
	a, b, ok := strings.Cut(s, "-")
	l, errL := parsePortNumber(a)
	h, errH := parsePortNumber(b)
	switch {
	case !ok || errL != nil || errH != nil:
		return 0, 0, fmt.Errorf("%s is not a range (want LOW-HIGH, e.g. \"8000-8099\")", quote(s))
	case l < 1 || h < 1 || l > 65535 || h > 65535:
		return 0, 0, fmt.Errorf("%s is not a range (ports are 1-65535)", quote(s))
	case l > h:
		return 0, 0, fmt.Errorf("%s is not a range (low must be <= high)", quote(s))
	}
	return int32(l), int32(h), nil
}

// parsePortNumber parses plain decimal digits, at most 5.
func parsePortNumber(s string) (int, error) {
	if s == "" || len(s) > 5 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, errors.New("not a port number")
	}
	return strconv.Atoi(s)
}

func checkPortRange(s string) error {
	_, _, err := parsePortRange(s)
	return err
}

// checkProbePort: a port number 1-65535 or a port name (whether the name
// exists among the app's ports is a rule of its own).
func checkProbePort(v any) error {
	switch v := v.(type) {
	case int64:
		if v < 1 || v > 65535 {
			return fmt.Errorf("%d is not a port (want 1-65535 or a port name)", v)
		}
		return nil
	case string:
		if v == "" {
			return errors.New("required (a port number or a port name)")
		}
		return checkPortName(v)
	}
	return fmt.Errorf("want a port number or name, got %v", v)
}

// checkIntOrPercent: maxSurge and maxUnavailable are an integer >= 0 or a
// percentage "N%".
func checkIntOrPercent(v any) error {
	switch v := v.(type) {
	case int64:
		if v < 0 {
			return fmt.Errorf("%d must be >= 0", v)
		}
		return nil
	case string:
		n, ok := strings.CutSuffix(v, "%")
		if !ok || n == "" || strings.TrimLeft(n, "0123456789") != "" {
			return fmt.Errorf("%s is neither an integer >= 0 nor a percentage such as \"25%%\"", quote(v))
		}
		if len(n) > 6 {
			return fmt.Errorf("%s is too large a percentage", quote(v))
		}
		return nil
	}
	return fmt.Errorf("want an integer or a percentage, got %v", v)
}
