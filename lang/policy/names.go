package policy

import (
	"math/bits"
	"strings"
)

// FSMode is a set of fs access modes (bit values are stable).
type FSMode uint32

const (
	FSRead    FSMode = 1 << 0
	FSWrite   FSMode = 1 << 1
	FSAppend  FSMode = 1 << 2
	FSExec    FSMode = 1 << 3
	FSMap     FSMode = 1 << 4
	FSCreate  FSMode = 1 << 5
	FSDelete  FSMode = 1 << 6
	FSRename  FSMode = 1 << 7
	FSLink    FSMode = 1 << 8
	FSSetattr FSMode = 1 << 9
	FSIoctl   FSMode = 1 << 10
)

// FSModeNames lists fs modes in canonical order.
var FSModeNames = []Named[FSMode]{
	{"read", FSRead}, {"write", FSWrite}, {"append", FSAppend}, {"exec", FSExec},
	{"map", FSMap}, {"create", FSCreate}, {"delete", FSDelete}, {"rename", FSRename},
	{"link", FSLink}, {"setattr", FSSetattr}, {"ioctl", FSIoctl},
}

func (m FSMode) String() string { return join(FSModeNames, m) }

// Family is a socket address family for net rules.
type Family uint8

const (
	FamilyAny     Family = 0
	FamilyUnix    Family = 1
	FamilyInet    Family = 2
	FamilyInet6   Family = 3
	FamilyNetlink Family = 4
	FamilyPacket  Family = 5
)

// FamilyNames lists families in canonical order.
var FamilyNames = []Named[Family]{
	{"unix", FamilyUnix}, {"inet", FamilyInet}, {"inet6", FamilyInet6},
	{"netlink", FamilyNetlink}, {"packet", FamilyPacket}, {"any", FamilyAny},
}

func (f Family) String() string {
	for _, n := range FamilyNames {
		if n.Value == f {
			return n.Name
		}
	}
	return "family?"
}

// NetOp is a set of socket operations.
type NetOp uint32

const (
	NetCreate   NetOp = 1 << 0
	NetBind     NetOp = 1 << 1
	NetConnect  NetOp = 1 << 2
	NetListen   NetOp = 1 << 3
	NetAccept   NetOp = 1 << 4
	NetSend     NetOp = 1 << 5
	NetRecv     NetOp = 1 << 6
	NetShutdown NetOp = 1 << 7
)

// NetOpNames lists socket operations in canonical order.
var NetOpNames = []Named[NetOp]{
	{"create", NetCreate}, {"bind", NetBind}, {"connect", NetConnect}, {"listen", NetListen},
	{"accept", NetAccept}, {"send", NetSend}, {"recv", NetRecv}, {"shutdown", NetShutdown},
}

func (o NetOp) String() string { return join(NetOpNames, o) }

// PtraceMode is a set of ptrace access modes.
type PtraceMode uint32

const (
	PtraceRead   PtraceMode = 1 << 0
	PtraceAttach PtraceMode = 1 << 1
)

// PtraceModeNames lists ptrace modes in canonical order.
var PtraceModeNames = []Named[PtraceMode]{{"read", PtraceRead}, {"attach", PtraceAttach}}

func (m PtraceMode) String() string { return join(PtraceModeNames, m) }

// SigSet is a set of signals: bit N is signal N (Linux x86-64 numbering);
// bit 0 is the existence check kill(pid, 0). Real-time signals 32..63 have
// their own bits; signal 64 shares bit 63.
type SigSet uint64

// SignalNames are the single signals, by Linux number.
var SignalNames = []Named[SigSet]{
	{"sighup", 1 << 1}, {"sigint", 1 << 2}, {"sigquit", 1 << 3}, {"sigill", 1 << 4},
	{"sigtrap", 1 << 5}, {"sigabrt", 1 << 6}, {"sigbus", 1 << 7}, {"sigfpe", 1 << 8},
	{"sigkill", 1 << 9}, {"sigusr1", 1 << 10}, {"sigsegv", 1 << 11}, {"sigusr2", 1 << 12},
	{"sigpipe", 1 << 13}, {"sigalrm", 1 << 14}, {"sigterm", 1 << 15}, {"sigstkflt", 1 << 16},
	{"sigchld", 1 << 17}, {"sigcont", 1 << 18}, {"sigstop", 1 << 19}, {"sigtstp", 1 << 20},
	{"sigttin", 1 << 21}, {"sigttou", 1 << 22}, {"sigurg", 1 << 23}, {"sigxcpu", 1 << 24},
	{"sigxfsz", 1 << 25}, {"sigvtalrm", 1 << 26}, {"sigprof", 1 << 27}, {"sigwinch", 1 << 28},
	{"sigio", 1 << 29}, {"sigpwr", 1 << 30}, {"sigsys", 1 << 31},
}

// Signal groups.
const (
	// SigFatal: every standard signal whose default action ends the process.
	SigFatal SigSet = 1<<1 | 1<<2 | 1<<3 | 1<<4 | 1<<5 | 1<<6 | 1<<7 | 1<<8 | 1<<9 | 1<<10 |
		1<<11 | 1<<12 | 1<<13 | 1<<14 | 1<<15 | 1<<16 | 1<<24 | 1<<25 | 1<<26 | 1<<27 | 1<<29 | 1<<30 | 1<<31
	SigStop  SigSet = 1<<19 | 1<<20 | 1<<21 | 1<<22 // sigstop sigtstp sigttin sigttou
	SigCheck SigSet = 1 << 0                        // kill(pid, 0)
	SigAll   SigSet = ^SigSet(0)
)

// SignalGroupNames are the named groups of signals.
var SignalGroupNames = []Named[SigSet]{{"fatal", SigFatal}, {"stop", SigStop}, {"check", SigCheck}, {"all", SigAll}}

func (s SigSet) String() string {
	if s == SigAll {
		return "all"
	}
	var parts []string
	if s&SigCheck != 0 {
		parts = append(parts, "check")
	}
	for _, n := range SignalNames {
		if s&n.Value != 0 {
			parts = append(parts, n.Name)
		}
	}
	for i := 32; i < 64; i++ {
		if s&(1<<i) != 0 {
			parts = append(parts, "sig"+itoa(i))
		}
	}
	return strings.Join(parts, "|")
}

// CapSet is a set of capabilities: bit N is CAP number N.
type CapSet uint64

// CapNames are the Linux capabilities, lower-case without CAP_, by number.
var CapNames = []Named[CapSet]{
	{"chown", 1 << 0}, {"dac_override", 1 << 1}, {"dac_read_search", 1 << 2}, {"fowner", 1 << 3},
	{"fsetid", 1 << 4}, {"kill", 1 << 5}, {"setgid", 1 << 6}, {"setuid", 1 << 7},
	{"setpcap", 1 << 8}, {"linux_immutable", 1 << 9}, {"net_bind_service", 1 << 10}, {"net_broadcast", 1 << 11},
	{"net_admin", 1 << 12}, {"net_raw", 1 << 13}, {"ipc_lock", 1 << 14}, {"ipc_owner", 1 << 15},
	{"sys_module", 1 << 16}, {"sys_rawio", 1 << 17}, {"sys_chroot", 1 << 18}, {"sys_ptrace", 1 << 19},
	{"sys_pacct", 1 << 20}, {"sys_admin", 1 << 21}, {"sys_boot", 1 << 22}, {"sys_nice", 1 << 23},
	{"sys_resource", 1 << 24}, {"sys_time", 1 << 25}, {"sys_tty_config", 1 << 26}, {"mknod", 1 << 27},
	{"lease", 1 << 28}, {"audit_write", 1 << 29}, {"audit_control", 1 << 30}, {"setfcap", 1 << 31},
	{"mac_override", 1 << 32}, {"mac_admin", 1 << 33}, {"syslog", 1 << 34}, {"wake_alarm", 1 << 35},
	{"block_suspend", 1 << 36}, {"audit_read", 1 << 37}, {"perfmon", 1 << 38}, {"bpf", 1 << 39},
	{"checkpoint_restore", 1 << 40},
}

func (c CapSet) String() string { return join(CapNames, c) }

// TargetNames are the keyword targets of signal and ptrace rules.
var TargetNames = []Named[TargetKind]{
	{"self", TargetSelf}, {"child", TargetChild}, {"parent", TargetParent}, {"any", TargetAny},
}

func (t Target) String() string {
	if t.Kind == TargetProfile {
		return `"` + t.Profile + `"`
	}
	for _, n := range TargetNames {
		if n.Value == t.Kind {
			return n.Name
		}
	}
	return "target?"
}

// Named pairs a source-level name with its value.
type Named[T any] struct {
	Name  string
	Value T
}

// Lookup finds name in table.
func Lookup[T any](table []Named[T], name string) (T, bool) {
	for _, n := range table {
		if n.Name == name {
			return n.Value, true
		}
	}
	var zero T
	return zero, false
}

// Names returns the names of table, in order.
func Names[T any](table []Named[T]) []string {
	out := make([]string, len(table))
	for i, n := range table {
		out[i] = n.Name
	}
	return out
}

type bitset interface {
	~uint32 | ~uint64
}

func join[T bitset](table []Named[T], v T) string {
	var parts []string
	for _, n := range table {
		if v&n.Value != 0 && bits.OnesCount64(uint64(n.Value)) == 1 {
			parts = append(parts, n.Name)
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "|")
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}
