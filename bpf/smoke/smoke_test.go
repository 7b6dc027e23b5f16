//go:build linux

package smoke

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"

	"github.com/bpfbox/bpfbox/internal/privileged"
)

func TestBPFLSMIsActive(t *testing.T) {
	privileged.Require(t)
	data, err := os.ReadFile(privileged.LSMFile)
	if err != nil {
		t.Fatal(err)
	}
	if lsms := privileged.ActiveLSMs(string(data)); !slices.Contains(lsms, "bpf") {
		t.Fatalf("%s = %q, want it to list bpf", privileged.LSMFile, data)
	}
}

// TestFileOpenRefusedForOneProcess attaches the smoke program and checks that
// it refuses opens for exactly the process named in its map, and for nobody
// once the link is closed.
func TestFileOpenRefusedForOneProcess(t *testing.T) {
	privileged.Require(t)
	if err := rlimit.RemoveMemlock(); err != nil {
		t.Fatal(err)
	}
	var objs SmokeObjects
	if err := LoadSmokeObjects(&objs, nil); err != nil {
		t.Fatalf("load smoke program: %v", err)
	}
	defer objs.Close()

	target := filepath.Join(t.TempDir(), "target")
	if err := os.WriteFile(target, []byte("contents\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	setDenied := func(tgid int) {
		t.Helper()
		if err := objs.DeniedTgid.Put(uint32(0), uint32(tgid)); err != nil {
			t.Fatalf("set denied tgid: %v", err)
		}
	}
	open := func() error {
		f, err := os.Open(target)
		if err == nil {
			f.Close()
		}
		return err
	}
	// Another process: busybox cat, forked from this one. Its stdin is our
	// already-open stdin, so starting it opens no file in this process.
	openInChild := func() error {
		cmd := exec.Command("/bin/busybox", "cat", target)
		cmd.Stdin = os.Stdin
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil {
			return errors.Join(err, errors.New(errOut.String()))
		}
		if out.String() != "contents\n" {
			return errors.New("child read " + out.String())
		}
		return nil
	}

	lnk, err := link.AttachLSM(link.LSMOptions{Program: objs.SmokeFileOpen})
	if err != nil {
		t.Fatalf("attach lsm/file_open: %v", err)
	}
	defer func() {
		if lnk != nil {
			lnk.Close()
		}
	}()

	if err := open(); err != nil {
		t.Fatalf("attached, nobody denied: open = %v, want success", err)
	}
	setDenied(os.Getpid())
	err = open()
	setDenied(0) // before t.Fatal: the test framework may open files
	if !errors.Is(err, syscall.EPERM) {
		t.Fatalf("attached, this process denied: open = %v, want EPERM", err)
	}
	setDenied(os.Getpid())
	err = openInChild()
	setDenied(0)
	if err != nil {
		t.Fatalf("attached, this process denied: open in another process = %v, want success", err)
	}
	if err := open(); err != nil {
		t.Fatalf("attached, map cleared: open = %v, want success", err)
	}

	setDenied(os.Getpid())
	if err := lnk.Close(); err != nil {
		t.Fatalf("close link: %v", err)
	}
	lnk = nil
	if err := open(); err != nil {
		t.Fatalf("link closed, this process still in the map: open = %v, want success", err)
	}
}
