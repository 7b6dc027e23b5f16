package runtime

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// KernelProblem is one reason this kernel cannot enforce bundles, with what
// to do about it.
type KernelProblem struct {
	What string
	Fix  string
}

func (p KernelProblem) String() string { return p.What + "\n  fix: " + p.Fix }

// KernelError lists every problem found, so that the user fixes them in one go.
type KernelError struct{ Problems []KernelProblem }

func (e *KernelError) Error() string {
	var b strings.Builder
	b.WriteString("this kernel cannot enforce bpfbox policies:")
	for _, p := range e.Problems {
		b.WriteString("\n- ")
		b.WriteString(strings.ReplaceAll(p.String(), "\n", "\n  "))
	}
	return b.String()
}

// KernelFacts are what CheckKernel looks at; ReadKernelFacts gathers them.
type KernelFacts struct {
	Release      string // uname -r
	LSM          string // contents of /sys/kernel/security/lsm; "" when unreadable
	LSMErr       error  // why LSM could not be read
	SecurityFS   bool   // /sys/kernel/security is mounted (has an lsm file)
	BTF          bool   // /sys/kernel/btf/vmlinux exists
	CmdlineLSM   string // lsm= from /proc/cmdline, if any
	ConfigBPFLSM string // CONFIG_BPF_LSM from /boot/config-RELEASE: "y", "n"/"" (unset), "?" unknown
}

// ReadKernelFacts reads the facts from the files under root ("/" on a real
// system; tests pass a directory).
func ReadKernelFacts(root, release string) KernelFacts {
	f := KernelFacts{Release: release, ConfigBPFLSM: "?"}
	lsm, err := os.ReadFile(filepath.Join(root, "sys/kernel/security/lsm"))
	if err == nil {
		f.LSM = strings.TrimSpace(string(lsm))
		f.SecurityFS = true
	} else {
		f.LSMErr = err
	}
	if _, err := os.Stat(filepath.Join(root, "sys/kernel/btf/vmlinux")); err == nil {
		f.BTF = true
	}
	if cmd, err := os.ReadFile(filepath.Join(root, "proc/cmdline")); err == nil {
		for _, w := range strings.Fields(string(cmd)) {
			if v, ok := strings.CutPrefix(w, "lsm="); ok {
				f.CmdlineLSM = v
			}
		}
	}
	if cfg, err := os.ReadFile(filepath.Join(root, "boot/config-"+release)); err == nil {
		f.ConfigBPFLSM = ""
		for _, line := range strings.Split(string(cfg), "\n") {
			if v, ok := strings.CutPrefix(line, "CONFIG_BPF_LSM="); ok {
				f.ConfigBPFLSM = v
			}
		}
	}
	return f
}

// CheckKernel says whether a kernel with these facts can enforce bundles:
// BPF LSM active, BTF present, Linux 6.1 or newer.
func CheckKernel(f KernelFacts) error {
	var probs []KernelProblem
	if ok, err := releaseAtLeast(f.Release, 6, 1); err != nil {
		probs = append(probs, KernelProblem{
			What: fmt.Sprintf("cannot tell the kernel version from %q: %v", f.Release, err),
			Fix:  "run on Linux 6.1 or newer",
		})
	} else if !ok {
		probs = append(probs, KernelProblem{
			What: fmt.Sprintf("kernel %s is older than 6.1 (bpfbox needs sleepable BPF LSM programs, bpf_loop and task storage)", f.Release),
			Fix:  "boot Linux 6.1 or newer (Debian 12 and later ship it)",
		})
	}
	switch {
	case !f.SecurityFS && errors.Is(f.LSMErr, fs.ErrNotExist):
		probs = append(probs, KernelProblem{
			What: "/sys/kernel/security/lsm is missing, so the active LSMs cannot be checked",
			Fix:  "mount securityfs: mount -t securityfs securityfs /sys/kernel/security",
		})
	case !f.SecurityFS:
		probs = append(probs, KernelProblem{
			What: fmt.Sprintf("cannot read the active LSMs: %v", f.LSMErr),
			Fix:  "run bpfbox-run as root",
		})
	case !hasLSM(f.LSM, "bpf"):
		p := KernelProblem{What: fmt.Sprintf("BPF LSM is not active (active LSMs: %s)", f.LSM)}
		switch f.ConfigBPFLSM {
		case "", "n":
			p.Fix = "this kernel is built without CONFIG_BPF_LSM; use a kernel built with CONFIG_BPF_LSM=y"
		default:
			p.Fix = fmt.Sprintf("add bpf to the LSM list on the kernel command line: lsm=%s,bpf "+
				"(e.g. in GRUB_CMDLINE_LINUX of /etc/default/grub, then update-grub and reboot)", f.LSM)
		}
		probs = append(probs, p)
	}
	if !f.BTF {
		probs = append(probs, KernelProblem{
			What: "/sys/kernel/btf/vmlinux is missing: the kernel has no BTF type information",
			Fix:  "use a kernel built with CONFIG_DEBUG_INFO_BTF=y (Debian's kernels are)",
		})
	}
	if len(probs) > 0 {
		return &KernelError{Problems: probs}
	}
	return nil
}

func hasLSM(list, name string) bool {
	for _, l := range strings.Split(list, ",") {
		if strings.TrimSpace(l) == name {
			return true
		}
	}
	return false
}

// releaseAtLeast compares the MAJOR.MINOR prefix of a kernel release string.
func releaseAtLeast(release string, major, minor int) (bool, error) {
	parts := strings.SplitN(release, ".", 3)
	if len(parts) < 2 {
		return false, fmt.Errorf("want MAJOR.MINOR")
	}
	maj, err := strconv.Atoi(parts[0])
	if err != nil {
		return false, fmt.Errorf("bad major version %q", parts[0])
	}
	digits := parts[1]
	if i := strings.IndexFunc(digits, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		digits = digits[:i]
	}
	mnr, err := strconv.Atoi(digits)
	if err != nil {
		return false, fmt.Errorf("bad minor version %q", parts[1])
	}
	return maj > major || maj == major && mnr >= minor, nil
}

// kernelSymbols reads the addresses of the named kernel symbols from a
// kallsyms file (as root, /proc/kallsyms shows them). It fails unless it
// finds every one, with a non-zero address.
func kernelSymbols(path string, names ...string) (map[string]uint64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string]uint64{}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || !want[f[2]] {
			continue
		}
		if _, dup := out[f[2]]; dup {
			return nil, fmt.Errorf("kallsyms: %s is defined twice", f[2])
		}
		addr, err := strconv.ParseUint(f[0], 16, 64)
		if err != nil || addr == 0 {
			return nil, fmt.Errorf("kallsyms: %s has no address (are kernel pointers hidden?)", f[2])
		}
		out[f[2]] = addr
	}
	for _, n := range names {
		if _, ok := out[n]; !ok {
			return nil, fmt.Errorf("kallsyms: no symbol %s", n)
		}
	}
	return out, nil
}
