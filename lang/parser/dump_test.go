package parser

import (
	"fmt"
	"strings"

	"github.com/bpfbox/bpfbox/lang/ast"
	"github.com/bpfbox/bpfbox/lang/diag"
	"github.com/bpfbox/bpfbox/lang/source"
)

// dumpFile renders a file's tree with spans (LINE:COL-LINE:COL) for goldens.
func dumpFile(f *ast.File) string {
	var b strings.Builder
	for _, in := range f.Inner {
		fmt.Fprintf(&b, "inner %s %s", in.Name.Name, sp(in.Span))
		if in.Arg != nil {
			fmt.Fprintf(&b, " %s", dumpArg(in.Arg))
		}
		b.WriteString("\n")
	}
	dumpItems(&b, f.Items, "")
	for _, c := range f.Comments {
		fmt.Fprintf(&b, "comment %s %q\n", sp(c.Span), c.Text)
	}
	return b.String()
}

func dumpItems(b *strings.Builder, items []ast.Item, ind string) {
	for _, it := range items {
		for _, d := range it.ItemDirectives() {
			fmt.Fprintf(b, "%sdirective %s %s", ind, d.Name.Name, sp(d.Span))
			for _, a := range d.Args {
				fmt.Fprintf(b, " %s", dumpArg(a))
			}
			b.WriteString("\n")
		}
		switch it := it.(type) {
		case *ast.Rule:
			fmt.Fprintf(b, "%srule %s %s", ind, it.Kind.Name, sp(it.Span))
			for _, a := range it.Args {
				fmt.Fprintf(b, " %s", dumpArg(a))
			}
			b.WriteString("\n")
		case *ast.Include:
			fmt.Fprintf(b, "%sinclude std=%v %q %s path=%s\n", ind, it.Std, it.Path, sp(it.Span), sp(it.PathSpan))
		case *ast.Block:
			fmt.Fprintf(b, "%sblock %s\n", ind, sp(it.Span))
			dumpItems(b, it.Items, ind+"    ")
		}
	}
}

func dumpArg(a *ast.Arg) string {
	var names []string
	for _, id := range a.Idents {
		names = append(names, id.Name)
	}
	switch a.Kind {
	case ast.ArgString:
		return fmt.Sprintf("[%q]", a.Str)
	case ast.ArgIdentString:
		return fmt.Sprintf("[%s %q]", names[0], a.Str)
	}
	return "[" + strings.Join(names, "|") + "]"
}

func sp(s source.Span) string {
	return fmt.Sprintf("%d:%d-%d:%d", s.Start.Line, s.Start.Col, s.End.Line, s.End.Col)
}

// dumpDiags renders diagnostics one per line, FILE:LINE:COL: error[CODE]: MSG,
// each followed by its hint, if any, on an indented line.
func dumpDiags(l diag.List) string {
	var b strings.Builder
	for _, d := range l {
		fmt.Fprintf(&b, "%s: %s[%s]: %s\n", d.Span, d.Severity, d.Code, d.Message)
		if d.Hint != "" {
			fmt.Fprintf(&b, "    hint: %s\n", d.Hint)
		}
	}
	return b.String()
}
