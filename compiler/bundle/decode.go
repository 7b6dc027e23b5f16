package bundle

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
)

// Valid masks of the modes of each rule kind (policy.Kind numbers).
var validModes = [6]uint64{
	1: 1<<11 - 1, // fs: read … ioctl
	2: 1<<8 - 1,  // net: create … shutdown
	3: ^uint64(0),
	4: 1<<2 - 1,  // ptrace: read attach
	5: 1<<41 - 1, // caps 0 … 40
}

const (
	fsExec   = 1 << 3
	fsWrite  = 1 << 1
	fsAppend = 1 << 2
)

// ErrFormat is wrapped by every error about malformed input.
var ErrFormat = errors.New("malformed bundle")

// Decode reads a bundle with DefaultLimits.
func Decode(data []byte) (*Bundle, error) { return DecodeLimits(data, DefaultLimits()) }

// DecodeLimits reads and fully validates a bundle. Every reference between
// tables is checked, so users of the result may index without checks.
func DecodeLimits(data []byte, lim Limits) (*Bundle, error) {
	d := &decoder{data: data, lim: lim}
	b, err := d.decode()
	if err != nil {
		return nil, fmt.Errorf("decode bundle: %w", err)
	}
	return b, nil
}

type decoder struct {
	data     []byte
	lim      Limits
	sections map[uint32]section
	strData  string
	strRecs  []byte
	numStrs  uint32
}

type section struct {
	data  []byte
	count uint32
}

// formatError is a malformed-input error: errors.Is(err, ErrFormat) holds,
// and the message is only the finding.
type formatError struct{ msg string }

func (e *formatError) Error() string        { return e.msg }
func (e *formatError) Is(target error) bool { return target == ErrFormat }

func bad(format string, args ...any) error {
	return &formatError{msg: fmt.Sprintf(format, args...)}
}

func (d *decoder) decode() (*Bundle, error) {
	data := d.data
	if len(data) > d.lim.MaxSize {
		return nil, bad("%d bytes is over the limit of %d", len(data), d.lim.MaxSize)
	}
	if len(data) < headerSize {
		return nil, bad("truncated: %d bytes, the header alone has %d", len(data), headerSize)
	}
	if string(data[:8]) != Magic {
		return nil, bad("not a bpfbox bundle (bad magic %q)", data[:8])
	}
	if v := le.Uint16(data[offVersion:]); v != Version {
		return nil, bad("format version %d is not supported (this build reads %d)", v, Version)
	}
	if f := le.Uint16(data[offFlags:]); f != 0 {
		return nil, bad("unknown header flags %#x", f)
	}
	hlen := le.Uint32(data[offHeaderLen:])
	if hlen < headerSize || hlen%8 != 0 || uint64(hlen) > uint64(len(data)) {
		return nil, bad("header length %d is invalid", hlen)
	}
	if total := le.Uint32(data[offTotalLen:]); uint64(total) != uint64(len(data)) {
		return nil, bad("truncated or padded: header says %d bytes, have %d", total, len(data))
	}
	if !bytes.Equal(data[64:headerSize], make([]byte, headerSize-64)) {
		return nil, bad("reserved header bytes are not zero")
	}
	want := digest(data)
	if !bytes.Equal(want[:], data[offDigest:offDigest+sha256.Size]) {
		return nil, bad("digest mismatch: the bundle is corrupted")
	}
	if err := d.readSections(hlen); err != nil {
		return nil, err
	}

	b := &Bundle{}
	copy(b.Digest[:], data[offDigest:])
	var err error
	if err = d.readStrings(); err != nil {
		return nil, err
	}
	if b.CompilerVersion, err = d.str(le.Uint32(data[offCompiler:])); err != nil {
		return nil, bad("header: compiler version: %v", err)
	}
	counts := d.counts()
	if b.Sources, err = d.readSources(); err != nil {
		return nil, err
	}
	if b.Scopes, err = d.readScopes(counts); err != nil {
		return nil, err
	}
	if b.Rules, err = d.readRules(counts, len(b.Sources)); err != nil {
		return nil, err
	}
	if b.Entries, err = d.readEntries(counts, b.Rules); err != nil {
		return nil, err
	}
	if b.DFAs, err = d.readDFAs(); err != nil {
		return nil, err
	}
	b.ExecDFA = le.Uint32(data[offExecDFA:])
	if b.ExecDFA >= uint32(len(b.DFAs)) {
		return nil, bad("header: exec dfa %d out of range (have %d)", b.ExecDFA, len(b.DFAs))
	}
	if b.Profiles, err = d.readProfiles(b); err != nil {
		return nil, err
	}
	if err := checkExecDFA(&b.DFAs[b.ExecDFA], uint32(len(b.Profiles))); err != nil {
		return nil, bad("section dfas: exec dfa %d: %v", b.ExecDFA, err)
	}
	return b, nil
}

func (d *decoder) readSections(hlen uint32) error {
	n := le.Uint32(d.data[offNumSections:])
	if n > 64 {
		return bad("section table: %d sections is over the limit of 64", n)
	}
	end := uint64(hlen) + uint64(n)*sectionRecSize
	if end > uint64(len(d.data)) {
		return bad("section table: truncated")
	}
	d.sections = map[uint32]section{}
	prevID, prevEnd := uint32(0), end
	for i := uint32(0); i < n; i++ {
		rec := d.data[uint64(hlen)+uint64(i)*sectionRecSize:]
		id, off, length, count := le.Uint32(rec), le.Uint32(rec[4:]), le.Uint32(rec[8:]), le.Uint32(rec[12:])
		if id <= prevID {
			return bad("section table: entry %d: section id %d is not above %d (ids must increase)", i, id, prevID)
		}
		if off%8 != 0 || uint64(off) < prevEnd || uint64(off)+uint64(length) > uint64(len(d.data)) {
			return bad("section table: section %s: offset %d length %d is outside the bundle or overlaps", secName(id), off, length)
		}
		prevID, prevEnd = id, uint64(off)+uint64(length)
		if _, known := sectionNames[id]; known {
			d.sections[id] = section{data: d.data[off : off+length], count: count}
		}
	}
	for id := SecStrings; id <= SecEntries; id++ {
		if _, ok := d.sections[id]; !ok {
			return bad("section %s: missing", secName(id))
		}
	}
	return nil
}

func secName(id uint32) string {
	if n, ok := sectionNames[id]; ok {
		return n
	}
	return fmt.Sprintf("#%d", id)
}

// records returns section id's data split check: count*size must be its length.
func (d *decoder) records(id uint32, size int) (section, error) {
	s := d.sections[id]
	if uint64(s.count)*uint64(size) != uint64(len(s.data)) {
		return s, bad("section %s: length %d is not %d records of %d bytes", secName(id), len(s.data), s.count, size)
	}
	return s, nil
}

type tableCounts struct {
	profiles, rules, scopes, dfas, entries uint32
}

func (d *decoder) counts() tableCounts {
	return tableCounts{
		profiles: d.sections[SecProfiles].count, rules: d.sections[SecRules].count,
		scopes: d.sections[SecScopes].count, dfas: d.sections[SecDFAs].count, entries: d.sections[SecEntries].count,
	}
}

func (d *decoder) readStrings() error {
	s := d.sections[SecStrings]
	if uint64(s.count)*stringRecSize > uint64(len(s.data)) {
		return bad("section strings: %d records do not fit in %d bytes", s.count, len(s.data))
	}
	if s.count == 0 {
		return bad("section strings: empty (string 0 must be \"\")")
	}
	d.numStrs = s.count
	d.strRecs = s.data[:s.count*stringRecSize]
	d.strData = string(s.data[s.count*stringRecSize:]) // one copy; strings are substrings of it
	for i := uint32(0); i < s.count; i++ {
		off, n := le.Uint32(d.strRecs[i*8:]), le.Uint32(d.strRecs[i*8+4:])
		if uint64(off)+uint64(n) > uint64(len(d.strData)) {
			return bad("section strings: string %d: bytes %d..%d outside the %d bytes of text", i, off, uint64(off)+uint64(n), len(d.strData))
		}
		if i == 0 && n != 0 {
			return bad("section strings: string 0 must be empty")
		}
	}
	return nil
}

func (d *decoder) str(i uint32) (string, error) {
	if i >= d.numStrs {
		return "", bad("string %d out of range (have %d)", i, d.numStrs)
	}
	off, n := le.Uint32(d.strRecs[i*8:]), le.Uint32(d.strRecs[i*8+4:])
	return d.strData[off : off+n], nil
}

func (d *decoder) readSources() ([]Source, error) {
	s, err := d.records(SecSources, sourceRecSize)
	if err != nil {
		return nil, err
	}
	out := make([]Source, s.count)
	for i := range out {
		rec := s.data[i*sourceRecSize:]
		if out[i].Name, err = d.str(le.Uint32(rec)); err != nil {
			return nil, bad("section sources: source %d: name: %v", i, err)
		}
		out[i].Size = le.Uint32(rec[4:])
		copy(out[i].Digest[:], rec[8:40])
	}
	return out, nil
}

func (d *decoder) readScopes(c tableCounts) ([]Scope, error) {
	s, err := d.records(SecScopes, scopeRecSize)
	if err != nil {
		return nil, err
	}
	if s.count > d.lim.MaxScopes {
		return nil, bad("section scopes: %d scopes is over the limit of %d", s.count, d.lim.MaxScopes)
	}
	out := make([]Scope, s.count)
	for i := range out {
		rec := s.data[i*scopeRecSize:]
		fail := func(format string, args ...any) error {
			return bad("section scopes: scope id %d: "+format, append([]any{i + 1}, args...)...)
		}
		sc := &out[i]
		sc.Kind = rec[0]
		if rec[1] != 0 || rec[2] != 0 || rec[3] != 0 {
			return nil, fail("reserved bytes are not zero")
		}
		if sc.Symbol, err = d.str(le.Uint32(rec[4:])); err != nil {
			return nil, fail("symbol: %v", err)
		}
		if sc.Lib, err = d.str(le.Uint32(rec[8:])); err != nil {
			return nil, fail("library: %v", err)
		}
		sc.Profile = le.Uint32(rec[12:])
		if sc.Symbol == "" {
			return nil, fail("empty symbol")
		}
		switch sc.Kind {
		case 1: // func: in the profile's executable (Profile set) or in Lib
			if (sc.Lib == "") != (sc.Profile != None) {
				return nil, fail("a func scope names either a library or a profile (library %q, profile %d)", sc.Lib, int32(sc.Profile))
			}
			if sc.Profile != None && sc.Profile >= c.profiles {
				return nil, fail("profile %d out of range (have %d)", sc.Profile, c.profiles)
			}
		case 2: // kfunc
			if sc.Lib != "" || sc.Profile != None {
				return nil, fail("a kfunc scope has no library or profile")
			}
		default:
			return nil, fail("unknown scope kind %d", sc.Kind)
		}
	}
	return out, nil
}

// checkRuleFields validates what rules and entries share.
func checkRuleFields(kind, action, flags uint8, scope uint32, modes uint64, arg, target uint32, c tableCounts) error {
	if kind < 1 || kind > 5 {
		return fmt.Errorf("unknown rule kind %d", kind)
	}
	if action < 1 || action > 3 {
		return fmt.Errorf("unknown action %d", action)
	}
	if flags&^ruleFlagsV1 != 0 {
		return fmt.Errorf("unknown flags %#x", flags)
	}
	if flags&FlagTransition != 0 && (kind != 1 || modes&fsExec == 0) {
		return fmt.Errorf("transition flag on a rule that does not grant fs exec")
	}
	if flags&FlagTransition != 0 && action == 3 {
		return fmt.Errorf("transition flag on a deny rule")
	}
	if scope > c.scopes {
		return fmt.Errorf("scope id %d out of range (have %d)", scope, c.scopes)
	}
	if modes == 0 || modes&^validModes[kind] != 0 {
		return fmt.Errorf("modes %#x are not valid for kind %d", modes, kind)
	}
	switch kind {
	case 2: // net
		if arg > 5 {
			return fmt.Errorf("unknown family %d", arg)
		}
		if target != None {
			return fmt.Errorf("target %d on a net rule", target)
		}
	case 3, 4: // signal, ptrace
		if arg < 1 || arg > 5 {
			return fmt.Errorf("unknown target kind %d", arg)
		}
		if arg == 5 {
			if target != None && target >= c.profiles {
				return fmt.Errorf("target profile %d out of range (have %d)", target, c.profiles)
			}
		} else if target != None {
			return fmt.Errorf("target profile %d with target kind %d", target, arg)
		}
	default:
		if arg != 0 || target != None {
			return fmt.Errorf("argument %d / target %d on a kind %d rule", arg, target, kind)
		}
	}
	return nil
}

func (d *decoder) readRules(c tableCounts, numSources int) ([]Rule, error) {
	s, err := d.records(SecRules, ruleRecSize)
	if err != nil {
		return nil, err
	}
	if s.count > d.lim.MaxRules {
		return nil, bad("section rules: %d rules is over the limit of %d", s.count, d.lim.MaxRules)
	}
	out := make([]Rule, s.count)
	for i := range out {
		rec := s.data[i*ruleRecSize:]
		r := &out[i]
		r.Kind, r.Action, r.Flags = rec[0], rec[1], rec[2]
		r.Scope, r.Source, r.Line, r.Col = le.Uint32(rec[4:]), le.Uint32(rec[8:]), le.Uint32(rec[12:]), le.Uint32(rec[16:])
		text, object := le.Uint32(rec[20:]), le.Uint32(rec[24:])
		r.Arg, r.Target = le.Uint32(rec[28:]), le.Uint32(rec[32:])
		r.Modes = le.Uint64(rec[40:])
		if rec[3] != 0 || le.Uint32(rec[36:]) != 0 {
			return nil, bad("section rules: rule %d: reserved bytes are not zero", i)
		}
		if err := checkRuleFields(r.Kind, r.Action, r.Flags, r.Scope, r.Modes, r.Arg, r.Target, c); err != nil {
			return nil, bad("section rules: rule %d: %v", i, err)
		}
		if r.Source != None && r.Source >= uint32(numSources) {
			return nil, bad("section rules: rule %d: source %d out of range (have %d)", i, r.Source, numSources)
		}
		if r.Text, err = d.str(text); err != nil {
			return nil, bad("section rules: rule %d: text: %v", i, err)
		}
		if r.Object, err = d.str(object); err != nil {
			return nil, bad("section rules: rule %d: object: %v", i, err)
		}
		if r.Kind == 1 && r.Object == "" {
			return nil, bad("section rules: rule %d: fs rule without a path", i)
		}
	}
	return out, nil
}

// EntryModes gives the modes an entry of rule r carries: fs write implies append.
func EntryModes(kind uint8, modes uint64) uint64 {
	if kind == 1 && modes&fsWrite != 0 {
		modes |= fsAppend
	}
	return modes
}

func (d *decoder) readEntries(c tableCounts, rules []Rule) ([]Entry, error) {
	s, err := d.records(SecEntries, entryRecSize)
	if err != nil {
		return nil, err
	}
	out := make([]Entry, s.count)
	for i := range out {
		rec := s.data[i*entryRecSize:]
		en := &out[i]
		en.Rule, en.Scope = le.Uint32(rec), uint32(le.Uint16(rec[4:]))
		en.Action, en.Flags = rec[6], rec[7]
		en.Arg, en.Target, en.Modes = le.Uint32(rec[8:]), le.Uint32(rec[12:]), le.Uint64(rec[16:])
		if en.Rule >= uint32(len(rules)) {
			return nil, bad("section entries: entry %d: rule %d out of range (have %d)", i, en.Rule, len(rules))
		}
		r := &rules[en.Rule]
		if err := checkRuleFields(r.Kind, en.Action, en.Flags, en.Scope, en.Modes, en.Arg, en.Target, c); err != nil {
			return nil, bad("section entries: entry %d: %v", i, err)
		}
		if en.Scope != r.Scope || en.Action != r.Action || en.Flags != r.Flags || en.Arg != r.Arg ||
			en.Target != r.Target || en.Modes != EntryModes(r.Kind, r.Modes) {
			return nil, bad("section entries: entry %d: does not match its rule %d", i, en.Rule)
		}
	}
	return out, nil
}

func (d *decoder) readDFAs() ([]DFA, error) {
	s, err := d.records(SecDFAs, dfaRecSize)
	if err != nil {
		return nil, err
	}
	acc, err := d.records(SecAccept, acceptRecSize)
	if err != nil {
		return nil, err
	}
	trans := d.sections[SecTrans].data
	if uint64(s.count) > uint64(d.lim.MaxProfiles)+1 {
		return nil, bad("section dfas: %d dfas is over the limit of %d", s.count, d.lim.MaxProfiles+1)
	}
	out := make([]DFA, s.count)
	nextTrans, nextAccept := uint64(0), uint64(0)
	for i := range out {
		rec := s.data[i*dfaRecSize:]
		fail := func(format string, args ...any) error {
			return bad("section dfas: dfa %d: "+format, append([]any{i}, args...)...)
		}
		df := &out[i]
		df.NumStates, df.NumClasses, df.Start, df.Dead = le.Uint32(rec), le.Uint32(rec[4:]), le.Uint32(rec[8:]), le.Uint32(rec[12:])
		cell, transOff, acceptFirst := le.Uint32(rec[16:]), le.Uint32(rec[20:]), le.Uint32(rec[24:])
		if le.Uint32(rec[28:]) != 0 {
			return nil, fail("reserved bytes are not zero")
		}
		copy(df.Classes[:], rec[32:dfaRecSize])
		if df.NumStates == 0 || df.NumStates > d.lim.MaxStates {
			return nil, fail("%d states (must be 1..%d)", df.NumStates, d.lim.MaxStates)
		}
		if df.NumClasses == 0 || df.NumClasses > 256 {
			return nil, fail("%d byte classes (must be 1..256)", df.NumClasses)
		}
		if df.Start >= df.NumStates {
			return nil, fail("start state %d out of range (have %d)", df.Start, df.NumStates)
		}
		if df.Dead != None && df.Dead >= df.NumStates {
			return nil, fail("dead state %d out of range (have %d)", df.Dead, df.NumStates)
		}
		for c, cls := range df.Classes {
			if uint32(cls) >= df.NumClasses {
				return nil, fail("byte %#02x: class %d out of range (have %d)", c, cls, df.NumClasses)
			}
		}
		if cell != CellSize(df.NumStates) {
			return nil, fail("cell size %d, want %d for %d states", cell, CellSize(df.NumStates), df.NumStates)
		}
		cells := uint64(df.NumStates) * uint64(df.NumClasses)
		// Tables follow each other in DFA order, so no two DFAs share bytes
		// and what Decode allocates is bounded by the input's size.
		if uint64(transOff) != nextTrans || uint64(transOff)+cells*uint64(cell) > uint64(len(trans)) {
			return nil, fail("transitions at %d (%d cells of %d bytes): want offset %d within section trans (%d bytes)", transOff, cells, cell, nextTrans, len(trans))
		}
		nextTrans = (uint64(transOff) + cells*uint64(cell) + 7) &^ 7
		df.Trans = make([]uint32, cells)
		for j := range df.Trans {
			var t uint32
			if cell == 2 {
				t = uint32(le.Uint16(trans[uint64(transOff)+uint64(j)*2:]))
			} else {
				t = le.Uint32(trans[uint64(transOff)+uint64(j)*4:])
			}
			if t >= df.NumStates {
				return nil, fail("state %d class %d: target %d out of range (have %d)", uint32(j)/df.NumClasses, uint32(j)%df.NumClasses, t, df.NumStates)
			}
			df.Trans[j] = t
		}
		if df.Dead != None {
			for c := uint32(0); c < df.NumClasses; c++ {
				if df.Trans[df.Dead*df.NumClasses+c] != df.Dead {
					return nil, fail("dead state %d leaves on class %d", df.Dead, c)
				}
			}
		}
		if uint64(acceptFirst) != nextAccept || uint64(acceptFirst)+uint64(df.NumStates) > uint64(acc.count) {
			return nil, fail("accept ranges %d..%d: want first %d within section accept (%d)", acceptFirst, uint64(acceptFirst)+uint64(df.NumStates), nextAccept, acc.count)
		}
		nextAccept += uint64(df.NumStates)
		df.Accept = make([]Range, df.NumStates)
		for j := range df.Accept {
			r := acc.data[(uint64(acceptFirst)+uint64(j))*acceptRecSize:]
			df.Accept[j] = Range{First: le.Uint32(r), Count: le.Uint32(r[4:])}
		}
		if df.Dead != None && df.Accept[df.Dead].Count != 0 {
			return nil, fail("dead state %d accepts", df.Dead)
		}
	}
	if nextTrans != uint64(len(trans)) || nextAccept != uint64(acc.count) {
		return nil, bad("section trans/accept: %d/%d bytes/ranges, the dfas use %d/%d", len(trans), acc.count, nextTrans, nextAccept)
	}
	return out, nil
}

func checkExecDFA(df *DFA, numProfiles uint32) error {
	for s, a := range df.Accept {
		switch {
		case a.Count == 0 && a.First == 0:
		case a.Count == 1 && a.First < numProfiles:
		default:
			return bad("state %d: accept {%d, %d} is not a profile index (have %d profiles)", s, a.First, a.Count, numProfiles)
		}
	}
	return nil
}

func (d *decoder) readProfiles(b *Bundle) ([]Profile, error) {
	s, err := d.records(SecProfiles, profileRecSize)
	if err != nil {
		return nil, err
	}
	if s.count > d.lim.MaxProfiles {
		return nil, bad("section profiles: %d profiles is over the limit of %d", s.count, d.lim.MaxProfiles)
	}
	out := make([]Profile, s.count)
	nextRule := uint32(0)
	usedDFA := make([]bool, len(b.DFAs))
	usedDFA[b.ExecDFA] = true
	idx := newEntryIndex(b)
	for i := range out {
		rec := s.data[i*profileRecSize:]
		fail := func(format string, args ...any) error {
			return bad("section profiles: profile %d: "+format, append([]any{i}, args...)...)
		}
		var v [16]uint32
		for j := range v {
			v[j] = le.Uint32(rec[j*4:])
		}
		p := &out[i]
		if p.Pattern, err = d.str(v[0]); err != nil {
			return nil, fail("pattern: %v", err)
		}
		if p.Pattern == "" || p.Pattern[0] != '/' {
			return nil, fail("pattern %q is not an absolute path", p.Pattern)
		}
		p.Source, p.Line, p.Col, p.Flags = v[1], v[2], v[3], v[4]
		p.Rules, p.FSDFA = Range{v[5], v[6]}, v[7]
		p.Net, p.Signal, p.Ptrace, p.Cap = Range{v[8], v[9]}, Range{v[10], v[11]}, Range{v[12], v[13]}, Range{v[14], v[15]}
		if p.Source != None && p.Source >= uint32(len(b.Sources)) {
			return nil, fail("source %d out of range (have %d)", p.Source, len(b.Sources))
		}
		if p.Flags&^profileFlagsV1 != 0 {
			return nil, fail("unknown flags %#x", p.Flags)
		}
		if p.Rules.First != nextRule || uint64(p.Rules.First)+uint64(p.Rules.Count) > uint64(len(b.Rules)) {
			return nil, fail("rules %d..%d do not follow the previous profile's (next is %d of %d)", p.Rules.First, uint64(p.Rules.First)+uint64(p.Rules.Count), nextRule, len(b.Rules))
		}
		nextRule += p.Rules.Count
		if p.FSDFA >= uint32(len(b.DFAs)) || usedDFA[p.FSDFA] {
			return nil, fail("fs dfa %d out of range or shared (have %d)", p.FSDFA, len(b.DFAs))
		}
		usedDFA[p.FSDFA] = true
		for kind, r := range []Range{2: p.Net, 3: p.Signal, 4: p.Ptrace, 5: p.Cap} {
			if kind < 2 {
				continue
			}
			if err := idx.check(b, r, p.Rules, uint8(kind)); err != nil {
				return nil, fail("%s entries: %v", kindName(uint8(kind)), err)
			}
		}
		df := &b.DFAs[p.FSDFA]
		for st, r := range df.Accept {
			if r.Count > d.lim.MaxEntriesInState {
				return nil, fail("fs dfa state %d: %d entries is over the limit of %d", st, r.Count, d.lim.MaxEntriesInState)
			}
			if err := idx.check(b, r, p.Rules, 1); err != nil {
				return nil, fail("fs dfa state %d: %v", st, err)
			}
		}
	}
	if nextRule != uint32(len(b.Rules)) {
		return nil, bad("section rules: %d rules belong to no profile", uint32(len(b.Rules))-nextRule)
	}
	for i, used := range usedDFA {
		if !used {
			return nil, bad("section dfas: dfa %d belongs to no profile", i)
		}
	}
	return out, nil
}

// entryIndex answers "are entries [f, f+n) all of kind k, ordered by rule,
// and owned by these rules?" in constant time, so that a bundle whose
// million accept ranges overlap cannot make validation quadratic.
type entryIndex struct {
	breaks []uint32    // breaks[i]: entries j < i with Rule not above entry j-1's
	ofKind [6][]uint32 // ofKind[k][i]: entries j < i whose rule has kind k
}

func newEntryIndex(b *Bundle) *entryIndex {
	n := len(b.Entries)
	x := &entryIndex{breaks: make([]uint32, n+1)}
	for k := 1; k <= 5; k++ {
		x.ofKind[k] = make([]uint32, n+1)
	}
	for i, en := range b.Entries {
		br := uint32(0)
		if i > 0 && en.Rule <= b.Entries[i-1].Rule {
			br = 1
		}
		x.breaks[i+1] = x.breaks[i] + br
		kind := b.Rules[en.Rule].Kind
		for k := 1; k <= 5; k++ {
			x.ofKind[k][i+1] = x.ofKind[k][i]
		}
		x.ofKind[kind][i+1]++
	}
	return x
}

// check checks that r lies in the entries and that each entry is of kind,
// belongs to the profile's rules, and comes in source order.
func (x *entryIndex) check(b *Bundle, r Range, rules Range, kind uint8) error {
	end := uint64(r.First) + uint64(r.Count)
	if end > uint64(len(b.Entries)) {
		return fmt.Errorf("entries %d..%d out of range (have %d)", r.First, end, len(b.Entries))
	}
	if r.Count == 0 {
		if r.First != 0 {
			return fmt.Errorf("empty range starts at %d (must be 0)", r.First)
		}
		return nil
	}
	if x.ofKind[kind][end]-x.ofKind[kind][r.First] != r.Count {
		return fmt.Errorf("entries %d..%d: not all are %s entries", r.First, end, kindName(kind))
	}
	if x.breaks[end]-x.breaks[r.First+1] != 0 {
		return fmt.Errorf("entries %d..%d: rules out of source order", r.First, end)
	}
	// Ordered, so the first and last bound every rule in between.
	if b.Entries[r.First].Rule < rules.First || b.Entries[end-1].Rule >= rules.First+rules.Count {
		return fmt.Errorf("entries %d..%d: rules of another profile", r.First, end)
	}
	return nil
}

func kindName(k uint8) string {
	switch k {
	case 1:
		return "fs"
	case 2:
		return "net"
	case 3:
		return "signal"
	case 4:
		return "ptrace"
	case 5:
		return "cap"
	}
	return fmt.Sprintf("kind %d", k)
}
