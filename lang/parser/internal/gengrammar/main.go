// Command gengrammar writes the .bbx grammar (parser.Grammar) to the file
// named by its argument; "go generate ./lang/parser" runs it to refresh
// grammar/bbx.ebnf.
package main

import (
	"fmt"
	"os"

	"github.com/bpfbox/bpfbox/lang/parser"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gengrammar FILE")
		os.Exit(2)
	}
	if err := os.WriteFile(os.Args[1], []byte(parser.Grammar()), 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "gengrammar: %v\n", err)
		os.Exit(1)
	}
}
