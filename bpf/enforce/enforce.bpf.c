//go:build ignore

// SPDX-License-Identifier: GPL-2.0
//
// bpfbox enforcement: BPF LSM programs that confine processes by profile.
//
// A process becomes confined when it execs a file whose resolved path the
// bundle's exec-attachment DFA accepts. Confined accesses are decided by
// walking the profile's fs DFA over the bpf_d_path() result (bpf_loop, one
// byte per step) and combining the permission entries of the accepting state.
// The maps are filled by runtime/ from a compiled bundle before any program
// is attached; their layouts are shared with Go through bpf2go's -type.
//
// Per-thread state (profile, taint, pending exec) lives in task storage of the
// thread itself, so sleepable hooks only ever touch the trusted `current`.
// Taint is per process: a thread that taints also records it in the `taints`
// hash under (tgid, leader start time), where the other threads find it.

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

#define EPERM 1
#define PATH_BUF 4096 /* PATH_MAX: bpf_d_path never returns more */

#define FMODE_READ 0x1
#define FMODE_WRITE 0x2
#define FMODE_EXEC 0x20
#define __FMODE_EXEC 0x20 /* in f_flags: open_exec() */
#define O_APPEND 02000
#define PROT_EXEC 0x4

/* fs modes: the bits of lang/policy.FSMode. */
#define MODE_READ (1u << 0)
#define MODE_WRITE (1u << 1)
#define MODE_APPEND (1u << 2)
#define MODE_EXEC (1u << 3)
#define MODE_MAP (1u << 4)
#define MODE_CREATE (1u << 5)
#define MODE_DELETE (1u << 6)
#define MODE_RENAME (1u << 7)
#define MODE_LINK (1u << 8)
#define MODE_SETATTR (1u << 9)
#define MODE_IOCTL (1u << 10)
#define RENAME_EXCHANGE 2

#define NONE 0xffffffffu /* no rule, no profile */

/* Operations named in events. */
enum bb_op {
	BB_OP_EXEC = 1,
	BB_OP_OPEN = 2,
	BB_OP_BPF = 3,
	BB_OP_MMAP = 4,
	BB_OP_CREATE = 5,
	BB_OP_DELETE = 6,
	BB_OP_RENAME = 7,
	BB_OP_LINK = 8,
	BB_OP_SETATTR = 9,
	BB_OP_MPROTECT = 10,
	BB_OP_IOCTL = 11,
	/* netsig.h: network, signal, ptrace and capability requests */
	BB_OP_NET = 32,
	BB_OP_SIGNAL = 33,
	BB_OP_PTRACE = 34,
	BB_OP_CAP = 35,
};

/* Event flags: what was decided and why. */
enum event_flag {
	EV_DENY = 1 << 0,	/* refused (or would be, under complain) */
	EV_TAINT = 1 << 1,	/* this access tainted the process */
	EV_AUDIT = 1 << 2,	/* an #[audit] rule matched */
	EV_COMPLAIN = 1 << 3,	/* decision logged, not enforced */
	EV_TRANSITION = 1 << 4, /* exec moved the process to another profile */
	EV_ATTACH = 1 << 5,	/* exec confined an unconfined process */
	EV_TAINTED = 1 << 6,	/* the process was tainted before this access */
	EV_NO_RULE = 1 << 7,	/* decided by default deny, no rule matched */
	EV_PATH_ERROR = 1 << 8, /* the path could not be resolved: fail closed */
};

/* Profile and config flags. */
enum {
	PROFILE_COMPLAIN = 1 << 0,
	PROFILE_TAINTED = 1 << 1, /* #![tainted]: tainted from exec */
	PROFILE_ABSENT = 1 << 2,  /* a slot this policy does not hold: unconfined here */
	CONFIG_COMPLAIN = 1 << 0, /* bpfbox-run apply --complain */
	CONFIG_SCOPED = 1 << 1,	  /* some entry has a scope (#[func], #[kfunc]) */
};

/* One DFA in the shared tables: the next state of (state, class) is
 * trans[trans_off + state*num_classes + class]; accept[accept_off + state]
 * says what an accepting state means. */
struct dfa {
	__u32 trans_off;
	__u32 num_classes;
	__u32 num_states;
	__u32 start;
	__u32 dead; /* a state with no way out, or NONE */
	__u32 accept_off;
};

struct byte_classes {
	__u8 class[256];
};

/* For an fs DFA: entries[first .. first+count) apply in this state. For the
 * exec-attachment DFA: count is 1 and first is the profile index. */
struct accept {
	__u32 first;
	__u32 count;
};

/* One permission entry: a rule lowered to masks, as compiler/bundle.Entry.
 * fs modes have `write` implying `append` (both bits set). */
struct entry {
	__u32 rule;  /* deciding rule id: index in the bundle's rules */
	__u16 scope; /* 0: always active */
	__u8 action; /* ACTION_* */
	__u8 flags;  /* ENTRY_* */
	__u32 arg;
	__u32 target;
	__u64 modes;
};

/* lang/policy.Action and compiler/bundle flags. */
enum {
	ACTION_ALLOW = 1,
	ACTION_TAINT = 2,
	ACTION_DENY = 3,
	ENTRY_AUDIT = 1 << 0,
	ENTRY_TRANSITION = 1 << 1,
};

struct profile {
	__u32 fs_dfa;
	__u32 flags;
	/* ranges in entries, as the bundle's profile record */
	__u32 net_first, net_count;
	__u32 signal_first, signal_count;
	__u32 ptrace_first, ptrace_count;
	__u32 cap_first, cap_count;
	/* fs modes of the profile's deny, taint and audit entries: an untainted
	 * access requesting none of them is allowed without a walk (no rule can
	 * refuse, taint or log it) */
	__u32 watch;
};

struct config {
	__u32 exec_dfa;
	__u32 flags;
	__u32 num_profiles; /* profile slots */
	__u32 policy;	    /* this policy's id (random, never 0): in events and exec marks */
	__u32 successor;    /* the policy replacing this one (apply --pin over it), or 0 */
};

/* Shared by a pinned policy and the one that replaces it (docs/replace.md,
 * "Profile slots"): profile numbers are slots, stable by pattern
 * across replacements. */
struct task_state {
	__u32 profile; /* profile slot + 1; 0: unconfined */
	__u32 tainted;
	__u32 pending;	       /* an exec is under way with: */
	__u32 pending_profile; /* profile slot + 1 */
	__u32 pending_tainted;
	__u32 pending_policy; /* the policy whose exec hook last decided */
	/* taint_gen + 1 when this thread last found its process untainted in
	 * `taints`: while no process has been tainted since, it still is */
	__u64 taint_seen;
};

struct proc_key {
	__u32 tgid;
	__u32 pad;
	__u64 start_time; /* of the group leader; de_thread() keeps it */
};

struct event {
	__u64 time_ns;
	__u64 requested; /* mode bits of the rule kind of op */
	__u64 missing;	 /* tainted default deny: modes no rule grants */
	__u32 pid;
	__u32 tid;
	__u32 profile;	   /* profile slot, or NONE */
	__u32 new_profile; /* exec: the profile slot after it, or NONE */
	__u32 op;
	__u32 flags;	 /* EV_* */
	__u32 rule;	 /* deciding rule id, or NONE */
	__u32 audit_rule;      /* the first #[audit] rule, or NONE */
	__u32 transition_rule; /* the #[transition] rule, or NONE */
	__u32 family;	 /* net: lang/policy.Family (0: another family) */
	__u32 target_pid; /* signal, ptrace: the target's tgid */
	__u32 path_len;	 /* bytes of path, without the NUL */
	__u32 policy;	 /* config.policy of the policy that logged it */
	char comm[16];
	char path[PATH_BUF];
};

/* The maps runtime/ fills. Sizes are set at load time from the bundle. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct config);
} conf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct profile);
} profiles SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dfa);
} dfas SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct byte_classes);
} classes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} trans SEC(".maps");

/* The same table in one value of trans_mask + 1 entries (a power of two,
 * padded), when it fits one map value: a step is then one masked load rather
 * than a map lookup, and the mask bounds it for the verifier. The runtime
 * sizes the value and sets trans_mask; 0 means the table is in `trans`. */
const volatile __u32 trans_mask = 0;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} trans_flat SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct accept);
} accepts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct entry);
} entries SEC(".maps");

/* Runtime state. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_state);
} tasks SEC(".maps");

/* Per-thread scratch for the event being built and the path being decided:
 * too big for the stack, and a per-CPU buffer could be reused by another
 * task if a hook were preempted. bpf_d_path() writes the path straight into the event; the
 * path hooks build it backwards in tail (NAME_MAX bytes longer than a path,
 * so that the verifier can bound a name's offset and length with two masks)
 * and it is copied into the event only when an event is sent. */
#define NAME_MASK 255 /* NAME_MAX: no file system has longer names */

/* The directory of the last name a hook decided (check_child, file_open),
 * and the state its fs DFA reaches after the directory's path and a '/': a
 * name in it is then decided by walking the name alone. The key says the path is the same:
 * the same directory inode (its number and generation, in the same super
 * block, reached through the same mount), the same root, and no rename
 * (rename_lock) nor mount change (mount_lock) anywhere since. */
struct dir_key {
	__u64 mnt; /* struct vfsmount * */
	__u64 sb;  /* struct super_block * */
	__u64 ino;
	__u64 root_dentry;
	__u64 root_mnt;
	__u32 gen;
	__u32 rename_seq;
	__u32 mount_seq;
	__u32 pad;
};

struct dir_cache {
	struct dir_key key;
	__u32 policy; /* config.policy: a replacement shares scratch, not DFAs */
	__u32 dfa;
	__u32 state;
	__u32 valid;
};

struct scratch {
	struct event ev;
	char tail[PATH_BUF + NAME_MASK + 1];
	__u32 path_off; /* the path is in tail[path_off .. PATH_BUF) */
	__u32 built;	/* ... and not in ev.path */
	struct dir_cache dc;
};

/* The sequence counters of the kernel's rename_lock and mount_lock (from
 * /proc/kallsyms, set at load; 0: no directory cache). */
const volatile __u64 rename_seq_addr = 0;
const volatile __u64 mount_seq_addr = 0;

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct scratch);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct proc_key);
	__type(value, __u32);
} taints SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} events SEC(".maps");

/* taint_gen[0] counts the processes that became tainted (set_tainted): a
 * thread that found its process untainted need not look in `taints` again
 * while it has not moved (is_tainted). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} taint_gen SEC(".maps");

/* Counters: [0] events lost, [1] children that could not be tracked,
 * [2] taints that could not be shared with the other threads. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* Emitted so bpf2go generates Go types for the map layouts. */
const struct event *unused_event __attribute__((unused));
const enum bb_op *unused_op __attribute__((unused));
const enum event_flag *unused_event_flag __attribute__((unused));

/* prior passes on the refusal of an earlier LSM, within the range the
 * verifier allows an LSM program to return. */
static __always_inline int prior(int ret)
{
	if (ret < 0 && ret >= -4095)
		return ret;
	return -EPERM;
}

static __always_inline void count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &idx);
	if (c)
		__sync_fetch_and_add(c, 1);
}

static __always_inline struct config *get_config(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&conf, &zero);
}

/* ---- DFA walk ---- */

struct walk {
	const char *path; /* ev.path or tail of a scratch value */
	const __u8 *class;
	const __u32 *flat; /* trans_flat's value, when trans_mask is set */
	__u32 off; /* the path is path[off .. off+len) */
	__u32 len;
	__u32 pos; /* bytes walked */
	__u32 trans_off;
	__u32 num_classes;
	__u32 state;
	__u32 dead;
	__u32 failed; /* a table entry was missing: treat as no match */
};

/* walk_bytes takes up to WALK_BYTES steps of the DFA, with the walk's fields
 * in registers: a bpf_loop call and the reloads cost more than a step. flat
 * is a constant at each call: the step is a masked load from trans_flat's
 * value, or a lookup in `trans`. */
#define WALK_BYTES 8

static __always_inline long walk_bytes(struct walk *w, const int flat)
{
	const char *path = w->path;
	const __u8 *class = w->class;
	const __u32 *table = w->flat;
	__u32 mask = trans_mask;
	__u32 off = w->off, len = w->len, pos = w->pos;
	__u32 trans_off = w->trans_off, num_classes = w->num_classes, dead = w->dead;
	__u32 state = w->state;
	long stop = 0;
#pragma unroll
	for (int k = 0; k < WALK_BYTES; k++) {
		if (pos >= len) {
			stop = 1;
			break;
		}
		__u32 idx = off + pos;
		barrier_var(idx); /* keep the mask: the verifier needs it */
		idx &= PATH_BUF - 1;
		__u32 key = trans_off + state * num_classes + class[(__u8)path[idx]];
		if (flat) {
			state = table[key & mask];
		} else {
			__u32 *next = bpf_map_lookup_elem(&trans, &key);
			if (!next) {
				w->failed = 1;
				stop = 1;
				break;
			}
			state = *next;
		}
		pos++;
		if (state == dead) {
			stop = 1;
			break;
		}
	}
	w->state = state;
	w->pos = pos;
	return stop;
}

static long walk_step_flat(__u32 i, struct walk *w)
{
	return walk_bytes(w, 1);
}

static long walk_step(__u32 i, struct walk *w)
{
	return walk_bytes(w, 0);
}

/* walk_from walks DFA d from state over path[off..off+len) and returns the
 * state it reaches, or NONE when a table entry is missing. path is ev.path
 * or tail of a scratch value: off + len stays below PATH_BUF. */
static __always_inline __u32 walk_from(struct dfa *d, struct byte_classes *bc, __u32 state, const char *path,
					__u32 off, __u32 len)
{
	struct walk w = {
		.path = path,
		.class = bc->class,
		.off = off,
		.len = len,
		.trans_off = d->trans_off,
		.num_classes = d->num_classes,
		.state = state,
		.dead = d->dead,
	};
	if (state == d->dead)
		return state;
	if (trans_mask) {
		__u32 zero = 0;
		w.flat = bpf_map_lookup_elem(&trans_flat, &zero);
		if (!w.flat)
			return NONE;
		bpf_loop(PATH_BUF / WALK_BYTES, walk_step_flat, &w, 0);
	} else {
		bpf_loop(PATH_BUF / WALK_BYTES, walk_step, &w, 0);
	}
	return w.failed ? NONE : w.state;
}

/* accept_of is the accept entry of DFA d's state, or NULL. */
static __always_inline struct accept *accept_of(struct dfa *d, __u32 state)
{
	if (state == d->dead || state >= d->num_states)
		return NULL;
	__u32 key = d->accept_off + state;
	struct accept *a = bpf_map_lookup_elem(&accepts, &key);
	if (!a || a->count == 0)
		return NULL;
	return a;
}

/* run walks DFA id over path[off..off+len) and returns its accept entry, or
 * NULL when the path is not accepted. */
static __always_inline struct accept *run(__u32 id, const char *path, __u32 off, __u32 len)
{
	struct dfa *d = bpf_map_lookup_elem(&dfas, &id);
	struct byte_classes *bc = bpf_map_lookup_elem(&classes, &id);
	if (!d || !bc)
		return NULL;
	return accept_of(d, walk_from(d, bc, d->start, path, off, len));
}

/* confined returns the state of task when this policy confines it: its
 * profile slot is one this policy holds. A task in a slot this policy does
 * not hold (a profile a replacement dropped, or one only the replacing policy
 * has) is unconfined here. Every "is this task confined" goes through it. */
static __always_inline struct task_state *confined(struct task_struct *task)
{
	struct task_state *st = bpf_task_storage_get(&tasks, task, 0, 0);
	if (!st || !st->profile)
		return NULL;
	__u32 idx = st->profile - 1;
	struct profile *p = bpf_map_lookup_elem(&profiles, &idx);
	if (!p || (p->flags & PROFILE_ABSENT))
		return NULL;
	return st;
}

#include "scope.h"

/* ---- decision: the algorithm of compiler/decide ---- */

/* gather collects what the active entries of an accepting state say about
 * the requested modes; each *_rule is the first entry (source order) that
 * decides for that action. */
struct gather {
	__u32 first;
	__u32 count;
	__u64 requested;
	__u64 granted; /* modes granted by active allow and taint entries */
	/* object match: entries whose arg is a set bit of arg_mask, or whose
	 * arg is profile_arg and target equals target (fs, cap: arg 0).
	 * profile_arg is TARGET_PROFILE for signal and ptrace entries, NONE
	 * for the others: a net entry's arg is a family, and the packet
	 * family has the same number. */
	__u32 arg_mask;
	__u32 profile_arg;
	__u32 target;
	__u32 deny_rule, taint_rule, grant_rule, audit_rule, transition_rule;
	struct scope_state *scopes; /* the thread's scopes (scope.h), or NULL */
	__u64 usp, tramp;
};

#define TARGET_PROFILE 5 /* lang/policy.TargetProfile */

static long gather_step(__u32 i, struct gather *g)
{
	if (i >= g->count)
		return 1;
	__u32 key = g->first + i;
	struct entry *e = bpf_map_lookup_elem(&entries, &key);
	if (!e)
		return 1;
	if (e->scope != 0 && !scope_active(g->scopes, g->usp, g->tramp, e->scope))
		return 0;
	__u64 m = e->modes & g->requested;
	if (!m)
		return 0;
	if (e->arg == g->profile_arg ? (e->target == NONE || e->target != g->target)
				     : !(g->arg_mask & (1u << (e->arg & 31))))
		return 0;
	switch (e->action) {
	case ACTION_DENY:
		if (g->deny_rule == NONE)
			g->deny_rule = e->rule;
		break;
	case ACTION_TAINT:
		if (g->taint_rule == NONE)
			g->taint_rule = e->rule;
		/* fallthrough: a taint rule also grants */
	case ACTION_ALLOW:
		g->granted |= m;
		if (g->grant_rule == NONE)
			g->grant_rule = e->rule;
		if ((e->flags & ENTRY_TRANSITION) && (m & MODE_EXEC) && g->transition_rule == NONE)
			g->transition_rule = e->rule;
		break;
	}
	if ((e->flags & ENTRY_AUDIT) && g->audit_rule == NONE)
		g->audit_rule = e->rule;
	return 0;
}

static __always_inline void proc_key_of(struct task_struct *task, struct proc_key *k)
{
	k->tgid = BPF_CORE_READ(task, tgid);
	k->pad = 0;
	k->start_time = BPF_CORE_READ(task, group_leader, start_time);
}

/* is_tainted says whether the thread's process is tainted, caching a taint
 * another thread recorded. The shared table is read only when some process
 * was tainted since this thread last looked: set_tainted records the taint
 * before it counts it, so a thread that reads an unchanged count would not
 * have found a taint there either. */
static __always_inline int is_tainted(struct task_struct *task, struct task_state *st)
{
	if (st->tainted)
		return 1;
	__u32 zero = 0;
	__u64 *gen = bpf_map_lookup_elem(&taint_gen, &zero);
	__u64 seen = gen ? *(volatile __u64 *)gen + 1 : 0;
	if (seen && st->taint_seen == seen)
		return 0;
	struct proc_key k;
	proc_key_of(task, &k);
	if (bpf_map_lookup_elem(&taints, &k)) {
		st->tainted = 1;
		return 1;
	}
	st->taint_seen = seen;
	return 0;
}

static __always_inline int set_tainted(struct task_struct *task, struct task_state *st)
{
	struct proc_key k;
	__u32 one = 1, zero = 0;
	st->tainted = 1;
	proc_key_of(task, &k);
	if (bpf_map_update_elem(&taints, &k, &one, BPF_ANY)) {
		count(2);
		return -1;
	}
	__u64 *gen = bpf_map_lookup_elem(&taint_gen, &zero);
	if (gen)
		__sync_fetch_and_add(gen, 1);
	return 0;
}

/* emit sends the event: the time, the command name (unless the hook named
 * another task) and the path are filled in only now, as most decisions send
 * nothing. */
static __always_inline void emit(struct scratch *s)
{
	struct event *ev = &s->ev;
	ev->time_ns = bpf_ktime_get_boot_ns();
	if (!ev->comm[0])
		bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	__u32 len = ev->path_len;
	barrier_var(len);
	len &= PATH_BUF - 1; /* resolve and build_path keep it below PATH_BUF */
	if (len && s->built) {
		__u32 off = s->path_off;
		barrier_var(off);
		off &= PATH_BUF - 1;
		if (bpf_probe_read_kernel(ev->path, len, s->tail + off))
			len = 0;
	}
	ev->path_len = len;
	struct config *c = get_config();
	ev->policy = c ? c->policy : 0;
	if (bpf_ringbuf_output(&events, ev, offsetof(struct event, path) + len, 0))
		count(0);
}

static __always_inline void start_event(struct event *ev, struct task_struct *task, __u32 op,
					__u32 profile, __u64 requested)
{
	__u64 id = bpf_get_current_pid_tgid();
	ev->pid = id >> 32;
	ev->tid = (__u32)id;
	ev->profile = profile;
	ev->new_profile = NONE;
	ev->op = op;
	ev->requested = requested;
	ev->flags = 0;
	ev->rule = NONE;
	ev->audit_rule = NONE;
	ev->transition_rule = NONE;
	ev->missing = 0;
	ev->family = 0;
	ev->target_pid = 0;
	ev->path_len = 0;
	ev->comm[0] = 0; /* emit: current's */
}

/* resolve puts the path into s->ev.path and returns its length without the
 * NUL, or -1. */
static __always_inline long resolve(struct scratch *s, struct path *path)
{
	s->path_off = 0;
	s->built = 0;
	long n = bpf_d_path(path, s->ev.path, PATH_BUF);
	if (n <= 0 || n > PATH_BUF) {
		s->ev.path_len = 0;
		return -1;
	}
	s->ev.path_len = n - 1;
	return n - 1;
}

static __always_inline int complain(struct profile *prof)
{
	struct config *c = get_config();
	return (prof->flags & PROFILE_COMPLAIN) || (c && (c->flags & CONFIG_COMPLAIN));
}

/* conclude is steps 2-7 of compiler/decide over what gather collected: it
 * fills ev->flags and ev->rule, taints, emits the event when it must be
 * logged, and returns 1 when the access must be refused. For exec,
 * *transition is set when a #[transition] rule granted it (and the caller
 * emits the event, as it knows the new profile). */
static __always_inline int conclude(struct task_struct *task, struct task_state *st, struct scratch *s,
				    struct profile *prof, struct gather *g, int path_error, __u32 *transition)
{
	struct event *ev = &s->ev;
	int tainted = is_tainted(task, st);
	__u64 requested = ev->requested;
	__u32 flags = tainted ? EV_TAINTED : 0;
	__u32 rule = NONE;
	int deny = 0;

	if (path_error) {
		flags |= EV_PATH_ERROR | EV_DENY | EV_NO_RULE;
		deny = 1;
		goto out;
	}
	if (g->deny_rule != NONE) {
		deny = 1;
		flags |= EV_DENY;
		rule = g->deny_rule;
	} else if (!tainted) {
		if (g->taint_rule != NONE) {
			flags |= EV_TAINT;
			rule = g->taint_rule;
			set_tainted(task, st);
		} else {
			rule = g->grant_rule; /* NONE: allowed by default */
		}
	} else if ((g->granted & requested) != requested) {
		deny = 1;
		flags |= EV_DENY | EV_NO_RULE;
		ev->missing = requested & ~g->granted;
	} else {
		rule = g->grant_rule;
	}
	if (g->audit_rule != NONE) {
		flags |= EV_AUDIT;
		ev->audit_rule = g->audit_rule;
	}
	if (!deny && transition && g->transition_rule != NONE) {
		*transition = 1;
		ev->transition_rule = g->transition_rule;
	}
out:
	if (complain(prof))
		flags |= EV_COMPLAIN;
	ev->flags = flags;
	ev->rule = rule;
	if (!transition && (flags & (EV_DENY | EV_TAINT | EV_AUDIT)))
		emit(s);
	return deny && !(flags & EV_COMPLAIN);
}

static __always_inline void gather_init(struct gather *g, __u64 requested, __u32 arg_mask, __u32 target)
{
	g->first = 0;
	g->count = 0;
	g->requested = requested;
	g->granted = 0;
	g->arg_mask = arg_mask;
	g->profile_arg = NONE; /* decide_range: TARGET_PROFILE for signal, ptrace */
	g->target = target;
	g->deny_rule = NONE;
	g->taint_rule = NONE;
	g->grant_rule = NONE;
	g->audit_rule = NONE;
	g->transition_rule = NONE;
	g->scopes = NULL; /* scoped entries inactive unless scope_lookup finds some */
	g->usp = 0;
	g->tramp = 0;
}

/* unwatched reports whether an access may be allowed without looking at
 * its path: the process is untainted and no deny, taint or audit rule of its
 * profile names a requested mode. */
static __always_inline int unwatched(struct task_struct *task, struct task_state *st, __u32 requested)
{
	__u32 pidx = st->profile - 1;
	struct profile *prof = bpf_map_lookup_elem(&profiles, &pidx);
	return prof && !(requested & prof->watch) && !is_tainted(task, st);
}

/* decide computes the decision for a confined access whose path resolve or
 * build_path put in s (len < 0: it could not be resolved), as conclude. */
static __always_inline int decide_at(struct task_struct *task, struct task_state *st, struct scratch *s,
				     long len, __u32 start, __u32 skip, __u32 *transition)
{
	struct event *ev = &s->ev;
	__u32 pidx = st->profile - 1;
	struct profile *prof = bpf_map_lookup_elem(&profiles, &pidx);
	if (!prof)
		return 1; /* cannot happen with a verified plan: fail closed */
	struct gather g;
	gather_init(&g, ev->requested, 1 /* fs entries have arg 0 */, NONE);
	if (len >= 0) {
		struct accept *a = NULL;
		if (start != NONE) {
			/* a built path whose first skip bytes took the DFA to start */
			__u32 id = prof->fs_dfa;
			struct dfa *d = bpf_map_lookup_elem(&dfas, &id);
			struct byte_classes *bc = bpf_map_lookup_elem(&classes, &id);
			if (d && bc)
				a = accept_of(d, s->built ? walk_from(d, bc, start, s->tail, s->path_off + skip, len - skip)
							  : walk_from(d, bc, start, s->ev.path, skip, len - skip));
		} else {
			a = s->built ? run(prof->fs_dfa, s->tail, s->path_off, len) : run(prof->fs_dfa, s->ev.path, 0, len);
		}
		if (a) {
			g.scopes = scope_lookup(task, &g.usp, &g.tramp);
			g.first = a->first;
			g.count = a->count;
			bpf_loop(g.count, gather_step, &g, 0);
		}
	}
	return conclude(task, st, s, prof, &g, len < 0, transition);
}

static __always_inline int decide(struct task_struct *task, struct task_state *st, struct scratch *s,
				  long len, __u32 *transition)
{
	return decide_at(task, st, s, len, NONE, 0, transition);
}

/* verdict turns decide's result into an LSM return value. The barrier keeps
 * clang from computing -EPERM arithmetically, which the verifier cannot bound. */
static __always_inline int verdict(int refuse)
{
	barrier_var(refuse);
	if (refuse)
		return -EPERM;
	return 0;
}

/* ---- the directory cache: a new name in the last directory decided ---- */

static __always_inline int read_seq(__u64 addr, __u32 *seq)
{
	return addr && !bpf_probe_read_kernel(seq, sizeof(*seq), (const void *)addr) && !(*seq & 1);
}

/* dir_key_of fills the key of directory (mnt, dir) as task sees it now; 0
 * when it cannot. */
static __always_inline int dir_key_of(struct task_struct *task, struct vfsmount *mnt, struct dentry *dir,
				      struct dir_key *k)
{
	if (!read_seq(rename_seq_addr, &k->rename_seq) || !read_seq(mount_seq_addr, &k->mount_seq))
		return 0;
	struct inode *inode = dir->d_inode;
	if (!inode)
		return 0;
	k->mnt = (__u64)mnt;
	k->sb = (__u64)inode->i_sb;
	k->ino = inode->i_ino;
	k->gen = inode->i_generation;
	k->pad = 0;
	k->root_dentry = (__u64)task->fs->root.dentry;
	k->root_mnt = (__u64)task->fs->root.mnt;
	return 1;
}

static __always_inline int same_key(struct dir_key *a, struct dir_key *b)
{
	return a->mnt == b->mnt && a->sb == b->sb && a->ino == b->ino && a->gen == b->gen &&
	       a->rename_seq == b->rename_seq && a->mount_seq == b->mount_seq && a->root_dentry == b->root_dentry &&
	       a->root_mnt == b->root_mnt;
}

/* quiet_allow says whether the cache decides mode on dentry, a name in the
 * cached directory, as allowed with nothing to log. Anything else (a denial,
 * a taint, an audit, a miss) is left to the full decision, which logs. */
static __always_inline int quiet_allow(struct task_struct *task, struct task_state *st, struct scratch *s,
				       struct profile *prof, struct dir_key *k, struct dentry *dentry, __u32 mode)
{
	struct dir_cache *dc = &s->dc;
	struct config *c = get_config();
	if (!c || !dc->valid || dc->policy != c->policy || dc->dfa != prof->fs_dfa || !same_key(&dc->key, k))
		return 0;
	__u32 n = dentry->d_name.len;
	const unsigned char *name = dentry->d_name.name;
	if (n == 0 || n > NAME_MASK)
		return 0;
	if (bpf_probe_read_kernel(s->tail, n & NAME_MASK, name))
		return 0;
	__u32 seq;
	if (!read_seq(rename_seq_addr, &seq) || seq != k->rename_seq)
		return 0; /* renamed while the name was read */
	__u32 id = prof->fs_dfa;
	struct dfa *d = bpf_map_lookup_elem(&dfas, &id);
	struct byte_classes *bc = bpf_map_lookup_elem(&classes, &id);
	if (!d || !bc)
		return 0;
	struct accept *a = accept_of(d, walk_from(d, bc, dc->state, s->tail, 0, n));
	struct gather g;
	gather_init(&g, mode, 1, NONE);
	if (a) {
		g.scopes = scope_lookup(task, &g.usp, &g.tramp);
		g.first = a->first;
		g.count = a->count;
		bpf_loop(g.count, gather_step, &g, 0);
	}
	if (g.deny_rule != NONE || g.audit_rule != NONE)
		return 0;
	if (is_tainted(task, st))
		return (g.granted & mode) == mode;
	return g.taint_rule == NONE;
}

/* dir_state returns the state the profile's DFA reaches after the
 * directory part (all but the last name_len bytes) of the path resolve or
 * build_path just put in s: from the cache when it holds that directory, else by
 * walking it, and then the cache holds it if nothing was renamed or mounted
 * meanwhile. NONE when it cannot tell. */
static __always_inline __u32 dir_state(struct scratch *s, struct profile *prof, struct dir_key *k, long len,
				       __u32 name_len)
{
	struct dir_cache *dc = &s->dc;
	if (len <= name_len || name_len == 0)
		return NONE;
	__u32 id = prof->fs_dfa;
	struct config *c = get_config();
	if (!c)
		return NONE;
	if (dc->valid && dc->policy == c->policy && dc->dfa == id && same_key(&dc->key, k))
		return dc->state;
	dc->valid = 0;
	struct dfa *d = bpf_map_lookup_elem(&dfas, &id);
	struct byte_classes *bc = bpf_map_lookup_elem(&classes, &id);
	if (!d || !bc)
		return NONE;
	__u32 state = s->built ? walk_from(d, bc, d->start, s->tail, s->path_off, len - name_len)
				: walk_from(d, bc, d->start, s->ev.path, 0, len - name_len);
	__u32 rs, ms;
	if (state == NONE || !read_seq(rename_seq_addr, &rs) || rs != k->rename_seq ||
	    !read_seq(mount_seq_addr, &ms) || ms != k->mount_seq)
		return state;
	dc->key = *k;
	dc->policy = c->policy;
	dc->dfa = id;
	dc->state = state;
	dc->valid = 1;
	return state;
}

/* ---- hooks ---- */

static __always_inline struct scratch *get_scratch(struct task_struct *task)
{
	return bpf_task_storage_get(&scratch, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
}

SEC("lsm/file_open")
int BPF_PROG(bpfbox_file_open, struct file *file, int ret)
{
	if (ret)
		return prior(ret);
	struct task_struct *task = bpf_get_current_task_btf();
	struct task_state *st = confined(task);
	if (!st)
		return 0;
	__u32 fmode = file->f_mode;
	__u32 fflags = file->f_flags;
	/* the kernel opening a binary or its interpreter: the exec hook decides */
	if ((fmode & FMODE_EXEC) || (fflags & __FMODE_EXEC))
		return 0;
	__u32 requested = 0;
	if (fmode & FMODE_READ)
		requested |= MODE_READ;
	if (fmode & FMODE_WRITE)
		requested |= (fflags & O_APPEND) ? MODE_APPEND : MODE_WRITE;
	if (!requested || unwatched(task, st, requested))
		return 0;
	struct scratch *s = get_scratch(task);
	if (!s)
		return -EPERM; /* no memory to decide: fail closed */
	/* A file with a name in a directory (hashed: not unlinked, not an
	 * O_TMPFILE file, whose d_path says "(deleted)"; not itself a mount
	 * root; not a pseudo file whose name d_dname makes up) has the path
	 * of its directory, a '/' and its name: the directory cache may hold
	 * the directory. */
	struct dentry *dentry = file->f_path.dentry;
	struct vfsmount *mnt = file->f_path.mnt;
	struct dentry *parent = dentry->d_parent;
	const struct dentry_operations *dops = dentry->d_op;
	__u32 pidx = st->profile - 1;
	struct profile *prof = bpf_map_lookup_elem(&profiles, &pidx);
	if (!prof)
		return -EPERM; /* cannot happen with a verified plan: fail closed */
	struct dir_key k;
	int keyed = parent && parent != dentry && dentry->d_hash.pprev && dentry != mnt->mnt_root &&
		    !(dops && dops->d_dname) && dir_key_of(task, mnt, parent, &k);
	if (keyed && quiet_allow(task, st, s, prof, &k, dentry, requested))
		return 0;
	start_event(&s->ev, task, BB_OP_OPEN, pidx, requested);
	long len = resolve(s, (struct path *)&file->f_path);
	__u32 name_len = dentry->d_name.len;
	__u32 start = keyed && len > 0 ? dir_state(s, prof, &k, len, name_len) : NONE;
	return verdict(decide_at(task, st, s, len, start, start == NONE ? 0 : len - name_len, NULL));
}

/* Mapping a file executable needs `map` (shared libraries, the dynamic
 * loader). The kernel mapping the executable and its interpreter during exec
 * (files opened by open_exec(), __FMODE_EXEC) is covered by the exec check. */
SEC("lsm/mmap_file")
int BPF_PROG(bpfbox_mmap_file, struct file *file, unsigned long reqprot, unsigned long prot,
	     unsigned long flags, int ret)
{
	if (ret)
		return prior(ret);
	if (!file || !(prot & PROT_EXEC))
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();
	struct task_state *st = confined(task);
	if (!st)
		return 0;
	if ((file->f_flags & __FMODE_EXEC) || unwatched(task, st, MODE_MAP))
		return 0;
	struct scratch *s = get_scratch(task);
	if (!s)
		return -EPERM;
	start_event(&s->ev, task, BB_OP_MMAP, st->profile - 1, MODE_MAP);
	long len = resolve(s, (struct path *)&file->f_path);
	return verdict(decide(task, st, s, len, NULL));
}

/* ---- path hooks: create, delete, rename, link, setattr ----
 *
 * The path_* hooks are not sleepable, so bpf_d_path() is not allowed there.
 * The path is built the way d_path() does: from the dentry up through
 * d_parent, crossing mount points through mnt_parent/mnt_mountpoint, until
 * the process's root (or the global root). */

struct pwalk {
	__u64 dentry;	   /* struct dentry * */
	__u64 mnt;	   /* struct mount * */
	__u64 mnt_root;	   /* its root dentry */
	__u64 root_dentry; /* the process's root */
	__u64 root_mnt;	   /* struct mount * */
	char *buf;	   /* scratch tail */
	__u32 pos;	   /* the path is buf[pos .. PATH_BUF) */
	__u32 done;
};

/* The fields of struct dentry a step reads, in the kernel's order (d_parent,
 * then d_name: hash, len, name on little-endian), so one read gets them. */
struct dentry_link {
	__u64 parent;
	__u32 hash;
	__u32 len;
	__u64 name;
};

static __always_inline int read_link(__u64 dentry, struct dentry_link *l)
{
	struct dentry *d = (struct dentry *)dentry;
	if (bpf_core_field_offset(struct dentry, d_name) == bpf_core_field_offset(struct dentry, d_parent) + 8)
		return bpf_probe_read_kernel(l, sizeof(*l), &d->d_parent);
	l->parent = (__u64)BPF_CORE_READ(d, d_parent);
	l->len = BPF_CORE_READ(d, d_name.len);
	l->name = (__u64)BPF_CORE_READ(d, d_name.name);
	return 0;
}

static __always_inline __u64 mount_root(__u64 mnt)
{
	return (__u64)BPF_CORE_READ((struct mount *)mnt, mnt.mnt_root);
}

/* cross_mount moves the walk from the root of its mount to the mount point,
 * or ends it at the global root. */
static __always_inline long cross_mount(struct pwalk *w)
{
	struct mount *m = (struct mount *)w->mnt;
	__u64 mp = (__u64)BPF_CORE_READ(m, mnt_parent);
	if (mp == w->mnt || !mp) {
		w->done = 1; /* the global root */
		return 1;
	}
	w->dentry = (__u64)BPF_CORE_READ(m, mnt_mountpoint);
	w->mnt = mp;
	w->mnt_root = mount_root(mp);
	return 0;
}

static long path_step(__u32 i, struct pwalk *w)
{
	if (w->dentry == w->root_dentry && w->mnt == w->root_mnt) {
		w->done = 1;
		return 1;
	}
	if (w->dentry == w->mnt_root)
		return cross_mount(w);
	struct dentry_link l;
	if (read_link(w->dentry, &l))
		return 1; /* not done: fail closed */
	if (l.parent == w->dentry) /* the root of a file system not mounted there */
		return cross_mount(w);
	__u32 n = l.len;
	if (n + 1 > w->pos || n > NAME_MASK)
		return 1; /* too long: not done, fail closed */
	w->pos -= n;
	__u32 off = w->pos;
	barrier_var(off);
	off &= PATH_BUF - 1;
	__u32 len = n;
	barrier_var(len);
	len &= NAME_MASK;
	if (bpf_probe_read_kernel(w->buf + off, len, (const void *)l.name))
		return 1;
	w->pos -= 1;
	off = w->pos;
	barrier_var(off);
	off &= PATH_BUF - 1;
	w->buf[off] = '/';
	w->dentry = l.parent;
	return 0;
}

/* build_path puts the path of (mnt, dentry) at the end of s->tail and
 * returns its length, or -1. A mount's pointers are read once per mount, a
 * dentry's in one read per component. */
static __always_inline long build_path(struct task_struct *task, struct scratch *s, struct vfsmount *vfsmnt,
				       struct dentry *dentry)
{
	__u64 mnt_off = bpf_core_field_offset(struct mount, mnt);
	struct pwalk w = {
		.dentry = (__u64)dentry,
		.mnt = (__u64)vfsmnt - mnt_off,
		.mnt_root = (__u64)BPF_CORE_READ(vfsmnt, mnt_root),
		.root_dentry = (__u64)BPF_CORE_READ(task, fs, root.dentry),
		.root_mnt = (__u64)BPF_CORE_READ(task, fs, root.mnt) - mnt_off,
		.buf = s->tail,
		.pos = PATH_BUF,
	};
	s->ev.path_len = 0;
	s->path_off = 0;
	s->built = 1;
	bpf_loop(PATH_BUF / 2, path_step, &w, 0);
	if (!w.done)
		return -1;
	if (w.pos == PATH_BUF) {
		w.pos = PATH_BUF - 1;
		s->tail[PATH_BUF - 1] = '/';
	}
	s->path_off = w.pos;
	s->ev.path_len = PATH_BUF - w.pos;
	return PATH_BUF - w.pos;
}

/* check_path decides op (one fs mode) on (mnt, dentry) for a confined task. */
static __always_inline int check_path(struct task_struct *task, struct task_state *st, __u32 op, __u32 mode,
				      struct vfsmount *mnt, struct dentry *dentry)
{
	if (unwatched(task, st, mode))
		return 0;
	struct scratch *s = get_scratch(task);
	if (!s)
		return 1;
	start_event(&s->ev, task, op, st->profile - 1, mode);
	long len = build_path(task, s, mnt, dentry);
	return decide(task, st, s, len, NULL);
}

/* check_child decides op (one fs mode) on dentry, a name in directory dir,
 * as check_path does, through the directory cache when it can. */
static __always_inline int check_child(struct task_struct *task, struct task_state *st, __u32 op, __u32 mode,
				       const struct path *dir, struct dentry *dentry)
{
	if (unwatched(task, st, mode))
		return 0;
	__u32 pidx = st->profile - 1;
	struct profile *prof = bpf_map_lookup_elem(&profiles, &pidx);
	struct scratch *s = get_scratch(task);
	if (!prof || !s)
		return 1;
	struct dir_key k;
	int keyed = dir_key_of(task, dir->mnt, dir->dentry, &k);
	if (keyed && quiet_allow(task, st, s, prof, &k, dentry, mode))
		return 0;
	/* the full decision, which logs: the event needs the whole path */
	start_event(&s->ev, task, op, pidx, mode);
	long len = build_path(task, s, dir->mnt, dentry);
	__u32 name_len = dentry->d_name.len;
	__u32 start = keyed && len > 0 ? dir_state(s, prof, &k, len, name_len) : NONE;
	return decide_at(task, st, s, len, start, start == NONE ? 0 : len - name_len, NULL);
}

SEC("lsm/path_mknod")
int BPF_PROG(bpfbox_path_mknod, const struct path *dir, struct dentry *dentry, umode_t mode, unsigned int dev,
	     int ret)
{
	if (ret)
		return prior(ret);
	struct task_struct *task = bpf_get_current_task_btf();
	struct task_state *st = confined(task);
	if (!st)
		return 0;
	return verdict(check_child(task, st, BB_OP_CREATE, MODE_CREATE, dir, dentry));
}

SEC("lsm/path_mkdir")
int BPF_PROG(bpfbox_path_mkdir, const struct path *dir, struct dentry *dentry, umode_t mode, int ret)
{
	if (ret)
		return prior(ret);
	struct task_struct *task = bpf_get_current_task_btf();
	struct task_state *st = confined(task);
	if (!st)
		return 0;
	return verdict(check_child(task, st, BB_OP_CREATE, MODE_CREATE, dir, dentry));
}

SEC("lsm/path_symlink")
int BPF_PROG(bpfbox_path_symlink, const struct path *dir, struct dentry *dentry, const char *old_name, int ret)
{
	if (ret)
		return prior(ret);
	struct task_struct *task = bpf_get_current_task_btf();
	struct task_state *st = confined(task);
	if (!st)
		return 0;
	return verdict(check_child(task, st, BB_OP_CREATE, MODE_CREATE, dir, dentry));
}

SEC("lsm/path_unlink")
int BPF_PROG(bpfbox_path_unlink, const struct path *dir, struct dentry *dentry, int ret)
{
	if (ret)
		return prior(ret);
	struct task_struct *task = bpf_get_current_task_btf();
	struct task_state *st = confined(task);
	if (!st)
		return 0;
	return verdict(check_child(task, st, BB_OP_DELETE, MODE_DELETE, dir, dentry));
}

SEC("lsm/path_rmdir")
int BPF_PROG(bpfbox_path_rmdir, const struct path *dir, struct dentry *dentry, int ret)
{
	if (ret)
		return prior(ret);
	struct task_struct *task = bpf_get_current_task_btf();
	struct task_state *st = confined(task);
	if (!st)
		return 0;
	return verdict(check_child(task, st, BB_OP_DELETE, MODE_DELETE, dir, dentry));
}

/* Hooks that decide several (path, mode) pairs check them in a bpf_loop:
 * the verifier then checks one path decision per hook, not one per pair
 * (four inlined ones exceed 6.1's limit of a million instructions). */
struct path_checks {
	struct task_state *st;
	__u32 n;
	__u32 refuse;
	struct {
		__u64 mnt;    /* struct vfsmount * */
		__u64 dentry; /* struct dentry * */
		__u32 op;
		__u32 mode;
	} c[4];
};

static long path_checks_step(__u32 i, struct path_checks *pc)
{
	if (i >= pc->n)
		return 1;
	__u32 k = i & 3;
	struct task_struct *task = bpf_get_current_task_btf();
	pc->refuse |= check_path(task, pc->st, pc->c[k].op, pc->c[k].mode, (struct vfsmount *)pc->c[k].mnt,
				 (struct dentry *)pc->c[k].dentry);
	return 0;
}

static __always_inline void add_check(struct path_checks *pc, __u32 op, __u32 mode, struct vfsmount *mnt,
				      struct dentry *dentry)
{
	__u32 k = pc->n & 3;
	pc->c[k].mnt = (__u64)mnt;
	pc->c[k].dentry = (__u64)dentry;
	pc->c[k].op = op;
	pc->c[k].mode = mode;
	pc->n++;
}

/* A hard link needs `link` on the file and `create` on the new name. */
SEC("lsm/path_link")
int BPF_PROG(bpfbox_path_link, struct dentry *old_dentry, const struct path *new_dir, struct dentry *new_dentry,
	     int ret)
{
	if (ret)
		return prior(ret);
	struct task_struct *task = bpf_get_current_task_btf();
	struct task_state *st = confined(task);
	if (!st)
		return 0;
	struct vfsmount *mnt = new_dir->mnt; /* links stay within one mount */
	struct path_checks pc = {.st = st};
	add_check(&pc, BB_OP_LINK, MODE_LINK, mnt, old_dentry);
	add_check(&pc, BB_OP_CREATE, MODE_CREATE, mnt, new_dentry);
	bpf_loop(4, path_checks_step, &pc, 0);
	return verdict(pc.refuse);
}

/* A rename needs `rename` on the old path and `create` on the new one; an
 * exchange needs both on both. */
SEC("lsm/path_rename")
int BPF_PROG(bpfbox_path_rename, const struct path *old_dir, struct dentry *old_dentry, const struct path *new_dir,
	     struct dentry *new_dentry, unsigned int flags, int ret)
{
	if (ret)
		return prior(ret);
	struct task_struct *task = bpf_get_current_task_btf();
	struct task_state *st = confined(task);
	if (!st)
		return 0;
	struct vfsmount *omnt = old_dir->mnt;
	struct vfsmount *nmnt = new_dir->mnt;
	struct path_checks pc = {.st = st};
	add_check(&pc, BB_OP_RENAME, MODE_RENAME, omnt, old_dentry);
	add_check(&pc, BB_OP_CREATE, MODE_CREATE, nmnt, new_dentry);
	if (flags & RENAME_EXCHANGE) {
		add_check(&pc, BB_OP_RENAME, MODE_RENAME, nmnt, new_dentry);
		add_check(&pc, BB_OP_CREATE, MODE_CREATE, omnt, old_dentry);
	}
	bpf_loop(4, path_checks_step, &pc, 0);
	return verdict(pc.refuse);
}

static __always_inline int setattr(const struct path *path)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct task_state *st = confined(task);
	if (!st)
		return 0;
	return verdict(check_path(task, st, BB_OP_SETATTR, MODE_SETATTR, path->mnt, path->dentry));
}

SEC("lsm/path_chmod")
int BPF_PROG(bpfbox_path_chmod, const struct path *path, umode_t mode, int ret)
{
	if (ret)
		return prior(ret);
	return setattr(path);
}

SEC("lsm/path_chown")
int BPF_PROG(bpfbox_path_chown, const struct path *path, unsigned int uid, unsigned int gid, int ret)
{
	if (ret)
		return prior(ret);
	return setattr(path);
}

SEC("lsm/path_truncate")
int BPF_PROG(bpfbox_path_truncate, const struct path *path, int ret)
{
	if (ret)
		return prior(ret);
	return setattr(path);
}

/* Making a file mapping executable with mprotect() needs `map`, as mapping it
 * executable does. Not a sleepable hook: the path is built from the dentry. */
SEC("lsm/file_mprotect")
int BPF_PROG(bpfbox_file_mprotect, struct vm_area_struct *vma, unsigned long reqprot, unsigned long prot, int ret)
{
	if (ret)
		return prior(ret);
	if (!(prot & PROT_EXEC))
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();
	struct task_state *st = confined(task);
	if (!st)
		return 0;
	struct file *file = BPF_CORE_READ(vma, vm_file);
	if (!file || (BPF_CORE_READ(file, f_flags) & __FMODE_EXEC) || unwatched(task, st, MODE_MAP))
		return 0;
	struct scratch *s = get_scratch(task);
	if (!s)
		return -EPERM;
	start_event(&s->ev, task, BB_OP_MPROTECT, st->profile - 1, MODE_MAP);
	long len = build_path(task, s, BPF_CORE_READ(file, f_path.mnt), BPF_CORE_READ(file, f_path.dentry));
	return verdict(decide(task, st, s, len, NULL));
}

/* ioctl on files needs `ioctl`. Pipes, sockets and anonymous inodes have no
 * path in the file system (d_path gives "pipe:[N]" and the like) and are not
 * fs objects: they are left alone. */
SEC("lsm/file_ioctl")
int BPF_PROG(bpfbox_file_ioctl, struct file *file, unsigned int cmd, unsigned long arg, int ret)
{
	if (ret)
		return prior(ret);
	struct task_struct *task = bpf_get_current_task_btf();
	struct task_state *st = confined(task);
	if (!st || unwatched(task, st, MODE_IOCTL))
		return 0;
	struct scratch *s = get_scratch(task);
	if (!s)
		return -EPERM;
	start_event(&s->ev, task, BB_OP_IOCTL, st->profile - 1, MODE_IOCTL);
	long len = resolve(s, (struct path *)&file->f_path);
	if (len > 0 && s->ev.path[0] != '/')
		return 0;
	return verdict(decide(task, st, s, len, NULL));
}

/* attach_profile returns the profile slot + 1 that the exec-attachment DFA
 * gives path[0..len) (a scratch ev.path or an exec_buf path), or 0. */
static __always_inline __u32 attach_profile(const char *path, long len)
{
	struct config *c = get_config();
	if (!c || len < 0)
		return 0;
	struct accept *a = run(c->exec_dfa, path, 0, len);
	if (!a || a->first >= c->num_profiles)
		return 0;
	return a->first + 1;
}

static __always_inline __u32 initial_taint(__u32 profile)
{
	__u32 idx = profile - 1;
	struct profile *p = bpf_map_lookup_elem(&profiles, &idx);
	return p && (p->flags & PROFILE_TAINTED);
}

/* The path of an unconfined task's exec, per CPU: deciding whether a profile
 * attaches allocates nothing for the many unconfined processes. The hook is
 * not sleepable, so nothing else runs on the CPU meanwhile unless the kernel
 * is fully preemptible; seq tells when that happened (the exec then fails
 * closed with EAGAIN). */
struct exec_buf {
	__u64 seq;
	char path[PATH_BUF];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct exec_buf);
} exec_bufs SEC(".maps");

#define EAGAIN 11

/* No hook that allocates task storage is sleepable: on 6.1 a sleeping
 * allocation holds the CPU's task storage lock, and every other task's
 * lookup on that CPU meanwhile finds no state (a confined thread would pass
 * as unconfined). Non-sleepable hooks allocate with GFP_ATOMIC. */
SEC("lsm/bprm_creds_for_exec")
int BPF_PROG(bpfbox_exec, struct linux_binprm *bprm, int ret)
{
	if (ret)
		return prior(ret);
	struct task_struct *task = bpf_get_current_task_btf();
	struct task_state *st = bpf_task_storage_get(&tasks, task, 0, 0);
	struct config *c = get_config();
	__u32 policy = c ? c->policy : 0;
	/* While a policy replaces this one both check every exec, and the new
	 * one decides what the task becomes: its hook runs first and marks the
	 * state; this one then only checks the exec (docs/replace.md). */
	int decided = st && c && c->successor && st->pending_policy == c->successor;
	if (st && !decided) {
		st->pending = 0;
		st->pending_policy = policy;
	}
	struct task_state *cst = confined(task);

	if (!cst) {
		/* unconfined: does a profile attach to this executable? */
		if (decided)
			return 0;
		__u32 zero = 0;
		struct exec_buf *xb = bpf_map_lookup_elem(&exec_bufs, &zero);
		if (!xb)
			return 0; /* cannot happen: a per-CPU array has its element */
		__u64 seq = ++xb->seq;
		long len = bpf_d_path((struct path *)&bprm->file->f_path, xb->path, PATH_BUF);
		len = (len <= 0 || len > PATH_BUF) ? -1 : len - 1;
		__u32 target = attach_profile(xb->path, len);
		if (xb->seq != seq)
			return -EAGAIN; /* another exec used the buffer meanwhile */
		if (!target)
			return 0;
		if (!st)
			st = bpf_task_storage_get(&tasks, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
		struct scratch *s = get_scratch(task);
		if (!st || !s)
			return -EPERM; /* must be confined but cannot be: fail closed */
		struct event *ev = &s->ev;
		start_event(ev, task, BB_OP_EXEC, NONE, MODE_EXEC);
		s->path_off = 0;
		s->built = 0;
		__u32 n = len;
		barrier_var(n);
		n &= PATH_BUF - 1;
		if (bpf_probe_read_kernel(ev->path, n, xb->path))
			n = 0;
		ev->path_len = n;
		st->pending = 1;
		st->pending_profile = target;
		st->pending_policy = policy;
		/* a task whose profile a replacement dropped keeps its taint */
		st->pending_tainted = initial_taint(target) || (st->profile && is_tainted(task, st));
		ev->flags = EV_ATTACH;
		ev->new_profile = target - 1;
		emit(s);
		return 0;
	}

	st = cst;
	struct scratch *s = get_scratch(task);
	if (!s)
		return -EPERM; /* no memory to decide: fail closed */
	struct event *ev = &s->ev;
	start_event(ev, task, BB_OP_EXEC, st->profile - 1, MODE_EXEC);
	long len = resolve(s, (struct path *)&bprm->file->f_path);
	__u32 transition = 0;
	int refuse = decide(task, st, s, len, &transition);
	__u32 target = st->profile;
	__u32 tainted = is_tainted(task, st);
	if (transition) {
		/* no profile attaches to the new executable: it keeps this one.
		 * Taint is never cleared, not even by a transition. */
		__u32 t = attach_profile(s->ev.path, len);
		if (t) {
			target = t;
			tainted = tainted || initial_taint(t);
		}
		ev->flags |= EV_TRANSITION;
	}
	ev->new_profile = target - 1;
	if (ev->flags & (EV_DENY | EV_TAINT | EV_AUDIT | EV_TRANSITION))
		emit(s);
	if (refuse)
		return verdict(refuse);
	if (decided)
		return 0;
	st->pending = 1;
	st->pending_policy = policy;
	st->pending_profile = target;
	st->pending_tainted = tainted;
	return 0;
}

/* After the point of no return the exec'ing thread is the only one left and
 * the group leader: its new state becomes the process's. A taint another
 * thread recorded after bpfbox_exec looked (before de_thread() killed it) is
 * in `taints` now, and is kept. */
SEC("lsm/bprm_committed_creds")
int BPF_PROG(bpfbox_exec_committed, struct linux_binprm *bprm)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct task_state *st = bpf_task_storage_get(&tasks, task, 0, 0);
	if (!st || !st->pending)
		return 0;
	st->pending = 0;
	st->profile = st->pending_profile;
	st->tainted = st->pending_tainted || is_tainted(task, st);
	struct proc_key k;
	proc_key_of(task, &k);
	bpf_map_delete_elem(&taints, &k);
	return 0;
}

/* Children and threads inherit profile and taint. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(bpfbox_fork, struct task_struct *parent, struct task_struct *child)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct task_state *st = bpf_task_storage_get(&tasks, task, 0, 0);
	if (!st || !st->profile)
		return 0;
	struct task_state *cs = bpf_task_storage_get(&tasks, child, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!cs) {
		count(1);
		return 0;
	}
	cs->profile = st->profile;
	cs->tainted = is_tainted(task, st);
	cs->pending = 0;
	return 0;
}

/* The last thread of a process forgets the process's shared taint. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(bpfbox_exit, struct task_struct *p)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct task_state *st = bpf_task_storage_get(&tasks, task, 0, 0);
	if (!st || !st->profile)
		return 0;
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	struct proc_key k;
	proc_key_of(task, &k);
	bpf_map_delete_elem(&taints, &k);
	return 0;
}

/* A confined task may not use bpf(): it could read or rewrite the policy. */
SEC("lsm/bpf")
int BPF_PROG(bpfbox_bpf, int cmd, union bpf_attr *attr, unsigned int size, int ret)
{
	if (ret)
		return prior(ret);
	struct task_struct *task = bpf_get_current_task_btf();
	struct task_state *st = confined(task);
	if (!st)
		return 0;
	__u32 pidx = st->profile - 1;
	struct profile *prof = bpf_map_lookup_elem(&profiles, &pidx);
	struct scratch *s = get_scratch(task);
	int compl = prof && complain(prof);
	if (s) {
		start_event(&s->ev, task, BB_OP_BPF, pidx, 0);
		s->ev.flags = EV_DENY | EV_NO_RULE | (compl ? EV_COMPLAIN : 0);
		emit(s);
	}
	return compl ? 0 : -EPERM;
}

#include "netsig.h"
