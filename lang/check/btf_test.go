package check

import (
	"os"
	"testing"

	"github.com/cilium/ebpf/btf"
)

// TestKernelBTFFuncs compares the raw scan with cilium/ebpf's full decode of
// this machine's kernel BTF.
func TestKernelBTFFuncs(t *testing.T) {
	if _, err := os.Stat(KernelBTFPath); err != nil {
		t.Skipf("no kernel BTF here: %v", err)
	}
	got, err := KernelBTFFuncs()
	if err != nil {
		t.Fatal(err)
	}
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for typ, err := range spec.All() {
		if err != nil {
			t.Fatal(err)
		}
		if fn, ok := typ.(*btf.Func); ok {
			want++
			if !got[fn.Name] {
				t.Fatalf("function %q missing from the raw scan", fn.Name)
			}
		}
	}
	if want == 0 || len(got) > want {
		t.Errorf("raw scan found %d names, BTF has %d functions", len(got), want)
	}
	for _, name := range []string{"vfs_read", "open_exec"} {
		if !got[name] {
			t.Errorf("%s not found", name)
		}
	}
}

func TestBTFFuncNamesRejectsGarbage(t *testing.T) {
	for _, data := range [][]byte{nil, []byte("not btf at all, not btf at all"), {0x9f, 0xeb, 1, 0, 24, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0}} {
		if _, err := btfFuncNames(data); err == nil {
			t.Errorf("btfFuncNames(%q) succeeded", data)
		}
	}
}
