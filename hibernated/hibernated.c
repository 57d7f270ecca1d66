// SPDX-License-Identifier: GPL-2.0-only
/*
 * hibernated: runs a hibernation (DESIGN.md steps 1-7, R5) on request over a Unix socket,
 * through libhibernate's hib_hibernate().
 *
 *   hibernated [--socket PATH] [--group NAME|GID] [--policy-dir DIR] [--config FILE]
 *
 * Runs in the foreground (systemd Type=notify: sd_notify(3) READY=1 once it listens, STATUS=
 * what it does, STOPPING=1), on the socket systemd passes (hibernated.socket, sd_listen_fds(3))
 * or else its own at --socket; logs to stderr, with the journal's priority prefixes when
 * stderr is the journal (journal.h).  Who may ask what (SO_PEERCRED,
 * SO_PEERGROUPS): root anything; a member of --group a hibernation now with the daemon's own
 * configuration (or a dry run: test=), status and check; anyone else status.  One hibernation
 * at a time, keeps only the capabilities hibernation needs, reloads the policy on SIGHUP
 * keeping the last good one when a file is bad.  The protocol is request.h's
 * (doc/hibernated.8.md): key=value lines and an empty line; the reply is lines of text and
 * "hibernated: exit N".
 *
 * One thread accepts connections and reads requests (at most MAX_CLIENTS at once, the last
 * slot kept for root, each given REQ_TIMEOUT_MS for its whole request) and answers status;
 * a hibernation or a check runs in a thread of its own, whose output to the client never
 * blocks while tasks are frozen (it is buffered and sent when the client reads).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "conf.h"
#include "hibernate.h"
#include "hibernation.h"
#include "journal.h"
#include "policy.h"
#include "request.h"

#ifndef HIBERNATE_VERSION
#define HIBERNATE_VERSION "unknown"
#endif

#define DEFAULT_SOCKET "/run/hibernated.sock"
#define MAX_CLIENTS 16			/* requests being read; the last slot is root's */
#define REQ_TIMEOUT_MS 5000		/* for a whole request */
#define REPLY_TIMEOUT_MS 5000		/* for the rest of a reply after the run */
#define OUT_MAX (64 * 1024)		/* a run's output not yet read by its client */
#define POLICY_NAME "hibernated's policy"
#define SUN_PATH_SIZE sizeof(((struct sockaddr_un *)NULL)->sun_path)

static const char *socket_path = DEFAULT_SOCKET;
static bool socket_activated;		/* systemd's socket: never bound nor unlinked here */
static bool log_journal;		/* stderr is the journal ($JOURNAL_STREAM) */
static const char *policy_dir = HIB_POLICY_DEFAULT_DIR;
static const char *conf_arg;		/* --config; NULL: $HIBERNATE_CONF or the default */
static const char *conf_shown;		/* the file, for messages */
static gid_t trusted_gid = (gid_t)-1;
static struct hib_policy *policy;	/* last good */
static pthread_mutex_t policy_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- a request being read -------------------------------------------------------------- */

struct client {
	int fd;
	struct ucred cred;
	enum hibd_peer peer;
	long long deadline;		/* ms, CLOCK_MONOTONIC */
	size_t len;
	char buf[HIBD_REQ_MAX];
};

static struct client *clients[MAX_CLIENTS];	/* allocated at start */
static unsigned int n_clients;

/* ---- the run (one at a time) ---------------------------------------------------------- */

struct job {
	int fd;
	struct ucred cred;
	enum hibd_peer peer;
	struct hibd_request req;
	struct hib_conf conf;
	struct hib_conf_errors errs;
	/* what the client has not read yet */
	char out[OUT_MAX];
	size_t out_len;
	size_t dropped;
	bool gone;			/* the client went away: output is dropped */
	char line[2048];
	char summary[4096];
	/* the first HIB_EV_FAIL */
	bool failed;
	enum hib_step fail_step;
	int fail_err;
	char fail_msg[512];
};

static struct job *job;			/* allocated at start */
static pthread_t job_thread;
static atomic_bool busy;
static atomic_uint busy_uid;
static atomic_int busy_pid;
static atomic_llong busy_since;
static int done_efd = -1;		/* the run's thread says it is done */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One message to stderr at syslog priority @prio, a whole line (or lines) in one write. */
static void hd_vlog(int prio, const char *fmt, va_list ap)
{
	char line[HIBD_WHY_MAX + 4096];

	if (hibd_log_vformat(line, sizeof(line), log_journal, prio, fmt, ap) > 0)
		fputs(line, stderr);
}

static void hd_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void hd_log(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	hd_vlog(prio, fmt, ap);
	va_end(ap);
}

static void notify_idle(const char *extra);

/* libhibernate's messages (HIB_LOG_* are syslog's numbers); no debug. */
static void log_stderr(int level, const char *fmt, va_list ap)
{
	if (level > HIB_LOG_INFO)
		return;
	hd_vlog(level, fmt, ap);
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
		hd_log(LOG_ERR, "%s:%u:%u: %s", errs->e[i].file, errs->e[i].line,
			errs->e[i].column, errs->e[i].msg);
	free(errs);
	if (r < 0) {
		hd_log(LOG_ERR, "cannot read %s: %s; keeping the last good policy",
			policy_dir, hib_strerror(r));
		return r;
	}
	if (r > 0 && policy) {
		hd_log(LOG_WARNING, "%d policy file%s refused; keeping the last good "
			"policy (%zu rules)", r, r == 1 ? "" : "s", policy->n_rules);
		hib_policy_free(p);
		return -EBADMSG;
	}
	/* Only swapped while no hibernation runs (SIGHUP waits for it). */
	pthread_mutex_lock(&policy_lock);
	hib_policy_free(policy);
	policy = p;
	pthread_mutex_unlock(&policy_lock);
	hd_log(LOG_INFO, "policy: %zu rules from %s%s", p->n_rules, policy_dir,
		r > 0 ? " (some files refused)" : "");
	return r > 0 ? -EBADMSG : 0;
}

/*
 * Keep only what hibernation needs, the bounding set too (hibernated.service lists the same
 * with the reason for each).
 */
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
#define N_KEEP ((int)(sizeof(keep) / sizeof(keep[0])))
	cap_value_t c, have[N_KEEP];
	int r = 0, n = 0, k;
	cap_t cur, caps;

	/* The bounding set first: dropping from it needs CAP_SETPCAP, dropped below. */
	for (c = 0; c <= CAP_LAST_CAP; c++) {
		bool kept = false;

		for (k = 0; k < N_KEEP; k++)
			kept |= keep[k] == c;
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
	for (k = 0; k < N_KEEP; k++) {
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
	return r;
}

/* Is @gid among the supplementary groups of process @pid (/proc: SO_PEERGROUPS missing)? */
static bool proc_in_group(pid_t pid, gid_t gid)
{
	char path[64], line[1024];
	bool ok = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
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
				ok |= (gid_t)g == gid;
				s = e;
			}
		}
	fclose(f);
	return ok;
}

/* Who is at the other end of @fd: the credentials it had when it connected. */
static enum hibd_peer classify(int fd, struct ucred *cred)
{
	static gid_t groups[1024];
	socklen_t len = sizeof(*cred);
	unsigned int i;

	memset(cred, 0, sizeof(*cred));
	cred->uid = (uid_t)-1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, &len) < 0)
		return HIBD_PEER_OTHER;
	if (cred->uid == 0)
		return HIBD_PEER_ROOT;
	if (trusted_gid == (gid_t)-1)
		return HIBD_PEER_OTHER;
	if (cred->gid == trusted_gid)
		return HIBD_PEER_GROUP;
	len = sizeof(groups);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0) {
		for (i = 0; i < len / sizeof(gid_t); i++)
			if (groups[i] == trusted_gid)
				return HIBD_PEER_GROUP;
		return HIBD_PEER_OTHER;
	}
	if (errno == ENOPROTOOPT)	/* before Linux 4.13 */
		return proc_in_group(cred->pid, trusted_gid) ? HIBD_PEER_GROUP : HIBD_PEER_OTHER;
	return HIBD_PEER_OTHER;		/* more than 1024 groups: not trusted */
}

/* One reply that fits the socket's buffer, then close: never blocks. */
static void reply_close(int fd, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void reply_close(int fd, int code, const char *fmt, ...)
{
	char msg[HIBD_WHY_MAX + 128];
	va_list ap;
	int n;
	ssize_t k;

	n = snprintf(msg, sizeof(msg), "hibernated: ");
	va_start(ap, fmt);
	n += vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(msg) - 40)
		n = (int)sizeof(msg) - 40;
	n += snprintf(msg + n, sizeof(msg) - (size_t)n, "\nhibernated: exit %d\n", code);
	k = send(fd, msg, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);	/* may be gone */
	(void)k;
	close(fd);
}

/* ---- the run's output: never blocks while tasks are frozen ---------------------------- */

/* Send what is buffered; with @deadline (ms, monotonic) wait for the client until then. */
static void job_flush(struct job *j, long long deadline)
{
	while (j->out_len && !j->gone) {
		ssize_t k = send(j->fd, j->out, j->out_len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (k > 0) {
			memmove(j->out, j->out + k, j->out_len - (size_t)k);
			j->out_len -= (size_t)k;
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd pfd = { .fd = j->fd, .events = POLLOUT };
			long long left = deadline - now_ms();

			if (!deadline || left <= 0 || poll(&pfd, 1, (int)left) < 0)
				return;
			continue;
		}
		j->gone = true;
		j->out_len = 0;
	}
}

static void job_put(struct job *j, const char *s, size_t n)
{
	if (j->gone)
		return;
	if (j->out_len + n > sizeof(j->out))
		job_flush(j, 0);
	if (j->out_len + n > sizeof(j->out)) {
		j->dropped += n;
		return;
	}
	memcpy(j->out + j->out_len, s, n);
	j->out_len += n;
	job_flush(j, 0);
}

static void job_printf(struct job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void job_printf(struct job *j, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(j->line, sizeof(j->line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(j->line)) {
		n = (int)sizeof(j->line) - 1;
		j->line[n - 1] = '\n';
	}
	job_put(j, j->line, (size_t)n);
}

/*
 * An event, as hibernatectl prints it (the VM scenarios grep the same strings through the
 * daemon): failures, errors and warnings "hibernatectl: MSG", notices and the further lines
 * of a message (ev->detail: table rows, indented details) "MSG", no debug.
 */
static void on_message(void *userdata, const struct hib_event *ev)
{
	struct job *j = userdata;
	const char *msg = ev->msg ? ev->msg : "";

	if (ev->level == HIB_EV_FAIL && !j->failed) {
		j->failed = true;
		j->fail_step = ev->step;
		j->fail_err = ev->err;
		snprintf(j->fail_msg, sizeof(j->fail_msg), "%s", msg);
	}
	switch (ev->level) {
	case HIB_EV_FAIL:
	case HIB_EV_ERROR:
	case HIB_EV_WARNING:
		job_printf(j, "%s%s\n", ev->detail ? "" : "hibernatectl: ", msg);
		break;
	case HIB_EV_NOTICE:
		job_printf(j, "%s\n", msg);
		break;
	default:
		break;
	}
}

static void on_summary(void *userdata, const char *target, const struct hib_hibernate_stats *st)
{
	struct job *j = userdata;
	int n = hib_summary_format(j->summary, sizeof(j->summary), target, st);

	if (n <= 0)
		return;
	if ((size_t)n >= sizeof(j->summary))
		n = (int)sizeof(j->summary) - 1;
	job_put(j, j->summary, (size_t)n);
	if (j->summary[n - 1] != '\n')
		job_put(j, "\n", 1);
}

/* hibernatectl's exit code for hib_hibernate()'s result. */
static int exit_code(const struct job *j, int r)
{
	if (r >= 0)
		return HIB_EXIT_OK;
	if (j->failed && (j->fail_step == HIB_STEP_FREEZE || j->fail_step == HIB_STEP_SNAPSHOT)) {
		switch (r) {
		case -ENOSYS:
			return HIB_EXIT_NOSYS;
		case -EPERM:
			return HIB_EXIT_PERM;
		case -EBUSY:
			return HIB_EXIT_BUSY;
		default:
			break;
		}
	}
	return HIB_EXIT_ERROR;
}

/* The configuration for this request: the daemon's, or root's config= and flags. */
static int job_conf(struct job *j)
{
	const struct hibd_request *q = &j->req;
	struct hib_conf_flags flags = {
		.cow = q->cow[0] ? q->cow : NULL,
		.key_file = q->key_file[0] ? q->key_file : NULL,
		.passphrase_file = q->passphrase_file[0] ? q->passphrase_file : NULL,
		.freeze_timeout_ms = q->freeze_timeout_ms,
		.sync_timeout_ms = q->sync_timeout_ms,
		.threads = q->threads,
		.no_stream = q->no_stream,
	};
	bool root = j->peer == HIBD_PEER_ROOT;
	const char *path = root && q->config[0] ? q->config : conf_arg;
	unsigned int i;
	int r;

	memset(&j->errs, 0, sizeof(j->errs));
	/* A group member's request carries none of these (request.c refused them). */
	r = hib_conf_resolve(path, root ? &flags : NULL, &j->conf, &j->errs);
	if (r == 0)
		return 0;
	for (i = 0; i < j->errs.count && i < HIB_CONF_ERRORS_MAX; i++) {
		if (root)
			job_printf(j, "hibernated: %s\n", j->errs.e[i].msg);
		hd_log(LOG_ERR, "%s", j->errs.e[i].msg);
	}
	if (!root)	/* its lines may quote the file: the log has them */
		job_printf(j, "hibernated: the daemon's configuration (%s) is bad (%u error%s: "
			   "see the daemon's log)\n", conf_shown, j->errs.count,
			   j->errs.count == 1 ? "" : "s");
	else if (!j->errs.count)
		job_printf(j, "hibernated: %s: %s\n", path ? path : conf_shown, hib_strerror(r));
	return r;
}

static int job_execute(struct job *j)
{
	const struct hibd_request *q = &j->req;
	const char *target = q->target[0] ? q->target : NULL;
	struct hib_events ev = {
		.message = on_message,
		.summary = on_summary,
		.userdata = j,
	};
	int r, code;

	if (job_conf(j) < 0)
		return HIB_EXIT_ERROR;
	if (q->op == HIBD_OP_CHECK) {
		r = hib_check(&j->conf, target, NULL, &ev);
		hib_conf_wipe(&j->conf);
		if (r < 0)
			job_printf(j, "hibernatectl: check: %s\n", hib_strerror(r));
		return r == 1 ? HIB_EXIT_OK : HIB_EXIT_ERROR;
	}
	if (!target && !j->conf.target[0] && (j->peer != HIBD_PEER_ROOT || !q->test)) {
		hib_conf_wipe(&j->conf);
		job_printf(j, "hibernated: no target configured: set target under [hibernate] in "
			   "%s\n", j->peer == HIBD_PEER_ROOT && q->config[0] ? q->config :
			   conf_shown);
		return HIB_EXIT_ERROR;
	}

	hd_log(LOG_NOTICE, "hibernation requested by uid %u pid %d%s%s",
		(unsigned int)j->cred.uid, (int)j->cred.pid, q->test ? " (dry run)" : "",
		q->no_poweroff ? " (no power-off)" : "");
	pthread_mutex_lock(&policy_lock);
	{
		struct hib_hibernate_opts o = {
			.sz = sizeof(o),
			.conf = &j->conf,
			.target = target,	/* NULL: [hibernate] target */
			.policy = policy,	/* borrowed: the last good one */
			.policy_dir = POLICY_NAME,
			.no_poweroff = q->no_poweroff,
			.test = q->test,
		};

		r = hib_hibernate(&o, &ev);
	}
	pthread_mutex_unlock(&policy_lock);
	hib_conf_wipe(&j->conf);
	code = exit_code(j, r);
	if (j->failed)
		hd_log(LOG_ERR, "failed (%s): %s", hib_step_name(j->fail_step),
			j->fail_msg);
	hd_log(LOG_NOTICE, "hibernation finished%s: exit %d",
		r == 1 ? " (resumed)" : "", code);
	return code;
}

static void *job_main(void *arg)
{
	struct job *j = arg;
	uint64_t one = 1;
	int code = job_execute(j);
	ssize_t k;

	if (j->dropped)
		job_printf(j, "hibernated: %zu bytes of output were dropped (the client did not "
			   "read them)\n", j->dropped);
	job_printf(j, "hibernated: exit %d\n", code);
	job_flush(j, now_ms() + REPLY_TIMEOUT_MS);
	close(j->fd);
	j->fd = -1;
	k = write(done_efd, &one, sizeof(one));
	(void)k;
	return NULL;
}

/* ---- the main thread: accept, read, dispatch --------------------------------------------- */

static void client_drop(unsigned int i)
{
	free(clients[i]);
	clients[i] = clients[--n_clients];
	clients[n_clients] = NULL;
}

static void status_reply(int fd)
{
	if (atomic_load(&busy))
		reply_close(fd, HIB_EXIT_OK, "running a hibernation for uid %u (pid %d) for %lld s",
			    atomic_load(&busy_uid), atomic_load(&busy_pid),
			    (long long)time(NULL) - atomic_load(&busy_since));
	else
		reply_close(fd, HIB_EXIT_OK, "idle, policy %zu rules from %s",
			    policy ? policy->n_rules : 0, policy_dir);
}

/* A complete request of @c (@len bytes): answer or start it; @c's fd is taken. */
static void dispatch(struct client *c, size_t len, bool quitting)
{
	static struct hibd_request req;
	char why[HIBD_WHY_MAX];
	int r;

	r = hibd_request_parse(c->buf, len, c->peer, conf_shown, &req, why, sizeof(why));
	if (r < 0) {
		if (r == -EPERM)
			hd_log(LOG_WARNING, "refused a request from uid %u: %s",
				(unsigned int)c->cred.uid, why);
		reply_close(c->fd, hibd_request_exit_code(r), "%s", why);
		return;
	}
	if (req.op == HIBD_OP_STATUS) {
		status_reply(c->fd);
		return;
	}
	if (quitting) {
		reply_close(c->fd, HIB_EXIT_BUSY, "busy: shutting down");
		return;
	}
	if (atomic_load(&busy)) {
		reply_close(c->fd, HIB_EXIT_BUSY, "busy: another hibernation is running");
		return;
	}
	memset(job, 0, offsetof(struct job, out));
	job->out_len = 0;
	job->dropped = 0;
	job->gone = false;
	job->failed = false;
	job->fd = c->fd;
	job->cred = c->cred;
	job->peer = c->peer;
	job->req = req;
	atomic_store(&busy_uid, (unsigned int)c->cred.uid);
	atomic_store(&busy_pid, (int)c->cred.pid);
	atomic_store(&busy_since, (long long)time(NULL));
	atomic_store(&busy, true);
	/* Before the run's thread: nothing goes to systemd while tasks may be frozen. */
	sd_notifyf(0, "STATUS=running %s for uid %u (pid %d)",
		   req.op == HIBD_OP_CHECK ? "a check" : req.test ? "a dry run" : "a hibernation",
		   (unsigned int)c->cred.uid, (int)c->cred.pid);
	r = pthread_create(&job_thread, NULL, job_main, job);
	if (r) {
		atomic_store(&busy, false);
		reply_close(c->fd, HIB_EXIT_ERROR, "cannot start the request: %s", strerror(r));
		notify_idle("");
	}
}

/* Read what @c sent; false when it is done with (answered or dropped). */
static bool client_read(struct client *c, bool quitting)
{
	ssize_t k, end;

	k = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, MSG_DONTWAIT);
	if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return true;
	if (k <= 0) {
		/* Gone, or shut its side down before the empty line. */
		if (k == 0 && c->len)
			reply_close(c->fd, HIB_EXIT_USAGE, "incomplete request (no empty line at "
				    "its end)");
		else
			close(c->fd);
		return false;
	}
	c->len += (size_t)k;
	end = hibd_request_end(c->buf, c->len);
	if (end == 0)
		return true;
	if (end < 0) {
		reply_close(c->fd, HIB_EXIT_USAGE, "request too long (more than %d bytes); "
			    "nothing was done", HIBD_REQ_MAX);
		return false;
	}
	dispatch(c, (size_t)end, quitting);
	return false;
}

static int spare_fd = -1;		/* given up to accept() and refuse when out of fds */
static long long accept_paused_until;

static void accept_clients(int lfd)
{
	int i;

	for (i = 0; i < 32; i++) {
		struct client *c;
		struct ucred cred;
		enum hibd_peer peer;
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0) {
			if (errno != EMFILE && errno != ENFILE)
				return;	/* EAGAIN, or the peer gave up (ECONNABORTED) */
			/* Out of descriptors: refuse one connection with the spare, pause. */
			if (spare_fd >= 0) {
				close(spare_fd);
				fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
				if (fd >= 0)
					reply_close(fd, HIB_EXIT_BUSY, "busy: out of file "
						    "descriptors");
				spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
			}
			accept_paused_until = now_ms() + 100;
			return;
		}
		peer = classify(fd, &cred);
		if (n_clients >= (peer == HIBD_PEER_ROOT ? MAX_CLIENTS : MAX_CLIENTS - 1)) {
			reply_close(fd, HIB_EXIT_BUSY, "busy: too many clients");
			continue;
		}
		c = malloc(sizeof(*c));
		if (!c) {
			reply_close(fd, HIB_EXIT_ERROR, "out of memory");
			continue;
		}
		c->fd = fd;
		c->cred = cred;
		c->peer = peer;
		c->len = 0;
		c->deadline = now_ms() + REQ_TIMEOUT_MS;
		clients[n_clients++] = c;
	}
}

/*
 * The listening socket systemd passes (hibernated.socket; with --socket it must be bound to
 * that path): its fd, -ENOENT when not socket-activated, or another -errno, said in the log.
 */
static int activated_socket(bool path_given)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *env = getenv("LISTEN_FDS");
	socklen_t len = sizeof(sa);
	char listen_fds[16];
	int n, fd, flags, r;

	snprintf(listen_fds, sizeof(listen_fds), "%s", env ? env : "");
	/* Also unsets $LISTEN_*, so that nothing the daemon might start inherits them. */
	n = sd_listen_fds(1);
	if (n == -EBADF) {
		hd_log(LOG_ERR, "socket activation: $LISTEN_FDS=%s, but not every file descriptor "
		       "from %d on is open", listen_fds, SD_LISTEN_FDS_START);
		return n;
	}
	if (n < 0) {
		hd_log(LOG_ERR, "socket activation: bad $LISTEN_FDS (%s) or $LISTEN_PID: %s",
		       listen_fds, strerror(-n));
		return n;
	}
	if (n > 1) {
		hd_log(LOG_ERR, "socket activation passed %d file descriptors; hibernated takes "
		       "exactly one, a listening Unix stream socket", n);
		return -EINVAL;
	}
	if (n == 1) {
		fd = SD_LISTEN_FDS_START;
		r = sd_is_socket_unix(fd, SOCK_STREAM, 1, path_given ? socket_path : NULL, 0);
		if (r < 0) {
			hd_log(LOG_ERR, "socket activation: file descriptor %d: %s", fd,
			       strerror(-r));
			return r;
		}
		if (r == 0) {
			hd_log(LOG_ERR, "socket activation: file descriptor %d is not a listening "
			       "Unix stream socket%s%s (check the ListenStream= of "
			       "hibernated.socket)", fd, path_given ? " bound to " : "",
			       path_given ? socket_path : "");
			return -ENOTSOCK;
		}
		/* accept_clients() accepts until EAGAIN. */
		flags = fcntl(fd, F_GETFL);
		if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
		    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
			r = -errno;
			hd_log(LOG_ERR, "socket activation: file descriptor %d: %s", fd,
			       strerror(-r));
			return r;
		}
		socket_activated = true;
		/* For the log and messages: where systemd bound it. */
		if (!path_given && getsockname(fd, (struct sockaddr *)&sa, &len) == 0 &&
		    len > offsetof(struct sockaddr_un, sun_path) && sa.sun_path[0])
			socket_path = strndup(sa.sun_path, sizeof(sa.sun_path));
		if (!socket_path)
			socket_path = DEFAULT_SOCKET;
		return fd;
	}
	return -ENOENT;
}

/* Our own listening socket at socket_path (not socket-activated): the fd or -errno, logged. */
static int bind_socket(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, r;

	if (strlen(socket_path) >= sizeof(sa.sun_path)) {
		hd_log(LOG_ERR, "socket path too long");
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		r = -errno;
		hd_log(LOG_ERR, "socket: %s", strerror(-r));
		return r;
	}
	unlink(socket_path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0) {
		r = -errno;
		hd_log(LOG_ERR, "%s: %s", socket_path, strerror(-r));
		close(fd);
		return r;
	}
	/*
	 * Anyone may connect; SO_PEERCRED decides.  The refusal is then a clear message.
	 * hibernated.socket says the same with SocketMode=0666.
	 */
	chmod(socket_path, 0666);
	return fd;
}

/* Our own socket's path goes with the daemon; systemd's stays systemd's. */
static void unlink_socket(void)
{
	if (!socket_activated)
		unlink(socket_path);
}

/* The idle STATUS= of sd_notify(3), with @extra (e.g. "READY=1\n") before it. */
static void notify_idle(const char *extra)
{
	sd_notifyf(0, "%sSTATUS=idle, policy %zu rules from %s", extra,
		   policy ? policy->n_rules : 0, policy_dir);
}

static void usage(FILE *f)
{
	fputs("Usage: hibernated [--socket PATH] [--group NAME|GID] [--policy-dir DIR]\n"
	      "                  [--config FILE]\n"
	      "Runs hibernation on request over a Unix socket (default " DEFAULT_SOCKET ").\n"
	      "Root may ask for anything; members of --group for a hibernation now (or a dry\n"
	      "run, --test) with the daemon's own configuration, status and check; anyone else\n"
	      "for status.  The configuration (--config, default $HIBERNATE_CONF or "
	      HIB_CONF_DEFAULT_PATH ")\n"
	      "is read for each request; SIGHUP reloads the policy (default "
	      HIB_POLICY_DEFAULT_DIR ").\n"
	      "  -h, --help     this text\n"
	      "  -V, --version  the version\n"
	      "See hibernated(8).\n", f);
}

static int parse_group(const char *s)
{
	struct group *g = getgrnam(s);
	unsigned long v;
	char *e;

	if (g) {
		trusted_gid = g->gr_gid;
		return 0;
	}
	errno = 0;
	v = strtoul(s, &e, 10);
	if (!*s || *e || errno || v >= (gid_t)-1) {
		hd_log(LOG_ERR, "unknown group %s", s);
		return -EINVAL;
	}
	trusted_gid = (gid_t)v;
	return 0;
}

/* The configuration at start: said once, so that a bad file shows in the log early. */
static void check_conf(void)
{
	struct hib_conf_errors *errs = calloc(1, sizeof(*errs));
	struct hib_conf *c = calloc(1, sizeof(*c));
	unsigned int i;
	int r;

	if (!errs || !c)
		goto out;
	r = hib_conf_resolve(conf_arg, NULL, c, errs);
	if (r < 0) {
		for (i = 0; i < errs->count && i < HIB_CONF_ERRORS_MAX; i++)
			hd_log(LOG_ERR, "%s", errs->e[i].msg);
		hd_log(LOG_ERR, "%s: %s (read again for each request)",
			conf_shown, hib_strerror(r));
	} else {
		hd_log(LOG_INFO, "configuration %s: %s%s", conf_shown,
			c->target[0] ? "target " : "no target (only root, naming one, may "
			"hibernate)", c->target);
	}
	hib_conf_wipe(c);
out:
	free(errs);
	free(c);
}

int main(int argc, char **argv)
{
	bool reload_pending = false, quitting = false, socket_given = false;
	sigset_t mask;
	int i, lfd, sfd, r;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0) {
			printf("hibernated %s\n", HIBERNATE_VERSION);
			return 0;
		} else if (i + 1 >= argc) {
			usage(stderr);
			return 2;
		} else if (strcmp(a, "--socket") == 0) {
			socket_path = argv[++i];
			socket_given = true;
		} else if (strcmp(a, "--policy-dir") == 0) {
			policy_dir = argv[++i];
		} else if (strcmp(a, "--config") == 0) {
			conf_arg = argv[++i];
		} else if (strcmp(a, "--group") == 0) {
			if (parse_group(argv[++i]) < 0)
				return 2;
		} else {
			usage(stderr);
			return 2;
		}
	}
	conf_shown = conf_arg ? conf_arg : getenv("HIBERNATE_CONF");
	if (!conf_shown || !*conf_shown)
		conf_shown = HIB_CONF_DEFAULT_PATH;
	log_journal = hibd_journal_stream_is(STDERR_FILENO, getenv("JOURNAL_STREAM")) > 0;
	hib_set_log_fn(log_stderr);
	setvbuf(stderr, NULL, _IOLBF, 0);
	/* First: a passed socket is fd 3, which anything opened before might take over. */
	lfd = activated_socket(socket_given);
	if (lfd < 0 && lfd != -ENOENT)
		return 1;
	if (!socket_activated && strlen(socket_path) >= SUN_PATH_SIZE) {
		hd_log(LOG_ERR, "socket path too long");
		return 2;
	}
	job = calloc(1, sizeof(*job));
	for (i = 0; i < MAX_CLIENTS; i++)
		clients[i] = NULL;
	if (!job) {
		hd_log(LOG_ERR, "out of memory");
		return 1;
	}
	job->fd = -1;
	reload_policy();
	if (!policy) {
		hd_log(LOG_WARNING, "no usable policy; starting with an empty one");
		policy = calloc(1, sizeof(*policy));
		if (!policy)
			return 1;
	}
	check_conf();

	/* Before any thread: the run's thread inherits the mask. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	done_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (sfd < 0 || done_efd < 0) {
		hd_log(LOG_ERR, "signalfd/eventfd: %s", strerror(errno));
		return 1;
	}
	/* Our own socket last, as before: once it exists the daemon is all set up but for caps. */
	if (!socket_activated) {
		lfd = bind_socket();
		if (lfd < 0)
			return 1;
	}

	r = drop_caps();
	if (r < 0) {
		hd_log(LOG_ERR, "cannot drop capabilities: %s", strerror(-r));
		unlink_socket();
		return 1;
	}
	hd_log(LOG_INFO, "listening on %s%s", socket_path,
	       socket_activated ? " (socket activation)" : "");
	notify_idle("READY=1\n");

	for (;;) {
		struct pollfd pfd[3 + MAX_CLIENTS];
		long long now = now_ms(), next = -1;
		unsigned int n = 3, c;
		int timeout;

		/* Requests out of time. */
		for (c = 0; c < n_clients;) {
			if (clients[c]->deadline <= now) {
				reply_close(clients[c]->fd, HIB_EXIT_USAGE, "request timed out "
					    "(%d ms for the whole request)", REQ_TIMEOUT_MS);
				client_drop(c);
				continue;
			}
			if (next < 0 || clients[c]->deadline < next)
				next = clients[c]->deadline;
			c++;
		}
		if (quitting && !atomic_load(&busy)) {
			/*
			 * Not when the signal came: a hibernation may have the system frozen then,
			 * systemd included; nothing is sent to it from here while one runs.
			 */
			sd_notify(0, "STOPPING=1\nSTATUS=exiting");
			break;
		}
		if (reload_pending && !atomic_load(&busy)) {
			reload_pending = false;
			sd_notify(0, "RELOADING=1\nSTATUS=reloading the policy");
			reload_policy();
			notify_idle("READY=1\n");
		}
		pfd[0] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = done_efd, .events = POLLIN };
		pfd[2] = (struct pollfd){ .fd = -1 };
		if (lfd >= 0 && accept_paused_until <= now)
			pfd[2] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		else if (lfd >= 0 && (next < 0 || accept_paused_until < next))
			next = accept_paused_until;
		for (c = 0; c < n_clients; c++)
			pfd[n++] = (struct pollfd){ .fd = clients[c]->fd, .events = POLLIN };
		timeout = next < 0 ? -1 : (int)(next - now > 0 ? next - now : 0);
		if (poll(pfd, n, timeout) < 0) {
			if (errno == EINTR)
				continue;
			hd_log(LOG_ERR, "poll: %s", strerror(errno));
			break;
		}
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGHUP) {
					hd_log(LOG_INFO, "SIGHUP: reloading the policy%s",
						atomic_load(&busy) ? " after the running hibernation" :
						"");
					reload_pending = true;
				} else if (!quitting) {
					quitting = true;
					if (atomic_load(&busy))
						hd_log(LOG_NOTICE, "%s: exiting once the "
							"running hibernation has returned",
							strsignal((int)si.ssi_signo));
					/* No new connection; the socket goes away now. */
					close(lfd);
					lfd = -1;
					unlink_socket();
				}
			}
		}
		if (pfd[1].revents & POLLIN) {
			uint64_t v;

			if (read(done_efd, &v, sizeof(v)) == sizeof(v) && atomic_load(&busy)) {
				pthread_join(job_thread, NULL);
				atomic_store(&busy, false);
				if (!quitting)
					notify_idle("");
			}
		}
		/* The clients first: their slots may free up for the new connections. */
		for (c = n_clients; c-- > 0;) {
			if (!pfd[3 + c].revents)
				continue;
			if (!client_read(clients[c], quitting))
				client_drop(c);
		}
		if (lfd >= 0 && (pfd[2].revents & POLLIN))
			accept_clients(lfd);
	}
	for (i = (int)n_clients; i-- > 0;) {
		reply_close(clients[i]->fd, HIB_EXIT_BUSY, "busy: shutting down");
		client_drop((unsigned int)i);
	}
	if (lfd >= 0) {
		close(lfd);
		unlink_socket();
	}
	hd_log(LOG_INFO, "exiting");
	return 0;
}
