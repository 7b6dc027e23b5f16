package decide_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rogpeppe/go-internal/txtar"

	"github.com/bpfbox/bpfbox/compiler"
	"github.com/bpfbox/bpfbox/compiler/bundle"
	"github.com/bpfbox/bpfbox/compiler/decide"
	"github.com/bpfbox/bpfbox/lang/check"
	"github.com/bpfbox/bpfbox/lang/diag"
)

// compileArchive checks and compiles the .bbx files of an archive (in
// archive order) and decodes the bundle, as bpfboxc compile and explain do.
func compileArchive(t *testing.T, ar *txtar.Archive) *bundle.Bundle {
	t.Helper()
	files := map[string][]byte{}
	var inputs []check.Input
	for _, f := range ar.Files {
		files[f.Name] = f.Data
		if strings.HasSuffix(f.Name, ".bbx") && !strings.HasPrefix(f.Name, "inc/") {
			inputs = append(inputs, check.Input{Name: f.Name, Src: f.Data})
		}
		// "examples" lists files of the repository's examples/ to compile too.
		if f.Name == "examples" {
			for _, name := range strings.Fields(string(f.Data)) {
				data, err := os.ReadFile(filepath.Join("..", "..", "examples", name))
				if err != nil {
					t.Fatal(err)
				}
				files["examples/"+name] = data
				inputs = append(inputs, check.Input{Name: "examples/" + name, Src: data})
			}
		}
	}
	opts := check.Options{ReadFile: func(p string) ([]byte, error) {
		if d, ok := files[p]; ok {
			return d, nil
		}
		return nil, os.ErrNotExist
	}}
	pol, diags := check.Check(inputs, opts)
	if diags.HasErrors() {
		var buf bytes.Buffer
		diag.WriteText(&buf, diags, func(n string) []byte { return files[n] }, 0)
		t.Fatalf("policy has errors:\n%s", buf.String())
	}
	res, err := compiler.CompileWith(pol, compiler.Options{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return res.Tables
}

// TestScenarios runs testdata/*.txtar: policy files, a "cases" section of
// requests (decide.ParseRequest) and a "want" section with one decision
// (decide.Format) under each request. BPFBOX_UPDATE=1 rewrites "want".
func TestScenarios(t *testing.T) {
	paths, _ := filepath.Glob("testdata/*.txtar")
	if len(paths) == 0 {
		t.Fatal("no testdata/*.txtar")
	}
	for _, path := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(path)
			if err != nil {
				t.Fatal(err)
			}
			b := compileArchive(t, ar)
			var cases []byte
			wantAt := -1
			for i, f := range ar.Files {
				switch f.Name {
				case "cases":
					cases = f.Data
				case "want":
					wantAt = i
				}
			}
			var got strings.Builder
			for _, line := range strings.Split(string(cases), "\n") {
				line = strings.TrimSpace(line)
				if line == "" || strings.HasPrefix(line, "#") {
					continue
				}
				r, err := decide.ParseRequest(b, line)
				if err != nil {
					t.Fatal(err)
				}
				d, err := decide.Decide(b, r)
				if err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(&got, "%s\n    %s\n", line, decide.Format(b, r, d))
			}
			if os.Getenv("BPFBOX_UPDATE") != "" {
				if wantAt < 0 {
					ar.Files = append(ar.Files, txtar.File{Name: "want"})
					wantAt = len(ar.Files) - 1
				}
				ar.Files[wantAt].Data = []byte(got.String())
				if err := os.WriteFile(path, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if wantAt < 0 {
				t.Fatal("no want section (run with BPFBOX_UPDATE=1)")
			}
			if diff := cmp.Diff(string(ar.Files[wantAt].Data), got.String()); diff != "" {
				t.Errorf("decisions (-want +got):\n%s", diff)
			}
		})
	}
}
