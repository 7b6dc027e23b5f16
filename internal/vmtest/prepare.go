package vmtest

import (
	"fmt"
	"os"
	"strings"
)

// A Setup is what every guest of one run shares: checked host tools, the
// built binaries and the kernels.
type Setup struct {
	ModuleRoot string
	CacheDir   string
	Builder    *Builder
	Binaries   map[string]string // bpfboxc, bpfbox-run
	Drivers    map[string]string
	Kernels    []*FetchedKernel
	Logf       func(string, ...any)
	workDir    string
}

// Prepare checks (or installs) the host tools, fetches the kernels and builds
// the project's binaries and the drivers. Close removes the build outputs.
func Prepare(kernelNames []string, logf func(string, ...any)) (*Setup, error) {
	var kernels []Kernel
	for _, name := range kernelNames {
		k, err := LookupKernel(strings.TrimSpace(name))
		if err != nil {
			return nil, err
		}
		kernels = append(kernels, k)
	}
	if len(kernels) == 0 {
		return nil, fmt.Errorf("no kernel given: choose from %s", strings.Join(KernelNames(), ", "))
	}
	root, err := ModuleRoot()
	if err != nil {
		return nil, err
	}
	if err := EnsureHostTools(VMTools, logf); err != nil {
		return nil, err
	}
	s := &Setup{ModuleRoot: root, CacheDir: CacheDir(root), Logf: logf}
	for _, k := range kernels {
		fk, err := FetchKernel(s.CacheDir, k, logf)
		if err != nil {
			return nil, err
		}
		s.Kernels = append(s.Kernels, fk)
	}
	if s.workDir, err = os.MkdirTemp("", "bpfbox-vm-"); err != nil {
		return nil, fmt.Errorf("create build directory: %w", err)
	}
	s.Builder = &Builder{ModuleRoot: root, OutDir: s.workDir, Logf: logf}
	logf("building bpfboxc, bpfbox-run and drivers (static)…")
	if s.Binaries, err = s.Builder.ProjectBinaries(); err != nil {
		s.Close()
		return nil, err
	}
	if s.Drivers, err = s.buildDrivers(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Setup) buildDrivers() (map[string]string, error) {
	drivers, err := s.Builder.Drivers()
	if err != nil && !DriverToolsPresent() {
		if terr := EnsureHostTools(DriverTools, s.Logf); terr != nil {
			return nil, terr
		}
		return s.Builder.Drivers()
	}
	return drivers, err
}

// DriverToolsPresent reports whether gcc can link static C programs.
func DriverToolsPresent() bool {
	for _, t := range DriverTools {
		if !t.ok() {
			return false
		}
	}
	return true
}

// Close removes the build outputs.
func (s *Setup) Close() {
	if s.workDir != "" {
		os.RemoveAll(s.workDir)
	}
}

// NewImage returns an initramfs with busybox, the project's binaries and the
// drivers.
func (s *Setup) NewImage() (*Initramfs, error) {
	img := NewInitramfs()
	if err := AddBase(img, "/bin/busybox", s.Binaries, s.Drivers); err != nil {
		return nil, err
	}
	return img, nil
}

// GuestEnv is the environment every guest script gets. The host's
// BPFBOX_BENCH_* variables (benchmark switches) are passed through.
func GuestEnv(k *FetchedKernel) map[string]string {
	env := map[string]string{
		"BPFBOX_VM":      "1",
		"BPFBOX_KERNEL":  k.Name,
		"BPFBOX_DRIVERS": GuestDrivers,
	}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "BPFBOX_BENCH_") {
			env[k] = v
		}
	}
	return env
}
