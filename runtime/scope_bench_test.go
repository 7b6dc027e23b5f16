//go:build linux

package runtime

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/bpfbox/bpfbox/compiler"
	"github.com/bpfbox/bpfbox/compiler/bundle"
	"github.com/bpfbox/bpfbox/internal/privileged"
	"github.com/bpfbox/bpfbox/lang/check"
)

// BenchmarkScopedCall measures what a #[func] scope costs per call of the
// function: bbxlogin times a loop of calls to bench_target, first with no
// policy loaded (unprobed), then confined under a policy that scopes a rule
// to bench_target (uprobe and uretprobe on every call). Reported: ns/call
// of each and their ratio, and, as a scale, the cost of a getppid system call
// (the scoped call's cost in system calls), from one run (TCG timings are
// only comparable within a run).
func BenchmarkScopedCall(b *testing.B) {
	privileged.Require(b)
	dir, exe := confinedCopy(b, "bbxlogin")
	const calls = 20000
	measure := func(step string) float64 {
		b.Helper()
		arg := fmt.Sprintf("%s:%d", step, calls)
		out, err := exec.Command(exe, arg).CombinedOutput()
		if err != nil {
			b.Fatalf("%s %s: %v\n%s", exe, arg, err, out)
		}
		f := strings.Fields(string(out))
		if len(f) != 2 || f[0] != arg {
			b.Fatalf("unexpected output %q", out)
		}
		ns, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			b.Fatal(err)
		}
		return ns
	}
	policy := fmt.Sprintf("#![profile %q]\n#[func \"bench_target\"] fs(\"%s/secret\", read)\n", exe, dir)
	pol, diags := check.Check([]check.Input{{Name: "bench.bbx", Src: []byte(policy)}}, check.Options{})
	if diags.HasErrors() {
		b.Fatalf("check:\n%v", diags)
	}
	data, err := compiler.Compile(pol)
	if err != nil {
		b.Fatal(err)
	}
	bun, err := bundle.Decode(data)
	if err != nil {
		b.Fatal(err)
	}
	plan, err := NewPlan(bun, Options{})
	if err != nil {
		b.Fatal(err)
	}
	var plain, probed, syscall float64
	for i := 0; i < b.N; i++ {
		plain += measure("bench")
		syscall += measure("benchsys")
		e, err := Apply(bun, plan)
		if err != nil {
			b.Fatal(err)
		}
		probed += measure("bench")
		if err := e.Close(); err != nil {
			b.Fatal(err)
		}
	}
	n := float64(b.N)
	b.ReportMetric(plain/n, "ns/call-unprobed")
	b.ReportMetric(probed/n, "ns/call-scoped")
	b.ReportMetric(syscall/n, "ns/getppid")
	b.ReportMetric(probed/plain, "ratio")
	b.ReportMetric(probed/syscall, "syscalls/scoped-call")
}
