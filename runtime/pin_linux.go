//go:build linux

package runtime

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

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
//	map_tasks     per-thread state (profile, taint), read by status
//	map_bundle    the bundle's bytes, so events and status can name rules
const (
	pinLinkPrefix = "link_"
	pinEvents     = "map_events"
	pinCounters   = "map_counters"
	pinTasks      = "map_tasks"
	pinBundle     = "map_bundle"
	bundleChunk   = 4096
)

// Pin makes the policy outlive this process: every link and the maps that
// status, events and unload need are pinned under dir, with the bundle's
// bytes. After Pin, Close only releases this process's handles. On error
// nothing stays pinned.
func (e *Enforcer) Pin(dir string, bundleData []byte) (err error) {
	if _, err := os.Stat(dir); err == nil {
		return fmt.Errorf("pin policy: %s exists: a policy is already pinned (remove it with bpfbox-run unload)", dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
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
	for name, m := range map[string]*ebpf.Map{
		pinEvents: e.objs.Events, pinCounters: e.objs.Counters, pinTasks: e.objs.Tasks, pinBundle: blob,
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
func bundleMap(data []byte) (*ebpf.Map, error) {
	blob := binary.LittleEndian.AppendUint64(nil, uint64(len(data)))
	blob = append(blob, data...)
	n := (len(blob) + bundleChunk - 1) / bundleChunk
	m, err := ebpf.NewMap(&ebpf.MapSpec{Name: "bpfbox_bundle", Type: ebpf.Array, KeySize: 4, ValueSize: bundleChunk, MaxEntries: uint32(n)})
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

// Pinned is a policy pinned by apply --pin, opened by status and events.
type Pinned struct {
	Bundle   *bundle.Bundle
	events   *ebpf.Map
	counters *ebpf.Map
	tasks    *ebpf.Map
}

// ErrNotPinned says that no policy is pinned at the directory.
var ErrNotPinned = errors.New("no policy is pinned")

// OpenPinned opens the policy pinned under dir.
func OpenPinned(dir string) (*Pinned, error) {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("open pinned policy: %w at %s (apply one with bpfbox-run apply --pin)", ErrNotPinned, dir)
	}
	p := &Pinned{}
	var err error
	load := func(name string) *ebpf.Map {
		if err != nil {
			return nil
		}
		var m *ebpf.Map
		m, err = ebpf.LoadPinnedMap(filepath.Join(dir, name), nil)
		if err != nil {
			err = fmt.Errorf("open pinned policy: %s: %w", name, err)
		}
		return m
	}
	p.events, p.counters, p.tasks = load(pinEvents), load(pinCounters), load(pinTasks)
	blob := load(pinBundle)
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
	return p, nil
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
	for _, m := range []*ebpf.Map{p.events, p.counters, p.tasks} {
		if m != nil {
			errs = append(errs, m.Close())
		}
	}
	return errors.Join(errs...)
}

// Events returns a reader of the pinned policy's events.
func (p *Pinned) Events() (*EventReader, error) {
	rd, err := ringbuf.NewReader(p.events)
	if err != nil {
		return nil, fmt.Errorf("open event ring buffer: %w", err)
	}
	return &EventReader{rd: rd, dec: NewDecoder(p.Bundle, bootOffset())}, nil
}

// EventReader follows a pinned policy's events.
type EventReader struct {
	rd  *ringbuf.Reader
	dec *Decoder
}

// Read blocks until an event arrives; after Close it returns os.ErrClosed.
func (r *EventReader) Read() (Event, error) {
	rec, err := r.rd.Read()
	if err != nil {
		return Event{}, err
	}
	return r.dec.Decode(rec.RawSample)
}

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

// Confined lists the confined processes (thread group leaders), by PID.
func (p *Pinned) Confined() ([]Confined, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	var out []Confined
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
		c := Confined{PID: pid, Tainted: st.Tainted != 0, Profile: fmt.Sprintf("profile %d", st.Profile-1)}
		if int(st.Profile-1) < len(p.Bundle.Profiles) {
			c.Profile = p.Bundle.Profiles[st.Profile-1].Pattern
		}
		if comm, err := os.ReadFile(filepath.Join("/proc", ent.Name(), "comm")); err == nil {
			c.Comm = strings.TrimSpace(string(comm))
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Confined) int { return a.PID - b.PID })
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
