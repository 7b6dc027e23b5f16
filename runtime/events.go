package runtime

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
	"unsafe"

	"github.com/bpfbox/bpfbox/bpf/enforce"
	"github.com/bpfbox/bpfbox/compiler/bundle"
	"github.com/bpfbox/bpfbox/lang/policy"
)

// Event is one decision the kernel logged, resolved against the bundle.
type Event struct {
	Time           time.Time `json:"time"`
	PID            uint32    `json:"pid"`
	TID            uint32    `json:"tid"`
	Comm           string    `json:"comm"`
	Profile        string    `json:"profile,omitempty"`     // the confining profile's pattern
	NewProfile     string    `json:"new_profile,omitempty"` // exec: the profile after it
	Op             string    `json:"op"`
	Path           string    `json:"path,omitempty"`
	Family         string    `json:"family,omitempty"`     // net: the socket's family ("other" when no rule can name it)
	TargetPID      uint32    `json:"target_pid,omitempty"` // signal, ptrace: the target process
	Requested      string    `json:"requested,omitempty"`  // fs modes ("read|write"), net op, signal, ptrace mode or capability
	Decision       string    `json:"decision"`             // "allow" or "deny"
	Enforced       bool      `json:"enforced"`             // false under complain: nothing was refused
	Taint          bool      `json:"taint,omitempty"`      // this access tainted the process
	Tainted        bool      `json:"tainted,omitempty"`    // the process was tainted before
	Audit          bool      `json:"audit,omitempty"`
	Transition     bool      `json:"transition,omitempty"`
	Attach         bool      `json:"attach,omitempty"`  // exec confined an unconfined process
	Reason         string    `json:"reason,omitempty"`  // why, when no rule decided
	Missing        string    `json:"missing,omitempty"` // tainted default deny: the modes no rule grants
	Rule           string    `json:"rule,omitempty"`    // FILE:LINE:COL of the deciding rule
	RuleText       string    `json:"rule_text,omitempty"`
	AuditRule      string    `json:"audit_rule,omitempty"`      // FILE:LINE:COL of the #[audit] rule
	TransitionRule string    `json:"transition_rule,omitempty"` // FILE:LINE:COL of the #[transition] rule
}

// Event flags: the values of enforce.bpf.c's enum event_flag.
const (
	evDeny       = uint32(enforce.EnforceEventFlagEV_DENY)
	evTaint      = uint32(enforce.EnforceEventFlagEV_TAINT)
	evAudit      = uint32(enforce.EnforceEventFlagEV_AUDIT)
	evComplain   = uint32(enforce.EnforceEventFlagEV_COMPLAIN)
	evTransition = uint32(enforce.EnforceEventFlagEV_TRANSITION)
	evAttach     = uint32(enforce.EnforceEventFlagEV_ATTACH)
	evTainted    = uint32(enforce.EnforceEventFlagEV_TAINTED)
	evNoRule     = uint32(enforce.EnforceEventFlagEV_NO_RULE)
	evPathError  = uint32(enforce.EnforceEventFlagEV_PATH_ERROR)
)

var opNames = map[uint32]string{
	uint32(enforce.EnforceBbOpBB_OP_EXEC):     "exec",
	uint32(enforce.EnforceBbOpBB_OP_OPEN):     "open",
	uint32(enforce.EnforceBbOpBB_OP_BPF):      "bpf",
	uint32(enforce.EnforceBbOpBB_OP_MMAP):     "mmap",
	uint32(enforce.EnforceBbOpBB_OP_CREATE):   "create",
	uint32(enforce.EnforceBbOpBB_OP_DELETE):   "delete",
	uint32(enforce.EnforceBbOpBB_OP_RENAME):   "rename",
	uint32(enforce.EnforceBbOpBB_OP_LINK):     "link",
	uint32(enforce.EnforceBbOpBB_OP_SETATTR):  "setattr",
	uint32(enforce.EnforceBbOpBB_OP_MPROTECT): "mprotect",
	uint32(enforce.EnforceBbOpBB_OP_IOCTL):    "ioctl",
	opNet:                                     "net",
	opSignal:                                  "signal",
	opPtrace:                                  "ptrace",
	opCap:                                     "cap",
}

const (
	opNet    = uint32(enforce.EnforceBbOpBB_OP_NET)
	opSignal = uint32(enforce.EnforceBbOpBB_OP_SIGNAL)
	opPtrace = uint32(enforce.EnforceBbOpBB_OP_PTRACE)
	opCap    = uint32(enforce.EnforceBbOpBB_OP_CAP)
)

// modeString names requested or missing mode bits of an event of op.
func modeString(op uint32, m uint64) string {
	switch op {
	case opNet:
		return policy.NetOp(m).String()
	case opSignal:
		return policy.SigSet(m).String()
	case opPtrace:
		return policy.PtraceMode(m).String()
	case opCap:
		return policy.CapSet(m).String()
	}
	return policy.FSMode(m).String()
}

const noneIdx = ^uint32(0)

// eventHeaderSize is where the path starts in a ring buffer record.
var eventHeaderSize = int(unsafe.Offsetof(enforce.EnforceEvent{}.Path))

// Decoder turns ring buffer records into Events.
type Decoder struct {
	b     *bundle.Bundle
	slots Slots // nil: the bundle's numbering
	// bootOffset converts the kernel's boot-time clock to wall time.
	bootOffset time.Duration
}

// NewDecoder resolves profiles and rules against b. bootOffset is wall time
// minus CLOCK_BOOTTIME.
func NewDecoder(b *bundle.Bundle, bootOffset time.Duration) *Decoder {
	return &Decoder{b: b, bootOffset: bootOffset}
}

// withSlots resolves the profile slots of events through slots.
func (d *Decoder) withSlots(s Slots) *Decoder {
	d.slots = s
	return d
}

// eventPolicy is the id of the policy that logged a ring buffer record.
func eventPolicy(rec []byte) (uint32, bool) {
	off := int(unsafe.Offsetof(enforce.EnforceEvent{}.Policy))
	if len(rec) < off+4 {
		return 0, false
	}
	return binary.LittleEndian.Uint32(rec[off:]), true
}

// Decode decodes one ring buffer record.
func (d *Decoder) Decode(rec []byte) (Event, error) {
	if len(rec) < eventHeaderSize {
		return Event{}, fmt.Errorf("decode event: record of %d bytes is shorter than the %d-byte header", len(rec), eventHeaderSize)
	}
	var raw enforce.EnforceEvent
	buf := make([]byte, binary.Size(&raw))
	copy(buf, rec)
	if _, err := binary.Decode(buf, binary.LittleEndian, &raw); err != nil {
		return Event{}, fmt.Errorf("decode event: %w", err)
	}
	pathLen := int(raw.PathLen)
	if eventHeaderSize+pathLen > len(rec) {
		return Event{}, fmt.Errorf("decode event: path of %d bytes overruns the %d-byte record", pathLen, len(rec))
	}
	ev := Event{
		Time:       time.Unix(0, int64(raw.TimeNs)).Add(d.bootOffset).UTC(),
		PID:        raw.Pid,
		TID:        raw.Tid,
		Comm:       cString(raw.Comm[:]),
		Profile:    d.profile(raw.Profile),
		Op:         opNames[raw.Op],
		Path:       string(rec[eventHeaderSize : eventHeaderSize+pathLen]),
		Decision:   "allow",
		Enforced:   raw.Flags&evComplain == 0,
		Taint:      raw.Flags&evTaint != 0,
		Tainted:    raw.Flags&evTainted != 0,
		Audit:      raw.Flags&evAudit != 0,
		Transition: raw.Flags&evTransition != 0,
		Attach:     raw.Flags&evAttach != 0,
	}
	if ev.Op == "" {
		ev.Op = fmt.Sprintf("op%d", raw.Op)
	}
	if raw.Requested != 0 {
		ev.Requested = modeString(raw.Op, raw.Requested)
	}
	switch raw.Op {
	case opNet:
		ev.Family = "other"
		if raw.Family != 0 {
			ev.Family = policy.Family(raw.Family).String()
		}
	case opSignal, opPtrace:
		ev.TargetPID = raw.TargetPid
	}
	if raw.Flags&evDeny != 0 {
		ev.Decision = "deny"
	}
	if raw.NewProfile != noneIdx && (ev.Attach || ev.Transition) {
		ev.NewProfile = d.profile(raw.NewProfile)
	}
	switch {
	case raw.Flags&evPathError != 0:
		ev.Reason = "the path could not be resolved (fail closed)"
	case raw.Op == uint32(enforce.EnforceBbOpBB_OP_BPF):
		ev.Reason = "confined processes may not use bpf()"
	case raw.Flags&evNoRule != 0:
		ev.Reason = "tainted: no rule grants every requested mode (default deny)"
	}
	if raw.Missing != 0 {
		ev.Missing = modeString(raw.Op, raw.Missing)
	}
	if raw.AuditRule != noneIdx {
		ev.AuditRule = RulePos(d.b, raw.AuditRule)
	}
	if raw.TransitionRule != noneIdx {
		ev.TransitionRule = RulePos(d.b, raw.TransitionRule)
	}
	if raw.Rule != noneIdx {
		ev.Rule = RulePos(d.b, raw.Rule)
		if int(raw.Rule) < len(d.b.Rules) {
			ev.RuleText = d.b.Rules[raw.Rule].Text
		}
	}
	return ev, nil
}

func (d *Decoder) profile(i uint32) string {
	if d.slots != nil {
		if int64(i) < int64(len(d.slots)) {
			return d.slots[i].Pattern
		}
	} else if int(i) < len(d.b.Profiles) {
		return d.b.Profiles[i].Pattern
	}
	if i == noneIdx {
		return ""
	}
	return fmt.Sprintf("profile %d", i)
}

func cString(b []int8) string {
	u := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(b))), len(b))
	if i := bytes.IndexByte(u, 0); i >= 0 {
		u = u[:i]
	}
	return string(u)
}

// EventFormat is how events are printed.
type EventFormat string

const (
	EventsJSON EventFormat = "json"
	EventsText EventFormat = "text"
	EventsNone EventFormat = "none"
)

// WriteEvent prints ev in format f (one line).
func WriteEvent(w io.Writer, f EventFormat, ev Event) error {
	switch f {
	case EventsNone:
		return nil
	case EventsJSON:
		b, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		b = append(b, '\n')
		_, err = w.Write(b)
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", ev.Time.Format(time.RFC3339Nano), ev.Decision)
	if !ev.Enforced {
		b.WriteString(" (complain)")
	}
	fmt.Fprintf(&b, " %s", ev.Op)
	if ev.Path != "" {
		fmt.Fprintf(&b, " %s", ev.Path)
	}
	if ev.Family != "" {
		fmt.Fprintf(&b, " %s", ev.Family)
	}
	if ev.Requested != "" {
		fmt.Fprintf(&b, " %s", ev.Requested)
	}
	if ev.TargetPID != 0 {
		fmt.Fprintf(&b, " target=%d", ev.TargetPID)
	}
	fmt.Fprintf(&b, " pid=%d tid=%d comm=%q", ev.PID, ev.TID, ev.Comm)
	if ev.Profile != "" {
		fmt.Fprintf(&b, " profile=%s", ev.Profile)
	}
	for _, f := range []struct {
		on   bool
		name string
	}{{ev.Taint, "taint"}, {ev.Tainted, "tainted"}, {ev.Audit, "audit"}, {ev.Transition, "transition"}, {ev.Attach, "attach"}} {
		if f.on {
			b.WriteString(" " + f.name)
		}
	}
	if ev.NewProfile != "" {
		fmt.Fprintf(&b, " new_profile=%s", ev.NewProfile)
	}
	if ev.Rule != "" {
		fmt.Fprintf(&b, " rule=%s", ev.Rule)
		if ev.RuleText != "" {
			fmt.Fprintf(&b, " %s", ev.RuleText)
		}
	}
	if ev.AuditRule != "" && ev.AuditRule != ev.Rule {
		fmt.Fprintf(&b, " audit_rule=%s", ev.AuditRule)
	}
	if ev.TransitionRule != "" && ev.TransitionRule != ev.Rule {
		fmt.Fprintf(&b, " transition_rule=%s", ev.TransitionRule)
	}
	if ev.Missing != "" {
		fmt.Fprintf(&b, " missing=%s", ev.Missing)
	}
	if ev.Reason != "" {
		fmt.Fprintf(&b, " (%s)", ev.Reason)
	}
	b.WriteByte('\n')
	_, err := io.WriteString(w, b.String())
	return err
}

// ParseEventFormat checks a --events value.
func ParseEventFormat(s string) (EventFormat, error) {
	switch f := EventFormat(s); f {
	case EventsJSON, EventsText, EventsNone:
		return f, nil
	}
	return "", fmt.Errorf("unknown event format %q (want json, text or none)", s)
}
