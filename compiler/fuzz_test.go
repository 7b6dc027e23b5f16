package compiler_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bpfbox/bpfbox/compiler"
	"github.com/bpfbox/bpfbox/compiler/decide"
	"github.com/bpfbox/bpfbox/compiler/dfa"
	"github.com/bpfbox/bpfbox/lang/check"
)

// FuzzCompile: every policy the checker accepts compiles (or hits a stated
// DFA limit) to a bundle that decodes, and explain-style requests on it
// never fail. Seeds: the examples, under testdata/fuzz/FuzzCompile and here.
func FuzzCompile(f *testing.F) {
	paths, _ := filepath.Glob("../examples/*.bbx")
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("#![profile \"/usr/bin/a*\"]\n#[deny] fs(\"/{a,b/**}/[!x]?\", read|write)\n#[func \"f\"] #[transition] fs(\"/usr/bin/a1\", exec)\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		pol, diags := check.Check([]check.Input{{Name: "f.bbx", Src: src}}, check.Options{
			ReadFile: func(string) ([]byte, error) { return nil, os.ErrNotExist },
		})
		if diags.HasErrors() {
			return
		}
		opts := compiler.DefaultOptions()
		opts.Limits = dfa.Limits{MaxStates: 1 << 14}
		res, err := compiler.CompileWith(pol, opts)
		if err != nil {
			if errors.Is(err, dfa.ErrLimit) || strings.Contains(err.Error(), "match the same paths") {
				return
			}
			t.Fatalf("checked policy does not compile: %v\n%s", err, src)
		}
		b := res.Tables
		for _, p := range b.Profiles {
			for _, line := range []string{
				p.Pattern + " fs /etc/passwd read|write",
				p.Pattern + " fs /etc/passwd exec tainted",
				p.Pattern + " net inet connect tainted",
				p.Pattern + " signal sigterm child",
				p.Pattern + " cap setuid tainted",
			} {
				if strings.ContainsAny(p.Pattern, " \t") {
					continue
				}
				req, err := decide.ParseRequest(b, line)
				if err != nil {
					continue // a glob pattern is not always a path that attaches
				}
				if _, err := decide.Decide(b, req); err != nil {
					t.Fatalf("%s: %v", line, err)
				}
			}
		}
	})
}
