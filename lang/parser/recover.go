package parser

import (
	"errors"
	"fmt"
	"sort"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"

	"github.com/bpfbox/bpfbox/lang/ast"
	"github.com/bpfbox/bpfbox/lang/source"
)

// frame is an open block while parsing entry by entry.
type frame struct {
	block *ast.Block
	open  lexer.Token
}

// parseEntries parses a file that the whole-file grammar rejected, one
// entry at a time, with blocks tracked on an explicit stack (so nesting
// depth costs no recursion) and recovery after each error.
func (p *builder) parseEntries() {
	toks := p.lx.toks
	eof := len(toks) - 1
	var (
		stack   []frame
		pending []*ast.Directive
		items   = &p.f.Items
	)
	add := func(it ast.Item) { *items = append(*items, it) }
	dangling := func() {
		for _, d := range pending {
			p.report(CodeDanglingDirective, d.Span, "directive is not followed by a rule, block or include",
				"a directive applies to the item after it")
		}
		pending = nil
	}
	for i := 0; i < eof; {
		t := toks[i]
		switch {
		case isPunct(t, "{"):
			if len(stack) >= MaxDepth {
				p.report(CodeTooDeep, p.tokSpanAt(i), fmt.Sprintf("blocks are nested more than %d deep", MaxDepth),
					"flatten the policy: directives of nested blocks accumulate, so deep nesting is never needed")
				pending = nil
				i = p.skipBlock(i)
				continue
			}
			b := &ast.Block{Directives: pending, Span: p.tokSpanAt(i)}
			pending = nil
			add(b)
			stack = append(stack, frame{block: b, open: t})
			items = &b.Items
			i++
			continue
		case isPunct(t, "}"):
			dangling()
			if len(stack) == 0 {
				p.report(CodeUnmatchedClose, p.tokSpanAt(i), "unexpected '}' with no open block", "")
				i++
				continue
			}
			top := stack[len(stack)-1]
			top.block.Span.End = p.lx.ends[i]
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				items = &p.f.Items
			} else {
				items = &stack[len(stack)-1].block.Items
			}
			i++
			continue
		case !isEntryStart(t):
			p.syntaxErr(p.tokSpanAt(i), fmt.Sprintf("expected a rule, block, include or directive, found %s", describe(t)),
				hintFor(t))
			pending = nil
			i = p.resync(i, i+1, p.entryEnd(i))
			continue
		}
		end := p.entryEnd(i)
		e, err := p.parseEntry(i, end)
		if err != nil && err.at > i && p.endsItem(i, err.at-1) && toks[err.at-1].Pos.Line < toks[err.at].Pos.Line {
			// A complete item, then a new line that starts no item: take the
			// item and let the next entry report that line.
			if e2, err2 := p.parseEntry(i, err.at); err2 == nil {
				e, err, end = e2, nil, err.at
			}
		}
		if err != nil {
			p.syntaxErrAt(i, err, end)
			// Junk after a complete item on its line: keep the item.
			if err.at > i && p.endsItem(i, err.at-1) {
				e, _ = p.parseEntry(i, err.at)
			}
			if e == nil {
				if t.Type != tokPunct || t.Value != "#[" {
					pending = nil // the item they belonged to is broken
				}
				i = p.resync(i, err.at, end)
				continue
			}
			end = p.resync(i, err.at, end)
		}
		switch {
		case e.inner != nil:
			dangling()
			p.f.Inner = append(p.f.Inner, e.inner)
		case e.dir != nil:
			pending = append(pending, e.dir)
		case e.item != nil:
			switch it := e.item.(type) {
			case *ast.Rule:
				it.Directives = pending
			case *ast.Include:
				it.Directives = pending
			}
			add(e.item)
			pending = nil
		}
		i = end
	}
	dangling()
	for k := len(stack) - 1; k >= 0; k-- {
		fr := stack[k]
		fr.block.Span.End = p.lx.ends[eof]
		p.report(CodeUnclosedBlock, p.tokSpanAt(p.index(fr.open.Pos.Offset)), "'{' is not closed", "add '}' at the end of the block")
	}
}

// endsItem reports whether toks[k] can end the entry that starts at i: the
// ')' of a rule, the ']' of a directive or attribute, the path of an include.
func (p *builder) endsItem(i, k int) bool {
	first, last := p.lx.toks[i], p.lx.toks[k]
	switch {
	case first.Type == tokIdent:
		return isPunct(last, ")")
	case first.Type == tokKeyword:
		return isPunct(last, ">") || last.Type == tokString && k == i+1
	}
	return isPunct(last, "]")
}

// unterminated reports whether t is a string the lexer found unterminated
// (already reported; the syntax error it causes is noise).
func unterminated(t lexer.Token) bool {
	if t.Type != tokString {
		return false
	}
	v := t.Value
	return len(v) < 2 || v[len(v)-1] != '"' || escapedQuoteAtEnd(v[1:])
}

// maxEntryTokens bounds the tokens handed to participle for one entry: no
// well-formed item is that long, and participle's error path is quadratic
// in the length of a repetition.
const maxEntryTokens = 512

// entryError is a syntax error at token index at.
type entryError struct {
	at  int
	err error
}

func (e *entryError) Error() string { return e.err.Error() }

// entry is one parsed entry: an attribute, a directive, or a rule or
// include (without directives: the caller attaches the pending ones).
type entry struct {
	inner *ast.InnerAttr
	dir   *ast.Directive
	item  ast.Item
}

// parseEntry parses toks[i:end] as one syntax.Entry. The fast path's entry
// parsers are tried first (they accept exactly what the grammar accepts,
// and are much cheaper than a participle run per entry); participle parses
// the entries they reject, to find and describe the error.
func (p *builder) parseEntry(i, end int) (*entry, *entryError) {
	stop := i
	if !p.participleOnly {
		e, at, ok := p.fastEntry(i, end)
		if ok && at == end {
			return e, nil
		}
		if ok {
			stop = at // a complete entry, then junk
		}
	}
	if p.errs.full && !p.participleOnly {
		// Past the error limit nothing is reported: skip the entry
		// without the cost of a participle run.
		return nil, &entryError{at: stop, err: errors.New("error limit reached")}
	}
	toks := p.lx.toks
	slice := make([]lexer.Token, end-i+1)
	copy(slice, toks[i:end])
	slice[end-i] = lexer.Token{Type: tokEOF, Pos: toks[end].Pos}
	pl, err := lexer.Upgrade(&sliceLexer{toks: slice})
	if err != nil {
		return nil, &entryError{at: i, err: err}
	}
	se, err := entryParser.ParseFromLexer(pl)
	if err != nil {
		at := i
		var perr participle.Error
		if errors.As(err, &perr) {
			at = p.index(perr.Position().Offset)
			at = max(i, min(at, end))
		}
		return nil, &entryError{at: at, err: err}
	}
	e := &entry{}
	switch {
	case se.Inner != nil:
		e.inner = p.inner(se.Inner)
	case se.Directive != nil:
		e.dir = p.directive(se.Directive)
	case se.Rule != nil:
		e.item = p.rule(se.Rule, nil)
	case se.Include != nil:
		e.item = p.include(se.Include, nil)
	}
	return e, nil
}

// fastEntry parses an entry at toks[i] with the fast path and says where it
// stopped; the entry is toks[i:end] when ok and stop == end. It never looks
// past the entry's closing token, so it does not matter that toks[end] is
// not the EOF participle sees there.
func (p *builder) fastEntry(i, end int) (e *entry, stop int, ok bool) {
	fp := &fastParser{b: p, toks: p.lx.toks, ends: p.lx.ends, i: i}
	e = &entry{}
	switch t := fp.toks[i]; {
	case isPunct(t, "#!["):
		e.inner, ok = fp.innerAttr()
	case isPunct(t, "#["):
		e.dir, ok = fp.directive()
	case t.Type == tokKeyword:
		e.item, ok = fp.include(nil)
	case t.Type == tokIdent:
		e.item, ok = fp.rule(nil)
	}
	return e, fp.i, ok && fp.i <= end
}

// entryEnd finds where the entry starting at toks[i] ends: before the next
// brace or '#[' / '#![', an include, or a name followed by '(' that is
// either outside parentheses or first on its line.
func (p *builder) entryEnd(i int) int {
	toks := p.lx.toks
	depth := 0
	for j := i + 1; ; j++ {
		if j-i >= maxEntryTokens {
			return j
		}
		t := toks[j]
		switch t.Type {
		case tokEOF, tokKeyword:
			return j
		case tokPunct:
			switch t.Value {
			case "{", "}", "#[", "#![":
				return j
			case "(":
				depth++
			case ")":
				depth = max(0, depth-1)
			}
		case tokIdent:
			if isPunct(toks[j+1], "(") && (depth == 0 || toks[j-1].Pos.Line < t.Pos.Line) {
				return j
			}
		}
	}
}

// resync returns where parsing goes on after an error at token at in the
// entry that started at i and was cut at end: the next brace, directive,
// attribute or include, or a rule that begins a line.
func (p *builder) resync(i, at, end int) int {
	toks := p.lx.toks
	k := max(at, i+1)
	for ; k < end; k++ {
		t := toks[k]
		if t.Type == tokKeyword || t.Type == tokPunct && (t.Value == "{" || t.Value == "}" || t.Value == "#[" || t.Value == "#![") {
			break
		}
		if t.Type == tokIdent && isPunct(toks[k+1], "(") && toks[k-1].Pos.Line < t.Pos.Line {
			break
		}
	}
	return k
}

// skipBlock skips from the '{' at i to after its matching '}'.
func (p *builder) skipBlock(i int) int {
	toks := p.lx.toks
	depth := 0
	for ; toks[i].Type != tokEOF; i++ {
		if isPunct(toks[i], "{") {
			depth++
		} else if isPunct(toks[i], "}") {
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return i
}

func isEntryStart(t lexer.Token) bool {
	return t.Type == tokIdent || t.Type == tokKeyword || isPunct(t, "#[") || isPunct(t, "#![")
}

// index returns the index of the token starting at offset off.
func (p *builder) index(off int) int {
	toks := p.lx.toks
	return sort.Search(len(toks), func(i int) bool { return toks[i].Pos.Offset >= off })
}

func (p *builder) tokSpanAt(i int) source.Span {
	return source.Span{File: p.name, Start: pos(p.lx.toks[i].Pos), End: p.lx.ends[i]}
}

func (p *builder) syntaxErr(sp source.Span, msg, hint string) { p.report(CodeSyntax, sp, msg, hint) }

func (p *builder) report(code string, sp source.Span, msg, hint string) {
	p.errs.add(code, sp.Start, sp.End, msg, hint)
}

// syntaxErrAt reports the error of the entry starting at i, in words that
// depend on what came before the offending token.
func (p *builder) syntaxErrAt(i int, err *entryError, end int) {
	toks := p.lx.toks
	at := err.at
	if p.errs.full || at > 0 && unterminated(toks[at-1]) {
		return
	}
	// participle backs out of a '|' that no name follows; the error is after it.
	if at > i && isPunct(toks[at], "|") && toks[at+1].Type != tokIdent && toks[at].Type != tokEOF {
		at++
	}
	if at > i && p.lexErrorBetween(p.lx.ends[at-1].Offset, toks[at].Pos.Offset) {
		return
	}
	found := describe(toks[at])
	hint := ""
	if at > i && toks[i].Type == tokIdent && toks[at-1].Type == tokIdent && toks[at].Type == tokIdent {
		hint = "separate arguments with ',' and join modes with '|', e.g. fs(\"/etc/hosts\", read|write)"
	}
	if at > i && toks[at-1].Pos.Line < toks[at].Pos.Line {
		if toks[at].Type != tokEOF {
			found = "end of line"
		}
		// Point just after the last token of the broken entry.
		e := p.lx.ends[at-1]
		p.syntaxErr(source.Span{File: p.name, Start: e, End: e}, p.expectMsg(i, at, found), hint)
		return
	}
	p.syntaxErr(p.tokSpanAt(at), p.expectMsg(i, at, found), hint)
}

// expectMsg says what the grammar wanted at token at of the entry starting at i.
func (p *builder) expectMsg(i, at int, found string) string {
	toks := p.lx.toks
	first := toks[i]
	if at == i {
		return fmt.Sprintf("expected a rule, block, include or directive, found %s", found)
	}
	prev := toks[at-1]
	switch {
	case isPunct(prev, "#["):
		return fmt.Sprintf("expected a directive name after '#[', found %s", found)
	case isPunct(prev, "#!["):
		return fmt.Sprintf("expected an attribute name after '#![', found %s", found)
	case isPunct(prev, "|"):
		return fmt.Sprintf("expected a name after '|', found %s", found)
	case isPunct(prev, "<"):
		return fmt.Sprintf("expected a name after '<', found %s", found)
	case isPunct(prev, ","):
		if first.Type == tokIdent {
			return fmt.Sprintf("expected an argument or ')' after ',', found %s", found)
		}
		return fmt.Sprintf("expected an argument after ',', found %s", found)
	case isPunct(prev, "("):
		return fmt.Sprintf("expected an argument or ')' after '(', found %s", found)
	case isPunct(prev, ")"), isPunct(prev, "]"), isPunct(prev, ">"),
		first.Type == tokKeyword && prev.Type == tokString:
		return fmt.Sprintf("expected a new item after %s, found %s", quote(prev), found)
	}
	switch first.Type {
	case tokKeyword:
		return fmt.Sprintf("expected '>' after include <%s, found %s", prev.Value, found)
	case tokIdent:
		if at == i+1 {
			return fmt.Sprintf("expected '(' after rule name '%s', found %s", first.Value, found)
		}
		return fmt.Sprintf("expected ',' or ')' after rule argument, found %s", found)
	}
	if isPunct(first, "#![") {
		return fmt.Sprintf("expected ']' to close '#![%s', found %s", toks[i+1].Value, found)
	}
	return fmt.Sprintf("expected ']' to close '#[%s', found %s", toks[i+1].Value, found)
}

func hintFor(t lexer.Token) string {
	switch {
	case t.Type == tokString:
		return "a string is an argument: it goes inside a rule, e.g. fs(\"/etc/hosts\", read)"
	case isPunct(t, ")"), isPunct(t, "]"), isPunct(t, ","):
		return "check the brackets and commas of the item before"
	}
	return ""
}
