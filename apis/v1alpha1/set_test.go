package v1alpha1

import (
	"fmt"
	"reflect"
	"testing"
)

func appDependingOn(name string, deps ...string) App {
	a := App{APIVersion: GroupVersion, Kind: KindApp, Metadata: ObjectMeta{Name: name}, Spec: AppSpec{Command: []string{"x"}}}
	for _, d := range deps {
		a.Spec.DependsOn = append(a.Spec.DependsOn, Dependency{App: d})
	}
	return a
}

func TestDependencyCycles(t *testing.T) {
	tests := []struct {
		name string
		apps []App
		want [][]string
	}{
		{"none", []App{appDependingOn("a", "b"), appDependingOn("b", "c"), appDependingOn("c")}, nil},
		{"missing dep waits", []App{appDependingOn("a", "zz")}, nil},
		{"diamond", []App{appDependingOn("a", "b", "c"), appDependingOn("b", "d"), appDependingOn("c", "d"), appDependingOn("d")}, nil},
		{"two", []App{appDependingOn("b", "a"), appDependingOn("a", "b")}, [][]string{{"a", "b", "a"}}},
		{"self", []App{appDependingOn("a", "a")}, [][]string{{"a", "a"}}},
		{"three", []App{appDependingOn("c", "a"), appDependingOn("a", "b"), appDependingOn("b", "c")}, [][]string{{"a", "b", "c", "a"}}},
		{"shortest of a tangle", []App{
			appDependingOn("a", "b"), appDependingOn("b", "c", "a"), appDependingOn("c", "a"),
		}, [][]string{{"a", "b", "a"}}},
		{"two groups", []App{
			appDependingOn("x", "y"), appDependingOn("y", "x"), appDependingOn("m", "n"), appDependingOn("n", "m"), appDependingOn("q", "x"),
		}, [][]string{{"m", "n", "m"}, {"x", "y", "x"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DependencyCycles(tt.apps); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("DependencyCycles = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestValidateSet(t *testing.T) {
	errs := ValidateSet([]App{appDependingOn("web", "api"), appDependingOn("api", "db"), appDependingOn("db", "web")})
	if len(errs) != 1 || errs[0].Message != "dependency cycle: api -> db -> web -> api" || errs[0].Field != "spec.dependsOn" {
		t.Errorf("ValidateSet = %v", errs)
	}
	if errs := ValidateSet([]App{appDependingOn("web", "api"), appDependingOn("api")}); len(errs) != 0 {
		t.Errorf("ValidateSet(acyclic) = %v", errs)
	}
	// A long chain does not exhaust the stack, and stays linear.
	var chain []App
	for i := range 20000 {
		chain = append(chain, appDependingOn(fmt.Sprintf("a%d", i), fmt.Sprintf("a%d", i+1)))
	}
	chain = append(chain, appDependingOn("a20000", "a0"))
	if errs := ValidateSet(chain); len(errs) != 1 {
		t.Errorf("long cycle: %d errors", len(errs))
	}
}
