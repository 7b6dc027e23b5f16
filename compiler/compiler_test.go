package compiler_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/bpfbox/bpfbox/compiler"
	"github.com/bpfbox/bpfbox/compiler/bundle"
	"github.com/bpfbox/bpfbox/compiler/decide"
	"github.com/bpfbox/bpfbox/lang/check"
	"github.com/bpfbox/bpfbox/lang/diag"
	"github.com/bpfbox/bpfbox/lang/glob"
	"github.com/bpfbox/bpfbox/lang/policy"
)

// checkFiles checks named sources as one bundle, failing on errors.
func checkFiles(t testing.TB, names []string, srcs [][]byte) *policy.Policy {
	t.Helper()
	var inputs []check.Input
	for i, n := range names {
		inputs = append(inputs, check.Input{Name: n, Src: srcs[i]})
	}
	pol, diags := check.Check(inputs, check.Options{})
	if diags.HasErrors() {
		var buf bytes.Buffer
		diag.WriteText(&buf, diags, nil, 10)
		t.Fatalf("check: %s", buf.String())
	}
	return pol
}

func examples(t testing.TB) *policy.Policy {
	paths, _ := filepath.Glob("../examples/*.bbx")
	if len(paths) == 0 {
		t.Fatal("no ../examples/*.bbx")
	}
	var srcs [][]byte
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, data)
	}
	return checkFiles(t, paths, srcs)
}

func TestCompileDeterministic(t *testing.T) {
	a, err := compiler.Compile(examples(t))
	if err != nil {
		t.Fatal(err)
	}
	b, err := compiler.Compile(examples(t))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("compiling the same sources twice gave different bytes")
	}
}

func TestCompileErrors(t *testing.T) {
	if _, err := compiler.Compile(nil); err == nil {
		t.Error("Compile(nil) succeeded")
	}
	bad := &policy.Policy{Profiles: []*policy.Profile{{Path: "relative", File: "x.bbx"}}}
	_, err := compiler.Compile(bad)
	if err == nil || !strings.HasPrefix(err.Error(), "compile: lower: ") {
		t.Errorf("bad profile path: got %v, want a compile: lower: error", err)
	}
}

// reference decides an fs request straight from the checked policy, with
// the glob package's matcher and no tables: the language's semantics,
// written a second time, independently of compiler/decide and the DFAs.
func reference(p *policy.Profile, path string, modes policy.FSMode, tainted bool, inside map[string]bool) (allow, taints bool, rule int) {
	var matched []*policy.Rule
	for _, r := range p.Rules {
		m := r.FSModes
		if m&policy.FSWrite != 0 {
			m |= policy.FSAppend
		}
		if r.Kind != policy.FS || m&modes == 0 || !glob.MustParse(r.Path).Match(path) {
			continue
		}
		if r.Scope != nil && !inside[r.Scope.Symbol] {
			continue
		}
		matched = append(matched, r)
	}
	for _, r := range matched {
		if r.Action == policy.Deny {
			return false, false, r.ID
		}
	}
	if !tainted {
		for _, r := range matched {
			if r.Action == policy.Taint {
				return true, true, r.ID
			}
		}
		if len(matched) > 0 {
			return true, false, matched[0].ID
		}
		return true, false, -1
	}
	var granted policy.FSMode
	for _, r := range matched {
		m := r.FSModes
		if m&policy.FSWrite != 0 {
			m |= policy.FSAppend
		}
		granted |= m
	}
	if modes&^granted != 0 {
		return false, false, -1
	}
	return true, false, matched[0].ID
}

// TestDecideMatchesReference compares the tables (DFAs, accept ranges,
// shared entry lists) with the reference on many paths derived from the
// examples' globs, in every taint state and scope combination.
func TestDecideMatchesReference(t *testing.T) {
	pol := examples(t)
	res, err := compiler.CompileWith(pol, compiler.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	b := res.Tables
	rng := rand.New(rand.NewPCG(1, 2))
	suffixes := []string{"", "a", "/", "/a", "/a/b", ".so", ".so.6", "x.conf", "/.hidden", "/lib/x.so.1", "-1", "é"}
	n := 0
	for pi, p := range pol.Profiles {
		var paths []string
		symbols := map[string]policy.ScopeKind{}
		for _, r := range p.Rules {
			if r.Scope != nil {
				symbols[r.Scope.Symbol] = r.Scope.Kind
			}
			if r.Kind != policy.FS {
				continue
			}
			g := glob.MustParse(r.Path)
			if lit, ok := g.Literal(); ok {
				paths = append(paths, lit)
			}
			for range 20 {
				paths = append(paths, g.LiteralPrefix()+suffixes[rng.IntN(len(suffixes))]+suffixes[rng.IntN(len(suffixes))])
			}
		}
		var syms []string
		for s := range symbols {
			syms = append(syms, s)
		}
		slices.Sort(syms)
		for _, path := range paths {
			for _, tainted := range []bool{false, true} {
				modes := policy.FSModeNames[rng.IntN(len(policy.FSModeNames))].Value
				if rng.IntN(3) == 0 {
					modes |= policy.FSModeNames[rng.IntN(len(policy.FSModeNames))].Value
				}
				inside := map[string]bool{}
				var funcs, kfuncs []string
				for _, s := range syms {
					if rng.IntN(2) == 0 {
						inside[s] = true
						if symbols[s] == policy.KFuncScope {
							kfuncs = append(kfuncs, s)
						} else {
							funcs = append(funcs, s)
						}
					}
				}
				wantAllow, wantTaints, wantRule := reference(p, path, modes, tainted || p.Tainted, inside)
				scopes, _ := decide.ScopeIDs(b, uint32(pi), funcs, kfuncs)
				d, err := decide.Decide(b, decide.Request{Profile: uint32(pi), Kind: policy.FS, Path: path,
					Modes: uint64(modes), Tainted: tainted || p.Tainted, Scopes: scopes})
				if err != nil {
					t.Fatal(err)
				}
				gotRule := -1
				if d.Rule != bundle.None {
					gotRule = int(d.Rule - b.Profiles[pi].Rules.First)
				}
				if d.Would != wantAllow || d.Taints != wantTaints || gotRule != wantRule {
					t.Errorf("profile %s: %s %s tainted=%v inside=%v: decide says allow=%v taints=%v rule=%d, reference says %v %v %d",
						p.Path, path, modes, tainted, append(funcs, kfuncs...), d.Would, d.Taints, gotRule, wantAllow, wantTaints, wantRule)
				}
				n++
			}
		}
	}
	t.Logf("%d requests agree", n)
}

// TestAttachMatchesReference: the exec DFA picks the profile the
// specification picks (a literal pattern first, then file order).
func TestAttachMatchesReference(t *testing.T) {
	srcs := [][]byte{
		[]byte(`#![profile "/usr/bin/python3*"]` + "\n" + `fs("/a", read)`),
		[]byte(`#![profile "/usr/bin/python3.11"]` + "\n" + `fs("/a", read)`),
		[]byte(`#![profile "/usr/bin/*"]` + "\n" + `fs("/a", read)`),
		[]byte(`#![profile "/opt/**/bin/{run,start}"]` + "\n" + `fs("/a", read)`),
	}
	pol := checkFiles(t, []string{"a.bbx", "b.bbx", "c.bbx", "d.bbx"}, srcs)
	res, err := compiler.CompileWith(pol, compiler.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, exe := range []string{"/usr/bin/python3", "/usr/bin/python3.11", "/usr/bin/python3.12", "/usr/bin/ls",
		"/usr/bin/x/y", "/opt/bin/run", "/opt/a/b/bin/start", "/opt/bin/stop", "/usr/bin/", "/"} {
		want := res.IR.Attach(exe)
		got, ok := decide.Attach(res.Tables, exe)
		if !ok {
			got = bundle.None
		}
		if int32(got) != int32(want) {
			t.Errorf("Attach(%q) = %d, want %d", exe, int32(got), want)
		}
	}
}

// TestSizes reports the DFA sizes of the examples and of 1,000 typical
// path globs (go test -run TestSizes -v), and holds them to what the kernel
// side can keep: 16-bit cells.
func TestSizes(t *testing.T) {
	report := func(name string, pol *policy.Policy) {
		res, err := compiler.CompileWith(pol, compiler.DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		b := res.Tables
		for i, p := range b.Profiles {
			d := &b.DFAs[p.FSDFA]
			bytes := int(d.NumStates)*int(d.NumClasses)*int(bundle.CellSize(d.NumStates)) + 256 + int(d.NumStates)*8
			t.Logf("%s: profile %q: %d rules, fs dfa %d states × %d classes = %d bytes", name, p.Pattern, p.Rules.Count, d.NumStates, d.NumClasses, bytes)
			if bundle.CellSize(d.NumStates) != 2 {
				t.Errorf("%s: profile %d needs 32-bit cells (%d states)", name, i, d.NumStates)
			}
		}
		e := &b.DFAs[b.ExecDFA]
		t.Logf("%s: exec dfa %d states × %d classes; %d entries; bundle %d bytes", name, e.NumStates, e.NumClasses, len(b.Entries), len(res.Data))
	}
	report("examples", examples(t))
	src, _ := generate(1000)
	report("1000 globs", checkFiles(t, []string{"gen.bbx"}, [][]byte{src}))
}

// generate writes a profile of n typical rules and the same rules as an
// AppArmor profile: config files, data directories, shared libraries,
// recursive trees, alternations, per-user paths, executables and denials.
func generate(n int) (bbx, apparmor []byte) {
	var b, a strings.Builder
	b.WriteString("#![profile \"/usr/bin/bench\"]\n#[taint]\nnet(inet, connect)\n")
	a.WriteString("profile bench /usr/bin/bench {\n")
	for i := range n {
		var path, modes, aa string
		switch i % 10 {
		case 0, 1, 2, 3:
			path, modes, aa = fmt.Sprintf("/etc/app%d/file%d.conf", i/40, i), "read", "r"
		case 4:
			path, modes, aa = fmt.Sprintf("/var/lib/app%d/*", i), "read|write", "rw"
		case 5:
			path, modes, aa = fmt.Sprintf("/usr/share/app%d/**", i), "read", "r"
		case 6:
			path, modes, aa = fmt.Sprintf("/usr/lib/x86_64-linux-gnu/lib%d.so*", i), "read|map", "rm"
		case 7:
			path, modes, aa = fmt.Sprintf("/srv/site%d/{public,static}/**.{html,css,js}", i), "read", "r"
		case 8:
			path, modes, aa = fmt.Sprintf("/home/*/.config/app%d/**", i), "read|write", "rw"
		case 9:
			path, modes, aa = fmt.Sprintf("/usr/bin/tool%d", i), "exec", "ix"
		}
		if i%50 == 49 {
			fmt.Fprintf(&b, "#[deny]\nfs(%q, %s)\n", path, modes)
			deny := aa[:1]
			if aa == "ix" {
				deny = "x"
			}
			fmt.Fprintf(&a, "  deny %s %s,\n", path, deny)
			continue
		}
		fmt.Fprintf(&b, "fs(%q, %s)\n", path, modes)
		fmt.Fprintf(&a, "  %s %s,\n", path, aa)
	}
	a.WriteString("}\n")
	return []byte(b.String()), []byte(a.String())
}

// TestFuzzSeed keeps a real bundle (examples/login.bbx) among FuzzDecode's seeds:
// BPFBOX_UPDATE=1 rewrites it; otherwise the committed seed must decode.
func TestFuzzSeed(t *testing.T) {
	seed := filepath.Join("bundle", "testdata", "fuzz", "FuzzDecode", "login")
	if os.Getenv("BPFBOX_UPDATE") != "" {
		src, err := os.ReadFile("../examples/login.bbx")
		if err != nil {
			t.Fatal(err)
		}
		pol := checkFiles(t, []string{"login.bbx"}, [][]byte{src})
		data, err := compiler.CompileWith(pol, compiler.Options{Version: "seed"})
		if err != nil {
			t.Fatal(err)
		}
		text := "go test fuzz v1\n[]byte(" + strconv.Quote(string(data.Data)) + ")\n"
		if err := os.WriteFile(seed, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	text, err := os.ReadFile(seed)
	if err != nil {
		t.Fatal(err)
	}
	lit := strings.TrimSuffix(strings.TrimPrefix(string(text), "go test fuzz v1\n[]byte("), ")\n")
	data, err := strconv.Unquote(lit)
	if err != nil {
		t.Fatalf("seed %s: %v", seed, err)
	}
	if _, err := bundle.Decode([]byte(data)); err != nil {
		t.Errorf("seed %s: %v", seed, err)
	}
}
