package ir_test

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/bpfbox/bpfbox/compiler/ir"
	"github.com/bpfbox/bpfbox/lang/check"
	"github.com/bpfbox/bpfbox/lang/policy"
)

func lower(t *testing.T, files ...string) *ir.Bundle {
	t.Helper()
	var inputs []check.Input
	srcs := map[string][]byte{}
	for i := 0; i < len(files); i += 2 {
		if !strings.HasPrefix(files[i], "inc") {
			inputs = append(inputs, check.Input{Name: files[i], Src: []byte(files[i+1])})
		}
		srcs[files[i]] = []byte(files[i+1])
	}
	pol, diags := check.Check(inputs, check.Options{ReadFile: func(p string) ([]byte, error) {
		if d, ok := srcs[p]; ok {
			return d, nil
		}
		return nil, os.ErrNotExist
	}})
	if diags.HasErrors() {
		t.Fatalf("check: %v", diags)
	}
	b, err := ir.Lower(pol)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLowerPositionsAndText(t *testing.T) {
	b := lower(t, "a.bbx", `#![profile "/usr/bin/a"]
include "inc.bbx"
#[taint]
net(inet, connect)
`, "inc.bbx", `fs("/etc/a", read)
`)
	if got := len(b.Profiles); got != 1 {
		t.Fatalf("%d profiles", got)
	}
	p := b.Profiles[0]
	if !p.Literal || p.Pos != (ir.Pos{Source: 0, Line: 1, Col: 1}) {
		t.Errorf("profile literal=%v pos=%+v", p.Literal, p.Pos)
	}
	type row struct {
		File, Text string
		Line, Col  int
	}
	var got []row
	for _, r := range p.Rules {
		got = append(got, row{b.Sources[r.Pos.Source].Name, r.Text, r.Pos.Line, r.Pos.Col})
	}
	want := []row{{"inc.bbx", `fs("/etc/a", read)`, 1, 1}, {"a.bbx", "net(inet, connect)", 4, 1}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
	for _, s := range b.Sources {
		if s.Digest == ([32]byte{}) || s.Size == 0 {
			t.Errorf("source %s has no digest or size", s.Name)
		}
	}
}

func TestLowerScopesAreDenseAndShared(t *testing.T) {
	b := lower(t, "a.bbx", `#![profile "/usr/bin/a"]
#[taint] net(inet, connect)
#[func "f"] fs("/a", read)
#[func "g"] fs("/b", read)
#[func "f"] fs("/c", read)
#[func "f" in "/lib/libx.so"] fs("/d", read)
#[kfunc "vfs_read"] fs("/e", read)
`, "b.bbx", `#![profile "/usr/bin/b"]
#[taint] net(inet, connect)
#[func "f"] fs("/a", read)
#[func "f" in "/lib/libx.so"] fs("/d", read)
#[kfunc "vfs_read"] fs("/e", read)
`)
	want := []ir.Scope{
		{Kind: policy.FuncScope, Symbol: "f", Profile: 0},
		{Kind: policy.FuncScope, Symbol: "g", Profile: 0},
		{Kind: policy.FuncScope, Symbol: "f", Lib: "/lib/libx.so", Profile: ir.NoProfile},
		{Kind: policy.KFuncScope, Symbol: "vfs_read", Profile: ir.NoProfile},
		{Kind: policy.FuncScope, Symbol: "f", Profile: 1},
	}
	if diff := cmp.Diff(want, b.Scopes); diff != "" {
		t.Errorf("scopes (-want +got):\n%s", diff)
	}
	var ids []int
	for _, p := range b.Profiles {
		for _, r := range p.Rules {
			ids = append(ids, r.Scope)
		}
	}
	if diff := cmp.Diff([]int{0, 1, 2, 1, 3, 4, 0, 5, 3, 4}, ids); diff != "" {
		t.Errorf("rule scope ids (-want +got):\n%s", diff)
	}
}

func TestLowerTargets(t *testing.T) {
	b := lower(t, "a.bbx", `#![profile "/usr/bin/a"]
#[taint] net(inet, connect)
#[transition] fs("/usr/libexec/h1", exec)
#[transition] fs("/usr/libexec/*", exec)
#[transition] fs("/usr/bin/none", exec)
signal("/usr/libexec/h*", sigterm)
ptrace("/usr/bin/nobody", read)
`, "h.bbx", `#![profile "/usr/libexec/h*"]
#![tainted]
fs("/a", read)
`, "h1.bbx", `#![profile "/usr/libexec/h1"]
#![tainted]
fs("/a", read)
`)
	rules := b.Profiles[0].Rules
	if diff := cmp.Diff([]int{2}, rules[1].TransitionTargets); diff != "" {
		t.Errorf("literal transition: a literal profile beats a glob (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{1, 2}, rules[2].TransitionTargets); diff != "" {
		t.Errorf("glob transition (-want +got):\n%s", diff)
	}
	if rules[3].TransitionTargets != nil {
		t.Errorf("unresolvable transition has targets %v", rules[3].TransitionTargets)
	}
	if rules[4].Target.Profile != 1 || rules[5].Target.Profile != ir.NoProfile {
		t.Errorf("signal target %d, ptrace target %d", rules[4].Target.Profile, rules[5].Target.Profile)
	}
	var un []string
	for _, u := range b.Unresolved {
		un = append(un, u.What+" "+u.Object)
	}
	if diff := cmp.Diff("transition /usr/bin/none; ptrace target /usr/bin/nobody", strings.Join(un, "; ")); diff != "" {
		t.Errorf("unresolved (-want +got):\n%s", diff)
	}
}

func TestLowerRejectsWhatItCannotRepresent(t *testing.T) {
	for name, p := range map[string]*policy.Policy{
		"relative profile": {Profiles: []*policy.Profile{{Path: "usr/bin/a"}}},
		"bad glob":         {Profiles: []*policy.Profile{{Path: "/a", Rules: []*policy.Rule{{Kind: policy.FS, Action: policy.Allow, Path: "/a/[", FSModes: policy.FSRead}}}}},
		"no modes":         {Profiles: []*policy.Profile{{Path: "/a", Rules: []*policy.Rule{{Kind: policy.FS, Action: policy.Allow, Path: "/a"}}}}},
		"bad action":       {Profiles: []*policy.Profile{{Path: "/a", Rules: []*policy.Rule{{Kind: policy.Cap, Action: 9, Caps: 1}}}}},
		"bad kind":         {Profiles: []*policy.Profile{{Path: "/a", Rules: []*policy.Rule{{Kind: 42, Action: policy.Allow}}}}},
		"transition read":  {Profiles: []*policy.Profile{{Path: "/a", Rules: []*policy.Rule{{Kind: policy.FS, Action: policy.Allow, Transition: true, Path: "/b", FSModes: policy.FSRead}}}}},
		"bad target":       {Profiles: []*policy.Profile{{Path: "/a", Rules: []*policy.Rule{{Kind: policy.Signal, Action: policy.Allow, Signals: 2}}}}},
	} {
		if _, err := ir.Lower(p); err == nil {
			t.Errorf("%s: lowered without error", name)
		}
	}
}
