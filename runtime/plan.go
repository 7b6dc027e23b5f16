// Package runtime enforces compiled bundles in the kernel: it turns a decoded
// bundle into a plan (the contents of every BPF map, computed in pure Go),
// checks the kernel, loads the BPF LSM programs of bpf/enforce, fills their
// maps, attaches them, and reads their events.
//
// # What the kernel programs do
//
// Attachment: on every execve (bprm_creds_for_exec) the resolved path of the
// executable (bpf_d_path, into a per-CPU buffer for unconfined processes) is
// walked through the bundle's exec DFA;
// an unconfined process whose executable matches a profile is confined by it
// from the point of no return (bprm_committed_creds), tainted from the start
// when the profile is #![tainted]. A confined process's exec is an access
// with mode exec under its profile: refused by #[deny] (or, tainted, by
// default deny); without #[transition] the process keeps its profile, with it
// the process moves to the profile the exec DFA gives the new executable (or
// keeps its own when none does). Taint is never cleared, not by exec and not
// by a transition.
//
// Accesses: file_open (read, write, append), mmap_file and file_mprotect with
// PROT_EXEC (map), file_ioctl (ioctl), path_mknod/mkdir/symlink (create),
// path_unlink/rmdir (delete), path_rename (rename on the old name, create on
// the new one; both on both for RENAME_EXCHANGE), path_link (link on the file,
// create on the new name), path_chmod/chown/truncate (setattr). Each walks the
// profile's fs DFA over the path with bpf_loop and decides with the algorithm
// of compiler/decide. file_open, mmap_file and file_ioctl read the path with
// bpf_d_path; the path_* hooks and file_mprotect, which may not call it,
// build it as d_path does (d_parent up to the process's root, crossing
// mounts). No hook is sleepable: on 6.1 an allocation that sleeps hides
// other threads' task state (docs/replace.md). Opens and
// mappings of files opened by the kernel for exec (open_exec: the executable
// and its ELF interpreter) are covered by the exec check and not checked again.
// ioctl on objects without a file system path (pipes, sockets, anonymous
// inodes) is not checked. A confined process may not call bpf().
//
// State: profile and taint live in task storage of each thread; children and
// threads copy them at fork (sched_process_fork). A taint is shared with the
// other threads of the process through a hash keyed by (tgid, start time of
// the group leader), read only when some process was tainted since the
// thread last looked (taint_gen). Events go to a 4 MiB ring buffer; what does
// not fit is counted, never silently lost.
//
// Fail closed: a path that cannot be resolved (longer than PATH_MAX, more than
// 2048 components, or a d_path error) is refused for a confined process, with
// an event saying so; so is an access when the kernel cannot allocate the
// per-thread buffers to decide it.
//
// Net, signal, ptrace and cap rules are enforced by the hooks of
// bpf/enforce/netsig.h with the same decision procedure.
//
// Scopes: #[func] rules are active while the thread is inside the function
// (uprobe/uretprobe pairs), #[kfunc] rules inside the kernel function
// (fentry/fexit), counted per thread in task storage (bpf/enforce/scope.h,
// docs/scopes.md); a longjmp out of a scoped function leaves its scope.
// Processes already running when a bundle is applied stay unconfined until
// they exec.
//
// Cost: an untainted access whose modes no deny, taint or audit rule of the
// profile names is allowed without resolving its path (profile.watch). The
// transition table is one map value indexed through a mask when it fits
// (FlatTrans). Each thread remembers the DFA state reached after the path of
// the last directory it decided in (keyed by the directory's mount, super
// block, inode number and generation, its root, and the kernel's rename and
// mount sequence counts): an open, create or delete of a name in it walks
// the name alone and, when the decision is a quiet allow, builds no path at
// all. Anything to log (a denial, a taint, an audit) takes the full path.
package runtime

import (
	"fmt"
	"math"

	"github.com/bpfbox/bpfbox/bpf/enforce"
	"github.com/bpfbox/bpfbox/compiler/bundle"
	"github.com/bpfbox/bpfbox/lang/glob"
	"github.com/bpfbox/bpfbox/lang/policy"
)

// Options change how a bundle is enforced.
type Options struct {
	Complain bool // log every decision as it would be enforced, refuse nothing
}

// Modes the kernel programs of this version check. Rules may grant others
// (map, create, …); those operations are not yet confined.
const enforcedFSModes = policy.FSRead | policy.FSWrite | policy.FSAppend | policy.FSExec | policy.FSMap |
	policy.FSCreate | policy.FSDelete | policy.FSRename | policy.FSLink | policy.FSSetattr | policy.FSIoctl

// Plan is the content of every map the kernel programs read, in map order:
// index i of a slice is key i of the array map of the same name.
type Plan struct {
	Config   enforce.EnforceConfig
	Profiles []enforce.EnforceProfile
	DFAs     []enforce.EnforceDfa
	Classes  []enforce.EnforceByteClasses
	Trans    []uint32
	Accepts  []enforce.EnforceAccept
	Entries  []enforce.EnforceEntry

	// Scopes are the functions to probe, one per scope id of the bundle.
	Scopes []ScopeProbe

	// Slots number the profiles for the kernel (slots.go): the bundle's
	// numbering, unless UseSlots renumbered them for a replacement.
	Slots Slots

	// Warnings name the rules whose operations this version does not yet
	// confine; apply prints them.
	Warnings []string
}

// maxFlatTrans is how many transitions fit in one array map value: the
// kernel refuses values over KMALLOC_MAX_SIZE (4 MiB on x86-64). A variable
// so that tests can make the kernel walk the other layout.
var maxFlatTrans = 1 << 20

// FlatTrans returns the transition table padded to a power of two, and its
// mask, when it fits one map value (ok false otherwise). The kernel then
// takes a DFA step with one masked load from that value (trans_flat) instead
// of a map lookup per step (trans); the mask also bounds the load for the
// verifier. Padding entries are never reached: every valid transition is
// below len(Trans).
func (p *Plan) FlatTrans() (flat []uint32, mask uint32, ok bool) {
	n := 1
	for n < len(p.Trans) {
		n <<= 1
	}
	if n > maxFlatTrans {
		return nil, 0, false
	}
	flat = make([]uint32, n)
	copy(flat, p.Trans)
	return flat, uint32(n - 1), true
}

// Config flags, profile flags: the values of enforce.bpf.c.
const (
	configComplain  = 1 << 0
	configScoped    = 1 << 1 // some entry has a scope: decisions look up the thread's scopes
	profileComplain = 1 << 0
	profileTainted  = 1 << 1
	profileAbsent   = 1 << 2
)

// MaxScopes is how many scope ids the kernel programs count per thread.
const MaxScopes = int(enforce.EnforceScopeLimitsSCOPE_MAX)

// ScopeProbe is a function whose entry and return the kernel must see: a
// user function (uprobe and uretprobe on Binary) or a kernel function
// (fentry and fexit). ID is the bundle's scope id, the probes' cookie.
type ScopeProbe struct {
	ID     uint32
	Kind   policy.ScopeKind
	Symbol string
	Binary string // FuncScope: the executable or library that holds Symbol
	Rule   string // FILE:LINE:COL of the first rule under the scope, for errors
}

func (s ScopeProbe) String() string {
	if s.Kind == policy.KFuncScope {
		return fmt.Sprintf("#[kfunc %q]", s.Symbol)
	}
	return fmt.Sprintf("#[func %q in %q]", s.Symbol, s.Binary)
}

// NewPlan computes the map contents for b. It refuses bundles it cannot
// enforce faithfully, so that a policy is never applied weaker than written
// without the user knowing.
func NewPlan(b *bundle.Bundle, opt Options) (*Plan, error) {
	if len(b.Profiles) == 0 {
		return nil, fmt.Errorf("plan bundle: it has no profiles")
	}
	if int(b.ExecDFA) >= len(b.DFAs) {
		return nil, fmt.Errorf("plan bundle: exec DFA %d out of range (have %d DFAs)", b.ExecDFA, len(b.DFAs))
	}
	p := &Plan{}
	p.Config = enforce.EnforceConfig{ExecDfa: b.ExecDFA, NumProfiles: uint32(len(b.Profiles))}
	if opt.Complain {
		p.Config.Flags |= configComplain
	}
	for i, pr := range b.Profiles {
		if int(pr.FSDFA) >= len(b.DFAs) || pr.FSDFA == b.ExecDFA {
			return nil, fmt.Errorf("plan bundle: profile %d (%s): fs DFA %d is not a profile DFA", i, pr.Pattern, pr.FSDFA)
		}
		var flags uint32
		if pr.Flags&bundle.ProfileComplain != 0 {
			flags |= profileComplain
		}
		if pr.Flags&bundle.ProfileTainted != 0 {
			flags |= profileTainted
		}
		for _, r := range []bundle.Range{pr.Net, pr.Signal, pr.Ptrace, pr.Cap} {
			if uint64(r.First)+uint64(r.Count) > uint64(len(b.Entries)) {
				return nil, fmt.Errorf("plan bundle: profile %d (%s): entry range %d+%d out of range (have %d entries)",
					i, pr.Pattern, r.First, r.Count, len(b.Entries))
			}
		}
		p.Profiles = append(p.Profiles, enforce.EnforceProfile{
			FsDfa:       pr.FSDFA,
			Flags:       flags,
			Watch:       watchedModes(b, pr.FSDFA),
			NetFirst:    pr.Net.First,
			NetCount:    pr.Net.Count,
			SignalFirst: pr.Signal.First,
			SignalCount: pr.Signal.Count,
			PtraceFirst: pr.Ptrace.First,
			PtraceCount: pr.Ptrace.Count,
			CapFirst:    pr.Cap.First,
			CapCount:    pr.Cap.Count,
		})
	}
	for i := range b.DFAs {
		d := &b.DFAs[i]
		cells := uint64(d.NumStates) * uint64(d.NumClasses)
		if uint64(len(p.Trans))+cells > math.MaxUint32 || uint64(len(p.Accepts))+uint64(d.NumStates) > math.MaxUint32 {
			return nil, fmt.Errorf("plan bundle: DFA %d: the transition tables exceed 2^32 entries", i)
		}
		if uint64(len(d.Trans)) != cells || len(d.Accept) != int(d.NumStates) {
			return nil, fmt.Errorf("plan bundle: DFA %d: %d transitions and %d accept ranges for %d states × %d classes",
				i, len(d.Trans), len(d.Accept), d.NumStates, d.NumClasses)
		}
		p.DFAs = append(p.DFAs, enforce.EnforceDfa{
			TransOff:   uint32(len(p.Trans)),
			NumClasses: d.NumClasses,
			NumStates:  d.NumStates,
			Start:      d.Start,
			Dead:       d.Dead, // bundle.None is the kernel's NONE
			AcceptOff:  uint32(len(p.Accepts)),
		})
		p.Classes = append(p.Classes, enforce.EnforceByteClasses{Class: d.Classes})
		p.Trans = append(p.Trans, d.Trans...)
		for _, a := range d.Accept {
			p.Accepts = append(p.Accepts, enforce.EnforceAccept{First: a.First, Count: a.Count})
		}
	}
	for _, e := range b.Entries {
		p.Entries = append(p.Entries, enforce.EnforceEntry{
			Rule:   e.Rule,
			Scope:  uint16(e.Scope),
			Action: e.Action,
			Flags:  e.Flags,
			Arg:    e.Arg,
			Target: e.Target,
			Modes:  e.Modes,
		})
		if e.Scope != 0 {
			p.Config.Flags |= configScoped
		}
	}
	p.Slots = IdentitySlots(b)
	if err := p.vet(b); err != nil {
		return nil, err
	}
	if err := p.planScopes(b); err != nil {
		return nil, err
	}
	return p, nil
}

// watchedModes are the fs modes of the deny, taint and audit entries that
// DFA id's accepting states list: an untainted access requesting none of them
// is allowed whatever its path, so the kernel need not walk it.
func watchedModes(b *bundle.Bundle, id uint32) uint32 {
	var m uint64
	for _, a := range b.DFAs[id].Accept {
		if uint64(a.First)+uint64(a.Count) > uint64(len(b.Entries)) {
			return ^uint32(0) // malformed: watch everything
		}
		for _, e := range b.Entries[a.First : a.First+a.Count] {
			if policy.Action(e.Action) != policy.Allow || e.Flags&bundle.FlagAudit != 0 {
				m |= e.Modes
			}
		}
	}
	return uint32(m)
}

// planScopes names the function behind every scope id. A #[func] without
// `in` is probed in the profile's executable, which must then be named by a
// literal path: uprobes attach to a file, and a glob's files are not known
// until they are exec'd.
func (p *Plan) planScopes(b *bundle.Bundle) error {
	if len(b.Scopes) > MaxScopes {
		return fmt.Errorf("plan bundle: %d function scopes (#[func], #[kfunc]); the kernel programs count at most %d per thread",
			len(b.Scopes), MaxScopes)
	}
	firstRule := make([]string, len(b.Scopes)+1)
	for r := range b.Rules {
		if s := b.Rules[r].Scope; s != 0 && int(s) <= len(b.Scopes) && firstRule[s] == "" {
			firstRule[s] = RulePos(b, uint32(r))
		}
	}
	for i, sc := range b.Scopes {
		sp := ScopeProbe{ID: uint32(i + 1), Kind: policy.ScopeKind(sc.Kind), Symbol: sc.Symbol, Rule: firstRule[i+1]}
		switch sp.Kind {
		case policy.KFuncScope:
		case policy.FuncScope:
			sp.Binary = sc.Lib
			if sp.Binary == "" {
				if int(sc.Profile) >= len(b.Profiles) {
					return fmt.Errorf("plan bundle: scope %d (#[func %q]): profile %d out of range", i+1, sc.Symbol, sc.Profile)
				}
				pattern := b.Profiles[sc.Profile].Pattern
				lit, ok := literalPath(pattern)
				if !ok {
					return fmt.Errorf("plan bundle: %s: #[func %q] is probed in the profile's executable, but the profile attaches to the glob %q: "+
						"name the executable, #[func %q in \"/path/to/exe\"], or attach the profile to a literal path", sp.Rule, sc.Symbol, pattern, sc.Symbol)
				}
				sp.Binary = lit
			}
		default:
			return fmt.Errorf("plan bundle: scope %d: unknown kind %d", i+1, sc.Kind)
		}
		p.Scopes = append(p.Scopes, sp)
	}
	return nil
}

func literalPath(pattern string) (string, bool) {
	g, err := glob.Parse(pattern)
	if err != nil {
		return "", false
	}
	return g.Literal()
}

// vet refuses what cannot be enforced and collects warnings for what is not
// yet confined.
func (p *Plan) vet(b *bundle.Bundle) error {
	for _, pr := range b.Profiles {
		for r := pr.Rules.First; r < pr.Rules.First+pr.Rules.Count && int(r) < len(b.Rules); r++ {
			rule := &b.Rules[r]
			pos := RulePos(b, r)
			if policy.Kind(rule.Kind) != policy.FS {
				continue // net, signal, ptrace and cap rules are enforced whole
			}
			if extra := policy.FSMode(rule.Modes) &^ enforcedFSModes; extra != 0 {
				p.Warnings = append(p.Warnings, fmt.Sprintf("%s: fs mode %s is not enforced yet", pos, extra))
			}
		}
	}
	return nil
}

// RulePos names rule r of b as FILE:LINE:COL (or "rule N" when the bundle
// does not know where it came from).
func RulePos(b *bundle.Bundle, r uint32) string {
	if int(r) >= len(b.Rules) {
		return fmt.Sprintf("rule %d", r)
	}
	rule := &b.Rules[r]
	if int(rule.Source) >= len(b.Sources) {
		return fmt.Sprintf("rule %d", r)
	}
	return fmt.Sprintf("%s:%d:%d", b.Sources[rule.Source].Name, rule.Line, rule.Col)
}
