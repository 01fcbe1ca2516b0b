package v1alpha1

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/go-playground/validator/v10"
)

// ErrInvalid is what every ErrorList is (errors.Is): a manifest that does
// not parse or validate.
var ErrInvalid = errors.New("invalid manifest")

// Validate checks one App against the rules of docs/manifests.md: the validator
// tags on the types plus the rules that span fields (rules.go). It expects
// a defaulted App (see Default) and returns every problem with its field
// path; File and Line are left for the caller. Problems that span apps
// (dependency cycles) are ValidateSet's. A carried Job or CronJob is
// validated as the object of its kind (AsJob, AsCronJob), its field paths
// those of its file (spec.jobTemplate.spec.command).
func Validate(app *App) ErrorList {
	var errs ErrorList
	var obj any = app
	if j := app.AsJob(); j != nil {
		obj = j
	} else if c := app.AsCronJob(); c != nil {
		obj = c
	}
	if err := structValidator.Struct(obj); err != nil {
		var ves validator.ValidationErrors
		if !errors.As(err, &ves) {
			return ErrorList{{Reason: ReasonInvalid, Message: err.Error()}}
		}
		for _, fe := range ves {
			errs = append(errs, &FileError{Field: fieldPath(fe), Reason: ReasonInvalid, Message: message(fe)})
		}
	}
	errs = append(errs, handRules(app)...)
	sort.SliceStable(errs, func(i, j int) bool { return pathLess(errs[i].Field, errs[j].Field) })
	return errs
}

// pathLess orders field paths as a reader scans a file: list indexes by
// number ("ports[2]" before "ports[10]"), the rest by text.
func pathLess(a, b string) bool {
	for a != "" && b != "" {
		i := strings.IndexFunc(a, isDigit)
		j := strings.IndexFunc(b, isDigit)
		if i < 0 || j < 0 || a[:i] != b[:j] {
			return a < b
		}
		a, b = a[i:], b[j:]
		na, ra := leadingNumber(a)
		nb, rb := leadingNumber(b)
		if na != nb {
			return na < nb
		}
		a, b = ra, rb
	}
	return len(a) < len(b)
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

// leadingNumber splits a string that starts with digits.
func leadingNumber(s string) (int, string) {
	n, i := 0, 0
	for ; i < len(s) && isDigit(rune(s[i])); i++ {
		if n < 1<<30 {
			n = n*10 + int(s[i]-'0')
		}
	}
	return n, s[i:]
}

// structValidator is the one shared validator (its docs recommend a single
// instance: it caches struct metadata).
var structValidator = newValidator()

// inlineName names embedded structs (Probe's ProbeHandler) in validator
// namespaces; fieldPath removes it, as JSON inlines their fields.
const inlineName = "\x00inline"

// stringCheckers back the custom tags on string-kinded fields.
var stringCheckers = map[string]func(string) error{
	"dns1123label": checkDNS1123Label,
	"portname":     checkPortName,
	"envname":      checkEnvName,
	"labelkey":     checkLabelKey,
	"labelvalue":   checkLabelValue,
	"nonul":        checkNoNUL,
	"httppath":     checkHTTPPath,
	"headername":   checkHeaderName,
	"headervalue":  checkHeaderValue,
	"quantity":     checkQuantity,
	"signal":       checkSignal,
	"portrange":    checkPortRange,
}

// anyCheckers back the custom tags on IntOrString fields, which the
// validator sees as an int64 or a string (see the custom type func).
var anyCheckers = map[string]func(any) error{
	"probeport":    checkProbePort,
	"intorpercent": checkIntOrPercent,
}

func newValidator() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-":
			return "-"
		case name == "" && f.Anonymous:
			return inlineName
		case name == "":
			return f.Name
		}
		return name
	})
	v.RegisterCustomTypeFunc(func(f reflect.Value) any {
		ios := f.Interface().(IntOrString)
		if ios.IsString {
			return ios.StrVal
		}
		return int64(ios.IntVal)
	}, IntOrString{})
	v.RegisterCustomTypeFunc(func(f reflect.Value) any {
		return f.Interface().(Duration).Duration
	}, Duration{})
	for tag, check := range stringCheckers {
		mustRegister(v, tag, func(fl validator.FieldLevel) bool {
			return fl.Field().Kind() == reflect.String && check(fl.Field().String()) == nil
		})
	}
	for tag, check := range anyCheckers {
		mustRegister(v, tag, func(fl validator.FieldLevel) bool {
			return check(fl.Field().Interface()) == nil
		})
	}
	return v
}

func mustRegister(v *validator.Validate, tag string, fn validator.Func) {
	if err := v.RegisterValidation(tag, fn); err != nil {
		panic(fmt.Sprintf("register validation %q: %v", tag, err))
	}
}

// fieldPath turns the validator's namespace ("App.spec.ports[0].name") into
// our field path ("spec.ports[0].name").
func fieldPath(fe validator.FieldError) string {
	ns := fe.Namespace()
	if _, rest, ok := strings.Cut(ns, "."); ok {
		ns = rest
	}
	ns = strings.ReplaceAll(ns, "."+inlineName, "")
	return strings.ReplaceAll(ns, inlineName+".", "")
}

// message says what is wrong, in the words of docs/manifests.md.
func message(fe validator.FieldError) string {
	tag, param, val := fe.Tag(), fe.Param(), fe.Value()
	if check, ok := stringCheckers[tag]; ok {
		if err := check(fmt.Sprint(val)); err != nil {
			return err.Error()
		}
	}
	if check, ok := anyCheckers[tag]; ok {
		if err := check(val); err != nil {
			return err.Error()
		}
	}
	isNumber := false
	switch fe.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		isNumber = true
	}
	if d, ok := val.(time.Duration); ok {
		val = Duration{d}.String()
	}
	switch tag {
	case "required":
		return "required"
	case "eq":
		return fmt.Sprintf("%s is not supported (want %s)", quote(fmt.Sprint(val)), param)
	case "oneof":
		return fmt.Sprintf("%s is not one of %s", quote(fmt.Sprint(val)), strings.ReplaceAll(param, " ", ", "))
	case "min", "gte":
		if isNumber {
			return fmt.Sprintf("%v must be >= %s", val, param)
		}
		return fmt.Sprintf("must have at least %s item(s)", param)
	case "max", "lte":
		if isNumber {
			return fmt.Sprintf("%v must be <= %s", val, param)
		}
		return fmt.Sprintf("must have at most %s item(s)", param)
	case "gt":
		return fmt.Sprintf("%v must be greater than %s", val, param)
	case "hostname_rfc1123|ip":
		return fmt.Sprintf("%s is neither a host name nor an IP address", quote(fmt.Sprint(val)))
	}
	return fmt.Sprintf("%s fails %s", quote(fmt.Sprint(val)), tag)
}
