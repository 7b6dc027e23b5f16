package decide_test

import (
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/bpfbox/bpfbox/compiler/decide"
	"github.com/bpfbox/bpfbox/lang/policy"
)

func TestDecideAndParseErrors(t *testing.T) {
	b := compileArchive(t, txtar.Parse([]byte(`-- a.bbx --
#![profile "/usr/bin/a"]
#[func "f"] fs("/a", read)
`)))
	for _, tc := range []struct {
		req  decide.Request
		want string
	}{
		{decide.Request{Profile: 7, Kind: policy.FS, Modes: 1}, "decide: profile 7 out of range (have 1)"},
		{decide.Request{Kind: 9, Modes: 1}, "decide: unknown operation kind 9"},
		{decide.Request{Kind: policy.FS, Path: "/a"}, "decide: no mode requested"},
	} {
		if _, err := decide.Decide(b, tc.req); err == nil || err.Error() != tc.want {
			t.Errorf("Decide(%+v) = %v, want %q", tc.req, err, tc.want)
		}
	}
	for line, want := range map[string]string{
		"/usr/bin/a fs":                 "want EXE KIND ARGS",
		"/bin/ls fs /a read":            "no profile attaches to /bin/ls",
		"/usr/bin/a fs /a raed":         `unknown mode "raed"`,
		"/usr/bin/a net any connect":    `unknown family "any"`,
		"/usr/bin/a signal sigfoo self": `unknown signal "sigfoo"`,
		"/usr/bin/a signal sigterm bob": `target must be self, child, parent, other or an absolute path, not "bob"`,
		"/usr/bin/a fs /a read func=g":  "no rule is scoped to func g",
		"/usr/bin/a fs /a read quickly": `unknown flag "quickly"`,
		"/usr/bin/a dance /a read":      "want fs PATH MODES",
	} {
		if _, err := decide.ParseRequest(b, line); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseRequest(%q) = %v, want an error containing %q", line, err, want)
		}
	}
}
