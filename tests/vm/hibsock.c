// SPDX-License-Identifier: GPL-2.0-only
/*
 * hibsock: talk to hibernated's socket without hibernatectl, for vm-daemon-attack.
 *
 *   hibsock send SOCK            send stdin as it is (no check, no limit) and shut the
 *                                sending side down, print the reply;
 *                                exit with the N of its "hibernated: exit N" (1: none)
 *   hibsock flood SOCK N SECS    open N connections, send nothing, hold them SECS seconds;
 *                                print how many the daemon closed and how many it kept
 *   hibsock term-when-busy SOCK PID
 *                                ask op=status every 10 ms until the daemon says it runs a
 *                                hibernation, then SIGTERM PID (10 s at most; exit 1 then)
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int do_send(const char *path)
{
	static char buf[1 << 16], line[8192];
	size_t len = 0, off = 0;
	int fd, ret = 1;
	FILE *in;

	while (len < sizeof(buf)) {
		ssize_t k = read(0, buf + len, sizeof(buf) - len);

		if (k <= 0)
			break;
		len += (size_t)k;
	}
	fd = connect_to(path);
	if (fd < 0) {
		fprintf(stderr, "hibsock: %s: %s\n", path, strerror(errno));
		return 1;
	}
	while (off < len) {
		ssize_t k = send(fd, buf + off, len - off, MSG_NOSIGNAL);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "hibsock: sent %zu of %zu bytes: %s\n", off, len,
				strerror(errno));
			break;
		}
		off += (size_t)k;
	}
	shutdown(fd, SHUT_WR);	/* all there is: a request without its end is incomplete */
	in = fdopen(fd, "r");
	if (!in)
		return 1;
	while (fgets(line, sizeof(line), in)) {
		fputs(line, stdout);
		if (strncmp(line, "hibernated: exit ", 17) == 0)
			ret = atoi(line + 17);
	}
	fclose(in);
	return ret;
}

static int do_flood(const char *path, int n, int secs)
{
	struct rlimit rl = { (rlim_t)n + 16, (rlim_t)n + 16 };
	int *fds = calloc((size_t)n, sizeof(int));
	int i, opened = 0, closed = 0, busy = 0;
	time_t end;

	setrlimit(RLIMIT_NOFILE, &rl);
	if (!fds)
		return 1;
	for (i = 0; i < n; i++) {
		fds[i] = connect_to(path);
		if (fds[i] >= 0)
			opened++;
	}
	printf("hibsock: %d of %d connections open\n", opened, n);
	fflush(stdout);
	end = time(NULL) + secs;
	while (time(NULL) < end)
		sleep(1);
	for (i = 0; i < n; i++) {
		struct pollfd p = { .fd = fds[i], .events = POLLIN };
		char buf[256];
		ssize_t k;

		if (fds[i] < 0)
			continue;
		if (poll(&p, 1, 0) == 1) {
			k = recv(fds[i], buf, sizeof(buf) - 1, MSG_DONTWAIT);
			if (k >= 0) {
				buf[k] = '\0';
				closed++;
				busy += strstr(buf, "too many clients") != NULL;
			}
		}
		close(fds[i]);
	}
	printf("hibsock: %d answered and closed by the daemon (%d 'too many clients'), %d "
	       "kept\n", closed, busy, opened - closed);
	free(fds);
	return 0;
}

static int do_term_when_busy(const char *path, pid_t pid)
{
	int i;

	for (i = 0; i < 1000; i++) {
		char buf[512];
		size_t len = 0;
		int fd = connect_to(path);

		if (fd >= 0 && send(fd, "op=status\n\n", 11, MSG_NOSIGNAL) == 11) {
			ssize_t k;

			while (len < sizeof(buf) - 1 &&
			       (k = recv(fd, buf + len, sizeof(buf) - 1 - len, 0)) > 0)
				len += (size_t)k;
		}
		if (fd >= 0)
			close(fd);
		buf[len] = '\0';
		if (strstr(buf, "running a hibernation")) {
			kill(pid, SIGTERM);
			printf("hibsock: SIGTERM sent to %d while it said: %.*s\n", (int)pid,
			       (int)strcspn(buf, "\n"), buf);
			return 0;
		}
		usleep(10000);
	}
	printf("hibsock: the daemon never said it runs a hibernation\n");
	return 1;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "send") == 0)
		return do_send(argv[2]);
	if (argc == 5 && strcmp(argv[1], "flood") == 0)
		return do_flood(argv[2], atoi(argv[3]), atoi(argv[4]));
	if (argc == 4 && strcmp(argv[1], "term-when-busy") == 0)
		return do_term_when_busy(argv[2], (pid_t)atoi(argv[3]));
	fprintf(stderr, "usage: hibsock send SOCK < REQUEST | hibsock flood SOCK N SECONDS | "
		"hibsock term-when-busy SOCK PID\n");
	return 2;
}
