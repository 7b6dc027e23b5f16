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

// DefaultPinDir is where apply --pin leaves a policy in bpffs.
const DefaultPinDir = "/sys/fs/bpf/bpfbox"

// ErrNotPinned says that no policy is pinned at the directory.
var ErrNotPinned = errors.New("no policy is pinned")

// Pin fails: only Linux can enforce bundles.
func (*Enforcer) Pin(string, []byte) error { return errNotLinux }

// Unload fails: only Linux can enforce bundles.
func Unload(string) error { return errNotLinux }

// Pinned is a policy pinned by apply --pin.
type Pinned struct{ Bundle *bundle.Bundle }

// OpenPinned fails: only Linux can enforce bundles.
func OpenPinned(string) (*Pinned, error) { return nil, errNotLinux }

// Confined is one process the pinned policy confines.
type Confined struct {
	PID     int
	Comm    string
	Profile string
	Tainted bool
}

// EventReader follows a pinned policy's events.
type EventReader struct{}

func (*Pinned) Close() error                  { return nil }
func (*Pinned) Events() (*EventReader, error) { return nil, errNotLinux }
func (*Pinned) Counters() (Counters, error)   { return Counters{}, errNotLinux }
func (*Pinned) Confined() ([]Confined, error) { return nil, errNotLinux }
func (*EventReader) Read() (Event, error)     { return Event{}, errNotLinux }
func (*EventReader) Close() error             { return nil }

// Replacement is what Replace did.
type Replacement struct {
	Old, New   [32]byte
	Change     SlotChange
	Unconfined int
}

// Replace fails: only Linux can enforce bundles.
func Replace(string, *bundle.Bundle, []byte, *Plan) (*Replacement, error) { return nil, errNotLinux }
