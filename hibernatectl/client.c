// SPDX-License-Identifier: GPL-2.0-only
/*
 * hibernatectl as a client of hibernated: the typed request of hibernated/request.h
 * (doc/hibernated.8.md, PROTOCOL): "key=value" lines and an empty line; the reply is copied
 * to @out up to its last line, "hibernated: exit N", whose N is the exit code.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "client.h"
#include "http.h"
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

struct req {
	char buf[HIBCTL_REQUEST_MAX + 1];
	size_t len;
	bool too_long;
};

static void req_add(struct req *q, const char *key, const char *value)
{
	size_t n = strlen(key) + 1 + strlen(value) + 1;

	if (q->len + n > HIBCTL_REQUEST_MAX) {
		q->too_long = true;
		return;
	}
	q->len += (size_t)snprintf(q->buf + q->len, sizeof(q->buf) - q->len, "%s=%s\n", key,
				   value);
}

static void req_add_uint(struct req *q, const char *key, unsigned int v)
{
	char s[16];

	snprintf(s, sizeof(s), "%u", v);
	req_add(q, key, s);
}

/*
 * @path as the daemon needs it: absolute (the daemon does not share our working directory),
 * the file need not exist yet: the current directory, then @path.  URLs as they are.
 */
static int req_add_path(struct req *q, const char *key, const char *opt, const char *path,
			bool url_ok, FILE *err)
{
	char abs[PATH_MAX + 1], cwd[PATH_MAX];
	const char *p = path;

	if (strpbrk(path, "\n\r")) {
		fprintf(err, "hibernatectl: %s: a line break in '%s' cannot go to hibernated\n",
			opt, path);
		return -EINVAL;
	}
	if (path[0] != '/' && !(url_ok && hib_http_is_url(path))) {
		if (!getcwd(cwd, sizeof(cwd))) {
			fprintf(err, "hibernatectl: %s: cannot make '%s' absolute: %s\n", opt, path,
				strerror(errno));
			return -errno;
		}
		while (p[0] == '.' && p[1] == '/')
			p += 2;
		if ((size_t)snprintf(abs, sizeof(abs), "%s%s%s", cwd,
				     strcmp(cwd, "/") ? "/" : "", p) >= sizeof(abs)) {
			fprintf(err, "hibernatectl: %s: '%s' is too long\n", opt, path);
			return -ENAMETOOLONG;
		}
		p = abs;
	}
	req_add(q, key, p);
	return 0;
}

/* Send @q, copy the reply to @out; the exit code of its last line, 1 without one. */
static int exchange(const char *path, const struct req *q, FILE *out, FILE *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;
	_cleanup_fclose_ FILE *in = NULL;
	char line[4096];
	int ret = HIB_EXIT_ERROR;
	bool got_exit = false;
	size_t off = 0;

	if (strlen(path) >= sizeof(sa.sun_path))
		return HIB_EXIT_USAGE;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(err, "hibernatectl: cannot reach hibernated on %s: %s (set "
			"HIBERNATECTL_NO_DAEMON=1 to hibernate without it)\n", path, strerror(errno));
		return HIB_EXIT_ERROR;
	}
	while (off < q->len) {
		ssize_t k = send(fd, q->buf + off, q->len - off, MSG_NOSIGNAL);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EPIPE || errno == ECONNRESET)
				break;	/* refused early: read why */
			fprintf(err, "hibernatectl: %s: %s\n", path, strerror(errno));
			return HIB_EXIT_ERROR;
		}
		off += (size_t)k;
	}
	in = fdopen(TAKE_FD(fd), "r");
	if (!in)
		return HIB_EXIT_ERROR;
	while (fgets(line, sizeof(line), in)) {
		if (strncmp(line, "hibernated: exit ", 17) == 0) {
			ret = atoi(line + 17);
			got_exit = true;
			continue;
		}
		fputs(line, out);
		fflush(out);
	}
	if (!got_exit) {
		fprintf(err, "hibernatectl: hibernated closed the connection without a result\n");
		return HIB_EXIT_ERROR;
	}
	return ret;
}

int hibctl_request_hibernate(const char *sock, const struct hibctl_args *args, FILE *out,
			     FILE *err)
{
	static const char *const stages[] = {
		[HIBCTL_TEST_FREEZE] = "freeze",
		[HIBCTL_TEST_DM] = "dm",
		[HIBCTL_TEST_SNAPSHOT] = "snapshot",
	};
	_cleanup_free_ struct req *q = calloc(1, sizeof(*q));
	int r = 0;

	if (!q) {
		fprintf(err, "hibernatectl: out of memory\n");
		return HIB_EXIT_ERROR;
	}
	if (args->policy_dir) {
		fprintf(err, "hibernatectl: --policy-dir: hibernated applies its own policy "
			"(its --policy-dir; SIGHUP reloads it); set HIBERNATECTL_NO_DAEMON=1 to "
			"hibernate without the daemon\n");
		return HIB_EXIT_USAGE;
	}
	/* Only what the command line says: the daemon's configuration has the rest. */
	req_add(q, "op", "hibernate");
	if (args->test > HIBCTL_TEST_NONE && args->test <= HIBCTL_TEST_SNAPSHOT)
		req_add(q, "test", stages[args->test]);
	if (args->path)
		r |= req_add_path(q, "target", "--output", args->path, true, err);
	if (args->no_poweroff)
		req_add(q, "no-poweroff", "1");
	if (args->config_path)
		r |= req_add_path(q, "config", "--config", args->config_path, false, err);
	if (args->cow_path)
		r |= req_add_path(q, "cow", "--cow", args->cow_path, false, err);
	if (args->key_file)
		r |= req_add_path(q, "key-file", "--key-file", args->key_file, false, err);
	if (args->passphrase_file)
		r |= req_add_path(q, "passphrase-file", "--passphrase-file",
				  args->passphrase_file, false, err);
	if (args->threads)
		req_add_uint(q, "threads", args->threads);
	if (args->sync_timeout_ms)
		req_add_uint(q, "sync-timeout-ms", args->sync_timeout_ms);
	if (args->timeout_ms)
		req_add_uint(q, "freeze-timeout-ms", args->timeout_ms);
	if (args->no_stream)
		req_add(q, "no-stream", "1");
	if (r)
		return HIB_EXIT_USAGE;
	if (q->too_long || q->len + 1 > HIBCTL_REQUEST_MAX) {
		fprintf(err, "hibernatectl: the request is too long for hibernated (at most %d "
			"bytes)\n", HIBCTL_REQUEST_MAX);
		return HIB_EXIT_USAGE;
	}
	q->buf[q->len++] = '\n';
	return exchange(sock, q, out, err);
}

int hibctl_request_status(const char *sock, FILE *out, FILE *err)
{
	struct req q = { .len = 0 };

	req_add(&q, "op", "status");
	q.buf[q.len++] = '\n';
	return exchange(sock, &q, out, err);
}
