package check

import (
	"fmt"
	"strings"

	"github.com/bpfbox/bpfbox/lang/glob"
	"github.com/bpfbox/bpfbox/lang/policy"
)

// The security lints. Each looks at one rule against indexes of the rules
// before it, so a profile of n rules is linted in O(n) map operations (the
// glob-shadowing lint compares a literal path with at most maxShadowScan
// earlier globs per directory of the path).

// fs modes that change the file system.
const writeModes = policy.FSWrite | policy.FSAppend | policy.FSCreate | policy.FSDelete | policy.FSRename |
	policy.FSLink | policy.FSSetattr

// W^X: modes that put content into a file, and modes that run it.
const (
	wxWrite = policy.FSWrite | policy.FSAppend | policy.FSCreate
	wxExec  = policy.FSExec | policy.FSMap
)

// worldWritable are directories any user may create files in.
var worldWritable = []string{"/tmp", "/var/tmp", "/dev/shm", "/dev/mqueue", "/run/lock", "/var/lock"}

const maxShadowScan = 64

// maxProbePattern bounds the globs whose tails are used as probe paths.
const maxProbePattern = 256

// grantKey is everything about a rule except its modes: rules with equal
// keys differ only in how much they grant.
type grantKey struct {
	kind       policy.Kind
	object     string // fs path, target profile path
	family     policy.Family
	target     policy.TargetKind
	action     policy.Action
	audit      bool
	transition bool
	scopeKind  policy.ScopeKind
	symbol     string
	lib        string
}

// dirKey indexes fs globs by the directory their literal prefix names.
type dirKey struct {
	grantKey        // object left empty
	dir      string // literal directory prefix, "/" at least
}

type grants struct {
	modes uint64
	first *policy.Rule
}

type globEntry struct {
	g     *pathGlob
	modes uint64
	rule  *policy.Rule
}

type wxState struct {
	modes policy.FSMode
	rule  *policy.Rule // the first rule granting any of them
}

type linter struct {
	c        *checker
	ps       *profileState
	granted  map[grantKey]grantState
	globs    map[dirKey][]globEntry
	globDirs map[string]bool // directories some entry of globs is filed under
	wx       map[string]wxState
	exe      string // the profile PATH when it is a literal path, once exeKnown
	exeKnown bool
}

// grantState is what the earlier rules with one grantKey grant.
type grantState struct {
	modes uint64      // union
	first ruleModes   // the first rule
	more  []ruleModes // each further distinct mode set, with its first rule
}

type ruleModes struct {
	modes uint64
	rule  *policy.Rule
}

func newLinter(c *checker, ps *profileState, sizeHint int) *linter {
	return &linter{
		c: c, ps: ps,
		granted:  make(map[grantKey]grantState, sizeHint),
		globs:    make(map[dirKey][]globEntry),
		globDirs: make(map[string]bool),
		wx:       make(map[string]wxState, sizeHint),
	}
}

func keyOf(r *policy.Rule) (grantKey, uint64) {
	k := grantKey{kind: r.Kind, action: r.Action, audit: r.Audit, transition: r.Transition}
	if r.Scope != nil {
		k.scopeKind, k.symbol, k.lib = r.Scope.Kind, r.Scope.Symbol, r.Scope.Lib
	}
	var modes uint64
	switch r.Kind {
	case policy.FS:
		k.object, modes = r.Path, uint64(r.FSModes)
	case policy.Net:
		k.family, modes = r.Family, uint64(r.NetOps)
	case policy.Signal:
		k.target, k.object, modes = r.Target.Kind, r.Target.Profile, uint64(r.Signals)
	case policy.Ptrace:
		k.target, k.object, modes = r.Target.Kind, r.Target.Profile, uint64(r.Ptrace)
	case policy.Cap:
		modes = uint64(r.Caps)
	}
	return k, modes
}

// rule lints one new rule; g is its parsed glob for fs rules.
func (l *linter) rule(r *policy.Rule, g *pathGlob) {
	c := l.c
	grant := r.Action != policy.Deny
	if r.Action == policy.Taint && l.ps.tainted.IsValid() {
		c.warnf(CodeTaintInTainted, r.Span, "the profile is tainted from its first instruction, so nothing can taint it; drop #[taint] or #![tainted]",
			"#[taint] rule in a #![tainted] profile has no effect")
	}
	switch r.Kind {
	case policy.FS:
		if grant {
			l.fsGrant(r, g)
		}
	case policy.Ptrace:
		if grant && r.Target.Kind == policy.TargetAny {
			c.warnf(CodePtraceAny, r.Span, "name the target: self, child, or the profile path of the program to trace",
				"ptrace of any process: it can read and control every process the user owns")
		}
	case policy.Signal:
		if fatal := r.Signals & policy.SigFatal; grant && r.Target.Kind == policy.TargetAny && fatal != 0 {
			what := "fatal signals"
			if fatal != policy.SigFatal {
				what = "fatal signals (" + fatal.String() + ")"
			}
			c.warnf(CodeSignalAnyFatal, r.Span, "name the target: child, parent, or the profile path of the program to signal",
				"%s to any process: it can kill every process the user owns", what)
		}
	case policy.Cap:
		if grant && r.Caps&capSysAdmin != 0 {
			c.warnf(CodeCapSysAdmin, r.Span, "sys_admin is close to full root; grant the narrower capabilities the program needs",
				"cap(sys_admin) grants most of what root can do")
		}
	}
	l.scopeProbes(r)
	l.redundancy(r, g)
}

var capSysAdmin, _ = policy.Lookup(policy.CapNames, "sys_admin")

// fsGrant runs the fs lints that concern granted access.
func (l *linter) fsGrant(r *policy.Rule, g *pathGlob) {
	c := l.c
	if w := r.FSModes & writeModes; w != 0 && isBroad(r.Path) {
		c.warnf(CodeBroadWrite, r.Span, "name the directory the program writes to, e.g. /var/lib/myapp/**",
			"%s on the very broad glob %q", w, r.Path)
	}
	if x := r.FSModes & wxExec; x != 0 && g != nil {
		if dir := worldWritableMatch(g); dir != "" {
			c.warnf(CodeWorldWritableExec, r.Span, "any local user can put files there; run and map code only from directories root owns",
				"%s from %s, where anyone can write", x, dir+"/")
		}
	}
	st := l.wx[r.Path]
	before := st.modes
	after := before | r.FSModes
	if st.rule == nil {
		st.rule = r
	}
	st.modes = after
	l.wx[r.Path] = st
	if !(before&wxWrite != 0 && before&wxExec != 0) && after&wxWrite != 0 && after&wxExec != 0 {
		hint := "a program that can write a file it can execute or map can run any code; grant one or the other"
		if st.rule != r {
			hint = fmt.Sprintf("with the rule at %s; %s", shortPos(st.rule.Span), hint)
		}
		c.warnf(CodeWriteExec, r.Span, hint, "write and exec granted on the same path %q (W^X)", r.Path)
	}
}

// isBroad: a glob that can reach across directories ("**") from a literal
// prefix of fewer than two components: /**, /etc/**, /home/**/x, /{a,b}/**.
func isBroad(pattern string) bool {
	if !strings.Contains(pattern, "**") {
		return false
	}
	dir := literalDir(pattern)
	return strings.Count(strings.TrimSuffix(dir, "/"), "/") < 2
}

// literalDir returns the directory part of the literal text before the first
// metacharacter ("/" at least): "/etc/ssh/*.conf" → "/etc/ssh".
func literalDir(pattern string) string {
	end := len(pattern)
	for i := 0; i < len(pattern); i++ {
		if c := pattern[i]; c == '*' || c == '?' || c == '[' || c == '{' || c == '\\' {
			end = i
			break
		}
	}
	lit := pattern[:end]
	if end == len(pattern) { // a literal path: its directory
		lit += "x"
	}
	i := strings.LastIndexByte(lit, '/')
	if i <= 0 {
		return "/"
	}
	return lit[:i]
}

// worldWritableMatch returns the world-writable directory g can match a path
// under, or "". A glob whose literal prefix is inside one matches there; a
// glob whose prefix is above one is probed with paths shaped like its tail.
func worldWritableMatch(g *pathGlob) string {
	pattern := g.String()
	dir := literalDir(pattern)
	var probes []string // tails of the pattern with metacharacters made plain: "/*/evil" gives "evil"
	for _, w := range worldWritable {
		if dir == w || strings.HasPrefix(dir, w+"/") {
			return w
		}
		if g.g == nil || dir != "/" && !strings.HasPrefix(w, dir+"/") {
			continue // a literal path outside w, or a glob whose prefix excludes w
		}
		if probes == nil {
			probes = probePaths(pattern)
		}
		for _, p := range probes {
			if g.Match(w + "/" + p) {
				return w
			}
		}
	}
	return ""
}

// probePaths gives the relative paths a glob is probed with under a
// world-writable directory.
func probePaths(pattern string) []string {
	var probes []string
	if len(pattern) <= maxProbePattern { // the matcher's cost grows with the path
		comps := strings.Split(pattern[1:], "/")
		for k := 1; k < len(comps) && k <= 8; k++ {
			if tail := probeText(strings.Join(comps[k:], "/")); tail != "" {
				probes = append(probes, tail, "x/"+tail)
			}
		}
	}
	return append(probes, "x", "x/x")
}

// probeText turns glob text into a plausible path: each wildcard becomes
// "x", and an alternation its first branch.
func probeText(s string) string {
	var b strings.Builder
	depth, skipping := 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '{':
			depth++
		case c == '}':
			if skipping == depth {
				skipping = 0
			}
			depth--
		case c == ',' && depth > 0:
			if skipping == 0 {
				skipping = depth
			}
		case skipping != 0:
		case c == '[':
			for i < len(s) && s[i] != ']' {
				i++
			}
			b.WriteByte('x')
		case c == '*' || c == '?':
			if !strings.HasSuffix(b.String(), "x") {
				b.WriteByte('x')
			}
		case c == '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// redundancy reports duplicate and shadowed rules.
func (l *linter) redundancy(r *policy.Rule, g *pathGlob) {
	c := l.c
	k, modes := keyOf(r)
	st, seen := l.granted[k]
	if !seen {
		l.granted[k] = grantState{modes: modes, first: ruleModes{modes, r}}
	} else {
		if st.first.modes == modes {
			l.duplicate(r, st.first.rule)
			return
		}
		for _, e := range st.more {
			if e.modes == modes {
				l.duplicate(r, e.rule)
				return
			}
		}
		if modes&^st.modes == 0 {
			c.warnf(CodeShadowedRule, r.Span, fmt.Sprintf("everything it grants is already granted by the rule at %s", shortPos(st.first.rule.Span)),
				"rule has no effect: its modes are covered by an earlier rule")
			return
		}
		st.modes |= modes
		st.more = append(st.more, ruleModes{modes, r})
		l.granted[k] = st
	}

	if r.Kind != policy.FS || g == nil {
		return
	}
	dkey := k
	dkey.object = ""
	if lit, isLit := g.Literal(); isLit {
		// A literal path may be covered by an earlier glob in one of its directories.
		for dir := lit; ; {
			i := strings.LastIndexByte(dir, '/')
			if i <= 0 {
				dir = "/"
			} else {
				dir = dir[:i]
			}
			if !l.globDirs[dir] {
				if dir == "/" {
					break
				}
				continue
			}
			entries := l.globs[dirKey{dkey, dir}]
			for j, e := range entries {
				if j == maxShadowScan {
					break
				}
				if modes&^e.modes == 0 && e.g.Match(lit) {
					c.warnf(CodeShadowedRule, r.Span, fmt.Sprintf("%q at %s already grants it", e.g.String(), shortPos(e.rule.Span)),
						"rule has no effect: %q is covered by an earlier glob", lit)
					return
				}
			}
			if dir == "/" {
				break
			}
		}
		return
	}
	d := literalDir(r.Path)
	l.globDirs[d] = true
	l.globs[dirKey{dkey, d}] = append(l.globs[dirKey{dkey, d}], globEntry{g: g, modes: modes, rule: r})
}

func (l *linter) duplicate(r, first *policy.Rule) {
	l.c.warnf(CodeDuplicateRule, r.Span, fmt.Sprintf("the same rule is at %s; remove one", shortPos(first.Span)), "duplicate rule")
}

// scopeProbes checks func and kfunc names against this machine when it can.
func (l *linter) scopeProbes(r *policy.Rule) {
	sc := r.Scope
	if sc == nil {
		return
	}
	c := l.c
	switch sc.Kind {
	case policy.FuncScope:
		if c.opts.Symbols == nil {
			return
		}
		exe := sc.Lib
		if exe == "" {
			if l.ps.fragment {
				return
			}
			if !l.exeKnown {
				l.exeKnown = true
				l.exe, _ = literalPath(l.ps.prof.Path)
			}
			if l.exe == "" {
				return
			}
			exe = l.exe
		}
		syms := c.symbolsOf(exe)
		if syms != nil && !syms[sc.Symbol] {
			c.warnf(CodeSymbolAbsent, sc.Span, "check the spelling, and that the binary on this machine is the one the policy is for",
				"function %q is not in the symbol table of %s", sc.Symbol, exe)
		}
	case policy.KFuncScope:
		if fns := c.kernelFuncs(); fns != nil && !fns[sc.Symbol] {
			c.warnf(CodeKFuncAbsent, sc.Span, "check the spelling; kernel functions differ between versions, and inlined ones cannot be scoped",
				"kernel function %q is not in this kernel's BTF", sc.Symbol)
		}
	}
}

// literalPath returns a glob's path when it has no metacharacters.
func literalPath(pattern string) (string, bool) {
	g, err := glob.Parse(pattern)
	if err != nil {
		return "", false
	}
	return g.Literal()
}

func (c *checker) symbolsOf(exe string) map[string]bool {
	if c.opts.Symbols == nil {
		return nil
	}
	if syms, ok := c.symbols[exe]; ok {
		return syms
	}
	syms, err := c.opts.Symbols(exe)
	if err != nil {
		syms = nil // absent or unreadable here: nothing to say
	}
	c.symbols[exe] = syms
	return syms
}

func (c *checker) kernelFuncs() map[string]bool {
	if c.opts.KernelFuncs == nil {
		return nil
	}
	if !c.kfuncsLoaded {
		c.kfuncsLoaded = true
		fns, err := c.opts.KernelFuncs()
		if err == nil {
			c.kfuncs = fns
		}
	}
	return c.kfuncs
}

// profileLints runs the checks that need the whole profile.
func (c *checker) profileLints(ps *profileState) {
	if !ps.hasTaint && !ps.prof.Tainted {
		c.notef(CodeImplicitTainted, ps.prof.PathSpan,
			"add #[taint] rules for the accesses that expose the program to untrusted input, or write #![tainted] to say this is intended",
			"profile has no #[taint] rule, so it is enforced from the first instruction, as with #![tainted]")
	}
	if !ps.hasTaint {
		ps.prof.Tainted = true
	}
}

// parseGlob parses a pattern already checked, once; nil if it is invalid.
func (c *checker) parseGlob(p string) *glob.Glob {
	if g, ok := c.globs[p]; ok {
		return g
	}
	g, err := glob.Parse(p)
	if err != nil {
		g = nil
	}
	c.globs[p] = g
	return g
}

// maxOverlapProfiles bounds the pairwise attachment-overlap check.
const maxOverlapProfiles = 1000

// attachLints look at how profiles attach to executables: transitions and
// targets that no profile attaches to (notes), and glob profiles that both
// match some executable, where the bundle order decides (a warning). The
// compiler resolves attachment as: the profile written with exactly that
// PATH, else one whose PATH is the literal executable path, else the first
// in bundle order whose glob matches.
func (c *checker) attachLints(profiles []*profileState) {
	type attach struct {
		ps *profileState
		g  *glob.Glob
	}
	var globs []attach
	paths := make(map[string]bool)
	for _, ps := range profiles {
		if ps.prof.Path == "" {
			continue
		}
		paths[ps.prof.Path] = true
		if g := c.parseGlob(ps.prof.Path); g != nil {
			globs = append(globs, attach{ps, g})
		}
	}
	// attaches: whether some profile is known to attach to what p matches.
	attaches := func(p string) bool {
		if paths[p] {
			return true
		}
		g := c.parseGlob(p)
		if g == nil {
			return false
		}
		lit, isLit := g.Literal()
		for _, a := range globs {
			if isLit && a.g.Match(lit) || !isLit && (a.g.Subsumes(g) || g.Subsumes(a.g)) {
				return true
			}
		}
		return false
	}
	for _, ps := range profiles {
		for _, r := range ps.prof.Rules {
			switch {
			case r.Transition && !attaches(r.Path):
				c.notef(CodeNoTransitionDest, r.Span, "check it together with the profile of the new executable: bpfboxc check a.bbx b.bbx",
					"no profile of this bundle is known to attach to %q, the target of this #[transition]", r.Path)
			case (r.Kind == policy.Signal || r.Kind == policy.Ptrace) && r.Target.Kind == policy.TargetProfile && !attaches(r.Target.Profile):
				c.notef(CodeNoTargetProfile, r.Span, "the target is the PATH of a #![profile] of the same bundle",
					"no profile of this bundle is %q", r.Target.Profile)
			}
		}
	}
	if len(globs) > maxOverlapProfiles {
		return
	}
	for j, b := range globs {
		if _, lit := b.g.Literal(); lit {
			continue // a literal PATH always wins for its executable
		}
		for _, a := range globs[:j] {
			if _, lit := a.g.Literal(); lit || a.ps.prof.Path == b.ps.prof.Path {
				continue
			}
			if a.g.Subsumes(b.g) || b.g.Subsumes(a.g) {
				c.warnf(CodeProfilesOverlap, b.ps.prof.PathSpan,
					fmt.Sprintf("an executable both match attaches to the profile given first (%s); give the common executables literal profiles, or make the globs disjoint", shortPos(a.ps.prof.PathSpan)),
					"profile %q overlaps profile %q", b.ps.prof.Path, a.ps.prof.Path)
				break
			}
		}
	}
}
