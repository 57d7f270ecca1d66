// SPDX-License-Identifier: GPL-2.0-only
/* hibernatectl as a client of hibernated (hibernated/hibernated.c for the protocol). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "client.h"
#include "macro.h"

const char *hibctl_daemon_socket(void)
{
	const char *path = getenv("HIBERNATED_SOCKET");
	struct stat st;

	if (getenv("HIBERNATECTL_NO_DAEMON"))
		return NULL;
	if (!path || !*path)
		path = HIBCTL_DAEMON_SOCKET;
	if (stat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
		return NULL;
	return path;
}

int hibctl_request(const char *path, int argc, char *const *argv, FILE *out, FILE *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;
	_cleanup_fclose_ FILE *in = NULL;
	char line[4096];
	int i, ret = HIBCTL_EXIT_ERROR;
	bool got_exit = false;

	if (strlen(path) >= sizeof(sa.sun_path))
		return HIBCTL_EXIT_USAGE;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(err, "hibernatectl: cannot reach hibernated on %s: %s (set "
			"HIBERNATECTL_NO_DAEMON=1 to hibernate without it)\n", path, strerror(errno));
		return HIBCTL_EXIT_ERROR;
	}
	for (i = 1; i <= argc; i++) {
		const char *a = i < argc ? argv[i] : "";
		size_t len = strlen(a) + 1, off = 0;

		while (off < len) {
			ssize_t k = send(fd, a + off, len - off, MSG_NOSIGNAL);

			if (k < 0) {
				if (errno == EINTR)
					continue;
				if (errno == EPIPE || errno == ECONNRESET)
					goto response;	/* refused early: read why */
				fprintf(err, "hibernatectl: %s: %s\n", path, strerror(errno));
				return HIBCTL_EXIT_ERROR;
			}
			off += (size_t)k;
		}
	}
response:
	shutdown(fd, SHUT_WR);
	in = fdopen(TAKE_FD(fd), "r");
	if (!in)
		return HIBCTL_EXIT_ERROR;
	while (fgets(line, sizeof(line), in)) {
		if (strncmp(line, "hibernated: exit ", 17) == 0) {
			ret = atoi(line + 17);
			got_exit = true;
			continue;
		}
		fputs(line, out);
		fflush(out);
	}
	if (!got_exit)
		fprintf(err, "hibernatectl: hibernated closed the connection without a result\n");
	return ret;
}
