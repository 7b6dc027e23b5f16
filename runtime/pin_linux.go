//go:build linux

package runtime

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"

	"github.com/bpfbox/bpfbox/bpf/enforce"
	"github.com/bpfbox/bpfbox/compiler/bundle"
)

// DefaultPinDir is where apply --pin leaves a policy in bpffs.
const DefaultPinDir = "/sys/fs/bpf/bpfbox"

// A pinned policy is a directory in bpffs holding:
//
//	link_HOOK     one per attached program (pinned links keep them attached)
//	map_events    the event ring buffer
//	map_counters  lost events and the like
//	map_tasks     per-thread state (profile slot, taint), read by status
//	map_taints    taints shared by the threads of a process
//	map_taint_gen how many processes were ever tainted (is_tainted)
//	map_scratch   per-thread buffers, shared by a replacement so that it
//	              allocates none for the threads already running
//	map_conf      the config (its policy id; a replacement sets its successor)
//	map_bundle    the bundle's bytes, so events and status can name rules
//	map_slots     the policy id and the profile slots (JSON), so events and
//	              status can name profiles, and a replacement keep them
//
// A replacement (Replace) shares tasks, taints, events and counters with the
// policy it replaces and pins itself under DIR-new first; the two directories
// are then exchanged in one rename, so DIR always holds a whole policy.
const (
	pinLinkPrefix = "link_"
	pinEvents     = "map_events"
	pinCounters   = "map_counters"
	pinTasks      = "map_tasks"
	pinTaints     = "map_taints"
	pinScratch    = "map_scratch"
	pinTaintGen   = "map_taint_gen"
	pinConf       = "map_conf"
	pinBundle     = "map_bundle"
	pinSlots      = "map_slots"
	bundleChunk   = 4096
)

// slotsRecord is what map_slots holds.
type slotsRecord struct {
	Policy uint32 `json:"policy"`
	Slots  Slots  `json:"slots"`
}

// Pin makes the policy outlive this process: every link and the maps that
// status, events, unload and a replacement need are pinned under dir, with
// the bundle's bytes and the profile slots. After Pin, Close only releases
// this process's handles. On error nothing stays pinned.
func (e *Enforcer) Pin(dir string, bundleData []byte) (err error) {
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return fmt.Errorf("pin policy: %w (is bpffs mounted on /sys/fs/bpf?)", err)
	}
	if err := os.Mkdir(dir, 0o700); errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("pin policy: %s exists: a policy is already pinned", dir)
	} else if err != nil {
		return fmt.Errorf("pin policy: %w (is bpffs mounted on /sys/fs/bpf?)", err)
	}
	var pinned []interface{ Unpin() error }
	defer func() {
		if err != nil {
			for _, p := range pinned {
				p.Unpin()
			}
			os.RemoveAll(dir)
		}
	}()
	blob, err := bundleMap(bundleData)
	if err != nil {
		return fmt.Errorf("pin policy: %w", err)
	}
	defer blob.Close()
	slotsJSON, err := json.Marshal(slotsRecord{Policy: e.policy, Slots: e.slots})
	if err != nil {
		return fmt.Errorf("pin policy: %w", err)
	}
	slots, err := blobMap("bpfbox_slots", slotsJSON)
	if err != nil {
		return fmt.Errorf("pin policy: %w", err)
	}
	defer slots.Close()
	for name, m := range map[string]*ebpf.Map{
		pinEvents: e.objs.Events, pinCounters: e.objs.Counters, pinTasks: e.objs.Tasks, pinTaints: e.objs.Taints,
		pinConf: e.objs.Conf, pinBundle: blob, pinSlots: slots,
		pinScratch: e.objs.Scratch, pinTaintGen: e.objs.TaintGen,
	} {
		if err := m.Pin(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("pin policy: map %s: %w", name, err)
		}
		pinned = append(pinned, m)
	}
	for i, l := range e.links {
		if err := l.Pin(filepath.Join(dir, pinLinkPrefix+e.linkNames[i])); err != nil {
			return fmt.Errorf("pin policy: link %s: %w", e.linkNames[i], err)
		}
		pinned = append(pinned, l)
	}
	return nil
}

// bundleMap stores data (length first) in a new array map of 4 KiB chunks.
func bundleMap(data []byte) (*ebpf.Map, error) { return blobMap("bpfbox_bundle", data) }

// blobMap stores data (length first) in a new array map of 4 KiB chunks.
func blobMap(name string, data []byte) (*ebpf.Map, error) {
	blob := binary.LittleEndian.AppendUint64(nil, uint64(len(data)))
	blob = append(blob, data...)
	n := (len(blob) + bundleChunk - 1) / bundleChunk
	m, err := ebpf.NewMap(&ebpf.MapSpec{Name: name, Type: ebpf.Array, KeySize: 4, ValueSize: bundleChunk, MaxEntries: uint32(n)})
	if err != nil {
		return nil, fmt.Errorf("create bundle map: %w", err)
	}
	for i := 0; i < n; i++ {
		chunk := make([]byte, bundleChunk)
		copy(chunk, blob[i*bundleChunk:])
		if err := m.Put(uint32(i), chunk); err != nil {
			m.Close()
			return nil, fmt.Errorf("fill bundle map: %w", err)
		}
	}
	return m, nil
}

// Pinned is a policy pinned by apply --pin, opened by status, events and
// a replacement.
type Pinned struct {
	Bundle *bundle.Bundle
	Slots  Slots  // the profile slots (the bundle's numbering when not pinned)
	Policy uint32 // the policy's id (0 when not pinned)
	dir    string

	events   *ebpf.Map
	counters *ebpf.Map
	tasks    *ebpf.Map
	taints   *ebpf.Map // nil when not pinned (an older bpfbox)
	conf     *ebpf.Map // nil when not pinned (an older bpfbox)
	scratch  *ebpf.Map // nil when not pinned (an older bpfbox)
	taintGen *ebpf.Map // nil when not pinned (an older bpfbox)
}

// ErrNotPinned says that no policy is pinned at the directory.
var ErrNotPinned = errors.New("no policy is pinned")

// OpenPinned opens the policy pinned under dir.
func OpenPinned(dir string) (*Pinned, error) {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("open pinned policy: %w at %s (apply one with bpfbox-run apply --pin)", ErrNotPinned, dir)
	}
	p := &Pinned{dir: dir}
	var err error
	load := func(name string, optional bool) *ebpf.Map {
		if err != nil {
			return nil
		}
		m, lerr := ebpf.LoadPinnedMap(filepath.Join(dir, name), nil)
		if optional && errors.Is(lerr, fs.ErrNotExist) {
			return nil
		}
		if lerr != nil {
			err = fmt.Errorf("open pinned policy: %s: %w", name, lerr)
		}
		return m
	}
	p.events, p.counters, p.tasks = load(pinEvents, false), load(pinCounters, false), load(pinTasks, false)
	p.taints, p.conf = load(pinTaints, true), load(pinConf, true)
	p.scratch, p.taintGen = load(pinScratch, true), load(pinTaintGen, true)
	blob := load(pinBundle, false)
	slots := load(pinSlots, true)
	if err != nil {
		p.Close()
		return nil, err
	}
	defer blob.Close()
	data, err := readBundleMap(blob)
	if err == nil {
		p.Bundle, err = bundle.Decode(data)
	}
	if err != nil {
		p.Close()
		return nil, fmt.Errorf("open pinned policy: bundle: %w", err)
	}
	p.Slots = IdentitySlots(p.Bundle)
	if slots != nil {
		defer slots.Close()
		var rec slotsRecord
		data, err := readBundleMap(slots)
		if err == nil {
			err = json.Unmarshal(data, &rec)
		}
		if err == nil {
			err = checkSlots(rec.Slots, p.Bundle)
		}
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("open pinned policy: slots: %w", err)
		}
		p.Slots, p.Policy = rec.Slots, rec.Policy
	}
	return p, nil
}

// checkSlots checks that slots number the profiles of b.
func checkSlots(slots Slots, b *bundle.Bundle) error {
	n := 0
	for i, s := range slots {
		if s.Profile == NoProfile {
			continue
		}
		if s.Profile < 0 || s.Profile >= len(b.Profiles) || b.Profiles[s.Profile].Pattern != s.Pattern {
			return fmt.Errorf("slot %d (%s) names no profile of the bundle", i, s.Pattern)
		}
		n++
	}
	if n != len(b.Profiles) {
		return fmt.Errorf("%d slots for %d profiles", n, len(b.Profiles))
	}
	return nil
}

func readBundleMap(m *ebpf.Map) ([]byte, error) {
	var blob []byte
	for i := uint32(0); i < m.MaxEntries(); i++ {
		chunk := make([]byte, bundleChunk)
		if err := m.Lookup(i, &chunk); err != nil {
			return nil, err
		}
		blob = append(blob, chunk...)
	}
	if len(blob) < 8 {
		return nil, fmt.Errorf("bundle map is empty")
	}
	n := binary.LittleEndian.Uint64(blob)
	if n > uint64(len(blob)-8) {
		return nil, fmt.Errorf("bundle map holds %d bytes, says %d", len(blob)-8, n)
	}
	return blob[8 : 8+n], nil
}

// Close releases this process's handles; the policy stays pinned.
func (p *Pinned) Close() error {
	var errs []error
	for _, m := range []*ebpf.Map{p.events, p.counters, p.tasks, p.taints, p.conf, p.scratch, p.taintGen} {
		if m != nil {
			errs = append(errs, m.Close())
		}
	}
	return errors.Join(errs...)
}

// Events returns a reader of the pinned policy's events. The reader keeps
// following them across replacements (apply --pin over the policy): the new
// policy writes to the same ring buffer, and the reader names the profiles
// and rules of each event from the bundle of the policy that logged it.
func (p *Pinned) Events() (*EventReader, error) {
	rd, err := ringbuf.NewReader(p.events)
	if err != nil {
		return nil, fmt.Errorf("open event ring buffer: %w", err)
	}
	boot := bootOffset()
	r := &EventReader{rd: rd, dir: p.dir, boot: boot, decs: map[uint32]*Decoder{}}
	r.decs[p.Policy] = NewDecoder(p.Bundle, boot).withSlots(p.Slots)
	return r, nil
}

// EventReader follows a pinned policy's events.
type EventReader struct {
	rd   *ringbuf.Reader
	dir  string
	boot time.Duration
	decs map[uint32]*Decoder // by policy id
}

// Read blocks until an event arrives; after Close it returns os.ErrClosed.
func (r *EventReader) Read() (Event, error) {
	rec, err := r.rd.Read()
	if err != nil {
		return Event{}, err
	}
	id, _ := eventPolicy(rec.RawSample)
	return r.decoder(id).Decode(rec.RawSample)
}

// decoder returns the decoder of policy id. An id not seen yet is a policy
// that replaced the one followed: its events can come before its pins take
// the place of the old ones (it is attached, then pinned under DIR-new, then
// the two are exchanged), so both places are looked at, for up to
// replaceWait. An event of a policy never found there (a replacement that
// failed) names its profile and rules by number only.
func (r *EventReader) decoder(id uint32) *Decoder {
	if d := r.decs[id]; d != nil {
		return d
	}
	for deadline := time.Now().Add(replaceWait); ; time.Sleep(20 * time.Millisecond) {
		for _, dir := range []string{r.dir, r.dir + replaceSuffix} {
			if p, err := OpenPinned(dir); err == nil {
				r.decs[p.Policy] = NewDecoder(p.Bundle, r.boot).withSlots(p.Slots)
				p.Close()
			}
		}
		if d := r.decs[id]; d != nil {
			return d
		}
		if time.Now().After(deadline) {
			d := NewDecoder(&bundle.Bundle{}, r.boot).withSlots(Slots{})
			r.decs[id] = d
			return d
		}
	}
}

// replaceWait bounds how long an event reader waits for the pins of a
// policy whose events it reads.
const replaceWait = 5 * time.Second

// Close stops Read.
func (r *EventReader) Close() error { return r.rd.Close() }

// Counters reads the pinned policy's counters.
func (p *Pinned) Counters() (Counters, error) {
	return readCounters(p.counters)
}

// Confined is one process the pinned policy confines.
type Confined struct {
	PID     int
	Comm    string
	Profile string
	Tainted bool
}

// Confined lists the confined processes (thread group leaders), by PID. A
// process whose profile a replacement dropped is not confined.
func (p *Pinned) Confined() ([]Confined, error) {
	states, err := p.processes()
	if err != nil {
		return nil, err
	}
	var out []Confined
	for _, st := range states {
		idx, ok := p.Slots.profileOf(st.slot)
		if !ok {
			continue
		}
		c := Confined{PID: st.pid, Tainted: st.tainted, Profile: p.Bundle.Profiles[idx].Pattern}
		if comm, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(st.pid), "comm")); err == nil {
			c.Comm = strings.TrimSpace(string(comm))
		}
		out = append(out, c)
	}
	return out, nil
}

// procState is the state of a process (its thread group leader) that has a
// profile slot.
type procState struct {
	pid     int
	slot    uint32
	tainted bool
}

// processes lists, by PID, the processes with a profile slot in the pinned
// task state, whether or not the policy holds the slot.
func (p *Pinned) processes() ([]procState, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	var out []procState
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		fd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			continue // gone
		}
		var st enforce.EnforceTaskState
		err = p.tasks.Lookup(uint32(fd), &st)
		unix.Close(fd)
		if err != nil || st.Profile == 0 {
			continue
		}
		out = append(out, procState{pid: pid, slot: st.Profile - 1, tainted: st.Tainted != 0})
	}
	slices.SortFunc(out, func(a, b procState) int { return a.pid - b.pid })
	return out, nil
}

// Unload detaches the policy pinned under dir and removes the pins. The
// exec hook goes first, so no process becomes confined while the rest is
// detached.
func Unload(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("unload: %w at %s", ErrNotPinned, dir)
	}
	if err != nil {
		return fmt.Errorf("unload: %w", err)
	}
	var names []string
	for _, ent := range ents {
		if strings.HasPrefix(ent.Name(), pinLinkPrefix) {
			names = append(names, ent.Name())
		}
	}
	slices.SortFunc(names, func(a, b string) int {
		exec := pinLinkPrefix + "bprm_creds_for_exec"
		switch {
		case a == exec:
			return -1
		case b == exec:
			return 1
		}
		return strings.Compare(a, b)
	})
	var errs []error
	for _, name := range names {
		l, err := link.LoadPinnedLink(filepath.Join(dir, name), nil)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		errs = append(errs, l.Unpin(), l.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("unload: %w", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("unload: %w", err)
	}
	return nil
}
