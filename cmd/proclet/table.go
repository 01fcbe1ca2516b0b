package main

import (
	"encoding/json"
	"fmt"
	"io"

	"sigs.k8s.io/yaml"

	"proclet.dev/proclet/server/client"
)

// printOut prints obj as -o asks (JSON, or YAML converted from the JSON),
// or the table when -o is not given.
func printOut(w io.Writer, output string, obj any, table *client.Table) error {
	switch output {
	case "json":
		b, err := json.MarshalIndent(obj, "", "  ")
		if err != nil {
			return fmt.Errorf("encoding JSON: %w", err)
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	case "yaml":
		b, err := yaml.Marshal(obj)
		if err != nil {
			return fmt.Errorf("encoding YAML: %w", err)
		}
		_, err = w.Write(b)
		return err
	default:
		_, err := table.WriteTo(w)
		return err
	}
}

// itemList is the {"items": [...]} envelope -o prints for a list, as the
// API answers it.
type itemList[T any] struct {
	Items []T `json:"items"`
}
