// bbxlogin is the login program of the bpfbox paper, reduced to what function
// scopes need: it opens files from inside (or outside) the functions
// check_password and add_user, which policies name in #[func] scopes, and
// prints one line per open: "ACTION ok" or "ACTION ERRNO_NAME".
//
// Each argument is a sequence of items separated by commas:
//   open:PATH:MODE       open PATH with openat(2); MODE r, w, a (append), c (create)
//   openat2:PATH:MODE    the same through openat2(2)
//   check_password(SEQ)  run SEQ inside check_password (recursion: nest it)
//   add_user(SEQ)        run SEQ inside add_user
//   thread(SEQ)          run SEQ in a new thread and join it
//   child(SEQ)           run SEQ in a forked child and wait for it
//   jump(SEQ)            setjmp, run SEQ; a longjmp in SEQ comes back here
//   longjmp              longjmp to the innermost jump(...)
//   bench:N              time N calls of bench_target and print "bench:N NS" (ns per call)
//   benchsys:N           time N getppid system calls and print "benchsys:N NS" (ns per call)
// Paths cannot contain ',', '(' or ')'.
//
// The scoped functions are noipa (not inlined, cloned or turned into sibling
// calls) so that their symbols are where the calls go.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *errname(int e)
{
	switch (e) {
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case ENOENT: return "ENOENT";
	case EINVAL: return "EINVAL";
	}
	return strerror(e);
}

static void report(const char *action, int len, int err)
{
	printf("%.*s %s\n", len, action, err ? errname(err) : "ok");
	fflush(stdout);
}

/* end returns the end of the item that starts at s: the matching ')' + 1 of
 * a call, else the next ',' or the end of the string. */
static const char *end(const char *s)
{
	int depth = 0;
	for (; *s; s++) {
		if (*s == '(')
			depth++;
		else if (*s == ')') {
			if (depth == 0)
				return s;
			if (--depth == 0)
				return s + 1;
		} else if (*s == ',' && depth == 0)
			return s;
	}
	return s;
}

static int open_action(const char *s, int len, int via_openat2)
{
	char path[4096], mode[8];
	const char *colon = NULL;
	for (const char *p = s; p < s + len; p++)
		if (*p == ':')
			colon = p;
	const char *start = strchr(s, ':') + 1;
	if (!colon || colon < start || colon - start >= (long)sizeof path || s + len - colon - 1 >= (long)sizeof mode)
		return EINVAL;
	memcpy(path, start, colon - start);
	path[colon - start] = 0;
	memcpy(mode, colon + 1, s + len - colon - 1);
	mode[s + len - colon - 1] = 0;
	int flags;
	if (!strcmp(mode, "r"))
		flags = O_RDONLY;
	else if (!strcmp(mode, "w"))
		flags = O_WRONLY;
	else if (!strcmp(mode, "a"))
		flags = O_WRONLY | O_APPEND;
	else if (!strcmp(mode, "c"))
		flags = O_WRONLY | O_CREAT;
	else
		return EINVAL;
	int fd;
	if (via_openat2) {
		struct open_how how = {.flags = flags, .mode = (flags & O_CREAT) ? 0644 : 0};
		fd = syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
	} else {
		fd = openat(AT_FDCWD, path, flags, 0644);
	}
	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static void run(const char *s, int len);

/* A sink the compiler cannot see through, so that calls are not elided. */
volatile int calls;

__attribute__((noipa)) int check_password(const char *body, int len)
{
	calls++;
	run(body, len);
	calls--;
	return 0;
}

__attribute__((noipa)) int add_user(const char *body, int len)
{
	calls++;
	run(body, len);
	calls--;
	return 0;
}

__attribute__((noipa)) int bench_target(int x)
{
	calls++;
	return x + 1;
}

struct span {
	const char *s;
	int len;
};

static void *thread_main(void *arg)
{
	struct span *sp = arg;
	run(sp->s, sp->len);
	return NULL;
}

static jmp_buf *jump_target;

static void bench(const char *s, int len)
{
	long n = atol(s + 6);
	struct timespec t0, t1;
	int x = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int sys = !strncmp(s, "benchsys:", 9);
	if (sys)
		n = atol(s + 9);
	for (long i = 0; i < n; i++)
		x = sys ? (int)syscall(SYS_getppid) : bench_target(x);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ns = (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
	printf("%.*s %.1f\n", len, s, n > 0 ? ns / n : 0);
	fflush(stdout);
}

/* item runs the item s[0..len). */
static void item(const char *s, int len)
{
	const char *paren = memchr(s, '(', len);
	if (paren && s[len - 1] == ')') {
		int name = paren - s;
		const char *body = paren + 1;
		int blen = len - name - 2;
		if (name == 14 && !strncmp(s, "check_password", 14)) {
			check_password(body, blen);
		} else if (name == 8 && !strncmp(s, "add_user", 8)) {
			add_user(body, blen);
		} else if (name == 6 && !strncmp(s, "thread", 6)) {
			struct span sp = {body, blen};
			pthread_t t;
			int err = pthread_create(&t, NULL, thread_main, &sp);
			if (err)
				report(s, len, err);
			else
				pthread_join(t, NULL);
		} else if (name == 5 && !strncmp(s, "child", 5)) {
			pid_t pid = fork();
			if (pid < 0) {
				report(s, len, errno);
			} else if (pid == 0) {
				run(body, blen);
				fflush(stdout);
				_exit(0);
			} else {
				waitpid(pid, NULL, 0);
			}
		} else if (name == 4 && !strncmp(s, "jump", 4)) {
			jmp_buf buf;
			jmp_buf *outer = jump_target;
			jump_target = &buf;
			if (setjmp(buf) == 0)
				run(body, blen);
			jump_target = outer;
		} else {
			report(s, len, EINVAL);
		}
		return;
	}
	if (len == 7 && !strncmp(s, "longjmp", 7)) {
		if (jump_target)
			longjmp(*jump_target, 1);
		report(s, len, EINVAL);
	} else if (!strncmp(s, "open:", 5)) {
		report(s, len, open_action(s, len, 0));
	} else if (!strncmp(s, "openat2:", 8)) {
		report(s, len, open_action(s, len, 1));
	} else if (!strncmp(s, "bench:", 6) || !strncmp(s, "benchsys:", 9)) {
		bench(s, len);
	} else {
		report(s, len, EINVAL);
	}
}

static void run(const char *s, int len)
{
	const char *stop = s + len;
	while (s < stop) {
		const char *e = end(s);
		if (e > stop)
			e = stop;
		if (e > s)
			item(s, e - s);
		s = (e < stop && *e == ',') ? e + 1 : e;
		if (e < stop && *e == ')') /* unbalanced: skip it */
			s = e + 1;
	}
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		run(argv[i], strlen(argv[i]));
	return 0;
}
