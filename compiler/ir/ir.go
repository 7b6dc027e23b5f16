// Package ir lowers a checked policy to the compiler's intermediate form:
// profiles with their rules in source order, positions resolved to a file
// table, a dense bundle-wide scope table (id 0 = unscoped), and signal,
// ptrace and transition targets resolved to profile indices.
//
// Lowering trusts lang/check for the language rules but not for indices: a
// policy it cannot represent gives an error, never a panic.
package ir

import (
	"cmp"
	"crypto/sha256"
	"fmt"
	"slices"

	"github.com/bpfbox/bpfbox/compiler/dfa"
	"github.com/bpfbox/bpfbox/lang/glob"
	"github.com/bpfbox/bpfbox/lang/policy"
	"github.com/bpfbox/bpfbox/lang/source"
)

// NoProfile is the profile index of an unresolved target.
const NoProfile = -1

// Bundle is every profile of one compilation.
type Bundle struct {
	Sources    []Source
	Profiles   []*Profile
	Scopes     []Scope // scope id i+1 is Scopes[i]
	Unresolved []Unresolved
}

// Source is one input file.
type Source struct {
	Name   string
	Size   int
	Digest [sha256.Size]byte // zero when the text was not available
}

// Pos is a resolved source position. Source is an index in Bundle.Sources,
// or -1 when the rule has no position.
type Pos struct {
	Source    int
	Line, Col int
}

// Profile is one confined program.
type Profile struct {
	Index    int
	Pattern  string
	Glob     *glob.Glob
	Literal  bool // Pattern has no glob syntax
	Pos      Pos
	Complain bool
	Tainted  bool
	Rules    []*Rule // source order; Rules[i].ID == i
}

// Rule is one rule, lowered.
type Rule struct {
	ID         int
	Kind       policy.Kind
	Action     policy.Action
	Audit      bool
	Transition bool
	Scope      int // scope id, 0 = unscoped
	Pos        Pos
	Text       string // source text of the rule, "" when unknown

	Path   string     // FS
	Glob   *glob.Glob // FS
	Modes  uint64     // the kind's mode bits, as written
	Family policy.Family
	Target Target // Signal, Ptrace

	// TransitionTargets are the profiles an exec granted by this rule can
	// move to (fs #[transition] rules only); the kernel picks among them by
	// matching the new executable against the exec DFA.
	TransitionTargets []int
}

// Target is a resolved signal or ptrace target.
type Target struct {
	Kind    policy.TargetKind
	Pattern string // TargetProfile: the PATH as written
	Profile int    // TargetProfile: its profile index, or NoProfile
}

// Scope is one entry of the bundle-wide scope table.
type Scope struct {
	Kind    policy.ScopeKind
	Symbol  string
	Lib     string // FuncScope: library path, "" = the profile's executable
	Profile int    // FuncScope without Lib: the profile; else NoProfile
}

// Unresolved is a target that names no profile of the bundle.
type Unresolved struct {
	Profile, Rule int
	What          string // "transition", "signal target", "ptrace target"
	Object        string
}

// Lower lowers p. Profiles keep their order; so do rules within a profile.
func Lower(p *policy.Policy) (*Bundle, error) {
	b := &Bundle{}
	files := map[string]int{}
	texts := map[string][]byte{}
	for _, s := range p.Sources {
		if _, dup := files[s.Name]; dup {
			continue
		}
		files[s.Name] = len(b.Sources)
		texts[s.Name] = s.Data
		b.Sources = append(b.Sources, Source{Name: s.Name, Size: len(s.Data), Digest: sha256.Sum256(s.Data)})
	}
	pos := func(sp source.Span) Pos {
		if sp.File == "" && !sp.IsValid() {
			return Pos{Source: -1}
		}
		i, ok := files[sp.File]
		if !ok { // a file the checker did not list: keep its name, no digest
			i = len(b.Sources)
			files[sp.File] = i
			b.Sources = append(b.Sources, Source{Name: sp.File})
		}
		return Pos{Source: i, Line: sp.Start.Line, Col: sp.Start.Col}
	}

	for i, pp := range p.Profiles {
		g, err := glob.Parse(pp.Path)
		if err != nil {
			return nil, fmt.Errorf("lower profile %q: %w", pp.Path, err)
		}
		_, lit := g.Literal()
		b.Profiles = append(b.Profiles, &Profile{
			Index: i, Pattern: pp.Path, Glob: g, Literal: lit, Pos: pos(pp.PathSpan),
			Complain: pp.Complain, Tainted: pp.Tainted,
		})
	}

	scopeIDs := map[Scope]int{}
	for i, pp := range p.Profiles {
		prof := b.Profiles[i]
		for j, r := range pp.Rules {
			lr, err := lowerRule(r, j, prof, pos, texts)
			if err != nil {
				return nil, fmt.Errorf("lower profile %q: rule %d at %s: %w", pp.Path, j, r.Span, err)
			}
			if r.Scope != nil {
				key := Scope{Kind: r.Scope.Kind, Symbol: r.Scope.Symbol, Lib: r.Scope.Lib, Profile: NoProfile}
				if key.Kind == policy.FuncScope && key.Lib == "" {
					key.Profile = i
				}
				id, ok := scopeIDs[key]
				if !ok {
					b.Scopes = append(b.Scopes, key)
					id = len(b.Scopes)
					scopeIDs[key] = id
				}
				lr.Scope = id
			}
			prof.Rules = append(prof.Rules, lr)
		}
	}
	b.resolveTargets()
	return b, nil
}

func lowerRule(r *policy.Rule, id int, prof *Profile, pos func(source.Span) Pos, texts map[string][]byte) (*Rule, error) {
	lr := &Rule{
		ID: id, Kind: r.Kind, Action: r.Action, Audit: r.Audit, Transition: r.Transition,
		Pos: pos(r.Span), Text: spanText(texts[r.Span.File], r.Span),
		Target: Target{Profile: NoProfile},
	}
	switch r.Action {
	case policy.Allow, policy.Taint, policy.Deny:
	default:
		return nil, fmt.Errorf("unknown action %d", r.Action)
	}
	if r.Scope != nil && r.Scope.Kind != policy.FuncScope && r.Scope.Kind != policy.KFuncScope {
		return nil, fmt.Errorf("unknown scope kind %d", r.Scope.Kind)
	}
	if r.Scope != nil && r.Scope.Symbol == "" {
		return nil, fmt.Errorf("scope without a symbol")
	}
	switch r.Kind {
	case policy.FS:
		g, err := glob.Parse(r.Path)
		if err != nil {
			return nil, err
		}
		lr.Path, lr.Glob, lr.Modes = r.Path, g, uint64(r.FSModes)
	case policy.Net:
		lr.Family, lr.Modes = r.Family, uint64(r.NetOps)
		if r.Family > policy.FamilyPacket {
			return nil, fmt.Errorf("unknown family %d", r.Family)
		}
	case policy.Signal:
		lr.Target.Kind, lr.Target.Pattern, lr.Modes = r.Target.Kind, r.Target.Profile, uint64(r.Signals)
	case policy.Ptrace:
		lr.Target.Kind, lr.Target.Pattern, lr.Modes = r.Target.Kind, r.Target.Profile, uint64(r.Ptrace)
	case policy.Cap:
		lr.Modes = uint64(r.Caps)
	default:
		return nil, fmt.Errorf("unknown rule kind %d", r.Kind)
	}
	if lr.Modes == 0 {
		return nil, fmt.Errorf("%s rule grants nothing", r.Kind)
	}
	if (r.Kind == policy.Signal || r.Kind == policy.Ptrace) && (lr.Target.Kind < policy.TargetSelf || lr.Target.Kind > policy.TargetProfile) {
		return nil, fmt.Errorf("unknown target kind %d", lr.Target.Kind)
	}
	if r.Transition && (r.Kind != policy.FS || r.FSModes&policy.FSExec == 0 || r.Action == policy.Deny) {
		return nil, fmt.Errorf("#[transition] on a rule that does not grant fs exec")
	}
	return lr, nil
}

// spanText is the source text of sp, or "" when it is not available.
func spanText(text []byte, sp source.Span) string {
	s, e := sp.Start.Offset, sp.End.Offset
	if text == nil || !sp.IsValid() || s < 0 || e < s || e > len(text) {
		return ""
	}
	return string(text[s:e])
}

// Attach returns the profile that attaches to an executable path: the
// profile whose pattern is that literal path, else the first profile (in
// bundle order) whose glob matches it; NoProfile when none does. The exec
// DFA encodes exactly this choice.
func (b *Bundle) Attach(path string) int {
	return b.Best(func(p *Profile) bool { return p.Glob.Match(path) })
}

// Best returns the most specific profile among those for which match holds:
// a literal pattern first, then bundle order.
func (b *Bundle) Best(match func(*Profile) bool) int {
	best := NoProfile
	for _, p := range b.Profiles {
		if !match(p) {
			continue
		}
		if p.Literal {
			return p.Index
		}
		if best == NoProfile {
			best = p.Index
		}
	}
	return best
}

// resolveTargets fills profile targets of signal and ptrace rules and the
// possible targets of transitions, and records what names no profile.
func (b *Bundle) resolveTargets() {
	for _, p := range b.Profiles {
		for _, r := range p.Rules {
			switch {
			case (r.Kind == policy.Signal || r.Kind == policy.Ptrace) && r.Target.Kind == policy.TargetProfile:
				r.Target.Profile = b.profileNamed(r.Target.Pattern)
				if r.Target.Profile == NoProfile {
					b.Unresolved = append(b.Unresolved, Unresolved{Profile: p.Index, Rule: r.ID,
						What: r.Kind.String() + " target", Object: r.Target.Pattern})
				}
			case r.Transition:
				r.TransitionTargets = b.execTargets(r.Glob)
				if len(r.TransitionTargets) == 0 {
					b.Unresolved = append(b.Unresolved, Unresolved{Profile: p.Index, Rule: r.ID,
						What: "transition", Object: r.Path})
				}
			}
		}
	}
}

// profileNamed resolves a target PATH: the profile written with that exact
// pattern, else the profile that would attach to it as an executable.
func (b *Bundle) profileNamed(pattern string) int {
	for _, p := range b.Profiles {
		if p.Pattern == pattern {
			return p.Index
		}
	}
	return b.Attach(pattern)
}

// execTargets lists the profiles an exec of a file matched by g can attach
// to: for a literal g, the one profile that attaches to it; for a glob, every
// profile whose pattern matches some path g matches.
func (b *Bundle) execTargets(g *glob.Glob) []int {
	if lit, ok := g.Literal(); ok {
		if i := b.Attach(lit); i != NoProfile {
			return []int{i}
		}
		return nil
	}
	var out []int
	for _, p := range b.Profiles {
		if p.Pattern == g.String() || intersects(g, p.Glob) {
			out = append(out, p.Index)
		}
	}
	return slices.SortedFunc(slices.Values(out), cmp.Compare)
}

// intersects reports whether some path matches both globs: some state of
// their joint DFA accepts both. When the DFA is over its limits it answers
// true, which only lists a target too many.
func intersects(a, b *glob.Glob) bool {
	d, err := dfa.Compile([]*glob.Glob{a, b}, dfa.Limits{MaxStates: 1 << 16})
	if err != nil {
		return true
	}
	for _, acc := range d.Accept {
		if len(acc) == 2 {
			return true
		}
	}
	return false
}
