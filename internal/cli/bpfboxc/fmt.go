package bpfboxc

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"github.com/bpfbox/bpfbox/internal/cli"
	"github.com/bpfbox/bpfbox/lang/diag"
	"github.com/bpfbox/bpfbox/lang/format"
	"github.com/bpfbox/bpfbox/lang/parser"
)

type fmtOptions struct {
	write, diff, list bool
}

func newFmtCmd() *cobra.Command {
	var o fmtOptions
	cmd := &cobra.Command{
		Use:   "fmt [-w] [-d] [-l] PATH...",
		Short: "Format policies in the canonical layout",
		Long: `fmt prints .bbx policies in the canonical layout: four-space indentation in
blocks, one item per line, each directive of a rule on its own line, ", "
between arguments, "|" between modes, canonical string escapes, at most one
blank line between items, comments kept. Formatting never changes what a policy
means, and formatting twice changes nothing.

Each PATH is a .bbx file, a directory (searched recursively for *.bbx, hidden
directories skipped) or - for standard input. Without flags the formatted text
goes to standard output.

  -w  rewrite the files whose layout differs (atomically; mode kept)
  -d  print a unified diff of the changes instead of the text
  -l  list the files whose layout differs instead of printing the text

Exit status: 0 when all went well; 1 when a file has syntax errors (they are
printed, and the file is left alone), cannot be read or written, or - with -l
or -d - when any file is not formatted (so that -l and -d work as checks in CI
and pre-commit); 2 for a usage error.`,
		Example: `  bpfboxc fmt login.bbx            # print login.bbx formatted
  bpfboxc fmt -w examples/         # rewrite every .bbx under examples/
  bpfboxc fmt -d policy.bbx        # show what would change
  bpfboxc fmt -l .                 # list unformatted files; exit 1 if any
  cat login.bbx | bpfboxc fmt -    # format standard input`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cli.Usagef("fmt: no PATH given (see 'bpfboxc fmt --help')")
			}
			if o.write && slices.Contains(args, "-") {
				return cli.Usagef("fmt: -w cannot rewrite standard input")
			}
			return runFmt(cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr(), args, o)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.write, "write", "w", false, "rewrite files in place")
	f.BoolVarP(&o.diff, "diff", "d", false, "print a unified diff instead of the formatted text")
	f.BoolVarP(&o.list, "list", "l", false, "list files whose formatting differs")
	return cmd
}

func runFmt(stdin io.Reader, stdout, stderr io.Writer, args []string, o fmtOptions) error {
	failed, differs := false, false
	fail := func(format string, a ...any) {
		fmt.Fprintf(stderr, "bpfboxc: fmt: "+format+"\n", a...)
		failed = true
	}
	for _, name := range fmtPaths(args, fail) {
		var (
			src []byte
			err error
		)
		if name == "-" {
			src, err = io.ReadAll(io.LimitReader(stdin, parser.MaxFileSize+1))
			name = stdinName
		} else {
			src, err = os.ReadFile(name)
		}
		if err != nil {
			fail("%s: %v", name, unwrapPathError(err))
			continue
		}
		out, l := format.Source(name, src)
		if l.HasErrors() {
			diag.WriteText(stderr, l, func(string) []byte { return src }, 0)
			failed = true
			continue
		}
		changed := !bytes.Equal(src, out)
		differs = differs || changed
		if o.list && changed {
			fmt.Fprintln(stdout, name)
		}
		if o.diff && changed {
			_, _ = io.WriteString(stdout, unifiedDiff(name+".orig", name, src, out))
		}
		if o.write && changed {
			if err := rewriteFile(name, out); err != nil {
				fail("%v", err)
			}
		}
		if !o.list && !o.diff && !o.write {
			_, _ = stdout.Write(out)
		}
	}
	if failed || differs && (o.list || o.diff) {
		return cli.Silent(cli.ExitFail)
	}
	return nil
}

// fmtPaths expands the arguments: files as given, directories to the *.bbx
// files under them (sorted, hidden directories skipped), "-" as is.
func fmtPaths(args []string, fail func(string, ...any)) []string {
	var out []string
	seen := make(map[string]bool)
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, arg := range args {
		if arg == "-" {
			add(arg)
			continue
		}
		name := displayPath(arg)
		info, err := os.Stat(name)
		if err != nil {
			fail("%s: %v", name, unwrapPathError(err))
			continue
		}
		if !info.IsDir() {
			add(name)
			continue
		}
		// Regular files only: -w renames over the path, which would replace a symlink.
		found := findPolicies(name, func(d fs.DirEntry) bool { return d.Type().IsRegular() }, fail)
		for _, p := range found {
			add(p)
		}
	}
	return out
}

// rewriteFile replaces name with data: it writes a temporary file in the
// same directory with name's permissions and renames it over name, so a
// crash leaves either the old or the new file, never half of one.
func rewriteFile(name string, data []byte) error {
	info, err := os.Stat(name)
	if err != nil {
		return fmt.Errorf("rewrite %s: %w", name, unwrapPathError(err))
	}
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*.tmp")
	if err != nil {
		return fmt.Errorf("rewrite %s: %w", name, unwrapPathError(err))
	}
	ok := false
	defer func() {
		if !ok {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("rewrite %s: %w", name, err)
	}
	if err := tmp.Chmod(info.Mode().Perm()); err != nil {
		return fmt.Errorf("rewrite %s: %w", name, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("rewrite %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("rewrite %s: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return fmt.Errorf("rewrite %s: %w", name, unwrapPathError(err))
	}
	ok = true
	return nil
}
