// Package bundle is the binary form of a compiled policy: what bpfboxc
// compile writes, bpfboxc explain reads, and bpfbox-run copies into BPF maps.
//
// Format v1 (docs/bundle.md has every byte): a 96-byte header — magic
// "BPFBOX\x00\x01", format version, flags, header length, total length,
// section count, the SHA-256 of the whole bundle (computed with the digest
// field zeroed), the compiler version and the exec DFA index — followed by a
// section table of {id, offset, length, count} and the sections themselves:
// strings, sources, profiles, rules, scopes, dfas, trans, accept, entries.
// Everything is little-endian, records have fixed sizes, offsets are 8-byte
// aligned and every enum has the explicit number of lang/policy.
//
// Encode is deterministic: the same Bundle gives the same bytes. Decode
// trusts nothing: it bounds every size, checks every offset, length, index,
// enum and DFA transition, verifies the digest, and returns an error (never
// panics) for truncated or corrupted input.
package bundle

import "crypto/sha256"

// Magic starts every bundle.
const Magic = "BPFBOX\x00\x01"

// Version is the format version this package writes and reads.
const Version = 1

// None marks an absent index (no profile, no dead state, no source).
const None = ^uint32(0)

// Profile flags.
const (
	ProfileComplain uint32 = 1 << 0 // #![complain]
	ProfileTainted  uint32 = 1 << 1 // tainted from exec (#![tainted], or no #[taint] rule)
	ProfileLiteral  uint32 = 1 << 2 // the attachment pattern has no glob syntax
	profileFlagsV1         = ProfileComplain | ProfileTainted | ProfileLiteral
)

// Rule and entry flags.
const (
	FlagAudit      uint8 = 1 << 0 // #[audit]
	FlagTransition uint8 = 1 << 1 // #[transition] (fs exec only)
	ruleFlagsV1          = FlagAudit | FlagTransition
)

// Bundle is a decoded (or to-be-encoded) bundle.
type Bundle struct {
	CompilerVersion string
	Digest          [sha256.Size]byte // set by Decode and Encode's caller; ignored by Encode
	Sources         []Source
	Profiles        []Profile
	Rules           []Rule  // every profile's rules; Profile.Rules is its range
	Scopes          []Scope // scope id i+1 is Scopes[i]; id 0 means unscoped
	DFAs            []DFA   // the profiles' fs DFAs and the exec DFA
	ExecDFA         uint32  // index in DFAs of the exec-attachment DFA
	Entries         []Entry // permission entries, referenced by ranges
}

// Range is a slice [First, First+Count) of another table.
type Range struct {
	First, Count uint32
}

// Source is one file the policy was compiled from.
type Source struct {
	Name   string
	Size   uint32
	Digest [sha256.Size]byte // SHA-256 of the file's bytes; zero when the text was not available
}

// Profile is one confined program.
type Profile struct {
	Pattern   string // attachment glob, absolute
	Source    uint32 // index in Sources, or None
	Line, Col uint32 // of #![profile]
	Flags     uint32 // Profile* bits
	Rules     Range  // in Bundle.Rules, source order
	FSDFA     uint32 // index in DFAs; its accepting states give ranges of fs entries
	Net       Range  // entries of net rules, source order
	Signal    Range  // entries of signal rules
	Ptrace    Range  // entries of ptrace rules
	Cap       Range  // entries of cap rules
}

// Rule is one rule as written, for positions and display. The kernel reads
// entries, not rules; rules let events and explain name the deciding rule.
type Rule struct {
	Kind      uint8  // policy.Kind
	Action    uint8  // policy.Action
	Flags     uint8  // Flag* bits
	Scope     uint32 // scope id, 0 = unscoped
	Source    uint32 // index in Sources, or None
	Line, Col uint32
	Text      string // the rule's source text, "" when unknown
	Object    string // fs: the path glob; signal/ptrace with a profile target: its PATH
	Modes     uint64 // as written: fs modes, net ops, signals, ptrace modes or caps
	Arg       uint32 // net: family; signal, ptrace: target kind; else 0
	Target    uint32 // signal, ptrace with a profile target: profile index or None; else None
}

// Scope is a function a rule may be limited to.
type Scope struct {
	Kind    uint8  // policy.ScopeKind: 1 func, 2 kfunc
	Symbol  string // function name
	Lib     string // func only: library path; "" = the profile's executable
	Profile uint32 // func without Lib: the profile whose executable holds Symbol; else None
}

// DFA is a deterministic automaton over bytes with byte equivalence
// classes: from state s, byte c goes to Trans[s*NumClasses+Classes[c]].
type DFA struct {
	NumStates  uint32
	NumClasses uint32
	Start      uint32
	Dead       uint32 // the state that never accepts and never leaves, or None
	Classes    [256]uint8
	Trans      []uint32 // NumStates*NumClasses state numbers
	// Accept has one range per state. In a profile's fs DFA it is the range
	// of Entries that apply to a path ending in that state (empty: none).
	// In the exec DFA, Count is 1 and First is the attaching profile's
	// index, or both are 0 when no profile attaches.
	Accept []Range
}

// Entry is one permission as the kernel reads it: a rule lowered to masks.
type Entry struct {
	Rule   uint32 // index in Bundle.Rules
	Scope  uint32 // scope id (0 = unscoped); stored as uint16
	Action uint8  // policy.Action
	Flags  uint8  // Flag* bits
	Arg    uint32 // net: family (0 = any); signal, ptrace: target kind; fs, cap: 0
	Target uint32 // target kind 5 (profile): profile index or None; else None
	Modes  uint64 // fs entries: write implies append (both bits set)
}

// Limits bound what Decode accepts.
type Limits struct {
	MaxSize           int    // bytes in the whole bundle
	MaxProfiles       uint32 // profiles
	MaxRules          uint32 // rules in all profiles
	MaxScopes         uint32 // scope ids (entries store them in 16 bits)
	MaxStates         uint32 // states of one DFA
	MaxEntriesInState uint32 // entries one accepting state may list
}

// DefaultLimits are what bpfbox-run and bpfboxc accept.
func DefaultLimits() Limits {
	return Limits{
		MaxSize:           64 << 20,
		MaxProfiles:       4096,
		MaxRules:          1 << 20,
		MaxScopes:         65535,
		MaxStates:         1 << 20,
		MaxEntriesInState: 4096,
	}
}

// Section ids (stable numbers; unknown ids are skipped by readers).
const (
	SecStrings  uint32 = 1
	SecSources  uint32 = 2
	SecProfiles uint32 = 3
	SecRules    uint32 = 4
	SecScopes   uint32 = 5
	SecDFAs     uint32 = 6
	SecTrans    uint32 = 7
	SecAccept   uint32 = 8
	SecEntries  uint32 = 9
)

var sectionNames = map[uint32]string{
	SecStrings: "strings", SecSources: "sources", SecProfiles: "profiles", SecRules: "rules",
	SecScopes: "scopes", SecDFAs: "dfas", SecTrans: "trans", SecAccept: "accept", SecEntries: "entries",
}

// Sizes of the fixed parts (bytes).
const (
	headerSize     = 96
	sectionRecSize = 16
	stringRecSize  = 8
	sourceRecSize  = 40
	profileRecSize = 64
	ruleRecSize    = 48
	scopeRecSize   = 16
	dfaRecSize     = 32 + 256
	acceptRecSize  = 8
	entryRecSize   = 24
)

// Header field offsets.
const (
	offMagic       = 0
	offVersion     = 8
	offFlags       = 10
	offHeaderLen   = 12
	offTotalLen    = 16
	offNumSections = 20
	offDigest      = 24
	offCompiler    = 56 // string index
	offExecDFA     = 60
	// 64..95 reserved, zero
)

// CellSize is the byte width of a transition cell: 2 when every state
// number fits in 16 bits, else 4 (the encoder always picks the smaller).
func CellSize(numStates uint32) uint32 {
	if numStates <= 1<<16 {
		return 2
	}
	return 4
}

// Walk runs d over path from the start state and returns the final state,
// stopping early in the dead state. It is the loop the kernel runs.
func (d *DFA) Walk(path string) uint32 {
	s := d.Start
	for i := 0; i < len(path); i++ {
		if s == d.Dead {
			return s
		}
		s = d.Trans[s*d.NumClasses+uint32(d.Classes[path[i]])]
	}
	return s
}
