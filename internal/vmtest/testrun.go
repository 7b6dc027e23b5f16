package vmtest

import (
	"fmt"
	"io"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// A TestPackage is a package whose tests run in the VM.
type TestPackage struct {
	ImportPath string
	Dir        string // on the host
	Binary     string // its compiled tests, on the host
}

// guestBinary is where the package's test binary is in the guest.
func (p TestPackage) guestBinary() string {
	return path.Join(GuestTests, filepath.Base(p.Binary))
}

// guestDir is the package's directory in the guest's copy of the module.
func (p TestPackage) guestDir(moduleRoot string) string {
	rel, err := filepath.Rel(moduleRoot, p.Dir)
	if err != nil {
		rel = "."
	}
	return path.Join(GuestSource, filepath.ToSlash(rel))
}

// PrivilegedPackages lists the packages matching patterns whose tests import
// the privileged package.
func PrivilegedPackages(moduleRoot string, patterns []string) ([]TestPackage, error) {
	args := append([]string{"list", "-e", "-f",
		"{{.ImportPath}}\t{{.Dir}}\t{{join .TestImports \" \"}} {{join .XTestImports \" \"}}"}, patterns...)
	cmd := exec.Command("go", args...)
	cmd.Dir = moduleRoot
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return nil, fmt.Errorf("list packages %s: %w\n%s", strings.Join(patterns, " "), err, ee.Stderr)
		}
		return nil, fmt.Errorf("list packages: %w", err)
	}
	var pkgs []TestPackage
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.SplitN(line, "\t", 3)
		if len(f) != 3 {
			continue
		}
		for _, imp := range strings.Fields(f[2]) {
			if imp == PrivilegedPackage {
				pkgs = append(pkgs, TestPackage{ImportPath: f[0], Dir: f[1]})
				break
			}
		}
	}
	sort.Slice(pkgs, func(i, j int) bool { return pkgs[i].ImportPath < pkgs[j].ImportPath })
	return pkgs, nil
}

const pkgMarker = "BPFBOX-VM-PKG "

// TestScript returns the guest script that runs each package's tests as
// `go test` would (in the package's directory, -test.v), with testArgs added,
// bracketed by markers the TestReport reads. It fails if any package fails.
func TestScript(pkgs []TestPackage, moduleRoot string, testArgs []string) string {
	var b strings.Builder
	b.WriteString("status=0\n")
	var extra string
	for _, a := range testArgs {
		extra += " " + ShellQuote(a)
	}
	for _, p := range pkgs {
		fmt.Fprintf(&b, "echo \"%s$BPFBOX_NONCE start %s\"\n", pkgMarker, p.ImportPath)
		fmt.Fprintf(&b, "(cd %s && exec %s -test.v%s)\n", ShellQuote(p.guestDir(moduleRoot)), ShellQuote(p.guestBinary()), extra)
		fmt.Fprintf(&b, "s=$?\necho\necho \"%s$BPFBOX_NONCE end %s $s\"\n[ $s -eq 0 ] || status=1\n", pkgMarker, p.ImportPath)
	}
	b.WriteString("exit $status\n")
	return b.String()
}

// AddTests puts the test binaries and the module tree into the image.
func AddTests(img *Initramfs, pkgs []TestPackage, moduleRoot string) error {
	for _, p := range pkgs {
		if err := img.HostFile(p.guestBinary(), p.Binary); err != nil {
			return err
		}
	}
	return AddSource(img, moduleRoot)
}

// A TestReport follows one kernel's console and counts top-level test
// results (the "--- PASS/FAIL/SKIP: TestName" lines of -test.v at column 0).
type TestReport struct {
	Kernel   string
	Nonce    string
	Console  io.Writer // per-package ok/FAIL lines go here
	Passed   int
	Failed   int
	Skipped  int
	Failures []string // "6.1 pkg TestName", or what went wrong

	current        string // package whose tests are running
	currentFailed  int
	ended, started map[string]bool
}

var resultRE = regexp.MustCompile(`^--- (PASS|FAIL|SKIP): (\S+)`)

// Line reads one console line; it returns false for the harness's markers,
// which the console does not show.
func (r *TestReport) Line(s string) bool {
	if r.started == nil {
		r.started, r.ended = map[string]bool{}, map[string]bool{}
	}
	if i := strings.Index(s, pkgMarker+r.Nonce+" "); i >= 0 {
		r.marker(strings.Fields(s[i+len(pkgMarker)+len(r.Nonce)+1:]))
		if pre := strings.TrimSpace(s[:i]); pre != "" {
			fmt.Fprintln(r.Console, s[:i])
		}
		return false
	}
	if m := resultRE.FindStringSubmatch(s); m != nil {
		switch m[1] {
		case "PASS":
			r.Passed++
		case "SKIP":
			r.Skipped++
		case "FAIL":
			r.Failed++
			r.currentFailed++
			r.Failures = append(r.Failures, fmt.Sprintf("%s %s %s", r.Kernel, r.current, m[2]))
		}
	}
	return true
}

func (r *TestReport) marker(f []string) {
	switch {
	case len(f) == 2 && f[0] == "start":
		r.current, r.currentFailed = f[1], 0
		r.started[f[1]] = true
	case len(f) == 3 && f[0] == "end":
		r.ended[f[1]] = true
		code, _ := strconv.Atoi(f[2])
		if code == 0 {
			fmt.Fprintf(r.Console, "ok  \t%s\t(kernel %s)\n", f[1], r.Kernel)
		} else {
			fmt.Fprintf(r.Console, "FAIL\t%s\t(kernel %s, exit status %d)\n", f[1], r.Kernel, code)
			if r.currentFailed == 0 {
				// A crash, panic or timeout reports no failing test.
				r.Failed++
				r.Failures = append(r.Failures, fmt.Sprintf("%s %s (exit status %d with no failing test: crashed or timed out; see its output)", r.Kernel, f[1], code))
			}
		}
		r.current = ""
	}
}

// Finish records packages that never finished and a guest that gave no
// result (runErr) as failures.
func (r *TestReport) Finish(pkgs []TestPackage, runErr error) {
	if runErr != nil {
		r.Failed++
		r.Failures = append(r.Failures, fmt.Sprintf("%s: %v", r.Kernel, runErr))
	}
	for _, p := range pkgs {
		if !r.ended[p.ImportPath] && runErr == nil {
			r.Failed++
			r.Failures = append(r.Failures, fmt.Sprintf("%s %s: did not finish", r.Kernel, p.ImportPath))
		}
	}
}
