package dfa

// premerge merges states whose rows are identical (same accept, same
// transitions up to states already merged), in one pass from the last state
// to the first. The subset construction numbers states breadth-first, so the
// tree-shaped parts of a path DFA (the tries of literal paths, where most
// states are) are merged bottom-up, as in the minimisation of acyclic
// automata. Merging equal rows is always sound; the partition refinement that
// follows finds what this pass misses, on a smaller automaton.
func premerge(sub *subsetDFA) *subsetDFA {
	nn := sub.numStates
	if nn == 0 {
		return sub
	}
	rowStart := make([]int32, nn+1)
	for _, t := range sub.tail {
		rowStart[t+1]++
	}
	for s := range nn {
		rowStart[s+1] += rowStart[s]
	}
	rep := make([]int32, nn)
	for s := range rep {
		rep[s] = int32(s)
	}
	rowHash := func(s int32) uint64 {
		h := uint64(sub.acceptID[s])*0x9e3779b97f4a7c15 + 1
		for t := rowStart[s]; t < rowStart[s+1]; t++ {
			h ^= uint64(sub.label[t])<<32 | uint64(uint32(rep[sub.head[t]]))
			h *= 0xbf58476d1ce4e5b9
			h ^= h >> 31
		}
		return h
	}
	sameRow := func(a, b int32) bool {
		if sub.acceptID[a] != sub.acceptID[b] || rowStart[a+1]-rowStart[a] != rowStart[b+1]-rowStart[b] {
			return false
		}
		for i, j := rowStart[a], rowStart[b]; i < rowStart[a+1]; i, j = i+1, j+1 {
			if sub.label[i] != sub.label[j] || rep[sub.head[i]] != rep[sub.head[j]] {
				return false
			}
		}
		return true
	}
	byHash := make(map[uint64]int32, nn)
	next := make([]int32, nn) // chains of representatives with equal hashes
	merged := 0
	for s := int32(nn - 1); s >= 0; s-- {
		h := rowHash(s)
		first, ok := byHash[h]
		if ok {
			found := false
			for c := first; c >= 0; c = next[c] {
				if sameRow(s, c) {
					rep[s] = c
					found = true
					break
				}
			}
			if found {
				merged++
				continue
			}
			next[s] = first
		} else {
			next[s] = -1
		}
		byHash[h] = s
	}
	if merged == 0 {
		return sub
	}
	// The quotient: representatives keep their order.
	newID := make([]int32, nn)
	n := int32(0)
	for s := range nn {
		if rep[s] == int32(s) {
			newID[s] = n
			n++
		}
	}
	out := &subsetDFA{
		classes:    sub.classes,
		numClasses: sub.numClasses,
		numStates:  int(n),
		start:      newID[rep[sub.start]],
		acceptSets: sub.acceptSets,
		acceptID:   make([]int32, 0, n),
	}
	m := 0
	for s := range nn {
		if rep[s] == int32(s) {
			m += int(rowStart[s+1] - rowStart[s])
		}
	}
	out.tail, out.label, out.head = make([]int32, 0, m), make([]int32, 0, m), make([]int32, 0, m)
	for s := range nn {
		if rep[s] != int32(s) {
			continue
		}
		out.acceptID = append(out.acceptID, sub.acceptID[s])
		for t := rowStart[s]; t < rowStart[s+1]; t++ {
			out.tail = append(out.tail, newID[s])
			out.label = append(out.label, sub.label[t])
			out.head = append(out.head, newID[rep[sub.head[t]]])
		}
	}
	return out
}
