package tables_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/bpfbox/bpfbox/compiler/bundle"
	"github.com/bpfbox/bpfbox/compiler/dfa"
	"github.com/bpfbox/bpfbox/compiler/ir"
	"github.com/bpfbox/bpfbox/compiler/tables"
	"github.com/bpfbox/bpfbox/lang/policy"
)

func fs(path string, modes policy.FSMode, action policy.Action) *policy.Rule {
	return &policy.Rule{Kind: policy.FS, Action: action, Path: path, FSModes: modes}
}

func build(t *testing.T, profiles ...*policy.Profile) *bundle.Bundle {
	t.Helper()
	for _, p := range profiles {
		for i, r := range p.Rules {
			r.ID = i
		}
	}
	b, err := ir.Lower(&policy.Policy{Profiles: profiles})
	if err != nil {
		t.Fatal(err)
	}
	out, err := tables.Build(b, dfa.Limits{}, "test")
	if err != nil {
		t.Fatal(err)
	}
	// What Build makes must survive the decoder's checks.
	data, err := bundle.Encode(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bundle.Decode(data); err != nil {
		t.Fatal(err)
	}
	return out
}

// rulesAt lists the rule indices of the entries a path ends on.
func rulesAt(b *bundle.Bundle, p int, path string) []uint32 {
	d := &b.DFAs[b.Profiles[p].FSDFA]
	a := d.Accept[d.Walk(path)]
	var out []uint32
	for _, en := range b.Entries[a.First : a.First+a.Count] {
		out = append(out, en.Rule)
	}
	return out
}

func TestEntriesPerState(t *testing.T) {
	b := build(t, &policy.Profile{Path: "/bin/a", Rules: []*policy.Rule{
		fs("/var/**", policy.FSRead, policy.Allow),
		fs("/var/log/*", policy.FSWrite, policy.Allow),
		fs("/var/log/secret", policy.FSRead, policy.Deny),
		{Kind: policy.Cap, Action: policy.Allow, Caps: 1},
	}})
	for path, want := range map[string][]uint32{
		"/var/x":          {0},
		"/var/log/x":      {0, 1},
		"/var/log/secret": {0, 1, 2},
		"/var/log/a/b":    {0},
		"/etc/passwd":     nil,
	} {
		if diff := cmp.Diff(want, rulesAt(b, 0, path)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", path, diff)
		}
	}
	// States with one rule set share one range: 3 distinct sets, 6 fs entries
	// ({0}, {0,1}, {0,1,2}), plus the cap entry.
	if len(b.Entries) != 7 {
		t.Errorf("%d entries, want 7 (shared ranges)", len(b.Entries))
	}
	for _, en := range b.Entries {
		if en.Rule == 1 && en.Modes != uint64(policy.FSWrite|policy.FSAppend) {
			t.Errorf("entry of rule 1 has modes %v: write must imply append", policy.FSMode(en.Modes))
		}
	}
}

func TestNoFSRules(t *testing.T) {
	b := build(t, &policy.Profile{Path: "/bin/a", Rules: []*policy.Rule{{Kind: policy.Cap, Action: policy.Allow, Caps: 1}}})
	if got := rulesAt(b, 0, "/anything"); got != nil {
		t.Errorf("a profile without fs rules matches %v", got)
	}
}

func TestExecDFAMostSpecific(t *testing.T) {
	b := build(t,
		&policy.Profile{Path: "/usr/bin/*"},
		&policy.Profile{Path: "/usr/bin/py*"},
		&policy.Profile{Path: "/usr/bin/python3"},
	)
	d := &b.DFAs[b.ExecDFA]
	for path, want := range map[string]bundle.Range{
		"/usr/bin/ls":      {First: 0, Count: 1},
		"/usr/bin/pydoc":   {First: 0, Count: 1},
		"/usr/bin/python3": {First: 2, Count: 1},
		"/usr/sbin/x":      {},
	} {
		if got := d.Accept[d.Walk(path)]; got != want {
			t.Errorf("%s: %v, want %v", path, got, want)
		}
	}
}

func TestLimits(t *testing.T) {
	var rules []*policy.Rule
	for range 5000 {
		rules = append(rules, fs("/a", policy.FSRead, policy.Allow))
	}
	p := &policy.Profile{Path: "/bin/a", Rules: rules}
	for i, r := range p.Rules {
		r.ID = i
	}
	b, err := ir.Lower(&policy.Policy{Profiles: []*policy.Profile{p}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tables.Build(b, dfa.Limits{}, "test"); err == nil || !strings.Contains(err.Error(), "5000 fs rules match the same paths (limit 4096)") {
		t.Errorf("got %v", err)
	}
	b, _ = ir.Lower(&policy.Policy{Profiles: []*policy.Profile{{Path: "/bin/a", Rules: []*policy.Rule{fs("/a/**/b/**/c/**", policy.FSRead, policy.Allow)}}}})
	if _, err := tables.Build(b, dfa.Limits{MaxStates: 3}, "test"); err == nil || !strings.HasPrefix(err.Error(), `build tables: profile "/bin/a": fs dfa: `) {
		t.Errorf("got %v", err)
	}
}
