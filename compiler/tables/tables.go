// Package tables turns the IR into the tables the kernel reads: one fs DFA
// per profile whose accepting states give ranges of permission entries, one
// exec-attachment DFA for the bundle, and entry ranges for net, signal,
// ptrace and cap rules. The result is a bundle.Bundle, ready to encode.
//
// Entries are one per (accepting state's distinct rule set, rule): a state
// lists every fs rule whose glob matches the paths ending there, in source
// order, so the kernel and explain can name the exact deciding rule. States
// with the same rule set share one range.
//
// The exec DFA attaches a path to the most specific profile: a profile whose
// pattern is a literal path beats every glob, then the first in bundle order
// (the order the files were given). ir.Bundle.Attach is the same choice.
package tables

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/bpfbox/bpfbox/compiler/bundle"
	"github.com/bpfbox/bpfbox/compiler/dfa"
	"github.com/bpfbox/bpfbox/compiler/ir"
	"github.com/bpfbox/bpfbox/lang/glob"
	"github.com/bpfbox/bpfbox/lang/policy"
)

// Build lowers b to bundle tables; version is stamped as the compiler version.
func Build(b *ir.Bundle, lim dfa.Limits, version string) (*bundle.Bundle, error) {
	out := &bundle.Bundle{CompilerVersion: version}
	for _, s := range b.Sources {
		out.Sources = append(out.Sources, bundle.Source{Name: s.Name, Size: uint32(s.Size), Digest: s.Digest})
	}
	for i, s := range b.Scopes {
		if i >= int(bundle.DefaultLimits().MaxScopes) {
			return nil, fmt.Errorf("build tables: %d scopes is over the limit of %d", len(b.Scopes), bundle.DefaultLimits().MaxScopes)
		}
		out.Scopes = append(out.Scopes, bundle.Scope{Kind: uint8(s.Kind), Symbol: s.Symbol, Lib: s.Lib, Profile: index(s.Profile)})
	}
	for _, p := range b.Profiles {
		if err := addProfile(out, p, lim); err != nil {
			return nil, fmt.Errorf("build tables: profile %q: %w", p.Pattern, err)
		}
	}
	exec, err := execDFA(b, lim)
	if err != nil {
		return nil, fmt.Errorf("build tables: exec dfa: %w", err)
	}
	out.ExecDFA = uint32(len(out.DFAs))
	out.DFAs = append(out.DFAs, exec)
	return out, nil
}

func index(i int) uint32 {
	if i < 0 {
		return bundle.None
	}
	return uint32(i)
}

func position(p ir.Pos) (src, line, col uint32) {
	if p.Source < 0 {
		return bundle.None, 0, 0
	}
	return uint32(p.Source), uint32(p.Line), uint32(p.Col)
}

func addProfile(out *bundle.Bundle, p *ir.Profile, lim dfa.Limits) error {
	bp := bundle.Profile{Pattern: p.Pattern}
	bp.Source, bp.Line, bp.Col = position(p.Pos)
	if p.Complain {
		bp.Flags |= bundle.ProfileComplain
	}
	if p.Tainted {
		bp.Flags |= bundle.ProfileTainted
	}
	if p.Literal {
		bp.Flags |= bundle.ProfileLiteral
	}
	base := uint32(len(out.Rules))
	bp.Rules = bundle.Range{First: base, Count: uint32(len(p.Rules))}

	var fsRules []*ir.Rule
	byKind := map[policy.Kind][]*ir.Rule{}
	for _, r := range p.Rules {
		out.Rules = append(out.Rules, lowerRule(r))
		if r.Kind == policy.FS {
			fsRules = append(fsRules, r)
		} else {
			byKind[r.Kind] = append(byKind[r.Kind], r)
		}
	}
	entryRange := func(rules []*ir.Rule) bundle.Range {
		if len(rules) == 0 {
			return bundle.Range{}
		}
		rng := bundle.Range{First: uint32(len(out.Entries)), Count: uint32(len(rules))}
		for _, r := range rules {
			out.Entries = append(out.Entries, entry(out, base+uint32(r.ID)))
		}
		return rng
	}
	bp.Net = entryRange(byKind[policy.Net])
	bp.Signal = entryRange(byKind[policy.Signal])
	bp.Ptrace = entryRange(byKind[policy.Ptrace])
	bp.Cap = entryRange(byKind[policy.Cap])

	globs := make([]*glob.Glob, len(fsRules))
	for i, r := range fsRules {
		globs[i] = r.Glob
	}
	shared := map[string]bundle.Range{}
	fs, err := fromDFA(globs, lim, func(matched []int32) (bundle.Range, error) {
		if len(matched) == 0 {
			return bundle.Range{}, nil
		}
		if len(matched) > int(bundle.DefaultLimits().MaxEntriesInState) {
			return bundle.Range{}, fmt.Errorf("%d fs rules match the same paths (limit %d)", len(matched), bundle.DefaultLimits().MaxEntriesInState)
		}
		key := setKey(matched)
		if rng, ok := shared[key]; ok {
			return rng, nil
		}
		rules := make([]*ir.Rule, len(matched))
		for i, m := range matched {
			rules[i] = fsRules[m]
		}
		rng := entryRange(rules)
		shared[key] = rng
		return rng, nil
	})
	if err != nil {
		return fmt.Errorf("fs dfa: %w", err)
	}
	bp.FSDFA = uint32(len(out.DFAs))
	out.DFAs = append(out.DFAs, fs)
	out.Profiles = append(out.Profiles, bp)
	return nil
}

func setKey(s []int32) string {
	var b strings.Builder
	for _, v := range s {
		b.WriteString(strconv.Itoa(int(v)))
		b.WriteByte(',')
	}
	return b.String()
}

func lowerRule(r *ir.Rule) bundle.Rule {
	br := bundle.Rule{Kind: uint8(r.Kind), Action: uint8(r.Action), Scope: uint32(r.Scope), Text: r.Text,
		Modes: r.Modes, Target: bundle.None}
	br.Source, br.Line, br.Col = position(r.Pos)
	if r.Audit {
		br.Flags |= bundle.FlagAudit
	}
	if r.Transition {
		br.Flags |= bundle.FlagTransition
	}
	switch r.Kind {
	case policy.FS:
		br.Object = r.Path
	case policy.Net:
		br.Arg = uint32(r.Family)
	case policy.Signal, policy.Ptrace:
		br.Arg = uint32(r.Target.Kind)
		if r.Target.Kind == policy.TargetProfile {
			br.Object, br.Target = r.Target.Pattern, index(r.Target.Profile)
		}
	}
	return br
}

// entry is the permission entry of rule i, copied from the rule.
func entry(out *bundle.Bundle, i uint32) bundle.Entry {
	r := &out.Rules[i]
	return bundle.Entry{Rule: i, Scope: r.Scope, Action: r.Action, Flags: r.Flags, Arg: r.Arg, Target: r.Target,
		Modes: bundle.EntryModes(r.Kind, r.Modes)}
}

// execDFA matches executables against every profile's pattern.
func execDFA(b *ir.Bundle, lim dfa.Limits) (bundle.DFA, error) {
	globs := make([]*glob.Glob, len(b.Profiles))
	for i, p := range b.Profiles {
		globs[i] = p.Glob
	}
	return fromDFA(globs, lim, func(matched []int32) (bundle.Range, error) {
		if len(matched) == 0 {
			return bundle.Range{}, nil
		}
		in := map[int]bool{}
		for _, m := range matched {
			in[int(m)] = true
		}
		best := b.Best(func(p *ir.Profile) bool { return in[p.Index] })
		return bundle.Range{First: uint32(best), Count: 1}, nil
	})
}

// fromDFA compiles globs and maps each state's matching glob indices to a range.
func fromDFA(globs []*glob.Glob, lim dfa.Limits, accept func([]int32) (bundle.Range, error)) (bundle.DFA, error) {
	if len(globs) == 0 {
		// Nothing matches: one dead start state, one byte class.
		return bundle.DFA{NumStates: 1, NumClasses: 1, Start: 0, Dead: 0, Trans: []uint32{0}, Accept: []bundle.Range{{}}}, nil
	}
	d, err := dfa.Compile(globs, lim)
	if err != nil {
		return bundle.DFA{}, err
	}
	out := bundle.DFA{
		NumStates: uint32(d.NumStates), NumClasses: uint32(d.NumClasses), Start: d.Start, Dead: bundle.None,
		Classes: d.Classes, Trans: d.Trans, Accept: make([]bundle.Range, d.NumStates),
	}
	if isSink(d, d.Dead) {
		out.Dead = d.Dead
	}
	for s := range d.NumStates {
		if out.Accept[s], err = accept(d.Accept[s]); err != nil {
			return bundle.DFA{}, err
		}
	}
	return out, nil
}

// isSink reports whether s is a state of d that never accepts and never leaves.
func isSink(d *dfa.DFA, s uint32) bool {
	if int(s) >= d.NumStates || len(d.Accept[s]) != 0 {
		return false
	}
	for c := 0; c < d.NumClasses; c++ {
		if d.Trans[int(s)*d.NumClasses+c] != s {
			return false
		}
	}
	return true
}
