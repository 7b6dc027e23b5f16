package bpfboxc

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/spf13/cobra"

	"github.com/bpfbox/bpfbox/compiler/bundle"
	"github.com/bpfbox/bpfbox/compiler/decide"
	"github.com/bpfbox/bpfbox/internal/cli"
	"github.com/bpfbox/bpfbox/lang/policy"
)

type explainFlags struct {
	profile           string
	fs, mode          string
	net, op           string
	signal, target    string
	ptrace, cap       string
	tainted, complain bool
	funcs, kfuncs     []string
	format            string
	requests          string
}

func newExplainCmd() *cobra.Command {
	var f explainFlags
	cmd := &cobra.Command{
		Use:   "explain [flags] BUNDLE --profile EXE (--fs PATH --mode MODES | --net FAMILY --op OPS | --signal SIG --target T | --ptrace MODE --target T | --cap NAME)",
		Short: "Show the decision the kernel will make for one access",
		Long: `explain runs the kernel's decision procedure on a compiled bundle, offline: which
profile confines EXE (matched against the bundle's exec DFA, as the kernel does
when a process execs), and whether that profile allows one access, whether the
access taints the process, is audited or moves it to another profile, and which
rule (file:line:col) decides.

The first word of the text output is "allow" or "deny": what the kernel does.
In complain mode (#![complain], or --complain) the kernel never refuses; the
output then says what enforcement would have done. --format json prints an
object with the fields decision, would, reason, taints, audit, transition,
transition_to, rule {file, line, col, text}, profile and request.

A process is untainted unless --tainted is given or its profile is #![tainted].
--func SYM and --kfunc NAME say which functions the thread is inside (repeat
them for several): rules under #[func "SYM"] (in the executable or any library)
and #[kfunc "NAME"] are active only then.

Targets (--target) of signals and ptrace: self, child, parent, other (an
unrelated process), or the absolute path of the target's executable (an
unrelated process confined by the profile that path attaches to).

--requests FILE (- for standard input) decides a whole scenario table instead:
one request per line, in the form of compiler/decide's scenario tables
("EXE fs PATH MODES [tainted] [complain] [func=SYM] [kfunc=NAME]", "EXE net
FAMILY OPS", "EXE signal SIG TARGET", "EXE ptrace MODE TARGET", "EXE cap NAME";
blank lines and # comments are skipped), each followed by its decision on an
indented line ("deny reason=tainted-default missing=read").

The exit status is 0 when a decision was made, allow or deny alike (scripts read
the first word or the decision field), 1 when the bundle is invalid or no
profile attaches to EXE, and 2 for a usage error.`,
		Example: `  bpfboxc explain login.bundle --profile /usr/local/bin/bpfbox-login --fs /etc/shadow --mode read
  bpfboxc explain login.bundle --profile /usr/local/bin/bpfbox-login --fs /etc/shadow --mode read --tainted --func check_password
  bpfboxc explain login.bundle --profile /usr/local/bin/bpfbox-login --net inet --op connect --format json
  bpfboxc explain web.bundle --profile /usr/local/libexec/webd-helper --signal sigusr1 --target parent`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.requests != "" {
				return runRequests(cmd.InOrStdin(), cmd.OutOrStdout(), args[0], f.requests)
			}
			req, kind, err := f.validate()
			if err != nil {
				return err
			}
			b, _, err := readBundle(args[0])
			if err != nil {
				return &cli.ExitError{Code: cli.ExitFail, Err: fmt.Errorf("explain: %w", err)}
			}
			return runExplain(cmd.OutOrStdout(), cmd.ErrOrStderr(), b, f, req, kind)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.profile, "profile", "", "the executable whose profile decides (`EXE`, an absolute path)")
	fl.StringVar(&f.fs, "fs", "", "fs access to the resolved `PATH`")
	fl.StringVar(&f.mode, "mode", "", "fs modes requested, e.g. read|write (with --fs)")
	fl.StringVar(&f.net, "net", "", "socket access in `FAMILY` (unix inet inet6 netlink packet)")
	fl.StringVar(&f.op, "op", "", "socket operations requested, e.g. connect (with --net)")
	fl.StringVar(&f.signal, "signal", "", "sending signal `SIG` (e.g. sigterm, or check for kill(pid, 0))")
	fl.StringVar(&f.ptrace, "ptrace", "", "ptrace access `MODE` (read or attach)")
	fl.StringVar(&f.target, "target", "", "target of --signal or --ptrace: self, child, parent, other or an executable path")
	fl.StringVar(&f.cap, "cap", "", "using capability `NAME` (without CAP_, e.g. net_bind_service)")
	fl.BoolVar(&f.tainted, "tainted", false, "the process is tainted")
	fl.BoolVar(&f.complain, "complain", false, "decide as 'bpfbox-run apply --complain' does: log, never refuse")
	fl.StringArrayVar(&f.funcs, "func", nil, "the thread is inside user function `SYM` (repeatable)")
	fl.StringArrayVar(&f.kfuncs, "kfunc", nil, "the thread is inside kernel function `NAME` (repeatable)")
	fl.StringVar(&f.format, "format", "text", "output format: text or json")
	fl.StringVar(&f.requests, "requests", "", "decide every request of scenario table `FILE` (- for stdin)")
	return cmd
}

// runRequests decides a scenario table, one request per line.
func runRequests(stdin io.Reader, stdout io.Writer, bundlePath, file string) error {
	b, _, err := readBundle(bundlePath)
	if err != nil {
		return &cli.ExitError{Code: cli.ExitFail, Err: fmt.Errorf("explain: %w", err)}
	}
	var data []byte
	if file == "-" {
		data, err = io.ReadAll(io.LimitReader(stdin, 64<<20))
	} else {
		data, err = os.ReadFile(file)
	}
	if err != nil {
		return &cli.ExitError{Code: cli.ExitFail, Err: fmt.Errorf("explain: read requests: %w", unwrapPathErr(err))}
	}
	var out bytes.Buffer
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		req, err := decide.ParseRequest(b, line)
		if err != nil {
			return &cli.ExitError{Code: cli.ExitFail, Err: fmt.Errorf("explain: %s:%d: %w", file, i+1, err)}
		}
		d, err := decide.Decide(b, req)
		if err != nil {
			return &cli.ExitError{Code: cli.ExitFail, Err: fmt.Errorf("explain: %s:%d: %w", file, i+1, err)}
		}
		fmt.Fprintf(&out, "%s\n    %s\n", line, decide.Format(b, req, d))
	}
	_, err = stdout.Write(out.Bytes())
	return err
}

// validate checks the flags that do not need the bundle.
func (f *explainFlags) validate() (decide.Request, policy.Kind, error) {
	var req decide.Request
	if f.format != "text" && f.format != "json" {
		return req, 0, cli.Usagef("explain: --format must be text or json, not %q", f.format)
	}
	if f.profile == "" || !path.IsAbs(f.profile) {
		return req, 0, cli.Usagef("explain: --profile EXE is required and must be an absolute path")
	}
	var ops []string
	for _, o := range []struct{ name, val string }{{"--fs", f.fs}, {"--net", f.net}, {"--signal", f.signal}, {"--ptrace", f.ptrace}, {"--cap", f.cap}} {
		if o.val != "" {
			ops = append(ops, o.name)
		}
	}
	if len(ops) != 1 {
		return req, 0, cli.Usagef("explain: give exactly one of --fs, --net, --signal, --ptrace, --cap (got %d)", len(ops))
	}
	only := func(flag, val, with string) error {
		if val != "" && ops[0] != with {
			return cli.Usagef("explain: %s goes with %s", flag, with)
		}
		return nil
	}
	if err := only("--mode", f.mode, "--fs"); err != nil {
		return req, 0, err
	}
	if err := only("--op", f.op, "--net"); err != nil {
		return req, 0, err
	}
	if f.target != "" && ops[0] != "--signal" && ops[0] != "--ptrace" {
		return req, 0, cli.Usagef("explain: --target goes with --signal or --ptrace")
	}
	req.Tainted, req.Complain = f.tainted, f.complain
	var err error
	switch ops[0] {
	case "--fs":
		req.Kind, req.Path = policy.FS, f.fs
		if !path.IsAbs(f.fs) {
			return req, 0, cli.Usagef("explain: --fs PATH must be absolute, as the kernel resolves it")
		}
		if f.mode == "" {
			return req, 0, cli.Usagef("explain: --fs needs --mode MODES (%s)", strings.Join(policy.Names(policy.FSModeNames), " "))
		}
		var m policy.FSMode
		m, err = parseSet(policy.FSModeNames, f.mode, "fs mode")
		req.Modes = uint64(m)
	case "--net":
		req.Kind = policy.Net
		fam, ok := policy.Lookup(policy.FamilyNames, f.net)
		if !ok || fam == policy.FamilyAny {
			return req, 0, cli.Usagef("explain: unknown family %q (unix inet inet6 netlink packet)", f.net)
		}
		req.Family = fam
		if f.op == "" {
			return req, 0, cli.Usagef("explain: --net needs --op OPS (%s)", strings.Join(policy.Names(policy.NetOpNames), " "))
		}
		var o policy.NetOp
		o, err = parseSet(policy.NetOpNames, f.op, "socket operation")
		req.Modes = uint64(o)
	case "--signal":
		req.Kind = policy.Signal
		if f.signal == "check" {
			req.Modes = uint64(policy.SigCheck)
		} else if s, ok := policy.Lookup(policy.SignalNames, f.signal); ok {
			req.Modes = uint64(s)
		} else {
			return req, 0, cli.Usagef("explain: unknown signal %q (one of sighup … sigsys, or check)", f.signal)
		}
	case "--ptrace":
		req.Kind = policy.Ptrace
		m, ok := policy.Lookup(policy.PtraceModeNames, f.ptrace)
		if !ok {
			return req, 0, cli.Usagef("explain: unknown ptrace mode %q (read or attach)", f.ptrace)
		}
		req.Modes = uint64(m)
	case "--cap":
		req.Kind = policy.Cap
		c, ok := policy.Lookup(policy.CapNames, strings.TrimPrefix(strings.ToLower(f.cap), "cap_"))
		if !ok {
			return req, 0, cli.Usagef("explain: unknown capability %q", f.cap)
		}
		req.Modes = uint64(c)
	}
	if err != nil {
		return req, 0, err
	}
	if (req.Kind == policy.Signal || req.Kind == policy.Ptrace) && f.target == "" {
		return req, 0, cli.Usagef("explain: %s needs --target (self, child, parent, other or an executable path)", ops[0])
	}
	return req, req.Kind, nil
}

// parseSet parses "a|b" or "a,b" into a mode set.
func parseSet[T ~uint32 | ~uint64](table []policy.Named[T], s, what string) (T, error) {
	var out T
	for _, name := range strings.FieldsFunc(s, func(r rune) bool { return r == '|' || r == ',' || r == ' ' }) {
		v, ok := policy.Lookup(table, name)
		if !ok {
			return 0, cli.Usagef("explain: unknown %s %q (%s)", what, name, strings.Join(policy.Names(table), " "))
		}
		out |= v
	}
	if out == 0 {
		return 0, cli.Usagef("explain: no %s given", what)
	}
	return out, nil
}

func runExplain(stdout, stderr io.Writer, b *bundle.Bundle, f explainFlags, req decide.Request, kind policy.Kind) error {
	prof, ok := decide.Attach(b, f.profile)
	if !ok {
		return &cli.ExitError{Code: cli.ExitFail, Err: fmt.Errorf("explain: no profile of the bundle attaches to %s (it would run unconfined)", f.profile)}
	}
	req.Profile = prof
	p := &b.Profiles[prof]
	if p.Flags&bundle.ProfileTainted != 0 {
		req.Tainted = true
	}
	if kind == policy.Signal || kind == policy.Ptrace {
		t, err := decide.ParseTarget(b, prof, f.target)
		if err != nil {
			return cli.Usagef("explain: --target: %v", err)
		}
		req.Target = t
	}
	var unknown []string
	req.Scopes, unknown = decide.ScopeIDs(b, prof, f.funcs, f.kfuncs)
	for _, u := range unknown {
		fmt.Fprintf(stderr, "bpfboxc: explain: note: no rule of the bundle is scoped to %s\n", u)
	}

	d, err := decide.Decide(b, req)
	if err != nil {
		return &cli.ExitError{Code: cli.ExitFail, Err: fmt.Errorf("explain: %w", err)}
	}
	out := explainOf(b, req, d)
	if f.format == "json" {
		return writeJSON(stdout, out)
	}
	return writeExplainText(stdout, b, out, req, d)
}

type (
	explainJSON struct {
		Decision     string      `json:"decision"`
		Would        string      `json:"would"`
		Complain     bool        `json:"complain"`
		Reason       string      `json:"reason"`
		Missing      string      `json:"missing,omitempty"`
		Taints       bool        `json:"taints"`
		Audit        bool        `json:"audit"`
		AuditRule    *ruleRef    `json:"audit_rule"`
		Transition   bool        `json:"transition"`
		TransitionTo *profileRef `json:"transition_to"`
		Rule         *ruleRef    `json:"rule"`
		Profile      profileRef  `json:"profile"`
		Request      requestJSON `json:"request"`
		Logged       bool        `json:"logged"`
		Scopes       []scopeJSON `json:"active_scopes"`
	}
	ruleRef struct {
		ID   uint32 `json:"id"` // index within its profile
		File string `json:"file"`
		Line uint32 `json:"line"`
		Col  uint32 `json:"col"`
		Text string `json:"text,omitempty"`
	}
	profileRef struct {
		Index   uint32 `json:"index"`
		Pattern string `json:"pattern"`
	}
	requestJSON struct {
		Kind    string `json:"kind"`
		Object  string `json:"object"`
		Modes   string `json:"modes"`
		Tainted bool   `json:"tainted"`
	}
)

func refOf(b *bundle.Bundle, i uint32) *ruleRef {
	if i == bundle.None {
		return nil
	}
	r := &b.Rules[i]
	ref := &ruleRef{Line: r.Line, Col: r.Col, Text: r.Text}
	for _, p := range b.Profiles {
		if i >= p.Rules.First && i < p.Rules.First+p.Rules.Count {
			ref.ID = i - p.Rules.First
		}
	}
	if r.Source != bundle.None {
		ref.File = b.Sources[r.Source].Name
	}
	return ref
}

func (r *ruleRef) String() string {
	pos := fmt.Sprintf("%s:%d:%d", r.File, r.Line, r.Col)
	if r.File == "" {
		pos = fmt.Sprintf("rule #%d (no position)", r.ID)
	}
	if r.Text != "" {
		return pos + ": " + oneLineText(r.Text)
	}
	return pos
}

func oneLineText(s string) string { return strings.Join(strings.Fields(s), " ") }

func verdict(allow bool) string {
	if allow {
		return "allow"
	}
	return "deny"
}

func objectOf(req decide.Request) string {
	switch req.Kind {
	case policy.FS:
		return req.Path
	case policy.Net:
		return req.Family.String()
	case policy.Signal, policy.Ptrace:
		return policy.Target{Kind: req.Target.Relation}.String()
	}
	return ""
}

func explainOf(b *bundle.Bundle, req decide.Request, d decide.Decision) explainJSON {
	out := explainJSON{
		Decision: verdict(d.Allow), Would: verdict(d.Would), Complain: d.Complain, Reason: d.Reason.String(),
		Taints: d.Taints, Audit: d.Audit, AuditRule: refOf(b, d.AuditRule), Transition: d.Transition,
		Rule: refOf(b, d.Rule), Logged: d.Logged(), Scopes: []scopeJSON{},
		Profile: profileRef{Index: req.Profile, Pattern: b.Profiles[req.Profile].Pattern},
		Request: requestJSON{Kind: req.Kind.String(), Object: objectOf(req), Modes: modeNames(uint8(req.Kind), req.Modes), Tainted: req.Tainted},
	}
	if req.Kind == policy.Signal || req.Kind == policy.Ptrace {
		if req.Target.Relation == policy.TargetAny {
			out.Request.Object = "other"
		}
		if req.Target.Profile != bundle.None && req.Target.Relation == policy.TargetAny {
			out.Request.Object = fmt.Sprintf("a process of profile %d %q", req.Target.Profile, b.Profiles[req.Target.Profile].Pattern)
		}
	}
	if d.Missing != 0 {
		out.Missing = modeNames(uint8(req.Kind), d.Missing)
	}
	if d.Transition && d.TransitionProfile != bundle.None {
		out.TransitionTo = &profileRef{Index: d.TransitionProfile, Pattern: b.Profiles[d.TransitionProfile].Pattern}
	}
	for _, id := range req.Scopes {
		s := b.Scopes[id-1]
		sj := scopeJSON{ID: int(id), Kind: "func", Symbol: s.Symbol, Lib: s.Lib}
		if s.Kind == uint8(policy.KFuncScope) {
			sj.Kind = "kfunc"
		}
		out.Scopes = append(out.Scopes, sj)
	}
	return out
}

func writeExplainText(w io.Writer, b *bundle.Bundle, e explainJSON, req decide.Request, d decide.Decision) error {
	var buf bytes.Buffer
	buf.WriteString(strings.Join(strings.Fields(fmt.Sprintf("%s %s %s %s", e.Decision, e.Request.Kind, e.Request.Modes, e.Request.Object)), " "))
	if e.Complain && !d.Would {
		buf.WriteString(" (complain mode: enforcement would deny)")
	}
	buf.WriteByte('\n')
	reason := e.Reason
	if e.Missing != "" {
		reason += "; not granted: " + e.Missing
	}
	fmt.Fprintf(&buf, "  reason:  %s\n", reason)
	if e.Rule != nil {
		fmt.Fprintf(&buf, "  rule:    %s\n", e.Rule)
	}
	state := "untainted"
	if req.Tainted {
		state = "tainted"
	}
	fmt.Fprintf(&buf, "  profile: %d %q (%s)\n", e.Profile.Index, e.Profile.Pattern, state)
	if e.Taints {
		buf.WriteString("  taints:  yes, the process is tainted from now on\n")
	}
	if e.Audit {
		fmt.Fprintf(&buf, "  audit:   %s\n", e.AuditRule)
	}
	if e.Transition {
		if e.TransitionTo != nil {
			fmt.Fprintf(&buf, "  transition: to profile %d %q by %s\n", e.TransitionTo.Index, e.TransitionTo.Pattern, refOf(b, d.TransitionRule))
		} else {
			fmt.Fprintf(&buf, "  transition: no profile attaches to %s; the process keeps its profile (%s)\n", req.Path, refOf(b, d.TransitionRule))
		}
	}
	if len(e.Scopes) > 0 {
		var names []string
		for _, s := range e.Scopes {
			names = append(names, fmt.Sprintf("%s %q", s.Kind, s.Symbol))
		}
		fmt.Fprintf(&buf, "  inside:  %s\n", strings.Join(names, ", "))
	}
	if e.Logged {
		buf.WriteString("  logged:  yes\n")
	}
	_, err := w.Write(buf.Bytes())
	return err
}
