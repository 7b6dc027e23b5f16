package check

import (
	"fmt"
	"strings"
	"testing"
)

// generatePolicy writes a profile of n rules in the shapes real policies
// have: literal paths and globs, blocks with scopes and actions, net rules.
func generatePolicy(n int) []byte {
	var b strings.Builder
	b.WriteString("#![profile \"/usr/bin/generated\"]\ninclude <base>\n")
	modes := []string{"read", "read|write", "append", "read|map", "create|delete", "setattr", "read|ioctl"}
	rules := 0
	for blk := 0; rules < n; blk++ {
		switch blk % 4 {
		case 0:
			fmt.Fprintf(&b, "#[func \"handler_%d\"] {\n", blk)
		case 1:
			b.WriteString("#[audit] {\n")
		case 2:
			b.WriteString("#[taint] {\n")
		default:
			b.WriteString("{\n")
		}
		for i := 0; i < 50 && rules < n; i++ {
			switch {
			case blk == 2 && i < 4:
				fmt.Fprintf(&b, "    net(%s, connect|bind)\n", []string{"inet", "inet6", "unix", "netlink"}[i%4])
			case blk%4 == 2:
				fmt.Fprintf(&b, "    fs(\"/var/spool/gen/%d/%d/in-*\", read)\n", blk, i)
			case i%5 == 0:
				fmt.Fprintf(&b, "    fs(\"/srv/gen/b%d/d%d/**\", %s)\n", blk, i, modes[i%len(modes)])
			case i%5 == 1:
				fmt.Fprintf(&b, "    fs(\"/etc/gen/b%d/{a,b,c}%d.conf\", read)\n", blk, i)
			default:
				fmt.Fprintf(&b, "    fs(\"/var/lib/gen/b%d/file%d.dat\", %s)\n", blk, i, modes[i%len(modes)])
			}
			rules++
		}
		b.WriteString("}\n")
	}
	return []byte(b.String())
}

func BenchmarkCheck10000(b *testing.B) {
	src := generatePolicy(10000)
	in := []Input{{Name: "gen.bbx", Src: src}}
	pol, diags := Check(in, Options{})
	if pol == nil {
		b.Fatalf("generated policy has errors: %v", diags[:min(len(diags), 5)])
	}
	nrules := len(pol.Profiles[0].Rules)
	b.SetBytes(int64(len(src)))
	b.ResetTimer()
	for b.Loop() {
		Check(in, Options{})
	}
	b.ReportMetric(float64(nrules)*float64(b.N)/b.Elapsed().Seconds(), "rules/s")
}

// TestGeneratedPolicyIsClean keeps the benchmark honest: it measures a policy
// that checks without diagnostics, the common case.
func TestGeneratedPolicyIsClean(t *testing.T) {
	pol, diags := Check([]Input{{Name: "gen.bbx", Src: generatePolicy(2000)}}, Options{})
	if pol == nil || len(diags) > 0 {
		t.Fatalf("generated policy: %d diagnostics, first: %v", len(diags), diags[:min(len(diags), 3)])
	}
}
