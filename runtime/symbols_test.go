package runtime

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckFuncSymbol refuses, with the reason, the binaries a uprobe scope
// cannot use: Go programs, stripped binaries, absent symbols.
func TestCheckFuncSymbol(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	notELF := filepath.Join(dir, "script")
	if err := os.WriteFile(notELF, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		path, symbol, want string
	}{
		{self, "main.main", "is a Go program"},
		{notELF, "main", "read ELF file " + notELF + ": "},
		{filepath.Join(dir, "absent"), "main", "no such file"},
	}
	if cc, err := exec.LookPath("gcc"); err == nil {
		src := filepath.Join(dir, "f.c")
		os.WriteFile(src, []byte("__attribute__((noinline)) int check_password(int x) { return x + 1; }\nint main(int c, char **v) { return check_password(c); }\n"), 0o644)
		bin, stripped := filepath.Join(dir, "f"), filepath.Join(dir, "f.stripped")
		if out, err := exec.Command(cc, "-O2", "-o", bin, src).CombinedOutput(); err != nil {
			t.Fatalf("gcc: %v\n%s", err, out)
		}
		if out, err := exec.Command(cc, "-O2", "-static", "-s", "-o", stripped, src).CombinedOutput(); err != nil {
			t.Fatalf("gcc: %v\n%s", err, out)
		}
		cases = append(cases, []struct{ path, symbol, want string }{
			{bin, "check_password", ""},
			{bin, "add_user", "has no function add_user"},
			{stripped, "check_password", "no symbol table (stripped)"},
		}...)
	} else {
		t.Log("no gcc: the C cases are covered in the VM only")
	}
	for _, c := range cases {
		err := checkFuncSymbol(c.path, c.symbol)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("checkFuncSymbol(%s, %s): %v", c.path, c.symbol, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("checkFuncSymbol(%s, %s) = %v, want an error containing %q", c.path, c.symbol, err, c.want)
		}
	}
}
