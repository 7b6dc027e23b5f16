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
	root := &cobra.Command{
		Use:   "bpfbox-run",
		Short: "Enforce bpfbox bundles in the kernel with BPF LSM programs",
		Long: `bpfbox-run loads a bundle compiled by bpfboxc into BPF maps and enforces it with
BPF LSM programs, uprobes and fentry probes, reporting every denial and audit event.
It needs root and a kernel (6.1 or newer) with BPF LSM active.`,
		Version:       version.String(),
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return cli.Usagef("%v (see '%s --help')", err, c.CommandPath())
	})
	err := root.Execute()
	if err != nil {
		if ee, ok := err.(*cli.ExitError); !ok || ee.Err != nil {
			fmt.Fprintf(os.Stderr, "bpfbox-run: %v\n", err)
		}
	}
	return cli.CodeOf(err)
}

var _ io.Writer = os.Stdout
