// Package dfa compiles path globs (lang/glob) into one minimal deterministic
// automaton over path bytes, the table that the kernel walks.
//
// # Pipeline
//
//  1. Every glob becomes a Thompson-style NFA with byte-range edges ('?' and
//     classes become the byte sequences of their UTF-8 encodings). All globs
//     share one NFA; glob i's final state accepts i.
//  2. Byte equivalence classes are computed from the NFA's distinct byte
//     ranges: two bytes are in one class when every range holds both or
//     neither. The construction then works on classes, not bytes.
//  3. Lazy subset construction from the closure of every glob's start state,
//     over sorted NFA-state sets interned by hash. A DFA state accepts the
//     sorted set of glob indices whose final states it contains.
//  4. Minimisation: first one pass that merges states with identical rows
//     from the last state to the first (bottom-up over the tries of literal
//     paths), then partition refinement (Valmari–Lehtinen, O(m log n) over
//     the transitions that do not go to the empty set), starting from the
//     partition by accept SET, so that states matching different sets of globs
//     stay distinct. States from which no accept is reachable all become the
//     one Dead state.
//  5. Classes whose columns are equal in the minimal table are merged, classes
//     are numbered by their smallest byte, and states are numbered in
//     breadth-first order from Start over classes in order. The result is a
//     canonical function of the globs' languages (and their order): the same
//     globs always give an identical DFA.
//
// # Size
//
// Typical profiles are small: 1,000 typical globs (half literal paths, half
// globs such as /usr/lib/**.so*, /etc/*.conf, /home/*/.config/app/**) give
// about 11,600 states and 49 classes; a 10,000-rule profile of literal paths
// and 3% globs about 95,000 states. Because a state must know the exact SET
// of globs that match, globs that stay matched once they match and can start
// anywhere multiply: n globs like /**/name/** need about 2^n states (14 such
// globs in a mix of /**/name/**, /**/*.ext and /home/*/name*/**: 7,500
// states; 18: 26,000; 40: past the limits). Compile reports that with an
// error wrapping ErrLimit rather than building it. CompileJoin, for callers
// that need one joined value per path (say, a union of permission bits)
// rather than the set of globs, needs only as many states as there are
// distinct joined values to remember: 40 such globs with 4 permission bits
// take 1,327 states, and a 10,000-rule profile plus 8 deny globs like /**/.ssh/** takes
// 40,040 states (uint16 cells), where accept sets would pass 131,072.
//
// # Kernel view
//
// The kernel walks the table with bpf_loop: s = Trans[s*NumClasses +
// Classes[byte]], stopping early when s == Dead; after the last byte of the
// resolved path, Accept[s] lists the matching globs. The table's cells are
// uint16 when NumStates <= 65536, otherwise uint32 (see Stats).
package dfa

import (
	"errors"
	"fmt"
	"slices"

	"github.com/bpfbox/bpfbox/lang/glob"
)

// DFA is a complete minimal DFA over path bytes.
type DFA struct {
	Classes    [256]uint8 // byte → equivalence class
	NumClasses int
	NumStates  int
	Start      uint32
	Trans      []uint32  // NumStates*NumClasses; Trans[s*NumClasses+c] = next state
	Dead       uint32    // the sink: no accept is reachable from it
	Accept     [][]int32 // per state: sorted indices of the globs that match when the path ends here (nil: none); states share slices, do not modify
}

// Limits bound the size of a compiled DFA. Compile fails with an error, never
// a panic, when they are exceeded. Zero fields take the defaults.
type Limits struct {
	// MaxStates bounds the states of the minimal DFA (Dead included).
	MaxStates int
	// MaxClasses bounds the byte equivalence classes (at most 256 exist).
	MaxClasses int
	// MaxBuildStates bounds the states of the subset construction, before
	// minimisation; it stops an explosive set of globs early. Zero means
	// MaxStates (the subset construction of path globs is usually within a
	// few percent of minimal).
	MaxBuildStates int
	// MaxBuildSets bounds the NFA states summed over all the states of the
	// subset construction: its memory (4 bytes each) and most of its time.
	// Long runs of literals after a '*' (such as "/*aaaa…a") need sets that
	// grow with the run. Zero means 64*MaxStates (8M for the default: 32 MiB,
	// about a second); a 10,000-rule profile needs under 400,000.
	MaxBuildSets int
}

// Defaults. 131,072 states hold a profile of 10,000 literal paths and a few
// hundred globs (about 95,000 states and 50 classes: 19 MB of uint32 cells);
// typical profiles stay under 65,536 states, where cells are uint16 (see
// Stats). The bound also keeps a set of globs that explodes (see Limits)
// failing within about a second.
const (
	DefaultMaxStates  = 1 << 17
	DefaultMaxClasses = 256
)

// ErrLimit is wrapped by the errors Compile returns when a limit is exceeded.
var ErrLimit = errors.New("DFA limit exceeded")

func (l Limits) withDefaults() Limits {
	if l.MaxStates <= 0 {
		l.MaxStates = DefaultMaxStates
	}
	if l.MaxClasses <= 0 || l.MaxClasses > 256 {
		l.MaxClasses = DefaultMaxClasses
	}
	if l.MaxBuildStates <= 0 {
		l.MaxBuildStates = l.MaxStates
	}
	if l.MaxBuildSets <= 0 {
		l.MaxBuildSets = 64 * l.MaxStates
	}
	return l
}

// Compile builds the minimal DFA that matches the globs; Accept sets hold
// indices into globs. Compile is deterministic.
func Compile(globs []*glob.Glob, lim Limits) (*DFA, error) {
	return compile(globs, nil, lim)
}

// Join folds the accept values of two globs that match the same path into
// one. It must be associative, commutative and idempotent (a semilattice
// join, such as OR of permission bits, or min of rule priorities), so that
// the value of a path does not depend on the order in which globs are found.
type Join func(a, b int32) int32

// CompileJoin builds the minimal DFA whose accepting states hold, instead of
// the set of matching globs, the join of their values: Accept[s] is nil or
// the one-element slice {join of values[i] over the globs i that match}.
//
// Because states need only know the joined value, many fewer may be needed
// than with Compile: the construction drops the states of globs that can no
// longer change the value (when a glob ending in "**" has matched, a glob
// whose value it absorbs is irrelevant for every longer path), which keeps
// globs like /**/name/** from multiplying the states.
func CompileJoin(globs []*glob.Glob, values []int32, join Join, lim Limits) (*DFA, error) {
	if len(values) != len(globs) {
		return nil, fmt.Errorf("compile globs: %d values for %d globs", len(values), len(globs))
	}
	if join == nil {
		return nil, errors.New("compile globs: nil join")
	}
	return compile(globs, &joinMode{values: values, join: join}, lim)
}

type joinMode struct {
	values []int32
	join   Join
}

func compile(globs []*glob.Glob, jm *joinMode, lim Limits) (*DFA, error) {
	lim = lim.withDefaults()
	if len(globs) > 1<<31-1 {
		return nil, fmt.Errorf("compile globs: too many globs (%d)", len(globs))
	}
	n := nfa{cur: -1}
	for i, g := range globs {
		if g == nil {
			return nil, fmt.Errorf("compile globs: glob %d is nil", i)
		}
		n.addGlob(g, int32(i))
	}
	classes, numClasses := byteClasses(&n)
	sub, err := subsetConstruct(&n, classes, numClasses, lim, jm)
	if err != nil {
		return nil, err
	}
	d := minimize(premerge(sub))
	d = canonicalize(d)
	if d.NumStates > lim.MaxStates {
		return nil, fmt.Errorf("compile globs: minimal DFA has %d states, more than Limits.MaxStates %d: %w", d.NumStates, lim.MaxStates, ErrLimit)
	}
	if d.NumClasses > lim.MaxClasses {
		return nil, fmt.Errorf("compile globs: DFA has %d byte classes, more than Limits.MaxClasses %d: %w", d.NumClasses, lim.MaxClasses, ErrLimit)
	}
	return d, nil
}

// Match walks the DFA over path as the kernel does and returns the indices of
// the globs that match it (nil when none).
func (d *DFA) Match(path string) []int32 {
	s := d.Start
	for i := 0; i < len(path); i++ {
		s = d.Trans[int(s)*d.NumClasses+int(d.Classes[path[i]])]
		if s == d.Dead {
			return nil
		}
	}
	return d.Accept[s]
}

// Stats describes the size of a DFA as the kernel will hold it.
type Stats struct {
	States       int
	Classes      int
	AcceptStates int // states with a non-empty accept set
	AcceptSets   int // distinct non-empty accept sets
	CellBytes    int // 2 when States <= 65536, else 4
	TableBytes   int // States*Classes*CellBytes + 256 for the class map
}

func (s Stats) String() string {
	return fmt.Sprintf("%d states, %d classes, %d accepting states, %d accept sets, %d-byte cells, %d table bytes",
		s.States, s.Classes, s.AcceptStates, s.AcceptSets, s.CellBytes, s.TableBytes)
}

// Stats returns the DFA's size figures.
func (d *DFA) Stats() Stats {
	st := Stats{States: d.NumStates, Classes: d.NumClasses, CellBytes: 2}
	if d.NumStates > 1<<16 {
		st.CellBytes = 4
	}
	st.TableBytes = d.NumStates*d.NumClasses*st.CellBytes + 256
	seen := map[string]bool{}
	for _, a := range d.Accept {
		if len(a) == 0 {
			continue
		}
		st.AcceptStates++
		k := fmt.Sprint(a)
		if !seen[k] {
			seen[k] = true
			st.AcceptSets++
		}
	}
	return st
}

// Subsumes reports whether every path that b matches is also matched by a,
// exactly, by building the DFA of both: b is included in a when no reachable
// state accepts b without a.
func Subsumes(a, b *glob.Glob, lim Limits) (bool, error) {
	d, err := Compile([]*glob.Glob{a, b}, lim)
	if err != nil {
		return false, fmt.Errorf("decide inclusion: %w", err)
	}
	for _, acc := range d.Accept {
		if slices.Contains(acc, 1) && !slices.Contains(acc, 0) {
			return false, nil
		}
	}
	return true, nil
}

// byteClasses partitions the 256 byte values so that every NFA edge range is
// a union of classes; classes are numbered by their smallest byte.
func byteClasses(n *nfa) (classes [256]uint8, num int) {
	var seen [256][256]bool // [lo][hi]
	var cls [256]int
	next := 1
	var remap [512]int
	for _, e := range n.edges {
		if seen[e.lo][e.hi] {
			continue
		}
		seen[e.lo][e.hi] = true
		for i := range next {
			remap[i] = -1
		}
		for b := int(e.lo); b <= int(e.hi); b++ {
			c := cls[b]
			if remap[c] < 0 {
				remap[c] = next
				next++
			}
			cls[b] = remap[c]
		}
		next = renumber(&cls)
	}
	renumber(&cls)
	for b := range 256 {
		classes[b] = uint8(cls[b])
	}
	return classes, renumber(&cls)
}

// renumber makes class numbers dense, in order of each class's smallest byte.
func renumber(cls *[256]int) int {
	var m [512]int
	for i := range m {
		m[i] = -1
	}
	n := 0
	for b := range 256 {
		if m[cls[b]] < 0 {
			m[cls[b]] = n
			n++
		}
		cls[b] = m[cls[b]]
	}
	return n
}
