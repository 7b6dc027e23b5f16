// Package bpfboxc is the command tree of the bpfboxc policy compiler.
package bpfboxc

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/bpfbox/bpfbox/internal/cli"
	"github.com/bpfbox/bpfbox/internal/version"
)

// Main runs bpfboxc with os.Args and returns the exit code.
func Main() int {
	return Run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
}

// Run runs bpfboxc with args and the given streams and returns the exit code.
func Run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRoot(stdin, stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	if err != nil {
		var ee *cli.ExitError
		if !asExit(err, &ee) || ee.Err != nil {
			fmt.Fprintf(stderr, "bpfboxc: %v\n", err)
		}
		if isUsage(err) {
			return cli.ExitUsage
		}
	}
	return cli.CodeOf(err)
}

func newRoot(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "bpfboxc",
		Short: "Check, format and compile bpfbox policies (.bbx)",
		Long: `bpfboxc turns .bbx policies into bundles that bpfbox-run enforces in the kernel.

A policy confines one program: it names the program with #![profile "PATH"] and lists
the files, sockets, signals, ptrace targets and capabilities it may use, optionally
only inside given functions (#[func], #[kfunc]) or only after it is tainted (#[taint]).`,
		Example: `  bpfboxc check examples/            # diagnostics for every .bbx under examples/
  bpfboxc fmt -w login.bbx            # rewrite login.bbx in canonical layout
  bpfboxc compile login.bbx -o login.bundle
  bpfboxc explain login.bundle --profile /usr/bin/mylogin --fs /etc/shadow --mode read`,
		Version:       version.String(),
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return cli.Usagef("%v (see '%s --help')", err, c.CommandPath())
	})
	root.AddCommand(
		newCheckCmd(),
		newFmtCmd(),
		newCompileCmd(),
		newDumpCmd(),
		newExplainCmd(),
	)
	return root
}

func asExit(err error, target **cli.ExitError) bool {
	e, ok := err.(*cli.ExitError)
	if ok {
		*target = e
	}
	return ok
}

// isUsage recognises cobra's own argument errors, which it does not type.
func isUsage(err error) bool {
	msg := err.Error()
	return strings.HasPrefix(msg, "unknown command") || strings.HasPrefix(msg, "accepts ") ||
		strings.HasPrefix(msg, "requires at least") || strings.HasPrefix(msg, "unknown flag") ||
		strings.HasPrefix(msg, "unknown shorthand flag")
}
