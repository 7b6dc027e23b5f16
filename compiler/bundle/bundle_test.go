package bundle

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// trieDFA builds a DFA that accepts exactly the given literal paths; state
// accepts[i] gets the range returned by acc(i). Enough for format tests,
// which must not depend on the glob compiler.
func trieDFA(paths []string, acc func(i int) Range) DFA {
	var d DFA
	classOf := map[byte]uint8{}
	for _, p := range paths {
		for i := 0; i < len(p); i++ {
			if _, ok := classOf[p[i]]; !ok {
				classOf[p[i]] = uint8(len(classOf) + 1)
			}
		}
	}
	for c, cls := range classOf {
		d.Classes[c] = cls
	}
	d.NumClasses = uint32(len(classOf) + 1)
	// state 0 dead, state 1 start
	type node struct {
		next   map[uint8]uint32
		accept Range
	}
	nodes := []*node{{next: map[uint8]uint32{}}, {next: map[uint8]uint32{}}}
	for i, p := range paths {
		s := uint32(1)
		for j := 0; j < len(p); j++ {
			cls := classOf[p[j]]
			n, ok := nodes[s].next[cls]
			if !ok {
				n = uint32(len(nodes))
				nodes = append(nodes, &node{next: map[uint8]uint32{}})
				nodes[s].next[cls] = n
			}
			s = n
		}
		nodes[s].accept = acc(i)
	}
	d.NumStates = uint32(len(nodes))
	d.Start, d.Dead = 1, 0
	d.Trans = make([]uint32, int(d.NumStates)*int(d.NumClasses))
	d.Accept = make([]Range, d.NumStates)
	for s, n := range nodes {
		for cls, t := range n.next {
			d.Trans[uint32(s)*d.NumClasses+uint32(cls)] = t
		}
		d.Accept[s] = n.accept
	}
	return d
}

// sampleBundle has two profiles, every rule kind, both scope kinds, and an
// fs state with two entries.
func sampleBundle() *Bundle {
	b := &Bundle{
		CompilerVersion: "test",
		Sources: []Source{
			{Name: "login.bbx", Size: 10, Digest: sha256.Sum256([]byte("login"))},
			{Name: "helper.bbx", Size: 11, Digest: sha256.Sum256([]byte("helper"))},
		},
		Scopes: []Scope{
			{Kind: 1, Symbol: "check_password", Profile: 0},
			{Kind: 1, Symbol: "crypt", Lib: "/lib/libcrypt.so.1", Profile: None},
			{Kind: 2, Symbol: "do_sys_openat2", Profile: None},
		},
		Rules: []Rule{
			{Kind: 1, Action: 1, Source: 0, Line: 3, Col: 1, Text: `fs("/etc/passwd", read)`, Object: "/etc/passwd", Modes: 1, Target: None},
			{Kind: 1, Action: 1, Scope: 1, Source: 0, Line: 5, Col: 5, Text: `fs("/etc/shadow", read|write)`, Object: "/etc/shadow", Modes: 3, Target: None},
			{Kind: 1, Action: 3, Flags: FlagAudit, Source: 0, Line: 6, Col: 1, Object: "/etc/shadow", Modes: 2, Target: None},
			{Kind: 1, Action: 1, Flags: FlagTransition, Source: 0, Line: 7, Col: 1, Object: "/usr/bin/helper", Modes: 8, Target: None},
			{Kind: 2, Action: 2, Source: 0, Line: 8, Col: 1, Modes: 4, Arg: 2, Target: None},
			{Kind: 3, Action: 1, Scope: 3, Source: 0, Line: 9, Col: 1, Object: "/usr/bin/helper", Modes: 1 << 15, Arg: 5, Target: 1},
			{Kind: 4, Action: 1, Source: 0, Line: 10, Col: 1, Modes: 1, Arg: 2, Target: None},
			{Kind: 5, Action: 3, Scope: 2, Source: None, Modes: 1 << 21, Target: None},
			{Kind: 1, Action: 1, Source: 1, Line: 2, Col: 1, Object: "/tmp/x", Modes: 1, Target: None},
		},
		Profiles: []Profile{
			{Pattern: "/usr/bin/mylogin", Source: 0, Line: 1, Col: 1, Flags: ProfileLiteral, Rules: Range{0, 8}, FSDFA: 0,
				Net: Range{4, 1}, Signal: Range{5, 1}, Ptrace: Range{6, 1}, Cap: Range{7, 1}},
			{Pattern: "/usr/bin/help*", Source: 1, Line: 1, Col: 1, Flags: ProfileComplain | ProfileTainted, Rules: Range{8, 1}, FSDFA: 1},
		},
		ExecDFA: 2,
	}
	for i, r := range b.Rules {
		b.Entries = append(b.Entries, Entry{Rule: uint32(i), Scope: r.Scope, Action: r.Action, Flags: r.Flags,
			Arg: r.Arg, Target: r.Target, Modes: EntryModes(r.Kind, r.Modes)})
	}
	// fs entries: 0 passwd; 1,2 shadow; 3 helper. Reorder so ranges are contiguous.
	fsRanges := []Range{{0, 1}, {1, 2}, {3, 1}}
	b.DFAs = append(b.DFAs,
		trieDFA([]string{"/etc/passwd", "/etc/shadow", "/usr/bin/helper"}, func(i int) Range { return fsRanges[i] }),
		trieDFA([]string{"/tmp/x"}, func(int) Range { return Range{8, 1} }),
		trieDFA([]string{"/usr/bin/mylogin", "/usr/bin/helper"}, func(i int) Range { return Range{uint32(i), 1} }),
	)
	return b
}

func mustEncode(t testing.TB, b *Bundle) []byte {
	t.Helper()
	data, err := Encode(b)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

var ignoreDigest = cmpopts.IgnoreFields(Bundle{}, "Digest")

func TestRoundTrip(t *testing.T) {
	b := sampleBundle()
	data := mustEncode(t, b)
	got, err := Decode(data)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if diff := cmp.Diff(b, got, ignoreDigest); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if got.Digest != Sum(data) || got.Digest == ([32]byte{}) {
		t.Errorf("digest %x, header says %x", got.Digest, Sum(data))
	}
	again := mustEncode(t, got)
	if !bytes.Equal(data, again) {
		t.Errorf("re-encoding a decoded bundle changed its bytes")
	}
}

func TestEncodeDeterministic(t *testing.T) {
	a, b := mustEncode(t, sampleBundle()), mustEncode(t, sampleBundle())
	if !bytes.Equal(a, b) {
		t.Fatal("two encodings of the same bundle differ")
	}
}

func TestWalk(t *testing.T) {
	b := sampleBundle()
	d := &b.DFAs[0]
	for path, want := range map[string]Range{
		"/etc/passwd": {0, 1}, "/etc/shadow": {1, 2}, "/usr/bin/helper": {3, 1},
		"/etc/passw": {}, "/etc/passwdx": {}, "": {}, "/nope": {},
	} {
		if got := d.Accept[d.Walk(path)]; got != want {
			t.Errorf("Walk(%q) accepts %v, want %v", path, got, want)
		}
	}
}

// TestFlipEveryByte flips each byte of a small bundle: the digest must catch
// it. Then it flips again and repairs the digest, so that the structural
// checks see the damage: the result must be an error, or a bundle that
// re-encodes and decodes to itself. Nothing may panic.
func TestFlipEveryByte(t *testing.T) {
	data := mustEncode(t, sampleBundle())
	for i := range data {
		for _, mask := range []byte{0x01, 0x80, 0xff} {
			bad := bytes.Clone(data)
			bad[i] ^= mask
			if _, err := Decode(bad); err == nil {
				t.Fatalf("byte %d ^ %#x: decoded without error", i, mask)
			}
			if i >= offDigest && i < offDigest+sha256.Size {
				continue
			}
			sum := digest(bad)
			copy(bad[offDigest:], sum[:])
			checkStable(t, bad, "byte %d ^ %#x", i, mask)
		}
	}
}

func checkStable(t *testing.T, data []byte, what string, args ...any) {
	t.Helper()
	b, err := Decode(data)
	if err != nil {
		if !errors.Is(err, ErrFormat) || !strings.HasPrefix(err.Error(), "decode bundle: ") {
			t.Fatalf("%s: error %q is not a decode-bundle format error", sprintf(what, args...), err)
		}
		return
	}
	again, err := Encode(b)
	if err != nil {
		t.Fatalf("%s: decoded, but re-encoding failed: %v", sprintf(what, args...), err)
	}
	b2, err := Decode(again)
	if err != nil {
		t.Fatalf("%s: decoded, but its re-encoding does not decode: %v", sprintf(what, args...), err)
	}
	// Encoding is canonical, so equal bytes mean equal bundles.
	if again2, err := Encode(b2); err != nil || !bytes.Equal(again, again2) {
		t.Fatalf("%s: re-encoding is not stable (err %v)", sprintf(what, args...), err)
	}
}

func TestTruncateEverywhere(t *testing.T) {
	data := mustEncode(t, sampleBundle())
	for n := 0; n < len(data); n++ {
		if _, err := Decode(data[:n]); err == nil {
			t.Fatalf("truncated to %d bytes: decoded without error", n)
		}
		short := bytes.Clone(data[:n])
		if n >= headerSize {
			le.PutUint32(short[offTotalLen:], uint32(n))
			sum := digest(short)
			copy(short[offDigest:], sum[:])
		}
		checkStable(t, short, "truncated to %d with a repaired header", n)
	}
}

func TestDecodeErrors(t *testing.T) {
	fresh := func(edit func(b *Bundle)) []byte {
		b := sampleBundle()
		edit(b)
		return mustEncode(t, b)
	}
	raw := func(edit func(data []byte)) []byte {
		data := mustEncode(t, sampleBundle())
		edit(data)
		sum := digest(data)
		copy(data[offDigest:], sum[:])
		return data
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "truncated: 0 bytes"},
		{"magic", raw(func(d []byte) { d[0] = 'X' }), "not a bpfbox bundle"},
		{"version", raw(func(d []byte) { le.PutUint16(d[offVersion:], 2) }), "format version 2 is not supported"},
		{"flags", raw(func(d []byte) { le.PutUint16(d[offFlags:], 4) }), "unknown header flags"},
		{"digest", func() []byte { d := mustEncode(t, sampleBundle()); d[len(d)-1] ^= 1; return d }(), "digest mismatch"},
		{"scope out of range", fresh(func(b *Bundle) { b.Rules[0].Scope = 9; b.Entries[0].Scope = 9 }),
			"section rules: rule 0: scope id 9 out of range (have 3)"},
		{"entry disagrees", fresh(func(b *Bundle) { b.Entries[1].Modes = 1 }), "section entries: entry 1: does not match its rule 1"},
		{"bad action", fresh(func(b *Bundle) { b.Rules[2].Action = 7; b.Entries[2].Action = 7 }), "rule 2: unknown action 7"},
		{"transition on read", fresh(func(b *Bundle) { b.Rules[0].Flags = FlagTransition; b.Entries[0].Flags = FlagTransition }),
			"rule 0: transition flag on a rule that does not grant fs exec"},
		{"transition target", fresh(func(b *Bundle) {
			b.DFAs[0].Trans[b.DFAs[0].Start*b.DFAs[0].NumClasses+1] = 99
		}), "dfa 0: state 1 class 1: target 99 out of range"},
		{"class", fresh(func(b *Bundle) { b.DFAs[1].Classes['z'] = 200 }), "dfa 1: byte 0x7a: class 200 out of range"},
		{"dead leaves", fresh(func(b *Bundle) { b.DFAs[1].Trans[1] = 1 }), "dead state 0 leaves on class 1"},
		{"entry range", fresh(func(b *Bundle) { b.DFAs[0].Accept[5] = Range{7, 9} }), "fs dfa state 5: entries 7..16 out of range"},
		{"entry of other profile", fresh(func(b *Bundle) { b.DFAs[1].Accept[b.DFAs[1].NumStates-1] = Range{0, 1} }),
			"profile 1: fs dfa state 7: entries 0..1: rules of another profile"},
		{"entry kind", fresh(func(b *Bundle) { b.Profiles[0].Net = Range{3, 1} }), "net entries: entries 3..4: not all are net entries"},
		{"exec accept", fresh(func(b *Bundle) { b.DFAs[2].Accept[3] = Range{5, 1} }), "exec dfa 2: state 3: accept {5, 1} is not a profile index"},
		{"profile rules", fresh(func(b *Bundle) { b.Profiles[1].Rules = Range{7, 2} }), "profile 1: rules 7..9 do not follow"},
		{"scope kind", fresh(func(b *Bundle) { b.Scopes[2].Kind = 3 }), "scope id 3: unknown scope kind 3"},
		{"signal target", fresh(func(b *Bundle) { b.Rules[5].Target = 4; b.Entries[5].Target = 4 }), "rule 5: target profile 4 out of range (have 2)"},
		{"fs modes", fresh(func(b *Bundle) { b.Rules[0].Modes = 1 << 20; b.Entries[0].Modes = 1 << 20 }), "rule 0: modes 0x100000 are not valid for kind 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(tt.data)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "decode bundle: ") {
				t.Errorf("error %q does not start with \"decode bundle: \"", err)
			}
		})
	}
}

func TestLimits(t *testing.T) {
	data := mustEncode(t, sampleBundle())
	lim := DefaultLimits()
	lim.MaxStates = 5
	if _, err := DecodeLimits(data, lim); err == nil || !strings.Contains(err.Error(), "states (must be 1..5)") {
		t.Errorf("MaxStates: got %v", err)
	}
	lim = DefaultLimits()
	lim.MaxSize = 100
	if _, err := DecodeLimits(data, lim); err == nil || !strings.Contains(err.Error(), "over the limit of 100") {
		t.Errorf("MaxSize: got %v", err)
	}
}

// FuzzDecode: Decode never panics, and what it accepts re-encodes stably.
// Seeds under testdata/fuzz/FuzzDecode; BPFBOX_UPDATE=1 rewrites the sample seed.
func FuzzDecode(f *testing.F) {
	data := mustEncode(f, sampleBundle())
	seed := filepath.Join("testdata", "fuzz", "FuzzDecode", "sample")
	if os.Getenv("BPFBOX_UPDATE") != "" {
		if err := os.MkdirAll(filepath.Dir(seed), 0o755); err != nil {
			f.Fatal(err)
		}
		if err := os.WriteFile(seed, []byte("go test fuzz v1\n[]byte("+quoteGo(data)+")\n"), 0o644); err != nil {
			f.Fatal(err)
		}
	}
	f.Add(data)
	f.Add(data[:headerSize])
	f.Fuzz(func(t *testing.T, in []byte) {
		// Repair the digest so the fuzzer reaches the structural checks.
		if len(in) >= headerSize {
			in = bytes.Clone(in)
			sum := digest(in)
			copy(in[offDigest:], sum[:])
		}
		checkStable(t, in, "fuzz input")
	})
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

func quoteGo(b []byte) string { return strconv.Quote(string(b)) }
