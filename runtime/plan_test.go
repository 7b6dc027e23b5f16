package runtime

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"github.com/bpfbox/bpfbox/compiler"
	"github.com/bpfbox/bpfbox/compiler/bundle"
	"github.com/bpfbox/bpfbox/compiler/decide"
	"github.com/bpfbox/bpfbox/lang/check"
	"github.com/bpfbox/bpfbox/lang/policy"
)

// compileFiles compiles the .bbx files of an archive into a decoded bundle,
// as bpfboxc compile does.
func compileFiles(t *testing.T, ar *txtar.Archive) *bundle.Bundle {
	t.Helper()
	var inputs []check.Input
	for _, f := range ar.Files {
		if strings.HasSuffix(f.Name, ".bbx") {
			inputs = append(inputs, check.Input{Name: f.Name, Src: f.Data})
		}
	}
	pol, diags := check.Check(inputs, check.Options{ReadFile: os.ReadFile})
	if diags.HasErrors() {
		t.Fatalf("check:\n%v", diags)
	}
	data, err := compiler.Compile(pol)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	b, err := bundle.Decode(data)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return b
}

// kernelWalk runs DFA id of the plan over path exactly as enforce.bpf.c's
// run() does over the flattened maps, and returns the accept entry (ok false
// when the path is not accepted).
//
// The kernel walks one of two layouts of the same table: one map element per
// transition (trans), or the whole table in one value, padded to a power of
// two and indexed through its mask (trans_flat). Both are walked here, and
// must agree.
func kernelWalk(p *Plan, id uint32, path string) (first, count uint32, ok bool) {
	flat, mask, fits := p.FlatTrans()
	if !fits {
		panic("test plan too big for trans_flat")
	}
	step := map[string]func(key uint32) (uint32, bool){
		"trans": func(key uint32) (uint32, bool) {
			if int(key) >= len(p.Trans) {
				return 0, false
			}
			return p.Trans[key], true
		},
		"trans_flat": func(key uint32) (uint32, bool) { return flat[key&mask], true },
	}
	var results [][3]uint32
	for _, layout := range []string{"trans", "trans_flat"} {
		first, count, ok := walkLayout(p, id, path, step[layout])
		okBit := uint32(0)
		if ok {
			okBit = 1
		}
		results = append(results, [3]uint32{first, count, okBit})
	}
	if results[0] != results[1] {
		panic(fmt.Sprintf("DFA %d over %q: trans gives %v, trans_flat %v", id, path, results[0], results[1]))
	}
	return results[0][0], results[0][1], results[0][2] == 1
}

func walkLayout(p *Plan, id uint32, path string, step func(key uint32) (uint32, bool)) (first, count uint32, ok bool) {
	d := p.DFAs[id]
	cls := p.Classes[id].Class
	s := d.Start
	for i := 0; i < len(path); i++ {
		next, ok := step(d.TransOff + s*d.NumClasses + uint32(cls[path[i]]))
		if !ok {
			return 0, 0, false
		}
		s = next
		if s == d.Dead {
			break
		}
	}
	if s == d.Dead || s >= d.NumStates {
		return 0, 0, false
	}
	a := p.Accepts[d.AcceptOff+s]
	return a.First, a.Count, a.Count != 0
}

func TestFlatTrans(t *testing.T) {
	for _, tc := range []struct {
		n        int
		wantLen  int
		wantFits bool
	}{
		{1, 1, true}, {2, 2, true}, {3, 4, true}, {1000, 1024, true},
		{maxFlatTrans, maxFlatTrans, true}, {maxFlatTrans + 1, 0, false},
	} {
		p := &Plan{Trans: make([]uint32, tc.n)}
		for i := range p.Trans {
			p.Trans[i] = uint32(i + 1)
		}
		flat, mask, ok := p.FlatTrans()
		if ok != tc.wantFits || len(flat) != tc.wantLen {
			t.Errorf("%d transitions: got %d entries, fits %v; want %d, %v", tc.n, len(flat), ok, tc.wantLen, tc.wantFits)
			continue
		}
		if !ok {
			continue
		}
		if int(mask) != len(flat)-1 || len(flat)&(len(flat)-1) != 0 {
			t.Errorf("%d transitions: mask %#x for %d entries", tc.n, mask, len(flat))
		}
		for i, v := range flat {
			want := uint32(0)
			if i < tc.n {
				want = uint32(i + 1)
			}
			if v != want {
				t.Fatalf("%d transitions: flat[%d] = %d, want %d", tc.n, i, v, want)
			}
		}
	}
}

// TestPlanGolden renders the plan of each testdata/plan/*.txtar policy and
// compares it with the archive's "plan" file (BPFBOX_UPDATE=1 rewrites it).
// The "paths" file lists paths whose kernel walk over the flattened maps must
// give the entries compiler/decide walks to.
func TestPlanGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/plan/*.txtar")
	if len(files) == 0 {
		t.Fatal("no testdata/plan/*.txtar")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			b := compileFiles(t, ar)
			opt := Options{}
			var paths []string
			for _, f := range ar.Files {
				switch f.Name {
				case "complain":
					opt.Complain = true
				case "paths":
					paths = strings.Fields(string(f.Data))
				}
			}
			p, err := NewPlan(b, opt)
			if err != nil {
				// an archive with an "error" file expects NewPlan to refuse
				updateOrCompare(t, file, ar, "error", err.Error()+"\n")
				return
			}
			got := renderPlan(p)
			for _, path := range paths {
				got += checkPath(t, b, p, path)
			}
			updateOrCompare(t, file, ar, "plan", got)
		})
	}
}

func checkPath(t *testing.T, b *bundle.Bundle, p *Plan, path string) string {
	var out strings.Builder
	prof, attached := decide.Attach(b, path)
	first, _, ok := kernelWalk(p, p.Config.ExecDfa, path)
	if ok != attached || ok && first != prof {
		t.Errorf("exec walk of %s: kernel (%d, %v), decide (%d, %v)", path, first, ok, prof, attached)
	}
	if attached {
		fmt.Fprintf(&out, "attach %s -> profile %d\n", path, prof)
	}
	for i, pr := range b.Profiles {
		df := &b.DFAs[pr.FSDFA]
		want := df.Accept[df.Walk(path)]
		first, count, _ := kernelWalk(p, p.Profiles[i].FsDfa, path)
		if first != want.First && count != 0 || count != want.Count {
			t.Errorf("profile %d: fs walk of %s: kernel entries [%d,+%d), bundle [%d,+%d)", i, path, first, count, want.First, want.Count)
		}
		if count > 0 {
			fmt.Fprintf(&out, "profile %d: %s -> entries [%d,+%d)\n", i, path, first, count)
		}
	}
	return out.String()
}

func renderPlan(p *Plan) string {
	var b strings.Builder
	fmt.Fprintf(&b, "config exec_dfa=%d flags=%d profiles=%d\n", p.Config.ExecDfa, p.Config.Flags, p.Config.NumProfiles)
	for i, pr := range p.Profiles {
		fmt.Fprintf(&b, "profile %d fs_dfa=%d flags=%d watch=%s", i, pr.FsDfa, pr.Flags, policy.FSMode(pr.Watch))
		for _, r := range []struct {
			name         string
			first, count uint32
		}{{"net", pr.NetFirst, pr.NetCount}, {"signal", pr.SignalFirst, pr.SignalCount},
			{"ptrace", pr.PtraceFirst, pr.PtraceCount}, {"cap", pr.CapFirst, pr.CapCount}} {
			if r.count != 0 {
				fmt.Fprintf(&b, " %s=[%d,+%d)", r.name, r.first, r.count)
			}
		}
		b.WriteByte('\n')
	}
	for i, d := range p.DFAs {
		dead := fmt.Sprint(d.Dead)
		if d.Dead == noneIdx {
			dead = "none"
		}
		fmt.Fprintf(&b, "dfa %d trans_off=%d classes=%d states=%d start=%d dead=%s accept_off=%d\n",
			i, d.TransOff, d.NumClasses, d.NumStates, d.Start, dead, d.AcceptOff)
	}
	fmt.Fprintf(&b, "trans %d cells, accepts %d\n", len(p.Trans), len(p.Accepts))
	for i, e := range p.Entries {
		fmt.Fprintf(&b, "entry %d rule=%d scope=%d action=%d flags=%d modes=%#x", i, e.Rule, e.Scope, e.Action, e.Flags, e.Modes)
		if e.Arg != 0 {
			fmt.Fprintf(&b, " arg=%d", e.Arg)
		}
		if e.Target != noneIdx {
			fmt.Fprintf(&b, " target=%d", e.Target)
		}
		b.WriteByte('\n')
	}
	for _, s := range p.Scopes {
		fmt.Fprintf(&b, "scope %d %s rule=%s\n", s.ID, s, s.Rule)
	}
	for _, w := range p.Warnings {
		fmt.Fprintf(&b, "warning %s\n", w)
	}
	return b.String()
}

func updateOrCompare(t *testing.T, file string, ar *txtar.Archive, name, got string) {
	t.Helper()
	for i := range ar.Files {
		if ar.Files[i].Name != name {
			continue
		}
		if os.Getenv("BPFBOX_UPDATE") != "" {
			ar.Files[i].Data = []byte(got)
			if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		if want := string(ar.Files[i].Data); want != got {
			t.Errorf("%s: %s differs (BPFBOX_UPDATE=1 rewrites it)\n--- want\n%s--- got\n%s", file, name, want, got)
		}
		return
	}
	if os.Getenv("BPFBOX_UPDATE") != "" {
		ar.Files = append(ar.Files, txtar.File{Name: name, Data: []byte(got)})
		if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s: no %q file (BPFBOX_UPDATE=1 adds it)", file, name)
}
