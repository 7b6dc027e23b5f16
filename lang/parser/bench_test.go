package parser

import (
	"fmt"
	"strings"
	"testing"
)

// genPolicy writes a policy with n rules of every kind, in blocks of 10.
func genPolicy(n int) []byte {
	var b strings.Builder
	b.WriteString("#![profile \"/usr/bin/bench\"]\n\n")
	for i := 0; i < n; i++ {
		if i%10 == 0 {
			if i > 0 {
				b.WriteString("}\n\n")
			}
			fmt.Fprintf(&b, "// group %d\n#[func \"fn_%d\"] {\n", i/10, i)
		}
		switch i % 5 {
		case 0:
			fmt.Fprintf(&b, "    fs(\"/srv/data/%d/**\", read|write|create)\n", i)
		case 1:
			fmt.Fprintf(&b, "    net(inet, connect|bind) // %d\n", i)
		case 2:
			fmt.Fprintf(&b, "    signal(child, sigterm|sigkill)\n")
		case 3:
			fmt.Fprintf(&b, "    #[audit]\n    fs(\"/etc/app/%d.conf\", read)\n", i)
		case 4:
			fmt.Fprintf(&b, "    cap(net_bind_service)\n")
		}
	}
	b.WriteString("}\n")
	return []byte(b.String())
}

func BenchmarkParse(b *testing.B) {
	const rules = 10000
	src := genPolicy(rules)
	if _, l := Parse("bench.bbx", src); len(l) > 0 {
		b.Fatalf("generated policy has errors: %v", l)
	}
	b.SetBytes(int64(len(src)))
	b.ResetTimer()
	for b.Loop() {
		Parse("bench.bbx", src)
	}
	b.ReportMetric(float64(rules*b.N)/b.Elapsed().Seconds(), "rules/s")
}

// BenchmarkParseParticiple is the same policy through the participle
// whole-file grammar alone, the reference the fast path is held against.
func BenchmarkParseParticiple(b *testing.B) {
	const rules = 10000
	src := genPolicy(rules)
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if _, ok, _ := parseWith(src, "grammar"); !ok {
			b.Fatal("grammar rejects the generated policy")
		}
	}
	b.ReportMetric(float64(rules*b.N)/b.Elapsed().Seconds(), "rules/s")
}

// BenchmarkParseWithError is the generated policy with one syntax error at
// the top: the whole file goes through the recovery parser.
func BenchmarkParseWithError(b *testing.B) {
	const rules = 10000
	src := append([]byte("fs(\"/oops\" read)\n"), genPolicy(rules)...)
	if _, l := Parse("bench.bbx", src); len(l) != 1 {
		b.Fatalf("want one error, got %v", l)
	}
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		Parse("bench.bbx", src)
	}
	b.ReportMetric(float64(rules*b.N)/b.Elapsed().Seconds(), "rules/s")
}
