package bpfboxc

import (
	"errors"

	"github.com/spf13/cobra"
)

// TODO(owner of check): replace this placeholder with the real command.
func newCheckCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "check",
		Short:  "(not yet implemented)",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("check: not yet implemented")
		},
	}
}
