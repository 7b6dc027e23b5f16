package dfa

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"unicode/utf8"

	"github.com/bpfbox/bpfbox/lang/glob"
)

// Generators of realistic policies (for benchmarks and Stats) and of random
// small globs and paths (for the property tests).

var (
	words = []string{"app", "bin", "cache", "config", "data", "doc", "firefox", "git", "gnome", "include", "lib",
		"local", "log", "man", "nginx", "node", "python3", "share", "ssh", "ssl", "systemd", "themes", "x86_64-linux-gnu"}
	users = []string{"alice", "bob", "carol", "dave"}
	exts  = []string{".conf", ".so", ".py", ".json", ".txt", ".h", ".png", ".service", ".pem", ""}
)

func word(r *rand.Rand) string { return words[r.IntN(len(words))] }

// typicalGlobs returns n globs of the shapes real profiles use, about half of
// them literal paths.
func typicalGlobs(r *rand.Rand, n int) []string {
	out := make([]string, 0, n)
	for len(out) < n {
		i := len(out)
		var p string
		switch r.IntN(20) {
		case 0, 1, 2, 3, 4, 5, 6, 7, 8, 9:
			p = literalPath(r, i)
		case 10:
			p = fmt.Sprintf("/usr/lib/%s/**.so*", word(r))
		case 11:
			p = fmt.Sprintf("/etc/%s/*%s", word(r), exts[r.IntN(len(exts))])
		case 12:
			p = fmt.Sprintf("/home/*/.config/%s%d/**", word(r), i)
		case 13:
			p = fmt.Sprintf("/proc/self/{maps,status,fd/*,task/*/stat%d}", i%7)
		case 14:
			p = fmt.Sprintf("/usr/share/%s/**", word(r))
		case 15:
			p = fmt.Sprintf("/dev/tty[0-9]*%d", i%5)
		case 16:
			p = fmt.Sprintf("/var/log/%s%d/*.log", word(r), i)
		case 17:
			p = fmt.Sprintf("/{usr/,}lib/%s/%s%d{,.*}", word(r), word(r), i)
		case 18:
			p = fmt.Sprintf("/sys/devices/**/%s/*", word(r))
		case 19:
			p = fmt.Sprintf("/opt/%s-?.?/bin/*", word(r))
		}
		out = append(out, p)
	}
	return out
}

func literalPath(r *rand.Rand, i int) string {
	switch r.IntN(4) {
	case 0:
		return fmt.Sprintf("/usr/lib/%s/lib%s%d.so.%d", word(r), word(r), i, r.IntN(9))
	case 1:
		return fmt.Sprintf("/etc/%s/%s%d%s", word(r), word(r), i, exts[r.IntN(len(exts))])
	case 2:
		return fmt.Sprintf("/usr/share/%s/%s/%s%d%s", word(r), word(r), word(r), i, exts[r.IntN(len(exts))])
	default:
		return fmt.Sprintf("/home/%s/%s/%s%d", users[r.IntN(len(users))], word(r), word(r), i)
	}
}

// policyGlobs returns a policy of n rules: literal paths and about 3% globs.
func policyGlobs(r *rand.Rand, n int) []string {
	out := make([]string, 0, n)
	for len(out) < n {
		if r.IntN(100) < 3 {
			out = append(out, typicalGlobs(r, 1)...)
			continue
		}
		out = append(out, literalPath(r, len(out)))
	}
	return out
}

func mustParseAll(ps []string) []*glob.Glob {
	gs := make([]*glob.Glob, len(ps))
	for i, p := range ps {
		gs[i] = glob.MustParse(p)
	}
	return gs
}

// byteSource turns fuzz input into choices; it yields zeros when exhausted.
type byteSource struct {
	data []byte
	pos  int
}

func (b *byteSource) intn(n int) int {
	if b.pos >= len(b.data) {
		return 0
	}
	v := int(b.data[b.pos])
	b.pos++
	return v % n
}

var genAtoms = []string{"a", "b", "/", "é", ".", "*", "**", "?", "[a-c]", "[!a]", "[é-ü]", "\\*", "/**/", "x"}

// randomGlob makes a valid glob from choices, or "" when the result does not parse.
func randomGlob(b *byteSource, depth int) string {
	var sb strings.Builder
	sb.WriteString("/")
	sb.WriteString(randomSeq(b, depth))
	p := sb.String()
	if _, err := glob.Parse(p); err != nil {
		return ""
	}
	return p
}

func randomSeq(b *byteSource, depth int) string {
	var sb strings.Builder
	n := b.intn(6)
	for range n {
		k := b.intn(len(genAtoms) + 1)
		if k == len(genAtoms) {
			if depth > 2 {
				continue
			}
			sb.WriteString("{")
			alts := 1 + b.intn(3)
			for i := range alts {
				if i > 0 {
					sb.WriteString(",")
				}
				sb.WriteString(randomSeq(b, depth+1))
			}
			sb.WriteString("}")
			continue
		}
		sb.WriteString(genAtoms[k])
	}
	return sb.String()
}

// instantiate returns a path that g should match, built from its nodes.
func instantiate(b *byteSource, nodes []glob.Node) string {
	var sb strings.Builder
	pieces := []string{"", "a", "b", "/", "é", "x/y", "\xff", "ab/"}
	for _, n := range nodes {
		switch n.Kind {
		case glob.KindLiteral:
			sb.WriteString(n.Text)
		case glob.KindStar:
			for range b.intn(3) {
				sb.WriteString([]string{"a", "é", "b", "\xff"}[b.intn(4)])
			}
		case glob.KindAnyPath:
			sb.WriteString(pieces[b.intn(len(pieces))])
		case glob.KindAnyDirs:
			if b.intn(2) == 1 {
				sb.WriteString([]string{"a/", "b/c/", "/", "é/"}[b.intn(4)])
			}
		case glob.KindClass:
			r := n.Ranges[b.intn(len(n.Ranges))]
			c := r.Lo + rune(b.intn(int(min(r.Hi-r.Lo+1, 200))))
			if !utf8.ValidRune(c) {
				c = r.Lo
			}
			sb.WriteRune(c)
		case glob.KindAlt:
			sb.WriteString(instantiate(b, n.Alts[b.intn(len(n.Alts))]))
		}
	}
	return sb.String()
}

// mutate edits a path a little, to find near misses.
func mutate(b *byteSource, p string) string {
	if p == "" {
		return "/"
	}
	i := b.intn(len(p))
	switch b.intn(4) {
	case 0:
		return p[:i] + p[i+1:]
	case 1:
		return p[:i] + []string{"/", "a", "é", "\xc3"}[b.intn(4)] + p[i:]
	case 2:
		return p[:i] + "b" + p[min(i+1, len(p)):]
	default:
		return p + []string{"/", "a", "/a"}[b.intn(3)]
	}
}
