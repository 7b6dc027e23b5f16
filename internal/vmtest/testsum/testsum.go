// Package testsum condenses `go test -json` output: one line per package, the
// full output of failing tests only, and counts of top-level tests.
package testsum

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// event is one record of `go test -json` (cmd/test2json).
type event struct {
	Action      string
	Package     string
	Test        string
	Output      string
	ImportPath  string // build-output, build-fail
	FailedBuild string
}

// Counts are the top-level test results; a package that fails without a
// failing test (build error, panic in init, TestMain) counts as one failure.
type Counts struct {
	Passed, Failed, Skipped int
	Failures                []string // "pkg TestName" or "pkg (what failed)"
}

type line struct{ test, text string }

type pkgState struct {
	lines        []line
	failedTests  map[string]bool
	failedBuild  bool
	anyTestFails bool
}

// Summarize reads `go test -json` from r and writes the condensed report to w.
// Lines that are not JSON (go's own errors) pass through.
func Summarize(r io.Reader, w io.Writer) (Counts, error) {
	var c Counts
	pkgs := map[string]*pkgState{}
	state := func(p string) *pkgState {
		s := pkgs[p]
		if s == nil {
			s = &pkgState{failedTests: map[string]bool{}}
			pkgs[p] = s
		}
		return s
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		raw := sc.Bytes()
		var e event
		if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &e) != nil {
			fmt.Fprintln(w, string(raw))
			continue
		}
		switch {
		case e.Action == "build-output":
			fmt.Fprint(w, e.Output)
		case e.Action == "build-fail":
			state(e.ImportPath).failedBuild = true
		case e.Test != "":
			s := state(e.Package)
			top := e.Test
			if i := strings.IndexByte(top, '/'); i >= 0 {
				top = top[:i]
			}
			switch e.Action {
			case "output":
				s.lines = append(s.lines, line{top, e.Output})
			case "pass", "fail", "skip":
				if top != e.Test {
					break // subtests are counted through their parent
				}
				switch e.Action {
				case "pass":
					c.Passed++
				case "skip":
					c.Skipped++
				case "fail":
					c.Failed++
					s.failedTests[top] = true
					s.anyTestFails = true
					c.Failures = append(c.Failures, e.Package+" "+top)
				}
			}
		case e.Action == "output":
			s := state(e.Package)
			s.lines = append(s.lines, line{"", e.Output})
		case e.Action == "pass" || e.Action == "skip":
			report(w, state(e.Package), false)
		case e.Action == "fail":
			s := state(e.Package)
			if !s.anyTestFails {
				c.Failed++
				what := "failed without a failing test: panic, TestMain or timeout"
				if s.failedBuild || e.FailedBuild != "" {
					what = "build failed"
				}
				c.Failures = append(c.Failures, fmt.Sprintf("%s (%s)", e.Package, what))
			}
			report(w, s, true)
		}
	}
	return c, sc.Err()
}

// report prints a finished package: its summary line, and for a failed
// package the output of its failing tests and its own output.
func report(w io.Writer, s *pkgState, failed bool) {
	for _, l := range s.lines {
		switch {
		case l.test == "" && (l.text == "PASS\n" || l.text == "FAIL\n"):
		case l.test == "" && (failed || !strings.HasPrefix(l.text, "=== ")):
			fmt.Fprint(w, l.text)
		case l.test != "" && failed && s.failedTests[l.test]:
			fmt.Fprint(w, l.text)
		}
	}
	s.lines = nil
}
