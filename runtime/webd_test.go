//go:build linux

package runtime

import (
	"bufio"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/bpfbox/bpfbox/compiler/decide"
	"github.com/bpfbox/bpfbox/internal/privileged"
	"github.com/bpfbox/bpfbox/lang/check"
)

// TestWebd runs the paper's scenario with the repository's own policies,
// examples/webd.bbx and examples/helper.bbx, unchanged: a small file server
// (testdata/drivers/webd.c) starts untainted (it may read what it likes), is
// tainted by its bind to port 80 (which its cap rule lets it make), then is
// held to its policy; its upload helper, reached through #[transition], is
// confined by helper.bbx. The VM is scratch space, so the test lays out the
// example's real paths (/usr/local/sbin/webd, /srv/www, /etc/webd, …).
func TestWebd(t *testing.T) {
	privileged.Require(t)
	data, err := os.ReadFile(privileged.Driver(t, "webd"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"/etc/webd/webd.conf":   "port 80\n",
		"/etc/webd/helper.conf": "uploads /srv/www/uploads\n",
		"/srv/www/index.html":   "hello from /srv/www\n",
		"/srv/secret.txt":       "not for the web\n",
	}
	for path, text := range files {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, dir := range []string{"/srv/www/uploads", "/var/log/webd", "/run/webd", "/usr/local/sbin", "/usr/local/libexec"} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, exe := range []string{"/usr/local/sbin/webd", "/usr/local/libexec/webd-helper"} {
		if err := os.WriteFile(exe, data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var inputs []check.Input
	for _, name := range []string{"webd.bbx", "helper.bbx"} {
		src, err := os.ReadFile(filepath.Join("..", "examples", name))
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, check.Input{Name: name, Src: src})
	}
	b := compileText(t, inputs)
	plan, err := NewPlan(b, Options{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := Apply(b, plan)
	if err != nil {
		t.Fatal(err)
	}
	stop := liveEvents(t, e, func(ev Event) string { return netSigEventLine(ev, "/nonexistent", nil) })

	server := exec.Command("/usr/local/sbin/webd")
	out, err := server.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	server.Stderr = os.Stderr
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		server.Process.Kill()
		server.Wait()
	}()
	lines := bufio.NewScanner(out)
	var startup []string
	for len(startup) < 2 && lines.Scan() {
		startup = append(startup, lines.Text())
	}
	// untainted at start: it read a file its policy does not list
	if diff := cmp.Diff([]string{"startup conf ok secret ok", "ready"}, startup); diff != "" {
		t.Fatalf("webd startup (-want +got):\n%s", diff)
	}

	for _, rq := range webdScenario {
		got, err := webdRequest(rq.request)
		if err != nil {
			t.Fatalf("%s: %v", rq.request, err)
		}
		if got != rq.answer {
			t.Errorf("%s: got %q, want %q", rq.request, got, rq.answer)
		}
	}
	if err := server.Wait(); err != nil {
		t.Errorf("webd: %v", err)
	}

	events := stop()
	want := []string{
		"allow exec /usr/local/sbin/webd exec attach ->/usr/local/sbin/webd",
		"allow net inet bind taint rule=webd.bbx:20:5",
		"deny open /srv/secret.txt read tainted missing=read",
		"deny open /srv/secret.txt read tainted missing=read",
		"deny signal target check tainted missing=check",
		"deny net packet create tainted missing=create",
		"allow exec /usr/local/libexec/webd-helper exec tainted transition ->/usr/local/libexec/webd-helper rule=webd.bbx:34:1",
		"deny open /srv/www/index.html read tainted missing=read",
	}
	if diff := cmp.Diff(want, events); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

// webdScenario is the table TestWebd drives the kernel with and
// TestWebdDecide drives compiler/decide with: each client request, webd's
// answer, and the requests the kernel decides while serving it, written as
// `bpfboxc explain --requests` lines with the decision explain prints.
var webdScenario = []struct {
	request, answer string
	decisions       [][2]string // explain request line, decision
}{
	{"GET /index.html", "hello from /srv/www ", [][2]string{
		{"/usr/local/sbin/webd net inet accept tainted", "allow reason=tainted-granted rule=webd.bbx:23:1"},
		{"/usr/local/sbin/webd net inet recv tainted", "allow reason=tainted-granted rule=webd.bbx:23:1"},
		{"/usr/local/sbin/webd fs /srv/www/index.html read tainted", "allow reason=tainted-granted rule=webd.bbx:15:1"},
		{"/usr/local/sbin/webd net inet send tainted", "allow reason=tainted-granted rule=webd.bbx:23:1"},
	}},
	{"GET /../secret.txt", "ERR EPERM", [][2]string{ // tainted: outside /srv/www
		{"/usr/local/sbin/webd fs /srv/secret.txt read tainted", "deny reason=tainted-default missing=read"},
	}},
	{"PROBE", "secret EPERM kill-init EPERM packet EPERM", [][2]string{
		{"/usr/local/sbin/webd fs /srv/secret.txt read tainted", "deny reason=tainted-default missing=read"},
		{"/usr/local/sbin/webd signal check other tainted", "deny reason=tainted-default missing=check"},
		{"/usr/local/sbin/webd net packet create tainted", "deny reason=tainted-default missing=create"},
	}},
	{"UPLOAD note.txt hi", "upload ok read-index EPERM signal-parent ok usr1 received", [][2]string{
		{"/usr/local/sbin/webd net unix create tainted", "allow reason=tainted-granted rule=webd.bbx:25:1"},
		{"/usr/local/sbin/webd fs /usr/local/libexec/webd-helper exec tainted",
			"allow reason=tainted-granted rule=webd.bbx:34:1 transition=/usr/local/libexec/webd-helper"},
		{"/usr/local/libexec/webd-helper fs /srv/www/uploads/note.txt write|create", "allow reason=tainted-granted rule=helper.bbx:14:1"},
		{"/usr/local/libexec/webd-helper fs /srv/www/index.html read", "deny reason=tainted-default missing=read"},
		{"/usr/local/libexec/webd-helper signal sigusr1 parent", "allow reason=tainted-granted rule=helper.bbx:21:1"},
		{"/usr/local/libexec/webd-helper net unix send", "allow reason=tainted-granted rule=helper.bbx:18:1"},
		{"/usr/local/sbin/webd net unix recv tainted", "allow reason=tainted-granted rule=webd.bbx:25:1"},
	}},
	{"GET /uploads/note.txt", "hi", [][2]string{
		{"/usr/local/sbin/webd fs /srv/www/uploads/note.txt read tainted", "allow reason=tainted-granted rule=webd.bbx:15:1"},
	}},
	{"QUIT", "bye", nil},
}

// webdStartup is what webd does before its first request: untainted, it
// reads a file its policy does not list; its bind taints it and needs
// CAP_NET_BIND_SERVICE, which the policy grants.
var webdStartup = [][2]string{
	{"/usr/local/sbin/webd fs /srv/secret.txt read", "allow reason=untainted-default"},
	{"/usr/local/sbin/webd net inet create", "allow reason=untainted-rule rule=webd.bbx:23:1"},
	{"/usr/local/sbin/webd net inet bind", "allow reason=taint-rule rule=webd.bbx:20:5 taints"},
	{"/usr/local/sbin/webd cap net_bind_service tainted", "allow reason=tainted-granted rule=webd.bbx:28:1"},
	{"/usr/local/sbin/webd net inet listen tainted", "allow reason=tainted-granted rule=webd.bbx:23:1"},
}

// TestWebdDecide decides webdScenario's requests with compiler/decide, as
// bpfboxc explain --requests does; TestWebd checks the kernel's answers to
// the same table.
func TestWebdDecide(t *testing.T) {
	var inputs []check.Input
	for _, name := range []string{"webd.bbx", "helper.bbx"} {
		src, err := os.ReadFile(filepath.Join("..", "examples", name))
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, check.Input{Name: name, Src: src})
	}
	b := compileText(t, inputs)
	all := webdStartup
	for _, rq := range webdScenario {
		all = append(all, rq.decisions...)
	}
	for _, d := range all {
		r, err := decide.ParseRequest(b, d[0])
		if err != nil {
			t.Fatal(err)
		}
		dec, err := decide.Decide(b, r)
		if err != nil {
			t.Fatal(err)
		}
		if got := decide.Format(b, r, dec); got != d[1] {
			t.Errorf("%s:\n got %s\nwant %s", d[0], got, d[1])
		}
	}
}

// webdRequest sends one request line to webd on 127.0.0.1:80 and returns its
// one-line answer.
func webdRequest(req string) (string, error) {
	c, err := net.DialTimeout("tcp", "127.0.0.1:80", 10*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(c, req+"\n"); err != nil {
		return "", err
	}
	b, err := io.ReadAll(c)
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(string(b), "\n"), nil
}
