package bundle

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
)

var le = binary.LittleEndian

// Encode writes b in format v1. The same Bundle always gives the same bytes:
// strings are numbered in the order they are first written and nothing
// depends on map order or the clock. b.Digest is ignored (the digest of the
// output is in its header; Sum reads it).
func Encode(b *Bundle) ([]byte, error) {
	if err := checkEncodable(b); err != nil {
		return nil, fmt.Errorf("encode bundle: %w", err)
	}
	e := &encoder{strIndex: map[string]uint32{"": 0}, strs: []string{""}}
	compiler := e.str(b.CompilerVersion)

	sources := make([]byte, 0, len(b.Sources)*sourceRecSize)
	for _, s := range b.Sources {
		sources = le.AppendUint32(sources, e.str(s.Name))
		sources = le.AppendUint32(sources, s.Size)
		sources = append(sources, s.Digest[:]...)
	}

	profiles := make([]byte, 0, len(b.Profiles)*profileRecSize)
	for _, p := range b.Profiles {
		for _, v := range []uint32{
			e.str(p.Pattern), p.Source, p.Line, p.Col, p.Flags, p.Rules.First, p.Rules.Count, p.FSDFA,
			p.Net.First, p.Net.Count, p.Signal.First, p.Signal.Count,
			p.Ptrace.First, p.Ptrace.Count, p.Cap.First, p.Cap.Count,
		} {
			profiles = le.AppendUint32(profiles, v)
		}
	}

	rules := make([]byte, 0, len(b.Rules)*ruleRecSize)
	for _, r := range b.Rules {
		rules = append(rules, r.Kind, r.Action, r.Flags, 0)
		for _, v := range []uint32{r.Scope, r.Source, r.Line, r.Col, e.str(r.Text), e.str(r.Object), r.Arg, r.Target, 0} {
			rules = le.AppendUint32(rules, v)
		}
		rules = le.AppendUint64(rules, r.Modes)
	}

	scopes := make([]byte, 0, len(b.Scopes)*scopeRecSize)
	for _, s := range b.Scopes {
		scopes = append(scopes, s.Kind, 0, 0, 0)
		scopes = le.AppendUint32(scopes, e.str(s.Symbol))
		scopes = le.AppendUint32(scopes, e.str(s.Lib))
		scopes = le.AppendUint32(scopes, s.Profile)
	}

	var dfas, trans, accept []byte
	acceptFirst := uint32(0)
	for _, d := range b.DFAs {
		for _, v := range []uint32{d.NumStates, d.NumClasses, d.Start, d.Dead, CellSize(d.NumStates), uint32(len(trans)), acceptFirst, 0} {
			dfas = le.AppendUint32(dfas, v)
		}
		dfas = append(dfas, d.Classes[:]...)
		trans = pad8(d.AppendCells(trans))
		for _, a := range d.Accept {
			accept = AppendAccept(accept, a)
		}
		acceptFirst += d.NumStates
	}

	entries := make([]byte, 0, len(b.Entries)*entryRecSize)
	for _, en := range b.Entries {
		entries = AppendEntry(entries, en)
	}

	strings := e.strTable()
	sections := []struct {
		id    uint32
		data  []byte
		count uint32
	}{
		{SecStrings, strings, uint32(len(e.strs))},
		{SecSources, sources, uint32(len(b.Sources))},
		{SecProfiles, profiles, uint32(len(b.Profiles))},
		{SecRules, rules, uint32(len(b.Rules))},
		{SecScopes, scopes, uint32(len(b.Scopes))},
		{SecDFAs, dfas, uint32(len(b.DFAs))},
		{SecTrans, trans, 0},
		{SecAccept, accept, uint32(len(accept) / acceptRecSize)},
		{SecEntries, entries, uint32(len(b.Entries))},
	}

	total := uint64(headerSize + len(sections)*sectionRecSize)
	for _, s := range sections {
		total += uint64(len(pad8(s.data)))
	}
	if total > math.MaxUint32 || total > uint64(DefaultLimits().MaxSize) {
		return nil, fmt.Errorf("encode bundle: %d bytes is over the limit of %d", total, DefaultLimits().MaxSize)
	}
	out := make([]byte, headerSize, total)
	copy(out[offMagic:], Magic)
	le.PutUint16(out[offVersion:], Version)
	le.PutUint16(out[offFlags:], 0)
	le.PutUint32(out[offHeaderLen:], headerSize)
	le.PutUint32(out[offTotalLen:], uint32(total))
	le.PutUint32(out[offNumSections:], uint32(len(sections)))
	le.PutUint32(out[offCompiler:], compiler)
	le.PutUint32(out[offExecDFA:], b.ExecDFA)
	off := uint32(headerSize + len(sections)*sectionRecSize)
	for _, s := range sections {
		out = le.AppendUint32(out, s.id)
		out = le.AppendUint32(out, off)
		out = le.AppendUint32(out, uint32(len(s.data)))
		out = le.AppendUint32(out, s.count)
		off += uint32(len(pad8(s.data)))
	}
	for _, s := range sections {
		out = append(out, pad8(s.data)...)
	}
	sum := digest(out)
	copy(out[offDigest:], sum[:])
	return out, nil
}

// Record sizes the kernel side mirrors in its map value types.
const (
	EntrySize  = entryRecSize  // one permission entry
	AcceptSize = acceptRecSize // one accept range
)

// AppendEntry appends en in its 24-byte bundle layout (also the layout of a
// BPF map value): u32 rule, u16 scope, u8 action, u8 flags, u32 arg,
// u32 target, u64 modes, little-endian.
func AppendEntry(dst []byte, en Entry) []byte {
	dst = le.AppendUint32(dst, en.Rule)
	dst = le.AppendUint16(dst, uint16(en.Scope))
	dst = append(dst, en.Action, en.Flags)
	dst = le.AppendUint32(dst, en.Arg)
	dst = le.AppendUint32(dst, en.Target)
	return le.AppendUint64(dst, en.Modes)
}

// AppendAccept appends an accept range: u32 first, u32 count.
func AppendAccept(dst []byte, a Range) []byte {
	dst = le.AppendUint32(dst, a.First)
	return le.AppendUint32(dst, a.Count)
}

// AppendCells appends d's transition table as the bundle stores it: row-major
// cells of CellSize(d.NumStates) bytes, little-endian, without padding.
func (d *DFA) AppendCells(dst []byte) []byte {
	if CellSize(d.NumStates) == 2 {
		for _, t := range d.Trans {
			dst = le.AppendUint16(dst, uint16(t))
		}
		return dst
	}
	for _, t := range d.Trans {
		dst = le.AppendUint32(dst, t)
	}
	return dst
}

// Sum returns the digest stored in an encoded bundle's header.
func Sum(data []byte) (sum [sha256.Size]byte) {
	if len(data) >= offDigest+sha256.Size {
		copy(sum[:], data[offDigest:])
	}
	return sum
}

// digest is the SHA-256 of data with the header's digest field read as zeros.
func digest(data []byte) [sha256.Size]byte {
	h := sha256.New()
	h.Write(data[:offDigest])
	h.Write(make([]byte, sha256.Size))
	h.Write(data[offDigest+sha256.Size:])
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

type encoder struct {
	strIndex map[string]uint32
	strs     []string
}

// str returns the index of s in the string table, adding it on first use.
func (e *encoder) str(s string) uint32 {
	if i, ok := e.strIndex[s]; ok {
		return i
	}
	i := uint32(len(e.strs))
	e.strIndex[s] = i
	e.strs = append(e.strs, s)
	return i
}

// strTable lays out {offset, length} records followed by the bytes.
func (e *encoder) strTable() []byte {
	out := make([]byte, 0, len(e.strs)*stringRecSize)
	off := uint32(0)
	for _, s := range e.strs {
		out = le.AppendUint32(out, off)
		out = le.AppendUint32(out, uint32(len(s)))
		off += uint32(len(s))
	}
	for _, s := range e.strs {
		out = append(out, s...)
	}
	return out
}

func pad8(b []byte) []byte {
	for len(b)%8 != 0 {
		b = append(b, 0)
	}
	return b
}

// checkEncodable refuses what v1 cannot represent; Decode checks the rest,
// and the compiler decodes what it encodes before writing it out.
func checkEncodable(b *Bundle) error {
	for i, d := range b.DFAs {
		if uint64(len(d.Trans)) != uint64(d.NumStates)*uint64(d.NumClasses) {
			return fmt.Errorf("dfa %d: %d transitions for %d states × %d classes", i, len(d.Trans), d.NumStates, d.NumClasses)
		}
		if uint32(len(d.Accept)) != d.NumStates {
			return fmt.Errorf("dfa %d: %d accept ranges for %d states", i, len(d.Accept), d.NumStates)
		}
	}
	for i, en := range b.Entries {
		if en.Scope > math.MaxUint16 {
			return fmt.Errorf("entry %d: scope id %d does not fit in 16 bits", i, en.Scope)
		}
	}
	return nil
}
