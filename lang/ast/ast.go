// Package ast is the syntax tree of a .bbx file. Every node carries the
// source span it was parsed from. The parser's own (participle) structs
// never leave package parser; this is the tree the rest of bpfbox sees.
package ast

import "github.com/bpfbox/bpfbox/lang/source"

// File is one parsed .bbx file.
type File struct {
	Name     string       // as given to the parser
	Src      []byte       // the source text (after BOM removal), for diagnostics and fmt
	Inner    []*InnerAttr // #![...] in source order
	Items    []Item
	Comments []*Comment // every comment, in source order (for fmt)
	Span     source.Span
}

// InnerAttr is a file-level attribute: #![name] or #![name ARG].
type InnerAttr struct {
	Name Ident
	Arg  *Arg // nil when absent
	Span source.Span
}

// Item is a *Rule, *Block or *Include.
type Item interface {
	ItemSpan() source.Span
	ItemDirectives() []*Directive
}

// Directive is #[name] or #[name ARG, ARG ...] before an item.
type Directive struct {
	Name Ident
	Args []*Arg
	Span source.Span
}

// Rule is KIND(ARG, ARG ...), e.g. fs("/etc/passwd", read).
type Rule struct {
	Directives []*Directive
	Kind       Ident
	Args       []*Arg
	Span       source.Span // from the rule kind to the closing parenthesis
}

// Block is { ITEM ... } with directives that apply to every item inside.
type Block struct {
	Directives []*Directive
	Items      []Item
	Span       source.Span // from "{" to "}"
}

// Include is include "path" or include <name>.
type Include struct {
	Directives []*Directive
	Path       string // the string's value, or the name inside <>
	Std        bool   // include <name>
	PathSpan   source.Span
	Span       source.Span
}

func (r *Rule) ItemSpan() source.Span    { return r.Span }
func (b *Block) ItemSpan() source.Span   { return b.Span }
func (i *Include) ItemSpan() source.Span { return i.Span }

func (r *Rule) ItemDirectives() []*Directive    { return r.Directives }
func (b *Block) ItemDirectives() []*Directive   { return b.Directives }
func (i *Include) ItemDirectives() []*Directive { return i.Directives }

// ArgKind says which form an argument has.
type ArgKind int

const (
	ArgString      ArgKind = iota + 1 // "text"
	ArgIdents                         // a | b | c (one or more identifiers)
	ArgIdentString                    // ident "text", e.g. in "/lib/libc.so.6"
)

// Arg is one argument of a rule, directive or inner attribute.
type Arg struct {
	Kind    ArgKind
	Idents  []Ident     // ArgIdents: the alternatives; ArgIdentString: the one keyword
	Str     string      // ArgString, ArgIdentString: the decoded string value
	StrSpan source.Span // span of the string literal, quotes included
	Span    source.Span
}

// Ident is an identifier with its span.
type Ident struct {
	Name string
	Span source.Span
}

// Comment is a // line or /* block */ comment, text including its markers.
type Comment struct {
	Text string
	Span source.Span
}
