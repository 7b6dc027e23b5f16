package dfa

import (
	"encoding/binary"
	"fmt"
	"slices"
)

// subsetDFA is the DFA of the subset construction: reachable states only, and
// no state for the empty set (a -1 transition leads to it).
type subsetDFA struct {
	classes    [256]uint8
	numClasses int
	numStates  int
	start      int32
	// Transitions that do not lead to the empty set, in (tail, label) order.
	tail, label, head []int32
	acceptID          []int32 // per state: index into acceptSets; 0 is the empty set
	acceptSets        [][]int32
}

type subsetBuilder struct {
	n          *nfa
	numClasses int
	edgeCls    []int32 // per NFA edge: index into rangeCls
	rangeCls   [][]uint8

	sets    []int32 // all state sets, concatenated
	setOff  []int32 // state i's set is sets[setOff[i]:setOff[i+1]]
	byHash  map[uint64]int32
	hashNxt []int32 // per state: next state with the same hash, or -1

	stamp   []uint32 // per NFA state, for closures
	curMark uint32
	stack   []int32
	tmp     []int32

	acceptIDs map[string]int32
	out       *subsetDFA
	maxStates int
	maxSets   int

	// Join mode (nil: accept sets).
	jm       *joinMode
	forever  []bool          // per NFA state: see nfa.foreverAccepting
	synthVal map[int32]int32 // added forever-accepting state → its value
	synthOf  map[int32]int32 // value → added forever-accepting state
	allRange int32           // index into rangeCls of the range 0x00-0xff
	pruned   []int32
}

func subsetConstruct(n *nfa, classes [256]uint8, numClasses int, lim Limits, jm *joinMode) (*subsetDFA, error) {
	b := &subsetBuilder{
		jm:         jm,
		n:          n,
		numClasses: numClasses,
		byHash:     map[uint64]int32{},
		stamp:      make([]uint32, len(n.accept)),
		acceptIDs:  map[string]int32{"": 0},
		maxStates:  lim.MaxBuildStates,
		maxSets:    lim.MaxBuildSets,
		out:        &subsetDFA{classes: classes, numClasses: numClasses, acceptSets: [][]int32{nil}},
	}
	b.setOff = append(b.setOff, 0)
	// The classes covered by each distinct edge range, computed once.
	rangeIdx := map[[2]uint8]int32{}
	b.edgeCls = make([]int32, len(n.edges))
	for i, e := range n.edges {
		key := [2]uint8{e.lo, e.hi}
		ri, ok := rangeIdx[key]
		if !ok {
			var cs []uint8
			for c := int(e.lo); c <= int(e.hi); c++ {
				cl := classes[c]
				if !slices.Contains(cs, cl) {
					cs = append(cs, cl)
				}
			}
			ri = int32(len(b.rangeCls))
			b.rangeCls = append(b.rangeCls, cs)
			rangeIdx[key] = ri
		}
		b.edgeCls[i] = ri
	}

	if jm != nil {
		b.forever = make([]bool, len(n.accept))
		for s := range n.accept {
			b.forever[s] = n.foreverAccepting(int32(s))
		}
		b.synthVal, b.synthOf = map[int32]int32{}, map[int32]int32{}
		all := make([]uint8, numClasses)
		for c := range all {
			all[c] = uint8(c)
		}
		b.allRange = int32(len(b.rangeCls))
		b.rangeCls = append(b.rangeCls, all)
	}

	start := b.closure(n.starts)
	if len(start) == 0 {
		b.out.start = -1
		return b.out, nil
	}
	if _, err := b.intern(start); err != nil {
		return nil, err
	}
	b.out.start = 0

	k := numClasses
	// Edges whose range covers every class (the loops of '**') add their
	// target to every class's successor set; they are collected once per
	// state in common instead of in all k buckets.
	universal := make([]bool, len(b.rangeCls))
	for i, cs := range b.rangeCls {
		universal[i] = len(cs) == k
	}
	buckets := make([][]int32, k)
	var touched []uint8
	var common, commonClosure, merged []int32
	type done struct {
		hash uint64
		cls  uint8
		to   int32
	}
	var doneList []done
	for d := 0; d < b.out.numStates; d++ {
		touched, common = touched[:0], common[:0]
		for _, s := range b.sets[b.setOff[d]:b.setOff[d+1]] {
			for e := n.edgeHead[s]; e >= 0; e = n.edges[e].next {
				to := n.edges[e].to
				ri := b.edgeCls[e]
				if universal[ri] {
					common = append(common, to)
					continue
				}
				for _, c := range b.rangeCls[ri] {
					if len(buckets[c]) == 0 {
						touched = append(touched, c)
					}
					buckets[c] = append(buckets[c], to)
				}
			}
		}
		if len(common) > 0 || len(touched) > 16 {
			if len(common) > 0 {
				slices.Sort(common)
				common = slices.Compact(common)
			}
			// Visit the classes in order: all of them when every class
			// has a successor, else those with one.
			touched = touched[:0]
			for c := range k {
				if len(common) > 0 || len(buckets[c]) > 0 {
					touched = append(touched, uint8(c))
				}
			}
		} else {
			slices.Sort(touched)
		}
		commonTo := int32(-1)
		commonClosure = commonClosure[:0]
		if len(common) > 0 {
			commonClosure = append(commonClosure, b.closure(common)...)
		}
		doneList = doneList[:0]
	classLoop:
		for _, c := range touched {
			targets := buckets[c]
			if len(targets) == 0 { // only the common targets
				if commonTo < 0 {
					next, err := b.intern(commonClosure)
					if err != nil {
						return nil, err
					}
					commonTo = next
				}
				b.addTrans(d, c, commonTo)
				continue
			}
			slices.Sort(targets)
			targets = slices.Compact(targets)
			buckets[c] = targets
			h := hashSet(targets)
			// Many classes usually lead to the same targets (a '*' loop
			// covers almost all of them): compute each closure once.
			for _, prev := range doneList {
				if prev.hash == h && slices.Equal(buckets[prev.cls], targets) {
					b.addTrans(d, c, prev.to)
					continue classLoop
				}
			}
			// closure(common ∪ targets) = closure(common) ∪ closure(targets)
			merged = mergeSorted(merged[:0], commonClosure, b.closure(targets))
			next, err := b.intern(merged)
			if err != nil {
				return nil, err
			}
			b.addTrans(d, c, next)
			doneList = append(doneList, done{h, c, next})
		}
		for _, c := range touched {
			buckets[c] = buckets[c][:0]
		}
	}
	return b.out, nil
}

func (b *subsetBuilder) addTrans(from int, c uint8, to int32) {
	if to < 0 {
		return
	}
	o := b.out
	o.tail = append(o.tail, int32(from))
	o.label = append(o.label, int32(c))
	o.head = append(o.head, to)
}

// mergeSorted appends the union of the sorted sets a and b to dst.
func mergeSorted(dst, a, b []int32) []int32 {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			dst = append(dst, a[i])
			i++
		case a[i] > b[j]:
			dst = append(dst, b[j])
			j++
		default:
			dst = append(dst, a[i])
			i++
			j++
		}
	}
	dst = append(dst, a[i:]...)
	return append(dst, b[j:]...)
}

// closure returns the sorted epsilon closure of seeds, in b.tmp.
func (b *subsetBuilder) closure(seeds []int32) []int32 {
	b.curMark++
	if b.curMark == 0 { // wrapped: reset the stamps
		clear(b.stamp)
		b.curMark = 1
	}
	mark := b.curMark
	b.tmp = b.tmp[:0]
	b.stack = b.stack[:0]
	for _, s := range seeds {
		if b.stamp[s] != mark {
			b.stamp[s] = mark
			b.stack = append(b.stack, s)
		}
	}
	for len(b.stack) > 0 {
		s := b.stack[len(b.stack)-1]
		b.stack = b.stack[:len(b.stack)-1]
		b.tmp = append(b.tmp, s)
		for e := b.n.epsHead[s]; e >= 0; e = b.n.eps[e].next {
			t := b.n.eps[e].to
			if b.stamp[t] != mark {
				b.stamp[t] = mark
				b.stack = append(b.stack, t)
			}
		}
	}
	slices.Sort(b.tmp)
	return b.tmp
}

// intern returns the state for the sorted set, adding it if it is new; the
// empty set is -1.
func (b *subsetBuilder) intern(set []int32) (int32, error) {
	if len(set) == 0 {
		return -1, nil
	}
	if b.jm != nil {
		set = b.prune(set)
	}
	h := hashSet(set)
	id, ok := b.byHash[h]
	if ok {
		for s := id; s >= 0; s = b.hashNxt[s] {
			if slices.Equal(b.sets[b.setOff[s]:b.setOff[s+1]], set) {
				return s, nil
			}
		}
	} else {
		id = -1
	}
	out := b.out
	if out.numStates >= b.maxStates {
		return 0, fmt.Errorf("compile globs: subset construction passed %d states (Limits.MaxBuildStates): the globs combine into too many states: %w", b.maxStates, ErrLimit)
	}
	s := int32(out.numStates)
	out.numStates++
	if len(b.sets)+len(set) > b.maxSets {
		return 0, fmt.Errorf("compile globs: subset construction passed %d NFA states in its sets (Limits.MaxBuildSets): the globs combine into too large states: %w", b.maxSets, ErrLimit)
	}
	b.sets = append(b.sets, set...)
	b.setOff = append(b.setOff, int32(len(b.sets)))
	b.hashNxt = append(b.hashNxt, id)
	b.byHash[h] = s
	out.acceptID = append(out.acceptID, b.acceptOf(set))
	return s, nil
}

func (b *subsetBuilder) acceptOf(set []int32) int32 {
	var acc []int32
	if b.jm != nil {
		v, ok := int32(0), false
		for _, s := range set {
			if b.n.accept[s] != -1 {
				v, ok = b.joinValue(v, ok, b.valueOf(s)), true
			}
		}
		if ok {
			acc = []int32{v}
		}
	} else {
		for _, s := range set {
			if a := b.n.accept[s]; a >= 0 {
				acc = append(acc, a)
			}
		}
	}
	if len(acc) == 0 {
		return 0
	}
	slices.Sort(acc)
	acc = slices.Compact(acc)
	key := make([]byte, 4*len(acc))
	for i, a := range acc {
		binary.LittleEndian.PutUint32(key[4*i:], uint32(a))
	}
	id, ok := b.acceptIDs[string(key)]
	if !ok {
		id = int32(len(b.out.acceptSets))
		b.out.acceptSets = append(b.out.acceptSets, acc)
		b.acceptIDs[string(key)] = id
	}
	return id
}

// valueOf is the accept value that NFA state s contributes (join mode).
func (b *subsetBuilder) valueOf(s int32) int32 {
	if g := b.n.globOf[s]; g >= 0 {
		return b.jm.values[g]
	}
	return b.synthVal[s]
}

func (b *subsetBuilder) joinValue(acc int32, have bool, v int32) int32 {
	if !have {
		return v
	}
	return b.jm.join(acc, v)
}

// prune rewrites a sorted state set in join mode: when it holds
// forever-accepting states, their joined value F will be part of the value of
// every longer path, so they are replaced by one canonical forever-accepting
// state for F, and every state whose glob's value F absorbs (join(F, v) == F)
// is dropped, since it can no longer change any path's value.
func (b *subsetBuilder) prune(set []int32) []int32 {
	f, have := int32(0), false
	for _, s := range set {
		if b.forever[s] {
			f, have = b.joinValue(f, have, b.valueOf(s)), true
		}
	}
	if !have {
		return set
	}
	out := b.pruned[:0]
	for _, s := range set {
		if b.forever[s] || b.jm.join(f, b.valueOf(s)) == f {
			continue
		}
		out = append(out, s)
	}
	out = append(out, b.foreverState(f))
	slices.Sort(out)
	b.pruned = out
	return out
}

// foreverState returns the added state that accepts value v on every path
// through it, adding it on first use.
func (b *subsetBuilder) foreverState(v int32) int32 {
	if s, ok := b.synthOf[v]; ok {
		return s
	}
	n := b.n
	s := n.newState()
	n.accept[s] = -2 // accepting, with a value but no glob
	n.edge(s, 0, 0xff, s)
	b.edgeCls = append(b.edgeCls, b.allRange)
	b.stamp = append(b.stamp, 0)
	b.forever = append(b.forever, true)
	b.synthVal[s], b.synthOf[v] = v, s
	return s
}

func hashSet(set []int32) uint64 {
	h := uint64(len(set)) * 0x9e3779b97f4a7c15
	for _, s := range set {
		h ^= uint64(uint32(s))
		h *= 0xbf58476d1ce4e5b9
		h ^= h >> 31
	}
	return h
}
