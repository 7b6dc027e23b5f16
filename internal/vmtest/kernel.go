package vmtest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// A Kernel is one of Debian's stock kernels the privileged tests run on.
// Both have CONFIG_BPF_LSM=y and `bpf` in CONFIG_LSM, so BPF LSM is active
// without boot parameters; the -cloud- flavour is the smallest and boots fastest.
type Kernel struct {
	Name   string // what --kernel takes: "6.1", "6.12"
	Series string // the Debian release that ships it
	// SystemApt: try the host's own apt index first (the development machines
	// and CI run bookworm). A private apt configuration is the fallback, and
	// the only way for kernels of other releases.
	SystemApt bool
}

// Kernels are the supported kernels, oldest first.
var Kernels = []Kernel{
	{Name: "6.1", Series: "bookworm", SystemApt: true},
	{Name: "6.12", Series: "trixie"},
}

// KernelNames lists the names --kernel accepts.
func KernelNames() []string {
	var names []string
	for _, k := range Kernels {
		names = append(names, k.Name)
	}
	return names
}

// LookupKernel returns the kernel called name.
func LookupKernel(name string) (Kernel, error) {
	for _, k := range Kernels {
		if k.Name == name {
			return k, nil
		}
	}
	return Kernel{}, fmt.Errorf("unknown kernel %q: choose one of %s", name, strings.Join(KernelNames(), ", "))
}

// packagePattern matches the unsigned cloud image packages of the kernel,
// e.g. linux-image-6.1.0-57-cloud-amd64-unsigned, linux-image-6.12.118+deb13-cloud-amd64-unsigned.
func (k Kernel) packagePattern() string {
	return `^linux-image-` + regexp.QuoteMeta(k.Name) + `\.[0-9][^ ]*-cloud-amd64-unsigned$`
}

// A FetchedKernel is a kernel unpacked in the cache.
type FetchedKernel struct {
	Kernel
	Vmlinuz string // path of the bzImage qemu boots
	Config  string // path of the kernel's config
	Package string // Debian package and version it came from
}

// CacheDir returns the directory for kernels and apt state: $BPFBOX_CACHE, or
// .cache under the module root (git-ignored).
func CacheDir(moduleRoot string) string {
	if d := os.Getenv("BPFBOX_CACHE"); d != "" {
		return d
	}
	return filepath.Join(moduleRoot, ".cache")
}

// FetchKernel returns the cached kernel k, downloading and unpacking its
// Debian package first if the cache does not hold it. Concurrent fetches
// (two test runs) wait for each other on a lock file.
func FetchKernel(cacheDir string, k Kernel, logf func(string, ...any)) (*FetchedKernel, error) {
	kernelsDir := filepath.Join(cacheDir, "kernels")
	if err := os.MkdirAll(kernelsDir, 0o755); err != nil {
		return nil, fmt.Errorf("create kernel cache: %w", err)
	}
	unlock, err := lockFile(filepath.Join(kernelsDir, ".lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()

	dir := filepath.Join(kernelsDir, k.Name)
	if fk, err := readCachedKernel(dir, k); err == nil {
		return fk, nil
	}
	logf("fetching kernel %s (Debian %s)…", k.Name, k.Series)
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("clear kernel cache: %w", err)
	}
	work, err := os.MkdirTemp(kernelsDir, "fetch-"+k.Name+"-")
	if err != nil {
		return nil, fmt.Errorf("create download directory: %w", err)
	}
	defer os.RemoveAll(work)

	apt, err := newAptConfig(cacheDir, k)
	if err != nil {
		return nil, err
	}
	pkg, err := apt.newestPackage(k, logf)
	if err != nil {
		return nil, err
	}
	logf("downloading %s…", pkg)
	if out, err := apt.command("apt-get", "download", pkg).dir(work).run(); err != nil {
		return nil, fmt.Errorf("download %s: %w\n%s", pkg, err, out)
	}
	debs, _ := filepath.Glob(filepath.Join(work, "*.deb"))
	if len(debs) != 1 {
		return nil, fmt.Errorf("download %s: expected one .deb in %s, found %d", pkg, work, len(debs))
	}
	version, err := exec.Command("dpkg-deb", "-f", debs[0], "Version").Output()
	if err != nil {
		return nil, fmt.Errorf("read version of %s: %w", debs[0], err)
	}
	unpacked := filepath.Join(work, "root")
	if out, err := exec.Command("dpkg-deb", "-x", debs[0], unpacked).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("unpack %s: %w\n%s", debs[0], err, out)
	}
	staged := filepath.Join(work, "kernel")
	if err := os.Mkdir(staged, 0o755); err != nil {
		return nil, fmt.Errorf("stage kernel: %w", err)
	}
	for _, f := range []struct{ glob, name string }{{"vmlinuz-*", "vmlinuz"}, {"config-*", "config"}} {
		m, _ := filepath.Glob(filepath.Join(unpacked, "boot", f.glob))
		if len(m) != 1 {
			return nil, fmt.Errorf("unpack %s: expected one boot/%s, found %d", pkg, f.glob, len(m))
		}
		if err := os.Rename(m[0], filepath.Join(staged, f.name)); err != nil {
			return nil, fmt.Errorf("stage kernel: %w", err)
		}
	}
	desc := pkg + " " + strings.TrimSpace(string(version)) + "\n"
	if err := os.WriteFile(filepath.Join(staged, "package"), []byte(desc), 0o644); err != nil {
		return nil, fmt.Errorf("stage kernel: %w", err)
	}
	if err := os.Rename(staged, dir); err != nil {
		return nil, fmt.Errorf("store kernel in cache: %w", err)
	}
	return readCachedKernel(dir, k)
}

func readCachedKernel(dir string, k Kernel) (*FetchedKernel, error) {
	desc, err := os.ReadFile(filepath.Join(dir, "package"))
	if err != nil {
		return nil, err
	}
	fk := &FetchedKernel{
		Kernel:  k,
		Vmlinuz: filepath.Join(dir, "vmlinuz"),
		Config:  filepath.Join(dir, "config"),
		Package: strings.TrimSpace(string(desc)),
	}
	if _, err := os.Stat(fk.Vmlinuz); err != nil {
		return nil, err
	}
	return fk, nil
}

// lockFile takes an exclusive flock on path, waiting for other holders.
func lockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// aptConfig runs apt either with the system's configuration or with a
// private one (its own sources.list, lists and caches under the cache
// directory), which never touches the system's sources or state.
type aptConfig struct {
	cacheDir string
	private  bool
	options  []string
	dirs     []string // to create before use
	sources  string   // sources.list path and contents (private only)
	lines    string
	updated  bool
}

func newAptConfig(cacheDir string, k Kernel) (*aptConfig, error) {
	if k.SystemApt {
		return &aptConfig{cacheDir: cacheDir}, nil
	}
	return privateAptConfig(cacheDir, k.Series)
}

func privateAptConfig(cacheDir, series string) (*aptConfig, error) {
	mirror, security := systemMirrors()
	signedBy := ""
	if _, err := os.Stat("/usr/share/keyrings/debian-archive-keyring.gpg"); err == nil {
		signedBy = "[signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
	}
	lines := fmt.Sprintf("deb %s%s %s main\n", signedBy, mirror, series)
	if security != "" {
		lines += fmt.Sprintf("deb %s%s %s-security main\n", signedBy, security, series)
	}
	root, err := filepath.Abs(filepath.Join(cacheDir, "apt", series))
	if err != nil {
		return nil, err
	}
	a := &aptConfig{
		cacheDir: cacheDir,
		private:  true,
		sources:  filepath.Join(root, "sources.list"),
		lines:    lines,
		dirs: []string{
			filepath.Join(root, "lists", "partial"),
			filepath.Join(root, "cache", "archives", "partial"),
		},
	}
	a.options = []string{
		"-o", "Dir::Etc::SourceList=" + a.sources,
		"-o", "Dir::Etc::SourceParts=/dev/null",
		"-o", "Dir::State::Lists=" + filepath.Join(root, "lists"),
		"-o", "Dir::Cache=" + filepath.Join(root, "cache"),
		"-o", "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false",
		"-o", "Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false",
		"-o", "Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled=false",
	}
	return a, nil
}

// systemMirrors returns the Debian mirror and security mirror the system's
// apt already uses, so private configurations reach the same servers (and
// work behind the same proxies). Defaults: deb.debian.org.
func systemMirrors() (mirror, security string) {
	mirror, security = "http://deb.debian.org/debian", "http://deb.debian.org/debian-security"
	out, err := exec.Command("apt-get", "indextargets", "--format", "$(REPO_URI) $(RELEASE) $(COMPONENT)", "Identifier: Packages").Output()
	if err != nil {
		return mirror, security
	}
	var foundMirror, foundSecurity bool
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 || f[2] != "main" {
			continue
		}
		uri := strings.TrimSuffix(f[0], "/")
		switch {
		case strings.HasSuffix(f[1], "-security") && !foundSecurity:
			security, foundSecurity = uri, true
		case !strings.Contains(f[1], "-") && strings.HasSuffix(uri, "/debian") && !foundMirror:
			mirror, foundMirror = uri, true
		}
	}
	return mirror, security
}

func (a *aptConfig) update(logf func(string, ...any)) error {
	if !a.private || a.updated {
		return nil
	}
	for _, d := range a.dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("create apt directory: %w", err)
		}
	}
	if err := os.WriteFile(a.sources, []byte(a.lines), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", a.sources, err)
	}
	logf("updating private apt index (%s)…", strings.ReplaceAll(strings.TrimSpace(a.lines), "\n", "; "))
	if out, err := a.command("apt-get", "update").run(); err != nil {
		return fmt.Errorf("update private apt index %s: %w\n%s", a.sources, err, out)
	}
	a.updated = true
	return nil
}

// newestPackage returns the name of the newest package of the kernel the
// index lists. With the system's apt, an index that lists none (a machine
// that never ran apt-get update) falls back to a private configuration.
func (a *aptConfig) newestPackage(k Kernel, logf func(string, ...any)) (string, error) {
	if err := a.update(logf); err != nil {
		return "", err
	}
	out, err := a.command("apt-cache", "search", "--names-only", k.packagePattern()).run()
	if err != nil {
		return "", fmt.Errorf("search apt index for kernel %s: %w\n%s", k.Name, err, out)
	}
	var names []string
	for _, line := range strings.Split(string(out), "\n") {
		if name, _, ok := strings.Cut(line, " "); ok {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		if !a.private {
			logf("the system's apt index lists no %s kernel; using a private apt index", k.Name)
			private, err := privateAptConfig(a.cacheDir, k.Series)
			if err != nil {
				return "", err
			}
			*a = *private
			return a.newestPackage(k, logf)
		}
		return "", fmt.Errorf("find kernel %s: the %s apt index lists no package matching %s", k.Name, k.Series, k.packagePattern())
	}
	sort.Slice(names, func(i, j int) bool { return versionLess(names[i], names[j]) })
	return names[len(names)-1], nil
}

var numberRE = regexp.MustCompile(`[0-9]+`)

// versionLess orders package names by the numbers in them:
// 6.1.0-9 < 6.1.0-57, 6.12.9+deb13 < 6.12.118+deb13.
func versionLess(a, b string) bool {
	na, nb := numberRE.FindAllString(a, -1), numberRE.FindAllString(b, -1)
	for i := 0; i < len(na) && i < len(nb); i++ {
		x, _ := strconv.Atoi(na[i])
		y, _ := strconv.Atoi(nb[i])
		if x != y {
			return x < y
		}
	}
	if len(na) != len(nb) {
		return len(na) < len(nb)
	}
	return a < b
}

type aptCommand struct {
	cmd *exec.Cmd
}

func (a *aptConfig) command(name string, args ...string) *aptCommand {
	all := append([]string{}, a.options...)
	if os.Geteuid() == 0 {
		// apt's _apt sandbox user cannot write to our directories.
		all = append(all, "-o", "APT::Sandbox::User=root")
	}
	all = append(all, args...)
	return &aptCommand{cmd: exec.Command(name, all...)}
}

func (c *aptCommand) dir(d string) *aptCommand { c.cmd.Dir = d; return c }

func (c *aptCommand) run() ([]byte, error) {
	out, err := c.cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return out, fmt.Errorf("%s: %w", strings.Join(c.cmd.Args, " "), err)
	}
	return out, err
}
