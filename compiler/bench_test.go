package compiler_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/bpfbox/bpfbox/compiler"
	"github.com/bpfbox/bpfbox/lang/check"
)

var benchSizes = []int{100, 1000, 10000}

// BenchmarkCompileSource is the whole pipeline, as bpfboxc compile runs it:
// check (parse, resolve, lint) then lower, tables, encode, verify.
func BenchmarkCompileSource(b *testing.B) {
	for _, n := range benchSizes {
		src, _ := generate(n)
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			var size, states int
			cpu := startCPU()
			for b.Loop() {
				pol, diags := check.Check([]check.Input{{Name: "gen.bbx", Src: src}}, check.Options{})
				if diags.HasErrors() {
					b.Fatal(diags)
				}
				res, err := compiler.CompileWith(pol, compiler.DefaultOptions())
				if err != nil {
					b.Fatal(err)
				}
				size, states = len(res.Data), int(res.Tables.DFAs[0].NumStates)
			}
			cpu.report(b)
			b.ReportMetric(float64(states), "states")
			b.ReportMetric(float64(size), "bundle-bytes")
		})
	}
}

// BenchmarkCompilePolicy is the compiler alone, from a checked policy.
func BenchmarkCompilePolicy(b *testing.B) {
	for _, n := range benchSizes {
		src, _ := generate(n)
		pol := checkFiles(b, []string{"gen.bbx"}, [][]byte{src})
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			cpu := startCPU()
			for b.Loop() {
				if _, err := compiler.CompileWith(pol, compiler.DefaultOptions()); err != nil {
					b.Fatal(err)
				}
			}
			cpu.report(b)
		})
	}
}

// BenchmarkAppArmor compiles the same rules with apparmor_parser -Q -S (no
// kernel load, binary policy to stdout, no cache), for comparison. It skips
// when apparmor_parser is not installed (Debian package apparmor).
func BenchmarkAppArmor(b *testing.B) {
	parser, err := exec.LookPath("apparmor_parser")
	if err != nil {
		b.Skip("apparmor_parser not installed (apt-get install apparmor): no comparison")
	}
	for _, n := range benchSizes {
		_, aa := generate(n)
		file := filepath.Join(b.TempDir(), "bench")
		if err := os.WriteFile(file, aa, 0o644); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			var cpu time.Duration
			for b.Loop() {
				var stderr bytes.Buffer
				cmd := exec.Command(parser, "-Q", "-S", "-K", file)
				cmd.Stdout, cmd.Stderr = io.Discard, &stderr
				if err := cmd.Run(); err != nil {
					b.Fatalf("apparmor_parser: %v\n%s", err, stderr.Bytes())
				}
				cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
			}
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}

// cpuClock measures the process's CPU time (user + system), a figure that,
// unlike ns/op, does not grow when other jobs share the machine's cores.
type cpuClock struct{ start time.Duration }

func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startCPU() cpuClock { return cpuClock{start: cpuNow()} }

func (c cpuClock) report(b *testing.B) {
	b.ReportMetric(float64((cpuNow()-c.start).Nanoseconds())/float64(b.N), "cpu-ns/op")
}
