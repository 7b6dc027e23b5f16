/* SPDX-License-Identifier: GPL-2.0
 *
 * net, signal, ptrace and cap rules: the hooks that decide them with the
 * decision helpers of enforce.bpf.c (gather_step, conclude), over the
 * profile's entry ranges instead of a DFA's accepting state. Included at the
 * end of enforce.bpf.c; docs/language.md ("Decisions taken where the design
 * left room") says what each hook decides.
 */

/* Socket address families as lang/policy.Family numbers them. */
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define AF_NETLINK 16
#define AF_PACKET 17

/* lang/policy.TargetKind */
#define TARGET_SELF 1
#define TARGET_CHILD 2
#define TARGET_PARENT 3
#define TARGET_ANY 4

/* lang/policy.PtraceMode, and the kernel's ptrace access modes */
#define PTRACE_READ (1u << 0)
#define PTRACE_ATTACH (1u << 1)
#define PTRACE_MODE_ATTACH 0x02

#define CAP_OPT_NOAUDIT (1u << 1)

static __always_inline __u32 policy_family(int af)
{
	switch (af) {
	case AF_UNIX:
		return 1;
	case AF_INET:
		return 2;
	case AF_INET6:
		return 3;
	case AF_NETLINK:
		return 4;
	case AF_PACKET:
		return 5;
	}
	return 0; /* another family: only net(any, …) rules apply */
}

/* decide_range decides a confined request already described by ev against
 * entries[first, first+count), keeping those whose arg is in arg_mask or,
 * when profile_arg is TARGET_PROFILE (signal, ptrace), whose arg is
 * TARGET_PROFILE and whose profile target is target. Net and cap ranges pass
 * NONE: there arg 5 is the packet family, or nothing. */
static __always_inline int decide_range(struct task_struct *task, struct task_state *st, struct profile *prof,
					struct scratch *s, __u32 first, __u32 count, __u32 arg_mask,
					__u32 profile_arg, __u32 target)
{
	struct gather g;
	gather_init(&g, s->ev.requested, arg_mask, target);
	g.profile_arg = profile_arg;
	g.first = first;
	g.count = count;
	if (count)
		g.scopes = scope_lookup(task, &g.usp, &g.tramp);
	bpf_loop(count, gather_step, &g, 0);
	return conclude(task, st, s, prof, &g, 0, NULL);
}

/* ---- net ---- */

static __always_inline int net_check(int af, __u64 op)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct task_state *st = confined(task);
	if (!st)
		return 0;
	__u32 pidx = st->profile - 1;
	struct profile *prof = bpf_map_lookup_elem(&profiles, &pidx);
	struct scratch *s = get_scratch(task);
	if (!prof || !s)
		return -EPERM; /* cannot decide: fail closed */
	__u32 fam = policy_family(af);
	start_event(&s->ev, task, BB_OP_NET, pidx, op);
	s->ev.family = fam;
	return verdict(decide_range(task, st, prof, s, prof->net_first, prof->net_count, 1u | (1u << fam), NONE, NONE));
}

static __always_inline int sock_family(struct socket *sock)
{
	return BPF_CORE_READ(sock, ops, family);
}

#define NET_CREATE (1u << 0)
#define NET_BIND (1u << 1)
#define NET_CONNECT (1u << 2)
#define NET_LISTEN (1u << 3)
#define NET_ACCEPT (1u << 4)
#define NET_SEND (1u << 5)
#define NET_RECV (1u << 6)
#define NET_SHUTDOWN (1u << 7)

SEC("lsm/socket_create")
int BPF_PROG(bpfbox_socket_create, int family, int type, int protocol, int kern, int ret)
{
	if (ret)
		return prior(ret);
	if (kern) /* the kernel's own sockets */
		return 0;
	return net_check(family, NET_CREATE);
}

SEC("lsm/socket_bind")
int BPF_PROG(bpfbox_socket_bind, struct socket *sock, struct sockaddr *address, int addrlen, int ret)
{
	if (ret)
		return prior(ret);
	return net_check(sock_family(sock), NET_BIND);
}

SEC("lsm/socket_connect")
int BPF_PROG(bpfbox_socket_connect, struct socket *sock, struct sockaddr *address, int addrlen, int ret)
{
	if (ret)
		return prior(ret);
	return net_check(sock_family(sock), NET_CONNECT);
}

SEC("lsm/socket_listen")
int BPF_PROG(bpfbox_socket_listen, struct socket *sock, int backlog, int ret)
{
	if (ret)
		return prior(ret);
	return net_check(sock_family(sock), NET_LISTEN);
}

SEC("lsm/socket_accept")
int BPF_PROG(bpfbox_socket_accept, struct socket *sock, struct socket *newsock, int ret)
{
	if (ret)
		return prior(ret);
	return net_check(sock_family(sock), NET_ACCEPT);
}

SEC("lsm/socket_sendmsg")
int BPF_PROG(bpfbox_socket_sendmsg, struct socket *sock, struct msghdr *msg, int size, int ret)
{
	if (ret)
		return prior(ret);
	return net_check(sock_family(sock), NET_SEND);
}

SEC("lsm/socket_recvmsg")
int BPF_PROG(bpfbox_socket_recvmsg, struct socket *sock, struct msghdr *msg, int size, int flags, int ret)
{
	if (ret)
		return prior(ret);
	return net_check(sock_family(sock), NET_RECV);
}

SEC("lsm/socket_shutdown")
int BPF_PROG(bpfbox_socket_shutdown, struct socket *sock, int how, int ret)
{
	if (ret)
		return prior(ret);
	return net_check(sock_family(sock), NET_SHUTDOWN);
}

/* ---- signal and ptrace: the target task ---- */

/* target_mask is the arg_mask of a request by task (thread group tgid) aimed
 * at target: `any` always, and the one relation that holds, if any. */
static __always_inline __u32 target_mask(struct task_struct *task, struct task_struct *target)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);
	__u32 ttgid = BPF_CORE_READ(target, tgid);
	__u32 mask = 1u << TARGET_ANY;
	if (ttgid == tgid)
		mask |= 1u << TARGET_SELF;
	else if (BPF_CORE_READ(target, real_parent, tgid) == tgid)
		mask |= 1u << TARGET_CHILD;
	else if (BPF_CORE_READ(task, real_parent, tgid) == ttgid)
		mask |= 1u << TARGET_PARENT;
	return mask;
}

/* target_profile is the profile slot confining target, or NONE. */
static __always_inline __u32 target_profile(struct task_struct *target)
{
	struct task_state *ts = confined(target);
	if (!ts)
		return NONE;
	return ts->profile - 1;
}

/* Signals sent by current (kill, tgkill, sigqueue, also kill(pid, 0)).
 * Signals the kernel generates (SIGCHLD, SIGSEGV, timers) never reach this
 * hook; a non-NULL cred is a SIGIO/SIGURG sent for a file's owner, not by
 * current, and is not decided. */
SEC("lsm/task_kill")
int BPF_PROG(bpfbox_task_kill, struct task_struct *p, struct kernel_siginfo *info, int sig,
	     const struct cred *cred, int ret)
{
	if (ret)
		return prior(ret);
	/* A plain `if (cred)` was dropped at load on 6.12 (the verifier took
	 * this argument to be non-NULL, and no signal was ever decided):
	 * test the value as a number. */
	__u64 cred_value = 0;
	bpf_probe_read_kernel(&cred_value, sizeof(cred_value), &ctx[3]);
	if (cred_value)
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();
	struct task_state *st = confined(task);
	if (!st)
		return 0;
	__u32 pidx = st->profile - 1;
	struct profile *prof = bpf_map_lookup_elem(&profiles, &pidx);
	struct scratch *s = get_scratch(task);
	if (!prof || !s)
		return -EPERM;
	/* SigSet: bit N is signal N, bit 0 the existence check; 64 shares 63 */
	__u32 bit = sig <= 0 ? 0 : (sig > 63 ? 63 : sig);
	start_event(&s->ev, task, BB_OP_SIGNAL, pidx, 1ull << bit);
	s->ev.target_pid = BPF_CORE_READ(p, tgid);
	return verdict(decide_range(task, st, prof, s, prof->signal_first, prof->signal_count, target_mask(task, p),
				    TARGET_PROFILE, target_profile(p)));
}

/* ptrace access by current: PTRACE_ATTACH/SEIZE (attach) and the read checks
 * of /proc/PID/{environ,mem,maps,…}, process_vm_readv, kcmp and the like
 * (read). Access to the own thread group never reaches this hook. */
SEC("lsm/ptrace_access_check")
int BPF_PROG(bpfbox_ptrace_access_check, struct task_struct *child, unsigned int mode, int ret)
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
	if (!prof || !s)
		return -EPERM;
	start_event(&s->ev, task, BB_OP_PTRACE, pidx, (mode & PTRACE_MODE_ATTACH) ? PTRACE_ATTACH : PTRACE_READ);
	s->ev.target_pid = BPF_CORE_READ(child, tgid);
	return verdict(decide_range(task, st, prof, s, prof->ptrace_first, prof->ptrace_count,
				    target_mask(task, child), TARGET_PROFILE, target_profile(child)));
}

/* PTRACE_TRACEME makes the parent the tracer: it is decided as the parent's
 * request `ptrace(child, attach)` on current, against the parent's profile
 * (an unconfined parent could attach anyway). The event names the parent. */
SEC("lsm/ptrace_traceme")
int BPF_PROG(bpfbox_ptrace_traceme, struct task_struct *parent, int ret)
{
	if (ret)
		return prior(ret);
	struct task_struct *task = bpf_get_current_task_btf();
	struct task_state *pst = confined(parent);
	if (!pst)
		return 0;
	__u32 pidx = pst->profile - 1;
	struct profile *prof = bpf_map_lookup_elem(&profiles, &pidx);
	struct scratch *s = get_scratch(task);
	if (!prof || !s)
		return -EPERM;
	start_event(&s->ev, task, BB_OP_PTRACE, pidx, PTRACE_ATTACH);
	s->ev.pid = BPF_CORE_READ(parent, tgid);
	s->ev.tid = BPF_CORE_READ(parent, pid);
	BPF_CORE_READ_STR_INTO(&s->ev.comm, parent, comm);
	s->ev.target_pid = BPF_CORE_READ(task, tgid);
	return verdict(decide_range(parent, pst, prof, s, prof->ptrace_first, prof->ptrace_count,
				    (1u << TARGET_ANY) | (1u << TARGET_CHILD), TARGET_PROFILE, target_profile(task)));
}

/* ---- cap ----
 *
 * capable() runs for every privileged operation, often with credentials that
 * are not current's (has_capability() on another task, a file opener's
 * credentials): only checks of current's own subjective credentials are
 * decided. A CAP_OPT_NOAUDIT check is the kernel asking quietly (choosing a
 * behaviour, not acting on behalf of the task): it is answered by the same
 * decision, but neither taints nor logs. */
SEC("lsm/capable")
int BPF_PROG(bpfbox_capable, const struct cred *cred, struct user_namespace *ns, int cap, unsigned int opts,
	     int ret)
{
	if (ret)
		return prior(ret);
	if (cap < 0 || cap > 63)
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();
	struct task_state *st = confined(task);
	if (!st)
		return 0;
	if ((const void *)cred != (const void *)BPF_CORE_READ(task, cred))
		return 0;
	__u32 pidx = st->profile - 1;
	struct profile *prof = bpf_map_lookup_elem(&profiles, &pidx);
	if (!prof)
		return -EPERM;
	__u64 requested = 1ull << cap;
	if (opts & CAP_OPT_NOAUDIT) {
		struct gather g;
		gather_init(&g, requested, 1, NONE);
		g.first = prof->cap_first;
		g.count = prof->cap_count;
		if (g.count)
			g.scopes = scope_lookup(task, &g.usp, &g.tramp);
		bpf_loop(g.count, gather_step, &g, 0);
		int deny = g.deny_rule != NONE || (is_tainted(task, st) && (g.granted & requested) != requested);
		return verdict(deny && !complain(prof));
	}
	struct scratch *s = get_scratch(task);
	if (!s)
		return -EPERM;
	start_event(&s->ev, task, BB_OP_CAP, pidx, requested);
	return verdict(decide_range(task, st, prof, s, prof->cap_first, prof->cap_count, 1, NONE, NONE));
}
