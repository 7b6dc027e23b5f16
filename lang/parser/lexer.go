package parser

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/alecthomas/participle/v2/lexer"

	"github.com/bpfbox/bpfbox/lang/diag"
	"github.com/bpfbox/bpfbox/lang/source"
)

// Token types. The lexer is hand-written so that every bad byte gets a
// diagnostic at its exact position; participle only sees clean tokens.
const (
	tokEOF     = lexer.EOF
	tokIdent   = lexer.TokenType(-2) // [a-z_][a-z0-9_]*
	tokString  = lexer.TokenType(-3) // "..." with its quotes, undecoded
	tokKeyword = lexer.TokenType(-4) // include, when followed by a string or '<'
	tokPunct   = lexer.TokenType(-5) // #![ #[ ] ( ) { } , | < >
)

// bbxLexer is the participle lexer definition. Parsing lexes with lexFile
// directly; Lex exists so that participle can build the grammar.
type bbxLexer struct{}

func (bbxLexer) Symbols() map[string]lexer.TokenType {
	return map[string]lexer.TokenType{
		"EOF": tokEOF, "Ident": tokIdent, "String": tokString, "Keyword": tokKeyword, "Punct": tokPunct,
	}
}

func (bbxLexer) Lex(filename string, r io.Reader) (lexer.Lexer, error) {
	src, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", filename, err)
	}
	lx := lexFile(filename, src, &errSink{max: maxErrors})
	return &sliceLexer{toks: lx.toks}, nil
}

// sliceLexer feeds already-lexed tokens to participle.
type sliceLexer struct {
	toks []lexer.Token
	i    int
}

func (s *sliceLexer) Next() (lexer.Token, error) {
	if s.i >= len(s.toks) {
		return s.toks[len(s.toks)-1], nil // EOF, repeated
	}
	t := s.toks[s.i]
	s.i++
	return t, nil
}

// lexed is the token stream of one file. toks ends with an EOF token;
// ends[i] is where toks[i] ends (tokens never span lines).
type lexed struct {
	toks     []lexer.Token
	ends     []source.Pos
	comments []comment
}

type comment struct {
	text       string
	start, end source.Pos
}

// errSink collects diagnostics up to a limit, so hostile input cannot make
// the parser use unbounded memory.
type errSink struct {
	name  string
	list  diag.List
	max   int
	n     int
	full  bool
	lastP source.Pos // position of the last diagnostic, for the "too many" note
}

func (e *errSink) add(code string, start, end source.Pos, msg, hint string) {
	if e.full {
		return
	}
	if e.n >= e.max {
		e.full = true
		e.list.Add(diag.Error, CodeTooManyErrors, source.Span{File: e.name, Start: start, End: end},
			fmt.Sprintf("too many errors (%d); the rest of the file was not checked", e.max), "")
		return
	}
	e.n++
	e.list.Add(diag.Error, code, source.Span{File: e.name, Start: start, End: end}, msg, hint)
}

type scanner struct {
	name      string
	src       []byte
	text      string // src as one string: token values are slices of it
	i         int
	line      int
	lineStart int
	errs      *errSink
	out       lexed
}

func (s *scanner) pos(off int) source.Pos {
	return source.Pos{Offset: off, Line: s.line, Col: off - s.lineStart + 1}
}

func (s *scanner) emit(typ lexer.TokenType, start int, val string) {
	p := s.pos(start)
	s.out.toks = append(s.out.toks, lexer.Token{
		Type: typ, Value: val,
		Pos: lexer.Position{Filename: s.name, Offset: p.Offset, Line: p.Line, Column: p.Col},
	})
	s.out.ends = append(s.out.ends, s.pos(s.i))
}

func (s *scanner) errAt(code string, start, end int, msg, hint string) {
	s.errs.add(code, s.pos(start), s.pos(end), msg, hint)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}

func isIdentChar(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }

// lexFile splits src into tokens and comments, reporting bad bytes.
func lexFile(name string, src []byte, errs *errSink) lexed {
	errs.name = name
	s := &scanner{name: name, src: src, text: string(src), line: 1, errs: errs}
	s.out.toks = make([]lexer.Token, 0, len(src)/4+8)
	s.out.ends = make([]source.Pos, 0, len(src)/4+8)
	n := len(src)
	for s.i < n {
		c := src[s.i]
		start := s.i
		switch {
		case c == ' ' || c == '\t' || c == '\r':
			s.i++
		case c == '\n':
			s.i++
			s.line++
			s.lineStart = s.i
		case c == '/' && s.i+1 < n && src[s.i+1] == '/':
			for s.i < n && src[s.i] != '\n' {
				s.i++
			}
			end := s.i
			if end > start && src[end-1] == '\r' {
				end--
			}
			s.checkText(start, end)
			s.out.comments = append(s.out.comments, comment{s.text[start:end], s.pos(start), s.pos(end)})
		case c == '/' && s.i+1 < n && src[s.i+1] == '*':
			s.blockComment()
		case c == '"':
			s.str()
		case c == '/':
			// An unquoted path: one diagnostic for all of it.
			for s.i < n && !isSpace(src[s.i]) && strings.IndexByte("\"#](){},|<>", src[s.i]) < 0 {
				s.i++
			}
			path := s.text[start:s.i]
			s.errAt(CodeUnexpectedChar, start, s.i, fmt.Sprintf("unquoted path %s", path),
				fmt.Sprintf("paths are strings: write %q", path))
		case c == '#':
			switch {
			case strings.HasPrefix(string(src[s.i:min(n, s.i+3)]), "#!["):
				s.i += 3
				s.emit(tokPunct, start, "#![")
			case s.i+1 < n && src[s.i+1] == '[':
				s.i += 2
				s.emit(tokPunct, start, "#[")
			default:
				s.i++
				s.errAt(CodeUnexpectedChar, start, s.i, "unexpected character '#'",
					"directives are written #[name ...], file attributes #![name ...]")
			}
		case strings.IndexByte("](){},|<>", c) >= 0:
			s.i++
			s.emit(tokPunct, start, s.text[start:s.i])
		case isIdentStart(c):
			upper := false
			for s.i < n && isIdentChar(src[s.i]) {
				if src[s.i] >= 'A' && src[s.i] <= 'Z' {
					upper = true
				}
				s.i++
			}
			word := s.text[start:s.i]
			if upper {
				low := strings.ToLower(word)
				s.errAt(CodeUpperCaseIdent, start, s.i, fmt.Sprintf("name %q must be lower-case", word),
					fmt.Sprintf("names in .bbx are lower-case: write %q", low))
				word = low
			}
			s.emit(tokIdent, start, word)
		case c >= '0' && c <= '9':
			for s.i < n && isIdentChar(src[s.i]) {
				s.i++
			}
			s.errAt(CodeUnexpectedChar, start, s.i, fmt.Sprintf("unexpected number %q", src[start:s.i]),
				"names start with a letter or '_'; paths and other text go in double quotes")
		case c == 0:
			for s.i < n && src[s.i] == 0 {
				s.i++
			}
			s.errAt(CodeNUL, start, s.i, "NUL byte in source", "")
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(src[s.i:])
			if r == utf8.RuneError && size <= 1 {
				for s.i < n && src[s.i] >= utf8.RuneSelf {
					if r, size := utf8.DecodeRune(src[s.i:]); r != utf8.RuneError || size > 1 {
						break
					}
					s.i++
				}
				s.errAt(CodeInvalidUTF8, start, s.i, "invalid UTF-8", "a .bbx file must be UTF-8 text")
			} else {
				s.i += size
				s.errAt(CodeUnexpectedChar, start, s.i, fmt.Sprintf("unexpected character %q", r), "")
			}
		default:
			s.i++
			msg := fmt.Sprintf("unexpected character %q", c)
			hint := ""
			switch c {
			case ';':
				hint = "items are separated by new lines, not ';'"
			case '\'':
				hint = "strings use double quotes"
			case '[':
				hint = "directives are written #[name ...], file attributes #![name ...]"
			case '=', ':':
				hint = `arguments are written in order, e.g. fs("/etc/hosts", read)`
			}
			s.errAt(CodeUnexpectedChar, start, s.i, msg, hint)
		}
	}
	s.emit(tokEOF, n, "")
	// "include" is a keyword only where an include can be: before a string or '<'.
	toks := s.out.toks
	for k := 0; k+1 < len(toks); k++ {
		if toks[k].Type == tokIdent && toks[k].Value == "include" &&
			(toks[k+1].Type == tokString || toks[k+1].Type == tokPunct && toks[k+1].Value == "<") {
			toks[k].Type = tokKeyword
		}
	}
	return s.out
}

// checkText reports NUL bytes and invalid UTF-8 in src[start:end] (a comment).
func (s *scanner) checkText(start, end int) {
	for k := start; k < end; {
		c := s.src[k]
		switch {
		case c == 0:
			s.errs.add(CodeNUL, s.posIn(start, k), s.posIn(start, k+1), "NUL byte in comment", "")
			k++
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(s.src[k:end])
			if r == utf8.RuneError && size <= 1 {
				s.errs.add(CodeInvalidUTF8, s.posIn(start, k), s.posIn(start, k+1), "invalid UTF-8 in comment", "")
				size = 1
			}
			k += size
		default:
			k++
		}
	}
}

// posIn is the position of offset k, which lies on the current line or on a
// line after start (block comments): it recounts lines from start.
func (s *scanner) posIn(start, k int) source.Pos {
	// Fast path: k on the current line.
	if k >= s.lineStart {
		return s.pos(k)
	}
	line, ls := s.line, s.lineStart
	// Walk back from the current line start to find k's line.
	for ls > k {
		line--
		j := ls - 1 // the '\n' ending the previous line
		for j > 0 && s.src[j-1] != '\n' {
			j--
		}
		ls = j
	}
	return source.Pos{Offset: k, Line: line, Col: k - ls + 1}
}

func (s *scanner) blockComment() {
	start := s.i
	startPos := s.pos(start)
	s.i += 2
	n := len(s.src)
	closed := false
	for s.i < n {
		if s.src[s.i] == '*' && s.i+1 < n && s.src[s.i+1] == '/' {
			s.i += 2
			closed = true
			break
		}
		if s.src[s.i] == '\n' {
			s.line++
			s.lineStart = s.i + 1
		}
		s.i++
	}
	s.checkText(start, s.i)
	if !closed {
		s.errs.add(CodeUnterminatedCmt, startPos, source.Pos{Offset: start + 2, Line: startPos.Line, Col: startPos.Col + 2},
			"comment is not terminated", "a /* comment ends with */ (comments do not nest)")
	}
	s.out.comments = append(s.out.comments, comment{s.text[start:s.i], startPos, s.pos(s.i)})
}

// str lexes a string literal, reporting bad escapes and raw control bytes.
// An unterminated string ends at the end of its line so parsing can go on.
func (s *scanner) str() {
	start := s.i
	s.i++
	n := len(s.src)
	for {
		if s.i >= n || s.src[s.i] == '\n' || s.src[s.i] == '\r' && s.i+1 < n && s.src[s.i+1] == '\n' {
			s.errAt(CodeUnterminatedStr, start, start+1, "string is not terminated",
				`a string ends with " on the same line; write a new line as \n`)
			s.emit(tokString, start, s.text[start:s.i])
			return
		}
		c := s.src[s.i]
		switch {
		case c == '"':
			s.i++
			s.emit(tokString, start, s.text[start:s.i])
			return
		case c == '\\':
			if s.i+1 >= n || s.src[s.i+1] == '\n' || s.src[s.i+1] == '\r' {
				s.errAt(CodeBadEscape, s.i, s.i+1, `'\' at the end of the line`, `escapes are \\ \" \n \t \xHH`)
				s.i++
				continue
			}
			switch e := s.src[s.i+1]; e {
			case '\\', '"', 'n', 't':
				s.i += 2
			case 'x':
				if s.i+3 < n && isHex(s.src[s.i+2]) && isHex(s.src[s.i+3]) {
					s.i += 4
				} else {
					end := s.i + 2
					for end < n && end < s.i+4 && isHex(s.src[end]) {
						end++
					}
					s.errAt(CodeBadEscape, s.i, end, `\x must be followed by two hexadecimal digits`, `e.g. \x2f`)
					s.i = end
				}
			default:
				_, size := utf8.DecodeRune(s.src[s.i+1:])
				if e < utf8.RuneSelf {
					size = 1
				}
				s.errAt(CodeBadEscape, s.i, s.i+1+size, fmt.Sprintf("unknown escape '\\%s'", printable(s.src[s.i+1:s.i+1+size])),
					`escapes are \\ \" \n \t \xHH`)
				s.i += 1 + size
			}
		case c == 0:
			s.errAt(CodeNUL, s.i, s.i+1, "NUL byte in string", `write \x00 if you mean it`)
			s.i++
		case c < 0x20 && c != '\t' || c == 0x7f:
			s.errAt(CodeControlInString, s.i, s.i+1, fmt.Sprintf("control character %#02x in string", c),
				fmt.Sprintf(`write \x%02x if you mean it`, c))
			s.i++
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(s.src[s.i:])
			if r == utf8.RuneError && size <= 1 {
				s.errAt(CodeInvalidUTF8, s.i, s.i+1, "invalid UTF-8 in string", `write bytes that are not UTF-8 as \xHH`)
				size = 1
			}
			s.i += size
		default:
			s.i++
		}
	}
}

func printable(b []byte) string {
	if utf8.Valid(b) && len(b) > 0 && b[0] >= 0x20 && b[0] != 0x7f {
		return string(b)
	}
	return fmt.Sprintf("x%02x", b[0])
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// decodeString returns the value of a string literal (quotes included; the
// closing one may be missing). Bad escapes, already reported by the lexer,
// are kept as written.
func decodeString(raw string) string {
	body := raw[1:]
	if len(body) > 0 && body[len(body)-1] == '"' && !escapedQuoteAtEnd(body) {
		body = body[:len(body)-1]
	}
	if strings.IndexByte(body, '\\') < 0 {
		return body
	}
	var b strings.Builder
	b.Grow(len(body))
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c != '\\' || i+1 >= len(body) {
			b.WriteByte(c)
			continue
		}
		switch body[i+1] {
		case '\\':
			b.WriteByte('\\')
			i++
		case '"':
			b.WriteByte('"')
			i++
		case 'n':
			b.WriteByte('\n')
			i++
		case 't':
			b.WriteByte('\t')
			i++
		case 'x':
			if i+3 < len(body) && isHex(body[i+2]) && isHex(body[i+3]) {
				b.WriteByte(unhex(body[i+2])<<4 | unhex(body[i+3]))
				i += 3
			} else {
				b.WriteByte(c)
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// escapedQuoteAtEnd reports whether the final '"' of body is escaped (an odd
// number of backslashes before it), i.e. the string was not terminated.
func escapedQuoteAtEnd(body string) bool {
	k := 0
	for j := len(body) - 2; j >= 0 && body[j] == '\\'; j-- {
		k++
	}
	return k%2 == 1
}
