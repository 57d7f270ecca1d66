// SPDX-License-Identifier: GPL-2.0-only
/*
 * hibernated: runs `hibernate` (DESIGN.md steps 1-7, R5) on request over a Unix socket.
 *
 *   hibernated [--socket PATH] [--group NAME] [--policy-dir DIR]
 *
 * Runs in the foreground (systemd Type=simple).  Trusts only root or members of --group
 * (SO_PEERCRED), one request at a time (a second one is refused), keeps only the capabilities
 * hibernation needs, reloads the policy on SIGHUP keeping the last good one when a file is bad.
 *
 * Protocol: the client sends hibernatectl's arguments ("hibernate", "--output", ...) each
 * terminated by NUL, then an empty string; the daemon streams the progress lines and ends
 * with "hibernated: exit N\n".
 */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "commands.h"
#include "policy.h"

#define DEFAULT_SOCKET "/run/hibernated.sock"
#define REQ_MAX 4096
#define ARGS_MAX 32

static const char *socket_path = DEFAULT_SOCKET;
static const char *policy_dir = HIB_POLICY_DEFAULT_DIR;
static gid_t trusted_gid = (gid_t)-1;
static struct hib_policy *policy;		/* last good */
static atomic_bool busy;
static atomic_uint busy_uid;
static atomic_int busy_pid;
static atomic_llong busy_since;
static pthread_mutex_t policy_lock = PTHREAD_MUTEX_INITIALIZER;

static void log_stderr(int level, const char *fmt, va_list ap)
{
	if (level > HIB_LOG_INFO)
		return;
	fputs("hibernated: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

/* Load the policy; a bad file keeps the last good policy whole.  0 or -errno / -EBADMSG. */
static int reload_policy(void)
{
	struct hib_policy_errors *errs = calloc(1, sizeof(*errs));
	struct hib_policy *p = NULL;
	unsigned int i;
	int r;

	if (!errs)
		return -ENOMEM;
	r = hib_policy_load_dir(policy_dir, &p, errs);
	for (i = 0; i < hib_policy_errors_shown(errs); i++)
		fprintf(stderr, "hibernated: %s:%u:%u: %s\n", errs->e[i].file, errs->e[i].line,
			errs->e[i].column, errs->e[i].msg);
	free(errs);
	if (r < 0) {
		fprintf(stderr, "hibernated: cannot read %s: %s; keeping the last good policy\n",
			policy_dir, hib_strerror(r));
		return r;
	}
	if (r > 0 && policy) {
		fprintf(stderr, "hibernated: %d policy file%s refused; keeping the last good "
			"policy (%zu rules)\n", r, r == 1 ? "" : "s", policy->n_rules);
		hib_policy_free(p);
		return -EBADMSG;
	}
	/* Only swapped while no hibernation runs (see handle_hup). */
	pthread_mutex_lock(&policy_lock);
	hib_policy_free(policy);
	policy = p;
	pthread_mutex_unlock(&policy_lock);
	fprintf(stderr, "hibernated: policy: %zu rules from %s%s\n", p->n_rules, policy_dir,
		r > 0 ? " (some files refused)" : "");
	return r > 0 ? -EBADMSG : 0;
}

/* Keep only what hibernation needs; the bounding set too. */
static int drop_caps(void)
{
	static const cap_value_t keep[] = {
		CAP_SYS_ADMIN,		/* freeze_processes(2), snapshot_kernel(2), dm, FIFREEZE */
		CAP_SYS_BOOT,		/* power off */
		CAP_IPC_LOCK,		/* mlockall */
		CAP_KILL,		/* SIGUNFREEZE to other users' processes */
		CAP_SYS_PTRACE,		/* /proc/PID/exe of other users' processes */
		CAP_DAC_OVERRIDE,	/* the image target, /dev/snapshot, /dev/mapper */
		CAP_DAC_READ_SEARCH,
		CAP_MKNOD,		/* libdevmapper device nodes */
		CAP_SYS_RESOURCE,	/* locked memory beyond RLIMIT_MEMLOCK */
	};
#define ARRAY_SIZE_K ((int)(sizeof(keep) / sizeof(keep[0])))
	cap_value_t c, have[ARRAY_SIZE_K];
	int r = 0, n = 0, k;
	cap_t cur, caps;

	/* The bounding set first: dropping from it needs CAP_SETPCAP, dropped below. */
	for (c = 0; c <= CAP_LAST_CAP; c++) {
		size_t i;
		bool kept = false;

		for (i = 0; i < (size_t)ARRAY_SIZE_K; i++)
			kept |= keep[i] == c;
		if (!kept && prctl(PR_CAPBSET_READ, c) == 1 &&
		    prctl(PR_CAPBSET_DROP, c) < 0 && errno != EPERM)
			return -errno;
	}
	cur = cap_get_proc();
	caps = cap_init();
	if (!cur || !caps) {
		r = -errno;
		cap_free(cur);
		cap_free(caps);
		return r;
	}
	/* Only what we have: a container may lack some of them. */
	for (k = 0; k < ARRAY_SIZE_K; k++) {
		cap_flag_value_t v = CAP_CLEAR;

		if (cap_get_flag(cur, keep[k], CAP_PERMITTED, &v) == 0 && v == CAP_SET)
			have[n++] = keep[k];
	}
	if (n && (cap_set_flag(caps, CAP_PERMITTED, n, have, CAP_SET) < 0 ||
		  cap_set_flag(caps, CAP_EFFECTIVE, n, have, CAP_SET) < 0))
		r = -errno;
	if (!r && cap_set_proc(caps) < 0)
		r = -errno;
	cap_free(caps);
	cap_free(cur);
	if (r)
		return r;
	return 0;
}

static bool trusted(int fd, struct ucred *cred)
{
	socklen_t len = sizeof(*cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, &len) < 0)
		return false;
	if (cred->uid == 0)
		return true;
	if (trusted_gid == (gid_t)-1)
		return false;
	if (cred->gid == trusted_gid)
		return true;
	/* Supplementary groups of the peer, from /proc. */
	{
		char path[64], line[1024];
		FILE *f;
		bool ok = false;

		snprintf(path, sizeof(path), "/proc/%d/status", (int)cred->pid);
		f = fopen(path, "re");
		if (!f)
			return false;
		while (fgets(line, sizeof(line), f))
			if (strncmp(line, "Groups:", 7) == 0) {
				char *s = line + 7, *e;

				for (;;) {
					unsigned long g = strtoul(s, &e, 10);

					if (e == s)
						break;
					if ((gid_t)g == trusted_gid)
						ok = true;
					s = e;
				}
			}
		fclose(f);
		return ok;
	}
}

struct request {
	int fd;
	struct ucred cred;
	bool trusted;
};

static void *serve(void *arg)
{
	struct request *req = arg;
	char buf[REQ_MAX + 1], *argv[ARGS_MAX + 2];
	struct hibctl_args args;
	size_t n = 0;
	int argc = 0, ret = HIBCTL_EXIT_USAGE, r;
	FILE *out = NULL;
	char *p;

	/* The request: NUL-terminated words, an empty one last. */
	while (n < REQ_MAX) {
		ssize_t k = read(req->fd, buf + n, REQ_MAX - n);

		if (k <= 0)
			break;
		n += (size_t)k;
		if (n >= 2 && buf[n - 1] == '\0' && buf[n - 2] == '\0')
			break;
	}
	buf[n] = '\0';
	out = fdopen(req->fd, "w");
	if (!out) {
		close(req->fd);
		free(req);
		return NULL;
	}
	setvbuf(out, NULL, _IOLBF, 0);
	argv[argc++] = "hibernatectl";
	for (p = buf; p < buf + n && *p && argc < ARGS_MAX + 1; p += strlen(p) + 1)
		argv[argc++] = p;
	argv[argc] = NULL;
	if (argc == 2 && strcmp(argv[1], "status") == 0) {
		/* Anyone may ask. */
		if (atomic_load(&busy))
			fprintf(out, "hibernated: running a hibernation for uid %u (pid %d) for %lld s\n",
				atomic_load(&busy_uid), atomic_load(&busy_pid),
				(long long)time(NULL) - atomic_load(&busy_since));
		else
			fprintf(out, "hibernated: idle, policy %zu rules from %s\n",
				policy ? policy->n_rules : 0, policy_dir);
		fprintf(out, "hibernated: exit 0\n");
		fclose(out);
		free(req);
		return NULL;
	}
	if (!req->trusted) {
		fprintf(stderr, "hibernated: refused a request from uid %u\n",
			(unsigned int)req->cred.uid);
		fprintf(out, "hibernated: permission denied: only root or the trusted group may "
			"hibernate\nhibernated: exit %d\n", HIBCTL_EXIT_PERM);
		fclose(out);
		free(req);
		return NULL;
	}
	if (atomic_exchange(&busy, true)) {
		fprintf(out, "hibernated: busy: another hibernation is running\n"
			"hibernated: exit %d\n", HIBCTL_EXIT_BUSY);
		fclose(out);
		free(req);
		return NULL;
	}
	atomic_store(&busy_uid, (unsigned int)req->cred.uid);
	atomic_store(&busy_pid, (int)req->cred.pid);
	atomic_store(&busy_since, (long long)time(NULL));
	r = hibctl_parse_args(argc, argv, &args);
	if (r < 0 || args.command != HIBCTL_CMD_HIBERNATE) {
		fprintf(out, "hibernated: %s\n", r < 0 && args.error[0] ? args.error :
			"only 'hibernate' requests are served");
	} else if (args.policy_dir) {
		fprintf(out, "hibernated: --policy-dir is the daemon's (%s; SIGHUP reloads it)\n",
			policy_dir);
	} else {
		struct hibctl_ctx ctx = {
			.self = getpid(),
			.out = out,
			.err = out,
		};

		fprintf(stderr, "hibernated: hibernation requested by uid %u pid %d\n",
			(unsigned int)req->cred.uid, (int)req->cred.pid);
		pthread_mutex_lock(&policy_lock);
		ctx.policy = policy;
		ret = hibctl_cmd_hibernate(&ctx, &args);
		pthread_mutex_unlock(&policy_lock);
		fprintf(stderr, "hibernated: hibernation finished: exit %d\n", ret);
	}
	hibctl_args_done(&args);
	fprintf(out, "hibernated: exit %d\n", ret);
	fclose(out);
	free(req);
	atomic_store(&busy, false);
	return NULL;
}

static void refuse(int fd, const char *why, int code)
{
	char msg[256];
	int len = snprintf(msg, sizeof(msg), "hibernated: %s\nhibernated: exit %d\n", why, code);

	ssize_t k = write(fd, msg, (size_t)len);	/* the client may be gone */

	(void)k;
	close(fd);
}

static void usage(FILE *f)
{
	fputs("Usage: hibernated [--socket PATH] [--group NAME] [--policy-dir DIR]\n"
	      "Runs hibernation on request over a Unix socket (default " DEFAULT_SOCKET ").\n"
	      "SIGHUP reloads the policy (default " HIB_POLICY_DEFAULT_DIR ").\n", f);
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	bool reload_pending = false;
	sigset_t mask;
	int i, lfd, sfd, r;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc) {
			socket_path = argv[++i];
		} else if (strcmp(argv[i], "--policy-dir") == 0 && i + 1 < argc) {
			policy_dir = argv[++i];
		} else if (strcmp(argv[i], "--group") == 0 && i + 1 < argc) {
			struct group *g = getgrnam(argv[++i]);
			char *e;

			if (g) {
				trusted_gid = g->gr_gid;
			} else {
				unsigned long v = strtoul(argv[i], &e, 10);

				if (!*argv[i] || *e) {
					fprintf(stderr, "hibernated: unknown group %s\n", argv[i]);
					return 2;
				}
				trusted_gid = (gid_t)v;
			}
		} else if (strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	hib_set_log_fn(log_stderr);
	setvbuf(stderr, NULL, _IOLBF, 0);
	if (strlen(socket_path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "hibernated: socket path too long\n");
		return 2;
	}
	reload_policy();
	if (!policy) {
		fprintf(stderr, "hibernated: no usable policy; starting with an empty one\n");
		policy = calloc(1, sizeof(*policy));
		if (!policy)
			return 1;
	}

	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);

	strcpy(sa.sun_path, socket_path);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || sfd < 0) {
		perror("hibernated: socket");
		return 1;
	}
	unlink(socket_path);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 8) < 0) {
		fprintf(stderr, "hibernated: %s: %s\n", socket_path, strerror(errno));
		return 1;
	}
	/* Anyone may connect; SO_PEERCRED decides.  The refusal is then a clear message. */
	chmod(socket_path, 0666);

	r = drop_caps();
	if (r < 0) {
		fprintf(stderr, "hibernated: cannot drop capabilities: %s\n", strerror(-r));
		unlink(socket_path);
		return 1;
	}
	fprintf(stderr, "hibernated: listening on %s\n", socket_path);

	for (;;) {
		struct pollfd pfd[2] = { { .fd = lfd, .events = POLLIN },
					 { .fd = sfd, .events = POLLIN } };

		if (reload_pending && !atomic_load(&busy)) {
			reload_pending = false;
			reload_policy();
		}
		if (poll(pfd, 2, reload_pending ? 500 : -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("hibernated: poll");
			break;
		}
		if (pfd[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) != sizeof(si))
				continue;
			if (si.ssi_signo == SIGHUP) {
				fprintf(stderr, "hibernated: SIGHUP: reloading the policy%s\n",
					atomic_load(&busy) ? " after the running hibernation" : "");
				reload_pending = true;
				continue;
			}
			break;
		}
		if (pfd[0].revents & POLLIN) {
			struct request *req;
			struct ucred cred = { .pid = 0 };
			pthread_t t;
			int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

			if (cfd < 0)
				continue;
			req = malloc(sizeof(*req));
			if (!req) {
				refuse(cfd, "out of memory", HIBCTL_EXIT_ERROR);
				continue;
			}
			req->fd = cfd;
			req->trusted = trusted(cfd, &cred);
			req->cred = cred;
			if (pthread_create(&t, NULL, serve, req) != 0) {
				free(req);
				refuse(cfd, "cannot start the request", HIBCTL_EXIT_ERROR);
				continue;
			}
			pthread_detach(t);
		}
	}
	unlink(socket_path);
	return 0;
}
