package parser

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestGrammarFile fails when grammar/bbx.ebnf is not what the parser
// accepts; refresh it with "go generate ./lang/parser" or BPFBOX_UPDATE=1.
func TestGrammarFile(t *testing.T) {
	const file = "../../grammar/bbx.ebnf"
	if update {
		if err := os.WriteFile(file, []byte(Grammar()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go generate ./lang/parser)", err)
	}
	if diff := cmp.Diff(Grammar(), string(data)); diff != "" {
		t.Errorf("grammar/bbx.ebnf is stale; run go generate ./lang/parser (-want +got):\n%s", diff)
	}
}
