package bpfboxc

import (
	"errors"

	"github.com/spf13/cobra"
)

// TODO(owner of compile): replace this placeholder with the real command.
func newCompileCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "compile",
		Short:  "(not yet implemented)",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("compile: not yet implemented")
		},
	}
}
