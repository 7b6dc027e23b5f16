package parser

import (
	"strings"
	"testing"
)

// BenchmarkPathological parses hostile inputs of a few hundred KB; each
// must stay linear (a quadratic case shows as seconds per op).
func BenchmarkPathological(b *testing.B) {
	cases := []struct{ name, src string }{
		{"parens", "fs" + strings.Repeat("(", 200000)},
		{"args", "fs(" + strings.Repeat("a,", 200000)},
		{"pipes", "fs(\"/a\", " + strings.Repeat("a|", 200000)},
		{"opens", strings.Repeat("{", 200000)},
		{"closes", strings.Repeat("}", 200000)},
		{"directives", strings.Repeat("#[", 200000)},
		{"idents", strings.Repeat("a ", 200000)},
		{"calls", strings.Repeat("a(\n", 200000)},
		{"junk", strings.Repeat("fs(\"/a\", read) x\n", 50000)},
		{"quotes", strings.Repeat("\"", 200001)},
		{"comments", strings.Repeat("/*\n", 200000)},
		{"deepjunk", strings.Repeat("{ x\n", 200000)},
		{"dirjunk", strings.Repeat("#[a] ) ", 100000)},
		{"nul", strings.Repeat("\x00a", 200000)},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			src := []byte(c.src)
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				Parse(c.name, src)
			}
		})
	}
}
