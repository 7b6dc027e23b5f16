package decide

import (
	"fmt"
	"strings"

	"github.com/bpfbox/bpfbox/compiler/bundle"
	"github.com/bpfbox/bpfbox/lang/policy"
)

// ParseRequest reads one line of a scenario table, the form the decision
// goldens (and the kernel tests that must agree with them) are written in:
//
//	EXE fs PATH MODES      [FLAGS]   e.g. /usr/bin/login fs /etc/shadow read|append tainted func=add_user
//	EXE net FAMILY OPS     [FLAGS]   FAMILY: unix inet inet6 netlink packet, or other (a socket family no rule names)
//	EXE signal SIG TARGET  [FLAGS]   TARGET: self child parent other or an executable path
//	EXE ptrace MODE TARGET [FLAGS]
//	EXE cap NAME           [FLAGS]
//
// FLAGS: tainted, complain (the runtime's --complain), func=SYM, kfunc=NAME.
// EXE selects the profile through the exec DFA, as the kernel does.
func ParseRequest(b *bundle.Bundle, line string) (Request, error) {
	f := strings.Fields(line)
	var r Request
	if len(f) < 3 {
		return r, fmt.Errorf("parse request %q: want EXE KIND ARGS", line)
	}
	prof, ok := Attach(b, f[0])
	if !ok {
		return r, fmt.Errorf("parse request %q: no profile attaches to %s", line, f[0])
	}
	r.Profile = prof
	nargs := map[string]int{"fs": 2, "net": 2, "signal": 2, "ptrace": 2, "cap": 1}[f[1]]
	if nargs == 0 || len(f) < 2+nargs {
		return r, fmt.Errorf("parse request %q: want fs PATH MODES, net FAMILY OPS, signal SIG TARGET, ptrace MODE TARGET or cap NAME", line)
	}
	args, flags := f[2:2+nargs], f[2+nargs:]
	var err error
	switch f[1] {
	case "fs":
		r.Kind, r.Path = policy.FS, args[0]
		r.Modes, err = parseModes(policy.FSModeNames, args[1])
	case "net":
		r.Kind = policy.Net
		fam, ok := policy.Lookup(policy.FamilyNames, args[0])
		if args[0] == "other" {
			fam, ok = policy.FamilyAny, true // a family no rule can name: only net(any, …) applies
		} else if !ok || fam == policy.FamilyAny {
			return r, fmt.Errorf("parse request %q: unknown family %q (unix inet inet6 netlink packet, or other)", line, args[0])
		}
		r.Family = fam
		r.Modes, err = parseModes(policy.NetOpNames, args[1])
	case "signal":
		r.Kind = policy.Signal
		if args[0] == "check" {
			r.Modes = uint64(policy.SigCheck)
		} else if s, ok := policy.Lookup(policy.SignalNames, args[0]); ok {
			r.Modes = uint64(s)
		} else {
			err = fmt.Errorf("unknown signal %q", args[0])
		}
		if err == nil {
			r.Target, err = ParseTarget(b, prof, args[1])
		}
	case "ptrace":
		r.Kind = policy.Ptrace
		r.Modes, err = parseModes(policy.PtraceModeNames, args[0])
		if err == nil {
			r.Target, err = ParseTarget(b, prof, args[1])
		}
	case "cap":
		r.Kind = policy.Cap
		r.Modes, err = parseModes(policy.CapNames, args[0])
	}
	if err != nil {
		return r, fmt.Errorf("parse request %q: %w", line, err)
	}
	var funcs, kfuncs []string
	for _, fl := range flags {
		switch {
		case fl == "tainted":
			r.Tainted = true
		case fl == "complain":
			r.Complain = true
		case strings.HasPrefix(fl, "func="):
			funcs = append(funcs, strings.TrimPrefix(fl, "func="))
		case strings.HasPrefix(fl, "kfunc="):
			kfuncs = append(kfuncs, strings.TrimPrefix(fl, "kfunc="))
		default:
			return r, fmt.Errorf("parse request %q: unknown flag %q (tainted, complain, func=SYM, kfunc=NAME)", line, fl)
		}
	}
	if b.Profiles[prof].Flags&bundle.ProfileTainted != 0 {
		r.Tainted = true
	}
	var unknown []string
	r.Scopes, unknown = ScopeIDs(b, prof, funcs, kfuncs)
	if len(unknown) > 0 {
		return r, fmt.Errorf("parse request %q: no rule is scoped to %s", line, strings.Join(unknown, ", "))
	}
	return r, nil
}

func parseModes[T ~uint32 | ~uint64](table []policy.Named[T], s string) (uint64, error) {
	var out T
	for _, name := range strings.Split(s, "|") {
		v, ok := policy.Lookup(table, name)
		if !ok {
			return 0, fmt.Errorf("unknown mode %q (%s)", name, strings.Join(policy.Names(table), " "))
		}
		out |= v
	}
	return uint64(out), nil
}

// ShortReason is the reason as one word, for tables.
func (r Reason) ShortReason() string {
	switch r {
	case ReasonDenyRule:
		return "deny-rule"
	case ReasonUntainted:
		return "untainted-default"
	case ReasonUntaintedRule:
		return "untainted-rule"
	case ReasonTaintRule:
		return "taint-rule"
	case ReasonTaintedGranted:
		return "tainted-granted"
	case ReasonTaintedDefault:
		return "tainted-default"
	}
	return "?"
}

// Format renders the decision d on r as one line: the kernel's action, then what decided it:
//
//	deny reason=tainted-default missing=read
//	allow reason=taint-rule rule=login.bbx:23:5 taints
//	allow (would deny) reason=deny-rule rule=a.bbx:4:1 audit=a.bbx:4:1
func Format(b *bundle.Bundle, r Request, d Decision) string {
	var s strings.Builder
	if d.Allow {
		s.WriteString("allow")
	} else {
		s.WriteString("deny")
	}
	if d.Allow != d.Would {
		s.WriteString(" (would deny)")
	}
	s.WriteString(" reason=" + d.Reason.ShortReason())
	pos := func(i uint32) string {
		r := &b.Rules[i]
		if r.Source == bundle.None {
			return fmt.Sprintf("rule#%d", i)
		}
		return fmt.Sprintf("%s:%d:%d", b.Sources[r.Source].Name, r.Line, r.Col)
	}
	if d.Rule != None {
		s.WriteString(" rule=" + pos(d.Rule))
	}
	if d.Missing != 0 {
		s.WriteString(" missing=" + ModeString(r.Kind, d.Missing))
	}
	if d.Taints {
		s.WriteString(" taints")
	}
	if d.Audit {
		s.WriteString(" audit=" + pos(d.AuditRule))
	}
	if d.Transition {
		to := "keep"
		if d.TransitionProfile != None {
			to = b.Profiles[d.TransitionProfile].Pattern
		}
		s.WriteString(" transition=" + to)
	}
	return s.String()
}

// ModeString names the mode bits m of a rule kind as policies write them.
func ModeString(kind policy.Kind, m uint64) string {
	switch kind {
	case policy.FS:
		return policy.FSMode(m).String()
	case policy.Net:
		return policy.NetOp(m).String()
	case policy.Signal:
		return policy.SigSet(m).String()
	case policy.Ptrace:
		return policy.PtraceMode(m).String()
	case policy.Cap:
		return policy.CapSet(m).String()
	}
	return fmt.Sprintf("%#x", m)
}
