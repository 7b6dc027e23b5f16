//go:build linux

package runtime

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/bpfbox/bpfbox/internal/privileged"
	"github.com/bpfbox/bpfbox/lang/check"
)

// BenchmarkConfinement measures the cost of enforcement from inside the
// driver (CPU ns per iteration, so that the benchmark's own goroutines, which
// share the VM's one CPU, are not counted): an open/close loop, an
// OSBench-style create-files loop (create, write 32 bytes, close, delete) and
// a launch-programs loop (fork, exec, wait), each run unconfined, confined
// untainted, confined tainted with every access allowed by a rule, and
// untainted with every access audited (events drained by a reader). Compare
// ratios within one run: the VM's timing is emulated.
func BenchmarkConfinement(b *testing.B) {
	privileged.Require(b)
	dir := b.TempDir()
	work := filepath.Join(dir, "work")
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "f"), []byte("f\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	drv := driverPath(b)
	data, err := os.ReadFile(drv)
	if err != nil {
		b.Fatal(err)
	}
	// "copy" is the driver unconfined again, run from a copy in the same
	// directory as the confined ones and last in each round: it shows what
	// differs between the runs other than confinement (it should be ~0%).
	who := []string{"unconfined", "untainted", "tainted", "audit", "copy"}
	for _, w := range who[1:] {
		if err := os.WriteFile(filepath.Join(dir, "bin", w), data, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	r := strings.NewReplacer("$DIR", dir)
	policies := map[string]string{
		"untainted.bbx": `#![profile "$DIR/bin/untainted"]
#[taint] fs("/nonexistent/taint", read)
fs("$DIR/work/**", read|write|create|delete)
fs("$DIR/bin/untainted", exec)
`,
		"tainted.bbx": `#![profile "$DIR/bin/tainted"]
#![tainted]
fs("$DIR/work/**", read|write|create|delete)
fs("$DIR/bin/tainted", exec)
`,
		"audit.bbx": `#![profile "$DIR/bin/audit"]
#[taint] fs("/nonexistent/taint", read)
#[audit] fs("$DIR/work/**", read|write|create|delete)
#[audit] fs("$DIR/bin/audit", exec)
`,
	}
	var inputs []check.Input
	for _, name := range []string{"untainted.bbx", "tainted.bbx", "audit.bbx"} {
		inputs = append(inputs, check.Input{Name: name, Src: []byte(r.Replace(policies[name]))})
	}
	bun := compileText(b, inputs)
	plan, err := NewPlan(bun, Options{})
	if err != nil {
		b.Fatal(err)
	}
	e, err := Apply(bun, plan)
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		for {
			if _, err := e.ReadEvent(); errors.Is(err, os.ErrClosed) {
				return
			}
		}
	}()
	defer func() { e.Close(); <-drained }()

	// Each kind runs rounds that interleave the four configurations, so that
	// drift in the (shared, emulated) machine's speed hits them alike; the
	// median of each configuration is reported, with the overhead over
	// unconfined in percent.
	loops := map[string]int{"open": 2000, "create": 400, "launch": 20}
	// BPFBOX_BENCH_STATS=1 also reports the kernel's run time of each hook
	// per call (BPF stats; collecting them slows every hook a little, so the
	// overhead figures of such a run are not the product's).
	var hooks *hookStats
	if os.Getenv("BPFBOX_BENCH_STATS") == "1" {
		closer, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
		if err != nil {
			b.Fatalf("enable BPF stats: %v", err)
		}
		defer closer.Close()
		hooks = &hookStats{e: e, sum: map[string]hookTotal{}}
	}
	for _, kind := range []string{"open", "create", "launch"} {
		b.Run(kind, func(b *testing.B) {
			hooks.reset()
			samples := map[string][]float64{}
			for round := 0; round < max(b.N, 5); round++ {
				for _, w := range who {
					exe := drv
					if w != "unconfined" {
						exe = filepath.Join(dir, "bin", w)
					}
					step := fmt.Sprintf("bench:%s:%d:%s", kind, loops[kind], work)
					before := hooks.snapshot(b)
					out, err := exec.Command(exe, step).CombinedOutput()
					hooks.add(b, kind+"/"+w, before)
					f := strings.Fields(string(out))
					if err != nil || len(f) != 3 || f[1] != "ok" {
						b.Fatalf("%s %s: %v\n%s", exe, step, err, out)
					}
					ns, err := strconv.ParseFloat(f[2], 64)
					if err != nil {
						b.Fatal(err)
					}
					samples[w] = append(samples[w], ns)
				}
			}
			base := median(samples["unconfined"])
			for _, w := range who {
				m := median(samples[w])
				b.ReportMetric(m, w+"-ns/op")
				if w != "unconfined" {
					b.ReportMetric(100*(m-base)/base, w+"-overhead-%")
				}
			}
			b.ReportMetric(0, "ns/op") // the per-configuration figures above are the result
			for _, w := range who {
				hooks.report(b, kind+"/"+w, float64(len(samples[w])*loops[kind]))
			}
		})
	}
	if c, err := e.Counters(); err == nil && c.EventsLost > 0 {
		b.Logf("%d audit events lost (ring buffer full)", c.EventsLost)
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// hookStats sums the BPF run time and call count of each attached hook over
// the driver runs of each configuration.
type hookStats struct {
	e   *Enforcer
	sum map[string]hookTotal // "kind/config hook"
}

type hookTotal struct {
	ns    float64
	calls uint64
}

func (h *hookStats) reset() {
	if h != nil {
		clear(h.sum)
	}
}

func (h *hookStats) snapshot(b *testing.B) []ebpf.ProgramStats {
	if h == nil {
		return nil
	}
	out := make([]ebpf.ProgramStats, len(h.e.linkProgs))
	for i, p := range h.e.linkProgs {
		s, err := p.Stats()
		if err != nil {
			b.Fatalf("stats of %s: %v", h.e.linkNames[i], err)
		}
		out[i] = *s
	}
	return out
}

func (h *hookStats) add(b *testing.B, config string, before []ebpf.ProgramStats) {
	if h == nil {
		return
	}
	after := h.snapshot(b)
	for i := range after {
		key := config + " " + h.e.linkNames[i]
		t := h.sum[key]
		t.ns += float64(after[i].Runtime - before[i].Runtime)
		t.calls += after[i].RunCount - before[i].RunCount
		h.sum[key] = t
	}
}

// report logs, for each hook that ran, its calls per loop iteration and its
// mean run time per call.
func (h *hookStats) report(b *testing.B, config string, iterations float64) {
	if h == nil {
		return
	}
	var lines []string
	for _, name := range h.e.linkNames {
		t := h.sum[config+" "+name]
		if t.calls == 0 {
			continue
		}
		lines = append(lines, fmt.Sprintf("  %-20s %6.2f calls/iter %8.0f ns/call %8.0f ns/iter",
			name, float64(t.calls)/iterations, t.ns/float64(t.calls), t.ns/iterations))
	}
	b.Logf("%s: BPF run time per hook\n%s", config, strings.Join(lines, "\n"))
}
