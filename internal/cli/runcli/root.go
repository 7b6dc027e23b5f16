// Package runcli is the command tree of bpfbox-run, which enforces bundles.
package runcli

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/bpfbox/bpfbox/internal/cli"
	"github.com/bpfbox/bpfbox/internal/version"
)

// Main runs bpfbox-run with os.Args and returns the exit code.
func Main() int {
	return Run(os.Args[1:], os.Stdout, os.Stderr)
}

// Run runs bpfbox-run with args and the given streams and returns the exit code.
func Run(args []string, stdout, stderr io.Writer) int {
	root := &cobra.Command{
		Use:   "bpfbox-run",
		Short: "Enforce bpfbox bundles in the kernel with BPF LSM programs",
		Long: `bpfbox-run loads a bundle compiled by bpfboxc into BPF maps and enforces it with
BPF LSM programs, reporting every denial, audit, taint and transition.
It needs root and a kernel (6.1 or newer) with BPF LSM active.`,
		Example: `  bpfboxc compile -o login.bundle login.bbx
  bpfbox-run apply login.bundle                    # enforce until Ctrl-C, events as text
  bpfbox-run apply --complain --events json login.bundle > events.jsonl`,
		Version:       version.String(),
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetArgs(args)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return cli.Usagef("%v (see '%s --help')", err, c.CommandPath())
	})
	root.AddCommand(newApplyCmd(), newEventsCmd(), newStatusCmd(), newUnloadCmd())
	err := root.Execute()
	if err != nil {
		if ee, ok := err.(*cli.ExitError); !ok || ee.Err != nil {
			fmt.Fprintf(stderr, "bpfbox-run: %v\n", err)
		}
		if _, ok := err.(*cli.ExitError); !ok && isUsage(err) {
			return cli.ExitUsage
		}
	}
	return cli.CodeOf(err)
}

// isUsage recognises cobra's own argument and command errors, which it does
// not type.
func isUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "accepts ", "requires "} {
		if len(msg) >= len(p) && (msg[:len(p)] == p) {
			return true
		}
	}
	return false
}
