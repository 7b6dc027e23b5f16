package bpfboxc

import (
	"errors"

	"github.com/spf13/cobra"
)

// TODO(owner of explain): replace this placeholder with the real command.
func newExplainCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "explain",
		Short:  "(not yet implemented)",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("explain: not yet implemented")
		},
	}
}
