// Package policy is the checked, resolved form of .bbx profiles: what the
// type checker produces and the compiler consumes. Every enum has explicit
// numbers because they are written into bundles and read by the kernel side.
package policy

import "github.com/bpfbox/bpfbox/lang/source"

// Policy is every profile of one bundle, in the order their files were given.
type Policy struct {
	Profiles []*Profile
	Sources  []SourceFile // every file read (profiles and includes), for digests
}

// SourceFile is one file read while checking. Std includes are named "<name>".
type SourceFile struct {
	Name string
	Data []byte
}

// Profile is one #![profile] file with its includes spliced in.
type Profile struct {
	File     string      // the file that declared it
	Path     string      // attachment glob, absolute
	PathSpan source.Span // where #![profile] was written
	Complain bool        // #![complain]
	Tainted  bool        // #![tainted], or no #[taint] rule at all
	Rules    []*Rule     // in source order, includes expanded in place
}

// Action is what a rule does with the access it matches.
type Action uint8

const (
	Allow Action = 1
	Taint Action = 2 // grant, and taint the process
	Deny  Action = 3 // refuse and log, tainted or not
)

func (a Action) String() string {
	switch a {
	case Allow:
		return "allow"
	case Taint:
		return "taint"
	case Deny:
		return "deny"
	}
	return "action?"
}

// Kind is the rule kind.
type Kind uint8

const (
	FS     Kind = 1
	Net    Kind = 2
	Signal Kind = 3
	Ptrace Kind = 4
	Cap    Kind = 5
)

func (k Kind) String() string {
	switch k {
	case FS:
		return "fs"
	case Net:
		return "net"
	case Signal:
		return "signal"
	case Ptrace:
		return "ptrace"
	case Cap:
		return "cap"
	}
	return "kind?"
}

// ScopeKind says where a scoped rule applies.
type ScopeKind uint8

const (
	FuncScope  ScopeKind = 1 // #[func "SYM"] or #[func "SYM" in "LIB"]
	KFuncScope ScopeKind = 2 // #[kfunc "NAME"]
)

// Scope limits a rule to the time the current thread runs inside a function.
type Scope struct {
	Kind   ScopeKind
	Symbol string
	Lib    string // FuncScope only; "" means the profiled executable
	Span   source.Span
}

// TargetKind is the target of signal and ptrace rules.
type TargetKind uint8

const (
	TargetSelf    TargetKind = 1
	TargetChild   TargetKind = 2
	TargetParent  TargetKind = 3
	TargetAny     TargetKind = 4
	TargetProfile TargetKind = 5 // processes confined by the profile whose PATH is Target.Profile
)

// Target of a signal or ptrace rule.
type Target struct {
	Kind    TargetKind
	Profile string // TargetProfile only
}

// Rule is one checked rule. Exactly the fields of its Kind are set.
type Rule struct {
	ID         int // index in Profile.Rules
	Kind       Kind
	Action     Action
	Audit      bool
	Transition bool   // fs exec rules only
	Scope      *Scope // nil: always active
	Span       source.Span

	Path    string // FS: absolute glob
	FSModes FSMode // FS
	Family  Family // Net
	NetOps  NetOp  // Net
	Target  Target // Signal, Ptrace
	Signals SigSet // Signal
	Ptrace  PtraceMode
	Caps    CapSet // Cap
}
