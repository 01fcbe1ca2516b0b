package client

import (
	"io"
	"strings"
	"text/tabwriter"
)

// Table is rows of cells under a header, printed with aligned columns the
// way kubectl prints them (three spaces between columns, no trailing
// blanks).
type Table struct {
	Header []string
	Rows   [][]string
	// Indent is written before every line (describe nests tables).
	Indent string
}

// Append adds a row.
func (t *Table) Append(cells ...string) { t.Rows = append(t.Rows, cells) }

// WriteTo prints the table to w. A cell's tabs and newlines are replaced
// by spaces so that they cannot break the columns.
func (t *Table) WriteTo(w io.Writer) (int64, error) {
	cw := &countingWriter{w: w}
	tw := tabwriter.NewWriter(cw, 6, 4, 3, ' ', 0)
	line := func(cells []string) {
		var b strings.Builder
		b.WriteString(t.Indent)
		for i, c := range cells {
			if i > 0 {
				b.WriteByte('\t')
			}
			b.WriteString(cellReplacer.Replace(c))
		}
		b.WriteByte('\n')
		_, _ = io.WriteString(tw, b.String())
	}
	line(t.Header)
	for _, r := range t.Rows {
		line(r)
	}
	err := tw.Flush()
	if err == nil {
		err = cw.err
	}
	return cw.n, err
}

// String is the table as WriteTo prints it.
func (t *Table) String() string {
	var b strings.Builder
	_, _ = t.WriteTo(&b)
	return b.String()
}

var cellReplacer = strings.NewReplacer("\t", " ", "\n", " ", "\r", " ")

type countingWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}
