// Command vmrun boots one of Debian's stock kernels in qemu (TCG) with the
// project's binaries and runs a command in it as root.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/bpfbox/bpfbox/internal/vmtest"
)

// Exit codes of vmrun itself; otherwise it exits with COMMAND's status.
const (
	exitUsage   = 2
	exitHarness = 125 // the VM could not run the command (as env(1) does)
)

const usage = `usage: go run ./internal/vmtest/cmd/vmrun [--kernel 6.1|6.12] [--file SRC[=DST]]... [--timeout D] [--smp N] -- COMMAND [ARGS...]
       go run ./internal/vmtest/cmd/vmrun --kernel 6.1|6.12 --fetch

Boots a Debian stock kernel in qemu (software emulation; BPF LSM is active on
both kernels), with bpfboxc and bpfbox-run on PATH, and runs COMMAND as root in
/root. The guest's console streams to stdout; vmrun exits with COMMAND's exit
status, or 125 when the VM could not run it (timeout, crash, build failure).

In the guest: busybox for the usual tools; securityfs, bpffs (/sys/fs/bpf),
tracefs and debugfs mounted; driver programs from testdata/drivers/ in
$BPFBOX_DRIVERS (/opt/bpfbox/drivers); BPFBOX_VM=1, BPFBOX_KERNEL=<kernel>.
There is no network and stdin is empty: COMMAND must not wait for input.

Kernels are downloaded once (Debian packages, ~30 MB each) into .cache/kernels
(or $BPFBOX_CACHE/kernels). Missing host packages (qemu-system-x86,
busybox-static) are installed with apt-get when running as root.

Examples:
  go run ./internal/vmtest/cmd/vmrun --kernel 6.12 -- cat /sys/kernel/security/lsm
  go run ./internal/vmtest/cmd/vmrun --file examples/login.bbx=policy.bbx -- bpfboxc check policy.bbx
  go run ./internal/vmtest/cmd/vmrun --file ./mytest.sh -- sh mytest.sh

Flags:
`

type fileFlag []string

func (f *fileFlag) String() string     { return strings.Join(*f, ",") }
func (f *fileFlag) Set(v string) error { *f = append(*f, v); return nil }

func main() { os.Exit(vmrun(os.Args[1:])) }

func vmrun(args []string) int {
	fl := flag.NewFlagSet("vmrun", flag.ContinueOnError)
	fl.Usage = func() {
		fmt.Fprint(fl.Output(), usage)
		fl.PrintDefaults()
	}
	kernel := fl.String("kernel", "6.12", "kernel to boot: "+strings.Join(vmtest.KernelNames(), " or "))
	var files fileFlag
	fl.Var(&files, "file", "copy host file or directory `SRC` into the guest at DST (relative to /root; default: its base name); repeatable")
	cpus := fl.Int("smp", 1, "virtual CPUs of the guest")
	timeout := fl.Duration("timeout", 5*time.Minute, "kill the VM if COMMAND has not finished after this long (boot included)")
	fetch := fl.Bool("fetch", false, "only fetch the kernel and print the path of its vmlinuz")
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return exitUsage
	}
	logf := func(format string, a ...any) { fmt.Fprintf(os.Stderr, "vmrun: "+format+"\n", a...) }
	if *fetch {
		k, err := vmtest.LookupKernel(*kernel)
		if err != nil {
			logf("%v", err)
			return exitUsage
		}
		root, err := vmtest.ModuleRoot()
		if err != nil {
			logf("%v", err)
			return exitHarness
		}
		fk, err := vmtest.FetchKernel(vmtest.CacheDir(root), k, logf)
		if err != nil {
			logf("%v", err)
			return exitHarness
		}
		fmt.Println(fk.Vmlinuz)
		return 0
	}
	command := fl.Args()
	if len(command) == 0 {
		fmt.Fprintln(os.Stderr, "vmrun: no COMMAND given (put it after --)")
		fmt.Fprint(os.Stderr, usage)
		return exitUsage
	}
	if _, err := vmtest.LookupKernel(*kernel); err != nil {
		logf("%v", err)
		return exitUsage
	}
	type copyIn struct{ src, dst string }
	var copies []copyIn
	for _, f := range files {
		src, dst, ok := strings.Cut(f, "=")
		if !ok {
			dst = filepath.Base(src)
		}
		if src == "" || dst == "" {
			logf("--file %q: want SRC=DST or SRC", f)
			return exitUsage
		}
		if !path.IsAbs(dst) {
			dst = path.Join("/root", dst)
		}
		copies = append(copies, copyIn{src, dst})
	}

	setup, err := vmtest.Prepare([]string{*kernel}, logf)
	if err != nil {
		logf("%v", err)
		return exitHarness
	}
	defer setup.Close()
	img, err := setup.NewImage()
	if err != nil {
		logf("%v", err)
		return exitHarness
	}
	for _, c := range copies {
		if err := addTree(img, c.src, c.dst); err != nil {
			logf("--file %s: %v", c.src, err)
			return exitHarness
		}
	}
	quoted := make([]string, len(command))
	for i, a := range command {
		quoted[i] = vmtest.ShellQuote(a)
	}
	fk := setup.Kernels[0]
	guest := &vmtest.Guest{
		Kernel:  fk,
		Image:   img,
		Script:  strings.Join(quoted, " ") + "\n",
		Env:     vmtest.GuestEnv(fk),
		Timeout: *timeout,
		CPUs:    *cpus,
		Console: os.Stdout,
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logf("booting %s (%s)…", fk.Name, fk.Package)
	res, err := guest.Run(ctx)
	if err != nil {
		logf("%v", err)
		return exitHarness
	}
	logf("%s: exit status %d, boot to result %.1fs", fk.Name, res.ExitCode, res.BootToResult.Seconds())
	return res.ExitCode
}

// addTree copies a host file or directory into the image at dst.
func addTree(img *vmtest.Initramfs, src, dst string) error {
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return img.HostFile(dst, src)
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := path.Join(dst, filepath.ToSlash(rel))
		switch {
		case d.IsDir():
			img.Dir(target)
		case d.Type().IsRegular():
			return img.HostFile(target, p)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			img.Symlink(target, link)
		}
		return nil
	})
}
