package v1alpha1

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"time"
)

// The kinds a manifest may hold. Each document's kind field chooses the
// Go type it is bound to (App, Job or CronJob); a Job and a CronJob are
// then carried as an App (jobs.go), so that DecodeFile returns []App
// whatever the kinds. A document without a kind field is bound as an App
// (whose validation then says kind is required).
var (
	jobType     = reflect.TypeFor[Job]()
	cronJobType = reflect.TypeFor[CronJob]()
)

// kindsText lists the kinds a document may have, for errors.
const kindsText = "App, Job or CronJob"

// documentType is the type a document's kind field chooses. A kind that
// is not one of kindsText is an error at field kind, and the type is that
// of the kind it is closest to (a misspelling), or nil.
func documentType(root *node, b *binder) reflect.Type {
	if root.kind != kindObject {
		return appType // bind says what is wrong with it
	}
	for _, f := range root.fields {
		if f.key != "kind" {
			continue
		}
		var kind string
		switch f.val.kind {
		case kindString:
			kind = f.val.str
		case kindNumber, kindBool:
			kind = f.val.text
		default:
			return appType // null, a list, an object: bind reports it
		}
		switch kind {
		case KindApp:
			return appType
		case KindJob:
			return jobType
		case KindCronJob:
			return cronJobType
		}
		b.lines["kind"] = f.line
		b.errorf("kind", f.line, "%s is not a supported kind (want %s)", quote(kind), kindsText)
		// A misspelt kind is bound as the kind it was likely meant to be,
		// so that one pass reports the rest of the document too.
		for _, k := range []struct {
			name string
			t    reflect.Type
		}{{KindApp, appType}, {KindJob, jobType}, {KindCronJob, cronJobType}} {
			if editDistance(strings.ToLower(kind), strings.ToLower(k.name)) <= 1 {
				return k.t
			}
		}
		return nil
	}
	return appType
}

// decodeObject decodes the bound JSON value v of a document as type t
// into app, the App the daemon carries: the App itself, or a Job's or
// CronJob's carrier (Carrier). Its status is dropped. (app is the
// caller's, so that an App is decoded in place, with no copy.)
func decodeObject(v any, t reflect.Type, app *App) error {
	if assignObject(v, t, app) {
		app.Status = nil
		return nil
	}
	*app = App{} // what assignObject set before it gave up
	return decodeObjectJSON(v, t, app)
}

// assignObject is decodeObject through assignBound; false when that
// takes the round trip.
func assignObject(v any, t reflect.Type, app *App) bool {
	switch t {
	case jobType:
		var j Job
		if !assignBound(reflect.ValueOf(&j).Elem(), v) {
			return false
		}
		*app = j.Carrier()
	case cronJobType:
		var c CronJob
		if !assignBound(reflect.ValueOf(&c).Elem(), v) {
			return false
		}
		*app = c.Carrier()
	default:
		return assignBound(reflect.ValueOf(app).Elem(), v)
	}
	return true
}

// decodeObjectJSON is decodeObject through encoding/json: marshal v,
// decode the text.
func decodeObjectJSON(v any, t reflect.Type, app *App) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	switch t {
	case jobType:
		var j Job
		if err := dec.Decode(&j); err != nil {
			return err
		}
		*app = j.Carrier()
	case cronJobType:
		var c CronJob
		if err := dec.Decode(&c); err != nil {
			return err
		}
		*app = c.Carrier()
	default:
		if err := dec.Decode(app); err != nil {
			return err
		}
	}
	app.Status = nil
	return nil
}

// dropDaemonMetadata clears what the daemon sets in an object's metadata.
func dropDaemonMetadata(m *ObjectMeta) {
	m.Generation = 0
	m.CreationTimestamp = time.Time{}
}
