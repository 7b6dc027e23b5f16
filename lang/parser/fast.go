package parser

import (
	"github.com/alecthomas/participle/v2/lexer"

	"github.com/bpfbox/bpfbox/lang/ast"
	"github.com/bpfbox/bpfbox/lang/source"
)

// The fast path. participle builds its tree by reflection and allocates a
// parse context for every alternative it tries; on a 10,000-rule policy that
// is about 27µs a rule, too slow for checking 100,000 rules/s. fastParser is
// a plain recursive-descent transcription of internal/syntax for well-formed
// files: it accepts exactly the same token sequences and builds exactly the
// tree the participle path builds (FuzzParse and TestFastMatchesGrammar
// compare the two on every input). On the first problem it gives up and the
// participle-based parsers take over, so all error reporting and recovery
// comes from the grammar.
type fastParser struct {
	b     *builder
	toks  []lexer.Token
	ends  []source.Pos
	i     int
	depth int
	inner []*ast.InnerAttr
}

// parseFast parses a well-formed file; it reports false, changing nothing,
// on any syntax error.
func (p *builder) parseFast() bool {
	fp := &fastParser{b: p, toks: p.lx.toks, ends: p.lx.ends}
	items, ok := fp.items(false)
	if !ok {
		return false
	}
	p.f.Items, p.f.Inner = items, fp.inner
	return true
}

func (fp *fastParser) punct(v string) bool {
	t := &fp.toks[fp.i]
	return t.Type == tokPunct && t.Value == v
}

func (fp *fastParser) typ() lexer.TokenType { return fp.toks[fp.i].Type }

func (fp *fastParser) span(from, to int) source.Span {
	return source.Span{File: fp.b.name, Start: pos(fp.toks[from].Pos), End: fp.ends[to]}
}

// items parses { item } up to '}' (in a block) or the end of the file.
func (fp *fastParser) items(inBlock bool) ([]ast.Item, bool) {
	var out []ast.Item
	for {
		switch {
		case fp.typ() == tokEOF:
			return out, !inBlock
		case fp.punct("}"):
			return out, inBlock
		case fp.punct("#!["):
			in, ok := fp.innerAttr()
			if !ok {
				return nil, false
			}
			fp.inner = append(fp.inner, in)
			continue
		}
		var dirs []*ast.Directive
		for fp.punct("#[") {
			d, ok := fp.directive()
			if !ok {
				return nil, false
			}
			dirs = append(dirs, d)
		}
		var it ast.Item
		ok := false
		switch {
		case fp.typ() == tokKeyword:
			it, ok = fp.include(dirs)
		case fp.typ() == tokIdent:
			it, ok = fp.rule(dirs)
		case fp.punct("{"):
			it, ok = fp.block(dirs)
		}
		if !ok {
			return nil, false
		}
		out = append(out, it)
	}
}

func (fp *fastParser) ident() (ast.Ident, bool) {
	if fp.typ() != tokIdent {
		return ast.Ident{}, false
	}
	id := ast.Ident{Name: fp.toks[fp.i].Value, Span: fp.span(fp.i, fp.i)}
	fp.i++
	return id, true
}

func (fp *fastParser) innerAttr() (*ast.InnerAttr, bool) {
	start := fp.i
	fp.i++ // #![
	name, ok := fp.ident()
	if !ok {
		return nil, false
	}
	in := &ast.InnerAttr{Name: name}
	if t := fp.typ(); t == tokString || t == tokIdent {
		if in.Arg, ok = fp.arg(); !ok {
			return nil, false
		}
	}
	if !fp.punct("]") {
		return nil, false
	}
	in.Span = fp.span(start, fp.i)
	fp.i++
	return in, true
}

func (fp *fastParser) directive() (*ast.Directive, bool) {
	start := fp.i
	fp.i++ // #[
	name, ok := fp.ident()
	if !ok {
		return nil, false
	}
	d := &ast.Directive{Name: name}
	if t := fp.typ(); t == tokString || t == tokIdent {
		for {
			a, ok := fp.arg()
			if !ok {
				return nil, false
			}
			d.Args = append(d.Args, a)
			if fp.punct(",") {
				fp.i++
				if t := fp.typ(); t != tokString && t != tokIdent {
					return nil, false
				}
			} else if t := fp.typ(); t != tokString && t != tokIdent {
				break
			}
		}
	}
	if !fp.punct("]") {
		return nil, false
	}
	d.Span = fp.span(start, fp.i)
	fp.i++
	return d, true
}

func (fp *fastParser) rule(dirs []*ast.Directive) (ast.Item, bool) {
	start := fp.i
	kind, _ := fp.ident()
	if !fp.punct("(") {
		return nil, false
	}
	fp.i++
	r := &ast.Rule{Directives: dirs, Kind: kind}
	if !fp.punct(")") {
		r.Args = make([]*ast.Arg, 0, 2)
		for {
			a, ok := fp.arg()
			if !ok {
				return nil, false
			}
			r.Args = append(r.Args, a)
			if !fp.punct(",") {
				break
			}
			fp.i++
			if fp.punct(")") {
				break
			}
		}
		if !fp.punct(")") {
			return nil, false
		}
	}
	r.Span = fp.span(start, fp.i)
	fp.i++
	return r, true
}

func (fp *fastParser) include(dirs []*ast.Directive) (ast.Item, bool) {
	start := fp.i
	fp.i++ // include
	in := &ast.Include{Directives: dirs}
	switch {
	case fp.typ() == tokString:
		t := &fp.toks[fp.i]
		in.Path, in.PathSpan = decodeString(t.Value), fp.span(fp.i, fp.i)
		fp.i++
	case fp.punct("<"):
		fp.i++
		id, ok := fp.ident()
		if !ok || !fp.punct(">") {
			return nil, false
		}
		in.Path, in.Std, in.PathSpan = id.Name, true, id.Span
	default:
		return nil, false
	}
	in.Span = fp.span(start, fp.i-1)
	if in.Std {
		in.Span = fp.span(start, fp.i)
		fp.i++
	}
	return in, true
}

func (fp *fastParser) block(dirs []*ast.Directive) (ast.Item, bool) {
	if fp.depth >= MaxDepth {
		return nil, false
	}
	start := fp.i
	fp.i++ // {
	fp.depth++
	items, ok := fp.items(true)
	fp.depth--
	if !ok {
		return nil, false
	}
	b := &ast.Block{Directives: dirs, Items: items, Span: fp.span(start, fp.i)}
	fp.i++ // }
	return b, true
}

func (fp *fastParser) arg() (*ast.Arg, bool) {
	start := fp.i
	t := &fp.toks[fp.i]
	switch t.Type {
	case tokString:
		fp.i++
		sp := fp.span(start, start)
		return &ast.Arg{Kind: ast.ArgString, Str: decodeString(t.Value), StrSpan: sp, Span: sp}, true
	case tokIdent:
	default:
		return nil, false
	}
	head, _ := fp.ident()
	if fp.typ() == tokString {
		s := &fp.toks[fp.i]
		a := &ast.Arg{Kind: ast.ArgIdentString, Idents: []ast.Ident{head}, Str: decodeString(s.Value),
			StrSpan: fp.span(fp.i, fp.i), Span: fp.span(start, fp.i)}
		fp.i++
		return a, true
	}
	a := &ast.Arg{Kind: ast.ArgIdents, Idents: []ast.Ident{head}}
	for fp.punct("|") {
		fp.i++
		id, ok := fp.ident()
		if !ok {
			return nil, false
		}
		a.Idents = append(a.Idents, id)
	}
	a.Span = fp.span(start, fp.i-1)
	return a, true
}
