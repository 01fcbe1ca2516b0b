package v1alpha1

import (
	"errors"
	"strings"

	"sigs.k8s.io/yaml"
)

// ErrorList is every problem found in one file; it is an error.
type ErrorList []*FileError

func (l ErrorList) Error() string {
	s := make([]string, len(l))
	for i, e := range l {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// DecodeFile decodes every object of one manifest file, chosen by the
// extension of path (.yaml/.yml: multi-document YAML, .json, .toml), then
// defaults and validates each. path is used in errors only. On any problem
// it returns no apps and an ErrorList naming file, line and field.
//
// TEMPORARY stub: single-document strict YAML only, no defaults or validation.
func DecodeFile(path string, data []byte) ([]App, error) {
	var a App
	if err := yaml.UnmarshalStrict(data, &a); err != nil {
		return nil, ErrorList{{File: path, Reason: ReasonInvalid, Message: err.Error()}}
	}
	if a.Metadata.Name == "" {
		return nil, ErrorList{{File: path, Field: "metadata.name", Reason: ReasonInvalid, Message: "required"}}
	}
	return []App{a}, nil
}

var _ = errors.New
