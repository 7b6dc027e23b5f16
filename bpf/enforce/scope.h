/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bpfbox function scopes (#[func "SYM"], #[kfunc "NAME"]): included by
 * enforce.bpf.c after its maps.
 *
 * A rule under a scope is active only while the current thread is inside the
 * function. Each thread of a confined process counts, per scope id, how deep
 * it is inside the function: a uprobe/uretprobe pair on the user function (or
 * fentry/fexit on the kernel function) increments and decrements the count.
 * The programs are generic; the scope id comes from the attach cookie.
 *
 * The state lives in task storage of the thread itself, so a new thread or a
 * child process starts with no storage, hence outside every scope; exec drops
 * it (bpfbox_scope_exec).
 *
 * A user function can be left without returning (longjmp, C++ exceptions):
 * its uretprobe then never fires. To fail closed, the entry of the outermost
 * call records the user stack pointer, and a user scope counts as active only
 * while (1) the thread's user stack pointer is at or below it (the stack grows
 * down, so a thread back in a caller is above it) and (2) the return-address
 * slot at that stack pointer still holds the uprobes return trampoline (the
 * kernel put it there at entry; a frame that was left and reused overwrote it).
 * A scope found left is reset. Kernel functions cannot be left that way, so
 * kfunc scopes record no stack pointer.
 */
#ifndef BPFBOX_SCOPE_H
#define BPFBOX_SCOPE_H

/* Scope ids are 1..SCOPE_MAX; the runtime refuses bundles with more. */
enum scope_limits {
	SCOPE_MAX = 64,
};

struct scope_state {
	__u16 depth[SCOPE_MAX]; /* nesting depth in scope id i+1 */
	__u64 sp[SCOPE_MAX];	/* user scope: user stack pointer at the outermost entry */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct scope_state);
} scopes SEC(".maps");

/* [0] scope entries that could not be counted (no memory for the state). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} scope_counters SEC(".maps");

const enum scope_limits *unused_scope_limits __attribute__((unused));
const struct scope_state *unused_scope_state __attribute__((unused));

/* scope_index turns a cookie into an index of the state arrays, or -1. */
static __always_inline int scope_index(__u64 id)
{
	if (id == 0 || id > SCOPE_MAX)
		return -1;
	return (int)(id - 1) & (SCOPE_MAX - 1);
}

/* trampoline is the address uretprobes put in place of a probed function's
 * return address: the first slot of the process's uprobes XOL area. */
static __always_inline __u64 trampoline(struct task_struct *task)
{
	return BPF_CORE_READ(task, mm, uprobes_state.xol_area, vaddr);
}

/* frame_live says whether the frame entered with stack pointer sp is still on
 * the stack of task, whose user stack pointer is now usp. */
static __always_inline int frame_live(__u64 tramp, __u64 sp, __u64 usp)
{
	__u64 ret = 0;
	if (usp > sp)
		return 0;
	if (bpf_probe_read_user(&ret, sizeof(ret), (const void *)sp))
		return 0;
	return tramp != 0 && ret == tramp;
}

/* confined_task returns the current task when it is confined, else NULL. */
static __always_inline struct task_struct *confined_task(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	return confined(task) ? task : NULL;
}

static __always_inline void scope_enter(__u64 id, __u64 sp)
{
	int i = scope_index(id);
	if (i < 0)
		return;
	struct task_struct *task = confined_task();
	if (!task)
		return;
	struct scope_state *ss = bpf_task_storage_get(&scopes, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!ss) {
		__u32 zero = 0;
		__u64 *c = bpf_map_lookup_elem(&scope_counters, &zero);
		if (c)
			__sync_fetch_and_add(c, 1);
		return;
	}
	/* a user scope whose outermost frame is gone was left by a longjmp */
	if (sp && ss->depth[i] && !frame_live(trampoline(task), ss->sp[i], sp))
		ss->depth[i] = 0;
	if (ss->depth[i] == 0)
		ss->sp[i] = sp;
	if (ss->depth[i] < 0xffff)
		ss->depth[i]++;
}

/* scope_leave counts a return from scope id; ret_sp is the user stack
 * pointer after the return (0 for a kernel function). The return of the
 * outermost call (above the recorded entry) ends the scope whatever the count
 * says: nested calls left by a longjmp that stayed inside it never returned. */
static __always_inline void scope_leave(__u64 id, __u64 ret_sp)
{
	int i = scope_index(id);
	if (i < 0)
		return;
	struct task_struct *task = bpf_get_current_task_btf();
	struct scope_state *ss = bpf_task_storage_get(&scopes, task, 0, 0);
	if (!ss || ss->depth[i] == 0) /* entered before the probe or the profile */
		return;
	if (ret_sp && ret_sp > ss->sp[i])
		ss->depth[i] = 0;
	else
		ss->depth[i]--;
	if (ss->depth[i] == 0)
		ss->sp[i] = 0;
}

/* At entry the return address is still at the stack pointer: the kernel
 * replaces it with the trampoline after this program ran. */
SEC("uprobe")
int bpfbox_scope_uprobe(struct pt_regs *ctx)
{
	scope_enter(bpf_get_attach_cookie(ctx), ctx->sp);
	return 0;
}

SEC("uretprobe")
int bpfbox_scope_uretprobe(struct pt_regs *ctx)
{
	scope_leave(bpf_get_attach_cookie(ctx), ctx->sp);
	return 0;
}

/* longjmp(jmp_buf env, int val) and its aliases in glibc: every user scope
 * whose outermost frame is below the stack pointer the jump restores is left.
 * glibc keeps that stack pointer in env[6], mangled with the thread's pointer
 * guard (%fs:0x30): rol(sp ^ guard, 0x11). */
#define JB_RSP 6
#define POINTER_GUARD 0x30

struct unwind_ctx {
	struct scope_state *ss;
	__u64 target;
};

static long unwind_step(__u32 i, struct unwind_ctx *u)
{
	__u32 idx = i & (SCOPE_MAX - 1);
	struct scope_state *ss = u->ss;
	if (ss->depth[idx] && ss->sp[idx] && ss->sp[idx] < u->target) {
		ss->depth[idx] = 0;
		ss->sp[idx] = 0;
	}
	return 0;
}

SEC("uprobe")
int bpfbox_scope_longjmp(struct pt_regs *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct scope_state *ss = bpf_task_storage_get(&scopes, task, 0, 0);
	if (!ss)
		return 0;
	__u64 mangled = 0, guard = 0;
	__u64 fsbase = BPF_CORE_READ(task, thread.fsbase);
	if (bpf_probe_read_user(&mangled, sizeof(mangled), (const void *)(ctx->di + JB_RSP * 8)) ||
	    bpf_probe_read_user(&guard, sizeof(guard), (const void *)(fsbase + POINTER_GUARD))) {
		/* cannot tell where it goes: leave every user scope (fail closed) */
		struct unwind_ctx u = {.ss = ss, .target = ~0ULL};
		bpf_loop(SCOPE_MAX, unwind_step, &u, 0);
		return 0;
	}
	struct unwind_ctx u = {.ss = ss, .target = ((mangled >> 0x11) | (mangled << (64 - 0x11))) ^ guard};
	bpf_loop(SCOPE_MAX, unwind_step, &u, 0);
	return 0;
}

/* The kfunc programs are loaded once per kernel function (fentry binds to its
 * target at load); the runtime replaces the target named here, and sets
 * kfunc_scope to the scope id (6.1 has no cookies for tracing links). */
volatile const __u64 kfunc_scope = 0;

SEC("fentry/do_sys_openat2")
int BPF_PROG(bpfbox_scope_fentry)
{
	scope_enter(kfunc_scope, 0);
	return 0;
}

SEC("fexit/do_sys_openat2")
int BPF_PROG(bpfbox_scope_fexit)
{
	scope_leave(kfunc_scope, 0);
	return 0;
}

/* A new program image starts outside every scope. */
SEC("lsm/bprm_committed_creds")
int BPF_PROG(bpfbox_scope_exec, struct linux_binprm *bprm)
{
	bpf_task_storage_delete(&scopes, bpf_get_current_task_btf());
	return 0;
}

/* scope_lookup returns the scope state of the deciding thread and its user
 * stack pointer and return trampoline, or NULL when it is inside no scope. */
static __always_inline struct scope_state *scope_lookup(struct task_struct *task, __u64 *usp, __u64 *tramp)
{
	struct config *c = get_config();
	if (!c || !(c->flags & CONFIG_SCOPED))
		return NULL; /* no scoped entry: spare the task storage lookup */
	struct scope_state *ss = bpf_task_storage_get(&scopes, task, 0, 0);
	if (!ss)
		return NULL;
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	*usp = regs ? BPF_CORE_READ(regs, sp) : 0;
	*tramp = trampoline(task);
	return ss;
}

/* scope_active says whether scope id is active for the deciding thread, and
 * resets a user scope that was left without returning. */
static __always_inline int scope_active(struct scope_state *ss, __u64 usp, __u64 tramp, __u32 id)
{
	int i = scope_index(id);
	if (i < 0 || !ss || ss->depth[i] == 0)
		return 0;
	__u64 sp = ss->sp[i];
	if (sp && !frame_live(tramp, sp, usp)) {
		ss->depth[i] = 0;
		ss->sp[i] = 0;
		return 0;
	}
	return 1;
}

#endif
