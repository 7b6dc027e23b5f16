// Package format prints .bbx syntax trees in the canonical layout, the way
// gofmt does for Go: four-space indentation inside blocks, one item per
// line, each directive of a rule or include on its own line (a block's
// directives stay on the line of its '{'), ", " between arguments and "|"
// between names, canonical string escapes, at most one blank line where the
// source had blank lines between items, and a final newline. Comments are
// kept: one that ends an item's line stays there, every other comment is
// put on its own line at the indentation of the item it precedes (a comment
// inside an item moves before it). Attributes (#![...]) stay where they are:
// moving one would change what the checker says about the file.
//
// Formatting never changes meaning (the tests re-parse the output and
// compare the trees) and is idempotent.
package format

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/bpfbox/bpfbox/lang/ast"
	"github.com/bpfbox/bpfbox/lang/diag"
	"github.com/bpfbox/bpfbox/lang/parser"
	"github.com/bpfbox/bpfbox/lang/source"
)

// Source parses and formats one file. A file with parse errors is not
// formatted: the diagnostics are returned instead.
func Source(name string, src []byte) ([]byte, diag.List) {
	f, l := parser.Parse(name, src)
	if l.HasErrors() {
		return nil, l
	}
	out, err := Format(f)
	if err != nil {
		l.Add(diag.Error, parser.CodeInternal, f.Span, err.Error(), "please report this as a bug")
		return nil, l
	}
	return out, l
}

// Format prints f in the canonical layout. f must come from a parse without
// errors; its Comments and spans place the comments and blank lines.
func Format(f *ast.File) ([]byte, error) {
	p := &printer{comments: f.Comments, inner: f.Inner}
	p.items(f.Items, 0)
	p.innerBefore(-1, 0)
	p.commentsBefore(source.Pos{Offset: len(f.Src) + 1, Line: 1 << 30}, 0, true)
	if p.err != nil {
		return nil, p.err
	}
	return p.buf.Bytes(), nil
}

type printer struct {
	buf      bytes.Buffer
	comments []*ast.Comment
	ci       int // next comment to print
	inner    []*ast.InnerAttr
	ii       int  // next attribute to print
	lastLine int  // source line where the last printed thing ended; 0 before the first
	noBlank  bool // just after '{' or inside an item: no blank line before what comes next
	err      error
}

// items prints a list of items (top level or a block's) at depth indent.
func (p *printer) items(items []ast.Item, indent int) {
	for _, it := range items {
		p.innerBefore(it.ItemSpan().Start.Offset, indent)
		dirs := it.ItemDirectives()
		switch it := it.(type) {
		case *ast.Rule:
			p.directiveLines(dirs, indent)
			p.element(it.Span, indent, p.rule(it), false)
		case *ast.Include:
			p.directiveLines(dirs, indent)
			p.element(it.Span, indent, include(it), false)
		case *ast.Block:
			p.block(it, dirs, indent)
		default:
			p.err = fmt.Errorf("format: unknown item %T", it)
		}
	}
}

// innerBefore prints the attributes that start before offset off (all
// remaining ones when off < 0).
func (p *printer) innerBefore(off, indent int) {
	for p.ii < len(p.inner) && (off < 0 || p.inner[p.ii].Span.Start.Offset < off) {
		in := p.inner[p.ii]
		p.ii++
		text := "#![" + in.Name.Name
		if in.Arg != nil {
			text += " " + p.arg(in.Arg)
		}
		p.element(in.Span, indent, text+"]", false)
	}
}

func (p *printer) directiveLines(dirs []*ast.Directive, indent int) {
	for i, d := range dirs {
		p.element(d.Span, indent, p.directive(d), i > 0)
	}
	if len(dirs) > 0 {
		p.noBlank = true // the item follows its directives directly
	}
}

func (p *printer) block(b *ast.Block, dirs []*ast.Directive, indent int) {
	var head strings.Builder
	for _, d := range dirs {
		head.WriteString(p.directive(d))
		head.WriteByte(' ')
	}
	head.WriteByte('{')
	open := b.Span
	if len(dirs) > 0 {
		open.Start = dirs[0].Span.Start
	}
	closeAt := b.Span.End
	closeAt.Offset--
	closeAt.Col--
	// The opening line ends at '{': find it as the first byte of the block's own span.
	brace := b.Span.Start
	open.End = source.Pos{Offset: brace.Offset + 1, Line: brace.Line, Col: brace.Col + 1}
	if len(b.Items) == 0 && !p.commentWithin(closeAt.Offset) && !p.innerWithin(closeAt.Offset) {
		open.End = b.Span.End
		p.element(open, indent, head.String()+"}", false)
		return
	}
	p.element(open, indent, head.String(), false)
	p.noBlank = true
	p.items(b.Items, indent+1)
	p.innerBefore(closeAt.Offset, indent+1)
	p.commentsBefore(closeAt, indent+1, true)
	p.noBlank = true
	p.element(source.Span{Start: closeAt, End: b.Span.End}, indent, "}", true)
}

// commentWithin reports whether an unprinted comment starts before off.
func (p *printer) commentWithin(off int) bool {
	return p.ci < len(p.comments) && p.comments[p.ci].Span.Start.Offset < off
}

func (p *printer) innerWithin(off int) bool {
	return p.ii < len(p.inner) && p.inner[p.ii].Span.Start.Offset < off
}

// element prints one line of output for the source range sp: first the
// comments that start before sp ends (on their own lines), then text, then
// the comments that follow on sp's last line. cont marks a line that
// continues an item (a later directive, a closing brace): no blank line
// before it.
func (p *printer) element(sp source.Span, indent int, text string, cont bool) {
	p.commentsBefore(sp.Start, indent, true)
	// Comments inside the element move before it, without blank lines.
	if p.commentWithin(sp.End.Offset) {
		p.blank(sp.Start.Line, cont)
		for p.commentWithin(sp.End.Offset) {
			p.line(indent, commentText(p.comments[p.ci].Text))
			p.ci++
		}
		p.noBlank = true
	}
	p.blank(sp.Start.Line, cont)
	p.writeIndent(indent)
	p.buf.WriteString(text)
	p.lastLine = sp.End.Line
	for p.ci < len(p.comments) {
		c := p.comments[p.ci]
		if c.Span.Start.Line != p.lastLine {
			break
		}
		p.buf.WriteByte(' ')
		p.buf.WriteString(commentText(c.Text))
		p.lastLine = c.Span.End.Line
		p.ci++
	}
	p.buf.WriteByte('\n')
	p.noBlank = false
}

// commentsBefore prints, each on its own line, the comments that start
// before pos. blanks keeps the blank lines between them.
func (p *printer) commentsBefore(pos source.Pos, indent int, blanks bool) {
	for p.ci < len(p.comments) && p.comments[p.ci].Span.Start.Offset < pos.Offset {
		c := p.comments[p.ci]
		p.ci++
		p.blank(c.Span.Start.Line, !blanks)
		p.line(indent, commentText(c.Text))
		p.lastLine = c.Span.End.Line
		p.noBlank = false
	}
}

// blank writes one empty line if the source had an empty line before line.
func (p *printer) blank(line int, cont bool) {
	if cont || p.noBlank || p.lastLine == 0 {
		return
	}
	if line > p.lastLine+1 {
		p.buf.WriteByte('\n')
	}
}

func (p *printer) line(indent int, text string) {
	p.writeIndent(indent)
	p.buf.WriteString(text)
	p.buf.WriteByte('\n')
}

func (p *printer) writeIndent(indent int) {
	for range indent {
		p.buf.WriteString("    ")
	}
}

// commentText drops trailing blanks of a line comment and the '\r' of CRLF
// lines inside a block comment.
func commentText(t string) string {
	if strings.HasPrefix(t, "//") {
		return strings.TrimRight(t, " \t")
	}
	return strings.ReplaceAll(t, "\r\n", "\n")
}

func (p *printer) rule(r *ast.Rule) string {
	var b strings.Builder
	b.WriteString(r.Kind.Name)
	b.WriteByte('(')
	for i, a := range r.Args {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(p.arg(a))
	}
	b.WriteByte(')')
	return b.String()
}

func (p *printer) directive(d *ast.Directive) string {
	var b strings.Builder
	b.WriteString("#[")
	b.WriteString(d.Name.Name)
	for i, a := range d.Args {
		// `in "LIB"` continues the argument before it: no comma.
		if i == 0 || a.Kind == ast.ArgIdentString {
			b.WriteByte(' ')
		} else {
			b.WriteString(", ")
		}
		b.WriteString(p.arg(a))
	}
	b.WriteByte(']')
	return b.String()
}

func include(in *ast.Include) string {
	if in.Std {
		return "include <" + in.Path + ">"
	}
	return "include " + Quote(in.Path)
}

func (p *printer) arg(a *ast.Arg) string {
	switch a.Kind {
	case ast.ArgString:
		return Quote(a.Str)
	case ast.ArgIdentString:
		if len(a.Idents) == 1 {
			return a.Idents[0].Name + " " + Quote(a.Str)
		}
	case ast.ArgIdents:
		if len(a.Idents) > 0 {
			names := make([]string, len(a.Idents))
			for i, id := range a.Idents {
				names[i] = id.Name
			}
			return strings.Join(names, "|")
		}
	}
	p.err = fmt.Errorf("format: malformed argument at %s", a.Span)
	return ""
}

// Quote writes s as a .bbx string literal: printable text as is, \\ \" \n
// \t for those characters, \xHH for other control bytes and bytes that are
// not UTF-8.
func Quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			b.WriteString(`\\`)
		case c == '"':
			b.WriteString(`\"`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, c)
		case c < utf8.RuneSelf:
			b.WriteByte(c)
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size <= 1 {
				fmt.Fprintf(&b, `\x%02x`, c)
				i++
				continue
			}
			b.WriteString(s[i : i+size])
			i += size
			continue
		}
		i++
	}
	b.WriteByte('"')
	return b.String()
}
