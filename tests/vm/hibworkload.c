// SPDX-License-Identifier: GPL-2.0-only
/*
 * hibworkload: a population of processes for the VM tests of the freezer.
 *
 *   hibworkload start --procs N --shm PATH
 *   hibworkload read  --shm PATH [--json]
 *   hibworkload pids  --shm PATH [--kind KIND]
 *   hibworkload check --shm PATH (--still|--moved) [--ms MS] [--only PID,...]
 *                     [--except PID,...]
 *   hibworkload errors --shm PATH
 *   hibworkload stop  --shm PATH
 *   hibworkload kill [--pidfd] SIG PID       raw kill(2)/pidfd_send_signal(2)
 *   hibworkload runas UID CMD [ARG...]       drop to UID (and GID UID), exec
 *   hibworkload dread DEV                    one 4 KiB O_DIRECT read
 *
 * Every process (or thread) owns a slot in a shared file mapping: it bumps
 * its counter after each completed blocking call and records any EINTR or
 * other error of that call, and any signal handler that ran.  The kinds:
 * busy loops, nanosleep sleepers, pipe / socket / epoll readers fed slowly
 * by one feeder, futex waiters woken by one waker, a wait4 parent, a vfork
 * parent whose child sleeps, a ptrace tracer and its tracee, a
 * multi-threaded process and a process with a handler for every catchable
 * signal.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SHM_MAGIC	0x48494257u	/* "HIBW" */
#define MAX_SLOTS	1024
#define MAX_FED		128

enum kind {
	K_NONE,
	K_SUPERVISOR,
	K_FEEDER,
	K_BUSY,
	K_SLEEP,
	K_PIPE,
	K_SOCKET,
	K_EPOLL,
	K_FUTEX,
	K_FUTEX_WAKER,
	K_WAIT4,
	K_VFORK,
	K_TRACER,
	K_TRACEE,
	K_THREAD,
	K_SIGNALS,
	K_NR,
};

static const char *const kind_names[K_NR] = {
	[K_NONE] = "none",
	[K_SUPERVISOR] = "supervisor",
	[K_FEEDER] = "feeder",
	[K_BUSY] = "busy",
	[K_SLEEP] = "sleep",
	[K_PIPE] = "pipe",
	[K_SOCKET] = "socket",
	[K_EPOLL] = "epoll",
	[K_FUTEX] = "futex",
	[K_FUTEX_WAKER] = "futex-waker",
	[K_WAIT4] = "wait4",
	[K_VFORK] = "vfork",
	[K_TRACER] = "tracer",
	[K_TRACEE] = "tracee",
	[K_THREAD] = "thread",
	[K_SIGNALS] = "signals",
};

struct slot {
	int32_t pid;		/* thread id */
	int32_t tgid;
	uint32_t kind;
	uint32_t eintr;		/* EINTR from the blocking call */
	uint64_t counter;
	uint32_t errors;	/* any other error */
	int32_t last_errno;
	uint32_t handler_calls;
	uint32_t last_sig;
	uint32_t pad[6];
};

struct shm {
	uint32_t magic;
	uint32_t nslots;
	int32_t pgid;
	int32_t supervisor;
	uint32_t ready;
	uint32_t futex_word;
	uint32_t pad[10];
	struct slot slots[MAX_SLOTS];
};

static struct shm *shm;
static __thread struct slot *self;

static void die(const char *msg)
{
	fprintf(stderr, "hibworkload: %s: %s\n", msg, strerror(errno));
	exit(1);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: hibworkload start --procs N --shm PATH\n"
		"       hibworkload read --shm PATH [--json]\n"
		"       hibworkload pids --shm PATH [--kind KIND]\n"
		"       hibworkload check --shm PATH (--still|--moved) [--ms MS] [--only PIDS] [--except PIDS]\n"
		"       hibworkload errors --shm PATH\n"
		"       hibworkload stop --shm PATH\n"
		"       hibworkload kill [--pidfd] SIG PID\n"
		"       hibworkload runas UID CMD [ARG...]\n"
		"       hibworkload dread DEV\n");
	exit(2);
}

static struct shm *map_shm(const char *path, bool create)
{
	int fd = open(path, create ? O_RDWR | O_CREAT | O_TRUNC : O_RDWR, 0644);
	void *p;

	if (fd < 0)
		die(path);
	if (create && ftruncate(fd, sizeof(struct shm)) < 0)
		die("ftruncate");
	p = mmap(NULL, sizeof(struct shm), PROT_READ | PROT_WRITE, MAP_SHARED,
		 fd, 0);
	if (p == MAP_FAILED)
		die("mmap");
	close(fd);
	if (!create && ((struct shm *)p)->magic != SHM_MAGIC) {
		fprintf(stderr, "hibworkload: %s: not a workload area\n", path);
		exit(1);
	}
	return p;
}

static struct slot *claim_slot(enum kind kind)
{
	uint32_t i = __atomic_fetch_add(&shm->nslots, 1, __ATOMIC_SEQ_CST);
	struct slot *s;

	if (i >= MAX_SLOTS) {
		fprintf(stderr, "hibworkload: out of slots\n");
		_exit(1);
	}
	s = &shm->slots[i];
	s->kind = kind;
	s->tgid = getpid();
	__atomic_store_n(&s->pid, (int32_t)syscall(SYS_gettid), __ATOMIC_SEQ_CST);
	self = s;
	return s;
}

static inline void bump(void)
{
	__atomic_fetch_add(&self->counter, 1, __ATOMIC_RELAXED);
}

/* Record the failure of a blocking call; EINTR is counted on its own. */
static void failed(int err)
{
	if (err == EINTR) {
		__atomic_fetch_add(&self->eintr, 1, __ATOMIC_RELAXED);
	} else {
		__atomic_fetch_add(&self->errors, 1, __ATOMIC_RELAXED);
		self->last_errno = err;
	}
}

static void handler(int sig)
{
	if (!self)
		return;
	__atomic_fetch_add(&self->handler_calls, 1, __ATOMIC_RELAXED);
	self->last_sig = sig;
}

/*
 * A handler for every catchable signal, so that any signal the freezer
 * might leak shows up.  Parents keep SIGCHLD at its default: they get it
 * legitimately.  No SA_RESTART: a stray signal also shows as EINTR.
 */
static void install_handlers(bool keep_sigchld)
{
	struct sigaction sa;
	int sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sigfillset(&sa.sa_mask);
	for (sig = 1; sig < 65; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		if (keep_sigchld && sig == SIGCHLD)
			continue;
		/* glibc reserves 32 and 33 and refuses them: fine */
		sigaction(sig, &sa, NULL);
	}
}

static void msleep(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
		failed(EINTR);
}

/* --- the kinds --------------------------------------------------------- */

static void __attribute__((noreturn)) run_busy(void)
{
	for (;;) {
		unsigned int i;

		for (i = 0; i < 100000; i++)
			__asm__ volatile("" ::: "memory");
		bump();
	}
}

static void __attribute__((noreturn)) run_sleep(long ms)
{
	for (;;) {
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
		int r = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);

		if (r)
			failed(r);
		else
			bump();
	}
}

static void __attribute__((noreturn)) run_reader(int fd)
{
	char buf[64];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n > 0)
			bump();
		else if (n == 0)
			_exit(0);
		else
			failed(errno);
	}
}

static void __attribute__((noreturn)) run_epoll(int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
	int ep = epoll_create1(0);
	char buf[64];

	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		die("epoll");
	for (;;) {
		int n = epoll_wait(ep, &ev, 1, -1);

		if (n < 0) {
			failed(errno);
			continue;
		}
		if (n > 0 && read(fd, buf, sizeof(buf)) > 0)
			bump();
	}
}

static void __attribute__((noreturn)) run_futex(void)
{
	for (;;) {
		uint32_t v = __atomic_load_n(&shm->futex_word, __ATOMIC_SEQ_CST);
		long r = syscall(SYS_futex, &shm->futex_word, FUTEX_WAIT, v,
				 NULL, NULL, 0);

		if (r < 0 && errno != EAGAIN)
			failed(errno);
		else
			bump();
	}
}

static void __attribute__((noreturn)) run_futex_waker(void)
{
	for (;;) {
		msleep(50);
		__atomic_fetch_add(&shm->futex_word, 1, __ATOMIC_SEQ_CST);
		if (syscall(SYS_futex, &shm->futex_word, FUTEX_WAKE, INT32_MAX,
			    NULL, NULL, 0) < 0)
			failed(errno);
		bump();
	}
}

static void __attribute__((noreturn)) run_feeder(int *fds, int nfds)
{
	int i;

	for (;;) {
		msleep(50);
		for (i = 0; i < nfds; i++)
			if (write(fds[i], "x", 1) != 1)
				failed(errno);
		bump();
	}
}

static void __attribute__((noreturn)) run_wait4(void)
{
	for (;;) {
		int status;
		pid_t pid = fork();

		if (pid < 0) {
			failed(errno);
			msleep(100);
			continue;
		}
		if (pid == 0) {
			struct timespec ts = { 0, 50000000 };

			nanosleep(&ts, NULL);
			_exit(0);
		}
		while (wait4(pid, &status, 0, NULL) < 0) {
			failed(errno);
			if (errno != EINTR)
				break;
		}
		bump();
	}
}

static void __attribute__((noreturn)) run_vfork(void)
{
	for (;;) {
		int status;
		pid_t pid = vfork();

		if (pid < 0) {
			failed(errno);
			msleep(100);
			continue;
		}
		if (pid == 0) {
			/* Only raw system calls in a vfork child. */
			struct timespec ts = { 0, 100000000 };

			syscall(SYS_nanosleep, &ts, NULL);
			syscall(SYS_exit, 0);
		}
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			failed(EINTR);
		bump();
	}
}

static void __attribute__((noreturn)) run_tracee(void)
{
	if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0)
		die("PTRACE_TRACEME");
	raise(SIGSTOP);
	run_sleep(20);
}

static void __attribute__((noreturn)) run_tracer(pid_t tracee)
{
	int status, sig = 0;

	if (waitpid(tracee, &status, 0) < 0)
		die("waitpid tracee");
	ptrace(PTRACE_SETOPTIONS, tracee, NULL,
	       (void *)(long)(PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL));
	for (;;) {
		if (ptrace(PTRACE_SYSCALL, tracee, NULL,
			   (void *)(long)sig) < 0) {
			failed(errno);
			_exit(1);
		}
		sig = 0;
		if (waitpid(tracee, &status, 0) < 0) {
			failed(errno);
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		if (WIFEXITED(status) || WIFSIGNALED(status))
			_exit(0);
		if (WIFSTOPPED(status)) {
			int s = WSTOPSIG(status);

			if (s == (SIGTRAP | 0x80)) {
				bump();
			} else {
				/* a signal for the tracee: nobody sends any */
				__atomic_fetch_add(&self->handler_calls, 1,
						   __ATOMIC_RELAXED);
				self->last_sig = s;
				sig = s;
			}
		}
	}
}

static void *thread_main(void *arg)
{
	(void)arg;
	claim_slot(K_THREAD);
	run_sleep(30);
}

static void __attribute__((noreturn)) run_threads(int n)
{
	pthread_t t;
	int i;

	for (i = 0; i < n; i++)
		if (pthread_create(&t, NULL, thread_main, NULL))
			die("pthread_create");
	run_sleep(30);
}

/* --- start ------------------------------------------------------------- */

struct plan {
	int busy, pipe, socket, epoll, futex, threads, sleep;
};

static void make_plan(struct plan *p, int procs)
{
	/* fixed: supervisor, feeder, futex-waker, wait4, vfork, tracer,
	 * tracee, threads, signals = 9 processes */
	int rest = procs - 9;

	p->busy = 2;
	p->pipe = 20;
	p->socket = 20;
	p->epoll = 10;
	p->futex = 20;
	p->threads = 4;
	rest -= p->busy + p->pipe + p->socket + p->epoll + p->futex;
	p->sleep = rest > 0 ? rest : 0;
}

/* Fork a child running @fn(@arg); the child gets its own slot first. */
static pid_t spawn(enum kind kind, void (*fn)(long), long arg)
{
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		claim_slot(kind);
		install_handlers(kind == K_WAIT4 || kind == K_VFORK ||
				 kind == K_TRACER);
		fn(arg);
		_exit(0);
	}
	return pid;
}

static void fn_busy(long a) { (void)a; run_busy(); }
static void fn_sleep(long ms) { run_sleep(ms); }
static void fn_reader(long fd) { run_reader((int)fd); }
static void fn_epoll(long fd) { run_epoll((int)fd); }
static void fn_futex(long a) { (void)a; run_futex(); }
static void fn_waker(long a) { (void)a; run_futex_waker(); }
static void fn_wait4(long a) { (void)a; run_wait4(); }
static void fn_vfork(long a) { (void)a; run_vfork(); }
static void fn_threads(long n) { run_threads((int)n); }
static void fn_signals(long a) { (void)a; run_sleep(100); }

static void fn_tracer(long a)
{
	pid_t tracee = fork();

	(void)a;
	if (tracee < 0)
		die("fork");
	if (tracee == 0) {
		self = NULL;
		claim_slot(K_TRACEE);
		install_handlers(false);
		run_tracee();
	}
	run_tracer(tracee);
}

static int fed[MAX_FED];
static int nfed;

static void fn_feeder(long a)
{
	(void)a;
	run_feeder(fed, nfed);
}

/* A reader end for a new pipe or socketpair; the other end goes to fed[]. */
static int new_channel(bool sock)
{
	int fds[2];

	if (nfed >= MAX_FED) {
		fprintf(stderr, "hibworkload: too many channels\n");
		exit(1);
	}
	if (sock) {
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) < 0)
			die("socketpair");
	} else if (pipe(fds) < 0) {
		die("pipe");
	}
	fed[nfed++] = fds[1];
	return fds[0];
}

static void __attribute__((noreturn)) supervise(int procs)
{
	struct plan p;
	int readers[MAX_FED];
	enum kind rkind[MAX_FED];
	int nreaders = 0, i;

	make_plan(&p, procs);
	claim_slot(K_SUPERVISOR);
	install_handlers(true);

	for (i = 0; i < p.pipe; i++) {
		rkind[nreaders] = K_PIPE;
		readers[nreaders++] = new_channel(false);
	}
	for (i = 0; i < p.socket; i++) {
		rkind[nreaders] = K_SOCKET;
		readers[nreaders++] = new_channel(true);
	}
	for (i = 0; i < p.epoll; i++) {
		rkind[nreaders] = K_EPOLL;
		readers[nreaders++] = new_channel(false);
	}

	spawn(K_FEEDER, fn_feeder, 0);
	for (i = 0; i < nfed; i++)
		close(fed[i]);
	for (i = 0; i < nreaders; i++) {
		spawn(rkind[i], rkind[i] == K_EPOLL ? fn_epoll : fn_reader,
		      readers[i]);
		close(readers[i]);
	}
	spawn(K_FUTEX_WAKER, fn_waker, 0);
	for (i = 0; i < p.futex; i++)
		spawn(K_FUTEX, fn_futex, 0);
	for (i = 0; i < p.busy; i++)
		spawn(K_BUSY, fn_busy, 0);
	spawn(K_WAIT4, fn_wait4, 0);
	spawn(K_VFORK, fn_vfork, 0);
	spawn(K_TRACER, fn_tracer, 0);
	spawn(K_THREAD, fn_threads, p.threads);
	spawn(K_SIGNALS, fn_signals, 0);
	for (i = 0; i < p.sleep; i++)
		spawn(K_SLEEP, fn_sleep, 100);

	__atomic_store_n(&shm->ready, 1, __ATOMIC_SEQ_CST);

	/* Reap, slowly, and count like everybody else. */
	for (;;) {
		int status;

		while (waitpid(-1, &status, WNOHANG) > 0)
			;
		msleep(100);
		bump();
	}
}

static int cmd_start(int procs, const char *path)
{
	int i, pipefd[2];
	pid_t pid;
	char c;

	if (procs < 80 || procs > 900) {
		fprintf(stderr, "hibworkload: --procs must be 80..900\n");
		return 2;
	}
	shm = map_shm(path, true);
	memset(shm, 0, sizeof(*shm));
	shm->magic = SHM_MAGIC;

	if (pipe(pipefd) < 0)
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		char log[4096];
		int logfd;

		close(pipefd[0]);
		setsid();
		shm->pgid = getpid();
		shm->supervisor = getpid();
		/* Nothing inherited may keep a caller's pipe open. */
		snprintf(log, sizeof(log), "%s.log", path);
		logfd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(logfd >= 0 ? logfd : null, 2);
			if (null > 2)
				close(null);
		}
		if (logfd > 2)
			close(logfd);
		/* the daemon is up: let start return once all slots run */
		close(pipefd[1]);
		supervise(procs);
	}
	close(pipefd[1]);
	if (read(pipefd[0], &c, 1) < 0)
		die("read");

	/* Wait until every slot exists and has counted at least once. */
	for (i = 0; i < 600; i++) {
		uint32_t n = __atomic_load_n(&shm->nslots, __ATOMIC_SEQ_CST);
		uint32_t j, zero = 0;

		if (__atomic_load_n(&shm->ready, __ATOMIC_SEQ_CST)) {
			for (j = 0; j < n; j++)
				if (!__atomic_load_n(&shm->slots[j].counter,
						     __ATOMIC_RELAXED))
					zero++;
			if (!zero) {
				printf("hibworkload: %u slots running, supervisor %d\n",
				       n, shm->supervisor);
				return 0;
			}
		}
		msleep(100);
	}
	fprintf(stderr, "hibworkload: workload did not come up in 60 s\n");
	return 1;
}

/* --- inspection -------------------------------------------------------- */

static const char *kind_name(uint32_t k)
{
	return k < K_NR ? kind_names[k] : "?";
}

static int cmd_read(bool json)
{
	uint32_t i, n = shm->nslots;

	if (json)
		printf("[\n");
	for (i = 0; i < n; i++) {
		struct slot *s = &shm->slots[i];

		if (json)
			printf("  {\"slot\": %u, \"pid\": %d, \"tgid\": %d, \"kind\": \"%s\", \"counter\": %llu, \"eintr\": %u, \"errors\": %u, \"last_errno\": %d, \"handler_calls\": %u, \"last_sig\": %u}%s\n",
			       i, s->pid, s->tgid, kind_name(s->kind),
			       (unsigned long long)s->counter, s->eintr,
			       s->errors, s->last_errno, s->handler_calls,
			       s->last_sig, i + 1 < n ? "," : "");
		else
			printf("%u %d %d %s %llu %u %u %u\n", i, s->pid,
			       s->tgid, kind_name(s->kind),
			       (unsigned long long)s->counter, s->eintr,
			       s->errors, s->handler_calls);
	}
	if (json)
		printf("]\n");
	return 0;
}

static int cmd_pids(const char *kind)
{
	uint32_t i, n = shm->nslots;

	for (i = 0; i < n; i++) {
		struct slot *s = &shm->slots[i];

		if (s->pid != s->tgid)
			continue;	/* one line per process */
		if (kind && strcmp(kind, kind_name(s->kind)))
			continue;
		printf("%d\n", s->tgid);
	}
	return 0;
}

static bool in_list(const char *list, int pid)
{
	const char *p = list;

	while (p && *p) {
		char *end;
		long v = strtol(p, &end, 10);

		if (end == p)
			break;
		if (v == pid)
			return true;
		p = *end ? end + 1 : end;
	}
	return false;
}

/*
 * --still: no counter of a selected slot moves during @ms.
 * --moved: every selected slot's counter moves during @ms.
 * A slot is selected by its process (tgid): --only limits to those
 * processes, --except leaves those out.
 */
static int cmd_check(bool still, long ms, const char *only, const char *except)
{
	static uint64_t before[MAX_SLOTS];
	uint32_t i, n = shm->nslots;
	int bad = 0, checked = 0;

	for (i = 0; i < n; i++)
		before[i] = __atomic_load_n(&shm->slots[i].counter,
					    __ATOMIC_SEQ_CST);
	msleep(ms);
	for (i = 0; i < n; i++) {
		struct slot *s = &shm->slots[i];
		uint64_t now = __atomic_load_n(&s->counter, __ATOMIC_SEQ_CST);
		bool moved = now != before[i];

		if (only && !in_list(only, s->tgid))
			continue;
		if (except && in_list(except, s->tgid))
			continue;
		checked++;
		if (moved == still) {
			bad++;
			printf("%s: pid %d tgid %d kind %s counter %llu -> %llu\n",
			       still ? "moved" : "still", s->pid, s->tgid,
			       kind_name(s->kind),
			       (unsigned long long)before[i],
			       (unsigned long long)now);
		}
	}
	printf("checked %d slots over %ld ms: %d %s\n", checked, ms, bad,
	       still ? "moved" : "did not move");
	if (!checked)
		return 1;
	return bad ? 1 : 0;
}

static int cmd_errors(void)
{
	uint32_t i, n = shm->nslots;
	int bad = 0;

	for (i = 0; i < n; i++) {
		struct slot *s = &shm->slots[i];

		if (!s->eintr && !s->errors && !s->handler_calls)
			continue;
		bad++;
		printf("pid %d tgid %d kind %s: eintr %u errors %u (last %s) handler calls %u (last signal %u)\n",
		       s->pid, s->tgid, kind_name(s->kind), s->eintr, s->errors,
		       s->errors ? strerror(s->last_errno) : "-",
		       s->handler_calls, s->last_sig);
	}
	printf("%u slots, %d with EINTR, errors or signal handler calls\n",
	       n, bad);
	return bad ? 1 : 0;
}

static int cmd_stop(void)
{
	pid_t pgid = shm->pgid;

	if (pgid <= 1)
		return 1;
	if (kill(-pgid, SIGKILL) < 0 && errno != ESRCH)
		die("kill");
	return 0;
}

/* --- helpers ----------------------------------------------------------- */

static int cmd_kill(int argc, char **argv)
{
	bool use_pidfd = false;
	int sig, pid, r;

	if (argc > 0 && !strcmp(argv[0], "--pidfd")) {
		use_pidfd = true;
		argc--;
		argv++;
	}
	if (argc != 2)
		usage();
	sig = atoi(argv[0]);
	pid = atoi(argv[1]);
	if (use_pidfd) {
		int fd = syscall(SYS_pidfd_open, pid, 0);

		if (fd < 0) {
			fprintf(stderr, "hibworkload: pidfd_open %d: %s\n", pid,
				strerror(errno));
			return 1;
		}
		r = syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0);
	} else {
		r = kill(pid, sig);
	}
	if (r < 0) {
		fprintf(stderr, "hibworkload: %s(%d, %d): %s\n",
			use_pidfd ? "pidfd_send_signal" : "kill", pid, sig,
			strerror(errno));
		return errno == EPERM ? 4 : 1;
	}
	return 0;
}

static int cmd_runas(int argc, char **argv)
{
	uid_t uid;

	if (argc < 2)
		usage();
	uid = atoi(argv[0]);
	if (setgroups(0, NULL) < 0 || setgid(uid) < 0 || setuid(uid) < 0)
		die("drop privileges");
	execvp(argv[1], argv + 1);
	die(argv[1]);
	return 1;
}

static int cmd_dread(const char *dev)
{
	void *buf;
	int fd = open(dev, O_RDONLY | O_DIRECT);

	if (fd < 0)
		die(dev);
	if (posix_memalign(&buf, 4096, 4096))
		die("posix_memalign");
	if (pread(fd, buf, 4096, 0) != 4096)
		die("pread");
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "procs", required_argument, NULL, 'p' },
		{ "shm", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "kind", required_argument, NULL, 'k' },
		{ "still", no_argument, NULL, 'S' },
		{ "moved", no_argument, NULL, 'M' },
		{ "ms", required_argument, NULL, 'm' },
		{ "only", required_argument, NULL, 'o' },
		{ "except", required_argument, NULL, 'e' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd, *path = NULL, *kind = NULL, *only = NULL;
	const char *except = NULL;
	int procs = 200, mode = 0, c;
	bool json = false;
	long ms = 2000;

	if (argc < 2)
		usage();
	cmd = argv[1];
	if (!strcmp(cmd, "kill"))
		return cmd_kill(argc - 2, argv + 2);
	if (!strcmp(cmd, "runas"))
		return cmd_runas(argc - 2, argv + 2);
	if (!strcmp(cmd, "dread")) {
		if (argc != 3)
			usage();
		return cmd_dread(argv[2]);
	}

	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p': procs = atoi(optarg); break;
		case 's': path = optarg; break;
		case 'j': json = true; break;
		case 'k': kind = optarg; break;
		case 'S': mode = 'S'; break;
		case 'M': mode = 'M'; break;
		case 'm': ms = atol(optarg); break;
		case 'o': only = optarg; break;
		case 'e': except = optarg; break;
		default: usage();
		}
	}
	if (!path || optind != argc)
		usage();
	if (!strcmp(cmd, "start"))
		return cmd_start(procs, path);

	shm = map_shm(path, false);
	if (!strcmp(cmd, "read"))
		return cmd_read(json);
	if (!strcmp(cmd, "pids"))
		return cmd_pids(kind);
	if (!strcmp(cmd, "check")) {
		if (!mode)
			usage();
		return cmd_check(mode == 'S', ms, only, except);
	}
	if (!strcmp(cmd, "errors"))
		return cmd_errors();
	if (!strcmp(cmd, "stop"))
		return cmd_stop();
	usage();
	return 2;
}
