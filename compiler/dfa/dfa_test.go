package dfa

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/bpfbox/bpfbox/lang/glob"
	"github.com/bpfbox/bpfbox/lang/glob/globtest"
)

func loadCases(t testing.TB) []globtest.Case {
	cases, err := globtest.Load("../../lang/glob/testdata/match.txt")
	if err != nil {
		t.Fatal(err)
	}
	return cases
}

// TestMatchTable runs the shared case table through one DFA per glob.
func TestMatchTable(t *testing.T) {
	dfas := map[string]*DFA{}
	for _, c := range loadCases(t) {
		d, ok := dfas[c.Glob]
		if !ok {
			var err error
			d, err = Compile([]*glob.Glob{glob.MustParse(c.Glob)}, Limits{})
			if err != nil {
				t.Fatalf("Compile(%q): %v", c.Glob, err)
			}
			dfas[c.Glob] = d
			checkMinimal(t, d)
		}
		got := len(d.Match(c.Path)) > 0
		if got != c.Match {
			t.Errorf("%s: DFA(%q).Match(%q) = %v, want %v", c.Where, c.Glob, c.Path, got, c.Match)
		}
	}
}

// TestMatchTableCombined compiles every glob of the table into one DFA and
// checks the accept set of every path.
func TestMatchTableCombined(t *testing.T) {
	cases := loadCases(t)
	var pats []string
	index := map[string]int32{}
	for _, c := range cases {
		if _, ok := index[c.Glob]; !ok {
			index[c.Glob] = int32(len(pats))
			pats = append(pats, c.Glob)
		}
	}
	gs := mustParseAll(pats)
	d, err := Compile(gs, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d globs: %v", len(gs), d.Stats())
	for _, c := range cases {
		var want []int32
		for i, g := range gs {
			if g.Match(c.Path) {
				want = append(want, int32(i))
			}
		}
		got := d.Match(c.Path)
		if !slices.Equal(got, want) {
			t.Errorf("%s: combined Match(%q) = %v, want %v", c.Where, c.Path, got, want)
		}
		if slices.Contains(got, index[c.Glob]) != c.Match {
			t.Errorf("%s: combined DFA disagrees with the table for %q", c.Where, c.Glob)
		}
	}
}

func TestNoGlobs(t *testing.T) {
	d, err := Compile(nil, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if d.NumStates != 1 || d.Start != d.Dead || d.Match("/") != nil {
		t.Errorf("empty DFA: %+v", d)
	}
}

func TestAcceptSets(t *testing.T) {
	d, err := Compile(mustParseAll([]string{"/etc/**", "/etc/*.conf", "/etc/passwd", "/**", "/etc/a.conf"}), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string][]int32{
		"/etc/a.conf":     {0, 1, 3, 4},
		"/etc/b.conf":     {0, 1, 3},
		"/etc/passwd":     {0, 2, 3},
		"/etc/x/y.conf":   {0, 3},
		"/etc":            {3},
		"/":               {3},
		"":                nil,
		"etc":             nil,
		"/etc/passwd.bak": {0, 3},
	} {
		if got := d.Match(path); !slices.Equal(got, want) {
			t.Errorf("Match(%q) = %v, want %v", path, got, want)
		}
	}
}

func TestDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	pats := typicalGlobs(r, 300)
	a, err := Compile(mustParseAll(pats), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Compile(mustParseAll(pats), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("two compiles differ (-first +second):\n%s", diff)
	}
}

// TestCanonical checks that the DFA depends only on the languages: globs
// written differently but matching the same paths give identical DFAs.
func TestCanonical(t *testing.T) {
	for _, pair := range [][2][]string{
		{{"/{a,b}/c"}, {"/[ab]/c"}},
		{{"/a{b,}"}, {"/{ab,a}"}},
		{{"/x/**/y"}, {"/x{/**,}/y"}},
		{{"/a/*", "/b"}, {"/{a/*,a/*}", "/{b}"}},
		{{"/[!a]"}, {"/{[!a-z],[b-z]}"}},
	} {
		a, err := Compile(mustParseAll(pair[0]), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := Compile(mustParseAll(pair[1]), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(a, b); diff != "" {
			t.Errorf("%q and %q give different DFAs:\n%s", pair[0], pair[1], diff)
		}
	}
}

func TestLimits(t *testing.T) {
	// "**a" followed by n characters needs about 2^n states: the DFA must
	// remember which of the last n bytes were 'a'.
	g := glob.MustParse("/**a" + strings.Repeat("?", 14))
	_, err := Compile([]*glob.Glob{g}, Limits{MaxStates: 1000})
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "Limits.MaxBuildStates") {
		t.Errorf("explosive glob: err = %v, want a MaxBuildStates limit error", err)
	}
	_, err = Compile(mustParseAll([]string{"/abc", "/abd", "/x*"}), Limits{MaxStates: 3, MaxBuildStates: 100})
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "Limits.MaxStates") {
		t.Errorf("MaxStates: err = %v", err)
	}
	// "*" then a run of n literals: subset states hold up to n NFA states each.
	g = glob.MustParse("/*" + strings.Repeat("P", 3000))
	_, err = Compile([]*glob.Glob{g}, Limits{MaxBuildSets: 100000})
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "Limits.MaxBuildSets") {
		t.Errorf("long run after '*': err = %v, want a MaxBuildSets limit error", err)
	}
	_, err = Compile(mustParseAll([]string{"/abc"}), Limits{MaxClasses: 2})
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "Limits.MaxClasses") {
		t.Errorf("MaxClasses: err = %v", err)
	}
}

func TestSubsumes(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"/etc/**", "/etc/*.conf", true},
		{"/etc/*.conf", "/etc/**", false},
		{"/a/*", "/a/b*", true},
		{"/a/**/b", "/a/b", true},
		{"/a/**/b", "/a/*/b", true},
		{"/a/*/b", "/a/**/b", false},
		{"/[a-z]", "/[b-c]", true},
		{"/[!a]", "/é", true},
		{"/?", "/[!a]", true},
		{"/[!a]", "/?", false},
	} {
		got, err := Subsumes(glob.MustParse(tc.a), glob.MustParse(tc.b), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("Subsumes(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

// TestUTF8Sequences checks the range splitting exhaustively on ranges whose
// ends sit around every encoding boundary: the sequences must match the
// encoding of every code point in the range and nothing else.
func TestUTF8Sequences(t *testing.T) {
	edges := []rune{0, 1, 0x2e, 0x30, 0x7f, 0x80, 0x7ff, 0x800, 0xfff, 0x1000, 0xd7ff, 0xe000, 0xffff, 0x10000, 0x3ffff, 0x40000, 0xfffff, 0x100000, 0x10ffff}
	for _, lo := range edges {
		for _, hi := range edges {
			if hi < lo {
				continue
			}
			checkSequences(t, lo, hi)
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		lo := r.Int32N(utf8.MaxRune + 1)
		hi := lo + r.Int32N(min(5000, utf8.MaxRune+1-lo))
		checkSequences(t, lo, hi)
	}
}

func checkSequences(t *testing.T, lo, hi rune) {
	t.Helper()
	var want int
	var ranges []glob.RuneRange
	for _, r := range []glob.RuneRange{{Lo: lo, Hi: min(hi, 0xd7ff)}, {Lo: max(lo, 0xe000), Hi: hi}} {
		if r.Lo <= r.Hi {
			ranges = append(ranges, r)
			want += int(r.Hi - r.Lo + 1)
		}
	}
	var seqs [][]byteRange
	for _, r := range ranges {
		seqs = utf8Sequences(r.Lo, r.Hi, seqs)
	}
	got := 0
	for _, s := range seqs {
		n := 1
		for _, br := range s {
			if br.lo > br.hi {
				t.Fatalf("%x-%x: empty byte range in %v", lo, hi, s)
			}
			n *= int(br.hi-br.lo) + 1
		}
		got += n
	}
	if got != want {
		t.Fatalf("%x-%x: sequences cover %d byte strings, want %d", lo, hi, got, want)
	}
	matches := func(enc []byte) bool {
		for _, s := range seqs {
			if len(s) != len(enc) {
				continue
			}
			ok := true
			for i, br := range s {
				ok = ok && br.lo <= enc[i] && enc[i] <= br.hi
			}
			if ok {
				return true
			}
		}
		return false
	}
	var buf [4]byte
	for _, r := range ranges {
		step := max(1, (r.Hi-r.Lo)/3000)
		for c := r.Lo; c <= r.Hi; c += step {
			if !matches(buf[:utf8.EncodeRune(buf[:], c)]) {
				t.Fatalf("%x-%x: encoding of %x not matched", lo, hi, c)
			}
		}
		if !matches(buf[:utf8.EncodeRune(buf[:], r.Hi)]) {
			t.Fatalf("%x-%x: encoding of %x not matched", lo, hi, r.Hi)
		}
	}
}

// checkMinimal verifies the DFA's shape and minimality with a brute-force
// Moore refinement: every state reachable, Dead a sink with nothing accepted,
// and no two states equivalent.
func checkMinimal(t testing.TB, d *DFA) {
	t.Helper()
	k, n := d.NumClasses, d.NumStates
	if len(d.Trans) != n*k || len(d.Accept) != n {
		t.Fatalf("bad table sizes")
	}
	for c := range k {
		if d.Trans[int(d.Dead)*k+c] != d.Dead {
			t.Fatalf("Dead is not a sink")
		}
	}
	if len(d.Accept[d.Dead]) != 0 {
		t.Fatalf("Dead accepts")
	}
	// Reachability.
	seen := make([]bool, n)
	stack := []uint32{d.Start}
	seen[d.Start] = true
	for len(stack) > 0 {
		s := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for c := range k {
			if t := d.Trans[int(s)*k+c]; !seen[t] {
				seen[t] = true
				stack = append(stack, t)
			}
		}
	}
	for s, ok := range seen {
		if !ok && uint32(s) != d.Dead {
			t.Fatalf("state %d unreachable", s)
		}
	}
	// Moore refinement from the partition by accept set.
	class := make([]int, n)
	ids := map[string]int{}
	for s := range n {
		key := fmt.Sprint(d.Accept[s])
		if _, ok := ids[key]; !ok {
			ids[key] = len(ids)
		}
		class[s] = ids[key]
	}
	count := len(ids)
	var key []byte
	for {
		sig := map[string]int{}
		next := make([]int, n)
		for s := range n {
			key = binary.AppendUvarint(key[:0], uint64(class[s]))
			for c := range k {
				key = binary.AppendUvarint(key, uint64(class[d.Trans[s*k+c]]))
			}
			id, ok := sig[string(key)]
			if !ok {
				id = len(sig)
				sig[string(key)] = id
			}
			next[s] = id
		}
		class = next
		if len(sig) == count {
			break
		}
		count = len(sig)
	}
	if count != n {
		t.Fatalf("DFA with %d states is not minimal: %d equivalence classes", n, count)
	}
	// Byte classes: no two columns equal.
	for a := range k {
		for b := a + 1; b < k; b++ {
			same := true
			for s := range n {
				same = same && d.Trans[s*k+a] == d.Trans[s*k+b]
			}
			if same && n > 1 {
				t.Fatalf("byte classes %d and %d have equal columns", a, b)
			}
		}
	}
}

// TestRandomAgainstReference compares the DFA with the reference matcher on
// random glob sets (a quick, deterministic run of what FuzzDFA does).
func TestRandomAgainstReference(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 300 {
		data := make([]byte, 64)
		for i := range data {
			data[i] = byte(r.UintN(256))
		}
		checkAgainstReference(t, data)
	}
}

func checkAgainstReference(t *testing.T, data []byte) {
	src := &byteSource{data: data}
	var gs []*glob.Glob
	for range 1 + src.intn(4) {
		if p := randomGlob(src, 0); p != "" {
			gs = append(gs, glob.MustParse(p))
		}
	}
	if len(gs) == 0 {
		return
	}
	d, err := Compile(gs, Limits{MaxStates: 2000, MaxBuildStates: 4000})
	if err != nil {
		if errors.Is(err, ErrLimit) {
			return
		}
		t.Fatalf("Compile(%v): %v", gs, err)
	}
	checkMinimal(t, d)
	paths := []string{"/", "", "/a", "/a/b"}
	for _, g := range gs {
		p := instantiate(src, g.Nodes())
		paths = append(paths, p, mutate(src, p), mutate(src, mutate(src, p)))
	}
	for _, p := range paths {
		var want []int32
		for i, g := range gs {
			if g.Match(p) {
				want = append(want, int32(i))
			}
		}
		if got := d.Match(p); !slices.Equal(got, want) {
			t.Fatalf("globs %q: DFA.Match(%q) = %v, reference %v", gs, p, got, want)
		}
	}

	// Join mode, with two joins: OR of bits and min.
	values := make([]int32, len(gs))
	for i := range values {
		values[i] = 1 << src.intn(4)
	}
	for _, join := range []Join{func(a, b int32) int32 { return a | b }, func(a, b int32) int32 { return min(a, b) }} {
		dj, err := CompileJoin(gs, values, join, Limits{MaxStates: 2000, MaxBuildStates: 4000})
		if err != nil {
			if errors.Is(err, ErrLimit) {
				continue
			}
			t.Fatalf("CompileJoin(%v): %v", gs, err)
		}
		checkMinimal(t, dj)
		for _, p := range paths {
			var want []int32
			for i, g := range gs {
				if g.Match(p) {
					if want == nil {
						want = []int32{values[i]}
					} else {
						want[0] = join(want[0], values[i])
					}
				}
			}
			if got := dj.Match(p); !slices.Equal(got, want) {
				t.Fatalf("globs %q values %v: join DFA.Match(%q) = %v, want %v", gs, values, p, got, want)
			}
		}
	}
}

// TestJoinContainsBlowUp: globs that stay matched multiply the states of
// accept sets (2^n), but not of joined values.
func TestJoinContainsBlowUp(t *testing.T) {
	var pats []string
	var values []int32
	for i := range 40 {
		pats = append(pats, fmt.Sprintf("/**/%s%d/**", words[i%len(words)], i))
		values = append(values, 1<<(i%4))
	}
	gs := mustParseAll(pats)
	if _, err := Compile(gs, Limits{MaxStates: 20000}); !errors.Is(err, ErrLimit) {
		t.Fatalf("accept sets of 40 /**/x/** globs: err = %v, want a limit error", err)
	}
	or := func(a, b int32) int32 { return a | b }
	d, err := CompileJoin(gs, values, or, Limits{MaxStates: 20000})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("40 /**/x/** globs, OR of 4 bits: %v", d.Stats())
	for path, want := range map[string][]int32{
		"/a/app0/x":          {1},
		"/a/app0/x/bin1/y":   {3},
		"/bin1/app0/":        {3},
		"/a/b":               nil,
		"/cache2/config3/z/": {12},
	} {
		if got := d.Match(path); !slices.Equal(got, want) {
			t.Errorf("Match(%q) = %v, want %v", path, got, want)
		}
	}
}

func TestCompileJoinErrors(t *testing.T) {
	gs := mustParseAll([]string{"/a"})
	if _, err := CompileJoin(gs, nil, func(a, b int32) int32 { return a }, Limits{}); err == nil {
		t.Error("no error for missing values")
	}
	if _, err := CompileJoin(gs, []int32{1}, nil, Limits{}); err == nil {
		t.Error("no error for nil join")
	}
}

func FuzzDFA(f *testing.F) {
	f.Add([]byte("\x02\x05\x01\x03\x07\x0e\x02\x01"))
	f.Add([]byte("\x03\x04\x0c\x0e\x02\x05\x0b\x00\x01\x0d\x03\x06\x07"))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkAgainstReference(t, data)
	})
}

// TestTypicalStats prints the figures for 1,000 typical globs and a
// 10,000-rule policy (run with -v).
func TestTypicalStats(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a 10,000-rule policy")
	}
	for _, tc := range []struct {
		name string
		pats []string
	}{
		{"1000 typical globs", typicalGlobs(rand.New(rand.NewPCG(1, 1)), 1000)},
		{"100-rule policy", policyGlobs(rand.New(rand.NewPCG(2, 2)), 100)},
		{"1000-rule policy", policyGlobs(rand.New(rand.NewPCG(2, 2)), 1000)},
		{"10000-rule policy", policyGlobs(rand.New(rand.NewPCG(2, 2)), 10000)},
	} {
		d, err := Compile(mustParseAll(tc.pats), Limits{})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		t.Logf("%s: %v", tc.name, d.Stats())
		// Every literal rule must match its own path.
		for i, p := range tc.pats {
			if g := glob.MustParse(p); !strings.ContainsAny(p, "*?[{") {
				lit, _ := g.Literal()
				if !slices.Contains(d.Match(lit), int32(i)) {
					t.Fatalf("%s: rule %d %q does not match its own path", tc.name, i, p)
				}
			}
		}
	}
}

// denyGlobs are globs that a hardened profile adds everywhere: they stay
// matched once they match, which multiplies accept sets.
var denyGlobs = []string{"/**/.ssh/**", "/**/.git/**", "/**/*.pem", "/**/.gnupg/**", "/**/id_rsa*", "/**/.aws/**", "/**/*.key", "/**/.netrc"}

// permissionValues gives each rule a permission bit mask (the kind of value a
// policy compiler joins with OR): allow rules r, rw, rx or rwx; deny globs
// set bit 8.
func permissionValues(r *rand.Rand, pats []string) []int32 {
	vals := make([]int32, len(pats))
	for i, p := range pats {
		vals[i] = []int32{1, 3, 5, 7}[r.IntN(4)]
		if slices.Contains(denyGlobs, p) {
			vals[i] = 1 << 8
		}
	}
	return vals
}

func TestJoinStats(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a 10,000-rule policy")
	}
	or := func(a, b int32) int32 { return a | b }
	pats := append(policyGlobs(rand.New(rand.NewPCG(2, 2)), 10000), denyGlobs...)
	gs := mustParseAll(pats)
	vals := permissionValues(rand.New(rand.NewPCG(3, 3)), pats)
	d, err := CompileJoin(gs, vals, or, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("10000-rule policy + %d deny globs, OR of permission bits: %v", len(denyGlobs), d.Stats())
	for i, p := range pats {
		lit, ok := gs[i].Literal()
		if !ok {
			continue
		}
		if got := d.Match(lit); len(got) != 1 || got[0]&vals[i] != vals[i] {
			t.Fatalf("rule %d %q: Match = %v, want a value including %d", i, p, got, vals[i])
		}
	}
	for _, p := range []string{"/home/alice/.ssh/id_ed25519", "/etc/ssl/private/server.key", "/src/x/.git/config"} {
		if got := d.Match(p); len(got) != 1 || got[0]&(1<<8) == 0 {
			t.Errorf("Match(%q) = %v, want the deny bit", p, got)
		}
	}
}

func BenchmarkCompileJoin10000RulesDeny(b *testing.B) {
	pats := append(policyGlobs(rand.New(rand.NewPCG(2, 2)), 10000), denyGlobs...)
	gs := mustParseAll(pats)
	vals := permissionValues(rand.New(rand.NewPCG(3, 3)), pats)
	or := func(a, b int32) int32 { return a | b }
	start := cpuTime()
	var d *DFA
	for b.Loop() {
		var err error
		if d, err = CompileJoin(gs, vals, or, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(d.NumStates), "states")
	b.ReportMetric(float64(d.NumClasses), "classes")
}

func BenchmarkCompile1000Globs(b *testing.B) {
	benchCompile(b, mustParseAll(typicalGlobs(rand.New(rand.NewPCG(1, 1)), 1000)))
}

func benchPolicy(b *testing.B, n int) {
	benchCompile(b, mustParseAll(policyGlobs(rand.New(rand.NewPCG(2, 2)), n)))
}

// benchCompile reports, besides wall time, the CPU time per compile
// (cpu-ms/op; it includes the garbage collector's work on other threads),
// because the machine's cores are shared with other work.
func benchCompile(b *testing.B, gs []*glob.Glob) {
	var d *DFA
	start := cpuTime()
	for b.Loop() {
		var err error
		if d, err = Compile(gs, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(d.NumStates), "states")
	b.ReportMetric(float64(d.NumClasses), "classes")
}

func BenchmarkCompile100Rules(b *testing.B)   { benchPolicy(b, 100) }
func BenchmarkCompile1000Rules(b *testing.B)  { benchPolicy(b, 1000) }
func BenchmarkCompile10000Rules(b *testing.B) { benchPolicy(b, 10000) }

func BenchmarkMatch(b *testing.B) {
	d, err := Compile(mustParseAll(typicalGlobs(rand.New(rand.NewPCG(1, 1)), 1000)), Limits{})
	if err != nil {
		b.Fatal(err)
	}
	paths := []string{"/usr/lib/x86_64-linux-gnu/libc.so.6", "/etc/ssl/certs/ca-certificates.crt",
		"/home/alice/.config/app12/settings.json", "/proc/self/status", "/nonexistent/path/that/dies/early"}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		d.Match(paths[i%len(paths)])
	}
}

func TestStats(t *testing.T) {
	d, err := Compile(mustParseAll([]string{"/ab", "/a*"}), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	// States: start, "/", "/a" (accepts 1), "/ab" (accepts 0 and 1), "/a" then
	// other bytes (accepts 1), Dead. Classes: '/', 'a', 'b', the rest.
	want := Stats{States: 6, Classes: 4, AcceptStates: 3, AcceptSets: 2, CellBytes: 2, TableBytes: 6*4*2 + 256}
	if diff := cmp.Diff(want, d.Stats()); diff != "" {
		t.Errorf("Stats (-want +got):\n%s", diff)
	}
	if d.Classes['/'] == d.Classes['a'] || d.Classes['c'] != d.Classes[0xff] {
		t.Errorf("classes: %v", d.Classes)
	}
}

// FuzzDFAPattern compares the DFA with the reference matcher on arbitrary
// pattern text (FuzzDFA generates its globs; this reaches what the generator
// does not write: any class, escape or byte).
func FuzzDFAPattern(f *testing.F) {
	cases, err := globtest.Load("../../lang/glob/testdata/match.txt")
	if err != nil {
		f.Fatal(err)
	}
	for _, c := range cases {
		f.Add(c.Glob, c.Path, []byte{byte(len(c.Path))})
	}
	f.Fuzz(func(t *testing.T, pattern, path string, choices []byte) {
		g, err := glob.Parse(pattern)
		if err != nil {
			return
		}
		d, err := Compile([]*glob.Glob{g}, Limits{MaxStates: 2000, MaxBuildStates: 4000})
		if err != nil {
			if errors.Is(err, ErrLimit) {
				return
			}
			t.Fatalf("Compile(%q): %v", pattern, err)
		}
		src := &byteSource{data: choices}
		inst := instantiate(src, g.Nodes())
		for _, p := range []string{path, inst, mutate(src, inst)} {
			if got, want := len(d.Match(p)) > 0, g.Match(p); got != want {
				t.Fatalf("%q: DFA.Match(%q) = %v, reference %v", pattern, p, got, want)
			}
		}
	})
}
