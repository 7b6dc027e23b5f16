//go:build linux

package runtime

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"

	"github.com/bpfbox/bpfbox/compiler"
	"github.com/bpfbox/bpfbox/compiler/bundle"
	"github.com/bpfbox/bpfbox/compiler/decide"
	"github.com/bpfbox/bpfbox/internal/privileged"
	"github.com/bpfbox/bpfbox/lang/check"
	"github.com/bpfbox/bpfbox/lang/policy"
)

// Scope scenarios (testdata/scopes/*.txtar) run the bbxlogin driver
// (testdata/drivers/bbxlogin.c) confined by a policy with #[func] and #[kfunc]
// scopes, and check its output against the kernel, the events the kernel
// logs, and compiler/decide (what `bpfboxc explain --func/--kfunc` says),
// which must predict every output line from the bundle alone.
//
//	-- policy.bbx --   $EXE is the confined copy of bbxlogin, $DIR a fresh directory
//	-- script --       "setup ARGS" runs bbxlogin unconfined before apply, "run ARGS"
//	                   runs $EXE after apply; each is followed by the lines it prints
//	-- events --       the events the kernel logs, in order
func TestScopeScenarios(t *testing.T) {
	privileged.Require(t)
	files, err := filepath.Glob("testdata/scopes/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scope scenarios: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txtar"), func(t *testing.T) { runScopeScenario(t, f) })
	}
}

// confinedCopy copies driver name to DIR/bin/confined and returns DIR and the copy.
func confinedCopy(t testing.TB, name string) (dir, exe string) {
	t.Helper()
	dir = t.TempDir()
	exe = filepath.Join(dir, "bin", "confined")
	data, err := os.ReadFile(privileged.Driver(t, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(exe), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir, exe
}

// liveEvents renders every event e logs with line until stop is called;
// stop closes e, fails t when the kernel lost events or scope entries, and
// returns the lines in the order the kernel logged them.
func liveEvents(t *testing.T, e *Enforcer, line func(Event) string) (stop func() []string) {
	var (
		mu     sync.Mutex
		events []string
		done   = make(chan struct{})
	)
	go func() {
		defer close(done)
		for {
			ev, err := e.ReadEvent()
			if err != nil {
				if !errors.Is(err, os.ErrClosed) {
					t.Errorf("read event: %v", err)
				}
				return
			}
			mu.Lock()
			events = append(events, line(ev))
			mu.Unlock()
		}
	}()
	return func() []string {
		time.Sleep(100 * time.Millisecond) // let the reader drain the ring buffer
		c, err := e.Counters()
		if err != nil {
			t.Error(err)
		}
		lost, err := e.ScopeEntriesLost()
		if err != nil {
			t.Error(err)
		}
		if err := e.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		<-done
		if c.EventsLost != 0 || lost != 0 {
			t.Errorf("%d events lost, %d scope entries not counted", c.EventsLost, lost)
		}
		return events
	}
}

func runScopeScenario(t *testing.T, file string) {
	ar, err := txtar.ParseFile(file)
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]string{}
	for _, f := range ar.Files {
		sections[f.Name] = string(f.Data)
	}
	dir, exe := confinedCopy(t, "bbxlogin")
	drv := privileged.Driver(t, "bbxlogin")
	expand := strings.NewReplacer("$EXE", exe, "$DIR", dir).Replace
	pol, diags := check.Check([]check.Input{{Name: "policy.bbx", Src: []byte(expand(sections["policy.bbx"]))}}, check.Options{})
	if diags.HasErrors() {
		t.Fatalf("check:\n%v", diags)
	}
	data, err := compiler.Compile(pol)
	if err != nil {
		t.Fatal(err)
	}
	bundlePath := filepath.Join(dir, "policy.bundle")
	if err := os.WriteFile(bundlePath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := NewPlan(b, Options{})
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
	for _, l := range strings.Split(sections["events"], "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			want = append(want, l)
		}
	}
	if diff := cmp.Diff(want, events); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	var requests, kernel []string
	for _, c := range cmds {
		if c.verb == "run" {
			got, reqs, err := simulateLogin(b, exe, c.steps)
			if err != nil {
				t.Fatalf("script line %d: simulate: %v", c.line, err)
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("script line %d: compiler/decide disagrees with the expected output (-want +decide):\n%s", c.line, diff)
			}
			requests = append(requests, reqs...)
			kernel = append(kernel, c.want...)
		}
	}
	explainAgrees(t, bundlePath, requests, kernel)
}

// explainAgrees runs `bpfboxc explain --requests` over the requests the
// simulation made (one per open, with func=/kfunc= for the functions the
// thread was inside) and checks that each decision is what the kernel did.
func explainAgrees(t *testing.T, bundlePath string, requests, kernel []string) {
	t.Helper()
	if len(requests) != len(kernel) {
		t.Fatalf("%d requests for %d kernel results", len(requests), len(kernel))
	}
	cmd := exec.Command("bpfboxc", "explain", bundlePath, "--requests", "-")
	cmd.Stdin = strings.NewReader(strings.Join(requests, "\n") + "\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bpfboxc explain --requests: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2*len(requests) {
		t.Fatalf("bpfboxc explain --requests: %d lines for %d requests:\n%s", len(lines), len(requests), out)
	}
	for i, req := range requests {
		decision := strings.Fields(lines[2*i+1])[0]
		res := kernel[i][strings.LastIndexByte(kernel[i], ' ')+1:]
		want := map[string]string{"ok": "allow", "ENOENT": "allow", "EPERM": "deny"}[res]
		if decision != want {
			t.Errorf("explain %s: %s, the kernel said %s", req, lines[2*i+1], res)
		}
	}
}

// Kernel functions each bbxlogin open runs inside (x86-64 syscall entry
// points and what they call): the facts #[kfunc] scenarios rely on.
var loginKFuncs = map[string][]string{
	"open":    {"__x64_sys_openat", "do_sys_openat2"},
	"openat2": {"__x64_sys_openat2", "do_sys_openat2"},
}

// simulateLogin predicts bbxlogin's output for args run as exe from the
// bundle alone: the same grammar as the driver, with compiler/decide told
// which functions the thread is inside (decide.ScopeIDs, as explain --func
// and --kfunc do). Threads and children start outside every function;
// threads share the process's taint, children inherit it.
//
// It also returns each open as an explain request ("EXE fs PATH MODES
// [tainted] [func=SYM]... [kfunc=NAME]...").
func simulateLogin(b *bundle.Bundle, exe string, args []string) (out, requests []string, err error) {
	prof, ok := decide.Attach(b, exe)
	if !ok {
		return nil, nil, fmt.Errorf("no profile attaches to %s", exe)
	}
	s := &loginSim{b: b, exe: exe, prof: prof, tainted: new(bool)}
	*s.tainted = b.Profiles[prof].Flags&bundle.ProfileTainted != 0
	for _, a := range args {
		if err := s.seq(a, nil); err != nil {
			return s.out, s.requests, err
		}
	}
	return s.out, s.requests, nil
}

type loginSim struct {
	b        *bundle.Bundle
	exe      string
	prof     uint32
	tainted  *bool
	out      []string
	requests []string
}

// errJump unwinds the simulation to the innermost jump(...).
var errJump = errors.New("longjmp")

func splitItems(s string) []string {
	var items []string
	depth, start := 0, 0
	for i, c := range s {
		switch c {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				items = append(items, s[start:i])
				start = i + 1
			}
		}
	}
	return append(items, s[start:])
}

func (s *loginSim) seq(text string, funcs []string) error {
	for _, it := range splitItems(text) {
		if err := s.item(it, funcs); err != nil {
			return err
		}
	}
	return nil
}

func (s *loginSim) item(it string, funcs []string) error {
	if name, body, ok := strings.Cut(it, "("); ok && strings.HasSuffix(body, ")") {
		body = strings.TrimSuffix(body, ")")
		switch name {
		case "check_password", "add_user":
			return s.seq(body, append(funcs[:len(funcs):len(funcs)], name))
		case "thread":
			return s.seq(body, nil)
		case "child":
			parent := s.tainted
			t := *parent
			s.tainted = &t
			err := s.seq(body, nil)
			s.tainted = parent
			if errors.Is(err, errJump) {
				return fmt.Errorf("longjmp out of a child")
			}
			return err
		case "jump":
			if err := s.seq(body, funcs); err != nil && !errors.Is(err, errJump) {
				return err
			}
			return nil
		}
		return fmt.Errorf("unknown call %q", name)
	}
	if it == "longjmp" {
		return errJump
	}
	call, rest, _ := strings.Cut(it, ":")
	kfuncs, ok := loginKFuncs[call]
	if !ok {
		return fmt.Errorf("unknown action %q", it)
	}
	path, modes, ok := parseOpen("open:" + rest)
	if !ok || strings.HasSuffix(rest, ":c") {
		return fmt.Errorf("bad open %q", it)
	}
	scopes, unknown := decide.ScopeIDs(s.b, s.prof, funcs, kfuncs)
	d, err := decide.Decide(s.b, decide.Request{Profile: s.prof, Kind: policy.FS, Path: path,
		Modes: uint64(modes), Tainted: *s.tainted, Scopes: scopes})
	if err != nil {
		return err
	}
	req := fmt.Sprintf("%s fs %s %s", s.exe, path, modes)
	if *s.tainted {
		req += " tainted"
	}
	// explain refuses names no rule is scoped to (they change nothing)
	for _, f := range funcs {
		if !slices.Contains(unknown, "func "+f) {
			req += " func=" + f
		}
	}
	for _, f := range kfuncs {
		if !slices.Contains(unknown, "kfunc "+f) {
			req += " kfunc=" + f
		}
	}
	s.requests = append(s.requests, req)
	if d.Taints {
		*s.tainted = true
	}
	res := "ok"
	if !d.Allow {
		res = "EPERM"
	} else if _, err := os.Stat(path); err != nil {
		res = "ENOENT"
	}
	s.out = append(s.out, it+" "+res)
	return nil
}
