// Package diag defines diagnostics — errors, warnings and notes that point
// at a source span with a stable code — and renders them as text or JSON.
package diag

import (
	"cmp"
	"slices"

	"github.com/bpfbox/bpfbox/lang/source"
)

// Severity of a diagnostic. The numbers are stable (they appear in JSON as words).
type Severity int

const (
	Error   Severity = 1
	Warning Severity = 2
	Note    Severity = 3
)

func (s Severity) String() string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	case Note:
		return "note"
	}
	return "unknown"
}

// Diagnostic is one message about a span of source.
type Diagnostic struct {
	Severity Severity
	Code     string // stable, e.g. "E0101"; see codes.go
	Span     source.Span
	Message  string // one line, no trailing period
	Hint     string // optional
}

// List is a list of diagnostics.
type List []Diagnostic

// Add appends a diagnostic.
func (l *List) Add(sev Severity, code string, span source.Span, msg, hint string) {
	*l = append(*l, Diagnostic{Severity: sev, Code: code, Span: span, Message: msg, Hint: hint})
}

// HasErrors reports whether any diagnostic is an error.
func (l List) HasErrors() bool {
	for _, d := range l {
		if d.Severity == Error {
			return true
		}
	}
	return false
}

// Count returns the number of diagnostics of severity s.
func (l List) Count(s Severity) int {
	n := 0
	for _, d := range l {
		if d.Severity == s {
			n++
		}
	}
	return n
}

// Sort orders diagnostics by file, position, severity and code, and removes exact duplicates.
func (l *List) Sort() {
	slices.SortStableFunc(*l, func(a, b Diagnostic) int {
		return cmp.Or(
			cmp.Compare(a.Span.File, b.Span.File),
			cmp.Compare(a.Span.Start.Offset, b.Span.Start.Offset),
			cmp.Compare(a.Severity, b.Severity),
			cmp.Compare(a.Code, b.Code),
			cmp.Compare(a.Message, b.Message),
		)
	})
	*l = slices.Compact(*l)
}
