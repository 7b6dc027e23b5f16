package glob

import "unicode/utf8"

// The reference matcher: the parsed glob flattened into a program of
// instructions, each with the index of the instruction that follows it (an
// alternation's branches all continue at the instruction after the braces),
// run by a backtracking search memoised on (instruction, path offset). Each
// (instruction, offset) pair is decided once in constant time, so the work is
// O(instructions × len(path)) however the glob is written.

type minst struct {
	kind   Kind
	text   string
	ranges []RuneRange
	alts   []int // KindAlt: first instruction of each branch
	next   int   // following instruction; done means the end of the glob
}

const done = -1

// kindDirsLoop is the loop of "/**/": any bytes, then a '/' that leads to next.
const kindDirsLoop Kind = 255

// compileProg flattens nodes, last node first; the final instruction is the
// entry point.
func compileProg(nodes []Node) []minst {
	var prog []minst
	var emit func(ns []Node, next int) int
	emit = func(ns []Node, next int) int {
		for i := len(ns) - 1; i >= 0; i-- {
			n := ns[i]
			in := minst{kind: n.Kind, text: n.Text, ranges: n.Ranges, next: next}
			if n.Kind == KindAnyDirs {
				// nothing, or the loop
				prog = append(prog, minst{kind: kindDirsLoop, next: next})
				in = minst{kind: KindAlt, alts: []int{next, len(prog) - 1}, next: next}
			}
			if n.Kind == KindAlt {
				for _, b := range n.Alts {
					in.alts = append(in.alts, emit(b, next))
				}
			}
			prog = append(prog, in)
			next = len(prog) - 1
		}
		return next
	}
	start := emit(nodes, done)
	// A jump to the start keeps the entry point at a fixed index.
	prog = append(prog, minst{kind: KindAlt, alts: []int{start}, next: done})
	return prog
}

// Match reports whether the whole path matches the glob.
func (g *Glob) Match(path string) bool {
	m := matcher{prog: g.prog, path: path, memo: make([]int8, len(g.prog)*(len(path)+1))}
	return m.run(len(g.prog)-1, 0)
}

type matcher struct {
	prog []minst
	path string
	memo []int8 // 0 unknown, 1 match, 2 no match
}

func (m *matcher) run(pc, pos int) bool {
	if pc == done {
		return pos == len(m.path)
	}
	key := pc*(len(m.path)+1) + pos
	if v := m.memo[key]; v != 0 {
		return v == 1
	}
	ok := m.step(pc, pos)
	if ok {
		m.memo[key] = 1
	} else {
		m.memo[key] = 2
	}
	return ok
}

func (m *matcher) step(pc, pos int) bool {
	in := &m.prog[pc]
	rest := m.path[pos:]
	switch in.kind {
	case KindLiteral:
		return len(rest) >= len(in.text) && rest[:len(in.text)] == in.text && m.run(in.next, pos+len(in.text))
	case KindStar:
		return m.run(in.next, pos) || (pos < len(m.path) && m.path[pos] != '/' && m.run(pc, pos+1))
	case KindAnyPath:
		return m.run(in.next, pos) || (pos < len(m.path) && m.run(pc, pos+1))
	case kindDirsLoop:
		return pos < len(m.path) && ((m.path[pos] == '/' && m.run(in.next, pos+1)) || m.run(pc, pos+1))
	case KindClass:
		r, n := utf8.DecodeRuneInString(rest)
		if n == 0 || (r == utf8.RuneError && n == 1) {
			return false
		}
		return InRanges(in.ranges, r) && m.run(in.next, pos+n)
	case KindAlt:
		for _, b := range in.alts {
			if m.run(b, pos) {
				return true
			}
		}
		return false
	}
	return false
}
