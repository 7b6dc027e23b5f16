package privileged

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestActiveLSMs(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"lockdown,capability,landlock,yama,apparmor,tomoyo,bpf", []string{"lockdown", "capability", "landlock", "yama", "apparmor", "tomoyo", "bpf"}},
		{"capability,bpf\n", []string{"capability", "bpf"}},
		{"", nil},
	} {
		if diff := cmp.Diff(tc.want, ActiveLSMs(tc.in)); diff != "" {
			t.Errorf("ActiveLSMs(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

func TestCheckBPFLSM(t *testing.T) {
	dir := t.TempDir()
	lsm, btf := filepath.Join(dir, "lsm"), filepath.Join(dir, "vmlinux")
	oldLSM, oldBTF := LSMFile, BTFFile
	LSMFile, BTFFile = lsm, btf
	t.Cleanup(func() { LSMFile, BTFFile = oldLSM, oldBTF })

	write := func(p, s string) {
		t.Helper()
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wantErr := func(substr string) {
		t.Helper()
		err := CheckBPFLSM()
		if substr == "" {
			if err != nil {
				t.Fatalf("CheckBPFLSM() = %v, want nil", err)
			}
			return
		}
		if err == nil || !strings.Contains(err.Error(), substr) {
			t.Fatalf("CheckBPFLSM() = %v, want an error containing %q", err, substr)
		}
	}

	wantErr("read active LSMs")
	write(lsm, "capability,landlock,bpfx,apparmor")
	wantErr("BPF LSM is not active")
	write(lsm, "capability,landlock,apparmor,bpf")
	wantErr("kernel BTF missing")
	write(btf, "")
	wantErr("")
}

func TestRequireSkipsOutsideVM(t *testing.T) {
	t.Setenv(EnvVM, "")
	var skipped bool
	t.Run("privileged", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		Require(t)
		t.Error("Require returned outside the VM")
	})
	if !skipped {
		t.Fatal("Require did not skip outside the VM")
	}
}

// recordingTB records what Require does to a test without stopping it.
type recordingTB struct {
	testing.TB
	fatal, skip string
}

func (r *recordingTB) Helper()                      {}
func (r *recordingTB) Skip(args ...any)             { r.skip = fmt.Sprint(args...) }
func (r *recordingTB) Fatalf(f string, args ...any) { r.fatal = fmt.Sprintf(f, args...) }

func TestRequireFailsInVMWithoutBPFLSM(t *testing.T) {
	t.Setenv(EnvVM, "1")
	t.Setenv(EnvKernel, "6.1")
	oldLSM := LSMFile
	LSMFile = filepath.Join(t.TempDir(), "lsm")
	t.Cleanup(func() { LSMFile = oldLSM })
	if err := os.WriteFile(LSMFile, []byte("capability,apparmor"), 0o644); err != nil {
		t.Fatal(err)
	}
	var r recordingTB
	Require(&r)
	if r.skip != "" {
		t.Errorf("Require skipped in the VM: %s", r.skip)
	}
	if !strings.Contains(r.fatal, "on kernel 6.1: BPF LSM is not active") {
		t.Errorf("Require's failure = %q, want it to say BPF LSM is not active on 6.1", r.fatal)
	}
}
