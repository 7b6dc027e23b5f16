package dfa

import (
	"slices"
)

// Minimisation after A. Valmari, "Fast brief practical DFA minimization"
// (Information Processing Letters 112, 2012): refinable partitions of the
// states (blocks) and of the transitions (cords, first by label), refined
// alternately. It works on the partial DFA without the empty-set state, in
// O(m log n) for m transitions that do not lead to the empty set, which
// matters because most cells of a path DFA lead there.

// partition is a refinable partition of 0..n-1.
type partition struct {
	z           int     // number of sets
	elems, loc  []int32 // elems: elements grouped by set; loc[e]: index of e in elems
	setOf       []int32 // set of each element
	first, past []int32 // set s is elems[first[s]:past[s]]
	marked      []int32 // per set: how many of its elements are marked (they sit at its front)
	touched     []int32 // sets with marked elements
}

func newPartition(n int) *partition {
	p := &partition{
		elems: make([]int32, n), loc: make([]int32, n), setOf: make([]int32, n),
		first: make([]int32, n), past: make([]int32, n),
		marked: make([]int32, n), touched: make([]int32, 0, 64),
	}
	for i := range n {
		p.elems[i], p.loc[i] = int32(i), int32(i)
	}
	if n > 0 {
		p.z = 1
		p.first[0], p.past[0] = 0, int32(n)
	}
	return p
}

// mark moves e to the marked front part of its set.
func (p *partition) mark(e int32) {
	s := p.setOf[e]
	i := p.loc[e]
	m := p.marked[s]
	j := p.first[s] + m
	if j > i {
		return // already marked
	}
	elems, loc := p.elems, p.loc
	f := elems[j]
	elems[i] = f
	loc[f] = i
	elems[j] = e
	loc[e] = j
	if m == 0 {
		p.touched = append(p.touched, s)
	}
	p.marked[s] = m + 1
}

// split splits every touched set into its marked and unmarked parts; the
// smaller part becomes a new set.
func (p *partition) split() {
	M := p.marked
	for len(p.touched) > 0 {
		s := p.touched[len(p.touched)-1]
		p.touched = p.touched[:len(p.touched)-1]
		j := p.first[s] + M[s]
		if j == p.past[s] {
			M[s] = 0
			continue
		}
		z := int32(p.z)
		if M[s] <= p.past[s]-j {
			p.first[z], p.past[z], p.first[s] = p.first[s], j, j
		} else {
			p.past[z], p.first[z], p.past[s] = p.past[s], j, j
		}
		for i := p.first[z]; i < p.past[z]; i++ {
			p.setOf[p.elems[i]] = z
		}
		M[s], M[z] = 0, 0
		p.z++
	}
}

// minimize returns the minimal complete DFA equivalent to sub, with an
// explicit Dead state (numbering is not yet canonical).
func minimize(sub *subsetDFA) *DFA {
	k := sub.numClasses
	nn := sub.numStates
	if sub.start < 0 || nn == 0 {
		return deadOnly(sub)
	}
	// The transitions, renumbered in order of head (stably), so that the
	// transitions into one state have consecutive numbers: the refinement
	// marks them together.
	mm := len(sub.tail)
	tail, label, head := make([]int32, mm), make([]int32, mm), make([]int32, mm)
	{
		off := make([]int32, nn+1)
		for _, h := range sub.head {
			off[h+1]++
		}
		for q := range nn {
			off[q+1] += off[q]
		}
		for t, h := range sub.head {
			i := off[h]
			off[h]++
			tail[i], label[i], head[i] = sub.tail[t], sub.label[t], h
		}
	}
	B := newPartition(nn)

	adj := make([]int32, mm)
	off := make([]int32, nn+1)
	makeAdjacent := func(key []int32) {
		clear(off)
		for t := range mm {
			off[key[t]]++
		}
		for q := range nn {
			off[q+1] += off[q]
		}
		for t := mm - 1; t >= 0; t-- {
			off[key[t]]--
			adj[off[key[t]]] = int32(t)
		}
	}
	rr := int32(0) // states reached so far, at the front of B.elems
	reach := func(q int32) {
		i := B.loc[q]
		if i >= rr {
			B.elems[i] = B.elems[rr]
			B.loc[B.elems[i]] = i
			B.elems[rr] = q
			B.loc[q] = rr
			rr++
		}
	}
	// Keep the states reached from those reached so far along from→to.
	removeUnreached := func(from, to []int32) {
		makeAdjacent(from)
		for i := int32(0); i < rr; i++ {
			q := B.elems[i]
			for j := off[q]; j < off[q+1]; j++ {
				reach(to[adj[j]])
			}
		}
		j := 0
		for t := range mm {
			if B.loc[from[t]] < rr {
				head[j], label[j], tail[j] = head[t], label[t], tail[t]
				j++
			}
		}
		mm = j
		tail, label, head = tail[:mm], label[:mm], head[:mm]
		B.past[0] = rr
		rr = 0
	}
	reach(sub.start)
	removeUnreached(tail, head)
	for q := range nn {
		if sub.acceptID[q] != 0 && B.loc[q] < B.past[0] {
			reach(int32(q))
		}
	}
	if rr == 0 {
		return deadOnly(sub)
	}
	removeUnreached(head, tail)
	live := B.past[0] // states 0..live-1 of B.elems can reach an accept

	// Initial partition: by accept set.
	groups := map[int32][]int32{}
	var ids []int32
	for i := range live {
		q := B.elems[i]
		id := sub.acceptID[q]
		if _, ok := groups[id]; !ok {
			ids = append(ids, id)
		}
		groups[id] = append(groups[id], q)
	}
	slices.Sort(ids)
	for _, id := range ids {
		for _, q := range groups[id] {
			B.mark(q)
		}
		B.split()
	}

	// Cords: transitions grouped by label.
	C := newPartition(mm)
	if mm > 0 {
		// Counting sort by label.
		cnt := make([]int32, k+1)
		for t := range mm {
			cnt[label[t]+1]++
		}
		for c := range k {
			cnt[c+1] += cnt[c]
		}
		for t := range mm {
			C.elems[cnt[label[t]]] = int32(t)
			cnt[label[t]]++
		}
		C.z = 0
		a := label[C.elems[0]]
		C.first[0] = 0
		for i := range mm {
			t := C.elems[i]
			if label[t] != a {
				a = label[t]
				C.past[C.z] = int32(i)
				C.z++
				C.first[C.z] = int32(i)
			}
			C.setOf[t] = int32(C.z)
			C.loc[t] = int32(i)
		}
		C.past[C.z] = int32(mm)
		C.z++
	}

	makeAdjacent(head)
	for b, c := 1, 0; c < C.z; {
		for i := C.first[c]; i < C.past[c]; i++ {
			B.mark(tail[C.elems[i]])
		}
		B.split()
		c++
		for ; b < B.z; b++ {
			for i := B.first[b]; i < B.past[b]; i++ {
				q := B.elems[i]
				for j := off[q]; j < off[q+1]; j++ {
					C.mark(adj[j])
				}
			}
			C.split()
		}
	}

	// Build the complete DFA: block numbers are states, plus Dead.
	numBlocks := B.z
	dead := uint32(numBlocks)
	d := &DFA{
		Classes:    sub.classes,
		NumClasses: k,
		NumStates:  numBlocks + 1,
		Start:      uint32(B.setOf[sub.start]),
		Dead:       dead,
		Trans:      make([]uint32, (numBlocks+1)*k),
		Accept:     make([][]int32, numBlocks+1),
	}
	for i := range d.Trans {
		d.Trans[i] = dead
	}
	for t := range mm {
		d.Trans[int(B.setOf[tail[t]])*k+int(label[t])] = uint32(B.setOf[head[t]])
	}
	for i := range live {
		q := B.elems[i]
		if id := sub.acceptID[q]; id != 0 {
			d.Accept[B.setOf[q]] = sub.acceptSets[id]
		}
	}
	return d
}

func deadOnly(sub *subsetDFA) *DFA {
	return &DFA{
		Classes:    sub.classes,
		NumClasses: sub.numClasses,
		NumStates:  1,
		Trans:      make([]uint32, sub.numClasses),
		Accept:     make([][]int32, 1),
	}
}

// canonicalize merges byte classes with equal columns, numbers classes by
// smallest byte and states in breadth-first order from Start.
func canonicalize(d *DFA) *DFA {
	k := d.NumClasses
	// Merge equal columns, found by hash.
	colHash := make([]uint64, k)
	for s := range d.NumStates {
		row := d.Trans[s*k : (s+1)*k]
		for c, t := range row {
			h := colHash[c] ^ uint64(t)
			h *= 0xbf58476d1ce4e5b9
			colHash[c] = h ^ h>>31
		}
	}
	sameColumn := func(a, b int) bool {
		for s := range d.NumStates {
			if d.Trans[s*k+a] != d.Trans[s*k+b] {
				return false
			}
		}
		return true
	}
	colOf := make([]int, k) // old class → new class
	var reps []int          // new class → an old class with that column
	for c := range k {
		colOf[c] = -1
		for nc, r := range reps {
			if colHash[r] == colHash[c] && sameColumn(r, c) {
				colOf[c] = nc
				break
			}
		}
		if colOf[c] < 0 {
			colOf[c] = len(reps)
			reps = append(reps, c)
		}
	}
	// Old classes are numbered by smallest byte, so new ones are too.
	var classes [256]uint8
	for b := range 256 {
		classes[b] = uint8(colOf[d.Classes[b]])
	}
	nk := len(reps)

	// Breadth-first numbering.
	order := make([]uint32, 0, d.NumStates)
	newID := make([]int64, d.NumStates)
	for i := range newID {
		newID[i] = -1
	}
	visit := func(s uint32) {
		if newID[s] < 0 {
			newID[s] = int64(len(order))
			order = append(order, s)
		}
	}
	visit(d.Start)
	for i := 0; i < len(order); i++ {
		s := order[i]
		for _, r := range reps {
			visit(d.Trans[int(s)*k+r])
		}
	}
	visit(d.Dead) // unreachable only when every path matches something
	out := &DFA{
		Classes:    classes,
		NumClasses: nk,
		NumStates:  len(order),
		Start:      0,
		Dead:       uint32(newID[d.Dead]),
		Trans:      make([]uint32, len(order)*nk),
		Accept:     make([][]int32, len(order)),
	}
	for i, s := range order {
		for nc, r := range reps {
			out.Trans[i*nk+nc] = uint32(newID[d.Trans[int(s)*k+r]])
		}
		out.Accept[i] = d.Accept[s]
	}
	return out
}
