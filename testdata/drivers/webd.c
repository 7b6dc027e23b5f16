// webd is the small file server that examples/webd.bbx confines; run as
// webd-helper (argv[0]) it is the helper of examples/helper.bbx.
//
// webd: at startup (untainted) it reads /etc/webd/webd.conf and, to show that
// an untainted process is not held to its policy, /srv/secret.txt; then it
// binds 127.0.0.1:80 (the bind taints it), prints "ready" and serves one
// request per connection, one line each:
//   GET /PATH         the file /srv/www/PATH, or "ERR errno"
//   PROBE             tries what webd.bbx does not grant: read /srv/secret.txt,
//                     kill(1, 0), a packet socket; one result each
//   UPLOAD NAME TEXT  execs the helper (#[transition]) over a unix socket pair
//                     and relays what it reports
//   QUIT              exits
// Every answer is one line. Output goes through write(2), never stdio, so
// the program makes no isatty() ioctl a policy would have to allow.
//
// webd-helper NAME TEXT (fd 3: the socket pair): writes /srv/www/uploads/NAME,
// tries to read /srv/www/index.html (helper.bbx does not grant it), sends
// SIGUSR1 to its parent and reports both results on fd 3.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void say(int fd, const char *fmt, ...)
{
	char buf[8192];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof buf - 1)
		n = sizeof buf - 1;
	(void)write(fd, buf, n);
}

static const char *errname(int e)
{
	switch (e) {
	case 0: return "ok";
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case ENOENT: return "ENOENT";
	}
	return strerror(e);
}

/* readfile reads path into buf (NUL-terminated, newlines as spaces) and
 * returns 0 or an errno. */
static int readfile(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return errno;
	ssize_t n = read(fd, buf, size - 1);
	int err = n < 0 ? errno : 0;
	close(fd);
	if (n < 0)
		n = 0;
	buf[n] = 0;
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == '\n')
			buf[i] = ' ';
	return err;
}

static int helper(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	char path[512], buf[256];
	snprintf(path, sizeof path, "/srv/www/uploads/%s", argv[1]);
	int err = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		err = errno;
	else {
		if (write(fd, argv[2], strlen(argv[2])) < 0)
			err = errno;
		close(fd);
	}
	int rerr = readfile("/srv/www/index.html", buf, sizeof buf);
	int serr = kill(getppid(), SIGUSR1) ? errno : 0;
	say(3, "upload %s read-index %s signal-parent %s\n", errname(err), errname(rerr), errname(serr));
	return 0;
}

static volatile sig_atomic_t usr1;

static void on_usr1(int sig)
{
	(void)sig;
	usr1 = 1;
}

static void upload(int client, const char *name, const char *text)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) {
		say(client, "ERR socketpair %s\n", errname(errno));
		return;
	}
	usr1 = 0;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(sv[1], 3);
		execl("/usr/local/libexec/webd-helper", "webd-helper", name, text, (char *)NULL);
		say(3, "exec %s\n", errname(errno));
		_exit(1);
	}
	close(sv[1]);
	char buf[512];
	ssize_t n;
	while ((n = read(sv[0], buf, sizeof buf - 1)) < 0 && errno == EINTR)
		; /* the helper's SIGUSR1 */
	if (n < 0)
		n = 0;
	buf[n] = 0;
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = 0;
	close(sv[0]);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	say(client, "%s usr1 %s\n", buf, usr1 ? "received" : "missing");
}

static void serve(int client)
{
	char req[1024];
	ssize_t n = read(client, req, sizeof req - 1);
	if (n <= 0)
		return;
	req[n] = 0;
	req[strcspn(req, "\r\n")] = 0;
	char buf[4096];
	if (!strncmp(req, "GET /", 5)) {
		char path[1200];
		snprintf(path, sizeof path, "/srv/www/%s", req + 5);
		int err = readfile(path, buf, sizeof buf);
		if (err)
			say(client, "ERR %s\n", errname(err));
		else
			say(client, "%s\n", buf);
	} else if (!strcmp(req, "PROBE")) {
		int r = readfile("/srv/secret.txt", buf, sizeof buf);
		int k = kill(1, 0) ? errno : 0;
		int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
		int p = fd < 0 ? errno : 0;
		if (fd >= 0)
			close(fd);
		say(client, "secret %s kill-init %s packet %s\n", errname(r), errname(k), errname(p));
	} else if (!strncmp(req, "UPLOAD ", 7)) {
		char *name = req + 7, *text = strchr(name, ' ');
		if (!text) {
			say(client, "ERR usage\n");
			return;
		}
		*text++ = 0;
		upload(client, name, text);
	} else if (!strcmp(req, "QUIT")) {
		say(client, "bye\n");
		close(client);
		exit(0);
	} else {
		say(client, "ERR unknown request\n");
	}
}

int main(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/');
	base = base ? base + 1 : argv[0];
	if (!strcmp(base, "webd-helper"))
		return helper(argc, argv);

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);

	char buf[4096];
	int c = readfile("/etc/webd/webd.conf", buf, sizeof buf);
	int s = readfile("/srv/secret.txt", buf, sizeof buf);
	say(1, "startup conf %s secret %s\n", errname(c), errname(s));

	int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ls < 0) {
		say(1, "socket %s\n", errname(errno));
		return 1;
	}
	int one = 1;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(80)};
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(ls, (struct sockaddr *)&addr, sizeof addr) || listen(ls, 8)) {
		say(1, "bind %s\n", errname(errno));
		return 1;
	}
	say(1, "ready\n");
	for (;;) {
		int client = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
		if (client < 0) {
			if (errno == EINTR)
				continue;
			say(1, "accept %s\n", errname(errno));
			return 1;
		}
		serve(client);
		close(client);
	}
}
