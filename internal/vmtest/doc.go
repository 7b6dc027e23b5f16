// Package vmtest is the real-kernel test harness: it boots Debian's stock
// 6.1 and 6.12 cloud kernels in qemu (software emulation, TCG) with an
// initramfs built per run, and runs commands or the project's privileged
// tests in them as root. The development machines' own kernel refuses BPF
// LSM programs (../shared/design/kernel-testing.md); both Debian kernels
// have BPF LSM active with no boot parameter.
//
// Commands:
//
//	go run ./internal/vmtest/cmd/vmtest [--kernel 6.1,6.12] [--parallel] [--run RE] [PKG...] [-- TESTFLAGS]
//	go run ./internal/vmtest/cmd/vmrun [--kernel 6.1|6.12] [--file SRC[=DST]]... -- COMMAND [ARGS...]
//
// # Writing privileged tests
//
// Call privileged.Require(t) first (package internal/privileged). Outside
// the VM the test skips, naming the vmtest command; in the VM it fails unless
// BPF LSM is active. Nothing else to register: vmtest runs every package
// whose tests import internal/privileged, compiled with CGO_ENABLED=0, as
// root, with -test.v, in that package's directory of a copy of the module
// tree under /src (so testdata/ and ../../examples resolve as under go test).
// The whole package's tests run in the VM, privileged or not.
//
// # Driver programs
//
// A C file testdata/drivers/NAME.c or a Go main package in
// testdata/drivers/NAME/, in any directory of the module, is built
// statically (gcc -static, CGO_ENABLED=0) into $BPFBOX_DRIVERS/NAME
// (/opt/bpfbox/drivers/NAME); privileged.Driver(t, "NAME") returns its path.
// Names are unique across the module.
//
// # The guest
//
// /init mounts devtmpfs, proc, sysfs, securityfs, bpffs (/sys/fs/bpf),
// tracefs, debugfs, tmpfs on /tmp and /run; PATH starts with
// /opt/bpfbox/bin (bpfboxc, bpfbox-run), then busybox's applets. The
// environment has BPFBOX_VM=1, BPFBOX_KERNEL (6.1 or 6.12), BPFBOX_DRIVERS.
// No network; stdin is empty; one vCPU (--smp N for more) and 1 GiB of memory. Timing is
// emulated: compare ratios measured in one run, never absolute times.
//
// Kernels are fetched once as Debian packages (apt-get download; 6.12
// through a private apt configuration naming trixie) into
// $BPFBOX_CACHE/kernels or .cache/kernels; delete that directory to pick up
// newer Debian kernels.
package vmtest
