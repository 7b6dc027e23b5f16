package stdlib

import (
	"slices"
	"testing"
)

func TestLookup(t *testing.T) {
	names := Names()
	for _, want := range []string{"base", "nameservice", "tty"} {
		if !slices.Contains(names, want) {
			t.Errorf("Names() = %v, missing %q", names, want)
		}
	}
	for _, n := range names {
		if data, ok := Lookup(n); !ok || len(data) == 0 {
			t.Errorf("Lookup(%q) = %d bytes, %v", n, len(data), ok)
		}
	}
	for _, bad := range []string{"", "nope", "../stdlib", "std/base", "base.bbx"} {
		if _, ok := Lookup(bad); ok {
			t.Errorf("Lookup(%q) found something", bad)
		}
	}
}
