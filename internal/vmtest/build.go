package vmtest

import (
	"bytes"
	"debug/elf"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// ModulePath is the import path of the project's module.
const ModulePath = "github.com/bpfbox/bpfbox"

// PrivilegedPackage is the package whose import marks a test package as
// needing the VM.
const PrivilegedPackage = ModulePath + "/internal/privileged"

// ModuleRoot returns the directory of the project's go.mod.
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("find module root: go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("find module root: run inside the bpfbox module")
	}
	return filepath.Dir(gomod), nil
}

// A Builder compiles what goes into the guest: static binaries (CGO_ENABLED=0,
// gcc -static), written to OutDir.
type Builder struct {
	ModuleRoot string
	OutDir     string
	Logf       func(string, ...any)
}

func (b *Builder) goCommand(args ...string) *exec.Cmd {
	cmd := exec.Command("go", args...)
	cmd.Dir = b.ModuleRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	return cmd
}

func run(cmd *exec.Cmd) error {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

// ProjectBinaries builds the commands the guest has on PATH: bpfboxc and
// bpfbox-run. It returns name → host path.
func (b *Builder) ProjectBinaries() (map[string]string, error) {
	bins := map[string]string{}
	for _, name := range []string{"bpfboxc", "bpfbox-run"} {
		out := filepath.Join(b.OutDir, "bin", name)
		if err := run(b.goCommand("build", "-trimpath", "-ldflags=-s -w", "-o", out, "./cmd/"+name)); err != nil {
			return nil, fmt.Errorf("build %s: %w", name, err)
		}
		bins[name] = out
	}
	return bins, nil
}

// TestBinary compiles the tests of pkg into a static test binary.
func (b *Builder) TestBinary(pkg string) (string, error) {
	name := strings.ReplaceAll(strings.TrimPrefix(strings.TrimPrefix(pkg, ModulePath), "/"), "/", "_")
	if name == "" {
		name = "root"
	}
	out := filepath.Join(b.OutDir, "tests", name+".test")
	if err := run(b.goCommand("test", "-c", "-ldflags=-s -w", "-o", out, pkg)); err != nil {
		return "", fmt.Errorf("compile tests of %s: %w", pkg, err)
	}
	return out, nil
}

// Drivers builds the driver programs tests use to act in the guest:
// every testdata/drivers/NAME.c (gcc -static) and every Go main package in
// testdata/drivers/NAME/, anywhere in the module. It returns name → host path;
// two drivers with the same name are an error.
func (b *Builder) Drivers() (map[string]string, error) {
	srcs, err := findDrivers(b.ModuleRoot)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(srcs))
	for n := range srcs {
		names = append(names, n)
	}
	sort.Strings(names)
	bins := map[string]string{}
	for _, name := range names {
		src := srcs[name]
		out := filepath.Join(b.OutDir, "drivers", name)
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return nil, err
		}
		var cmd *exec.Cmd
		if strings.HasSuffix(src, ".c") {
			cmd = exec.Command("gcc", "-static", "-O2", "-g", "-Wall", "-Werror", "-o", out, src)
		} else {
			rel, _ := filepath.Rel(b.ModuleRoot, src)
			cmd = b.goCommand("build", "-trimpath", "-o", out, "./"+rel)
		}
		if err := run(cmd); err != nil {
			return nil, fmt.Errorf("build driver %s: %w", name, err)
		}
		bins[name] = out
	}
	return bins, nil
}

// findDrivers returns driver name → source (a .c file or a Go package directory).
func findDrivers(moduleRoot string) (map[string]string, error) {
	srcs := map[string]string{}
	err := filepath.WalkDir(moduleRoot, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != moduleRoot && skipDir(moduleRoot, p) {
			return filepath.SkipDir
		}
		if filepath.Base(filepath.Dir(p)) != "drivers" || filepath.Base(filepath.Dir(filepath.Dir(p))) != "testdata" {
			return nil
		}
		name := d.Name()
		switch {
		case !d.IsDir() && strings.HasSuffix(name, ".c"):
			name = strings.TrimSuffix(name, ".c")
		case d.IsDir():
			if gos, _ := filepath.Glob(filepath.Join(p, "*.go")); len(gos) == 0 {
				return nil
			}
		default:
			return nil
		}
		if prev, ok := srcs[name]; ok {
			return fmt.Errorf("two drivers named %q: %s and %s", name, prev, p)
		}
		srcs[name] = p
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("find drivers: %w", err)
	}
	return srcs, nil
}

// skipDir reports the directories the guest never needs: version control
// anywhere, and the module root's git-ignored caches and build outputs.
func skipDir(moduleRoot, dir string) bool {
	switch name := filepath.Base(dir); {
	case name == ".git":
		return true
	case filepath.Dir(dir) == moduleRoot:
		return name == ".cache" || name == "bin"
	}
	return false
}

// AddSource copies the module's files (not .git, .cache, bin) into the image
// under GuestSource, so tests find their testdata and the examples as
// `go test` would.
func AddSource(img *Initramfs, moduleRoot string) error {
	return filepath.WalkDir(moduleRoot, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != moduleRoot && skipDir(moduleRoot, p) {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || strings.HasSuffix(p, ".test") {
			return nil
		}
		rel, _ := filepath.Rel(moduleRoot, p)
		return img.HostFile(filepath.Join(GuestSource, rel), p)
	})
}

// A HostTool is a program the harness runs, and the Debian package with it.
type HostTool struct {
	Path    string // absolute path or a name looked up in PATH
	Package string
	Static  bool // must be a statically linked ELF (busybox)
}

// VMTools are what booting a guest needs. gcc (and libc6-dev for -static) are
// needed only for C drivers.
var VMTools = []HostTool{
	{Path: "qemu-system-x86_64", Package: "qemu-system-x86"},
	{Path: "/bin/busybox", Package: "busybox-static", Static: true},
	{Path: "dpkg-deb", Package: "dpkg"},
	{Path: "apt-get", Package: "apt"},
}

// DriverTools build the C drivers.
var DriverTools = []HostTool{
	{Path: "gcc", Package: "gcc"},
	{Path: "/usr/lib/x86_64-linux-gnu/libc.a", Package: "libc6-dev"},
}

func (t HostTool) ok() bool {
	p := t.Path
	if !filepath.IsAbs(p) {
		var err error
		if p, err = exec.LookPath(p); err != nil {
			return false
		}
	}
	if _, err := os.Stat(p); err != nil {
		return false
	}
	if t.Static {
		f, err := elf.Open(p)
		if err != nil {
			return false
		}
		defer f.Close()
		for _, prog := range f.Progs {
			if prog.Type == elf.PT_INTERP {
				return false
			}
		}
	}
	return true
}

// EnsureHostTools checks the tools and installs the missing ones' packages
// with apt-get when running as root; otherwise the error names them.
func EnsureHostTools(tools []HostTool, logf func(string, ...any)) error {
	var missing []string
	seen := map[string]bool{}
	for _, t := range tools {
		if !t.ok() && !seen[t.Package] {
			seen[t.Package] = true
			missing = append(missing, t.Package)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	install := "apt-get install --no-install-recommends " + strings.Join(missing, " ")
	if os.Geteuid() != 0 {
		return fmt.Errorf("missing host packages: %s; install them with: sudo %s", strings.Join(missing, ", "), install)
	}
	logf("installing %s…", strings.Join(missing, " "))
	env := append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	args := append([]string{"install", "-y", "-q", "--no-install-recommends"}, missing...)
	cmd := exec.Command("apt-get", args...)
	cmd.Env = env
	if err := run(cmd); err != nil {
		// A fresh machine may have no package lists yet.
		upd := exec.Command("apt-get", "update", "-q")
		upd.Env = env
		if uerr := run(upd); uerr != nil {
			return fmt.Errorf("install host packages: %w", uerr)
		}
		cmd = exec.Command("apt-get", args...)
		cmd.Env = env
		if err := run(cmd); err != nil {
			return fmt.Errorf("install host packages: %w", err)
		}
	}
	for _, t := range tools {
		if !t.ok() {
			return fmt.Errorf("install host packages: %s is still missing or unusable after installing %s", t.Path, t.Package)
		}
	}
	return nil
}
