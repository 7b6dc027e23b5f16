// Package privileged marks tests that need a kernel with BPF LSM. They run
// inside the qemu VM the harness boots (internal/vmtest); a plain `go test`
// skips them, saying how to run them.
//
// A test package is privileged when its tests import this package: the VM
// runner (go run ./internal/vmtest/cmd/vmtest) finds such packages, compiles
// their tests statically and runs them as root on each kernel, in a copy of
// the module tree, in the package's directory (testdata/ works as usual).
package privileged

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Environment the VM's /init sets.
const (
	EnvVM      = "BPFBOX_VM"      // "1" inside the test VM
	EnvKernel  = "BPFBOX_KERNEL"  // the kernel's name: "6.1", "6.12"
	EnvDrivers = "BPFBOX_DRIVERS" // directory of the driver programs
)

// SkipMessage is what privileged tests say outside the VM.
const SkipMessage = "privileged test: run `go run ./internal/vmtest/cmd/vmtest` (boots qemu)"

// Where the kernel reports its LSMs and BTF.
var (
	LSMFile = "/sys/kernel/security/lsm"
	BTFFile = "/sys/kernel/btf/vmlinux"
)

// InVM reports whether the test runs inside the harness's VM.
func InVM() bool { return os.Getenv(EnvVM) == "1" }

// Require skips t outside the VM. Inside it, t fails (never skips) unless BPF
// LSM is active and the kernel has BTF: a privileged test must not pass
// vacuously where it was meant to run.
func Require(t testing.TB) {
	t.Helper()
	if !InVM() {
		t.Skip(SkipMessage)
	}
	if err := CheckBPFLSM(); err != nil {
		t.Fatalf("privileged test in the VM on kernel %s: %v", Kernel(), err)
	}
}

// CheckBPFLSM returns an error saying what is missing unless `bpf` is among
// the active LSMs and the kernel exposes its BTF.
func CheckBPFLSM() error {
	data, err := os.ReadFile(LSMFile)
	if err != nil {
		return fmt.Errorf("read active LSMs: %w (is securityfs mounted on /sys/kernel/security?)", err)
	}
	if lsms := ActiveLSMs(string(data)); !slices.Contains(lsms, "bpf") {
		return fmt.Errorf("BPF LSM is not active: %s lists %q (boot with lsm=...,bpf)", LSMFile, strings.Join(lsms, ","))
	}
	if _, err := os.Stat(BTFFile); err != nil {
		return fmt.Errorf("kernel BTF missing: %w (needs CONFIG_DEBUG_INFO_BTF=y)", err)
	}
	return nil
}

// ActiveLSMs splits the contents of /sys/kernel/security/lsm.
func ActiveLSMs(contents string) []string {
	var lsms []string
	for _, l := range strings.Split(strings.TrimSpace(contents), ",") {
		if l = strings.TrimSpace(l); l != "" {
			lsms = append(lsms, l)
		}
	}
	return lsms
}

// Kernel returns the name of the VM's kernel ("6.1", "6.12"), or "" outside the VM.
func Kernel() string { return os.Getenv(EnvKernel) }

// Driver returns the path of the driver program name, built from a
// testdata/drivers/name.c (or testdata/drivers/name/ Go package) anywhere in
// the module. It fails t when the driver is not in the VM.
func Driver(t testing.TB, name string) string {
	t.Helper()
	dir := os.Getenv(EnvDrivers)
	if dir == "" {
		t.Fatalf("driver %s: $%s is not set (privileged.Require first; drivers exist only in the VM)", name, EnvDrivers)
	}
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("driver %s: %v (drivers are built from testdata/drivers/%s.c or testdata/drivers/%s/)", name, err, name, name)
	}
	return p
}
