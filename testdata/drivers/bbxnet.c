// bbxnet performs socket, signal, ptrace and capability operations named on
// its command line, one step per argument, and prints one line per step:
// "STEP ok" or "STEP ERRNO_NAME". Enforcement tests run it (copied to a path
// a profile attaches to) and read what the kernel allowed.
//
// Sockets live in slots A..Z.
//   socket:S:FAMILY:TYPE  FAMILY unix inet inet6 netlink packet, or a number; TYPE stream dgram raw seqpacket
//   bind:S:ADDR           ADDR: @abstract or /path (unix), 127.0.0.1:PORT (inet),
//   connect:S:ADDR              [::1]:PORT (inet6), 0 (netlink: the kernel picks the port id)
//   listen:S  accept:S:T (the new socket goes to slot T)  send:S  recv:S  shutdown:S  close:S
// Signals (SIG: check usr1 usr2 term hup; the driver catches usr1 usr2 term hup):
//   kill:self:SIG         kill(getpid(), SIG)
//   kill:child:SIG        signal a forked child that waits for it
//   kill:parent:SIG       a forked child signals this process (the child prints the line)
//   kill:PID:SIG          kill(PID, SIG)
// ptrace:
//   ptrace:read:child, ptrace:read:PID   read /proc/PID/environ (a ptrace read check)
//   ptrace:attach:child                  PTRACE_ATTACH a forked child, then detach
//   ptrace:traceme                       a forked child asks to be traced by this process
// Capabilities (each in a forked child, which prints the line):
//   cap:setuid            setuid(65534)
//   cap:sys_nice          lower the niceness by one
// Other:
//   wait                  block until stdin is closed (a target process)
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static int slot_fd[26];
static int slot_family[26];

static const char *errname(int e)
{
	switch (e) {
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case ENOENT: return "ENOENT";
	case EINVAL: return "EINVAL";
	case EBADF: return "EBADF";
	case ECONNREFUSED: return "ECONNREFUSED";
	case EADDRINUSE: return "EADDRINUSE";
	case EAGAIN: return "EAGAIN";
	case ENOTCONN: return "ENOTCONN";
	case ESRCH: return "ESRCH";
	case EAFNOSUPPORT: return "EAFNOSUPPORT";
	case ESOCKTNOSUPPORT: return "ESOCKTNOSUPPORT";
	case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
	}
	return strerror(e);
}

static void report(const char *step, int err)
{
	if (err)
		printf("%s %s\n", step, errname(err));
	else
		printf("%s ok\n", step);
	fflush(stdout);
}

static void on_signal(int sig)
{
	(void)sig;
}

static int signum(const char *s)
{
	if (!strcmp(s, "check"))
		return 0;
	if (!strcmp(s, "usr1"))
		return SIGUSR1;
	if (!strcmp(s, "usr2"))
		return SIGUSR2;
	if (!strcmp(s, "term"))
		return SIGTERM;
	if (!strcmp(s, "hup"))
		return SIGHUP;
	return -1;
}

/* field splits s at ':' into at most n fields in buf; returns the count. */
static int fields(const char *s, char *buf, size_t size, char **f, int n)
{
	snprintf(buf, size, "%s", s);
	int k = 0;
	char *p = buf;
	while (k < n) {
		f[k++] = p;
		char *c = (k < n) ? strchr(p, ':') : NULL;
		if (!c)
			break;
		*c = 0;
		p = c + 1;
	}
	return k;
}

static int slot(const char *s)
{
	if (strlen(s) != 1 || s[0] < 'A' || s[0] > 'Z')
		return -1;
	return s[0] - 'A';
}

/* addr fills sa for family with ADDR. */
static int addr(int family, const char *a, struct sockaddr_storage *sa, socklen_t *len)
{
	memset(sa, 0, sizeof *sa);
	if (family == AF_UNIX) {
		struct sockaddr_un *u = (struct sockaddr_un *)sa;
		u->sun_family = AF_UNIX;
		size_t n = strlen(a);
		if (n >= sizeof u->sun_path)
			return EINVAL;
		memcpy(u->sun_path, a, n);
		if (a[0] == '@')
			u->sun_path[0] = 0;
		*len = offsetof(struct sockaddr_un, sun_path) + n + (a[0] == '@' ? 0 : 1);
		return 0;
	}
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)sa;
		char host[64];
		const char *c = strrchr(a, ':');
		if (!c || (size_t)(c - a) >= sizeof host)
			return EINVAL;
		memcpy(host, a, c - a);
		host[c - a] = 0;
		in->sin_family = AF_INET;
		in->sin_port = htons(atoi(c + 1));
		if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
			return EINVAL;
		*len = sizeof *in;
		return 0;
	}
	if (family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;
		char host[64];
		const char *c = strrchr(a, ':');
		if (a[0] != '[' || !c || c[-1] != ']' || (size_t)(c - a) >= sizeof host)
			return EINVAL;
		memcpy(host, a + 1, c - a - 2);
		host[c - a - 2] = 0;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(atoi(c + 1));
		if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
			return EINVAL;
		*len = sizeof *in6;
		return 0;
	}
	if (family == AF_NETLINK) {
		struct sockaddr_nl *nl = (struct sockaddr_nl *)sa;
		nl->nl_family = AF_NETLINK;
		nl->nl_pid = atoi(a);
		*len = sizeof *nl;
		return 0;
	}
	return EAFNOSUPPORT;
}

static int do_socket(char **f, int n)
{
	int s;
	if (n != 4 || (s = slot(f[1])) < 0)
		return EINVAL;
	int family, type, proto = 0;
	if (!strcmp(f[2], "unix"))
		family = AF_UNIX;
	else if (!strcmp(f[2], "inet"))
		family = AF_INET;
	else if (!strcmp(f[2], "inet6"))
		family = AF_INET6;
	else if (!strcmp(f[2], "netlink"))
		family = AF_NETLINK;
	else if (!strcmp(f[2], "packet"))
		family = AF_PACKET, proto = htons(ETH_P_ALL);
	else if (f[2][0] >= '0' && f[2][0] <= '9')
		family = atoi(f[2]); /* a family no rule names: AF_ALG is 38 */
	else
		return EINVAL;
	if (!strcmp(f[3], "stream"))
		type = SOCK_STREAM;
	else if (!strcmp(f[3], "dgram"))
		type = SOCK_DGRAM;
	else if (!strcmp(f[3], "raw"))
		type = SOCK_RAW;
	else if (!strcmp(f[3], "seqpacket"))
		type = SOCK_SEQPACKET;
	else
		return EINVAL;
	int fd = socket(family, type, proto);
	if (fd < 0)
		return errno;
	struct timeval tv = {.tv_sec = 5};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	int one = 1;
	if (family == AF_INET || family == AF_INET6)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	slot_fd[s] = fd;
	slot_family[s] = family;
	return 0;
}

/* fork_waiter forks a child that waits until *release is closed or a caught
 * signal arrives; it returns the child's pid and the write end in *release. */
static pid_t fork_waiter(int *release)
{
	int p[2], ready[2];
	if (pipe(p) || pipe(ready))
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(p[1]);
		close(ready[0]);
		char c = 1;
		if (write(ready[1], &c, 1) != 1)
			_exit(1);
		(void)read(p[0], &c, 1); /* EOF, or EINTR from a caught signal */
		_exit(0);
	}
	close(p[0]);
	close(ready[1]);
	char c;
	(void)read(ready[0], &c, 1);
	close(ready[0]);
	*release = p[1];
	return pid;
}

static void reap(pid_t pid, int release)
{
	close(release);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/* in_child runs fn(arg) in a forked child that prints the step's line. */
static int in_child(const char *step, int (*fn)(const char *), const char *arg)
{
	pid_t pid = fork();
	if (pid < 0)
		return errno;
	if (pid == 0) {
		report(step, fn(arg));
		_exit(0);
	}
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return -1; /* reported by the child */
}

static int kill_parent(const char *sig)
{
	return kill(getppid(), signum(sig)) ? errno : 0;
}

static int read_environ(pid_t pid)
{
	char path[64], buf[256];
	snprintf(path, sizeof path, "/proc/%d/environ", pid);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return errno;
	int err = read(fd, buf, sizeof buf) < 0 ? errno : 0;
	close(fd);
	return err;
}

static int traceme(const char *unused)
{
	(void)unused;
	return ptrace(PTRACE_TRACEME, 0, 0, 0) ? errno : 0;
}

static int set_uid(const char *unused)
{
	(void)unused;
	return setuid(65534) ? errno : 0;
}

static int lower_nice(const char *unused)
{
	(void)unused;
	errno = 0;
	int prio = getpriority(PRIO_PROCESS, 0);
	if (errno)
		return errno;
	return setpriority(PRIO_PROCESS, 0, prio - 1) ? errno : 0;
}

/* step performs s and returns 0, an errno, or -1 when a child reported. */
static int step(const char *s)
{
	char buf[512];
	char *f[5];
	int n = fields(s, buf, sizeof buf, f, 5);
	const char *op = f[0];
	int a;
	if (!strcmp(op, "socket"))
		return do_socket(f, n);
	if (!strcmp(op, "bind") || !strcmp(op, "connect")) {
		if (n < 3 || (a = slot(f[1])) < 0)
			return EINVAL;
		/* the address may contain ':' */
		const char *ad = s + strlen(op) + 3;
		struct sockaddr_storage sa;
		socklen_t len;
		int err = addr(slot_family[a], ad, &sa, &len);
		if (err)
			return err;
		int r = op[0] == 'b' ? bind(slot_fd[a], (struct sockaddr *)&sa, len)
				     : connect(slot_fd[a], (struct sockaddr *)&sa, len);
		return r ? errno : 0;
	}
	if (!strcmp(op, "listen")) {
		if (n != 2 || (a = slot(f[1])) < 0)
			return EINVAL;
		return listen(slot_fd[a], 8) ? errno : 0;
	}
	if (!strcmp(op, "accept")) {
		int t;
		if (n != 3 || (a = slot(f[1])) < 0 || (t = slot(f[2])) < 0)
			return EINVAL;
		int fd = accept(slot_fd[a], NULL, NULL);
		if (fd < 0)
			return errno;
		slot_fd[t] = fd;
		slot_family[t] = slot_family[a];
		return 0;
	}
	if (!strcmp(op, "send")) {
		if (n != 2 || (a = slot(f[1])) < 0)
			return EINVAL;
		return send(slot_fd[a], "x", 1, 0) < 0 ? errno : 0;
	}
	if (!strcmp(op, "recv")) {
		char c;
		if (n != 2 || (a = slot(f[1])) < 0)
			return EINVAL;
		return recv(slot_fd[a], &c, 1, 0) < 0 ? errno : 0;
	}
	if (!strcmp(op, "shutdown")) {
		if (n != 2 || (a = slot(f[1])) < 0)
			return EINVAL;
		return shutdown(slot_fd[a], SHUT_RDWR) ? errno : 0;
	}
	if (!strcmp(op, "close")) {
		if (n != 2 || (a = slot(f[1])) < 0)
			return EINVAL;
		return close(slot_fd[a]) ? errno : 0;
	}
	if (!strcmp(op, "kill")) {
		int sig;
		if (n != 3 || (sig = signum(f[2])) < 0)
			return EINVAL;
		if (!strcmp(f[1], "self"))
			return kill(getpid(), sig) ? errno : 0;
		if (!strcmp(f[1], "parent"))
			return in_child(s, kill_parent, f[2]);
		if (!strcmp(f[1], "child")) {
			int release;
			pid_t pid = fork_waiter(&release);
			if (pid < 0)
				return errno;
			int err = kill(pid, sig) ? errno : 0;
			reap(pid, release);
			return err;
		}
		return kill(atoi(f[1]), sig) ? errno : 0;
	}
	if (!strcmp(op, "ptrace")) {
		if (n == 2 && !strcmp(f[1], "traceme"))
			return in_child(s, traceme, NULL);
		if (n != 3)
			return EINVAL;
		int attach = !strcmp(f[1], "attach");
		if (!attach && strcmp(f[1], "read"))
			return EINVAL;
		if (strcmp(f[2], "child")) {
			if (attach)
				return EINVAL;
			return read_environ(atoi(f[2]));
		}
		int release;
		pid_t pid = fork_waiter(&release);
		if (pid < 0)
			return errno;
		int err;
		if (!attach) {
			err = read_environ(pid);
		} else if (ptrace(PTRACE_ATTACH, pid, 0, 0)) {
			err = errno;
		} else {
			err = 0;
			while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR)
				;
			ptrace(PTRACE_DETACH, pid, 0, 0);
		}
		reap(pid, release);
		return err;
	}
	if (!strcmp(op, "cap")) {
		if (n != 2)
			return EINVAL;
		if (!strcmp(f[1], "setuid"))
			return in_child(s, set_uid, NULL);
		if (!strcmp(f[1], "sys_nice"))
			return in_child(s, lower_nice, NULL);
		return EINVAL;
	}
	if (!strcmp(op, "wait")) {
		char c;
		while (read(0, &c, 1) < 0 && errno == EINTR)
			; /* a signal it was sent is not the end */
		return 0;
	}
	return EINVAL;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal; /* no SA_RESTART: a caught signal ends a wait */
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	for (int i = 1; i < argc; i++) {
		int err = step(argv[i]);
		if (err >= 0)
			report(argv[i], err);
	}
	return 0;
}
