package main

import (
	"fmt"
	"io"
	goruntime "runtime"
)

func printVersion(w io.Writer) {
	fmt.Fprintf(w, "proclet %s (commit %s, %s %s/%s)\n", version, commit, goruntime.Version(), goruntime.GOOS, goruntime.GOARCH)
}
