package testutil

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// ReadRotated returns the log files of path, oldest first (.log.N ... .log.1,
// .log), and their contents.
func ReadRotated(t testing.TB, path string) (names []string, contents [][]byte) {
	t.Helper()
	for i := 1000; i >= 0; i-- {
		p := path
		if i > 0 {
			p = path + "." + strconv.Itoa(i)
		}
		data, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, filepath.Base(p))
		contents = append(contents, data)
	}
	return names, contents
}

// LogSetSize is the total size of path and its rotated files.
func LogSetSize(t testing.TB, path string) int64 {
	t.Helper()
	_, contents := ReadRotated(t, path)
	var n int64
	for _, c := range contents {
		n += int64(len(c))
	}
	return n
}
