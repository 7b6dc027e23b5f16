package parser

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/bpfbox/bpfbox/lang/ast"
	"github.com/bpfbox/bpfbox/lang/diag"
)

// parseWith runs one of the three parsing strategies alone on src.
func parseWith(src []byte, strategy string) (*ast.File, bool, int) {
	src = bytes.TrimPrefix(src, bom)
	errs := &errSink{max: maxErrors}
	lx := lexFile("f.bbx", src, errs)
	lexErrs := len(errs.list)
	p := &builder{name: "f.bbx", lx: lx, errs: errs, f: &ast.File{Name: "f.bbx"}}
	ok := true
	switch strategy {
	case "fast":
		ok = p.parseFast()
	case "grammar":
		ok = p.parseWhole()
	case "entries":
		p.parseEntries()
	case "entries-participle":
		p.participleOnly = true
		p.parseEntries()
	}
	return p.f, ok, len(errs.list) - lexErrs
}

// compareStrategies checks that the hand-written fast path, the participle
// whole-file grammar and the entry-by-entry recovery parser agree: the first
// two accept the same inputs and build the same tree (spans included), and
// on every accepted input the recovery parser builds it too, silently.
func compareStrategies(t *testing.T, src []byte) {
	t.Helper()
	fast, okFast, _ := parseWith(src, "fast")
	whole, okWhole, _ := parseWith(src, "grammar")
	if okFast != okWhole {
		t.Fatalf("fast path accepts=%v, participle grammar accepts=%v for %q", okFast, okWhole, src)
	}
	if okFast && fullDump(whole) != fullDump(fast) {
		t.Fatalf("fast path and grammar disagree for %q:\n%s", src, treeDiff(whole, fast))
	}
	// On any input, the recovery parser gives the same tree and errors
	// whether or not it tries the fast entry parsers first.
	// (Past the error limit, recovery is best effort: it skips participle.)
	if len(src) < 1<<16 {
		e1, _, n1 := parseWith(src, "entries")
		e2, _, n2 := parseWith(src, "entries-participle")
		_, l := Parse("f.bbx", src)
		capped := slices.ContainsFunc(l, func(d diag.Diagnostic) bool { return d.Code == CodeTooManyErrors })
		if !capped && (n1 != n2 || fullDump(e1) != fullDump(e2)) {
			t.Fatalf("fast entry parsers change recovery (%d vs %d errors):\n%s", n1, n2, treeDiff(e2, e1))
		}
	}
	if !okFast {
		return
	}
	entries, _, n := parseWith(src, "entries")
	if n != 0 {
		t.Fatalf("recovery parser reports %d errors on a valid file %q", n, src)
	}
	if fullDump(whole) != fullDump(entries) {
		t.Fatalf("grammar and recovery parser disagree for %q:\n%s", src, treeDiff(whole, entries))
	}
}

func goldenInputs(tb testing.TB) [][]byte {
	files, _ := filepath.Glob("testdata/*.txtar")
	var out [][]byte
	for _, file := range files {
		ar, err := txtar.ParseFile(file)
		if err != nil {
			tb.Fatal(err)
		}
		for _, f := range ar.Files {
			if f.Name == "input.bbx" {
				out = append(out, f.Data)
			}
		}
	}
	return out
}

func TestStrategiesAgree(t *testing.T) {
	inputs := append(goldenInputs(t), genPolicy(300))
	for _, src := range inputs {
		compareStrategies(t, src)
	}
}

func TestFileTooLarge(t *testing.T) {
	src := bytes.Repeat([]byte("cap(chown)\n"), MaxFileSize/11+1)
	f, l := Parse("big.bbx", src)
	if len(l) != 1 || l[0].Code != CodeFileTooLarge || len(f.Items) != 0 || f == nil {
		t.Fatalf("got %d items, diagnostics %v", len(f.Items), l)
	}
}

func TestErrorLimit(t *testing.T) {
	src := strings.Repeat("@ fs(\n", 500)
	_, l := Parse("many.bbx", []byte(src))
	if len(l) != maxErrors+1 || l[len(l)-1].Code != CodeTooManyErrors {
		t.Fatalf("got %d diagnostics, last %v", len(l), l[len(l)-1])
	}
}

// FuzzParse: Parse never panics, is deterministic, keeps every span inside
// the source, reports a syntax error whenever the grammar rejects the file,
// and its three strategies agree.
func FuzzParse(f *testing.F) {
	for _, src := range goldenInputs(f) {
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		file, l := Parse("f.bbx", src)
		file2, l2 := Parse("f.bbx", src)
		if fullDump(file) != fullDump(file2) {
			t.Fatalf("Parse is not deterministic:\n%s", treeDiff(file, file2))
		}
		if !slices.Equal(l, l2) {
			t.Fatalf("Parse diagnostics not deterministic:\n%v\n%v", l, l2)
		}
		checkInvariants(t, src, file, l)
		if len(src) > MaxFileSize {
			return
		}
		_, ok, _ := parseWith(src, "fast")
		// A rejected file has a syntax error, or a lexical error (the syntax
		// error that follows one is not reported); an accepted one has none.
		// When the error limit is reached, the rest goes unreported.
		syntaxErr, lexErr, capped := false, false, false
		for _, d := range l {
			syntaxErr = syntaxErr || d.Code >= CodeSyntax && d.Code <= CodeDanglingDirective
			lexErr = lexErr || d.Code < CodeSyntax
			capped = capped || d.Code == CodeTooManyErrors
		}
		if ok && syntaxErr || !ok && !syntaxErr && !lexErr && !capped {
			t.Fatalf("grammar accepts=%v but syntax errors reported=%v: %v", ok, syntaxErr, l)
		}
		compareStrategies(t, src)
	})
}

// treeDiff shows two trees' differences line by line (cmp.Diff is
// exponential on deeply nested blocks).
func treeDiff(a, b *ast.File) string {
	da, db := strings.Split(fullDump(a), "\n"), strings.Split(fullDump(b), "\n")
	for i := 0; i < max(len(da), len(db)); i++ {
		var la, lb string
		if i < len(da) {
			la = da[i]
		}
		if i < len(db) {
			lb = db[i]
		}
		if la != lb {
			return fmt.Sprintf("line %d:\n- %s\n+ %s", i+1, la, lb)
		}
	}
	return "(trees differ outside the dump)"
}

// fullDump prints a tree with every field, one node per line.
func fullDump(f *ast.File) string {
	var b strings.Builder
	fmt.Fprintf(&b, "file %q %v\n", f.Name, f.Span)
	for _, in := range f.Inner {
		fmt.Fprintf(&b, "inner %+v %+v", in.Name, in.Span)
		if in.Arg != nil {
			fmt.Fprintf(&b, " %+v", *in.Arg)
		}
		b.WriteString("\n")
	}
	var walk func([]ast.Item, string)
	walk = func(items []ast.Item, ind string) {
		for _, it := range items {
			for _, d := range it.ItemDirectives() {
				fmt.Fprintf(&b, "%sdirective %+v %+v", ind, d.Name, d.Span)
				for _, a := range d.Args {
					fmt.Fprintf(&b, " %+v", *a)
				}
				b.WriteString("\n")
			}
			switch it := it.(type) {
			case *ast.Rule:
				fmt.Fprintf(&b, "%srule %+v %+v", ind, it.Kind, it.Span)
				for _, a := range it.Args {
					fmt.Fprintf(&b, " %+v", *a)
				}
				b.WriteString("\n")
			case *ast.Include:
				fmt.Fprintf(&b, "%sinclude %q %v %+v %+v\n", ind, it.Path, it.Std, it.PathSpan, it.Span)
			case *ast.Block:
				fmt.Fprintf(&b, "%sblock %+v items=%v\n", ind, it.Span, it.Items == nil)
				walk(it.Items, ind+"  ")
			}
		}
	}
	walk(f.Items, "")
	for _, c := range f.Comments {
		fmt.Fprintf(&b, "comment %+v\n", *c)
	}
	return b.String()
}
