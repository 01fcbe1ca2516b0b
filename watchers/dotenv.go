package watchers

import (
	"bytes"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/joho/godotenv"

	"proclet.dev/proclet/apis/v1alpha1"
)

// parseEnvFile parses a dotenv file (godotenv's syntax: KEY=value, export,
// quotes, multi-line double quotes, # comments, ${VAR} of earlier keys)
// into its variables, sorted by name. Its errors name the line and never
// repeat the file's content: godotenv's own quote the rest of the file,
// secrets included, and say no line, so the line is found here (envLine)
// and the message is one of a few fixed texts.
func parseEnvFile(data []byte) ([]v1alpha1.EnvValue, error) {
	data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	m, err := godotenv.UnmarshalBytes(data)
	if err != nil {
		line, msg := envErrorAt(data)
		return nil, fmt.Errorf("line %d: %s", line, msg)
	}
	names := slices.Sorted(maps.Keys(m))
	out := make([]v1alpha1.EnvValue, 0, len(names))
	for _, k := range names {
		v := m[k]
		switch {
		case k == "":
			return nil, fmt.Errorf("line %d: an empty variable name", keyLine(data, k))
		case len(v) > v1alpha1.MaxExpandedValue:
			return nil, fmt.Errorf("line %d: %s: the value has %d bytes, over the bound of %d", keyLine(data, k), shortName(k),
				len(v), v1alpha1.MaxExpandedValue)
		case strings.IndexByte(v, 0) >= 0 || strings.IndexByte(k, 0) >= 0:
			return nil, fmt.Errorf("line %d: %s: a NUL byte, which an environment cannot hold", keyLine(data, k), shortName(k))
		}
		out = append(out, v1alpha1.EnvValue{Name: k, Value: v1alpha1.NewSecret(v)})
	}
	return out, nil
}

// envErrorAt finds where a file godotenv refuses goes wrong, and says
// what in a fixed text. godotenv parses statement by statement, each
// independent of the next but for ${VAR}, so the file is cut into chunks
// of whole lines each of which parses: a chunk grows a line at a time
// while it fails only for an open quote (a multi-line value), and the
// first line that makes it fail otherwise, or the chunk still open at the
// end, is the error. A chunk is parsed again only when the line added
// holds a quote, so this stays linear but for files full of quotes.
func envErrorAt(data []byte) (int, string) {
	lines := bytes.SplitAfter(data, []byte("\n"))
	start := 0
	open := false
	for n := 1; n <= len(lines); n++ {
		if open && !bytes.ContainsAny(lines[n-1], `"'`) && n < len(lines) {
			continue
		}
		_, err := godotenv.UnmarshalBytes(bytes.Join(lines[start:n], nil))
		switch {
		case err == nil:
			start, open = n, false
		case strings.HasPrefix(err.Error(), "unterminated quoted value"):
			open = true
		default:
			if open {
				return firstContentLine(lines, start), envMessage(err)
			}
			return n, envMessage(err)
		}
	}
	return firstContentLine(lines, start), "an unterminated quoted value"
}

// envMessage is a godotenv error as a fixed text: never the content.
func envMessage(err error) string {
	switch msg := err.Error(); {
	case strings.HasPrefix(msg, "unexpected character"):
		return "an unexpected character in a variable name (want NAME=value)"
	case strings.HasPrefix(msg, "unterminated quoted value"):
		return "an unterminated quoted value"
	default:
		return "not a NAME=value line"
	}
}

// firstContentLine is the 1-based number of the first line from index
// start that is neither blank nor a comment.
func firstContentLine(lines [][]byte, start int) int {
	for i := start; i < len(lines); i++ {
		t := bytes.TrimSpace(lines[i])
		if len(t) > 0 && t[0] != '#' {
			return i + 1
		}
	}
	return start + 1
}

// keyLine is the line defining key last (later definitions win), or 0.
func keyLine(data []byte, key string) int {
	re := regexp.MustCompile(`^\s*(export\s+)?` + regexp.QuoteMeta(key) + `\s*[=:]`)
	line := 0
	for i, l := range bytes.Split(data, []byte("\n")) {
		if re.Match(l) {
			line = i + 1
		}
	}
	return line
}

// shortName is a variable name for an error, cut to 64 bytes.
func shortName(k string) string {
	if len(k) > 64 {
		return fmt.Sprintf("%q...", k[:64])
	}
	return fmt.Sprintf("%q", k)
}
