// bbxdrive performs file operations named on its command line, one step per
// argument, and prints one line per step: "STEP ok" or "STEP ERRNO_NAME".
// Enforcement tests run it (copied to a path a profile attaches to) and read
// what the kernel allowed.
//
// Steps:
//   open:PATH:MODE   open PATH with MODE r (O_RDONLY), w (O_WRONLY), rw,
//                    a (O_WRONLY|O_APPEND), c (O_WRONLY|O_CREAT, 0644)
//   child            run the remaining steps in a forked child and wait
//   thread:STEP      run one step in a new thread and join it (in the spawned
//                    thread instead when there is one)
//   spawn            start a thread that waits and runs every later
//                    thread:STEP of this process; it exists before the steps
//                    in between and lives until the process exits or execs
//   exec:PATH        execve PATH with the remaining steps as its arguments; when
//                    that fails, print "exec:PATH ERRNO_NAME" and go on with them
//   thread:exec:PATH the same from a thread that is not the group leader
//   symlink:TARGET:LINK  create a symlink (for tests that need one)
//   bpf              call bpf(BPF_MAP_CREATE) and report the result
//   write:PATH:TEXT  create/truncate PATH and write TEXT (unconfined setup)
//   mkdir:PATH       make directory PATH (mode 0755)
//   mmapx:PATH       open PATH read-only and map it PROT_READ|PROT_EXEC
//   mknod:PATH       make an empty regular file (mknod S_IFREG 0644)
//   unlink:PATH, rmdir:PATH, chmod:PATH (0600), truncate:PATH (to 0)
//   rename:OLD:NEW, link:OLD:NEW
//   mprotectx:PATH   open PATH, map it PROT_READ, then mprotect it PROT_READ|PROT_EXEC
//   ioctl:PATH       open PATH read-only and ioctl(FIONREAD) it
//   copy:SRC:DST     copy file SRC to DST (mode 0755)
//   waitfor:PATH     wait (up to a minute) until PATH exists
//   hammer:PATH:STOP open PATH read-only over and over until STOP exists (at
//                    most ten minutes), and print "STEP ok opened=N tries=M":
//                    how many opens succeeded, out of how many (and, when
//                    some did, at which tries the first and the last)
//   launch:EXE:PATH:DIR  over and over until DIR/stop exists, fork and exec
//                    EXE with the one step exitopen:PATH; create DIR/started
//                    after the first run and DIR/denied after the first run
//                    whose open failed; print "STEP ok allowed=A denied=D
//                    regressions=R" (R: runs allowed after one was denied)
//   exitopen:PATH    open PATH read-only and exit: 0 opened, 1 refused
//   bench:KIND:N:DIR run a loop N times and print "bench:KIND:N:DIR ok NS" with
//                    the CPU nanoseconds per iteration (user and system time
//                    of this process and of its children: time other
//                    processes take from the CPU is not counted); KIND is
//                    open (open and close DIR/f), create (create DIR/cN,
//                    write 32 bytes, close, unlink) or launch (fork, exec
//                    this program with no arguments, wait)
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>

static const char *errname(int e)
{
	switch (e) {
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case ENOENT: return "ENOENT";
	case EEXIST: return "EEXIST";
	case EINVAL: return "EINVAL";
	case ENOTDIR: return "ENOTDIR";
	case EISDIR: return "EISDIR";
	}
	return strerror(e);
}

static void report(const char *step, int err)
{
	if (err < 0)
		return; /* the step printed its own line */
	if (err)
		printf("%s %s\n", step, errname(err));
	else
		printf("%s ok\n", step);
	fflush(stdout);
}

static int do_open(const char *spec)
{
	char buf[4096];
	snprintf(buf, sizeof buf, "%s", spec);
	char *mode = strrchr(buf, ':');
	if (!mode)
		return EINVAL;
	*mode++ = 0;
	int flags;
	if (!strcmp(mode, "r"))
		flags = O_RDONLY;
	else if (!strcmp(mode, "w"))
		flags = O_WRONLY;
	else if (!strcmp(mode, "rw"))
		flags = O_RDWR;
	else if (!strcmp(mode, "a"))
		flags = O_WRONLY | O_APPEND;
	else if (!strcmp(mode, "c"))
		flags = O_WRONLY | O_CREAT;
	else
		return EINVAL;
	int fd = open(buf, flags, 0644);
	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static int step(const char *s);
static char *self_path;

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* cpu_ns is the CPU time used so far by this process and its waited-for
 * children, system time (the LSM hooks run there) included. */
static long long cpu_ns(void)
{
	struct timespec ts;
	struct rusage ru;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	getrusage(RUSAGE_CHILDREN, &ru);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec +
	       (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
}

/* bench runs one benchmark loop and prints its result line itself. */
static int bench(const char *s)
{
	char kind[16], dir[3500];
	long n;
	if (sscanf(s, "bench:%15[^:]:%ld:%3499s", kind, &n, dir) != 3 || n <= 0)
		return EINVAL;
	char path[4096];
	long long start = cpu_ns();
	for (long i = 0; i < n; i++) {
		if (!strcmp(kind, "open")) {
			snprintf(path, sizeof path, "%s/f", dir);
			int fd = open(path, O_RDONLY);
			if (fd < 0)
				return errno;
			close(fd);
		} else if (!strcmp(kind, "create")) {
			snprintf(path, sizeof path, "%s/c%ld", dir, i);
			int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
			if (fd < 0)
				return errno;
			if (write(fd, "0123456789abcdef0123456789abcdef", 32) != 32) {
				close(fd);
				return EIO;
			}
			close(fd);
			if (unlink(path))
				return errno;
		} else if (!strcmp(kind, "launch")) {
			pid_t pid = fork();
			if (pid < 0)
				return errno;
			if (pid == 0) {
				char *argv[] = {self_path, NULL};
				execv(self_path, argv);
				_exit(127);
			}
			int status;
			waitpid(pid, &status, 0);
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
				return ECHILD;
		} else {
			return EINVAL;
		}
	}
	printf("%s ok %lld\n", s, (cpu_ns() - start) / n);
	fflush(stdout);
	return -1; /* reported */
}

/* Work for a thread: fn(arg), its result an error number. */
struct work {
	int (*fn)(void *);
	void *arg;
};

static void *thread_main(void *p)
{
	struct work *w = p;
	return (void *)(long)w->fn(w->arg);
}

/* The thread "spawn" started, and the work handed to it. */
static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int spawned;
	struct work *work; /* handed over, not yet done */
	int result;
} spawned = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void *spawned_main(void *unused)
{
	(void)unused;
	pthread_mutex_lock(&spawned.mu);
	for (;;) {
		while (!spawned.work)
			pthread_cond_wait(&spawned.cv, &spawned.mu);
		struct work *w = spawned.work;
		pthread_mutex_unlock(&spawned.mu);
		int res = w->fn(w->arg);
		pthread_mutex_lock(&spawned.mu);
		spawned.result = res;
		spawned.work = NULL;
		pthread_cond_broadcast(&spawned.cv);
	}
	return NULL;
}

static int spawn(void)
{
	pthread_t t;
	int err = pthread_create(&t, NULL, spawned_main, NULL);
	if (!err)
		spawned.spawned = 1;
	return err;
}

/* in_thread runs w in the spawned thread, or in a new one, and waits for it. */
static int in_thread(struct work *w)
{
	if (spawned.spawned) {
		pthread_mutex_lock(&spawned.mu);
		spawned.work = w;
		pthread_cond_broadcast(&spawned.cv);
		while (spawned.work)
			pthread_cond_wait(&spawned.cv, &spawned.mu);
		int res = spawned.result;
		pthread_mutex_unlock(&spawned.mu);
		return res;
	}
	pthread_t t;
	void *res;
	int err = pthread_create(&t, NULL, thread_main, w);
	if (err)
		return err;
	pthread_join(t, &res);
	return (int)(long)res;
}

static int step_work(void *s)
{
	return step(s);
}

/* exec_work execs args[0] with args; it returns only when that fails. */
static int exec_work(void *p)
{
	char **args = p;
	execv(args[0], args);
	return errno;
}

static int step(const char *s)
{
	if (!strncmp(s, "open:", 5))
		return do_open(s + 5);
	if (!strncmp(s, "thread:", 7)) {
		struct work w = {step_work, (void *)(s + 7)};
		return in_thread(&w);
	}
	if (!strcmp(s, "spawn"))
		return spawn();
	if (!strncmp(s, "symlink:", 8)) {
		char buf[4096];
		snprintf(buf, sizeof buf, "%s", s + 8);
		char *link = strchr(buf, ':');
		if (!link)
			return EINVAL;
		*link++ = 0;
		return symlink(buf, link) ? errno : 0;
	}
	if (!strncmp(s, "write:", 6)) {
		char buf[4096];
		snprintf(buf, sizeof buf, "%s", s + 6);
		char *text = strchr(buf, ':');
		if (!text)
			return EINVAL;
		*text++ = 0;
		int fd = open(buf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0)
			return errno;
		int err = write(fd, text, strlen(text)) < 0 ? errno : 0;
		close(fd);
		return err;
	}
	if (!strncmp(s, "mmapx:", 6)) {
		int fd = open(s + 6, O_RDONLY);
		if (fd < 0)
			return errno;
		void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
		int err = p == MAP_FAILED ? errno : 0;
		if (p != MAP_FAILED)
			munmap(p, 4096);
		close(fd);
		return err;
	}
	if (!strncmp(s, "mprotectx:", 10)) {
		int fd = open(s + 10, O_RDONLY);
		if (fd < 0)
			return errno;
		void *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
		int err = p == MAP_FAILED ? errno : 0;
		if (!err && mprotect(p, 4096, PROT_READ | PROT_EXEC))
			err = errno;
		if (p != MAP_FAILED)
			munmap(p, 4096);
		close(fd);
		return err;
	}
	if (!strncmp(s, "ioctl:", 6)) {
		int fd = open(s + 6, O_RDONLY);
		if (fd < 0)
			return errno;
		int n;
		int err = ioctl(fd, FIONREAD, &n) ? errno : 0;
		close(fd);
		return err;
	}
	if (!strncmp(s, "copy:", 5)) {
		char buf[4096];
		snprintf(buf, sizeof buf, "%s", s + 5);
		char *to = strchr(buf, ':');
		if (!to)
			return EINVAL;
		*to++ = 0;
		int in = open(buf, O_RDONLY);
		if (in < 0)
			return errno;
		int out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);
		if (out < 0) {
			int e = errno;
			close(in);
			return e;
		}
		char chunk[65536];
		ssize_t n;
		int err = 0;
		while ((n = read(in, chunk, sizeof chunk)) > 0)
			if (write(out, chunk, n) != n) {
				err = errno ? errno : EIO;
				break;
			}
		if (n < 0)
			err = errno;
		close(in);
		close(out);
		return err;
	}
	if (!strncmp(s, "bench:", 6))
		return bench(s);
	if (!strncmp(s, "hammer:", 7)) {
		char buf[4096];
		snprintf(buf, sizeof buf, "%s", s + 7);
		char *stop = strchr(buf, ':');
		if (!stop)
			return EINVAL;
		*stop++ = 0;
		long opened = 0, tries = 0, first = -1, last = -1;
		long long end = now_ns() + 600LL * 1000000000LL;
		while (access(stop, F_OK) && now_ns() < end) {
			int fd = open(buf, O_RDONLY);
			tries++;
			if (fd >= 0) {
				opened++;
				if (first < 0)
					first = tries;
				last = tries;
				close(fd);
			}
		}
		printf("%s ok opened=%ld tries=%ld", s, opened, tries);
		if (opened)
			printf(" (the first at try %ld, the last at %ld)", first, last);
		printf("\n");
		fflush(stdout);
		return -1; /* reported */
	}
	if (!strncmp(s, "exitopen:", 9))
		_exit(open(s + 9, O_RDONLY) >= 0 ? 0 : 1);
	if (!strncmp(s, "launch:", 7)) {
		char exe[4096], path[4096], dir[4096], step[4200], stop[4200], flag[4200];
		if (sscanf(s, "launch:%4095[^:]:%4095[^:]:%4095s", exe, path, dir) != 3)
			return EINVAL;
		snprintf(step, sizeof step, "exitopen:%s", path);
		snprintf(stop, sizeof stop, "%s/stop", dir);
		long allowed = 0, denied = 0, regressions = 0;
		long long end = now_ns() + 600LL * 1000000000LL;
		do {
			pid_t pid = fork();
			if (pid < 0)
				return errno;
			if (pid == 0) {
				char *argv[] = {exe, step, NULL};
				execv(exe, argv);
				_exit(127);
			}
			int status;
			waitpid(pid, &status, 0);
			if (!WIFEXITED(status) || WEXITSTATUS(status) > 1)
				return ECHILD;
			if (WEXITSTATUS(status) == 0) {
				allowed++;
				regressions += denied > 0;
			} else if (denied++ == 0) {
				snprintf(flag, sizeof flag, "%s/denied", dir);
				close(open(flag, O_WRONLY | O_CREAT, 0644));
			}
			if (allowed + denied == 1) {
				snprintf(flag, sizeof flag, "%s/started", dir);
				close(open(flag, O_WRONLY | O_CREAT, 0644));
			}
		} while (access(stop, F_OK) && now_ns() < end);
		printf("%s ok allowed=%ld denied=%ld regressions=%ld\n", s, allowed, denied, regressions);
		fflush(stdout);
		return -1; /* reported */
	}
	if (!strncmp(s, "waitfor:", 8)) {
		for (int i = 0; i < 6000; i++) {
			if (!access(s + 8, F_OK))
				return 0;
			usleep(10000);
		}
		return ETIMEDOUT;
	}
	if (!strncmp(s, "mknod:", 6))
		return mknod(s + 6, S_IFREG | 0644, 0) ? errno : 0;
	if (!strncmp(s, "unlink:", 7))
		return unlink(s + 7) ? errno : 0;
	if (!strncmp(s, "rmdir:", 6))
		return rmdir(s + 6) ? errno : 0;
	if (!strncmp(s, "chmod:", 6))
		return chmod(s + 6, 0600) ? errno : 0;
	if (!strncmp(s, "truncate:", 9))
		return truncate(s + 9, 0) ? errno : 0;
	if (!strncmp(s, "rename:", 7) || !strncmp(s, "link:", 5)) {
		char buf[4096];
		int is_rename = s[0] == 'r';
		snprintf(buf, sizeof buf, "%s", s + (is_rename ? 7 : 5));
		char *to = strchr(buf, ':');
		if (!to)
			return EINVAL;
		*to++ = 0;
		int r = is_rename ? rename(buf, to) : link(buf, to);
		return r ? errno : 0;
	}
	if (!strncmp(s, "mkdir:", 6))
		return mkdir(s + 6, 0755) ? errno : 0;
	if (!strcmp(s, "bpf")) {
		union bpf_attr attr;
		memset(&attr, 0, sizeof attr);
		attr.map_type = BPF_MAP_TYPE_ARRAY;
		attr.key_size = 4;
		attr.value_size = 4;
		attr.max_entries = 1;
		long fd = syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr);
		if (fd < 0)
			return errno;
		close(fd);
		return 0;
	}
	return EINVAL;
}

int main(int argc, char **argv)
{
	self_path = argv[0];
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];
		if (!strcmp(s, "child")) {
			pid_t pid = fork();
			if (pid < 0) {
				report(s, errno);
				return 1;
			}
			if (pid == 0) {
				spawned.spawned = 0; /* not copied by fork */
				continue; /* the child runs the rest */
			}
			int status;
			waitpid(pid, &status, 0);
			return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
		}
		if (!strncmp(s, "exec:", 5) || !strncmp(s, "thread:exec:", 12)) {
			int threaded = s[0] == 't';
			argv[i] = (char *)s + (threaded ? 12 : 5);
			struct work w = {exec_work, argv + i};
			report(s, threaded ? in_thread(&w) : exec_work(argv + i));
			continue;
		}
		report(s, step(s));
	}
	return 0;
}
