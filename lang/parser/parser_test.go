package parser

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rogpeppe/go-internal/txtar"

	"github.com/bpfbox/bpfbox/lang/ast"
	"github.com/bpfbox/bpfbox/lang/diag"
	"github.com/bpfbox/bpfbox/lang/source"
)

var update = os.Getenv("BPFBOX_UPDATE") != ""

// TestGolden parses the input.bbx of every testdata/*.txtar and compares the
// diagnostics and the tree with the want section. BPFBOX_UPDATE=1 rewrites
// the want sections.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no goldens: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var input []byte
			wantIdx := -1
			for i, f := range ar.Files {
				switch f.Name {
				case "input.bbx":
					input = f.Data
				case "want":
					wantIdx = i
				}
			}
			if input == nil {
				t.Fatal("no input.bbx section")
			}
			f, l := Parse("input.bbx", input)
			got := render(f, l)
			checkInvariants(t, input, f, l)
			if update {
				if wantIdx < 0 {
					ar.Files = append(ar.Files, txtar.File{Name: "want"})
					wantIdx = len(ar.Files) - 1
				}
				ar.Files[wantIdx].Data = []byte(got)
				if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if wantIdx < 0 {
				t.Fatal("no want section (run with BPFBOX_UPDATE=1)")
			}
			if diff := cmp.Diff(string(ar.Files[wantIdx].Data), got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// render is the golden text: the diagnostics, then the tree.
func render(f *ast.File, l diag.List) string {
	out := dumpDiags(l)
	if out != "" {
		out += "\n"
	}
	return out + dumpFile(f)
}

// checkInvariants holds for every input: spans lie inside the source with
// Start <= End and agree with line/column counting, diagnostics are sorted,
// and the file is non-nil.
func checkInvariants(t *testing.T, src []byte, f *ast.File, l diag.List) {
	t.Helper()
	if f == nil {
		t.Fatal("nil file")
	}
	n := len(f.Src)
	lines := lineStarts(f.Src)
	check := func(what string, sp source.Span) {
		s, e := sp.Start, sp.End
		if s.Offset < 0 || e.Offset > n || s.Offset > e.Offset {
			t.Errorf("%s: span %d..%d outside source of %d bytes", what, s.Offset, e.Offset, n)
			return
		}
		for _, p := range []source.Pos{s, e} {
			line := lineOf(lines, p.Offset)
			if p.Line != line+1 || p.Col != p.Offset-lines[line]+1 {
				t.Errorf("%s: position %d:%d does not match offset %d (want %d:%d)", what, p.Line, p.Col, p.Offset, line+1, p.Offset-lines[line]+1)
			}
		}
	}
	for _, d := range l {
		check("diagnostic "+d.Code, d.Span)
		if d.Span.File != f.Name {
			t.Errorf("diagnostic %s: file %q, want %q", d.Code, d.Span.File, f.Name)
		}
		if d.Severity != diag.Error || len(d.Code) != 4 || d.Code[0] != 'P' || d.Message == "" {
			t.Errorf("bad diagnostic %+v", d)
		}
	}
	for i := 1; i < len(l); i++ {
		if l[i-1].Span.Start.Offset > l[i].Span.Start.Offset {
			t.Errorf("diagnostics not sorted: %v before %v", l[i-1].Span, l[i].Span)
		}
	}
	for _, c := range f.Comments {
		check("comment", c.Span)
		if got := string(f.Src[c.Span.Start.Offset:c.Span.End.Offset]); got != c.Text {
			t.Errorf("comment text %q != source %q", c.Text, got)
		}
	}
	for _, in := range f.Inner {
		check("inner", in.Span)
	}
	var walk func([]ast.Item)
	walk = func(items []ast.Item) {
		for _, it := range items {
			check("item", it.ItemSpan())
			for _, d := range it.ItemDirectives() {
				check("directive", d.Span)
				for _, a := range d.Args {
					check("arg", a.Span)
				}
			}
			switch it := it.(type) {
			case *ast.Rule:
				check("kind", it.Kind.Span)
				for _, a := range it.Args {
					check("arg", a.Span)
					for _, id := range a.Idents {
						check("ident", id.Span)
					}
				}
			case *ast.Include:
				check("include path", it.PathSpan)
			case *ast.Block:
				walk(it.Items)
			}
		}
	}
	walk(f.Items)
	if !bytes.Equal(f.Src, bytes.TrimPrefix(src, bom)) && len(src) <= MaxFileSize {
		t.Errorf("File.Src is not the source without its BOM")
	}
}

func lineStarts(src []byte) []int {
	starts := []int{0}
	for i, c := range src {
		if c == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// lineOf returns the 0-based line holding offset off.
func lineOf(starts []int, off int) int {
	i := sort.SearchInts(starts, off+1) - 1
	return max(i, 0)
}
