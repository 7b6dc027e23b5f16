//go:build linux

package runtime

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/bpfbox/bpfbox/compiler"
	"github.com/bpfbox/bpfbox/compiler/bundle"
	"github.com/bpfbox/bpfbox/internal/privileged"
	"github.com/bpfbox/bpfbox/lang/check"
)

func compilePolicy(t testing.TB, src string) *bundle.Bundle {
	t.Helper()
	pol, diags := check.Check([]check.Input{{Name: "p.bbx", Src: []byte(src)}}, check.Options{})
	if diags.HasErrors() {
		t.Fatalf("check:\n%v", diags)
	}
	data, err := compiler.Compile(pol)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPlanTooManyScopes: the kernel counts 64 scopes per thread; a bundle
// with more is refused by the plan.
func TestPlanTooManyScopes(t *testing.T) {
	var src strings.Builder
	src.WriteString("#![profile \"/usr/bin/many\"]\n")
	for i := 0; i <= MaxScopes; i++ {
		fmt.Fprintf(&src, "#[func \"f%d\"] fs(\"/f%d\", read)\n", i, i)
	}
	_, err := NewPlan(compilePolicy(t, src.String()), Options{})
	want := fmt.Sprintf("plan bundle: %d function scopes (#[func], #[kfunc]); the kernel programs count at most %d per thread", MaxScopes+1, MaxScopes)
	if err == nil || err.Error() != want {
		t.Errorf("NewPlan: %v, want %q", err, want)
	}
}

// TestScopeRefusals: apply refuses, before loading anything, scopes it
// cannot probe, naming the rule and the reason.
func TestScopeRefusals(t *testing.T) {
	privileged.Require(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	login := privileged.Driver(t, "bbxlogin")
	for _, c := range []struct {
		name, policy, want string
	}{
		{"go program", fmt.Sprintf("#![profile %q]\n#[func \"main.main\"] fs(\"/etc/x\", read)\n", self),
			"p.bbx:2:21: #[func \"main.main\" in \"" + self + "\"]: " + self + " is a Go program: uretprobes replace return addresses"},
		{"absent symbol", fmt.Sprintf("#![profile %q]\n#[func \"no_such_function\"] fs(\"/etc/x\", read)\n", login),
			"p.bbx:2:28: #[func \"no_such_function\" in \"" + login + "\"]: " + login + " has no function no_such_function"},
		{"absent library", "#![profile \"/usr/bin/x\"]\n#[func \"f\" in \"/no/such/lib.so\"] fs(\"/etc/x\", read)\n",
			"p.bbx:2:34: #[func \"f\" in \"/no/such/lib.so\"]: open /no/such/lib.so: no such file or directory"},
		{"absent kfunc", "#![profile \"/usr/bin/x\"]\n#[kfunc \"bpfbox_no_such_kfunc\"] fs(\"/etc/x\", read)\n",
			"p.bbx:2:33: #[kfunc \"bpfbox_no_such_kfunc\"]: kernel function bpfbox_no_such_kfunc is not in this kernel's BTF"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := compilePolicy(t, c.policy)
			plan, err := NewPlan(b, Options{})
			if err != nil {
				t.Fatal(err)
			}
			e, err := Apply(b, plan)
			if err == nil {
				e.Close()
				t.Fatalf("Apply succeeded, want %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("Apply: %v\nwant it to contain %q", err, c.want)
			}
		})
	}
}
