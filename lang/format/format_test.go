package format

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/rogpeppe/go-internal/txtar"

	"github.com/bpfbox/bpfbox/lang/ast"
	"github.com/bpfbox/bpfbox/lang/parser"
	"github.com/bpfbox/bpfbox/lang/source"
)

var update = os.Getenv("BPFBOX_UPDATE") != ""

// TestGolden formats the input.bbx of every testdata/*.txtar and compares
// with want.bbx (or, for input with parse errors, the diagnostics in want).
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.txtar")
	if len(files) == 0 {
		t.Fatal("no goldens")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var input []byte
			for _, f := range ar.Files {
				if f.Name == "input.bbx" {
					input = f.Data
				}
			}
			out, l := Source("input.bbx", input)
			got := string(out)
			if l.HasErrors() {
				got = ""
				for _, d := range l {
					got += d.Span.String() + ": error[" + d.Code + "]: " + d.Message + "\n"
				}
			} else {
				checkRoundTrip(t, input, out)
			}
			if update {
				ar.Files = append(ar.Files[:1], txtar.File{Name: "want", Data: []byte(got)})
				if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if len(ar.Files) < 2 || ar.Files[1].Name != "want" {
				t.Fatal("no want section (run with BPFBOX_UPDATE=1)")
			}
			if diff := cmp.Diff(string(ar.Files[1].Data), got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRoundTrip formats every .bbx input the project has (parser goldens,
// these goldens, the examples, the fuzz corpora) and checks the output
// means the same and is a fixed point.
func TestRoundTrip(t *testing.T) {
	n := 0
	for _, src := range corpus(t) {
		if _, l := parser.Parse("in.bbx", src); l.HasErrors() {
			continue
		}
		out, l := Source("in.bbx", src)
		if l.HasErrors() {
			t.Fatalf("format failed on a valid file: %v", l)
		}
		checkRoundTrip(t, src, out)
		n++
	}
	if n < 10 {
		t.Fatalf("only %d valid inputs found", n)
	}
}

// corpus gathers .bbx texts from the repository's testdata and examples.
func corpus(t testing.TB) [][]byte {
	var out [][]byte
	for _, pat := range []string{"testdata/*.txtar", "../parser/testdata/*.txtar", "../../examples/*.bbx",
		"../../examples/*/*.bbx", "testdata/fuzz/FuzzFormat/*", "../parser/testdata/fuzz/FuzzParse/*"} {
		files, _ := filepath.Glob(pat)
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case strings.HasSuffix(file, ".txtar"):
				for _, f := range txtar.Parse(data).Files {
					if strings.HasSuffix(f.Name, ".bbx") {
						out = append(out, f.Data)
					}
				}
			case strings.Contains(file, "/fuzz/"):
				if src, ok := corpusEntry(data); ok {
					out = append(out, src)
				}
			default:
				out = append(out, data)
			}
		}
	}
	return out
}

// checkRoundTrip: out parses without errors, to the same tree as src
// (spans aside) with the same comments, and formats to itself.
func checkRoundTrip(t *testing.T, src, out []byte) {
	t.Helper()
	f1, _ := parser.Parse("in.bbx", src)
	f2, l := parser.Parse("in.bbx", out)
	if l.HasErrors() {
		t.Fatalf("formatted output does not parse: %v\n--- output:\n%s", l, out)
	}
	// The dump comparison is cheap and bounded; cmp then checks every field.
	if d1, d2 := shape(f1), shape(f2); d1 != d2 {
		t.Fatalf("formatting changed the tree:\n--- before:\n%s--- after:\n%s--- output:\n%s", d1, d2, out)
	}
	// go-cmp diffs every slice it compares, which is exponential in the
	// nesting depth: use it on trees of ordinary depth only.
	if depth(f1.Items) <= 8 && !cmp.Equal(f1, f2, ignoreLayout...) {
		t.Fatalf("formatting changed the tree (fields outside the dump)\n--- output:\n%s", out)
	}
	if c1, c2 := commentTexts(f1), commentTexts(f2); !cmp.Equal(c1, c2) {
		t.Fatalf("formatting changed the comments:\n%s", cmp.Diff(c1, c2))
	}
	again, l := Source("in.bbx", out)
	if l.HasErrors() || !bytes.Equal(again, out) {
		t.Fatalf("not idempotent:\n--- once:\n%s--- twice:\n%s", out, again)
	}
}

// ignoreLayout compares trees by meaning: spans, source text and comments aside.
var ignoreLayout = []cmp.Option{
	cmpopts.IgnoreTypes(source.Span{}),
	cmpopts.IgnoreFields(ast.File{}, "Src", "Comments"),
	cmpopts.EquateEmpty(),
}

func commentTexts(f *ast.File) []string {
	var out []string
	for _, c := range f.Comments {
		out = append(out, commentText(c.Text))
	}
	return out
}

// shape renders a tree without spans, for cheap comparison and messages.
func shape(f *ast.File) string {
	var b strings.Builder
	for _, in := range f.Inner {
		b.WriteString("inner " + in.Name.Name)
		if in.Arg != nil {
			b.WriteString(" " + argShape(in.Arg))
		}
		b.WriteString("\n")
	}
	var walk func([]ast.Item, string)
	walk = func(items []ast.Item, ind string) {
		for _, it := range items {
			for _, d := range it.ItemDirectives() {
				b.WriteString(ind + "#" + d.Name.Name)
				for _, a := range d.Args {
					b.WriteString(" " + argShape(a))
				}
				b.WriteString("\n")
			}
			switch it := it.(type) {
			case *ast.Rule:
				b.WriteString(ind + it.Kind.Name + "(")
				for _, a := range it.Args {
					b.WriteString(" " + argShape(a))
				}
				b.WriteString(" )\n")
			case *ast.Include:
				b.WriteString(ind + "include " + Quote(it.Path))
				if it.Std {
					b.WriteString(" std")
				}
				b.WriteString("\n")
			case *ast.Block:
				b.WriteString(ind + "{\n")
				walk(it.Items, ind+"  ")
				b.WriteString(ind + "}\n")
			}
		}
	}
	walk(f.Items, "")
	return b.String()
}

func argShape(a *ast.Arg) string {
	var names []string
	for _, id := range a.Idents {
		names = append(names, id.Name)
	}
	return "[" + strings.Join(names, "|") + " " + Quote(a.Str) + "]"
}

// corpusEntry decodes a Go fuzz corpus file holding one []byte value.
func corpusEntry(data []byte) ([]byte, bool) {
	lines := strings.SplitN(string(data), "\n", 3)
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "go test fuzz v1") {
		return nil, false
	}
	v := strings.TrimSpace(lines[1])
	if !strings.HasPrefix(v, "[]byte(") || !strings.HasSuffix(v, ")") {
		return nil, false
	}
	s, err := strconv.Unquote(v[len("[]byte(") : len(v)-1])
	if err != nil {
		return nil, false
	}
	return []byte(s), true
}

// FuzzFormat: for every input that parses, the output parses to the same
// tree with the same comments and formats to itself.
func FuzzFormat(f *testing.F) {
	for _, src := range corpus(f) {
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		if _, l := parser.Parse("in.bbx", src); l.HasErrors() {
			return
		}
		out, l := Source("in.bbx", src)
		if l.HasErrors() {
			t.Fatalf("format failed on a valid file: %v", l)
		}
		checkRoundTrip(t, src, out)
	})
}

func depth(items []ast.Item) int {
	d := 0
	for _, it := range items {
		if b, ok := it.(*ast.Block); ok {
			d = max(d, 1+depth(b.Items))
		}
	}
	return d
}
