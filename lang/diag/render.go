package diag

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// WriteText renders l for people, sorted by position:
//
//	login.bbx:3:19: error[E103]: unknown fs mode "raed"
//	  3 | fs("/etc/passwd", raed)
//	    |                   ^~~~
//	  = hint: did you mean "read"?
//
// src returns the text of a file (nil when unknown: the snippet is left
// out). Positions count from after a leading UTF-8 byte-order mark, as the
// parser reads files, so one is skipped here.
// When max > 0 only the first max diagnostics are shown, followed by a line
// counting the rest. Tabs in the source line are kept and repeated under it
// so that the caret lines up in any terminal.
func WriteText(w io.Writer, l List, src func(file string) []byte, max int) {
	sorted := append(List(nil), l...)
	sorted.Sort()
	var b bytes.Buffer
	for i, d := range sorted {
		if max > 0 && i == max {
			writeMore(&b, sorted[i:])
			break
		}
		writeOne(&b, d, src)
	}
	_, _ = w.Write(b.Bytes())
}

func writeOne(b *bytes.Buffer, d Diagnostic, src func(string) []byte) {
	if d.Span.IsValid() {
		fmt.Fprintf(b, "%s:%d:%d: ", d.Span.File, d.Span.Start.Line, d.Span.Start.Col)
	} else if d.Span.File != "" {
		fmt.Fprintf(b, "%s: ", d.Span.File)
	}
	b.WriteString(d.Severity.String())
	if d.Code != "" {
		fmt.Fprintf(b, "[%s]", d.Code)
	}
	b.WriteString(": ")
	b.WriteString(oneLine(d.Message))
	b.WriteByte('\n')
	gutter := 0
	if d.Span.IsValid() && src != nil {
		if text := src(d.Span.File); text != nil {
			gutter = writeSnippet(b, d, text)
		}
	}
	if d.Hint != "" {
		fmt.Fprintf(b, "%s = hint: %s\n", strings.Repeat(" ", gutter), oneLine(d.Hint))
	}
}

// writeSnippet prints the line of d's start and a caret span under it, and
// returns the width of the line-number gutter.
func writeSnippet(b *bytes.Buffer, d Diagnostic, text []byte) int {
	text = bytes.TrimPrefix(text, []byte("\xef\xbb\xbf"))
	start := d.Span.Start.Offset
	if start < 0 || start > len(text) {
		return 0
	}
	lineStart := bytes.LastIndexByte(text[:start], '\n') + 1
	lineEnd := len(text)
	if i := bytes.IndexByte(text[start:], '\n'); i >= 0 {
		lineEnd = start + i
	}
	line := text[lineStart:lineEnd]
	line = bytes.TrimSuffix(line, []byte("\r"))
	end := d.Span.End.Offset
	if end < start {
		end = start
	}
	if end > lineStart+len(line) {
		end = lineStart + len(line) // multi-line spans are clipped to the first line
	}
	num := strconv.Itoa(d.Span.Start.Line)
	gutter := len(num) + 1
	pad := strings.Repeat(" ", gutter)
	fmt.Fprintf(b, "%s%s | ", " ", num)
	shown, marks := displayLine(line, start-lineStart, end-lineStart)
	b.WriteString(shown)
	b.WriteByte('\n')
	fmt.Fprintf(b, "%s | %s\n", pad, marks)
	return gutter
}

// displayLine makes line printable (control bytes and invalid UTF-8 become
// U+FFFD or '?', tabs stay) and builds the caret line for [from, to) in bytes.
func displayLine(line []byte, from, to int) (shown, marks string) {
	var s, m strings.Builder
	carets := 0
	for i := 0; i < len(line); {
		r, size := utf8.DecodeRune(line[i:])
		var out string
		switch {
		case r == '\t':
			out = "\t"
		case r == utf8.RuneError && size <= 1, r < 0x20, r == 0x7f, !unicode.IsPrint(r) && r != ' ':
			out = "\uFFFD"
		default:
			out = string(r)
		}
		s.WriteString(out)
		switch {
		case i < from:
			if r == '\t' {
				m.WriteByte('\t')
			} else {
				m.WriteByte(' ')
			}
		case i < to:
			if carets == 0 {
				m.WriteByte('^')
			} else {
				m.WriteByte('~')
			}
			carets++
		}
		i += size
	}
	if carets == 0 { // an empty span, or one at the end of the line
		m.WriteByte('^')
	}
	return s.String(), strings.TrimRight(m.String(), " ")
}

func writeMore(b *bytes.Buffer, rest List) {
	var parts []string
	for _, sev := range []Severity{Error, Warning, Note} {
		if n := rest.Count(sev); n > 0 {
			parts = append(parts, Plural(n, sev.String()))
		}
	}
	fmt.Fprintf(b, "... %s not shown (%s)\n", Plural(len(rest), "more diagnostic"), strings.Join(parts, ", "))
}

// Plural gives "1 error", "2 errors".
func Plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// Summary gives "2 errors, 1 warning" for l (notes included when present),
// or "" when l is empty.
func (l List) Summary() string {
	var parts []string
	for _, sev := range []Severity{Error, Warning, Note} {
		if n := l.Count(sev); n > 0 {
			parts = append(parts, Plural(n, sev.String()))
		}
	}
	return strings.Join(parts, ", ")
}

func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.Join(strings.Fields(strings.NewReplacer("\r", " ", "\n", " ").Replace(s)), " ")
}

// jsonDiag is the JSON form of a diagnostic; the field names are stable.
type jsonDiag struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Col      int    `json:"col"`
	EndLine  int    `json:"end_line"`
	EndCol   int    `json:"end_col"`
	Severity string `json:"severity"`
	Code     string `json:"code"`
	Message  string `json:"message"`
	Hint     string `json:"hint"`
}

// WriteJSON renders l, sorted by position, as one JSON array (always an
// array: "[]" when l is empty) followed by a newline.
func WriteJSON(w io.Writer, l List) error {
	sorted := append(List(nil), l...)
	sorted.Sort()
	out := make([]jsonDiag, 0, len(sorted))
	for _, d := range sorted {
		out = append(out, jsonDiag{
			File: d.Span.File, Line: d.Span.Start.Line, Col: d.Span.Start.Col,
			EndLine: d.Span.End.Line, EndCol: d.Span.End.Col,
			Severity: d.Severity.String(), Code: d.Code, Message: d.Message, Hint: d.Hint,
		})
	}
	data, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return fmt.Errorf("encode diagnostics: %w", err)
	}
	data = append(data, '\n')
	if _, err := w.Write(data); err != nil {
		return fmt.Errorf("write diagnostics: %w", err)
	}
	return nil
}
