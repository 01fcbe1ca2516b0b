package v1alpha1

import (
	"reflect"
	"testing"
	"time"
)

// fill sets every field reachable from v to a non-zero value, so that a
// field DeepCopy forgets shows up.
func fill(v reflect.Value, depth int) {
	switch v.Kind() {
	case reflect.Pointer:
		if depth > 8 {
			return
		}
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), depth+1)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Unix(1700000000, 0).UTC()))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), depth+1)
			}
		}
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fill(s.Index(i), depth+1)
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k := reflect.New(v.Type().Key()).Elem()
		fill(k, depth+1)
		e := reflect.New(v.Type().Elem()).Elem()
		fill(e, depth+1)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(7)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1.5)
	}
}

// assertNoSharing fails if a and b share a pointer, slice or map.
func assertNoSharing(t *testing.T, a, b reflect.Value, path string) {
	t.Helper()
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() {
			return
		}
		// Values of no size (notify: {}) share one address in Go, and
		// there is nothing in them to write.
		if a.Pointer() == b.Pointer() && a.Type().Elem().Size() > 0 {
			t.Errorf("%s: pointer shared", path)
		}
		assertNoSharing(t, a.Elem(), b.Elem(), path)
	case reflect.Struct:
		for i := range a.NumField() {
			if a.Type().Field(i).IsExported() {
				assertNoSharing(t, a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name)
			}
		}
	case reflect.Slice:
		if a.Len() == 0 {
			return
		}
		if a.Pointer() == b.Pointer() {
			t.Errorf("%s: slice shared", path)
		}
		for i := range a.Len() {
			assertNoSharing(t, a.Index(i), b.Index(i), path+"[]")
		}
	case reflect.Map:
		if a.Len() > 0 && a.Pointer() == b.Pointer() {
			t.Errorf("%s: map shared", path)
		}
	}
}

func TestDeepCopy(t *testing.T) {
	var a App
	fill(reflect.ValueOf(&a).Elem(), 0)
	if a.Spec.ReadinessProbe.HTTPGet.HTTPHeaders[1].Value != "x" || a.Status.Conditions[1].Type != "x" {
		t.Fatal("fill did not reach every field")
	}
	c := a.DeepCopy()
	if !reflect.DeepEqual(&a, c) {
		t.Fatalf("copy differs:\n%+v\n%+v", a, *c)
	}
	assertNoSharing(t, reflect.ValueOf(&a), reflect.ValueOf(c), "App")

	// Writing through the copy leaves the original alone.
	c.Spec.Command[0] = "changed"
	*c.Spec.Replicas = 99
	c.Spec.LivenessProbe.Exec.Command[0] = "changed"
	if a.Spec.Command[0] == "changed" || *a.Spec.Replicas == 99 || a.Spec.LivenessProbe.Exec.Command[0] == "changed" {
		t.Error("the copy shares memory with the original")
	}

	var nilApp *App
	var nilSpec *AppSpec
	if nilApp.DeepCopy() != nil || nilSpec.DeepCopy() != nil {
		t.Error("nil did not copy to nil")
	}
	empty := (&App{}).DeepCopy()
	if !reflect.DeepEqual(empty, &App{}) {
		t.Errorf("empty app copied to %+v", empty)
	}
}
