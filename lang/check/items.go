package check

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/bpfbox/bpfbox/lang/ast"
	"github.com/bpfbox/bpfbox/lang/glob"
	"github.com/bpfbox/bpfbox/lang/policy"
	"github.com/bpfbox/bpfbox/lang/source"
)

// ctx is what the directives of enclosing blocks (and includes) say about
// the items inside: directives accumulate inward.
type ctx struct {
	action     policy.Action // 0 when none was written: allow
	actionSpan source.Span
	audit      bool
	transition source.Span // valid when a #[transition] applies
	scope      *policy.Scope
	broken     bool // a directive in effect was wrong: check the rules, keep none of them
}

var directiveNames = []string{"allow", "taint", "deny", "audit", "transition", "func", "kfunc"}

var actionByName = map[string]policy.Action{"allow": policy.Allow, "taint": policy.Taint, "deny": policy.Deny}

// applyDirectives returns the context for an item with directives ds inside parent.
func (c *checker) applyDirectives(ds []*ast.Directive, parent ctx) ctx {
	cx := parent
	for _, d := range ds {
		if d == nil {
			continue
		}
		name := d.Name.Name
		switch name {
		case "allow", "taint", "deny", "audit", "transition":
			if len(d.Args) > 0 {
				c.errorf(CodeDirectiveArgs, argsSpan(d), "", "#[%s] takes no arguments", name)
				cx.broken = true
			}
		}
		switch name {
		case "allow", "taint", "deny":
			a := actionByName[name]
			if cx.action != 0 && cx.action != a {
				c.errorf(CodeConflictingActions, d.Span, fmt.Sprintf("#[%s] was given at %s; a rule has one action", cx.action, shortPos(cx.actionSpan)),
					"conflicting actions: #[%s] and #[%s] on one rule", cx.action, name)
				cx.broken = true
				continue
			}
			cx.action, cx.actionSpan = a, d.Span
		case "audit":
			cx.audit = true
		case "transition":
			cx.transition = d.Span
		case "func", "kfunc":
			sc := c.scopeDirective(d)
			if sc == nil {
				cx.broken = true
				continue
			}
			if cx.scope != nil {
				if parent.scope != nil {
					c.errorf(CodeNestedScope, d.Span, "write the rule at the outer level with one scope",
						"#[%s] inside the scope of #[%s %q] (%s): scopes do not nest", name, scopeWord(parent.scope), parent.scope.Symbol, shortPos(parent.scope.Span))
				} else {
					c.errorf(CodeDoubleScope, d.Span, "split the rule: one copy per function",
						"two scopes on one item: #[%s %q] and #[%s]", scopeWord(cx.scope), cx.scope.Symbol, name)
				}
				cx.broken = true
				continue
			}
			cx.scope = sc
		default:
			c.errorf(CodeUnknownDirective, d.Name.Span, suggestOr(name, directiveNames, "directives are #["+strings.Join(directiveNames, "] #[")+"]"),
				"unknown directive #[%s]", name)
			cx.broken = true
		}
	}
	return cx
}

func scopeWord(s *policy.Scope) string {
	if s.Kind == policy.KFuncScope {
		return "kfunc"
	}
	return "func"
}

func argsSpan(d *ast.Directive) source.Span {
	var s source.Span
	for _, a := range d.Args {
		if a != nil {
			s = source.Join(s, a.Span)
		}
	}
	if !s.IsValid() {
		return d.Span
	}
	return s
}

// scopeDirective checks #[func "SYM"], #[func "SYM" in "LIB"] and #[kfunc "NAME"].
func (c *checker) scopeDirective(d *ast.Directive) *policy.Scope {
	name := d.Name.Name
	usage := `write #[func "symbol"] or #[func "symbol" in "/path/of/library.so"]`
	if name == "kfunc" {
		usage = `write #[kfunc "kernel_function"]`
	}
	var args []*ast.Arg
	for _, a := range d.Args {
		if a != nil {
			args = append(args, a)
		}
	}
	if len(args) == 0 || args[0].Kind != ast.ArgString {
		c.errorf(CodeDirectiveArgs, d.Span, usage, "#[%s] needs the function name as a string", name)
		return nil
	}
	sc := &policy.Scope{Kind: policy.FuncScope, Symbol: args[0].Str, Span: d.Span}
	if name == "kfunc" {
		sc.Kind = policy.KFuncScope
	}
	ok := true
	if name == "func" {
		if msg := badSymbol(sc.Symbol); msg != "" {
			c.errorf(CodeBadSymbol, args[0].StrSpan, "a symbol is a C identifier, a mangled C++/Rust name or a Go symbol such as main.(*T).Serve",
				"bad symbol name %q: %s", sc.Symbol, msg)
			ok = false
		}
	} else if msg := badKernelIdent(sc.Symbol); msg != "" {
		c.errorf(CodeBadKFunc, args[0].StrSpan, "a kernel function name is a C identifier, such as vfs_read",
			"bad kernel function name %q: %s", sc.Symbol, msg)
		ok = false
	}
	for i, a := range args[1:] {
		isIn := a.Kind == ast.ArgIdentString && len(a.Idents) == 1 && a.Idents[0].Name == "in"
		switch {
		case i == 0 && isIn && name == "kfunc":
			c.errorf(CodeBadLib, a.Span, "kernel functions are not in libraries; remove the in clause",
				`in "LIB" applies only to #[func]`)
			ok = false
		case i == 0 && isIn:
			lib := a.Str
			switch {
			case !strings.HasPrefix(lib, "/"):
				c.errorf(CodeBadLib, a.StrSpan, "write the library's absolute path, e.g. /usr/lib/x86_64-linux-gnu/libc.so.6",
					"library path %q is not absolute", lib)
				ok = false
			case strings.ContainsAny(lib, "*?[{\\") || strings.Contains(lib, "//") || strings.ContainsRune(lib, 0):
				c.errorf(CodeBadLib, a.StrSpan, "the function is looked up in one file; name it exactly",
					"library path %q must be a literal path, not a glob", lib)
				ok = false
			default:
				sc.Lib = lib
			}
		default:
			c.errorf(CodeDirectiveArgs, a.Span, usage, "unexpected argument to #[%s]", name)
			ok = false
		}
	}
	if !ok {
		return nil
	}
	return sc
}

// badSymbol says what is wrong with a user-space symbol name, or "". Symbols
// are C identifiers, mangled C++ and Rust names, GCC clones such as
// "f.cold", and Go symbols such as "main.(*T).Serve" or
// "example.com/m/pkg.F[...]": a letter or '_' then printable ASCII other
// than blanks, quotes, '\', ',', ';', '@' and '#'.
func badSymbol(s string) string {
	switch {
	case s == "":
		return "empty"
	case len(s) > 1024:
		return "longer than 1024 bytes"
	case !(isLetter(s[0]) || s[0] == '_'):
		return "must start with a letter or '_'"
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"'\\,;@#`", c) >= 0 {
			return fmt.Sprintf("character %q is not allowed", rune(c))
		}
	}
	return ""
}

// badKernelIdent says what is wrong with a kernel function name, or "":
// a C identifier, optionally with compiler suffixes such as ".isra.0".
func badKernelIdent(s string) string {
	switch {
	case s == "":
		return "empty"
	case len(s) > 512:
		return "longer than 512 bytes"
	case !(isLetter(s[0]) || s[0] == '_'):
		return "must start with a letter or '_'"
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '.' && i > 0 && s[i-1] != '.' && i+1 < len(s) {
			continue
		}
		if !(isLetter(c) || c == '_' || c >= '0' && c <= '9') {
			return fmt.Sprintf("character %q is not allowed", rune(c))
		}
	}
	return ""
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// checkItems checks items in context cx, appending rules to ps.
func (c *checker) checkItems(ps *profileState, items []ast.Item, cx ctx, depth int) {
	for _, it := range items {
		switch it := it.(type) {
		case *ast.Rule:
			if it != nil {
				c.checkRule(ps, it, c.applyDirectives(it.Directives, cx))
			}
		case *ast.Block:
			if it != nil {
				c.checkItems(ps, it.Items, c.applyDirectives(it.Directives, cx), depth)
			}
		case *ast.Include:
			if it != nil {
				c.include(ps, it, c.applyDirectives(it.Directives, cx), depth)
			}
		}
	}
}

var ruleKinds = []string{"fs", "net", "signal", "ptrace", "cap"}

type ruleShape struct {
	kind  policy.Kind
	args  int
	usage string
}

var shapes = map[string]ruleShape{
	"fs":     {policy.FS, 2, `fs(PATH, MODES), e.g. fs("/etc/passwd", read)`},
	"net":    {policy.Net, 2, `net(FAMILY, OPERATIONS), e.g. net(inet, connect)`},
	"signal": {policy.Signal, 2, `signal(TARGET, SIGNALS), e.g. signal(child, sigterm|sigkill)`},
	"ptrace": {policy.Ptrace, 2, `ptrace(TARGET, MODES), e.g. ptrace(child, read)`},
	"cap":    {policy.Cap, 1, `cap(CAPABILITIES), e.g. cap(net_bind_service)`},
}

// checkRule resolves one rule and appends it to the profile.
func (c *checker) checkRule(ps *profileState, r *ast.Rule, cx ctx) {
	kind := r.Kind.Name
	shape, ok := shapes[kind]
	if !ok {
		c.errorf(CodeUnknownRule, r.Kind.Span, suggestOr(kind, ruleKinds, "rules are fs, net, signal, ptrace and cap"),
			"unknown rule %s", kind)
		return
	}
	args := r.Args
	for _, a := range args {
		if a == nil {
			return // the parser already reported it
		}
	}
	good := true
	if len(args) != shape.args {
		span := r.Span
		if len(args) > shape.args {
			span = source.Join(args[shape.args].Span, args[len(args)-1].Span)
		}
		c.errorf(CodeArgCount, span, shape.usage, "%s takes %s, got %d", kind, plural(shape.args, "argument"), len(args))
		good = false
	}
	rule := &policy.Rule{Kind: shape.kind, Action: cx.action, Audit: cx.audit, Scope: cx.scope, Span: r.Span}
	if rule.Action == 0 {
		rule.Action = policy.Allow
	}
	var g *pathGlob
	arg := func(i int) *ast.Arg {
		if i < len(args) {
			return args[i]
		}
		return nil
	}
	switch shape.kind {
	case policy.FS:
		if a := arg(0); a != nil {
			if a.Kind != ast.ArgString {
				c.errorf(CodeArgType, a.Span, shape.usage, "fs PATH must be a string")
				good = false
			} else if g = c.checkGlob(a, "path"); g != nil {
				rule.Path = a.Str
			} else {
				good = false
			}
		}
		if a := arg(1); a != nil {
			m, ok := nameSet(c, a, policy.FSModeNames, "fs mode", "fs", CodeUnknownMode, shape.usage)
			if m&policy.FSWrite != 0 {
				m |= policy.FSAppend // write implies append
			}
			rule.FSModes, good = m, good && ok
		}
	case policy.Net:
		if a := arg(0); a != nil {
			f, ok := c.family(a, shape.usage)
			rule.Family, good = f, good && ok
		}
		if a := arg(1); a != nil {
			m, ok := nameSet(c, a, policy.NetOpNames, "net operation", "net", CodeUnknownMode, shape.usage)
			rule.NetOps, good = m, good && ok
		}
	case policy.Signal, policy.Ptrace:
		if a := arg(0); a != nil {
			t, ok := c.target(a, kind, shape.usage)
			rule.Target, good = t, good && ok
		}
		if a := arg(1); a != nil {
			if shape.kind == policy.Signal {
				s, ok := nameSet(c, a, signalTable, "signal", "signal", CodeUnknownSignal, shape.usage)
				rule.Signals, good = s, good && ok
			} else {
				m, ok := nameSet(c, a, policy.PtraceModeNames, "ptrace mode", "ptrace", CodeUnknownMode, shape.usage)
				rule.Ptrace, good = m, good && ok
			}
		}
	case policy.Cap:
		if a := arg(0); a != nil {
			s, ok := nameSet(c, a, policy.CapNames, "capability", "cap", CodeUnknownCap, shape.usage)
			rule.Caps, good = s, good && ok
		}
	}
	if cx.transition.IsValid() {
		hint := ""
		if cx.transition.File != r.Span.File || cx.transition.Start.Line != r.Span.Start.Line {
			hint = fmt.Sprintf("the #[transition] is at %s", shortPos(cx.transition))
		}
		switch {
		case rule.Action == policy.Deny:
			c.errorf(CodeBadTransition, r.Span, hint, "#[transition] on a #[deny] rule: a refused exec moves nowhere")
			good = false
		case shape.kind != policy.FS || (good && rule.FSModes&policy.FSExec == 0):
			c.errorf(CodeBadTransition, r.Span, hint, "#[transition] applies only to fs rules with exec")
			good = false
		default:
			rule.Transition = true
		}
	}
	if !good || cx.broken {
		return
	}
	rule.ID = len(ps.prof.Rules)
	ps.prof.Rules = append(ps.prof.Rules, rule)
	if rule.Action == policy.Taint {
		ps.hasTaint = true
	}
	ps.lints.rule(rule, g)
}

func plural(n int, w string) string {
	if n == 1 {
		return "1 " + w
	}
	return strconv.Itoa(n) + " " + w + "s"
}

// pathGlob is a checked path or glob. Plain literal paths, the common case,
// skip the glob parser.
type pathGlob struct {
	src string
	g   *glob.Glob // nil for a plain literal path
}

func (p *pathGlob) String() string { return p.src }

// Literal returns the path when the glob matches exactly one path.
func (p *pathGlob) Literal() (string, bool) {
	if p.g == nil {
		return p.src, true
	}
	return p.g.Literal()
}

// Match reports whether path matches.
func (p *pathGlob) Match(path string) bool {
	if p.g == nil {
		return path == p.src
	}
	return p.g.Match(path)
}

// plainLiteral reports whether s is an absolute path the glob package would
// accept as a literal: printable ASCII with no glob syntax, no empty
// components but a trailing one, no "." or ".." components.
func plainLiteral(s string) bool {
	if len(s) == 0 || s[0] != '/' || len(s) > glob.MaxLen {
		return false
	}
	compStart := 1
	for i := 1; i <= len(s); i++ {
		if i < len(s) {
			c := s[i]
			if c <= ' ' || c >= 0x7f || strings.IndexByte("*?[]{}\\,", c) >= 0 {
				return false
			}
			if c != '/' {
				continue
			}
		}
		comp := s[compStart:i]
		if (comp == "" && i < len(s)) || comp == "." || comp == ".." {
			return false
		}
		compStart = i + 1
	}
	return true
}

// checkGlob checks an absolute path or glob written as a string argument.
func (c *checker) checkGlob(a *ast.Arg, what string) *pathGlob {
	if !strings.HasPrefix(a.Str, "/") {
		hint := "paths are absolute, as the kernel resolves them: start with /"
		if a.Str == "" {
			hint = `write an absolute path such as "/etc/passwd"`
		}
		c.errorf(CodeRelativePath, a.StrSpan, hint, "%s %q is not absolute", what, a.Str)
		return nil
	}
	if plainLiteral(a.Str) {
		return &pathGlob{src: a.Str}
	}
	if g := c.globs[a.Str]; g != nil {
		return &pathGlob{src: a.Str, g: g}
	}
	g, err := glob.Parse(a.Str)
	if err != nil {
		span := a.StrSpan
		msg := err.Error()
		if ge, ok := err.(*glob.Error); ok {
			span = c.stringSpan(a, ge.Offset, ge.Len)
			msg = ge.Msg
		}
		c.errorf(CodeBadGlob, span, "", "malformed %s %q: %s", what, a.Str, msg)
		return nil
	}
	c.globs[a.Str] = g
	return &pathGlob{src: a.Str, g: g}
}

// checkPath is checkGlob for callers that need only the verdict.
func (c *checker) checkPath(a *ast.Arg, what string) bool { return c.checkGlob(a, what) != nil }

// stringSpan maps the byte range [off, off+n) of a string argument's decoded
// value to the source span of the characters that wrote it, walking the
// literal's escapes (\\ \" \n \t take two bytes, \xHH four).
func (c *checker) stringSpan(a *ast.Arg, off, n int) source.Span {
	whole := a.StrSpan
	f := c.parsed[whole.File]
	if f == nil || whole.Start.Offset < 0 || whole.End.Offset > len(f.Src) || whole.Start.Offset >= whole.End.Offset ||
		whole.Start.Line != whole.End.Line {
		return whole
	}
	raw := f.Src[whole.Start.Offset:whole.End.Offset]
	if raw[0] != '"' {
		return whole
	}
	// rawAt[i] is the offset in raw where decoded byte i starts.
	rawAt := make([]int, 0, len(raw))
	for i := 1; i < len(raw)-1; {
		rawAt = append(rawAt, i)
		if raw[i] == '\\' && i+1 < len(raw) {
			if raw[i+1] == 'x' {
				i += 4
			} else {
				i += 2
			}
			continue
		}
		i++
	}
	closing := len(raw) - 1
	at := func(i int) int {
		if i < len(rawAt) {
			return rawAt[i]
		}
		return closing
	}
	from, to := at(off), at(off+n)
	if n == 0 || to <= from {
		to = from + 1
		if to > len(raw) {
			to = len(raw)
		}
	}
	pos := func(r int) source.Pos {
		return source.Pos{Offset: whole.Start.Offset + r, Line: whole.Start.Line, Col: whole.Start.Col + r}
	}
	return source.Span{File: whole.File, Start: pos(from), End: pos(to)}
}

// family resolves the socket family of a net rule: exactly one name.
func (c *checker) family(a *ast.Arg, usage string) (policy.Family, bool) {
	if a.Kind != ast.ArgIdents || len(a.Idents) == 0 {
		c.errorf(CodeArgType, a.Span, usage, "family must be a name such as inet")
		return 0, false
	}
	if len(a.Idents) > 1 {
		c.errorf(CodeArgType, a.Span, "one rule per family: write net(inet, ...) and net(inet6, ...) separately", "one family per rule")
		return 0, false
	}
	id := a.Idents[0]
	v, ok := policy.Lookup(policy.FamilyNames, id.Name)
	if !ok {
		names := policy.Names(policy.FamilyNames)
		if other := kindOfName(id.Name, "family"); other != "" {
			c.errorf(CodeWrongModeKind, id.Span, usage, "%s is %s, not a socket family", id.Name, other)
			return 0, false
		}
		c.errorf(CodeUnknownFamily, id.Span, suggestOr(id.Name, names, "families are "+strings.Join(names, " ")),
			"unknown family %s", id.Name)
		return 0, false
	}
	return v, true
}

// target resolves the target of signal and ptrace rules.
func (c *checker) target(a *ast.Arg, kind, usage string) (policy.Target, bool) {
	switch {
	case a.Kind == ast.ArgString:
		if c.checkGlob(a, "target profile path") == nil {
			return policy.Target{}, false
		}
		return policy.Target{Kind: policy.TargetProfile, Profile: a.Str}, true
	case a.Kind == ast.ArgIdents && len(a.Idents) == 1:
		id := a.Idents[0]
		t, ok := policy.Lookup(policy.TargetNames, id.Name)
		if !ok {
			c.errorf(CodeUnknownTarget, id.Span, suggestOr(id.Name, policy.Names(policy.TargetNames),
				`targets are self, child, parent, any, or a profile path such as "/usr/bin/helper"`),
				"unknown %s target %s", kind, id.Name)
			return policy.Target{}, false
		}
		return policy.Target{Kind: t}, true
	case a.Kind == ast.ArgIdents:
		c.errorf(CodeArgType, a.Span, "write one rule per target", "one target per %s rule", kind)
	default:
		c.errorf(CodeArgType, a.Span, usage, "%s target must be self, child, parent, any or a profile path string", kind)
	}
	return policy.Target{}, false
}

// signalTable holds the signal names, the groups and sig32..sig64.
var signalTable = func() []policy.Named[policy.SigSet] {
	t := append([]policy.Named[policy.SigSet](nil), policy.SignalNames...)
	t = append(t, policy.SignalGroupNames...)
	for i := 32; i <= 64; i++ {
		bit := i
		if bit == 64 {
			bit = 63 // signal 64 shares bit 63, see policy.SigSet
		}
		t = append(t, policy.Named[policy.SigSet]{Name: "sig" + strconv.Itoa(i), Value: 1 << bit})
	}
	return t
}()

// suggestNames are the names offered in "did you mean" for signals (the
// real-time numbers would only add noise).
var signalSuggestNames = append(policy.Names(policy.SignalNames), policy.Names(policy.SignalGroupNames)...)

// nameSet resolves a|b|c against table.
func nameSet[T ~uint32 | ~uint64](c *checker, a *ast.Arg, table []policy.Named[T], what, kind, code, usage string) (T, bool) {
	var zero T
	if a.Kind != ast.ArgIdents || len(a.Idents) == 0 {
		c.errorf(CodeArgType, a.Span, usage, "%ss must be names joined by |, not a string", what)
		return zero, false
	}
	var set T
	ok := true
	seen := make(map[string]bool, len(a.Idents))
	for _, id := range a.Idents {
		v, found := policy.Lookup(table, id.Name)
		if !found {
			ok = false
			if other := kindOfName(id.Name, kind); other != "" {
				c.errorf(CodeWrongModeKind, id.Span, fmt.Sprintf("%ss are %s", what, strings.Join(suggestList(table, kind), " ")),
					"%s is %s, not %s %s", id.Name, other, article(what), what)
				continue
			}
			names := policy.Names(table)
			if kind == "signal" {
				names = signalSuggestNames
			}
			c.errorf(code, id.Span, suggestOr(id.Name, names, fmt.Sprintf("%ss are %s", what, strings.Join(suggestList(table, kind), " "))),
				"unknown %s %s", what, id.Name)
			continue
		}
		if seen[id.Name] {
			c.warnf(CodeRepeatedName, id.Span, "remove the repetition", "%s listed twice", id.Name)
		}
		seen[id.Name] = true
		set |= v
	}
	return set, ok
}

func suggestList[T any](table []policy.Named[T], kind string) []string {
	if kind == "signal" {
		return append([]string{"sighup", "sigint", "...", "sigsys,", "groups"}, policy.Names(policy.SignalGroupNames)...)
	}
	if kind == "cap" {
		return []string{"chown", "dac_override", "...", "net_bind_service", "...", "checkpoint_restore", "(Linux capability names without CAP_, in lower case)"}
	}
	return policy.Names(table)
}

func article(w string) string {
	if strings.HasPrefix(w, "fs") || strings.IndexByte("aeiou", w[0]) >= 0 {
		return "an"
	}
	return "a"
}

// kindOfName names the other vocabulary a misplaced name belongs to, or "".
func kindOfName(name, except string) string {
	tables := []struct {
		kind, desc string
		has        func(string) bool
	}{
		{"fs", "an fs mode", func(n string) bool { _, ok := policy.Lookup(policy.FSModeNames, n); return ok }},
		{"net", "a net operation", func(n string) bool { _, ok := policy.Lookup(policy.NetOpNames, n); return ok }},
		{"ptrace", "a ptrace mode", func(n string) bool { _, ok := policy.Lookup(policy.PtraceModeNames, n); return ok }},
		{"signal", "a signal", func(n string) bool { _, ok := policy.Lookup(signalTable, n); return ok }},
		{"cap", "a capability", func(n string) bool { _, ok := policy.Lookup(policy.CapNames, n); return ok }},
		{"family", "a socket family", func(n string) bool { _, ok := policy.Lookup(policy.FamilyNames, n); return ok }},
	}
	for _, t := range tables {
		if t.kind != except && t.has(name) {
			return t.desc
		}
	}
	return ""
}
