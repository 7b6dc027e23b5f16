package bpfboxc

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/bpfbox/bpfbox/internal/cli"
	"github.com/bpfbox/bpfbox/lang/check"
	"github.com/bpfbox/bpfbox/lang/diag"
	"github.com/bpfbox/bpfbox/lang/stdlib"
)

const stdinName = "<stdin>"

func newCheckCmd() *cobra.Command {
	var (
		format    string
		werror    bool
		max       int
		fragments bool
	)
	cmd := &cobra.Command{
		Use:   "check [flags] PATH...",
		Short: "Check policies and report errors and security warnings",
		Long: `check type-checks .bbx policies and runs the security lints.

Each PATH is a .bbx file, a directory (searched recursively for *.bbx, hidden
directories skipped) or - for standard input. All files given form one bundle:
each must declare #![profile], and no two may declare the same profile path.
Files found in a directory that have no #![profile] are include fragments and
are checked on their own; --fragments treats files named on the command line
the same way (for pre-commit, which passes whichever files changed).

Diagnostics go to standard error as text, or with --format json to standard
output as one JSON array ([] when there is nothing to say). The exit status is
0 when there are no errors (warnings allowed unless --werror), 1 when there are,
and 2 for a usage error.`,
		Example: `  bpfboxc check examples/login.bbx
  bpfboxc check examples/                     # every .bbx under examples/, as one bundle
  bpfboxc check --werror webd.bbx helper.bbx  # fail on warnings too (CI, pre-commit)
  bpfboxc check --format json policy/ | jq '.[] | select(.severity == "error")'
  cat login.bbx | bpfboxc check -`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cli.Usagef("check: no PATH given (see 'bpfboxc check --help')")
			}
			if format != "text" && format != "json" {
				return cli.Usagef("check: --format must be text or json, not %q", format)
			}
			if max < 0 {
				return cli.Usagef("check: --max must be 0 (no limit) or more, not %d", max)
			}
			return runCheck(cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr(), args, format, werror, max, fragments)
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text (to stderr) or json (to stdout)")
	cmd.Flags().BoolVar(&werror, "werror", false, "treat warnings as errors for the exit status")
	cmd.Flags().IntVar(&max, "max", 100, "show at most N diagnostics in text form (0: all)")
	cmd.Flags().BoolVar(&fragments, "fragments", false, "files without #![profile] are include fragments, not errors")
	_ = cmd.RegisterFlagCompletionFunc("format", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

func runCheck(stdin io.Reader, stdout, stderr io.Writer, args []string, format string, werror bool, max int, fragments bool) error {
	inputs, failed := collectInputs(stdin, stderr, args)
	if fragments {
		for i := range inputs {
			inputs[i].Fragment = true
		}
	}
	files := make(map[string][]byte, len(inputs))
	for _, in := range inputs {
		files[in.Name] = in.Src
	}
	opts := check.DefaultOptions()
	opts.ReadFile = func(path string) ([]byte, error) {
		data, err := os.ReadFile(path)
		if err == nil {
			files[path] = data
		}
		return data, err
	}
	var diags diag.List
	if len(inputs) > 0 {
		_, diags = check.Check(inputs, opts)
	}
	// Absolute include paths inside the working directory are shown relative to it too.
	for i, d := range diags {
		if name := d.Span.File; filepath.IsAbs(name) {
			rel := displayPath(name)
			diags[i].Span.File = rel
			if data, ok := files[name]; ok {
				files[rel] = data
			}
		}
	}
	if format == "json" {
		if err := diag.WriteJSON(stdout, diags); err != nil {
			return &cli.ExitError{Code: cli.ExitFail, Err: err}
		}
	} else if len(diags) > 0 {
		diag.WriteText(stderr, diags, func(name string) []byte {
			if data, ok := files[name]; ok {
				return data
			}
			if n, ok := strings.CutPrefix(name, "<"); ok {
				data, _ := stdlib.Lookup(strings.TrimSuffix(n, ">"))
				return data
			}
			return nil
		}, max)
		fmt.Fprintln(stderr, diags.Summary())
	}
	if failed || diags.HasErrors() || werror && diags.Count(diag.Warning) > 0 {
		return cli.Silent(cli.ExitFail)
	}
	return nil
}

// collectInputs reads the files named by args. Unreadable paths are reported
// on stderr and make the check fail, but the other files are still checked.
func collectInputs(stdin io.Reader, stderr io.Writer, args []string) ([]check.Input, bool) {
	var inputs []check.Input
	seen := make(map[string]bool)
	failed := false
	add := func(in check.Input) {
		if !seen[in.Name] {
			seen[in.Name] = true
			inputs = append(inputs, in)
		}
	}
	fail := func(format string, a ...any) {
		fmt.Fprintf(stderr, "bpfboxc: check: "+format+"\n", a...)
		failed = true
	}
	for _, arg := range args {
		if arg == "-" {
			if seen[stdinName] {
				continue
			}
			data, err := io.ReadAll(io.LimitReader(stdin, check.DefaultMaxInputBytes+1))
			if err != nil {
				fail("read standard input: %v", err)
				continue
			}
			add(check.Input{Name: stdinName, Src: data})
			continue
		}
		name := displayPath(arg)
		info, err := os.Stat(name)
		if err != nil {
			fail("%s: %v", name, unwrapPathError(err))
			continue
		}
		if !info.IsDir() {
			data, err := os.ReadFile(name)
			if err != nil {
				fail("%s: %v", name, unwrapPathError(err))
				continue
			}
			add(check.Input{Name: name, Src: data})
			continue
		}
		// Symlinks count: check only reads them.
		found := findPolicies(name, func(d fs.DirEntry) bool { return !d.IsDir() }, fail)
		for _, p := range found {
			data, err := os.ReadFile(p)
			if err != nil {
				fail("%s: %v", p, unwrapPathError(err))
				continue
			}
			add(check.Input{Name: p, Src: data, Fragment: true})
		}
	}
	return inputs, failed
}

// findPolicies returns the .bbx files under dir that keep accepts, sorted,
// skipping hidden directories; it reports unreadable entries, and a directory
// with no policy, through fail.
func findPolicies(dir string, keep func(fs.DirEntry) bool, fail func(format string, a ...any)) []string {
	var found []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			fail("%s: %v", p, unwrapPathError(err))
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() && p != dir && strings.HasPrefix(d.Name(), ".") {
			return fs.SkipDir
		}
		if keep(d) && strings.HasSuffix(d.Name(), ".bbx") {
			found = append(found, p)
		}
		return nil
	})
	if err != nil {
		fail("%s: %v", dir, err)
	}
	if len(found) == 0 {
		fail("%s: no .bbx files in this directory", dir)
	}
	slices.Sort(found)
	return found
}

// displayPath gives a path relative to the working directory when it is
// inside it, so diagnostics stay short.
func displayPath(p string) string {
	p = filepath.Clean(p)
	if !filepath.IsAbs(p) {
		return p
	}
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	rel, err := filepath.Rel(wd, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return p
	}
	return rel
}

func unwrapPathError(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}
