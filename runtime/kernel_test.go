package runtime

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeRoot writes files (path → contents) under a temporary root.
func fakeRoot(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, data := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestCheckKernel(t *testing.T) {
	good := map[string]string{
		"sys/kernel/security/lsm": "lockdown,capability,landlock,yama,apparmor,bpf\n",
		"sys/kernel/btf/vmlinux":  "BTF",
	}
	without := func(drop string, add map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range good {
			if k != drop {
				m[k] = v
			}
		}
		for k, v := range add {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name    string
		release string
		files   map[string]string
		want    []string // substrings of the error, in order; none: no error
	}{
		{"debian 6.1", "6.1.0-57-cloud-amd64", good, nil},
		{"debian 6.12", "6.12.118+deb13-cloud-amd64", good, nil},
		{"7.0", "7.0.1", good, nil},
		{"too old", "5.15.0-91-generic", good, []string{
			"kernel 5.15.0-91-generic is older than 6.1", "fix: boot Linux 6.1 or newer"}},
		{"bad release", "weird", good, []string{`cannot tell the kernel version from "weird"`}},
		{"no securityfs", "6.1.0", without("sys/kernel/security/lsm", nil), []string{
			"/sys/kernel/security/lsm is missing", "fix: mount securityfs: mount -t securityfs securityfs /sys/kernel/security"}},
		{"bpf lsm inactive", "6.1.0", without("", map[string]string{
			"sys/kernel/security/lsm": "lockdown,capability,apparmor",
			"boot/config-6.1.0":       "CONFIG_BPF_LSM=y\n",
		}), []string{
			"BPF LSM is not active (active LSMs: lockdown,capability,apparmor)",
			"fix: add bpf to the LSM list on the kernel command line: lsm=lockdown,capability,apparmor,bpf"}},
		{"bpf lsm not built", "6.1.0", without("", map[string]string{
			"sys/kernel/security/lsm": "capability,selinux",
			"boot/config-6.1.0":       "# CONFIG_BPF_LSM is not set\n",
		}), []string{"BPF LSM is not active", "built without CONFIG_BPF_LSM"}},
		{"no btf", "6.1.0", without("sys/kernel/btf/vmlinux", nil), []string{
			"/sys/kernel/btf/vmlinux is missing", "CONFIG_DEBUG_INFO_BTF=y"}},
		{"everything missing", "4.19.0", map[string]string{}, []string{
			"older than 6.1", "/sys/kernel/security/lsm is missing", "/sys/kernel/btf/vmlinux is missing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckKernel(ReadKernelFacts(fakeRoot(t, tt.files), tt.release))
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("CheckKernel: %v, want no error", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckKernel: no error, want %q", tt.want)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "this kernel cannot enforce bpfbox policies:\n- ") {
				t.Errorf("error does not start with the summary:\n%s", msg)
			}
			rest := msg
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("error lacks %q (in order):\n%s", w, msg)
				}
				rest = rest[i+len(w):]
			}
		})
	}
}

func TestKernelSymbols(t *testing.T) {
	dir := t.TempDir()
	write := func(text string) string {
		p := filepath.Join(dir, "kallsyms")
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	syms, err := kernelSymbols(write("ffffffff81000000 T _text\nffffffff82a0c0c0 D rename_lock\nffffffff82a0d100 d mount_lock\n"),
		"rename_lock", "mount_lock")
	if err != nil || syms["rename_lock"] != 0xffffffff82a0c0c0 || syms["mount_lock"] != 0xffffffff82a0d100 {
		t.Errorf("got %x, %v", syms, err)
	}
	for text, want := range map[string]string{
		"ffffffff82a0c0c0 D rename_lock\n":                                                                "no symbol mount_lock",
		"0000000000000000 D rename_lock\n0000000000000000 d mount_lock\n":                                 "has no address",
		"ffffffff82a0c0c0 D rename_lock\nffffffff82a0c0c8 D rename_lock\nffffffff82a0d100 d mount_lock\n": "defined twice",
	} {
		if _, err := kernelSymbols(write(text), "rename_lock", "mount_lock"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want an error saying %q", text, err, want)
		}
	}
}
