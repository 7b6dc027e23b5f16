package check

import (
	"bytes"
	"fmt"
	"io/fs"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/bpfbox/bpfbox/lang/diag"
)

// FuzzCheck checks arbitrary text as a profile that may include itself, a
// second fuzzed file and the standard abstractions: it must never panic or
// hang, and checking twice must give the same diagnostics and policy.
func FuzzCheck(f *testing.F) {
	f.Add([]byte("#![profile \"/usr/bin/x\"]\nfs(\"/etc/passwd\", read)\n"), []byte("fs(\"/a\", read)\n"))
	f.Add([]byte("#![profile \"/x\"]\ninclude \"inc.bbx\"\ninclude <base>\n#[taint] net(inet, connect)\n"), []byte("include \"p.bbx\"\n"))
	f.Add([]byte("#![profile \"/x\"]\n#[func \"f\"] { #[kfunc \"g\"] fs(\"/a/{b,c\", raed|bind) }\n"), []byte("#![profile \"/y\"]\n"))
	f.Add([]byte("#![profile \"/x\"]\n#[transition] #[deny] fs(\"/tmp/**\", exec|write)\nsignal(any, fatal)\ncap(sys_admin)\n"), []byte("include \"inc.bbx\"\n"))
	f.Add([]byte("#![profile \"/x\\x41\"]\nfs(\"/a\\t[z-a]\", read)\nfs(\"/a\", read)\nfs(\"/a\", read)\n"), []byte(""))
	f.Fuzz(func(t *testing.T, main, inc []byte) {
		files := map[string][]byte{"p.bbx": main, "inc.bbx": inc}
		opts := Options{
			ReadFile: func(name string) ([]byte, error) {
				if data, ok := files[name]; ok {
					return data, nil
				}
				return nil, fs.ErrNotExist
			},
			Symbols:     func(string) (map[string]bool, error) { return map[string]bool{"f": true}, nil },
			KernelFuncs: func() (map[string]bool, error) { return map[string]bool{"vfs_read": true}, nil },
		}
		inputs := []Input{{Name: "p.bbx", Src: main}, {Name: "inc.bbx", Src: inc, Fragment: true}}
		pol1, d1 := Check(inputs, opts)
		pol2, d2 := Check(inputs, opts)
		if diff := cmp.Diff(d1, d2); diff != "" {
			t.Fatalf("diagnostics differ between runs:\n%s", diff)
		}
		if (pol1 == nil) != d1.HasErrors() {
			t.Fatalf("policy %v with errors=%v", pol1 != nil, d1.HasErrors())
		}
		if pol1 != nil && dumpPolicy(pol1) != dumpPolicy(pol2) {
			t.Fatalf("policies differ between runs")
		}
		for _, d := range d1 {
			if d.Code == "" || d.Message == "" || !d.Span.IsValid() {
				t.Fatalf("incomplete diagnostic %+v", d)
			}
		}
		var b bytes.Buffer
		diag.WriteText(&b, d1, func(name string) []byte { return files[name] }, 0)
		if err := diag.WriteJSON(&b, d1); err != nil {
			t.Fatal(err)
		}
		_ = fmt.Sprint(b.Len())
	})
}
