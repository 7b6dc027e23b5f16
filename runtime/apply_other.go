//go:build !linux

package runtime

import (
	"errors"

	"github.com/bpfbox/bpfbox/compiler/bundle"
)

var errNotLinux = errors.New("enforcement needs Linux with BPF LSM")

// Enforcer is a bundle live in the kernel; only Linux has one.
type Enforcer struct{}

// Counters are what the kernel programs could not do.
type Counters struct {
	EventsLost, ChildrenUntraced, TaintsUnshared uint64
}

// CheckThisKernel fails: only Linux can enforce bundles.
func CheckThisKernel() error { return errNotLinux }

// Apply fails: only Linux can enforce bundles.
func Apply(*bundle.Bundle, *Plan) (*Enforcer, error) { return nil, errNotLinux }

func (*Enforcer) ReadEvent() (Event, error)   { return Event{}, errNotLinux }
func (*Enforcer) Counters() (Counters, error) { return Counters{}, errNotLinux }
func (*Enforcer) Close() error                { return nil }
