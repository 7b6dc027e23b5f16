package bpfboxc

import (
	"errors"

	"github.com/spf13/cobra"
)

// TODO(owner of dump): replace this placeholder with the real command.
func newDumpCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "dump",
		Short:  "(not yet implemented)",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("dump: not yet implemented")
		},
	}
}
