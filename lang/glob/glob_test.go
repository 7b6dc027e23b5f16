package glob_test

import (
	"os"
	"strings"
	"testing"

	"github.com/bpfbox/bpfbox/lang/glob"
	"github.com/bpfbox/bpfbox/lang/glob/globtest"
)

func TestMatchTable(t *testing.T) {
	cases, err := globtest.Load("testdata/match.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 200 {
		t.Errorf("match table has %d cases, want at least 200", len(cases))
	}
	for _, c := range cases {
		g, err := glob.Parse(c.Glob)
		if err != nil {
			t.Errorf("%s: Parse(%q): %v", c.Where, c.Glob, err)
			continue
		}
		if got := g.Match(c.Path); got != c.Match {
			t.Errorf("%s: %q.Match(%q) = %v, want %v", c.Where, c.Glob, c.Path, got, c.Match)
		}
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		pattern  string
		offset   int
		length   int
		contains string
	}{
		{"", 0, 0, "empty glob"},
		{"etc/passwd", 0, 1, "absolute"},
		{"*", 0, 1, "absolute"},
		{"{/a,/b}", 0, 1, "absolute"},
		{"//", 1, 1, "empty path component"},
		{"/a//b", 3, 1, "empty path component"},
		{"/a/\\/b", 3, 2, "empty path component"},
		{"/a/**//b", 6, 1, "empty path component"},
		{"/{a/,b}/c", 7, 1, "empty path component"},
		{"/a/{/b,c}", 4, 1, "empty path component"},
		{"/a\x00b", 2, 1, "NUL"},
		{"/a\\\x00", 3, 1, "NUL"},
		{"/a/.", 3, 1, `"." component`},
		{"/a/./b", 3, 1, `"." component`},
		{"/a/../b", 3, 2, `".." component`},
		{"/..", 1, 2, `".." component`},
		{"/a/\\./b", 3, 2, `"." component`},
		{"/a/***", 3, 3, "'***' is ambiguous"},
		{"/a****b", 2, 4, "'***' is ambiguous"},
		{"/a/[bc", 3, 3, "unterminated class"},
		{"/a/[", 3, 1, "unterminated class"},
		{"/a/[!", 3, 2, "unterminated class"},
		{"/a/[]", 3, 2, "empty class"},
		{"/a/[!]", 3, 3, "empty class"},
		{"/a/[z-a]", 4, 3, `"z-a" is out of order`},
		{"/a/[0-9b-a]", 7, 3, `"b-a" is out of order`},
		{"/x[!/]y", 4, 1, "'/' in a class"},
		{"/x[a\\/]y", 4, 2, "'/' in a class"},
		{"/x[a-/]y", 5, 1, "'/' in a class"},
		{"/x[\xff]", 3, 1, "not valid UTF-8"},
		{"/x[\x00]", 3, 1, "NUL"},
		{"/x[a\\", 4, 1, "trailing '\\'"},
		{"/a{b,c", 2, 1, "unterminated alternation"},
		{"/a{b,{c,d}", 2, 1, "unterminated alternation"},
		{"/a{", 2, 1, "unterminated alternation"},
		{"/a{}", 2, 2, "empty alternation"},
		{"/a}", 2, 1, "unmatched '}'"},
		{"/a{b}c}", 6, 1, "unmatched '}'"},
		{"/a\\", 2, 1, "trailing '\\'"},
		{"/" + strings.Repeat("{", 40) + "a" + strings.Repeat("}", 40), 33, 1, "nested deeper"},
		{"/" + strings.Repeat("a", glob.MaxLen), glob.MaxLen, 1, "longer than"},
		{"/a/{b,[c}", 6, 3, "unterminated class"},
	} {
		g, err := glob.Parse(tc.pattern)
		if err == nil {
			t.Errorf("Parse(%q) = %q, want an error", tc.pattern, g)
			continue
		}
		e, ok := err.(*glob.Error)
		if !ok {
			t.Errorf("Parse(%q) error %T, want *glob.Error", tc.pattern, err)
			continue
		}
		if e.Offset != tc.offset || e.Len != tc.length || !strings.Contains(e.Msg, tc.contains) {
			t.Errorf("Parse(%q) = offset %d len %d %q, want offset %d len %d containing %q",
				tc.pattern, e.Offset, e.Len, e.Msg, tc.offset, tc.length, tc.contains)
		}
		if e.Offset < 0 || e.Len < 0 || e.Offset+e.Len > len(tc.pattern) {
			t.Errorf("Parse(%q): span %d+%d out of range", tc.pattern, e.Offset, e.Len)
		}
	}
}

func TestValid(t *testing.T) {
	for _, p := range []string{
		"/", "/a/", "/a,b", "/a]", "/...", "/.a", "/a.", "/a/..b", "/{usr/,}lib", "/a/{,b}",
		"/{a,}", "/[-]", "/[a-]", "/[!-]", "/[^a]", "/\\}", "/a{b,c}/d", "/a/**", "/**", "/**/", "/a/**/b",
		"/\xff\xfe", "/é/[é-ü]", "/a/{.,b}x", "/a{/**,}",
	} {
		if _, err := glob.Parse(p); err != nil {
			t.Errorf("Parse(%q): %v", p, err)
		}
	}
}

func TestLiteral(t *testing.T) {
	for _, tc := range []struct {
		pattern, lit string
		ok           bool
	}{
		{"/etc/passwd", "/etc/passwd", true},
		{"/a\\*b", "/a*b", true},
		{"/a\\{b\\}", "/a{b}", true},
		{"/a,b]", "/a,b]", true},
		{"/a/", "/a/", true},
		{"/a/*", "", false},
		{"/a/{b}", "", false},
		{"/a?", "", false},
		{"/a/[b]", "", false},
	} {
		lit, ok := glob.MustParse(tc.pattern).Literal()
		if lit != tc.lit || ok != tc.ok {
			t.Errorf("%q.Literal() = %q, %v; want %q, %v", tc.pattern, lit, ok, tc.lit, tc.ok)
		}
	}
}

func TestString(t *testing.T) {
	for _, p := range []string{"/a/{b,c}/**", "/x\\*"} {
		if got := glob.MustParse(p).String(); got != p {
			t.Errorf("String() = %q, want %q", got, p)
		}
	}
}

func TestSubsumes(t *testing.T) {
	for _, tc := range []struct {
		g, other string
		want     bool
	}{
		{"/etc/**", "/etc/passwd", true},
		{"/etc/**", "/etc/ssh/*.conf", true},
		{"/etc/**", "/etc/*", true},
		{"/etc/**", "/etc", false},
		{"/etc/**", "/etcx/*", false},
		{"/**", "/a/{b,c}", true},
		{"/etc/*.conf", "/etc/a.conf", true},
		{"/etc/*.conf", "/etc/a/b.conf", false},
		{"/a/{b,c}", "/a/{b,c}", true},
		{"/a/*", "/a/b*", false}, // true, but not decided cheaply: false means "not known"
		{"/etc/passwd", "/etc/*", false},
	} {
		if got := glob.MustParse(tc.g).Subsumes(glob.MustParse(tc.other)); got != tc.want {
			t.Errorf("%q.Subsumes(%q) = %v, want %v", tc.g, tc.other, got, tc.want)
		}
	}
}

// TestMatchLongPath checks that the memoised matcher stays fast on a
// pathological glob and a long path.
func TestMatchLongPath(t *testing.T) {
	g := glob.MustParse("/" + strings.Repeat("**a", 20) + "b")
	path := "/" + strings.Repeat("a", 4000)
	if g.Match(path) {
		t.Errorf("matched a path without b")
	}
}

func FuzzParse(f *testing.F) {
	seeds, err := os.ReadFile("testdata/match.txt")
	if err != nil {
		f.Fatal(err)
	}
	for _, line := range strings.Split(string(seeds), "\n") {
		if p, ok := strings.CutPrefix(line, "glob "); ok {
			f.Add(p, "/a/b")
		}
	}
	f.Fuzz(func(t *testing.T, pattern, path string) {
		g, err := glob.Parse(pattern)
		if err != nil {
			e, ok := err.(*glob.Error)
			if !ok {
				t.Fatalf("error %T", err)
			}
			if e.Offset < 0 || e.Len < 0 || e.Offset+e.Len > len(pattern) || e.Msg == "" {
				t.Fatalf("Parse(%q): bad error span %d+%d %q", pattern, e.Offset, e.Len, e.Msg)
			}
			return
		}
		if g.String() != pattern {
			t.Fatalf("String() = %q", g.String())
		}
		if lit, ok := g.Literal(); ok && !g.Match(lit) {
			t.Fatalf("%q does not match its own literal %q", pattern, lit)
		}
		g.Match(path)
	})
}

func TestMatchManyStars(t *testing.T) {
	g := glob.MustParse("/" + strings.Repeat("*a", 200) + "/**b{**/,}c")
	path := "/" + strings.Repeat("a", 4000)
	if g.Match(path) {
		t.Errorf("matched a path without b")
	}
}
