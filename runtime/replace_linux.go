//go:build linux

package runtime

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/bpfbox/bpfbox/bpf/enforce"
	"github.com/bpfbox/bpfbox/compiler/bundle"
)

// replaceSuffix names the directory a replacement pins the new policy in
// before exchanging it with the pinned one: DIR-new.
const replaceSuffix = "-new" // bpffs refuses names with a dot

// Replacement is what Replace did.
type Replacement struct {
	Old, New [32]byte // bundle digests
	Change   SlotChange
	// Unconfined counts the processes that were confined by a profile the
	// new bundle drops: the new policy does not confine them.
	Unconfined int
}

// Replace applies b over the policy pinned under dir with no moment where a
// confined process runs unconfined. BPF LSM links cannot be updated in
// place, so the two policies overlap:
//
//  1. the new programs are loaded sharing the pinned policy's task state,
//     taints, event ring buffer, counters and per-thread buffers (on 6.1 a
//     task storage allocation that sleeps makes the task state of other
//     threads on that CPU unreadable for the while: a burst of them, one
//     per running thread, is what a replacement must not cause), with the
//     profiles renumbered
//     to keep the pinned policy's slots (NextSlots, Plan.UseSlots);
//  2. they are attached (state hooks first, the exec hook last) while the
//     old ones still are: every access is checked by both policies, and the
//     new one decides what an exec makes of a process;
//  3. the new policy is pinned under dir-new, and dir and dir-new are
//     exchanged in one rename: dir always holds a whole policy;
//  4. the old policy, now under dir-new, is detached, exec hook first, and
//     its pins removed.
//
// Any failure before 3 detaches the new policy and leaves the pinned one as
// it was. A failure in 4 leaves both enforcing (the error says where the old
// one is pinned). plan is b's plan fresh from NewPlan; Replace renumbers it.
func Replace(dir string, b *bundle.Bundle, data []byte, plan *Plan) (*Replacement, error) {
	o, err := beginReplace(dir, b, plan)
	if err != nil {
		return nil, err
	}
	return o.commit(data)
}

// overlap is a replacement under way: the new policy is attached alongside
// the pinned one (steps 1 and 2 of Replace).
type overlap struct {
	dir string
	old *Pinned
	sh  *sharedState
	e   *Enforcer
	r   *Replacement
}

// beginReplace does steps 1 and 2 of Replace. On error nothing changed.
func beginReplace(dir string, b *bundle.Bundle, plan *Plan) (_ *overlap, err error) {
	old, err := OpenPinned(dir)
	if err != nil {
		return nil, fmt.Errorf("replace policy: %w", err)
	}
	defer func() {
		if err != nil {
			old.Close()
		}
	}()
	if old.taints == nil || old.conf == nil || old.scratch == nil || old.taintGen == nil || old.Policy == 0 {
		return nil, fmt.Errorf("replace policy: %w (its pins lack some of %s, %s, %s, %s, %s)",
			ErrIncompatible, pinTaints, pinConf, pinScratch, pinTaintGen, pinSlots)
	}
	slots, err := NextSlots(old.Slots, b)
	if err != nil {
		return nil, fmt.Errorf("replace policy: %w", err)
	}
	if err := plan.UseSlots(b, slots); err != nil {
		return nil, fmt.Errorf("replace policy: %w", err)
	}
	r := &Replacement{Old: old.Bundle.Digest, New: b.Digest, Change: ChangeSlots(old.Slots, slots)}
	procs, err := old.processes()
	if err != nil {
		return nil, fmt.Errorf("replace policy: %w", err)
	}
	for _, p := range procs {
		if _, was := old.Slots.profileOf(p.slot); was {
			if _, is := slots.profileOf(p.slot); !is {
				r.Unconfined++
			}
		}
	}

	tmp := dir + replaceSuffix
	if _, err := os.Stat(tmp); err == nil {
		return nil, fmt.Errorf("replace policy: %s exists: another replacement is under way or was interrupted "+
			"(if none is running, remove what it left with bpfbox-run unload --pin-dir %s)", tmp, tmp)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("replace policy: %w", err)
	}
	sh := &sharedState{
		maps: map[string]*ebpf.Map{
			enforce.EnforceMapTasks: old.tasks, enforce.EnforceMapTaints: old.taints,
			enforce.EnforceMapEvents: old.events, enforce.EnforceMapCounters: old.counters,
			// A thread runs one hook at a time, so the two policies can
			// share its buffers; the new one then allocates none for
			// the threads already running (see Replace). The taint
			// count goes with the taints: task state remembers it.
			enforce.EnforceMapScratch: old.scratch, enforce.EnforceMapTaintGen: old.taintGen,
		},
		oldConf:   old.conf,
		oldPolicy: old.Policy,
	}
	e, err := apply(b, plan, sh)
	if err != nil {
		return nil, err // apply detached what it attached
	}
	return &overlap{dir: dir, old: old, sh: sh, e: e, r: r}, nil
}

// abort detaches the new policy and leaves the pinned one as it was.
func (o *overlap) abort(err error) (*Replacement, error) {
	defer o.old.Close()
	// The old exec hook decides alone again before the new one goes.
	errs := []error{err, o.sh.setSuccessor(0)}
	os.RemoveAll(o.dir + replaceSuffix) // unpins whatever Pin left
	errs = append(errs, o.e.Close())
	return nil, errors.Join(errs...)
}

// commit does steps 3 and 4 of Replace.
func (o *overlap) commit(data []byte) (*Replacement, error) {
	dir, tmp, e, r := o.dir, o.dir+replaceSuffix, o.e, o.r
	if err := e.Pin(tmp, data); err != nil {
		return o.abort(fmt.Errorf("replace policy: %w", err))
	}
	if err := unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, dir, unix.RENAME_EXCHANGE); err != nil {
		return o.abort(fmt.Errorf("replace policy: exchange %s and %s: %w", tmp, dir, err))
	}
	o.old.Close()
	// dir is the new policy now; tmp the old one.
	if err := e.Close(); err != nil {
		return nil, fmt.Errorf("replace policy: release handles: %w", err)
	}
	if err := Unload(tmp); err != nil {
		return nil, fmt.Errorf("replace policy: the new policy is pinned at %s, but the old one is still attached, pinned at %s "+
			"(both enforce; bpfbox-run unload --pin-dir %s removes the old one): %w", dir, tmp, tmp, err)
	}
	return r, nil
}
