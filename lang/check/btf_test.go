package check

import (
	"fmt"
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

// libc finds this machine's C library, or skips.
func libc(t *testing.T) string {
	for _, p := range []string{"/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6", "/lib64/libc.so.6", "/usr/lib64/libc.so.6", "/lib/libc.so.6"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skip("no libc.so.6 found")
	return ""
}

// TestELFSymbols reads the dynamic symbols of libc: defined functions only.
func TestELFSymbols(t *testing.T) {
	lib := libc(t)
	syms, err := ELFSymbols(lib)
	if err != nil {
		t.Fatal(err)
	}
	if !syms["getpwnam"] || syms["no_such_function_anywhere"] || syms["__tls_get_addr"] {
		t.Errorf("ELFSymbols(%s): getpwnam=%v, no_such_function_anywhere=%v, __tls_get_addr (imported)=%v",
			lib, syms["getpwnam"], syms["no_such_function_anywhere"], syms["__tls_get_addr"])
	}
	if _, err := ELFSymbols("/nonexistent/binary"); err == nil {
		t.Error("ELFSymbols of a missing file succeeded")
	}
}

// TestSymbolLintOnThisMachine: with the real probes, a #[func] absent from a
// library that exists here is reported, a present one is not.
func TestSymbolLintOnThisMachine(t *testing.T) {
	lib := libc(t)
	src := fmt.Sprintf("#![profile \"/usr/bin/x\"]\n#![tainted]\n#[func \"getpwnam\" in %q] fs(\"/a\", read)\n#[func \"no_such_function_anywhere\" in %q] fs(\"/b\", read)\n", lib, lib)
	_, diags := Check([]Input{{Name: "p.bbx", Src: []byte(src)}}, DefaultOptions())
	var codes []string
	for _, d := range diags {
		codes = append(codes, fmt.Sprintf("%s@%d", d.Code, d.Span.Start.Line))
	}
	if fmt.Sprint(codes) != "[W210@4]" {
		t.Errorf("diagnostics %v, want [W210@4]", codes)
	}
}

func BenchmarkKernelBTFFuncs(b *testing.B) {
	if _, err := os.Stat(KernelBTFPath); err != nil {
		b.Skip(err)
	}
	for b.Loop() {
		if _, err := KernelBTFFuncs(); err != nil {
			b.Fatal(err)
		}
	}
}
