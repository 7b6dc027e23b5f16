package bpfboxc

import (
	"errors"

	"github.com/spf13/cobra"
)

// TODO(owner of fmt): replace this placeholder with the real command.
func newFmtCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "fmt",
		Short:  "(not yet implemented)",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("fmt: not yet implemented")
		},
	}
}
