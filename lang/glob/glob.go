// Package glob parses the path globs of bpfbox policies and matches them with
// a simple reference matcher. The kernel never runs this matcher: paths are
// matched in the kernel by a DFA that compiler/dfa builds from the same parsed
// globs; this matcher is the specification that the DFA is tested against.
//
// # Syntax and semantics
//
// Globs match the path of an object as the kernel resolved it. Matching is on
// bytes; the whole path must match.
//
//   - A literal byte matches itself. Non-ASCII text is matched as its UTF-8
//     bytes.
//   - '*' matches zero or more bytes, none of them '/' (within one component).
//   - '**' matches zero or more bytes of any kind, '/' included (across
//     components). When '**' is a whole component — "/**/" — it also matches
//     zero components: "/a/**/b" matches "/a/b", "/a/x/b" and "/a/x/y/b".
//     Technically, a '**' that directly follows a '/' and is directly followed
//     by '/' stands, with that second '/', for "nothing, or any bytes ending in
//     '/'". A trailing "/**" does not match the directory itself: "/a/**"
//     matches "/a/" and "/a/x/y" but not "/a" (as in AppArmor; write "/a{,/**}"
//     for both).
//   - '***' (three or more stars in a row) is an error: it is ambiguous.
//   - '?' matches one character other than '/'.
//   - '[a-z0-9_]' matches one character from the class, '[!a-z]' (or
//     '[^a-z]') one character not in it. A class never matches '/', negated or
//     not; '/' may not be written in a class, and a range that spans '/' (such
//     as '[+-0]') simply leaves it out. Ranges are of Unicode code points, in
//     order ("[z-a]" is an error). ']' and '\' are written escaped ("\]"); '-'
//     is literal first or last. An empty class "[]" is an error.
//   - "Character" above means one well-formed UTF-8 encoded Unicode character
//     (1 to 4 bytes). Bytes of a path that are not valid UTF-8 are matched only
//     by literal bytes, '*' and '**', never by '?' or a class.
//   - '{a,b,c}' matches any one of the alternatives; alternatives may be empty
//     ("/{usr/,}lib" matches "/usr/lib" and "/lib"), may contain any glob
//     syntax and may nest (up to 32 levels). "{}" is an error. A ',' outside
//     braces is a literal comma; an unmatched '}' is an error.
//   - '\' makes the next character literal. A trailing '\' is an error.
//   - ']' outside a class is a literal.
//
// Patterns must be absolute (start with '/'), must not contain NUL, and must
// not contain empty components ("//") except a trailing one ("/a/" is the
// directory a). Components "." and ".." are errors: the kernel resolves paths
// before they are matched, so a resolved path never contains them. These
// component checks look at the pattern text, including the joins of
// alternatives ("/{a/,b}/c" is an error because "/a//c" is written); they
// cannot see components made empty by a '*' that matches nothing, which is
// harmless because resolved paths never contain "//".
package glob

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Kind is the kind of a Node.
type Kind uint8

const (
	KindLiteral Kind = iota // Text: exactly these bytes
	KindStar                // '*': zero or more bytes, none of them '/'
	KindAnyPath             // '**': zero or more bytes of any kind
	KindAnyDirs             // "**/" right after a '/': nothing, or any bytes ending in '/'
	KindClass               // '?' or '[...]': one UTF-8 character whose code point is in Ranges
	KindAlt                 // '{...}': one of Alts
)

func (k Kind) String() string {
	switch k {
	case KindLiteral:
		return "literal"
	case KindStar:
		return "star"
	case KindAnyPath:
		return "anypath"
	case KindAnyDirs:
		return "anydirs"
	case KindClass:
		return "class"
	case KindAlt:
		return "alt"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// RuneRange is an inclusive range of Unicode code points.
type RuneRange struct{ Lo, Hi rune }

// Node is one element of a parsed glob. Offset and Len locate it in the pattern.
type Node struct {
	Kind   Kind
	Text   string      // KindLiteral
	Ranges []RuneRange // KindClass: sorted, disjoint, non-adjacent; never contains '/' or surrogates
	Alts   [][]Node    // KindAlt
	Offset int
	Len    int
}

// Glob is a parsed pattern.
type Glob struct {
	src   string
	nodes []Node
	prog  []minst // reference matcher program, see match.go
}

// Error is a syntax error in a pattern. Offset and Len are byte offsets into
// the pattern; Offset+Len never exceeds the pattern's length.
type Error struct {
	Offset int
	Len    int
	Msg    string
}

func (e *Error) Error() string {
	return fmt.Sprintf("invalid glob at byte %d: %s", e.Offset, e.Msg)
}

// MaxNesting is the deepest nesting of alternations that Parse accepts.
const MaxNesting = 32

// MaxLen is the longest pattern Parse accepts (Linux's PATH_MAX).
const MaxLen = 4096

// Parse parses a pattern. The error, if any, is an *Error.
func Parse(pattern string) (*Glob, error) {
	if pattern == "" {
		return nil, &Error{0, 0, "empty glob: a glob is an absolute path such as /etc/*.conf"}
	}
	if len(pattern) > MaxLen {
		return nil, &Error{MaxLen, len(pattern) - MaxLen, fmt.Sprintf("glob is longer than %d bytes", MaxLen)}
	}
	if pattern[0] != '/' {
		return nil, &Error{0, 1, "glob must be an absolute path starting with '/'"}
	}
	p := &parser{src: pattern}
	st := seqState{}
	nodes, err := p.seq(&st, 0)
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.src) { // only '}' stops the top-level sequence
		return nil, &Error{p.pos, 1, "unmatched '}' (write \\} for a literal brace)"}
	}
	g := &Glob{src: pattern, nodes: nodes}
	g.prog = compileProg(nodes)
	return g, nil
}

// MustParse is Parse for patterns known to be valid (tests, tables); it panics on error.
func MustParse(pattern string) *Glob {
	g, err := Parse(pattern)
	if err != nil {
		panic(fmt.Sprintf("glob.MustParse(%q): %v", pattern, err))
	}
	return g
}

// String returns the source pattern.
func (g *Glob) String() string { return g.src }

// Nodes returns the parsed pattern. The caller must not modify it.
func (g *Glob) Nodes() []Node { return g.nodes }

// Literal returns the path when the glob has no metacharacters (escapes are
// resolved: `/a\*b` is the literal path "/a*b").
func (g *Glob) Literal() (string, bool) {
	var b strings.Builder
	for _, n := range g.nodes {
		if n.Kind != KindLiteral {
			return "", false
		}
		b.WriteString(n.Text)
	}
	return b.String(), true
}

// LiteralPrefix returns the literal bytes that every matching path starts with
// as written at the start of the glob (the text before the first metacharacter).
func (g *Glob) LiteralPrefix() string {
	var b strings.Builder
	for _, n := range g.nodes {
		if n.Kind != KindLiteral {
			break
		}
		b.WriteString(n.Text)
	}
	return b.String()
}

// Subsumes reports whether every path that other matches is also matched by g.
// It is exact when it answers true, but only decides cheap common cases and
// answers false otherwise ("not known to subsume"):
//   - the globs are equal, or other is a literal path that g matches;
//   - g is "/**" or a literal directory followed by "**" (such as "/etc/**"),
//     and other's literal prefix extends g's (such as "/etc/ssh/*.conf").
//
// compiler/dfa decides inclusion exactly for any pair.
func (g *Glob) Subsumes(other *Glob) bool {
	if g.src == other.src {
		return true
	}
	if lit, ok := other.Literal(); ok {
		return g.Match(lit)
	}
	n := len(g.nodes)
	if n >= 1 && g.nodes[n-1].Kind == KindAnyPath {
		prefix := ""
		for _, nd := range g.nodes[:n-1] {
			if nd.Kind != KindLiteral {
				return false
			}
			prefix += nd.Text
		}
		return strings.HasPrefix(other.LiteralPrefix(), prefix)
	}
	return false
}

// ---- parser ----

type parser struct {
	src   string
	pos   int
	depth int
}

// seqState tracks what the text written so far ends with, for the component
// checks and for recognising "/**/".
type seqState struct {
	endsSlash bool // every way of reading the text so far ends with '/'
	maySlash  bool // some way of reading the text so far ends with '/'
	comp      []byte
	compPure  bool // comp holds the whole current component, which is all literal and follows a '/'
	compStart int  // offset where the current component starts
}

func (s *seqState) afterSlash(at int) {
	s.endsSlash, s.maySlash = true, true
	s.comp, s.compPure, s.compStart = s.comp[:0], true, at
}

func (s *seqState) afterMeta() {
	s.endsSlash, s.maySlash = false, false
	s.compPure = false
}

// checkComp rejects a finished component that is "." or "..".
func (p *parser) checkComp(s *seqState, end int) error {
	if s.compPure && (string(s.comp) == "." || string(s.comp) == "..") {
		return &Error{s.compStart, end - s.compStart, fmt.Sprintf("%q component: the kernel resolves paths before matching, so write the path without it", s.comp)}
	}
	return nil
}

// seq parses until the end of the pattern or, inside braces, ',' or '}'.
func (p *parser) seq(s *seqState, depth int) ([]Node, error) {
	var nodes []Node
	lit := func(text string, at, n int) {
		if k := len(nodes); k > 0 && nodes[k-1].Kind == KindLiteral && nodes[k-1].Offset+nodes[k-1].Len == at {
			nodes[k-1].Text += text
			nodes[k-1].Len += n
			return
		}
		nodes = append(nodes, Node{Kind: KindLiteral, Text: text, Offset: at, Len: n})
	}
	for p.pos < len(p.src) {
		at := p.pos
		c := p.src[at]
		switch c {
		case 0:
			return nil, &Error{at, 1, "NUL byte in glob"}
		case ',', '}':
			if depth > 0 {
				// Whether a trailing "." here is a whole component depends on
				// what follows the braces, so it is not checked.
				return nodes, nil
			}
			if c == '}' {
				return nil, &Error{at, 1, "unmatched '}' (write \\} for a literal brace)"}
			}
			lit(",", at, 1)
			s.comp = append(s.comp, ',')
			s.endsSlash, s.maySlash = false, false
			p.pos++
		case '/':
			if s.maySlash {
				return nil, &Error{at, 1, "empty path component ('//'): only a trailing '/' is allowed"}
			}
			if err := p.checkComp(s, at); err != nil {
				return nil, err
			}
			lit("/", at, 1)
			p.pos++
			s.afterSlash(p.pos)
		case '\\':
			if at+1 >= len(p.src) {
				return nil, &Error{at, 1, "trailing '\\' escapes nothing"}
			}
			_, n := utf8.DecodeRuneInString(p.src[at+1:])
			text := p.src[at+1 : at+1+n]
			if text == "\x00" {
				return nil, &Error{at + 1, 1, "NUL byte in glob"}
			}
			p.pos += 1 + n
			if text == "/" {
				if s.maySlash {
					return nil, &Error{at, 2, "empty path component ('//'): only a trailing '/' is allowed"}
				}
				if err := p.checkComp(s, at); err != nil {
					return nil, err
				}
				lit("/", at, 2)
				s.afterSlash(p.pos)
				continue
			}
			lit(text, at, 1+n)
			s.comp = append(s.comp, text...)
			s.endsSlash, s.maySlash = false, false
		case '*':
			n := 0
			for at+n < len(p.src) && p.src[at+n] == '*' {
				n++
			}
			if n >= 3 {
				return nil, &Error{at, n, "'***' is ambiguous: write '*' for one component or '**' for any depth"}
			}
			p.pos += n
			if n == 1 {
				nodes = append(nodes, Node{Kind: KindStar, Offset: at, Len: 1})
				s.afterMeta()
				continue
			}
			if s.endsSlash && p.pos < len(p.src) && p.src[p.pos] == '/' {
				p.pos++
				nodes = append(nodes, Node{Kind: KindAnyDirs, Offset: at, Len: 3})
				s.afterSlash(p.pos)
				continue
			}
			nodes = append(nodes, Node{Kind: KindAnyPath, Offset: at, Len: 2})
			s.afterMeta()
		case '?':
			p.pos++
			nodes = append(nodes, Node{Kind: KindClass, Ranges: anyChar(), Offset: at, Len: 1})
			s.afterMeta()
		case '[':
			n, err := p.class()
			if err != nil {
				return nil, err
			}
			nodes = append(nodes, n)
			s.afterMeta()
		case '{':
			n, err := p.alt(s, depth)
			if err != nil {
				return nil, err
			}
			nodes = append(nodes, n)
		default:
			_, n := utf8.DecodeRuneInString(p.src[at:])
			lit(p.src[at:at+n], at, n)
			s.comp = append(s.comp, p.src[at:at+n]...)
			s.endsSlash, s.maySlash = false, false
			p.pos += n
		}
	}
	return nodes, p.checkComp(s, p.pos)
}

func (p *parser) alt(s *seqState, depth int) (Node, error) {
	open := p.pos
	if depth+1 > MaxNesting {
		return Node{}, &Error{open, 1, fmt.Sprintf("alternations nested deeper than %d levels", MaxNesting)}
	}
	p.pos++
	node := Node{Kind: KindAlt, Offset: open}
	allSlash, anySlash := true, false
	for {
		bs := seqState{endsSlash: s.endsSlash, maySlash: s.maySlash, compStart: p.pos}
		branch, err := p.seq(&bs, depth+1)
		if err != nil {
			return Node{}, err
		}
		if p.pos >= len(p.src) {
			return Node{}, &Error{open, 1, "unterminated alternation: missing '}'"}
		}
		node.Alts = append(node.Alts, branch)
		allSlash = allSlash && bs.endsSlash
		anySlash = anySlash || bs.maySlash
		c := p.src[p.pos]
		p.pos++
		if c == '}' {
			break
		}
	}
	node.Len = p.pos - open
	if node.Len == 2 {
		return Node{}, &Error{open, 2, "empty alternation '{}': write '{,x}' for an optional x"}
	}
	s.endsSlash, s.maySlash = allSlash, anySlash
	s.compPure = false
	if allSlash {
		// Every alternative ends a component: the next one starts here.
		s.comp, s.compPure, s.compStart = s.comp[:0], true, p.pos
	}
	return node, nil
}

// class parses "[...]" at p.pos.
func (p *parser) class() (Node, error) {
	open := p.pos
	p.pos++
	negate := false
	if p.pos < len(p.src) && (p.src[p.pos] == '!' || p.src[p.pos] == '^') {
		negate = true
		p.pos++
	}
	var rs []RuneRange
	first := true
	for {
		if p.pos >= len(p.src) {
			return Node{}, &Error{open, len(p.src) - open, "unterminated class: missing ']'"}
		}
		if p.src[p.pos] == ']' {
			if first {
				return Node{}, &Error{open, p.pos + 1 - open, "empty class '[]' (write \\] for a literal ']')"}
			}
			p.pos++
			break
		}
		first = false
		itemAt := p.pos
		lo, err := p.classChar()
		if err != nil {
			return Node{}, err
		}
		hi := lo
		if p.pos+1 < len(p.src) && p.src[p.pos] == '-' && p.src[p.pos+1] != ']' {
			p.pos++
			if hi, err = p.classChar(); err != nil {
				return Node{}, err
			}
			if hi < lo {
				return Node{}, &Error{itemAt, p.pos - itemAt, fmt.Sprintf("class range %q is out of order", p.src[itemAt:p.pos])}
			}
		}
		rs = append(rs, RuneRange{lo, hi})
	}
	rs = normalize(rs)
	if negate {
		rs = complement(rs)
	}
	rs = subtract(rs, '/')
	if len(rs) == 0 {
		return Node{}, &Error{open, p.pos - open, "class matches no character"}
	}
	return Node{Kind: KindClass, Ranges: rs, Offset: open, Len: p.pos - open}, nil
}

func (p *parser) classChar() (rune, error) {
	at := p.pos
	if p.src[at] == '\\' {
		if at+1 >= len(p.src) {
			return 0, &Error{at, 1, "trailing '\\' escapes nothing"}
		}
		p.pos++
	}
	r, n := utf8.DecodeRuneInString(p.src[p.pos:])
	if r == utf8.RuneError && n <= 1 {
		return 0, &Error{p.pos, 1, "class member is not valid UTF-8"}
	}
	p.pos += n
	switch r {
	case 0:
		return 0, &Error{p.pos - n, n, "NUL byte in glob"}
	case '/':
		return 0, &Error{at, p.pos - at, "'/' in a class: a class never matches '/'"}
	}
	return r, nil
}

// ---- rune sets ----

const surrogateLo, surrogateHi = 0xD800, 0xDFFF

func anyChar() []RuneRange {
	return []RuneRange{{0, '/' - 1}, {'/' + 1, surrogateLo - 1}, {surrogateHi + 1, utf8.MaxRune}}
}

// normalize sorts and merges ranges and removes surrogates (which UTF-8 cannot encode).
func normalize(rs []RuneRange) []RuneRange {
	slices.SortFunc(rs, func(a, b RuneRange) int { return int(a.Lo - b.Lo) })
	var out []RuneRange
	for _, r := range rs {
		if k := len(out); k > 0 && r.Lo <= out[k-1].Hi+1 {
			out[k-1].Hi = max(out[k-1].Hi, r.Hi)
			continue
		}
		out = append(out, r)
	}
	out = subtractRange(out, surrogateLo, surrogateHi)
	return out
}

func complement(rs []RuneRange) []RuneRange {
	var out []RuneRange
	next := rune(0)
	for _, r := range rs {
		if r.Lo > next {
			out = append(out, RuneRange{next, r.Lo - 1})
		}
		next = r.Hi + 1
	}
	if next <= utf8.MaxRune {
		out = append(out, RuneRange{next, utf8.MaxRune})
	}
	return subtractRange(out, surrogateLo, surrogateHi)
}

func subtract(rs []RuneRange, c rune) []RuneRange { return subtractRange(rs, c, c) }

func subtractRange(rs []RuneRange, lo, hi rune) []RuneRange {
	var out []RuneRange
	for _, r := range rs {
		if r.Hi < lo || r.Lo > hi {
			out = append(out, r)
			continue
		}
		if r.Lo < lo {
			out = append(out, RuneRange{r.Lo, lo - 1})
		}
		if r.Hi > hi {
			out = append(out, RuneRange{hi + 1, r.Hi})
		}
	}
	return out
}

// InRanges reports whether r is in the sorted ranges rs.
func InRanges(rs []RuneRange, r rune) bool {
	i, j := 0, len(rs)
	for i < j {
		m := (i + j) / 2
		switch {
		case r < rs[m].Lo:
			j = m
		case r > rs[m].Hi:
			i = m + 1
		default:
			return true
		}
	}
	return false
}
