package runtime

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cilium/ebpf/btf"
)

// checkFuncSymbol says why symbol in the ELF file at path cannot carry a
// uprobe/uretprobe pair, or returns nil. Both symbol tables are searched
// (.symtab of a static or unstripped binary, .dynsym of a shared library).
func checkFuncSymbol(path, symbol string) error {
	f, err := elf.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission) {
			return err // "open PATH: ..."
		}
		return fmt.Errorf("read ELF file %s: %w", path, err)
	}
	defer f.Close()
	syms, errStatic := f.Symbols()
	dyn, errDyn := f.DynamicSymbols()
	all := append(syms, dyn...)
	if isGoBinary(f, all) {
		return fmt.Errorf("%s is a Go program: uretprobes replace return addresses on the stack, "+
			"and Go moves and copies goroutine stacks, which would crash it; #[func] scopes cannot be used on Go programs", path)
	}
	if errors.Is(errStatic, elf.ErrNoSymbols) && errors.Is(errDyn, elf.ErrNoSymbols) {
		return fmt.Errorf("%s has no symbol table (stripped): build it with symbols, or probe a library that exports %s", path, symbol)
	}
	for _, s := range all {
		if s.Name == symbol && elf.ST_TYPE(s.Info) == elf.STT_FUNC && s.Value != 0 {
			return nil
		}
	}
	return fmt.Errorf("%s has no function %s (an inlined or static function may have no symbol: mark it noinline and keep its symbol)", path, symbol)
}

func isGoBinary(f *elf.File, syms []elf.Symbol) bool {
	if f.Section(".go.buildinfo") != nil || f.Section(".gopclntab") != nil {
		return true
	}
	for _, s := range syms {
		if s.Name == "runtime.main" {
			return true
		}
	}
	return false
}

// checkKFunc says why kernel function name cannot carry fentry/fexit
// programs, judging by the kernel's BTF, or returns nil.
func checkKFunc(kernel *btf.Spec, name string) error {
	var fn *btf.Func
	if err := kernel.TypeByName(name, &fn); err != nil {
		if errors.Is(err, btf.ErrNotFound) {
			return fmt.Errorf("kernel function %s is not in this kernel's BTF (absent, inlined, or renamed)", name)
		}
		return fmt.Errorf("look up kernel function %s in BTF: %w", name, err)
	}
	return nil
}

// longjmpSymbols are glibc's entry points that restore a saved stack
// pointer: longjmp, _longjmp and siglongjmp (aliases of __libc_siglongjmp)
// and __longjmp_chk (what _FORTIFY_SOURCE programs call).
var longjmpSymbols = []string{"__libc_siglongjmp", "longjmp", "_longjmp", "siglongjmp", "__libc_longjmp", "__longjmp_chk", "____longjmp_chk"}

type longjmpTarget struct {
	path    string
	symbols []string // one per distinct address
}

// longjmpTargets lists where the longjmp entry points of bin are: in bin
// itself (static) and in the libc.so.6 it needs (dynamic), found in the
// usual library directories.
func longjmpTargets(bin string) []longjmpTarget {
	var out []longjmpTarget
	paths := []string{bin}
	if f, err := elf.Open(bin); err == nil {
		libs, _ := f.ImportedLibraries()
		f.Close()
		for _, lib := range libs {
			if lib != "libc.so.6" {
				continue
			}
			for _, dir := range []string{"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"} {
				p := filepath.Join(dir, lib)
				if _, err := os.Stat(p); err == nil {
					paths = append(paths, p)
					break
				}
			}
		}
	}
	for _, p := range paths {
		if t := longjmpIn(p); len(t.symbols) > 0 {
			out = append(out, t)
		}
	}
	return out
}

func longjmpIn(path string) longjmpTarget {
	t := longjmpTarget{path: path}
	f, err := elf.Open(path)
	if err != nil {
		return t
	}
	defer f.Close()
	syms, _ := f.Symbols()
	dyn, _ := f.DynamicSymbols()
	byName := map[string]uint64{}
	for _, s := range append(syms, dyn...) {
		if elf.ST_TYPE(s.Info) == elf.STT_FUNC && s.Value != 0 && s.Section != elf.SHN_UNDEF {
			byName[s.Name] = s.Value
		}
	}
	seen := map[uint64]bool{}
	for _, name := range longjmpSymbols {
		if addr, ok := byName[name]; ok && !seen[addr] {
			seen[addr] = true
			t.symbols = append(t.symbols, name)
		}
	}
	return t
}
