// Command vmtest runs the project's privileged tests (those that call
// privileged.Require) as root inside qemu on Debian's stock kernels.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/bpfbox/bpfbox/internal/vmtest"
)

const usage = `usage: go run ./internal/vmtest/cmd/vmtest [--kernel 6.1,6.12] [--parallel] [--run REGEX] [--timeout D] [--smp N] [PKG...] [-- TESTFLAGS...]

Runs the privileged tests (test packages importing internal/privileged) as
root in qemu: finds the packages among PKG (default ./...), compiles their tests
statically, boots each kernel once with all of them, and runs each package's
test binary with -test.v in its directory of a copy of the module tree.
Prints every package's result per kernel and ends with "N passed, N failed",
counting top-level tests; a package that crashes or a guest that hangs or dies
counts as a failure. Exits 1 if anything failed.

TESTFLAGS go to every test binary, e.g. -- -test.bench . -test.run '^$'.
Inside the VM: BPFBOX_VM=1, BPFBOX_KERNEL=<kernel>, drivers built from
testdata/drivers/ in $BPFBOX_DRIVERS, bpfboxc and bpfbox-run on PATH.

Flags:
`

func main() { os.Exit(vmtestMain(os.Args[1:])) }

func vmtestMain(args []string) int {
	fl := flag.NewFlagSet("vmtest", flag.ContinueOnError)
	fl.Usage = func() {
		fmt.Fprint(fl.Output(), usage)
		fl.PrintDefaults()
	}
	kernels := fl.String("kernel", strings.Join(vmtest.KernelNames(), ","), "comma-separated kernels to boot")
	runRE := fl.String("run", "", "run only tests matching `REGEX` (-test.run)")
	cpus := fl.Int("smp", 1, "virtual CPUs of the guest")
	icount := fl.Bool("icount", false, "virtual clock of one nanosecond per emulated instruction: benchmark figures count instructions, whatever the host's load")
	timeout := fl.Duration("timeout", 20*time.Minute, "kill a kernel's VM if its tests have not finished after this long")
	parallel := fl.Bool("parallel", false, "boot the kernels at the same time (one core each); consoles are printed per kernel when it finishes")
	counts := fl.String("counts", "", "also write \"PASSED FAILED SKIPPED\" to `FILE` (for scripts)")
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	rest := fl.Args()
	patterns, testArgs := rest, []string(nil)
	if i := slices.Index(rest, "--"); i >= 0 {
		patterns, testArgs = rest[:i], rest[i+1:]
	}
	if len(patterns) == 0 {
		patterns = []string{"./..."}
	}
	if *runRE != "" {
		testArgs = append([]string{"-test.run", *runRE}, testArgs...)
	}
	logf := func(format string, a ...any) { fmt.Fprintf(os.Stderr, "vmtest: "+format+"\n", a...) }

	start := time.Now()
	setup, err := vmtest.Prepare(strings.Split(*kernels, ","), logf)
	if err != nil {
		logf("%v", err)
		return 1
	}
	defer setup.Close()
	pkgs, err := vmtest.PrivilegedPackages(setup.ModuleRoot, patterns)
	if err != nil {
		logf("%v", err)
		return 1
	}
	if len(pkgs) == 0 {
		logf("no package in %s has privileged tests (tests importing %s)", strings.Join(patterns, " "), vmtest.PrivilegedPackage)
		return 1
	}
	logf("compiling tests of %d package(s)…", len(pkgs))
	for i := range pkgs {
		if pkgs[i].Binary, err = setup.Builder.TestBinary(pkgs[i].ImportPath); err != nil {
			logf("%v", err)
			return 1
		}
	}
	logf("building initramfs…")
	img, err := setup.NewImage()
	if err == nil {
		err = vmtest.AddTests(img, pkgs, setup.ModuleRoot)
	}
	if err != nil {
		logf("%v", err)
		return 1
	}
	script := vmtest.TestScript(pkgs, setup.ModuleRoot, testArgs)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// One boot per kernel. In parallel, each kernel's console is held back
	// and printed whole when that kernel finishes.
	type outcome struct {
		report  *vmtest.TestReport
		summary string
	}
	outcomes := make([]outcome, len(setup.Kernels))
	boot := func(i int, console io.Writer) {
		fk := setup.Kernels[i]
		report := &vmtest.TestReport{Kernel: fk.Name, Nonce: vmtest.NewNonce(), Console: console}
		guest := &vmtest.Guest{
			Kernel:  fk,
			Image:   img,
			Script:  script,
			Env:     vmtest.GuestEnv(fk),
			Timeout: *timeout,
			CPUs:    *cpus,
			Icount:  *icount,
			Console: console,
			Line:    report.Line,
			Nonce:   report.Nonce,
		}
		logf("booting %s (%s)…", fk.Name, fk.Package)
		res, err := guest.Run(ctx)
		report.Finish(pkgs, err)
		line := fmt.Sprintf("%s (%s): %d passed, %d failed, %d skipped", fk.Name, fk.Package, report.Passed, report.Failed, report.Skipped)
		if err == nil {
			line += fmt.Sprintf("; boot to result %.1fs", res.BootToResult.Seconds())
		}
		outcomes[i] = outcome{report, line}
	}
	if *parallel && len(setup.Kernels) > 1 {
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i, fk := range setup.Kernels {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var buf bytes.Buffer
				boot(i, &buf)
				mu.Lock()
				defer mu.Unlock()
				fmt.Printf("=== kernel %s (%s)\n", fk.Name, fk.Package)
				os.Stdout.Write(buf.Bytes())
			}()
		}
		wg.Wait()
	} else {
		for i := range setup.Kernels {
			if ctx.Err() == nil {
				boot(i, os.Stdout)
			}
		}
	}
	var reports []*vmtest.TestReport
	var summary []string
	for _, o := range outcomes {
		if o.report != nil {
			reports = append(reports, o.report)
			summary = append(summary, o.summary)
		}
	}

	var passed, failed, skipped int
	fmt.Println()
	for i, r := range reports {
		fmt.Println("vmtest: " + summary[i])
		passed, failed, skipped = passed+r.Passed, failed+r.Failed, skipped+r.Skipped
	}
	for _, r := range reports {
		for _, f := range r.Failures {
			fmt.Println("vmtest: FAIL " + f)
		}
	}
	if skipped > 0 {
		fmt.Printf("vmtest: %d skipped\n", skipped)
	}
	fmt.Printf("vmtest: %s wall\n", time.Since(start).Round(100*time.Millisecond))
	fmt.Printf("%d passed, %d failed\n", passed, failed)
	if *counts != "" {
		if err := os.WriteFile(filepath.Clean(*counts), fmt.Appendf(nil, "%d %d %d\n", passed, failed, skipped), 0o644); err != nil {
			logf("write counts: %v", err)
			return 1
		}
	}
	if failed > 0 || len(reports) < len(setup.Kernels) {
		return 1
	}
	return 0
}
