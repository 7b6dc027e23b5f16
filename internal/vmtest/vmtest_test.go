package vmtest

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// cpioEntry is one decoded newc record.
type cpioEntry struct {
	Name string
	Mode uint32
	Rdev [2]uint32
	Data string
}

// readCpio decodes a gzipped newc archive, checking magic and 4-byte padding.
func readCpio(t *testing.T, gz []byte) []cpioEntry {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	var entries []cpioEntry
	off := 0
	field := func(i int) uint32 {
		v, err := strconv.ParseUint(string(raw[off+6+8*i:off+14+8*i]), 16, 32)
		if err != nil {
			t.Fatalf("offset %d: field %d: %v", off, i, err)
		}
		return uint32(v)
	}
	for {
		if string(raw[off:off+6]) != "070701" {
			t.Fatalf("offset %d: magic %q", off, raw[off:off+6])
		}
		mode, size, nameSize := field(1), int(field(6)), int(field(11))
		name := string(raw[off+110 : off+110+nameSize-1])
		if raw[off+110+nameSize-1] != 0 {
			t.Fatalf("%s: name not NUL-terminated", name)
		}
		dataOff := off + 110 + nameSize
		dataOff += pad4(dataOff)
		if name == "TRAILER!!!" {
			return entries
		}
		entries = append(entries, cpioEntry{name, mode, [2]uint32{field(9), field(10)}, string(raw[dataOff : dataOff+size])})
		off = dataOff + size
		off += pad4(off)
	}
}

func TestInitramfs(t *testing.T) {
	host := filepath.Join(t.TempDir(), "tool")
	if err := os.WriteFile(host, []byte("#!/bin/sh\necho hi\n"), 0o750); err != nil {
		t.Fatal(err)
	}
	build := func() []byte {
		img := NewInitramfs()
		img.File("/opt/x/run.sh", []byte("exit 3\n"), 0o644)
		if err := img.HostFile("opt/bin/tool", host); err != nil {
			t.Fatal(err)
		}
		img.Symlink("bin/sh", "busybox")
		var buf bytes.Buffer
		if _, err := img.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	archive := build()
	if !bytes.Equal(archive, build()) {
		t.Error("two builds of the same image differ")
	}
	got := map[string]cpioEntry{}
	var order []string
	for _, e := range readCpio(t, archive) {
		got[e.Name] = e
		order = append(order, e.Name)
	}
	if !sort.StringsAreSorted(order) {
		t.Errorf("entries not sorted (parents must precede children): %v", order)
	}
	want := map[string]cpioEntry{
		"opt":          {Name: "opt", Mode: modeDir | 0o755},
		"opt/x":        {Name: "opt/x", Mode: modeDir | 0o755},
		"opt/x/run.sh": {Name: "opt/x/run.sh", Mode: modeFile | 0o644, Data: "exit 3\n"},
		"opt/bin/tool": {Name: "opt/bin/tool", Mode: modeFile | 0o750, Data: "#!/bin/sh\necho hi\n"},
		"bin/sh":       {Name: "bin/sh", Mode: modeSymlink | 0o777, Data: "busybox"},
		"dev/console":  {Name: "dev/console", Mode: modeCharDev | 0o600, Rdev: [2]uint32{5, 1}},
		"tmp":          {Name: "tmp", Mode: modeDir | 0o755},
	}
	for name, w := range want {
		if diff := cmp.Diff(w, got[name]); diff != "" {
			t.Errorf("entry %s (-want +got):\n%s", name, diff)
		}
	}
}

func TestInitramfsMissingHostFile(t *testing.T) {
	err := NewInitramfs().HostFile("x", filepath.Join(t.TempDir(), "absent"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("HostFile(absent) = %v, want ErrNotExist", err)
	}
}

func TestVersionLess(t *testing.T) {
	names := []string{
		"linux-image-6.12.118+deb13-cloud-amd64-unsigned",
		"linux-image-6.12.9+deb13-cloud-amd64-unsigned",
		"linux-image-6.1.0-57-cloud-amd64-unsigned",
		"linux-image-6.12.57+deb13-cloud-amd64-unsigned",
		"linux-image-6.1.0-9-cloud-amd64-unsigned",
	}
	sort.Slice(names, func(i, j int) bool { return versionLess(names[i], names[j]) })
	want := []string{
		"linux-image-6.1.0-9-cloud-amd64-unsigned",
		"linux-image-6.1.0-57-cloud-amd64-unsigned",
		"linux-image-6.12.9+deb13-cloud-amd64-unsigned",
		"linux-image-6.12.57+deb13-cloud-amd64-unsigned",
		"linux-image-6.12.118+deb13-cloud-amd64-unsigned",
	}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("sorted (-want +got):\n%s", diff)
	}
}

func TestKernelPackagePattern(t *testing.T) {
	for _, tc := range []struct {
		kernel, pkg string
		match       bool
	}{
		{"6.1", "linux-image-6.1.0-57-cloud-amd64-unsigned", true},
		{"6.1", "linux-image-6.1.0-57-cloud-amd64", false},
		{"6.1", "linux-image-6.12.118+deb13-cloud-amd64-unsigned", false},
		{"6.1", "linux-image-6.1.0-57-amd64-unsigned", false},
		{"6.12", "linux-image-6.12.118+deb13-cloud-amd64-unsigned", true},
		{"6.12", "linux-image-6.1.0-57-cloud-amd64-unsigned", false},
	} {
		k, err := LookupKernel(tc.kernel)
		if err != nil {
			t.Fatal(err)
		}
		if got := regexp.MustCompile(k.packagePattern()).MatchString(tc.pkg); got != tc.match {
			t.Errorf("kernel %s matches %s = %v, want %v", tc.kernel, tc.pkg, got, tc.match)
		}
	}
	if _, err := LookupKernel("5.15"); err == nil || !strings.Contains(err.Error(), "6.1, 6.12") {
		t.Errorf("LookupKernel(5.15) = %v, want an error listing the kernels", err)
	}
}

func TestShellQuote(t *testing.T) {
	words := []string{"plain", "", "two words", "it's", `$HOME "x" \n`, "a=b/c.d", "*", "semi;colon"}
	var script strings.Builder
	script.WriteString("for w in")
	for _, w := range words {
		script.WriteString(" " + ShellQuote(w))
	}
	script.WriteString(`; do printf '%s\n' "[$w]"; done`)
	out, err := exec.Command("/bin/sh", "-c", script.String()).Output()
	if err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	for _, w := range words {
		fmt.Fprintf(&want, "[%s]\n", w)
	}
	if diff := cmp.Diff(want.String(), string(out)); diff != "" {
		t.Errorf("sh saw (-want +got):\n%s", diff)
	}
}

func TestTestReport(t *testing.T) {
	var console bytes.Buffer
	r := &TestReport{Kernel: "6.1", Nonce: "n0nce", Console: &console}
	pkgs := []TestPackage{{ImportPath: "m/a"}, {ImportPath: "m/b"}, {ImportPath: "m/c"}, {ImportPath: "m/d"}}
	lines := []string{
		"BPFBOX-VM-PKG n0nce start m/a",
		"=== RUN   TestOne",
		"--- PASS: TestOne (0.01s)",
		"=== RUN   TestTwo",
		"    --- PASS: TestTwo/sub (0.00s)",
		"    --- FAIL: TestTwo/other (0.00s)",
		"--- FAIL: TestTwo (0.00s)",
		"--- SKIP: TestThree (0.00s)",
		"FAIL",
		"BPFBOX-VM-PKG n0nce end m/a 1",
		"BPFBOX-VM-PKG n0nce start m/b",
		"panic: boom",
		"BPFBOX-VM-PKG n0nce end m/b 2",
		"BPFBOX-VM-PKG forged start m/x",
		"BPFBOX-VM-PKG n0nce start m/c",
		"--- PASS: TestFour (0.00s)",
		"BPFBOX-VM-PKG n0nce end m/c 0",
		"BPFBOX-VM-PKG n0nce start m/d",
	}
	var shown []string
	for _, l := range lines {
		if r.Line(l) {
			shown = append(shown, l)
		}
	}
	r.Finish(pkgs, nil)
	if r.Passed != 2 || r.Failed != 3 || r.Skipped != 1 {
		t.Errorf("passed, failed, skipped = %d, %d, %d; want 2, 3, 1", r.Passed, r.Failed, r.Skipped)
	}
	wantFailures := []string{
		"6.1 m/a TestTwo",
		"6.1 m/b (exit status 2 with no failing test: crashed or timed out; see its output)",
		"6.1 m/d: did not finish",
	}
	if diff := cmp.Diff(wantFailures, r.Failures); diff != "" {
		t.Errorf("failures (-want +got):\n%s", diff)
	}
	for _, l := range shown {
		if strings.Contains(l, "n0nce") {
			t.Errorf("marker shown on the console: %q", l)
		}
	}
	wantConsole := "FAIL\tm/a\t(kernel 6.1, exit status 1)\nFAIL\tm/b\t(kernel 6.1, exit status 2)\nok  \tm/c\t(kernel 6.1)\n"
	if diff := cmp.Diff(wantConsole, console.String()); diff != "" {
		t.Errorf("console (-want +got):\n%s", diff)
	}

	timedOut := &TestReport{Kernel: "6.12", Nonce: "n", Console: io.Discard}
	timedOut.Finish(pkgs, ErrTimeout)
	if timedOut.Failed != 1 || len(timedOut.Failures) != 1 || !strings.Contains(timedOut.Failures[0], "timed out") {
		t.Errorf("a guest that gave no result: failed %d, failures %q; want one failure naming it", timedOut.Failed, timedOut.Failures)
	}
}

func TestTestScriptRunsEachPackageInItsDirectory(t *testing.T) {
	pkgs := []TestPackage{
		{ImportPath: ModulePath + "/bpf/smoke", Dir: "/repo/bpf/smoke", Binary: "/tmp/b/tests/bpf_smoke.test"},
		{ImportPath: ModulePath + "/runtime", Dir: "/repo/runtime", Binary: "/tmp/b/tests/runtime.test"},
	}
	got := TestScript(pkgs, "/repo", []string{"-test.run", "Open|Exec"})
	want := `status=0
echo "BPFBOX-VM-PKG $BPFBOX_NONCE start github.com/bpfbox/bpfbox/bpf/smoke"
(cd /src/bpf/smoke && exec /opt/bpfbox/tests/bpf_smoke.test -test.v -test.run 'Open|Exec')
s=$?
echo
echo "BPFBOX-VM-PKG $BPFBOX_NONCE end github.com/bpfbox/bpfbox/bpf/smoke $s"
[ $s -eq 0 ] || status=1
echo "BPFBOX-VM-PKG $BPFBOX_NONCE start github.com/bpfbox/bpfbox/runtime"
(cd /src/runtime && exec /opt/bpfbox/tests/runtime.test -test.v -test.run 'Open|Exec')
s=$?
echo
echo "BPFBOX-VM-PKG $BPFBOX_NONCE end github.com/bpfbox/bpfbox/runtime $s"
[ $s -eq 0 ] || status=1
exit $status
`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("script (-want +got):\n%s", diff)
	}
}

// runFakeGuest runs Guest.Run with a shell script standing in for qemu.
func runFakeGuest(t *testing.T, fakeQemu string, timeout time.Duration) (Result, string, error) {
	t.Helper()
	qemu := filepath.Join(t.TempDir(), "qemu")
	if err := os.WriteFile(qemu, []byte("#!/bin/sh\n"+fakeQemu), 0o755); err != nil {
		t.Fatal(err)
	}
	var console bytes.Buffer
	g := &Guest{
		Kernel:  &FetchedKernel{Kernel: Kernel{Name: "6.1"}, Vmlinuz: "/nonexistent"},
		Image:   NewInitramfs(),
		Script:  "true\n",
		Timeout: timeout,
		Console: &console,
		Nonce:   "f00d",
		Qemu:    qemu,
	}
	res, err := g.Run(context.Background())
	return res, console.String(), err
}

func TestGuestRunReportsTheScriptsStatus(t *testing.T) {
	res, console, err := runFakeGuest(t, `printf '\033c\033[?7l\033[2JSeaBIOS (version 1.16.2)\r\nBooting from ROM...\r\n'
printf 'hello\r\n\r\n'
echo 'BPFBOX-VM-EXIT f00d 7'
echo '[    4.9] reboot: Power down'
`, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 7 {
		t.Errorf("exit code %d, want 7", res.ExitCode)
	}
	if console != "hello\n" {
		t.Errorf("console %q, want only the guest's own output", console)
	}
}

func TestGuestRunWithoutMarkerFails(t *testing.T) {
	_, console, err := runFakeGuest(t, `echo 'Kernel panic - not syncing: Attempted to kill init!'
echo 'BPFBOX-VM-EXIT forged 0'
exit 0
`, time.Minute)
	if err == nil || !strings.Contains(err.Error(), "stopped without a result") {
		t.Errorf("err = %v, want a guest that stopped without a result", err)
	}
	if !strings.Contains(console, "Kernel panic") {
		t.Errorf("console %q lacks the guest's last words", console)
	}
}

func TestGuestRunTimesOut(t *testing.T) {
	start := time.Now()
	_, _, err := runFakeGuest(t, "echo booting; exec sleep 60\n", 500*time.Millisecond)
	if !errors.Is(err, ErrTimeout) {
		t.Errorf("err = %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("Run returned after %v; the hung guest was not killed", d)
	}
}

// writeTree creates files (path → contents) under a new temporary directory.
func writeTree(t *testing.T, files map[string]string) string {
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

func TestFindDrivers(t *testing.T) {
	root := writeTree(t, map[string]string{
		"testdata/drivers/opener.c":               "int main(void) { return 0; }\n",
		"runtime/testdata/drivers/login.c":        "int main(void) { return 0; }\n",
		"runtime/testdata/drivers/forker/main.go": "package main\nfunc main() {}\n",
		"runtime/testdata/drivers/README":         "not a driver\n",
		"runtime/testdata/drivers/empty/notes":    "no Go files: not a driver\n",
		"runtime/testdata/other/x.c":              "not in drivers/\n",
		".cache/testdata/drivers/cached.c":        "skipped\n",
	})
	got, err := findDrivers(root)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"opener": filepath.Join(root, "testdata/drivers/opener.c"),
		"login":  filepath.Join(root, "runtime/testdata/drivers/login.c"),
		"forker": filepath.Join(root, "runtime/testdata/drivers/forker"),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("drivers (-want +got):\n%s", diff)
	}

	dup := writeTree(t, map[string]string{
		"a/testdata/drivers/same.c": "",
		"b/testdata/drivers/same.c": "",
	})
	if _, err := findDrivers(dup); err == nil || !strings.Contains(err.Error(), `two drivers named "same"`) {
		t.Errorf("findDrivers with a duplicate name = %v, want an error naming it", err)
	}
}

func TestAddSourceSkipsCachesAndVCS(t *testing.T) {
	root := writeTree(t, map[string]string{
		"go.mod":                     "module x\n",
		"runtime/testdata/a.txtar":   "a\n",
		"runtime/bin/keep.txt":       "a nested bin/ is source\n",
		".git/config":                "",
		".cache/kernels/6.1/vmlinuz": "",
		"bin/vmrun":                  "",
		"lang/parser/parser.test":    "",
		"examples/login/login.bbx":   "profile\n",
		"sub/.git/HEAD":              "",
	})
	img := NewInitramfs()
	if err := AddSource(img, root); err != nil {
		t.Fatal(err)
	}
	var files []string
	for name, e := range img.entries {
		if e.mode&0o170000 == modeFile {
			files = append(files, name)
		}
	}
	sort.Strings(files)
	want := []string{"src/examples/login/login.bbx", "src/go.mod", "src/runtime/bin/keep.txt", "src/runtime/testdata/a.txtar"}
	if diff := cmp.Diff(want, files); diff != "" {
		t.Errorf("files in the guest (-want +got):\n%s", diff)
	}
}
