// Package decide is the decision procedure of bpfbox, computed from a decoded
// bundle alone. It is the specification the kernel programs mirror, step for
// step, so it is written as plain table walks with no cleverness:
//
// Attachment (exec of an unconfined task, and #[transition]):
//
//	s := ExecDFA.Start; for each byte c of the resolved path: s = Trans[s*NumClasses + Classes[c]]
//	  (stop early at Dead); Accept[s].Count == 1 → attach to profile Accept[s].First.
//
// Access check of profile P for object O, requested mode bits M (≠ 0),
// taint flag T and the thread's active scope ids A:
//
//  1. Candidates: the entries of P for O, in order (source order of their
//     rules): fs — walk P's fs DFA over the path as above and take
//     Entries[Accept[s].First : +Count]; net — P.Net entries whose Arg
//     (family) is 0 (any) or O's family; signal/ptrace — P.Signal/P.Ptrace
//     entries whose target matches (Arg 4 any; 1 self, 2 child, 3 parent as
//     the relation of the target task; 5 when Target is the target task's
//     profile); cap — P.Cap. Keep an entry when its Scope is 0 or in A, and
//     Modes & M ≠ 0.
//  2. The first candidate with Action deny decides: DENY.
//  3. Untainted (T false): ALLOW. The first taint candidate, if any, taints
//     the process and is the deciding rule; else the first allow candidate
//     (none: allowed by default).
//  4. Tainted: OR the Modes of the allow and taint candidates; ALLOW iff that
//     covers M (deciding rule: the first of them), else DENY (no rule: the
//     default deny of a tainted process; Missing says which modes).
//  5. Audit: the first candidate with FlagAudit audits the access.
//  6. Transition (fs, M has exec, decision ALLOW): the first allow or taint
//     candidate with FlagTransition moves the process to the profile the
//     exec DFA attaches to the path; when none attaches, it keeps P.
//  7. Complain (P has ProfileComplain, or the runtime says so): everything
//     above happens (taint included), but a DENY is not enforced.
//
// An event is logged for every denial (enforced or not), audit, taint and
// transition, naming the deciding rule.
package decide

import (
	"fmt"

	"github.com/bpfbox/bpfbox/compiler/bundle"
	"github.com/bpfbox/bpfbox/lang/policy"
)

// None is an absent rule or profile index.
const None = bundle.None

// Target describes the task a signal or ptrace request is aimed at.
type Target struct {
	Relation policy.TargetKind // TargetSelf, TargetChild, TargetParent, or TargetAny for an unrelated task
	Profile  uint32            // the target task's profile, or None when it is not confined
}

// Request is one access to decide.
type Request struct {
	Profile  uint32      // index of the requesting task's profile
	Kind     policy.Kind // operation kind
	Path     string      // FS: the resolved path
	Family   policy.Family
	Target   Target
	Modes    uint64   // requested: fs modes, net ops, one signal bit, ptrace modes, one cap bit
	Tainted  bool     // the process is tainted
	Scopes   []uint32 // scope ids the thread is inside
	Complain bool     // the runtime runs every profile in complain mode
}

// Reason says why a decision was made.
type Reason uint8

const (
	ReasonDenyRule       Reason = 1 // an active #[deny] rule matched
	ReasonUntainted      Reason = 2 // untainted: granted by default (no rule matched)
	ReasonUntaintedRule  Reason = 3 // untainted: granted, an allow rule matched
	ReasonTaintRule      Reason = 4 // untainted: a #[taint] rule matched; granted, and the process is now tainted
	ReasonTaintedGranted Reason = 5 // tainted: rules grant every requested mode
	ReasonTaintedDefault Reason = 6 // tainted: some requested mode is granted by no active rule
)

func (r Reason) String() string {
	switch r {
	case ReasonDenyRule:
		return "denied by a deny rule"
	case ReasonUntainted:
		return "untainted, no rule matches: allowed by default"
	case ReasonUntaintedRule:
		return "untainted: allowed"
	case ReasonTaintRule:
		return "untainted: allowed, and this access taints the process"
	case ReasonTaintedGranted:
		return "tainted: every requested mode is granted"
	case ReasonTaintedDefault:
		return "tainted: not every requested mode is granted (default deny)"
	}
	return "reason?"
}

// Decision is the outcome of one request.
type Decision struct {
	Allow      bool   // what the kernel does: false only when a denial is enforced
	Would      bool   // the policy's verdict (differs from Allow in complain mode)
	Complain   bool   // the verdict is only logged
	Reason     Reason //
	Rule       uint32 // deciding rule (index in Bundle.Rules), or None
	Missing    uint64 // ReasonTaintedDefault: the requested modes no rule grants
	Taints     bool   // the process becomes tainted
	Audit      bool   // an #[audit] rule matched
	AuditRule  uint32 // the first audit rule, or None
	Transition bool   // the exec moves the process to another profile
	// TransitionRule is the #[transition] rule that matched (or None);
	// TransitionProfile is the profile the exec DFA attaches to the path, or
	// None when none does (the process keeps its profile).
	TransitionRule    uint32
	TransitionProfile uint32
}

// Logged reports whether the kernel emits an event for d.
func (d Decision) Logged() bool { return !d.Would || d.Audit || d.Taints || d.Transition }

// Attach walks the exec DFA over an executable's resolved path and returns
// the profile it attaches to.
func Attach(b *bundle.Bundle, path string) (uint32, bool) {
	df := &b.DFAs[b.ExecDFA]
	a := df.Accept[df.Walk(path)]
	if a.Count == 1 {
		return a.First, true
	}
	return None, false
}

// Decide decides r against b, which must have come from bundle.Decode.
func Decide(b *bundle.Bundle, r Request) (Decision, error) {
	if r.Profile >= uint32(len(b.Profiles)) {
		return Decision{}, fmt.Errorf("decide: profile %d out of range (have %d)", r.Profile, len(b.Profiles))
	}
	if r.Kind < policy.FS || r.Kind > policy.Cap {
		return Decision{}, fmt.Errorf("decide: unknown operation kind %d", r.Kind)
	}
	if r.Modes == 0 {
		return Decision{}, fmt.Errorf("decide: no mode requested")
	}
	p := &b.Profiles[r.Profile]
	cands := candidates(b, p, r)

	d := Decision{Rule: None, AuditRule: None, TransitionRule: None, TransitionProfile: None}
	d.Complain = r.Complain || p.Flags&bundle.ProfileComplain != 0
	firstGrant, firstTaint := None, None
	var granted uint64
	for _, en := range cands {
		switch policy.Action(en.Action) {
		case policy.Deny:
			if d.Reason != ReasonDenyRule {
				d.Reason, d.Rule = ReasonDenyRule, en.Rule
			}
		case policy.Taint:
			if firstTaint == None {
				firstTaint = en.Rule
			}
			fallthrough
		case policy.Allow:
			if firstGrant == None {
				firstGrant = en.Rule
			}
			granted |= en.Modes
		}
		if en.Flags&bundle.FlagAudit != 0 && d.AuditRule == None {
			d.Audit, d.AuditRule = true, en.Rule
		}
	}

	switch {
	case d.Reason == ReasonDenyRule:
		d.Would = false
	case !r.Tainted && firstTaint != None:
		d.Would, d.Reason, d.Rule, d.Taints = true, ReasonTaintRule, firstTaint, true
	case !r.Tainted && firstGrant != None:
		d.Would, d.Reason, d.Rule = true, ReasonUntaintedRule, firstGrant
	case !r.Tainted:
		d.Would, d.Reason = true, ReasonUntainted
	case r.Modes&^granted == 0:
		d.Would, d.Reason, d.Rule = true, ReasonTaintedGranted, firstGrant
	default:
		d.Would, d.Reason, d.Missing = false, ReasonTaintedDefault, r.Modes&^granted
	}

	if d.Would && r.Kind == policy.FS && r.Modes&uint64(policy.FSExec) != 0 {
		for _, en := range cands {
			if en.Action != uint8(policy.Deny) && en.Flags&bundle.FlagTransition != 0 && en.Modes&uint64(policy.FSExec) != 0 {
				d.Transition, d.TransitionRule = true, en.Rule
				d.TransitionProfile, _ = Attach(b, r.Path)
				break
			}
		}
	}
	d.Allow = d.Would || d.Complain
	return d, nil
}

// candidates returns the entries of p that match r's object, are active in
// r's scopes and share a mode with r, in source order.
func candidates(b *bundle.Bundle, p *bundle.Profile, r Request) []bundle.Entry {
	var rng bundle.Range
	switch r.Kind {
	case policy.FS:
		df := &b.DFAs[p.FSDFA]
		rng = df.Accept[df.Walk(r.Path)]
	case policy.Net:
		rng = p.Net
	case policy.Signal:
		rng = p.Signal
	case policy.Ptrace:
		rng = p.Ptrace
	case policy.Cap:
		rng = p.Cap
	default:
		return nil
	}
	var out []bundle.Entry
	for _, en := range b.Entries[rng.First : rng.First+rng.Count] {
		if en.Modes&r.Modes == 0 || !active(en.Scope, r.Scopes) || !objectMatches(en, r) {
			continue
		}
		out = append(out, en)
	}
	return out
}

func active(scope uint32, scopes []uint32) bool {
	if scope == 0 {
		return true
	}
	for _, s := range scopes {
		if s == scope {
			return true
		}
	}
	return false
}

func objectMatches(en bundle.Entry, r Request) bool {
	switch r.Kind {
	case policy.Net:
		return en.Arg == uint32(policy.FamilyAny) || en.Arg == uint32(r.Family)
	case policy.Signal, policy.Ptrace:
		switch policy.TargetKind(en.Arg) {
		case policy.TargetAny:
			return true
		case policy.TargetProfile:
			return en.Target != None && en.Target == r.Target.Profile
		default:
			return policy.TargetKind(en.Arg) == r.Target.Relation
		}
	}
	return true
}

// ScopeIDs returns the scope ids a thread of profile prof is inside when it
// runs inside the user functions funcs (in the executable or any library)
// and the kernel functions kfuncs, and the names that no scope has.
func ScopeIDs(b *bundle.Bundle, prof uint32, funcs, kfuncs []string) (ids []uint32, unknown []string) {
	for _, fn := range funcs {
		found := false
		for i, s := range b.Scopes {
			if s.Kind == uint8(policy.FuncScope) && s.Symbol == fn && (s.Lib != "" || s.Profile == prof) {
				ids, found = append(ids, uint32(i+1)), true
			}
		}
		if !found {
			unknown = append(unknown, "func "+fn)
		}
	}
	for _, fn := range kfuncs {
		found := false
		for i, s := range b.Scopes {
			if s.Kind == uint8(policy.KFuncScope) && s.Symbol == fn {
				ids, found = append(ids, uint32(i+1)), true
			}
		}
		if !found {
			unknown = append(unknown, "kfunc "+fn)
		}
	}
	return ids, unknown
}

// ParseTarget resolves a signal or ptrace target as users write it: self,
// child or parent (the relation to the requesting task of profile prof),
// other (an unrelated, unconfined task), or the absolute path of the target
// task's executable (an unrelated task, confined by the profile that path
// attaches to, if any).
func ParseTarget(b *bundle.Bundle, prof uint32, t string) (Target, error) {
	switch t {
	case "self":
		return Target{Relation: policy.TargetSelf, Profile: prof}, nil
	case "child": // children inherit their parent's profile
		return Target{Relation: policy.TargetChild, Profile: prof}, nil
	case "parent":
		return Target{Relation: policy.TargetParent, Profile: None}, nil
	case "other":
		return Target{Relation: policy.TargetAny, Profile: None}, nil
	}
	if t == "" || t[0] != '/' {
		return Target{}, fmt.Errorf("target must be self, child, parent, other or an absolute path, not %q", t)
	}
	p, _ := Attach(b, t)
	return Target{Relation: policy.TargetAny, Profile: p}, nil
}
