package reconciler

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"proclet.dev/proclet/apis/v1alpha1"
)

func TestSameSourced(t *testing.T) {
	app := named("web", 2)
	v1alpha1.Default(app)
	a := v1alpha1.SourcedApp{App: *app, Path: "web.yaml", Dir: "/srv/m"}
	copyOf := a
	copyOf.Path, copyOf.Dir = string([]byte("web.yaml")), string([]byte("/srv/m")) // equal strings, other memory
	if !sameSourced(&a, &copyOf) {
		t.Error("a copy (the watcher's unchanged app) is not the same")
	}
	changed := a
	changed.App.Spec.Replicas = new(int32(3))
	if sameSourced(&a, &changed) {
		t.Error("an app with other replicas is the same")
	}
	moved := a
	moved.Path = "other.yaml"
	if sameSourced(&a, &moved) {
		t.Error("an app from another file is the same")
	}
	redecoded := a
	redecoded.App.Spec.Command = append([]string(nil), a.App.Spec.Command...) // equal, other memory
	if sameSourced(&a, &redecoded) {
		t.Error("sameSourced says true for equal contents in other memory: it cannot know that")
	}
}

// sameSourced compares bytes with unsafe, so a field it cannot see (one
// added to SourcedApp outside App, say) would make a changed app look
// unchanged and its edit be ignored. Walk every field, nested structs
// included, set it to another value in a copy, and require sameSourced to
// see the difference.
func TestSameSourced_SeesEveryField(t *testing.T) {
	base := v1alpha1.SourcedApp{App: *named("web", 2), Path: "web.yaml", Dir: "/srv/m"}
	v1alpha1.Default(&base.App)
	n := 0
	for _, path := range leafFields(reflect.TypeFor[v1alpha1.SourcedApp](), nil) {
		changed := base
		f := settable(reflect.ValueOf(&changed).Elem().FieldByIndex(path))
		f.Set(otherValue(t, f))
		if sameSourced(&base, &changed) {
			t.Errorf("field %s changed, sameSourced says the same", fieldName(path))
		}
		n++
	}
	if n < 20 {
		t.Fatalf("walked %d fields only", n)
	}
}

// leafFields are the index paths of every field of struct t that is not
// itself a struct held by value (those are walked into).
func leafFields(t reflect.Type, prefix []int) [][]int {
	var out [][]int
	for i := range t.NumField() {
		path := append(slices.Clone(prefix), i)
		if ft := t.Field(i).Type; ft.Kind() == reflect.Struct {
			out = append(out, leafFields(ft, path)...)
		} else {
			out = append(out, path)
		}
	}
	return out
}

func fieldName(path []int) string {
	t := reflect.TypeFor[v1alpha1.SourcedApp]()
	var names []string
	for _, i := range path {
		f := t.Field(i)
		names = append(names, f.Name)
		t = f.Type
	}
	return strings.Join(names, ".")
}

// settable is v, writable even when unexported (time.Time's fields).
func settable(v reflect.Value) reflect.Value {
	return reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem()
}

// otherValue is a value of v's type that differs from v.
func otherValue(t *testing.T, v reflect.Value) reflect.Value {
	o := reflect.New(v.Type()).Elem()
	switch v.Kind() {
	case reflect.String:
		o.SetString(v.String() + "x")
	case reflect.Bool:
		o.SetBool(!v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		o.SetInt(v.Int() + 1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		o.SetUint(v.Uint() + 1)
	case reflect.Float32, reflect.Float64:
		o.SetFloat(v.Float() + 1)
	case reflect.Pointer:
		// New memory: another pointer. Equal contents count as a
		// change too, since sameSourced's false is allowed to be wrong.
		o.Set(reflect.New(v.Type().Elem()))
	case reflect.Slice:
		o.Set(reflect.MakeSlice(v.Type(), v.Len()+1, v.Len()+1))
	case reflect.Map:
		o.Set(reflect.MakeMap(v.Type()))
		o.SetMapIndex(reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem())
	case reflect.Interface:
		o.Set(reflect.ValueOf(struct{ changed bool }{true}))
	default:
		t.Fatalf("no other value for a %s: extend otherValue", v.Type())
	}
	return o
}
