package client

import (
	"io"
	"strings"
	"unicode/utf8"
)

// StreamTable prints a table row by row, for `get -w`: the header and
// the first rows aligned as Table aligns them, later rows padded to the
// same widths (a wider cell widens its column from then on, as kubectl's
// watch does).
type StreamTable struct {
	w      io.Writer
	widths []int
}

// NewStreamTable prints t (header and rows) to w and returns the printer
// of the rows that follow.
func NewStreamTable(w io.Writer, t *Table) (*StreamTable, error) {
	s := &StreamTable{w: w, widths: make([]int, len(t.Header))}
	s.grow(t.Header)
	for _, r := range t.Rows {
		s.grow(r)
	}
	if err := s.Row(t.Header); err != nil {
		return nil, err
	}
	for _, r := range t.Rows {
		if err := s.Row(r); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// grow widens the columns to fit cells: the cell and three spaces, at
// least six, as Table's tabwriter does.
func (s *StreamTable) grow(cells []string) {
	for i, c := range cells {
		if i >= len(s.widths) {
			break
		}
		if n := max(6, utf8.RuneCountInString(cellReplacer.Replace(c))+3); n > s.widths[i] {
			s.widths[i] = n
		}
	}
}

// Row prints one row.
func (s *StreamTable) Row(cells []string) error {
	s.grow(cells)
	var b strings.Builder
	for i, c := range cells {
		c = cellReplacer.Replace(c)
		b.WriteString(c)
		if i < len(cells)-1 && i < len(s.widths) {
			b.WriteString(strings.Repeat(" ", s.widths[i]-utf8.RuneCountInString(c)))
		}
	}
	b.WriteByte('\n')
	_, err := io.WriteString(s.w, b.String())
	return err
}
