package bpfboxc

import (
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/bpfbox/bpfbox/compiler"
	"github.com/bpfbox/bpfbox/internal/cli"
	"github.com/bpfbox/bpfbox/lang/check"
	"github.com/bpfbox/bpfbox/lang/diag"
	"github.com/bpfbox/bpfbox/lang/policy"
	"github.com/bpfbox/bpfbox/lang/stdlib"
)

func newCompileCmd() *cobra.Command {
	var (
		out    string
		format string
	)
	cmd := &cobra.Command{
		Use:   "compile [flags] PATH...",
		Short: "Compile policies into one bundle for bpfbox-run",
		Long: `compile checks the given .bbx files as one bundle (as 'bpfboxc check' does), then
compiles every profile to the tables the kernel reads: a DFA over paths per
profile, an exec DFA that attaches executables to profiles, and permission
entries. The bundle is deterministic: the same sources give the same bytes.

Diagnostics go to standard error as text, or with --format json to standard
output as one JSON array. When there are errors nothing is written and the exit
status is 1. Otherwise the bundle is written atomically to OUT (default: the
first file's name with .bbx replaced by .bundle) and a one-line summary goes to
standard error. Exit status 2 is a usage error.`,
		Example: `  bpfboxc compile examples/login.bbx                 # writes examples/login.bundle
  bpfboxc compile -o web.bundle webd.bbx helper.bbx    # one bundle, two profiles`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cli.Usagef("compile: no PATH given (see 'bpfboxc compile --help')")
			}
			if format != "text" && format != "json" {
				return cli.Usagef("compile: --format must be text or json, not %q", format)
			}
			return runCompile(cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr(), args, out, format)
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the bundle to `OUT` (default: first file with .bundle)")
	cmd.Flags().StringVar(&format, "format", "text", "diagnostics format: text (to stderr) or json (to stdout)")
	return cmd
}

func runCompile(stdin io.Reader, stdout, stderr io.Writer, args []string, out, format string) error {
	inputs, failed := collectInputs(stdin, stderr, args)
	if out == "" && len(inputs) > 0 {
		if inputs[0].Name == stdinName {
			return cli.Usagef("compile: reading standard input: name the bundle with -o OUT")
		}
		out = strings.TrimSuffix(inputs[0].Name, ".bbx") + ".bundle"
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
	var (
		pol   *policy.Policy
		diags diag.List
	)
	if len(inputs) > 0 {
		pol, diags = check.Check(inputs, opts)
	}
	if format == "json" {
		if err := diag.WriteJSON(stdout, diags); err != nil {
			return &cli.ExitError{Code: cli.ExitFail, Err: err}
		}
	} else if len(diags) > 0 {
		diag.WriteText(stderr, diags, sourceOf(files), 100)
		fmt.Fprintln(stderr, diags.Summary())
	}
	if failed || diags.HasErrors() || pol == nil {
		what := "the policy has errors"
		if failed {
			what = "not every file could be read"
		}
		name := out + " not written"
		if out == "" {
			name = "nothing written"
		}
		fmt.Fprintf(stderr, "bpfboxc: compile: %s: %s\n", name, what)
		return cli.Silent(cli.ExitFail)
	}
	res, err := compiler.CompileWith(pol, compiler.DefaultOptions())
	if err != nil {
		return &cli.ExitError{Code: cli.ExitFail, Err: err}
	}
	if err := writeAtomic(out, res.Data); err != nil {
		return &cli.ExitError{Code: cli.ExitFail, Err: fmt.Errorf("compile: %w", err)}
	}
	b := res.Tables
	states := 0
	for _, d := range b.DFAs {
		states += int(d.NumStates)
	}
	fmt.Fprintf(stderr, "%s: %s, %s, %d DFA states, %d bytes, sha256:%s\n", out,
		diag.Plural(len(b.Profiles), "profile"), diag.Plural(len(b.Rules), "rule"), states, len(res.Data),
		hex.EncodeToString(b.Digest[:6]))
	return nil
}

// sourceOf finds the text of a file named in a diagnostic, including the
// standard includes ("<base>").
func sourceOf(files map[string][]byte) func(string) []byte {
	return func(name string) []byte {
		if data, ok := files[name]; ok {
			return data
		}
		if n, ok := strings.CutPrefix(name, "<"); ok {
			data, _ := stdlib.Lookup(strings.TrimSuffix(n, ">"))
			return data
		}
		return nil
	}
}

// writeAtomic writes data to a temporary file next to path and renames it
// into place, so a reader never sees half a bundle.
func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write bundle: %w", unwrapPathErr(err))
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write bundle %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write bundle %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write bundle %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write bundle %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write bundle: %w", unwrapPathErr(err))
	}
	return nil
}
