package check

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rogpeppe/go-internal/txtar"

	"github.com/bpfbox/bpfbox/lang/diag"
	"github.com/bpfbox/bpfbox/lang/policy"
	"github.com/bpfbox/bpfbox/lang/stdlib"
)

// A golden test is a txtar archive in testdata/:
//
//	-- login.bbx --          top-level .bbx files are the bundle's inputs, in order
//	                         (frag*.bbx as if found in a directory: Input.Fragment)
//	-- inc/x.bbx --          files in directories are only read through include
//	-- symbols --            optional fake ELF symbols, one "PATH: sym sym ..." per line
//	-- kfuncs --             optional fake kernel BTF function names
//	-- options --            optional settings: max_input_bytes=N
//	-- want --               the diagnostics, rendered as text
//	-- policy --             the resolved policy, when there are no errors
//
// BPFBOX_UPDATE=1 rewrites want and policy.
func TestGolden(t *testing.T) {
	paths, err := filepath.Glob("testdata/*.txtar")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no goldens: %v", err)
	}
	for _, path := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			runGolden(t, path)
		})
	}
}

func runGolden(t *testing.T, path string) {
	ar, err := txtar.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	inputs, opts, sections := goldenSetup(t, ar)
	pol, diags := Check(inputs, opts)
	got := map[string]string{"want": renderText(diags, ar), "policy": ""}
	if pol != nil {
		got["policy"] = dumpPolicy(pol)
	}
	if pol == nil && !diags.HasErrors() {
		t.Errorf("nil policy without errors")
	}
	if os.Getenv("BPFBOX_UPDATE") != "" {
		var files []txtar.File
		for _, f := range ar.Files {
			if f.Name != "want" && f.Name != "policy" {
				files = append(files, f)
			}
		}
		files = append(files, txtar.File{Name: "want", Data: []byte(got["want"])})
		if got["policy"] != "" {
			files = append(files, txtar.File{Name: "policy", Data: []byte(got["policy"])})
		}
		ar.Files = files
		if err := os.WriteFile(path, txtar.Format(ar), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	for _, name := range []string{"want", "policy"} {
		if diff := cmp.Diff(sections[name], got[name]); diff != "" {
			t.Errorf("%s mismatch (-want +got; refresh with BPFBOX_UPDATE=1):\n%s", name, diff)
		}
	}
}

func goldenSetup(t *testing.T, ar *txtar.Archive) ([]Input, Options, map[string]string) {
	files := make(map[string][]byte)
	sections := map[string]string{"want": "", "policy": ""}
	var inputs []Input
	opts := Options{}
	for _, f := range ar.Files {
		switch {
		case f.Name == "want" || f.Name == "policy":
			sections[f.Name] = string(f.Data)
		case f.Name == "symbols":
			syms := make(map[string]map[string]bool)
			for _, line := range strings.Split(strings.TrimSpace(string(f.Data)), "\n") {
				exe, names, ok := strings.Cut(line, ":")
				if !ok {
					t.Fatalf("symbols line %q: want PATH: sym ...", line)
				}
				syms[exe] = make(map[string]bool)
				for _, n := range strings.Fields(names) {
					syms[exe][n] = true
				}
			}
			opts.Symbols = func(exe string) (map[string]bool, error) {
				if s, ok := syms[exe]; ok {
					return s, nil
				}
				return nil, fs.ErrNotExist
			}
		case f.Name == "options":
			for _, line := range strings.Fields(string(f.Data)) {
				if v, ok := strings.CutPrefix(line, "max_input_bytes="); ok {
					fmt.Sscan(v, &opts.MaxInputBytes)
				} else {
					t.Fatalf("unknown option %q", line)
				}
			}
		case f.Name == "kfuncs":
			fns := make(map[string]bool)
			for _, n := range strings.Fields(string(f.Data)) {
				fns[n] = true
			}
			opts.KernelFuncs = func() (map[string]bool, error) { return fns, nil }
		default:
			files[f.Name] = f.Data
			if !strings.Contains(f.Name, "/") && strings.HasSuffix(f.Name, ".bbx") {
				inputs = append(inputs, Input{Name: f.Name, Src: f.Data, Fragment: strings.HasPrefix(f.Name, "frag")})
			}
		}
	}
	opts.ReadFile = func(name string) ([]byte, error) {
		if data, ok := files[filepath.ToSlash(name)]; ok {
			return data, nil
		}
		return nil, fmt.Errorf("open %s: %w", name, fs.ErrNotExist)
	}
	return inputs, opts, sections
}

func renderText(l diag.List, ar *txtar.Archive) string {
	var b bytes.Buffer
	diag.WriteText(&b, l, func(name string) []byte {
		if n, ok := strings.CutPrefix(name, "<"); ok {
			data, _ := stdlib.Lookup(strings.TrimSuffix(n, ">"))
			return data
		}
		for _, f := range ar.Files {
			if f.Name == filepath.ToSlash(name) {
				return f.Data
			}
		}
		return nil
	}, 0)
	return b.String()
}

// dumpPolicy prints a policy one rule per line, for goldens.
func dumpPolicy(p *policy.Policy) string {
	var b strings.Builder
	for _, pr := range p.Profiles {
		fmt.Fprintf(&b, "profile %q file=%s complain=%v tainted=%v\n", pr.Path, pr.File, pr.Complain, pr.Tainted)
		for _, r := range pr.Rules {
			fmt.Fprintf(&b, "  #%d %s:%d %s", r.ID, r.Span.File, r.Span.Start.Line, r.Action)
			if r.Audit {
				b.WriteString(" audit")
			}
			if r.Transition {
				b.WriteString(" transition")
			}
			if s := r.Scope; s != nil {
				if s.Kind == policy.KFuncScope {
					fmt.Fprintf(&b, " kfunc=%s", s.Symbol)
				} else {
					fmt.Fprintf(&b, " func=%s", s.Symbol)
					if s.Lib != "" {
						fmt.Fprintf(&b, " in=%s", s.Lib)
					}
				}
			}
			switch r.Kind {
			case policy.FS:
				fmt.Fprintf(&b, " fs %q %s", r.Path, r.FSModes)
			case policy.Net:
				fmt.Fprintf(&b, " net %s %s", r.Family, r.NetOps)
			case policy.Signal:
				fmt.Fprintf(&b, " signal %s %s", r.Target, r.Signals)
			case policy.Ptrace:
				fmt.Fprintf(&b, " ptrace %s %s", r.Target, r.Ptrace)
			case policy.Cap:
				fmt.Fprintf(&b, " cap %s", r.Caps)
			}
			b.WriteByte('\n')
		}
	}
	b.WriteString("sources:")
	for _, s := range p.Sources {
		fmt.Fprintf(&b, " %s", s.Name)
	}
	b.WriteByte('\n')
	return b.String()
}

var codeRE = regexp.MustCompile(`Code\w+\s*=\s*"([EWN]\d{3})"`)

// declaredCodes reads the codes from codes.go.
func declaredCodes(t *testing.T) []string {
	src, err := os.ReadFile("codes.go")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range codeRE.FindAllStringSubmatch(string(src), -1) {
		out = append(out, m[1])
	}
	if len(out) < 30 {
		t.Fatalf("found only %d codes in codes.go", len(out))
	}
	return out
}

// TestEveryCodeHasGolden: each code of codes.go is exercised by a golden.
func TestEveryCodeHasGolden(t *testing.T) {
	seen := make(map[string]bool)
	paths, _ := filepath.Glob("testdata/*.txtar")
	re := regexp.MustCompile(`(?m)^\S.*: (?:error|warning|note)\[([EWN]\d{3})\]`)
	for _, p := range paths {
		ar, err := txtar.ParseFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range ar.Files {
			if f.Name == "want" {
				for _, m := range re.FindAllStringSubmatch(string(f.Data), -1) {
					seen[m[1]] = true
				}
			}
		}
	}
	codes := declaredCodes(t)
	for _, c := range codes {
		if !seen[c] {
			t.Errorf("code %s has no golden in testdata/ that produces it", c)
		}
	}
	if dup := duplicates(codes); len(dup) > 0 {
		t.Errorf("codes declared twice: %v", dup)
	}
}

func duplicates(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	var out []string
	for i := 1; i < len(s); i++ {
		if s[i] == s[i-1] {
			out = append(out, s[i])
		}
	}
	return out
}

// TestDocsListEveryCode: docs/language.md documents each code.
func TestDocsListEveryCode(t *testing.T) {
	doc, err := os.ReadFile("../../docs/language.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range declaredCodes(t) {
		if !bytes.Contains(doc, []byte("`"+c+"`")) {
			t.Errorf("docs/language.md does not document %s", c)
		}
	}
}

// TestStdlibClean: every standard abstraction checks without a diagnostic.
func TestStdlibClean(t *testing.T) {
	for _, name := range stdlib.Names() {
		src := fmt.Sprintf("#![profile \"/usr/bin/x\"]\n#![tainted]\ninclude <%s>\n", name)
		pol, diags := Check([]Input{{Name: "x.bbx", Src: []byte(src)}}, Options{})
		if len(diags) > 0 || pol == nil {
			var b bytes.Buffer
			diag.WriteText(&b, diags, func(string) []byte { return nil }, 0)
			t.Errorf("<%s>:\n%s", name, b.String())
			continue
		}
		if len(pol.Profiles[0].Rules) == 0 {
			t.Errorf("<%s> has no rules", name)
		}
	}
}

// TestExamplesClean: the examples check as one bundle with no errors or warnings.
func TestExamplesClean(t *testing.T) {
	paths, err := filepath.Glob("../../examples/*.bbx")
	if err != nil || len(paths) < 4 {
		t.Fatalf("want at least 4 examples, found %d (%v)", len(paths), err)
	}
	var inputs []Input
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, Input{Name: p, Src: src})
	}
	pol, diags := Check(inputs, Options{ReadFile: os.ReadFile})
	for _, d := range diags {
		if d.Severity != diag.Note {
			var b bytes.Buffer
			diag.WriteText(&b, diags, func(name string) []byte { data, _ := os.ReadFile(name); return data }, 0)
			t.Fatalf("examples are not clean:\n%s", b.String())
		}
	}
	if pol == nil || len(pol.Profiles) != len(paths) {
		t.Fatalf("want %d profiles", len(paths))
	}
}

// TestReadFileErrors: an unreadable include reports the reader's error.
func TestReadFileErrors(t *testing.T) {
	src := "#![profile \"/x\"]\n#[taint] net(inet, connect)\ninclude \"a.bbx\"\ninclude \"a.bbx\"\n"
	_, diags := Check([]Input{{Name: "p.bbx", Src: []byte(src)}}, Options{
		ReadFile: func(string) ([]byte, error) { return nil, errors.New("permission denied") },
	})
	if n := diags.Count(diag.Error); n != 2 {
		t.Fatalf("want 2 errors (one per include line), got %v", diags)
	}
	if !strings.Contains(diags[0].Message, "permission denied") {
		t.Errorf("message %q lacks the reason", diags[0].Message)
	}
}
