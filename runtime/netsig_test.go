//go:build linux

package runtime

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"

	"github.com/bpfbox/bpfbox/compiler/bundle"
	"github.com/bpfbox/bpfbox/compiler/decide"
	"github.com/bpfbox/bpfbox/internal/privileged"
	"github.com/bpfbox/bpfbox/lang/check"
)

// Net, signal, ptrace and cap scenarios (testdata/netsig/*.txtar) drive the
// kernel and compiler/decide with the same table, as TestScenarios does for
// fs. The driver is bbxnet (testdata/drivers/bbxnet.c).
//
//	-- policy.bbx --   $EXE is the confined copy of the driver; $DIR/bin/NAME
//	                   are copies named helper, plain, other
//	-- script --       "spawn NAME" starts $DIR/bin/NAME (after apply, so a
//	                   profile may attach to it) blocked in the step "wait";
//	                   its pid is $PID_NAME from then on, and a signal or
//	                   ptrace step aimed at it is decided against that
//	                   executable's profile. "run STEPS" runs $EXE
//	                   ("run @NAME STEPS": $DIR/bin/NAME), followed by the
//	                   output it must print.
//	-- events --       the events the kernel must log, in order
//
// Every "run" is also predicted step by step from the bundle alone: each step
// becomes the requests the kernel decides for it, written as lines of
// `bpfboxc explain --requests` and decided by compiler/decide.
func TestNetSig(t *testing.T) {
	privileged.Require(t)
	files, err := filepath.Glob("testdata/netsig/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txtar"), func(t *testing.T) { runNetSig(t, f) })
	}
}

type nsCommand struct {
	verb string // run, spawn
	exe  string // run: the program
	args []string
	want []string
	line int
}

func parseNetSigScript(t *testing.T, text string) []nsCommand {
	var cmds []nsCommand
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		switch f[0] {
		case "run", "spawn":
			cmds = append(cmds, nsCommand{verb: f[0], args: f[1:], line: i + 1})
		default:
			if len(cmds) == 0 || cmds[len(cmds)-1].verb != "run" {
				t.Fatalf("script line %d: output outside a run: %q", i+1, line)
			}
			cmds[len(cmds)-1].want = append(cmds[len(cmds)-1].want, line)
		}
	}
	return cmds
}

func runNetSig(t *testing.T, file string) {
	ar, err := txtar.ParseFile(file)
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]string{}
	for _, f := range ar.Files {
		sections[f.Name] = string(f.Data)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(privileged.Driver(t, "bbxnet"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"confined", "helper", "plain", "other"} {
		if err := os.WriteFile(filepath.Join(bin, name), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	exe := filepath.Join(bin, "confined")
	vars := []string{"$EXE", exe, "$DIR", dir}
	expand := func(s string) string { return strings.NewReplacer(vars...).Replace(s) }
	var inputs []check.Input
	for _, f := range ar.Files {
		if strings.HasSuffix(f.Name, ".bbx") {
			inputs = append(inputs, check.Input{Name: f.Name, Src: []byte(expand(string(f.Data)))})
		}
	}
	b := compileText(t, inputs)
	plan, err := NewPlan(b, Options{})
	if err != nil {
		t.Fatal(err)
	}
	cmds := parseNetSigScript(t, sections["script"])

	e, err := Apply(b, plan)
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu       sync.Mutex
		pidNames = map[uint32]string{} // spawned processes, for event lines
	)
	stop := liveEvents(t, e, func(ev Event) string {
		mu.Lock()
		defer mu.Unlock()
		return netSigEventLine(ev, dir, pidNames)
	})
	spawned := map[string]string{} // pid → executable
	var waiters []*exec.Cmd
	defer func() {
		for _, c := range waiters {
			c.Process.Kill()
			c.Wait()
		}
	}()
	var runs []nsCommand
	for _, c := range cmds {
		switch c.verb {
		case "spawn":
			path := filepath.Join(bin, c.args[0])
			cmd := exec.Command(path, "wait")
			if _, err := cmd.StdinPipe(); err != nil { // closed when the test ends
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatalf("script line %d: spawn: %v", c.line, err)
			}
			waiters = append(waiters, cmd)
			pid := strconv.Itoa(cmd.Process.Pid)
			spawned[pid] = path
			mu.Lock()
			pidNames[uint32(cmd.Process.Pid)] = c.args[0]
			mu.Unlock()
			vars = append(vars, "$PID_"+c.args[0], pid)
		case "run":
			c.exe = exe
			if len(c.args) > 0 && strings.HasPrefix(c.args[0], "@") {
				c.exe, c.args = filepath.Join(bin, c.args[0][1:]), c.args[1:]
			}
			c.args = strings.Fields(expand(strings.Join(c.args, " ")))
			for i := range c.want {
				c.want[i] = expand(c.want[i])
			}
			out, err := exec.Command(c.exe, c.args...).CombinedOutput()
			if err != nil {
				t.Errorf("script line %d: run: %v\n%s", c.line, err, out)
			}
			got := strings.Split(strings.TrimSpace(string(out)), "\n")
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("script line %d: run %s: output (-want +got):\n%s", c.line, strings.Join(c.args, " "), diff)
			}
			runs = append(runs, c)
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

	// compiler/decide must predict every run's output.
	for _, c := range runs {
		got, err := simulateNetSig(b, c.exe, c.args, spawned)
		if err != nil {
			t.Errorf("script line %d: %v", c.line, err)
			continue
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("script line %d: compiler/decide disagrees with the expected output (-want +decide):\n%s", c.line, diff)
		}
	}
}

// netSigEventLine renders an event like eventLine, with the family and the
// target (a spawned process by name, any other as "target").
func netSigEventLine(ev Event, dir string, pids map[uint32]string) string {
	line := eventLine(ev, dir)
	var obj string
	if ev.Family != "" {
		obj += " " + ev.Family
	}
	if ev.TargetPID != 0 {
		if name, ok := pids[ev.TargetPID]; ok {
			obj += " target=" + name
		} else {
			obj += " target"
		}
	}
	// after "decision op": "allow net inet bind …"
	f := strings.SplitN(line, " ", 3)
	if len(f) < 3 {
		return line + obj
	}
	return f[0] + " " + f[1] + obj + " " + f[2]
}

// nsRequest is one request a step makes: a line of explain --requests after
// EXE (and before the taint flag), whether a forked child makes it (its
// taint then stays in the child), and the errno the step reports when the
// request is denied.
type nsRequest struct {
	line    string
	byChild bool
	errno   string
}

// stepRequests lists what the kernel decides for one bbxnet step, in order,
// including what the kernel checks on its own: CAP_NET_RAW for a packet or
// XDP socket, CAP_NET_BIND_SERVICE for a port below 1024, the open of
// /proc/PID/environ before its ptrace read check.
func stepRequests(step string, families map[string]string, spawned map[string]string) ([]nsRequest, error) {
	f := strings.SplitN(step, ":", 3)
	bad := fmt.Errorf("simulate: step %q is not modelled", step)
	fam := func() string {
		if len(f) < 2 {
			return ""
		}
		return families[f[1]]
	}
	net := func(op string) []nsRequest { return []nsRequest{{line: "net " + fam() + " " + op, errno: "EPERM"}} }
	switch f[0] {
	case "socket":
		g := strings.Split(step, ":")
		if len(g) != 4 {
			return nil, bad
		}
		fam := g[2]
		if _, err := strconv.Atoi(fam); err == nil {
			fam = "other" // a family no rule names (the driver takes its number)
		}
		families[g[1]] = fam
		r := []nsRequest{{line: "net " + fam + " create", errno: "EPERM"}}
		if g[2] == "packet" || g[2] == "44" { // AF_PACKET, AF_XDP
			r = append(r, nsRequest{line: "cap net_raw", errno: "EPERM"})
		}
		return r, nil
	case "bind":
		r := net("bind")
		if len(f) == 3 && (fam() == "inet" || fam() == "inet6") {
			i := strings.LastIndexByte(f[2], ':')
			if port, err := strconv.Atoi(f[2][i+1:]); err == nil && port > 0 && port < 1024 {
				r = append(r, nsRequest{line: "cap net_bind_service", errno: "EACCES"})
			}
		}
		return r, nil
	case "connect", "listen", "send", "recv", "shutdown":
		return net(f[0]), nil
	case "accept":
		g := strings.Split(step, ":")
		if len(g) != 3 {
			return nil, bad
		}
		families[g[2]] = families[g[1]]
		return net("accept"), nil
	case "close":
		return nil, nil
	case "kill":
		if len(f) != 3 {
			return nil, bad
		}
		sig := f[2]
		if sig != "check" {
			sig = "sig" + sig
		}
		target, byChild := f[1], false
		switch target {
		case "self", "child":
		case "parent":
			byChild = true // a forked child signals this process
		default:
			if path, ok := spawned[target]; ok {
				target = path
			} else {
				target = "other"
			}
		}
		return []nsRequest{{line: "signal " + sig + " " + target, byChild: byChild, errno: "EPERM"}}, nil
	case "ptrace":
		if step == "ptrace:traceme" {
			// decided as this process's request to attach to its child
			return []nsRequest{{line: "ptrace attach child", errno: "EPERM"}}, nil
		}
		if len(f) != 3 {
			return nil, bad
		}
		target, pid := f[2], f[2]
		if path, ok := spawned[target]; ok {
			target = path
		} else if target == "child" {
			pid = "1" // any pid: the policies match /proc/*/environ
		} else {
			target = "other"
		}
		var r []nsRequest
		if f[1] == "read" {
			r = append(r, nsRequest{line: "fs /proc/" + pid + "/environ read", errno: "EPERM"})
		}
		// proc reports a refused ptrace read check as EACCES
		errno := map[string]string{"read": "EACCES", "attach": "EPERM"}[f[1]]
		return append(r, nsRequest{line: "ptrace " + f[1] + " " + target, errno: errno}), nil
	case "cap":
		if len(f) != 2 {
			return nil, bad
		}
		errno := "EPERM"
		if f[1] == "sys_nice" {
			errno = "EACCES"
		}
		return []nsRequest{{line: "cap " + f[1], byChild: true, errno: errno}}, nil
	}
	return nil, bad
}

// simulateNetSig predicts bbxnet's output for steps run as exe with
// compiler/decide, following the process's taint.
func simulateNetSig(b *bundle.Bundle, exe string, steps []string, spawned map[string]string) ([]string, error) {
	prof, ok := decide.Attach(b, exe)
	if !ok {
		return nil, fmt.Errorf("simulate: no profile attaches to %s", exe)
	}
	tainted := b.Profiles[prof].Flags&bundle.ProfileTainted != 0
	families := map[string]string{}
	var out []string
	for _, s := range steps {
		reqs, err := stepRequests(s, families, spawned)
		if err != nil {
			return nil, err
		}
		res := "ok"
		childTainted := tainted
		for _, rq := range reqs {
			line := exe + " " + rq.line
			t := &tainted
			if rq.byChild {
				t = &childTainted
			}
			if *t {
				line += " tainted"
			}
			r, err := decide.ParseRequest(b, line)
			if err != nil {
				return nil, err
			}
			d, err := decide.Decide(b, r)
			if err != nil {
				return nil, err
			}
			if d.Taints {
				*t = true
			}
			if !d.Allow {
				res = rq.errno
				break
			}
		}
		out = append(out, s+" "+res)
	}
	return out, nil
}

// TestNetSigDecide checks, without a kernel, that compiler/decide predicts
// the expected output of every run of the netsig scenarios (spawned
// processes get made-up pids).
func TestNetSigDecide(t *testing.T) {
	files, err := filepath.Glob("testdata/netsig/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			dir := "/nonexistent/netsig"
			bin := dir + "/bin"
			vars := []string{"$EXE", bin + "/confined", "$DIR", dir}
			expand := func(s string) string { return strings.NewReplacer(vars...).Replace(s) }
			var inputs []check.Input
			var script string
			for _, f := range ar.Files {
				if strings.HasSuffix(f.Name, ".bbx") {
					inputs = append(inputs, check.Input{Name: f.Name, Src: []byte(expand(string(f.Data)))})
				}
				if f.Name == "script" {
					script = string(f.Data)
				}
			}
			b := compileText(t, inputs)
			spawned := map[string]string{}
			for i, c := range parseNetSigScript(t, script) {
				switch c.verb {
				case "spawn":
					pid := strconv.Itoa(100001 + i)
					spawned[pid] = bin + "/" + c.args[0]
					vars = append(vars, "$PID_"+c.args[0], pid)
				case "run":
					exe := bin + "/confined"
					if len(c.args) > 0 && strings.HasPrefix(c.args[0], "@") {
						exe, c.args = bin+"/"+c.args[0][1:], c.args[1:]
					}
					args := strings.Fields(expand(strings.Join(c.args, " ")))
					var want []string
					for _, w := range c.want {
						want = append(want, expand(w))
					}
					got, err := simulateNetSig(b, exe, args, spawned)
					if err != nil {
						t.Fatalf("script line %d: %v", c.line, err)
					}
					if diff := cmp.Diff(want, got); diff != "" {
						t.Errorf("script line %d: compiler/decide disagrees with the expected output (-want +decide):\n%s", c.line, diff)
					}
				}
			}
		})
	}
}
