package dfa

import (
	"unicode/utf8"

	"github.com/bpfbox/bpfbox/lang/glob"
)

// The NFA: states with byte-range edges and epsilon edges, kept in flat
// arrays with linked lists so that building 100,000s of states allocates little.
type nfa struct {
	edgeHead []int32 // per state: first edge, or -1
	epsHead  []int32 // per state: first epsilon edge, or -1
	accept   []int32 // per state: index of the glob that matches when a path ends here, or -1
	globOf   []int32 // per state: the glob it belongs to (-1 for the states that Join mode adds)
	edges    []nedge
	eps      []neps
	starts   []int32 // the start state of each glob
	cur      int32   // the glob being added
}

type nedge struct {
	lo, hi uint8
	to     int32
	next   int32
}

type neps struct {
	to, next int32
}

func (n *nfa) newState() int32 {
	n.edgeHead = append(n.edgeHead, -1)
	n.epsHead = append(n.epsHead, -1)
	n.accept = append(n.accept, -1)
	n.globOf = append(n.globOf, n.cur)
	return int32(len(n.accept) - 1)
}

func (n *nfa) edge(from int32, lo, hi uint8, to int32) {
	n.edges = append(n.edges, nedge{lo: lo, hi: hi, to: to, next: n.edgeHead[from]})
	n.edgeHead[from] = int32(len(n.edges) - 1)
}

func (n *nfa) epsilon(from, to int32) {
	n.eps = append(n.eps, neps{to: to, next: n.epsHead[from]})
	n.epsHead[from] = int32(len(n.eps) - 1)
}

// foreverAccepting reports whether s accepts and loops on every byte: once a
// path reaches s, its glob matches every extension of the path.
func (n *nfa) foreverAccepting(s int32) bool {
	if n.accept[s] == -1 {
		return false
	}
	for e := n.edgeHead[s]; e >= 0; e = n.edges[e].next {
		if ed := n.edges[e]; ed.lo == 0 && ed.hi == 0xff && ed.to == s {
			return true
		}
	}
	return false
}

// addGlob adds the glob's states; a path that ends in its final state matches glob number idx.
func (n *nfa) addGlob(g *glob.Glob, idx int32) {
	n.cur = idx
	defer func() { n.cur = -1 }()
	start := n.newState()
	n.starts = append(n.starts, start)
	end := n.seq(g.Nodes(), start)
	n.accept[end] = idx
}

// seq adds the states for nodes, continuing from the state from, and returns
// the state reached at their end. Every path into from is a valid prefix, so
// the nodes' first edges may leave from directly.
func (n *nfa) seq(nodes []glob.Node, from int32) int32 {
	for i := range nodes {
		from = n.node(&nodes[i], from)
	}
	return from
}

func (n *nfa) node(nd *glob.Node, from int32) int32 {
	switch nd.Kind {
	case glob.KindLiteral:
		for i := 0; i < len(nd.Text); i++ {
			to := n.newState()
			n.edge(from, nd.Text[i], nd.Text[i], to)
			from = to
		}
		return from
	case glob.KindStar:
		loop := n.newState()
		n.epsilon(from, loop)
		n.edge(loop, 0, '/'-1, loop)
		n.edge(loop, '/'+1, 0xff, loop)
		return loop
	case glob.KindAnyPath:
		loop := n.newState()
		n.epsilon(from, loop)
		n.edge(loop, 0, 0xff, loop)
		return loop
	case glob.KindAnyDirs: // nothing, or any bytes then '/'
		loop, end := n.newState(), n.newState()
		n.epsilon(from, end)
		n.epsilon(from, loop)
		n.edge(loop, 0, 0xff, loop)
		n.edge(loop, '/', '/', end)
		return end
	case glob.KindClass:
		end := n.newState()
		for _, r := range nd.Ranges {
			for _, seq := range utf8Sequences(r.Lo, r.Hi, nil) {
				cur := from
				for i, br := range seq {
					to := end
					if i < len(seq)-1 {
						to = n.newState()
					}
					n.edge(cur, br.lo, br.hi, to)
					cur = to
				}
			}
		}
		return end
	case glob.KindAlt:
		end := n.newState()
		for _, branch := range nd.Alts {
			// Each branch gets its own entry so that a loop at the start of
			// one branch cannot leak into another.
			entry := n.newState()
			n.epsilon(from, entry)
			n.epsilon(n.seq(branch, entry), end)
		}
		return end
	}
	panic("dfa: unknown glob node kind " + nd.Kind.String())
}

type byteRange struct{ lo, hi uint8 }

// utf8Sequences appends to out the byte-range sequences whose concatenations
// are exactly the UTF-8 encodings of the code points lo..hi (which must not
// include surrogates). This is the usual range-splitting construction: split
// where the encoded length changes, then until every byte position of the
// encodings ranges independently over a contiguous range.
func utf8Sequences(lo, hi rune, out [][]byteRange) [][]byteRange {
	type span struct{ lo, hi rune }
	stack := []span{{lo, hi}}
	for len(stack) > 0 {
		s := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
	again:
		for _, max := range []rune{0x7f, 0x7ff, 0xffff} {
			if s.lo <= max && s.hi > max {
				stack = append(stack, span{max + 1, s.hi})
				s.hi = max
			}
		}
		if s.hi <= 0x7f {
			out = append(out, []byteRange{{uint8(s.lo), uint8(s.hi)}})
			continue
		}
		for i := uint(1); i < utf8.UTFMax; i++ {
			m := rune(1)<<(6*i) - 1
			if s.lo&^m != s.hi&^m {
				if s.lo&m != 0 {
					stack = append(stack, span{(s.lo | m) + 1, s.hi})
					s.hi = s.lo | m
					goto again
				}
				if s.hi&m != m {
					stack = append(stack, span{s.hi &^ m, s.hi})
					s.hi = s.hi&^m - 1
					goto again
				}
			}
		}
		var a, b [utf8.UTFMax]byte
		n := utf8.EncodeRune(a[:], s.lo)
		utf8.EncodeRune(b[:], s.hi)
		seq := make([]byteRange, n)
		for i := range n {
			seq[i] = byteRange{a[i], b[i]}
		}
		out = append(out, seq)
	}
	return out
}
