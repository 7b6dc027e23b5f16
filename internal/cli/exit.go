// Package cli holds what the bpfbox command trees share: exit codes and the
// error type that carries one.
package cli

import (
	"errors"
	"fmt"
)

// Exit codes that scripts can rely on.
const (
	ExitOK    = 0 // success; for check: no errors
	ExitFail  = 1 // the input has errors, or the operation failed
	ExitUsage = 2 // bad flags or arguments
)

// ExitError makes a command exit with Code after printing Err (if non-nil).
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// Usagef returns a usage error (exit 2).
func Usagef(format string, args ...any) error {
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, args...)}
}

// Silent returns an error that only sets the exit code: the command already
// printed what the user needs.
func Silent(code int) error { return &ExitError{Code: code} }

// CodeOf returns the exit code for err.
func CodeOf(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return ExitFail
}
