// Package parser turns .bbx source into the syntax tree of lang/ast.
//
// Parsing is in two layers. A hand-written lexer (lexer.go) reports every
// bad byte at its exact position (NUL, invalid UTF-8, bad escapes,
// unterminated strings and comments, upper-case names) and hands clean
// tokens to a participle grammar (internal/syntax). A well-formed file is
// parsed in one go by a recursive-descent transcription of that grammar
// (fast.go; participle itself is ten times slower, and the tests check the
// two agree on every input). When that fails, the parser goes through the
// file entry by entry with participle (an attribute, a directive, a rule,
// an include, a brace), keeps track of blocks itself and, after an error,
// skips to the next line that starts an item, so that one file reports
// several errors and still yields the items that were well formed.
//
// Positions: a UTF-8 byte order mark at the start of the file is dropped,
// and every offset, line and column counts from after it; ast.File.Src is
// the text without the mark. Columns count bytes. "\r\n" line endings are
// accepted ("\r" is white space).
package parser

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"

	"github.com/bpfbox/bpfbox/lang/ast"
	"github.com/bpfbox/bpfbox/lang/diag"
	"github.com/bpfbox/bpfbox/lang/parser/internal/syntax"
	"github.com/bpfbox/bpfbox/lang/source"
)

const (
	// MaxFileSize is the largest file the parser reads (4 MiB, about
	// 100,000 rules). A larger file gets one P001 diagnostic and no items.
	MaxFileSize = 4 << 20
	// MaxDepth is how deeply blocks may nest; deeper blocks get P023 and
	// are skipped. Version 1 semantics never need more than a few levels.
	MaxDepth = 64
	// maxErrors caps the diagnostics of one file.
	maxErrors = 100
)

var (
	fileParser  = participle.MustBuild[syntax.File](participle.Lexer(bbxLexer{}))
	entryParser = participle.MustBuild[syntax.Entry](participle.Lexer(bbxLexer{}))
)

//go:generate go run ./internal/gengrammar ../../grammar/bbx.ebnf

// Grammar returns the text of grammar/bbx.ebnf: the productions as
// participle derives them from the parser's structs, after a comment that
// describes the tokens.
func Grammar() string { return grammarHeader + fileParser.String() + "\n" }

const grammarHeader = `(* The grammar of .bbx policy files, version 1.

   Generated from lang/parser/internal/syntax by "go generate ./lang/parser";
   do not edit. lang/parser's tests fail when this file is stale.

   Tokens (lang/parser/lexer.go):
     <ident>   [a-z_][a-z0-9_]*   (a name with upper-case letters is an error)
     <string>  '"' { character | escape } '"' on one line, where an escape is
               \\ \" \n \t or \xHH, and a character is any UTF-8 character
               except '"', '\', a newline and control characters other than tab
     "include" a keyword only before a <string> or "<"; elsewhere a name
     punctuation  #![  #[  ]  (  )  {  }  ,  |  <  >
   Comments: // to the end of the line, and /* ... */ (not nested).
   White space: space, tab, carriage return, newline. A UTF-8 byte order mark
   at the start of a file is ignored.

   Limits: a file of at most 4 MiB, blocks nested at most 64 deep.

   Accepted here but reported by the checker: attributes (#![...]) after the
   first item, an empty or wrongly counted argument list, unknown names. *)

`

var bom = []byte("\xef\xbb\xbf")

// Parse parses one .bbx file. It never panics and always returns a non-nil
// file holding what could be parsed; the diagnostics (errors only, P0xx
// codes, see codes.go) are in source order. name is used in spans.
func Parse(name string, src []byte) (*ast.File, diag.List) {
	f := &ast.File{Name: name}
	if len(src) > MaxFileSize {
		start := source.Pos{Offset: 0, Line: 1, Col: 1}
		var l diag.List
		l.Add(diag.Error, CodeFileTooLarge, source.Span{File: name, Start: start, End: start},
			fmt.Sprintf("file is too large (%d bytes; the limit is %d)", len(src), MaxFileSize),
			"split the policy into several files joined with include")
		f.Span = source.Span{File: name, Start: start, End: start}
		return f, l
	}
	src = bytes.TrimPrefix(src, bom)
	f.Src = src
	errs := &errSink{max: maxErrors}
	lx := lexFile(name, src, errs)
	p := &builder{name: name, lx: lx, errs: errs, f: f}
	f.Span = source.Span{File: name, Start: source.Pos{Offset: 0, Line: 1, Col: 1}, End: lx.ends[len(lx.ends)-1]}
	for _, c := range lx.comments {
		f.Comments = append(f.Comments, &ast.Comment{Text: c.text, Span: source.Span{File: name, Start: c.start, End: c.end}})
	}
	if !p.parseFast() {
		p.parseEntries()
	}
	errs.list.Sort()
	return f, errs.list
}

type builder struct {
	name string
	lx   lexed
	errs *errSink
	f    *ast.File

	participleOnly bool // tests: recover with participle alone, no fast entry parsers
}

// lexErrorBetween reports whether the lexer reported a problem between
// offsets from and to: a syntax error right after one is usually its
// consequence (a dropped ';' or '=', an unquoted path) and is not reported.
func (p *builder) lexErrorBetween(from, to int) bool {
	for _, d := range p.errs.list {
		if o := d.Span.Start.Offset; o >= from && o < to && d.Code < CodeSyntax {
			return true
		}
	}
	return false
}

// parseWhole parses a well-formed file with the whole-file participle
// grammar. It reports false (and changes nothing) when the file has a syntax
// error or braces that are unbalanced or nested too deeply. Parse uses the
// equivalent hand-written fast path (fast.go); the tests hold the two
// against each other, with this one as the reference.
func (p *builder) parseWhole() bool {
	depth := 0
	for _, t := range p.lx.toks {
		if t.Type != tokPunct {
			continue
		}
		switch t.Value {
		case "{":
			depth++
			if depth > MaxDepth {
				return false
			}
		case "}":
			depth--
			if depth < 0 {
				return false
			}
		}
	}
	if depth != 0 {
		return false
	}
	pl, err := lexer.Upgrade(&sliceLexer{toks: p.lx.toks})
	if err != nil {
		return false
	}
	tree, err := fileParser.ParseFromLexer(pl)
	if err != nil {
		return false
	}
	p.f.Items = p.items(tree.Items)
	return true
}

// items converts parsed items, moving inner attributes to File.Inner.
func (p *builder) items(in []*syntax.Item) []ast.Item {
	var out []ast.Item
	for _, it := range in {
		if it.Inner != nil {
			p.f.Inner = append(p.f.Inner, p.inner(it.Inner))
			continue
		}
		dirs := p.directives(it.Directives)
		switch {
		case it.Rule != nil:
			out = append(out, p.rule(it.Rule, dirs))
		case it.Include != nil:
			out = append(out, p.include(it.Include, dirs))
		case it.Block != nil:
			b := &ast.Block{Directives: dirs, Span: p.span(it.Block.Pos, it.Block.EndPos)}
			b.Items = p.items(it.Block.Items)
			out = append(out, b)
		}
	}
	return out
}

func (p *builder) directives(in []*syntax.Directive) []*ast.Directive {
	if len(in) == 0 {
		return nil
	}
	out := make([]*ast.Directive, len(in))
	for i, d := range in {
		out[i] = p.directive(d)
	}
	return out
}

func (p *builder) directive(d *syntax.Directive) *ast.Directive {
	return &ast.Directive{Name: p.ident(d.Name), Args: p.args(d.Args), Span: p.span(d.Pos, d.EndPos)}
}

func (p *builder) inner(in *syntax.Inner) *ast.InnerAttr {
	a := &ast.InnerAttr{Name: p.ident(in.Name), Span: p.span(in.Pos, in.EndPos)}
	if in.Arg != nil {
		a.Arg = p.arg(in.Arg)
	}
	return a
}

func (p *builder) rule(r *syntax.Rule, dirs []*ast.Directive) *ast.Rule {
	return &ast.Rule{Directives: dirs, Kind: p.ident(r.Kind), Args: p.args(r.Args), Span: p.span(r.Pos, r.EndPos)}
}

func (p *builder) include(in *syntax.Include, dirs []*ast.Directive) *ast.Include {
	out := &ast.Include{Directives: dirs, Span: p.span(in.Pos, in.EndPos)}
	if in.Std != nil {
		id := p.ident(in.Std)
		out.Path, out.Std, out.PathSpan = id.Name, true, id.Span
	} else {
		out.Path, out.PathSpan = decodeString(in.Path.Raw), p.strSpan(in.Path)
	}
	return out
}

func (p *builder) args(in []*syntax.Arg) []*ast.Arg {
	if len(in) == 0 {
		return nil
	}
	out := make([]*ast.Arg, len(in))
	for i, a := range in {
		out[i] = p.arg(a)
	}
	return out
}

func (p *builder) arg(a *syntax.Arg) *ast.Arg {
	out := &ast.Arg{Span: p.span(a.Pos, a.EndPos)}
	switch {
	case a.Str != nil:
		out.Kind, out.Str, out.StrSpan = ast.ArgString, decodeString(a.Str.Raw), p.strSpan(a.Str)
	case a.KwStr != nil:
		out.Kind, out.Idents = ast.ArgIdentString, []ast.Ident{p.ident(a.Head)}
		out.Str, out.StrSpan = decodeString(a.KwStr.Raw), p.strSpan(a.KwStr)
	default:
		out.Kind = ast.ArgIdents
		out.Idents = make([]ast.Ident, 1, 1+len(a.Alts))
		out.Idents[0] = p.ident(a.Head)
		for _, id := range a.Alts {
			out.Idents = append(out.Idents, p.ident(id))
		}
	}
	return out
}

func (p *builder) ident(id *syntax.Ident) ast.Ident {
	return ast.Ident{Name: id.Name, Span: p.tokSpan(id.Pos, len(id.Name))}
}

func (p *builder) strSpan(s *syntax.String) source.Span { return p.tokSpan(s.Pos, len(s.Raw)) }

func (p *builder) tokSpan(at lexer.Position, n int) source.Span {
	start := pos(at)
	end := start
	end.Offset += n
	end.Col += n
	return source.Span{File: p.name, Start: start, End: end}
}

// span covers from start to the end of the last token before endPos (the
// position of the token after the node, as participle records it).
func (p *builder) span(start, endPos lexer.Position) source.Span {
	toks := p.lx.toks
	k := sort.Search(len(toks), func(i int) bool { return toks[i].Pos.Offset >= endPos.Offset })
	end := pos(start)
	if k > 0 {
		end = p.lx.ends[k-1]
	}
	return source.Span{File: p.name, Start: pos(start), End: end}
}

func pos(p lexer.Position) source.Pos {
	return source.Pos{Offset: p.Offset, Line: p.Line, Col: p.Column}
}

// describe names a token for "found X" in messages.
func describe(t lexer.Token) string {
	switch t.Type {
	case tokEOF:
		return "end of file"
	case tokString:
		s := t.Value
		if len(s) > 24 {
			s = s[:20] + "..."
		}
		return "string " + s
	case tokIdent:
		return fmt.Sprintf("name '%s'", t.Value)
	}
	return fmt.Sprintf("'%s'", t.Value)
}

func isPunct(t lexer.Token, v string) bool { return t.Type == tokPunct && t.Value == v }

// quote renders a token in single quotes for messages.
func quote(t lexer.Token) string {
	if t.Type == tokEOF {
		return "end of file"
	}
	return "'" + strings.TrimSpace(t.Value) + "'"
}
