package manifestedit

import (
	"bytes"
	"errors"
	"regexp"
	"strconv"
)

var (
	tomlHeader      = regexp.MustCompile(`^\s*\[`)
	tomlAnnotations = regexp.MustCompile(`^\s*\[\s*metadata\s*\.\s*annotations\s*\]\s*(#.*)?$`)
)

// editTOML sets the annotation in a TOML file (one app per file): in its
// [metadata.annotations] table when it has one (replacing the key's string
// where it is written, or adding a line after the header), else in a new
// such table at the end of the file. Annotations written any other way
// (inline tables, dotted keys) make the result fail the check.
func editTOML(data []byte, key, value string) ([]byte, error) {
	keyLine := regexp.MustCompile(`^\s*(?:` + regexp.QuoteMeta(strconv.Quote(key)) + `|'` + regexp.QuoteMeta(key) + `')\s*=\s*`)
	entry := strconv.Quote(key) + " = " + strconv.Quote(value)
	inTable, header := false, -1 // header: the end of the table's header line
	for off := 0; off < len(data); {
		end := bytes.IndexByte(data[off:], '\n')
		if end < 0 {
			end = len(data) - off
		}
		line := data[off : off+end]
		switch {
		case tomlAnnotations.Match(line):
			inTable, header = true, off+end
		case tomlHeader.Match(line):
			inTable = false
		case inTable:
			if m := keyLine.FindIndex(line); m != nil {
				return replaceTOMLString(data, off+m[1], off+end, value)
			}
		}
		off += end + 1
	}
	switch {
	case header == len(data):
		return append(bytes.Clone(data), "\n"+entry+"\n"...), nil
	case header >= 0:
		return splice(data, header+1, header+1, entry+"\n"), nil
	}
	out := bytes.Clone(data)
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	return append(out, "\n[metadata.annotations]\n"+entry+"\n"...), nil
}

// replaceTOMLString replaces the one-line string at data[start:] (before
// eol) with value, keeping what follows it (a comment).
func replaceTOMLString(data []byte, start, eol int, value string) ([]byte, error) {
	if start >= eol || (data[start] != '"' && data[start] != '\'') || bytes.HasPrefix(data[start:], []byte(`"""`)) || bytes.HasPrefix(data[start:], []byte(`'''`)) {
		return nil, errors.New("the annotation's value is not a one-line string")
	}
	end := -1
	if data[start] == '\'' {
		if i := bytes.IndexByte(data[start+1:eol], '\''); i >= 0 {
			end = start + 1 + i
		}
	} else if e := quoteEnd(data[:eol], start); e >= 0 {
		end = e
	}
	if end < 0 {
		return nil, errors.New("the annotation's value is not a one-line string")
	}
	return splice(data, start, end+1, strconv.Quote(value)), nil
}
