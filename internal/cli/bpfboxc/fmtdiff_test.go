package bpfboxc

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// applyUnified applies a diff made by unifiedDiff to a, checking that every
// context and deleted line matches.
func applyUnified(t *testing.T, a, diff string) string {
	t.Helper()
	if diff == "" {
		return a
	}
	src := splitLines(a)
	lines := strings.SplitAfter(diff, "\n")
	var out []string
	next := 0 // next line of src to copy
	i := 3    // skip the diff, ---, +++ headers
	for i < len(lines) && lines[i] != "" {
		h := lines[i]
		var aStart int
		if _, err := fmt.Sscanf(h, "@@ -%d", &aStart); err != nil {
			t.Fatalf("bad hunk header %q", h)
		}
		rng := strings.Fields(h)[1][1:]
		if n, _, ok := strings.Cut(rng, ","); ok && strings.HasSuffix(rng, ",0") {
			aStart, _ = strconv.Atoi(n)
			aStart++ // an empty range names the line before
		}
		for next < aStart-1 {
			out = append(out, src[next])
			next++
		}
		i++
		for i < len(lines) && lines[i] != "" && !strings.HasPrefix(lines[i], "@@") {
			l := lines[i]
			body := l[1:]
			if i+1 < len(lines) && strings.HasPrefix(lines[i+1], `\ No newline`) {
				body = strings.TrimSuffix(body, "\n")
				i++
			}
			switch l[0] {
			case ' ', '-':
				if next >= len(src) || src[next] != body {
					t.Fatalf("line %d: diff expects %q, source has %q", next+1, body, src[min(next, len(src)-1)])
				}
				if l[0] == ' ' {
					out = append(out, body)
				}
				next++
			case '+':
				out = append(out, body)
			default:
				t.Fatalf("bad diff line %q", l)
			}
			i++
		}
	}
	out = append(out, src[next:]...)
	return strings.Join(out, "")
}

func TestUnifiedDiff(t *testing.T) {
	cases := []struct{ a, b, want string }{
		{"x\n", "x\n", ""},
		{"a\nb\nc\n", "a\nB\nc\n", "diff f.orig f\n--- f.orig\n+++ f\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"},
		{"a", "a\n", "diff f.orig f\n--- f.orig\n+++ f\n@@ -1 +1 @@\n-a\n\\ No newline at end of file\n+a\n"},
		{"", "a\n", "diff f.orig f\n--- f.orig\n+++ f\n@@ -0,0 +1 @@\n+a\n"},
		{"a\n", "", "diff f.orig f\n--- f.orig\n+++ f\n@@ -1 +0,0 @@\n-a\n"},
	}
	for _, c := range cases {
		got := unifiedDiff("f.orig", "f", []byte(c.a), []byte(c.b))
		if got != c.want {
			t.Errorf("diff %q %q:\n got %q\nwant %q", c.a, c.b, got, c.want)
		}
		if back := applyUnified(t, c.a, got); back != c.b {
			t.Errorf("applying the diff of %q gives %q, want %q", c.a, back, c.b)
		}
	}
}

// TestUnifiedDiffRandom: for random edits, the diff applies and gives b.
func TestUnifiedDiffRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 2000; n++ {
		a := randomLines(r, r.IntN(40))
		b := mutate(r, a)
		d := unifiedDiff("f.orig", "f", []byte(a), []byte(b))
		if got := applyUnified(t, a, d); got != b {
			t.Fatalf("case %d: applying\n%s\nto %q gives %q, want %q", n, d, a, got, b)
		}
		if (d == "") != (a == b) {
			t.Fatalf("case %d: empty diff %v for a==b %v", n, d == "", a == b)
		}
	}
}

func randomLines(r *rand.Rand, n int) string {
	var b strings.Builder
	for range n {
		fmt.Fprintf(&b, "l%d\n", r.IntN(6))
	}
	if n > 0 && r.IntN(4) == 0 {
		return strings.TrimSuffix(b.String(), "\n")
	}
	return b.String()
}

func mutate(r *rand.Rand, a string) string {
	lines := splitLines(a)
	for range r.IntN(6) {
		switch k := r.IntN(3); {
		case k == 0 && len(lines) > 0:
			i := r.IntN(len(lines))
			lines = append(lines[:i], lines[i+1:]...)
		case k == 1:
			i := r.IntN(len(lines) + 1)
			lines = append(lines[:i], append([]string{fmt.Sprintf("n%d\n", r.IntN(6))}, lines[i:]...)...)
		case len(lines) > 0:
			lines[r.IntN(len(lines))] = fmt.Sprintf("m%d\n", r.IntN(6))
		}
	}
	// Keep the "no newline" only on the last line.
	for i := 0; i+1 < len(lines); i++ {
		if !strings.HasSuffix(lines[i], "\n") {
			lines[i] += "\n"
		}
	}
	return strings.Join(lines, "")
}

// TestUnifiedDiffLarge: past maxEditDistance the diff is a plain
// replacement, still correct.
func TestUnifiedDiffLarge(t *testing.T) {
	var a, b strings.Builder
	for i := range 3 * maxEditDistance {
		fmt.Fprintf(&a, "a%d\n", i)
		fmt.Fprintf(&b, "b%d\n", i)
	}
	d := unifiedDiff("f.orig", "f", []byte(a.String()), []byte(b.String()))
	if got := applyUnified(t, a.String(), d); got != b.String() {
		t.Fatal("large diff does not apply")
	}
}
