//go:build linux

package runtime

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"

	"github.com/bpfbox/bpfbox/bpf/enforce"
	"github.com/bpfbox/bpfbox/compiler/bundle"
)

// Enforcer is a bundle live in the kernel. Close detaches it.
type Enforcer struct {
	objs      enforce.EnforceObjects
	links     []link.Link
	linkNames []string        // the hook of links[i]
	linkProgs []*ebpf.Program // the program of links[i]
	events    *ringbuf.Reader
	dec       *Decoder

	scopeProgs []*ebpf.Program // fentry/fexit, one pair per #[kfunc]

	policy uint32 // config.policy: a random id, never 0
	slots  Slots

	closeOnce sync.Once
	closeErr  error
}

// Counters are what the kernel programs could not do.
type Counters struct {
	EventsLost       uint64 // events the ring buffer had no room for
	ChildrenUntraced uint64 // children of confined processes that got no state (out of memory)
	TaintsUnshared   uint64 // taints other threads could not see (taint table full)
}

// CheckThisKernel checks the running kernel.
func CheckThisKernel() error {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return fmt.Errorf("check kernel: uname: %w", err)
	}
	return CheckKernel(ReadKernelFacts("/", unix.ByteSliceToString(u.Release[:])))
}

// Apply checks the kernel, loads the programs, fills every map from plan and
// attaches the programs. Either all of it happens or none: on any error
// everything loaded so far is closed.
func Apply(b *bundle.Bundle, plan *Plan) (*Enforcer, error) {
	return apply(b, plan, nil)
}

// sharedState is what a policy that replaces a pinned one (Replace) takes
// from it: the per-thread state and taints (so that confined processes stay
// confined and tainted), the event ring buffer and counters (so that events
// keep flowing to one reader), and the pinned policy's config, where the new
// policy's id is set as its successor before the new exec hook attaches.
type sharedState struct {
	maps      map[string]*ebpf.Map // by map name in enforce.bpf.c
	oldConf   *ebpf.Map
	oldPolicy uint32 // the replaced policy's id: the new one must differ (shared buffers hold per-policy DFA states)
}

// ErrIncompatible says that a pinned policy cannot be replaced in place.
var ErrIncompatible = errors.New("the pinned policy was loaded by an incompatible bpfbox; unload it first")

// check refuses maps this version's programs cannot share.
func (sh *sharedState) check(spec *ebpf.CollectionSpec) error {
	for name, m := range sh.maps {
		ms := spec.Maps[name]
		if ms == nil {
			return fmt.Errorf("%w (it has map %s, this version has none)", ErrIncompatible, name)
		}
		if err := ms.Compatible(m); err != nil {
			return fmt.Errorf("%w (map %s: %v)", ErrIncompatible, name, err)
		}
	}
	if err := spec.Maps[enforce.EnforceMapConf].Compatible(sh.oldConf); err != nil {
		return fmt.Errorf("%w (map conf: %v)", ErrIncompatible, err)
	}
	return nil
}

// setSuccessor writes id as the successor in the replaced policy's config.
func (sh *sharedState) setSuccessor(id uint32) error {
	var c enforce.EnforceConfig
	if err := sh.oldConf.Lookup(uint32(0), &c); err != nil {
		return fmt.Errorf("read the pinned policy's config: %w", err)
	}
	c.Successor = id
	if err := sh.oldConf.Put(uint32(0), &c); err != nil {
		return fmt.Errorf("write the pinned policy's config: %w", err)
	}
	return nil
}

// newPolicyID returns a random policy id, never 0 and never not.
func newPolicyID(not uint32) uint32 {
	for {
		var b [4]byte
		rand.Read(b[:])
		if id := binary.LittleEndian.Uint32(b[:]); id != 0 && id != not {
			return id
		}
	}
}

func apply(b *bundle.Bundle, plan *Plan, sh *sharedState) (_ *Enforcer, err error) {
	if err := CheckThisKernel(); err != nil {
		return nil, err
	}
	if err := checkScopes(plan); err != nil {
		return nil, err
	}
	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, fmt.Errorf("apply bundle: raise the memlock limit: %w", err)
	}
	spec, err := enforce.LoadEnforce()
	if err != nil {
		return nil, fmt.Errorf("apply bundle: %w", err)
	}
	// The transition table goes in one value (trans_flat) when it fits,
	// else one transition per element (trans); the other map stays minimal.
	flat, mask, isFlat := plan.FlatTrans()
	transEntries := len(plan.Trans)
	if isFlat {
		transEntries = 1
		fm := spec.Maps[enforce.EnforceMapTransFlat]
		fm.ValueSize = uint32(4 * len(flat))
		fm.Key, fm.Value = nil, nil // the BTF says one __u32: the value is bigger
		if err := spec.Variables["trans_mask"].Set(mask); err != nil {
			return nil, fmt.Errorf("apply bundle: set trans_mask: %w", err)
		}
	}
	// The directory cache of the path hooks needs the kernel's rename and
	// mount sequence counters; without them every path is built in full.
	if syms, err := kernelSymbols("/proc/kallsyms", "rename_lock", "mount_lock"); err == nil {
		for name, v := range map[string]string{"rename_lock": "rename_seq_addr", "mount_lock": "mount_seq_addr"} {
			if err := spec.Variables[v].Set(syms[name]); err != nil {
				return nil, fmt.Errorf("apply bundle: set %s: %w", v, err)
			}
		}
	}
	for name, n := range map[string]int{
		enforce.EnforceMapProfiles: len(plan.Profiles),
		enforce.EnforceMapDfas:     len(plan.DFAs),
		enforce.EnforceMapClasses:  len(plan.Classes),
		enforce.EnforceMapTrans:    transEntries,
		enforce.EnforceMapAccepts:  len(plan.Accepts),
		enforce.EnforceMapEntries:  len(plan.Entries),
	} {
		spec.Maps[name].MaxEntries = uint32(max(n, 1))
	}
	var replaced uint32
	if sh != nil {
		replaced = sh.oldPolicy
	}
	e := &Enforcer{policy: newPolicyID(replaced), slots: plan.Slots}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	opts := &ebpf.CollectionOptions{}
	if sh != nil {
		if err := sh.check(spec); err != nil {
			return nil, fmt.Errorf("replace policy: %w", err)
		}
		opts.MapReplacements = sh.maps
	}
	if err := spec.LoadAndAssign(&e.objs, opts); err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			return nil, fmt.Errorf("apply bundle: load programs: %+v", ve)
		}
		return nil, fmt.Errorf("apply bundle: load programs: %w", err)
	}
	if isFlat {
		if err := e.objs.TransFlat.Put(uint32(0), flat); err != nil {
			return nil, fmt.Errorf("apply bundle: fill maps: trans_flat: %w", err)
		}
	}
	if err := e.fill(plan, e.policy, !isFlat); err != nil {
		return nil, fmt.Errorf("apply bundle: fill maps: %w", err)
	}
	if e.events, err = ringbuf.NewReader(e.objs.Events); err != nil {
		return nil, fmt.Errorf("apply bundle: open event ring buffer: %w", err)
	}
	e.dec = NewDecoder(b, bootOffset()).withSlots(plan.Slots)
	// Scope probes before any hook that confines.
	if err := e.attachScopes(spec, plan); err != nil {
		return nil, fmt.Errorf("apply bundle: %w", err)
	}
	// State tracking first, the exec hook (which confines) last, so that no
	// process is confined before every hook that must see it is live.
	attach := []struct {
		name string
		prog *ebpf.Program
		lsm  bool
	}{
		{"sched_process_fork", e.objs.BpfboxFork, false},
		{"sched_process_exit", e.objs.BpfboxExit, false},
		{"bprm_committed_creds", e.objs.BpfboxExecCommitted, true},
		{"bpf", e.objs.BpfboxBpf, true},
		{"file_open", e.objs.BpfboxFileOpen, true},
		{"mmap_file", e.objs.BpfboxMmapFile, true},
		{"path_mknod", e.objs.BpfboxPathMknod, true},
		{"path_mkdir", e.objs.BpfboxPathMkdir, true},
		{"path_symlink", e.objs.BpfboxPathSymlink, true},
		{"path_unlink", e.objs.BpfboxPathUnlink, true},
		{"path_rmdir", e.objs.BpfboxPathRmdir, true},
		{"path_link", e.objs.BpfboxPathLink, true},
		{"path_rename", e.objs.BpfboxPathRename, true},
		{"path_chmod", e.objs.BpfboxPathChmod, true},
		{"path_chown", e.objs.BpfboxPathChown, true},
		{"path_truncate", e.objs.BpfboxPathTruncate, true},
		{"file_mprotect", e.objs.BpfboxFileMprotect, true},
		{"file_ioctl", e.objs.BpfboxFileIoctl, true},
		{"socket_create", e.objs.BpfboxSocketCreate, true},
		{"socket_bind", e.objs.BpfboxSocketBind, true},
		{"socket_connect", e.objs.BpfboxSocketConnect, true},
		{"socket_listen", e.objs.BpfboxSocketListen, true},
		{"socket_accept", e.objs.BpfboxSocketAccept, true},
		{"socket_sendmsg", e.objs.BpfboxSocketSendmsg, true},
		{"socket_recvmsg", e.objs.BpfboxSocketRecvmsg, true},
		{"socket_shutdown", e.objs.BpfboxSocketShutdown, true},
		{"task_kill", e.objs.BpfboxTaskKill, true},
		{"ptrace_access_check", e.objs.BpfboxPtraceAccessCheck, true},
		{"ptrace_traceme", e.objs.BpfboxPtraceTraceme, true},
		{"capable", e.objs.BpfboxCapable, true},
		{"bprm_creds_for_exec", e.objs.BpfboxExec, true},
	}
	successor := false
	defer func() {
		// Before the new exec hook goes: the replaced policy's exec hook
		// decides alone again.
		if err != nil && successor {
			sh.setSuccessor(0)
		}
	}()
	for _, a := range attach {
		if a.name == "bprm_creds_for_exec" && sh != nil {
			// From here on the old exec hook leaves what an exec makes
			// of a task to the new one, once the new one has decided.
			if err := sh.setSuccessor(e.policy); err != nil {
				return nil, fmt.Errorf("replace policy: %w", err)
			}
			successor = true
		}
		var l link.Link
		if a.lsm {
			l, err = link.AttachLSM(link.LSMOptions{Program: a.prog})
		} else {
			l, err = link.AttachTracing(link.TracingOptions{Program: a.prog})
		}
		if err != nil {
			return nil, fmt.Errorf("apply bundle: attach %s: %w", a.name, err)
		}
		e.links = append(e.links, l)
		e.linkNames = append(e.linkNames, a.name)
		e.linkProgs = append(e.linkProgs, a.prog)
	}
	return e, nil
}

func (e *Enforcer) fill(p *Plan, policy uint32, trans bool) error {
	conf := p.Config
	conf.Policy = policy
	if err := e.objs.Conf.Put(uint32(0), &conf); err != nil {
		return fmt.Errorf("conf: %w", err)
	}
	if err := putAll(e.objs.Profiles, p.Profiles); err != nil {
		return fmt.Errorf("profiles: %w", err)
	}
	if err := putAll(e.objs.Dfas, p.DFAs); err != nil {
		return fmt.Errorf("dfas: %w", err)
	}
	if err := putAll(e.objs.Classes, p.Classes); err != nil {
		return fmt.Errorf("classes: %w", err)
	}
	if trans {
		if err := putAll(e.objs.Trans, p.Trans); err != nil {
			return fmt.Errorf("trans: %w", err)
		}
	}
	if err := putAll(e.objs.Accepts, p.Accepts); err != nil {
		return fmt.Errorf("accepts: %w", err)
	}
	if err := putAll(e.objs.Entries, p.Entries); err != nil {
		return fmt.Errorf("entries: %w", err)
	}
	return nil
}

// putAll stores vals[i] at key i of array map m, in batches when the kernel
// supports it.
func putAll[T any](m *ebpf.Map, vals []T) error {
	if len(vals) == 0 {
		return nil
	}
	keys := make([]uint32, len(vals))
	for i := range keys {
		keys[i] = uint32(i)
	}
	n, err := m.BatchUpdate(keys, vals, nil)
	if err == nil && n == len(vals) {
		return nil
	}
	if err != nil && !errors.Is(err, ebpf.ErrNotSupported) {
		return err
	}
	for i := range vals {
		if err := m.Put(keys[i], &vals[i]); err != nil {
			return fmt.Errorf("key %d: %w", i, err)
		}
	}
	return nil
}

// ReadEvent blocks until the kernel logs an event, and returns it. After
// Close it returns os.ErrClosed.
func (e *Enforcer) ReadEvent() (Event, error) {
	rec, err := e.events.Read()
	if err != nil {
		return Event{}, err
	}
	return e.dec.Decode(rec.RawSample)
}

// Counters reads what the kernel programs could not do.
func (e *Enforcer) Counters() (Counters, error) { return readCounters(e.objs.Counters) }

func readCounters(m *ebpf.Map) (Counters, error) {
	var c [3]uint64
	for i := range c {
		if err := m.Lookup(uint32(i), &c[i]); err != nil {
			return Counters{}, fmt.Errorf("read counters: %w", err)
		}
	}
	return Counters{EventsLost: c[0], ChildrenUntraced: c[1], TaintsUnshared: c[2]}, nil
}

// Close detaches every program and frees every map. Confined processes run
// unconfined from then on. Calling it again returns the first call's result.
func (e *Enforcer) Close() error {
	e.closeOnce.Do(func() { e.closeErr = e.close() })
	return e.closeErr
}

func (e *Enforcer) close() error {
	var errs []error
	for i := len(e.links) - 1; i >= 0; i-- {
		errs = append(errs, e.links[i].Close())
	}
	e.links, e.linkNames, e.linkProgs = nil, nil, nil
	// The reader stays set: a ReadEvent running concurrently (or called
	// later) gets os.ErrClosed from it rather than a nil reader.
	if e.events != nil {
		errs = append(errs, e.events.Close())
	}
	for _, p := range e.scopeProgs {
		errs = append(errs, p.Close())
	}
	e.scopeProgs = nil
	errs = append(errs, e.objs.Close())
	return errors.Join(errs...)
}

// bootOffset is wall time minus CLOCK_BOOTTIME, which events are stamped with.
func bootOffset() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return 0
	}
	return time.Duration(time.Now().UnixNano() - ts.Nano())
}
