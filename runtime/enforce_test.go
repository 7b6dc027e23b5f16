//go:build linux

package runtime

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"

	"github.com/bpfbox/bpfbox/compiler"
	"github.com/bpfbox/bpfbox/compiler/bundle"
	"github.com/bpfbox/bpfbox/compiler/decide"
	"github.com/bpfbox/bpfbox/internal/privileged"
	"github.com/bpfbox/bpfbox/lang/check"
	"github.com/bpfbox/bpfbox/lang/policy"
)

// Scenarios (testdata/scenarios/*.txtar) drive the kernel and compiler/decide
// with the same table, and both must give the expected results.
//
//	-- policy.bbx --   the policy; $EXE is the confined copy of the driver,
//	                   $DIR a fresh directory for the scenario's files
//	-- apply --        (optional) "complain" applies with --complain
//	-- script --       commands, each followed by the output it must print:
//	                   "setup STEPS" runs the driver unconfined before apply,
//	                   "run STEPS" runs $EXE (confined) after apply,
//	                   "outside STEPS" runs the driver unconfined after apply
//	-- events --       the events the kernel must log, in order, one per line
//
// STEPS are bbxdrive steps (testdata/drivers/bbxdrive.c).
func TestScenarios(t *testing.T) {
	privileged.Require(t)
	files, err := filepath.Glob("testdata/scenarios/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txtar"), func(t *testing.T) { runScenario(t, f) })
	}
}

// TestScenariosTransMap runs the path and exec scenarios with the transition
// table in one map element per transition, the layout of bundles too big
// for one map value (the other scenarios use the one-value layout).
func TestScenariosTransMap(t *testing.T) {
	privileged.Require(t)
	saved := maxFlatTrans
	maxFlatTrans = 0
	defer func() { maxFlatTrans = saved }()
	for _, name := range []string{"paths", "exec", "taint"} {
		t.Run(name, func(t *testing.T) { runScenario(t, filepath.Join("testdata/scenarios", name+".txtar")) })
	}
}

type command struct {
	verb  string // setup, run, outside
	steps []string
	want  []string
	line  int
}

func parseScript(t *testing.T, text string) []command {
	var cmds []command
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		switch f[0] {
		case "setup", "run", "outside":
			cmds = append(cmds, command{verb: f[0], steps: f[1:], line: i + 1})
		default:
			if len(cmds) == 0 {
				t.Fatalf("script line %d: output before any command: %q", i+1, line)
			}
			cmds[len(cmds)-1].want = append(cmds[len(cmds)-1].want, line)
		}
	}
	return cmds
}

func driverPath(t testing.TB) string {
	dir := os.Getenv(privileged.EnvDrivers)
	if dir == "" {
		dir = "/opt/bpfbox/drivers"
	}
	p := filepath.Join(dir, "bbxdrive")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("driver: %v", err)
	}
	return p
}

// compileText checks and compiles policy files into a decoded bundle,
// through the same stages as bpfboxc compile.
func compileText(t testing.TB, inputs []check.Input) *bundle.Bundle {
	t.Helper()
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
		t.Fatalf("decode bundle: %v", err)
	}
	return b
}

func runScenario(t *testing.T, file string) {
	ar, err := txtar.ParseFile(file)
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]string{}
	for _, f := range ar.Files {
		sections[f.Name] = string(f.Data)
	}
	dir := t.TempDir()
	exe := filepath.Join(dir, "bin", "confined")
	if err := os.MkdirAll(filepath.Dir(exe), 0o755); err != nil {
		t.Fatal(err)
	}
	drv := driverPath(t)
	data, err := os.ReadFile(drv)
	if err != nil {
		t.Fatal(err)
	}
	// Copies of the driver that policies can name: $EXE and $DIR/bin/NAME.
	for _, name := range []string{"confined", "helper", "plain", "forbidden", "unlisted"} {
		if err := os.WriteFile(filepath.Join(dir, "bin", name), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	expand := func(s string) string {
		return strings.NewReplacer("$EXE", exe, "$DIR", dir).Replace(s)
	}
	var inputs []check.Input
	for _, f := range ar.Files {
		if strings.HasSuffix(f.Name, ".bbx") {
			inputs = append(inputs, check.Input{Name: f.Name, Src: []byte(expand(string(f.Data)))})
		}
	}
	b := compileText(t, inputs)
	opt := Options{Complain: strings.TrimSpace(sections["apply"]) == "complain"}
	plan, err := NewPlan(b, opt)
	if err != nil {
		t.Fatal(err)
	}
	cmds := parseScript(t, expand(sections["script"]))
	run := func(c command, path string) {
		t.Helper()
		out, err := exec.Command(path, c.steps...).CombinedOutput()
		if err != nil {
			t.Errorf("script line %d: %s: %v\n%s", c.line, c.verb, err, out)
		}
		got := strings.Split(strings.TrimSpace(string(out)), "\n")
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("script line %d: %s %s: output (-want +got):\n%s", c.line, c.verb, strings.Join(c.steps, " "), diff)
		}
	}
	for _, c := range cmds {
		if c.verb == "setup" {
			run(c, drv)
		}
	}

	e, err := Apply(b, plan)
	if err != nil {
		t.Fatal(err)
	}
	stop := liveEvents(t, e, func(ev Event) string { return eventLine(ev, dir) })
	for _, c := range cmds {
		switch c.verb {
		case "run":
			run(c, exe)
		case "outside":
			run(c, drv)
		}
	}
	events := stop()
	var want []string
	sc := bufio.NewScanner(strings.NewReader(sections["events"]))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			want = append(want, l)
		}
	}
	if diff := cmp.Diff(want, events); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}

	// compiler/decide must predict (the files exist now) every confined command's output.
	for _, c := range cmds {
		if c.verb == "run" {
			if got := simulate(t, b, opt, exe, c.steps); !cmp.Equal(c.want, got) {
				t.Errorf("script line %d: compiler/decide disagrees with the expected output (-want +decide):\n%s", c.line, cmp.Diff(c.want, got))
			}
		}
	}

	// After Close nothing is enforced any more.
	for _, c := range cmds {
		if c.verb == "run" {
			out, _ := exec.Command(exe, c.steps...).CombinedOutput()
			if bytes.Contains(out, []byte("EPERM")) {
				t.Errorf("after detach, %s still refused:\n%s", strings.Join(c.steps, " "), out)
			}
			break
		}
	}
}

// eventLine renders an event compactly, with the scenario's directory as $DIR
// and without the parts that change from run to run.
func eventLine(ev Event, dir string) string {
	var b strings.Builder
	b.WriteString(ev.Decision)
	if !ev.Enforced {
		b.WriteString("(complain)")
	}
	fmt.Fprintf(&b, " %s", ev.Op)
	if ev.Path != "" {
		fmt.Fprintf(&b, " %s", ev.Path)
	}
	if ev.Requested != "" {
		fmt.Fprintf(&b, " %s", ev.Requested)
	}
	for _, f := range []struct {
		on   bool
		name string
	}{{ev.Taint, "taint"}, {ev.Tainted, "tainted"}, {ev.Audit, "audit"}, {ev.Transition, "transition"}, {ev.Attach, "attach"}} {
		if f.on {
			b.WriteString(" " + f.name)
		}
	}
	if ev.NewProfile != "" && ev.NewProfile != ev.Profile {
		fmt.Fprintf(&b, " ->%s", ev.NewProfile)
	}
	if ev.Rule != "" {
		fmt.Fprintf(&b, " rule=%s", ev.Rule)
	}
	if ev.AuditRule != "" && ev.AuditRule != ev.Rule {
		fmt.Fprintf(&b, " audit=%s", ev.AuditRule)
	}
	if ev.Missing != "" {
		fmt.Fprintf(&b, " missing=%s", ev.Missing)
	}
	return strings.ReplaceAll(b.String(), dir, "$DIR")
}

// simulate predicts the driver's output for steps run as exe, from the
// bundle alone, with compiler/decide. It follows taint and profile through
// the steps (children and threads share or inherit them; taint survives
// exec, from any thread; #[transition] moves to the new executable's
// profile; after a refused exec the process goes on with the next steps).
func simulate(t *testing.T, b *bundle.Bundle, opt Options, exe string, steps []string) []string {
	t.Helper()
	prof, ok := decide.Attach(b, exe)
	if !ok {
		t.Fatalf("simulate: no profile attaches to %s", exe)
	}
	tainted := b.Profiles[prof].Flags&bundle.ProfileTainted != 0
	complain := func() bool { return opt.Complain || b.Profiles[prof].Flags&bundle.ProfileComplain != 0 }
	var out []string
	for _, s := range steps {
		switch {
		case s == "child":
			continue
		case s == "spawn":
			out = append(out, s+" ok")
			continue
		case s == "bpf":
			res := "EPERM"
			if complain() {
				res = "ok"
			}
			out = append(out, s+" "+res)
			continue
		case strings.HasPrefix(s, "exec:") || strings.HasPrefix(s, "thread:exec:"):
			// from any thread: the exec'ing thread takes over the process
			path := strings.TrimPrefix(strings.TrimPrefix(s, "thread:"), "exec:")
			d, err := decide.Decide(b, decide.Request{Profile: prof, Kind: policy.FS, Path: path,
				Modes: uint64(policy.FSExec), Tainted: tainted, Complain: opt.Complain})
			if err != nil {
				t.Fatal(err)
			}
			if !d.Allow {
				// the driver goes on with the steps in this process
				out = append(out, s+" EPERM")
				continue
			}
			tainted = tainted || d.Taints
			if d.Transition && d.TransitionProfile != decide.None {
				prof = d.TransitionProfile
				tainted = tainted || b.Profiles[prof].Flags&bundle.ProfileTainted != 0
			}
			continue
		}
		if checks, ok := pathChecks(s); ok {
			res := "ok"
			for _, c := range checks {
				d, err := decide.Decide(b, decide.Request{Profile: prof, Kind: policy.FS, Path: c.path,
					Modes: uint64(c.mode), Tainted: tainted, Complain: opt.Complain})
				if err != nil {
					t.Fatal(err)
				}
				tainted = tainted || d.Taints
				if !d.Allow {
					res = "EPERM"
				}
			}
			out = append(out, s+" "+res)
			continue
		}
		if verb, path, ok := strings.Cut(s, ":"); ok && (verb == "mmapx" || verb == "mprotectx" || verb == "ioctl") {
			// open for read, then map executable or ioctl: two decisions
			second := policy.FSMap
			if verb == "ioctl" {
				second = policy.FSIoctl
			}
			res := "ok"
			for _, m := range []policy.FSMode{policy.FSRead, second} {
				d, err := decide.Decide(b, decide.Request{Profile: prof, Kind: policy.FS, Path: path,
					Modes: uint64(m), Tainted: tainted, Complain: opt.Complain})
				if err != nil {
					t.Fatal(err)
				}
				tainted = tainted || d.Taints
				if !d.Allow {
					res = "EPERM"
					break
				}
			}
			out = append(out, s+" "+res)
			continue
		}
		open := strings.TrimPrefix(s, "thread:")
		path, modes, ok := parseOpen(open)
		if !ok {
			t.Fatalf("simulate: step %q is not an open, exec, child or bpf", s)
		}
		resolved, err := filepath.EvalSymlinks(path)
		if err != nil {
			resolved = path // created by the open itself
		}
		d, err := decide.Decide(b, decide.Request{Profile: prof, Kind: policy.FS, Path: resolved,
			Modes: uint64(modes), Tainted: tainted, Complain: opt.Complain})
		if err != nil {
			t.Fatal(err)
		}
		if d.Taints {
			tainted = true
		}
		res := "ok"
		if !d.Allow {
			res = "EPERM"
		} else if _, err := os.Stat(resolved); err != nil && !strings.HasSuffix(open, ":c") {
			res = "ENOENT"
		}
		out = append(out, s+" "+res)
	}
	return out
}

func parseOpen(s string) (string, policy.FSMode, bool) {
	rest, ok := strings.CutPrefix(s, "open:")
	if !ok {
		return "", 0, false
	}
	i := strings.LastIndexByte(rest, ':')
	if i < 0 {
		return "", 0, false
	}
	switch rest[i+1:] {
	case "r":
		return rest[:i], policy.FSRead, true
	case "w", "c":
		return rest[:i], policy.FSWrite, true
	case "rw":
		return rest[:i], policy.FSRead | policy.FSWrite, true
	case "a":
		return rest[:i], policy.FSAppend, true
	}
	return "", 0, false
}

type pathCheck struct {
	path string
	mode policy.FSMode
}

// pathChecks lists the decisions the kernel makes for a driver step on names
// (create, delete, rename, link, setattr), or false for other steps. The
// path of a name is its resolved directory plus its last component.
func pathChecks(step string) ([]pathCheck, bool) {
	verb, arg, _ := strings.Cut(step, ":")
	name := func(p string) string {
		dir, err := filepath.EvalSymlinks(filepath.Dir(p))
		if err != nil {
			dir = filepath.Dir(p)
		}
		return filepath.Join(dir, filepath.Base(p))
	}
	two := func() (string, string) {
		a, b, _ := strings.Cut(arg, ":")
		return name(a), name(b)
	}
	switch verb {
	case "mkdir", "mknod":
		return []pathCheck{{name(arg), policy.FSCreate}}, true
	case "symlink":
		_, l := two()
		return []pathCheck{{l, policy.FSCreate}}, true
	case "unlink", "rmdir":
		return []pathCheck{{name(arg), policy.FSDelete}}, true
	case "rename":
		o, n := two()
		return []pathCheck{{o, policy.FSRename}, {n, policy.FSCreate}}, true
	case "link":
		o, n := two()
		return []pathCheck{{o, policy.FSLink}, {n, policy.FSCreate}}, true
	case "chmod", "truncate":
		p, err := filepath.EvalSymlinks(arg)
		if err != nil {
			p = arg
		}
		return []pathCheck{{p, policy.FSSetattr}}, true
	}
	return nil, false
}
