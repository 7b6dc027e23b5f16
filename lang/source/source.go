// Package source holds positions and spans in .bbx source files.
//
// Positions are small values: a byte offset plus the 1-based line and
// column (columns count bytes, as go/token does) so diagnostics can be
// printed without the file at hand.
package source

import "fmt"

// Pos is a position in one source file.
type Pos struct {
	Offset int // byte offset, 0-based
	Line   int // 1-based
	Col    int // 1-based, in bytes
}

// IsValid reports whether p was set.
func (p Pos) IsValid() bool { return p.Line > 0 }

func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Col) }

// Span is a half-open range [Start, End) in the file named File.
type Span struct {
	File  string
	Start Pos
	End   Pos
}

// IsValid reports whether s was set.
func (s Span) IsValid() bool { return s.Start.IsValid() }

// String gives FILE:LINE:COL.
func (s Span) String() string {
	if s.File == "" {
		return s.Start.String()
	}
	return fmt.Sprintf("%s:%s", s.File, s.Start)
}

// Join returns the smallest span covering a and b (same file assumed).
func Join(a, b Span) Span {
	if !a.IsValid() {
		return b
	}
	if !b.IsValid() {
		return a
	}
	out := a
	if b.Start.Offset < out.Start.Offset {
		out.Start = b.Start
	}
	if b.End.Offset > out.End.Offset {
		out.End = b.End
	}
	return out
}
