package bpfboxc

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/bpfbox/bpfbox/compiler/bundle"
	"github.com/bpfbox/bpfbox/compiler/decide"
	"github.com/bpfbox/bpfbox/internal/cli"
	"github.com/bpfbox/bpfbox/lang/policy"
)

func newDumpCmd() *cobra.Command {
	var (
		format string
		tables bool
	)
	cmd := &cobra.Command{
		Use:   "dump [flags] BUNDLE",
		Short: "Show what a compiled bundle contains",
		Long: `dump decodes and verifies a bundle written by 'bpfboxc compile' and shows its
header (format version, compiler version, digest, the sources with their
SHA-256), every profile with its rules and their source positions, the scope
table, and the size of every DFA (states, byte classes, accepting states, table
bytes) and of the permission entries. With --tables it also lists what the
kernel reads: each accepting state of every DFA with its permission entries
(or, for the exec DFA, the profile it attaches).

The exit status is 0 when the bundle is valid, 1 when it cannot be read or is
corrupted (the error says where), and 2 for a usage error.`,
		Example: `  bpfboxc dump login.bundle
  bpfboxc dump --format json login.bundle | jq '.profiles[].rules[] | select(.action == "deny")'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return cli.Usagef("dump: --format must be text or json, not %q", format)
			}
			b, size, err := readBundle(args[0])
			if err != nil {
				return &cli.ExitError{Code: cli.ExitFail, Err: fmt.Errorf("dump: %w", err)}
			}
			d := dumpOf(b, size, tables)
			if format == "json" {
				return writeJSON(cmd.OutOrStdout(), d)
			}
			return writeDumpText(cmd.OutOrStdout(), d)
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	cmd.Flags().BoolVar(&tables, "tables", false, "also list accepting states and permission entries")
	return cmd
}

// readBundle reads and fully verifies a bundle file.
func readBundle(path string) (*bundle.Bundle, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("read bundle: %w", unwrapPathErr(err))
	}
	defer f.Close()
	max := bundle.DefaultLimits().MaxSize
	data, err := io.ReadAll(io.LimitReader(f, int64(max)+1))
	if err != nil {
		return nil, 0, fmt.Errorf("read bundle %s: %w", path, err)
	}
	b, err := bundle.Decode(data)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", path, err)
	}
	return b, len(data), nil
}

func unwrapPathErr(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return fmt.Errorf("%s: %w", pe.Path, pe.Err)
	}
	return err
}

func writeJSON(w io.Writer, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return &cli.ExitError{Code: cli.ExitFail, Err: fmt.Errorf("encode json: %w", err)}
	}
	_, err = w.Write(append(data, '\n'))
	return err
}

// modeNames names the mode bits of a rule kind the way policies write them.
func modeNames(kind uint8, m uint64) string { return decide.ModeString(policy.Kind(kind), m) }

// JSON shapes of dump; field names are stable.
type (
	dumpJSON struct {
		FormatVersion int              `json:"format_version"`
		Compiler      string           `json:"compiler"`
		Digest        string           `json:"digest"`
		Bytes         int              `json:"bytes"`
		Sources       []sourceJSON     `json:"sources"`
		Profiles      []profileDmp     `json:"profiles"`
		Scopes        []scopeJSON      `json:"scopes"`
		ExecDFA       dfaJSON          `json:"exec_dfa"`
		ExecAccept    []execAcceptJSON `json:"exec_accept,omitempty"`
		Entries       int              `json:"entries"`
		EntryBytes    int              `json:"entry_bytes"`
	}
	sourceJSON struct {
		Name   string `json:"name"`
		Size   uint32 `json:"size"`
		SHA256 string `json:"sha256"`
	}
	profileDmp struct {
		Index    int        `json:"index"`
		Pattern  string     `json:"pattern"`
		Pos      *posJSON   `json:"pos"`
		Complain bool       `json:"complain"`
		Tainted  bool       `json:"tainted"`
		Literal  bool       `json:"literal"`
		Rules    []ruleJSON `json:"rules"`
		FSDFA    dfaJSON    `json:"fs_dfa"`
		Entries  int        `json:"entries"`
		// With --tables:
		FSAccept []acceptJSON `json:"fs_accept,omitempty"`
		NetEnt   []entryJSON  `json:"net_entries,omitempty"`
		SigEnt   []entryJSON  `json:"signal_entries,omitempty"`
		PtEnt    []entryJSON  `json:"ptrace_entries,omitempty"`
		CapEnt   []entryJSON  `json:"cap_entries,omitempty"`
	}
	acceptJSON struct {
		State   uint32      `json:"state"`
		First   uint32      `json:"first"`
		Entries []entryJSON `json:"entries"`
	}
	entryJSON struct {
		Index  uint32 `json:"index"`
		Rule   uint32 `json:"rule"` // index within the profile
		Scope  uint32 `json:"scope"`
		Action string `json:"action"`
		Audit  bool   `json:"audit"`
		Trans  bool   `json:"transition"`
		Modes  string `json:"modes"`
	}
	execAcceptJSON struct {
		State   uint32 `json:"state"`
		Profile uint32 `json:"profile"`
	}
	posJSON struct {
		File string `json:"file"`
		Line uint32 `json:"line"`
		Col  uint32 `json:"col"`
	}
	ruleJSON struct {
		ID         int      `json:"id"`
		Kind       string   `json:"kind"`
		Action     string   `json:"action"`
		Audit      bool     `json:"audit"`
		Transition bool     `json:"transition"`
		Scope      uint32   `json:"scope"`
		Modes      string   `json:"modes"`
		Object     string   `json:"object,omitempty"`
		Family     string   `json:"family,omitempty"`
		Target     string   `json:"target,omitempty"`
		Pos        *posJSON `json:"pos"`
		Text       string   `json:"text,omitempty"`
	}
	scopeJSON struct {
		ID      int    `json:"id"`
		Kind    string `json:"kind"`
		Symbol  string `json:"symbol"`
		Lib     string `json:"lib,omitempty"`
		Profile *int   `json:"profile,omitempty"`
	}
	dfaJSON struct {
		States       uint32 `json:"states"`
		Classes      uint32 `json:"classes"`
		Accepting    int    `json:"accepting_states"`
		CellBytes    uint32 `json:"cell_bytes"`
		TableBytes   int    `json:"table_bytes"`
		AcceptBytes  int    `json:"accept_bytes"`
		MaxEntries   uint32 `json:"max_entries_per_state"`
		DistinctSets int    `json:"distinct_entry_ranges"`
	}
)

func posOf(b *bundle.Bundle, src, line, col uint32) *posJSON {
	if src == bundle.None {
		return nil
	}
	return &posJSON{File: b.Sources[src].Name, Line: line, Col: col}
}

func (p *posJSON) String() string {
	if p == nil {
		return "(no position)"
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

func dfaStats(d *bundle.DFA) dfaJSON {
	out := dfaJSON{States: d.NumStates, Classes: d.NumClasses, CellBytes: bundle.CellSize(d.NumStates)}
	out.TableBytes = int(d.NumStates)*int(d.NumClasses)*int(out.CellBytes) + 256
	out.AcceptBytes = int(d.NumStates) * 8
	seen := map[bundle.Range]bool{}
	for _, a := range d.Accept {
		if a.Count == 0 {
			continue
		}
		out.Accepting++
		out.MaxEntries = max(out.MaxEntries, a.Count)
		seen[a] = true
	}
	out.DistinctSets = len(seen)
	return out
}

func ruleOf(b *bundle.Bundle, i uint32, local int) ruleJSON {
	r := &b.Rules[i]
	out := ruleJSON{
		ID: local, Kind: policy.Kind(r.Kind).String(), Action: policy.Action(r.Action).String(),
		Audit: r.Flags&bundle.FlagAudit != 0, Transition: r.Flags&bundle.FlagTransition != 0,
		Scope: r.Scope, Modes: modeNames(r.Kind, r.Modes), Pos: posOf(b, r.Source, r.Line, r.Col), Text: r.Text,
	}
	switch policy.Kind(r.Kind) {
	case policy.FS:
		out.Object = r.Object
	case policy.Net:
		out.Family = policy.Family(r.Arg).String()
	case policy.Signal, policy.Ptrace:
		out.Target = policy.Target{Kind: policy.TargetKind(r.Arg), Profile: r.Object}.String()
		if r.Arg == uint32(policy.TargetProfile) && r.Target == bundle.None {
			out.Target += " (no such profile)"
		}
	}
	return out
}

func entriesOf(b *bundle.Bundle, p *bundle.Profile, r bundle.Range) []entryJSON {
	var out []entryJSON
	for i := r.First; i < r.First+r.Count; i++ {
		en := &b.Entries[i]
		out = append(out, entryJSON{
			Index: i, Rule: en.Rule - p.Rules.First, Scope: en.Scope, Action: policy.Action(en.Action).String(),
			Audit: en.Flags&bundle.FlagAudit != 0, Trans: en.Flags&bundle.FlagTransition != 0,
			Modes: modeNames(b.Rules[en.Rule].Kind, en.Modes),
		})
	}
	return out
}

func dumpOf(b *bundle.Bundle, size int, tables bool) dumpJSON {
	d := dumpJSON{
		FormatVersion: bundle.Version, Compiler: b.CompilerVersion, Digest: hex.EncodeToString(b.Digest[:]),
		Bytes: size, Entries: len(b.Entries), EntryBytes: len(b.Entries) * 24,
		ExecDFA: dfaStats(&b.DFAs[b.ExecDFA]),
		Sources: []sourceJSON{}, Profiles: []profileDmp{}, Scopes: []scopeJSON{},
	}
	for _, s := range b.Sources {
		sum := ""
		if s.Digest != ([32]byte{}) {
			sum = hex.EncodeToString(s.Digest[:])
		}
		d.Sources = append(d.Sources, sourceJSON{Name: s.Name, Size: s.Size, SHA256: sum})
	}
	for i, p := range b.Profiles {
		pd := profileDmp{
			Index: i, Pattern: p.Pattern, Pos: posOf(b, p.Source, p.Line, p.Col),
			Complain: p.Flags&bundle.ProfileComplain != 0, Tainted: p.Flags&bundle.ProfileTainted != 0,
			Literal: p.Flags&bundle.ProfileLiteral != 0, FSDFA: dfaStats(&b.DFAs[p.FSDFA]), Rules: []ruleJSON{},
		}
		for j := uint32(0); j < p.Rules.Count; j++ {
			pd.Rules = append(pd.Rules, ruleOf(b, p.Rules.First+j, int(j)))
		}
		pd.Entries = int(p.Net.Count + p.Signal.Count + p.Ptrace.Count + p.Cap.Count)
		seen := map[bundle.Range]bool{}
		for _, a := range b.DFAs[p.FSDFA].Accept {
			if a.Count > 0 && !seen[a] {
				seen[a] = true
				pd.Entries += int(a.Count)
			}
		}
		if tables {
			for st, a := range b.DFAs[p.FSDFA].Accept {
				if a.Count > 0 {
					pd.FSAccept = append(pd.FSAccept, acceptJSON{State: uint32(st), First: a.First, Entries: entriesOf(b, &p, a)})
				}
			}
			pd.NetEnt, pd.SigEnt = entriesOf(b, &p, p.Net), entriesOf(b, &p, p.Signal)
			pd.PtEnt, pd.CapEnt = entriesOf(b, &p, p.Ptrace), entriesOf(b, &p, p.Cap)
		}
		d.Profiles = append(d.Profiles, pd)
	}
	if tables {
		for st, a := range b.DFAs[b.ExecDFA].Accept {
			if a.Count == 1 {
				d.ExecAccept = append(d.ExecAccept, execAcceptJSON{State: uint32(st), Profile: a.First})
			}
		}
	}
	for i, s := range b.Scopes {
		sj := scopeJSON{ID: i + 1, Kind: "func", Symbol: s.Symbol, Lib: s.Lib}
		if s.Kind == uint8(policy.KFuncScope) {
			sj.Kind = "kfunc"
		}
		if s.Profile != bundle.None {
			p := int(s.Profile)
			sj.Profile = &p
		}
		d.Scopes = append(d.Scopes, sj)
	}
	return d
}

func (s dfaJSON) String() string {
	return fmt.Sprintf("%d states, %d classes, %d accepting, %d-byte cells, %d table bytes + %d accept bytes",
		s.States, s.Classes, s.Accepting, s.CellBytes, s.TableBytes, s.AcceptBytes)
}

func writeDumpText(w io.Writer, d dumpJSON) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "bundle format %d, %d bytes, compiled by bpfboxc %s\n", d.FormatVersion, d.Bytes, d.Compiler)
	fmt.Fprintf(&b, "digest sha256:%s\n", d.Digest)
	fmt.Fprintf(&b, "\nsources (%d):\n", len(d.Sources))
	for _, s := range d.Sources {
		sum := s.SHA256
		if sum == "" {
			sum = "(text not available)"
		}
		fmt.Fprintf(&b, "  %-40s %6d bytes  sha256:%s\n", s.Name, s.Size, sum)
	}
	for _, p := range d.Profiles {
		var flags []string
		for _, f := range []struct {
			on   bool
			name string
		}{{p.Complain, "complain"}, {p.Tainted, "tainted"}, {p.Literal, "literal"}} {
			if f.on {
				flags = append(flags, f.name)
			}
		}
		fmt.Fprintf(&b, "\nprofile %d %q", p.Index, p.Pattern)
		if len(flags) > 0 {
			fmt.Fprintf(&b, " [%s]", strings.Join(flags, " "))
		}
		fmt.Fprintf(&b, " at %s\n", p.Pos)
		fmt.Fprintf(&b, "  fs dfa: %s\n", p.FSDFA)
		fmt.Fprintf(&b, "  entries: %d; rules (%d):\n", p.Entries, len(p.Rules))
		for _, r := range p.Rules {
			fmt.Fprintf(&b, "    #%-3d %s  %s\n", r.ID, r.Pos, ruleSummary(r, d.Scopes))
		}
		if len(p.FSAccept) > 0 {
			fmt.Fprintf(&b, "  fs accepting states (%d):\n", len(p.FSAccept))
			for _, a := range p.FSAccept {
				fmt.Fprintf(&b, "    state %-5d entries %d..%d: %s\n", a.State, a.First, a.First+uint32(len(a.Entries)), entryList(a.Entries))
			}
		}
		for _, k := range []struct {
			name string
			ents []entryJSON
		}{{"net", p.NetEnt}, {"signal", p.SigEnt}, {"ptrace", p.PtEnt}, {"cap", p.CapEnt}} {
			if len(k.ents) > 0 {
				fmt.Fprintf(&b, "  %s entries %d..%d: %s\n", k.name, k.ents[0].Index, k.ents[0].Index+uint32(len(k.ents)), entryList(k.ents))
			}
		}
	}
	fmt.Fprintf(&b, "\nscopes (%d):\n", len(d.Scopes))
	for _, s := range d.Scopes {
		where := ""
		switch {
		case s.Lib != "":
			where = " in " + s.Lib
		case s.Profile != nil:
			where = fmt.Sprintf(" in the executable of profile %d", *s.Profile)
		}
		fmt.Fprintf(&b, "  %d  %s %q%s\n", s.ID, s.Kind, s.Symbol, where)
	}
	fmt.Fprintf(&b, "\nexec dfa: %s\n", d.ExecDFA)
	for _, a := range d.ExecAccept {
		fmt.Fprintf(&b, "  state %-5d attaches profile %d\n", a.State, a.Profile)
	}
	fmt.Fprintf(&b, "entries: %d (%d bytes)\n", d.Entries, d.EntryBytes)
	_, err := w.Write(b.Bytes())
	return err
}

// ruleSummary shows a rule with its directives, close to how it was written.
func ruleSummary(r ruleJSON, scopes []scopeJSON) string {
	var dirs []string
	if r.Action != "allow" {
		dirs = append(dirs, r.Action)
	}
	if r.Audit {
		dirs = append(dirs, "audit")
	}
	if r.Transition {
		dirs = append(dirs, "transition")
	}
	if r.Scope != 0 && int(r.Scope) <= len(scopes) {
		sc := scopes[r.Scope-1]
		d := fmt.Sprintf("%s %q", sc.Kind, sc.Symbol)
		if sc.Lib != "" {
			d += fmt.Sprintf(" in %q", sc.Lib)
		}
		dirs = append(dirs, d)
	}
	var arg string
	switch r.Kind {
	case "fs":
		arg = fmt.Sprintf("%q, %s", r.Object, r.Modes)
	case "net":
		arg = r.Family + ", " + r.Modes
	case "signal", "ptrace":
		arg = r.Target + ", " + r.Modes
	default:
		arg = r.Modes
	}
	s := fmt.Sprintf("%s(%s)", r.Kind, arg)
	if len(dirs) > 0 {
		s = "#[" + strings.Join(dirs, ", ") + "] " + s
	}
	return s
}

// entryList shows entries compactly: "#3 allow read; #7 deny write [scope 1, audit]".
func entryList(ents []entryJSON) string {
	var parts []string
	for _, e := range ents {
		s := fmt.Sprintf("#%d %s %s", e.Rule, e.Action, e.Modes)
		var extra []string
		if e.Scope != 0 {
			extra = append(extra, fmt.Sprintf("scope %d", e.Scope))
		}
		if e.Audit {
			extra = append(extra, "audit")
		}
		if e.Trans {
			extra = append(extra, "transition")
		}
		if len(extra) > 0 {
			s += " [" + strings.Join(extra, ", ") + "]"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}
