// Package syntax holds the participle grammar of .bbx: the structs whose
// tags are the productions. Only package parser uses them; everything else
// sees lang/ast. The EBNF in grammar/bbx.ebnf is generated from File.
package syntax

import "github.com/alecthomas/participle/v2/lexer"

// File is a whole .bbx file. Inner attributes are accepted at any item
// position; the checker reports those that are not at the top.
type File struct {
	Items []*Item `parser:"@@*"`
}

// Item is an inner attribute, or directives followed by a rule, include or block.
type Item struct {
	Pos        lexer.Position
	EndPos     lexer.Position
	Inner      *Inner       `parser:"  @@"`
	Directives []*Directive `parser:"| @@*"`
	Include    *Include     `parser:"  ( @@"`
	Rule       *Rule        `parser:"  | @@"`
	Block      *Block       `parser:"  | @@ )"`
}

// Entry is one piece of a file for error recovery: the parser takes a
// broken file apart entry by entry and tracks blocks itself, so that an
// error in one item does not hide the errors in the next.
type Entry struct {
	Inner     *Inner     `parser:"  @@"`
	Directive *Directive `parser:"| @@"`
	Include   *Include   `parser:"| @@"`
	Rule      *Rule      `parser:"| @@"`
}

// Inner is #![name] or #![name ARG].
type Inner struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Name   *Ident `parser:"'#![' @@"`
	Arg    *Arg   `parser:"@@? ']'"`
}

// Directive is #[name ARG ...]; the commas between arguments are optional,
// so that #[func "f" in "/lib/libc.so.6"] reads naturally.
type Directive struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Name   *Ident `parser:"'#[' @@"`
	Args   []*Arg `parser:"( @@ ( ','? @@ )* )? ']'"`
}

// Rule is KIND(ARG, ...). An empty or trailing-comma argument list parses;
// the checker counts arguments and says what a rule kind needs.
type Rule struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Kind   *Ident `parser:"@@ '('"`
	Args   []*Arg `parser:"( @@ ( ',' @@ )* ','? )? ')'"`
}

// Include is include "path" or include <name>.
type Include struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Path   *String `parser:"'include':Keyword ( @@"`
	Std    *Ident  `parser:"| '<' @@ '>' )"`
}

// Block is { ITEM ... }.
type Block struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Items  []*Item `parser:"'{' @@* '}'"`
}

// Arg is "text", name|name|..., or name "text".
type Arg struct {
	Pos    lexer.Position
	EndPos lexer.Position
	Str    *String  `parser:"  @@"`
	Head   *Ident   `parser:"| @@"`
	KwStr  *String  `parser:"  ( @@"`
	Alts   []*Ident `parser:"  | ( '|' @@ )+ )?"`
}

// String is a string literal as written, quotes included.
type String struct {
	Pos lexer.Position
	Raw string `parser:"@String"`
}

// Ident is a name.
type Ident struct {
	Pos  lexer.Position
	Name string `parser:"@Ident"`
}
