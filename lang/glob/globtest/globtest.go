// Package globtest reads the shared table of glob matching cases
// (lang/glob/testdata/match.txt), so that the reference matcher and the DFA
// compiler are held to the same expectations.
package globtest

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Case is one (glob, path, match) expectation.
type Case struct {
	Where string // file:line of the path
	Glob  string
	Path  string
	Match bool
}

// Load reads a case file. See testdata/match.txt for the format.
func Load(file string) ([]Case, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read cases: %w", err)
	}
	var cases []Case
	pattern, havePattern := "", false
	for i, line := range strings.Split(string(data), "\n") {
		where := fmt.Sprintf("%s:%d", file, i+1)
		line = strings.TrimRight(line, "\r")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		kind, arg, ok := strings.Cut(line, " ")
		if !ok {
			return nil, fmt.Errorf("%s: want 'glob PATTERN', '+ PATH' or '- PATH'", where)
		}
		arg, err := unquote(arg)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		switch kind {
		case "glob":
			pattern, havePattern = arg, true
		case "+", "-":
			if !havePattern {
				return nil, fmt.Errorf("%s: path before any glob", where)
			}
			cases = append(cases, Case{Where: where, Glob: pattern, Path: arg, Match: kind == "+"})
		default:
			return nil, fmt.Errorf("%s: unknown line kind %q", where, kind)
		}
	}
	return cases, nil
}

func unquote(s string) (string, error) {
	if !strings.HasPrefix(s, `"`) {
		return s, nil
	}
	u, err := strconv.Unquote(s)
	if err != nil {
		return "", fmt.Errorf("unquote %s: %w", s, err)
	}
	return u, nil
}
