// SPDX-License-Identifier: GPL-2.0-only
/*
 * freezebench: the guest-side helper of `make bench` (bench/run-bench.sh).
 *
 *   freezebench spawn N [--busy B] [--cgroup DIR]
 *	Start a group of N processes and print its process group id: a
 *	supervisor (which first moves itself into cgroup DIR, so that every
 *	child is born there) and N-1 children, B of them busy loops, the rest
 *	sleeping in nanosleep(1 s) loops.  Returns once all N exist.  Stop the
 *	group with `kill -9 -PGID`.
 *
 *   freezebench cgroup DIR
 *	One cgroup-v2 freezer cycle on DIR: write 1 to cgroup.freeze, wait
 *	until cgroup.events says "frozen 1", pause 300 ms, write 0, wait for
 *	"frozen 0".  Prints "freeze_ms=F thaw_ms=T" (CLOCK_MONOTONIC, from
 *	before the write to the read that shows the new state).  cgroup.events
 *	is waited on with poll(2) (kernfs notification), re-read at least
 *	every 2 ms in case a notification is deferred.
 *
 *   freezebench pm
 *	One PM freezer cycle: write "disk" to /sys/power/state (the caller
 *	has set /sys/power/pm_test to "freezer"), with markers written to
 *	/dev/kmsg before and after, then read the kernel log records written
 *	in between.  Prints
 *	  "freeze_ms=F freeze_ts_ms=FT kthreads_ms=K thaw_ms=T total_ms=W"
 *	F: the kernel's own "Freezing user space processes completed
 *	(elapsed X seconds)" figure; FT: the same from the records' time
 *	stamps (us resolution); K: the kernel threads' figure; T: from the
 *	"Restarting tasks ..." record to the marker written right after the
 *	write returned (an upper bound of thaw_processes(), it includes the
 *	PM notifiers and the return to user space); W: the whole write,
 *	including the 5 s pm_test delay and the filesystem sync.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "freezebench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* One record into the kernel log (dprintf(3) fails on /dev/kmsg). */
static void kmsg(int fd, const char *msg)
{
	if (write(fd, msg, strlen(msg)) < 0)
		die("write /dev/kmsg");
}

static void msleep(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	if (n < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	close(fd);
	return 0;
}

/* --- spawn ---------------------------------------------------------------- */

static void __attribute__((noreturn)) child(bool busy)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (busy) {
		volatile unsigned long x = 0;

		for (;;)
			x++;
	}
	for (;;)
		msleep(1000);
}

static int cmd_spawn(int n, int busy, const char *cgroup)
{
	int pipefd[2], i;
	pid_t sup;
	char c;

	if (n < 1 || busy > n - 1) {
		fprintf(stderr, "freezebench: need N >= 1 and B <= N-1\n");
		return 2;
	}
	if (pipe(pipefd) < 0)
		die("pipe");
	sup = fork();
	if (sup < 0)
		die("fork");
	if (sup == 0) {
		int null = open("/dev/null", O_RDWR);

		close(pipefd[0]);
		setsid();
		/* Nothing may keep the caller's stdout (a $(...) pipe) open. */
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
			if (null > 2)
				close(null);
		}
		if (cgroup) {
			char path[4096];
			int r;

			snprintf(path, sizeof(path), "%s/cgroup.procs", cgroup);
			r = write_file(path, "0");
			if (r < 0) {
				errno = -r;
				die(path);
			}
		}
		for (i = 0; i < n - 1; i++) {
			pid_t p = fork();

			if (p < 0)
				die("fork");
			if (p == 0) {
				close(pipefd[1]);
				child(i < busy);
			}
		}
		if (write(pipefd[1], "x", 1) < 0)
			die("write");
		close(pipefd[1]);
		for (;;) {
			while (waitpid(-1, NULL, WNOHANG) > 0)
				;
			msleep(1000);
		}
	}
	close(pipefd[1]);
	if (read(pipefd[0], &c, 1) != 1) {
		fprintf(stderr, "freezebench: the supervisor died\n");
		return 1;
	}
	printf("%d\n", sup);
	return 0;
}

/* --- cgroup v2 ------------------------------------------------------------ */

/* Wait until DIR/cgroup.events has "frozen WANT"; 0 or -errno. */
static int wait_frozen(int efd, int want, double deadline)
{
	char buf[256], line[16];
	ssize_t n;

	snprintf(line, sizeof(line), "frozen %d\n", want);
	for (;;) {
		struct pollfd p = { .fd = efd, .events = POLLPRI };

		n = pread(efd, buf, sizeof(buf) - 1, 0);
		if (n < 0)
			return -errno;
		buf[n] = 0;
		if (strstr(buf, line))
			return 0;
		if (now_ms() > deadline)
			return -ETIMEDOUT;
		poll(&p, 1, 2);
	}
}

static int cmd_cgroup(const char *dir)
{
	char fpath[4096], epath[4096];
	double t0, t1, t2, t3;
	int efd, r;

	snprintf(fpath, sizeof(fpath), "%s/cgroup.freeze", dir);
	snprintf(epath, sizeof(epath), "%s/cgroup.events", dir);
	efd = open(epath, O_RDONLY | O_CLOEXEC);
	if (efd < 0)
		die(epath);

	t0 = now_ms();
	r = write_file(fpath, "1");
	if (!r)
		r = wait_frozen(efd, 1, t0 + 60000);
	t1 = now_ms();
	if (r < 0) {
		fprintf(stderr, "freezebench: freeze %s: %s\n", dir, strerror(-r));
		write_file(fpath, "0");
		return 1;
	}
	msleep(300);
	t2 = now_ms();
	r = write_file(fpath, "0");
	if (!r)
		r = wait_frozen(efd, 0, t2 + 60000);
	t3 = now_ms();
	if (r < 0) {
		fprintf(stderr, "freezebench: thaw %s: %s\n", dir, strerror(-r));
		return 1;
	}
	printf("freeze_ms=%.3f thaw_ms=%.3f\n", t1 - t0, t3 - t2);
	return 0;
}

/* --- PM freezer ----------------------------------------------------------- */

struct rec {
	unsigned long long ts_us;
	const char *msg;
};

/* "pri,seq,ts,flags;message\n..." -> ts and message. */
static bool parse_rec(char *buf, struct rec *r)
{
	char *semi = strchr(buf, ';'), *p = buf, *nl;
	int field = 0;

	if (!semi)
		return false;
	nl = strchr(semi, '\n');
	if (nl)
		*nl = 0;
	r->msg = semi + 1;
	while (p < semi && field < 2) {
		p = strchr(p, ',');
		if (!p)
			return false;
		p++;
		field++;
	}
	r->ts_us = strtoull(p, NULL, 10);
	return true;
}

/* "... (elapsed 1.234 seconds)" -> ms, or -1 */
static long elapsed_ms(const char *msg)
{
	const char *e = strstr(msg, "(elapsed ");
	long s, ms;

	if (!e || sscanf(e, "(elapsed %ld.%ld", &s, &ms) != 2)
		return -1;
	return s * 1000 + ms;
}

static int cmd_pm(void)
{
	unsigned long long t_fz_start = 0, t_fz_end = 0, t_restart = 0;
	unsigned long long t_end = 0;
	long fz = -1, kt = -1;
	char buf[8192];
	double t0, t1;
	int kw, kr, r;
	bool started = false;

	kw = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	kr = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kw < 0 || kr < 0)
		die("/dev/kmsg");
	lseek(kr, 0, SEEK_END);

	kmsg(kw, "freezebench: pm start\n");
	t0 = now_ms();
	r = write_file("/sys/power/state", "disk");
	t1 = now_ms();
	kmsg(kw, "freezebench: pm end\n");
	if (r < 0) {
		fprintf(stderr, "freezebench: echo disk > /sys/power/state: %s\n",
			strerror(-r));
		return 1;
	}

	for (;;) {
		struct rec rec;
		ssize_t n = read(kr, buf, sizeof(buf) - 1);

		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten records */
		if (n <= 0)
			break;
		buf[n] = 0;
		if (!parse_rec(buf, &rec))
			continue;
		if (!strcmp(rec.msg, "freezebench: pm start"))
			started = true;
		if (!started)
			continue;
		if (strstr(rec.msg, "Freezing user space processes completed")) {
			fz = elapsed_ms(rec.msg);
			t_fz_end = rec.ts_us;
		} else if (strstr(rec.msg, "Freezing user space processes")) {
			t_fz_start = rec.ts_us;
		} else if (strstr(rec.msg, "Freezing remaining freezable tasks completed")) {
			kt = elapsed_ms(rec.msg);
		} else if (strstr(rec.msg, "Restarting tasks")) {
			t_restart = rec.ts_us;
		} else if (!strcmp(rec.msg, "freezebench: pm end")) {
			t_end = rec.ts_us;
			break;
		}
	}
	if (fz < 0 || !t_fz_start || !t_fz_end || !t_restart || !t_end) {
		fprintf(stderr, "freezebench: kernel log lacks the freezer records "
			"(user %ld, start %llu, end %llu, restart %llu, marker %llu)\n",
			fz, t_fz_start, t_fz_end, t_restart, t_end);
		return 1;
	}
	printf("freeze_ms=%ld freeze_ts_ms=%.3f kthreads_ms=%ld thaw_ms=%.3f total_ms=%.3f\n",
	       fz, (t_fz_end - t_fz_start) / 1e3, kt, (t_end - t_restart) / 1e3,
	       t1 - t0);
	return 0;
}

static void __attribute__((noreturn)) usage(void)
{
	fprintf(stderr, "usage: freezebench spawn N [--busy B] [--cgroup DIR]\n"
			"       freezebench cgroup DIR\n"
			"       freezebench pm\n");
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "spawn")) {
		const char *cg = NULL;
		int busy = 0, i;

		if (argc < 3)
			usage();
		for (i = 3; i < argc; i++) {
			if (!strcmp(argv[i], "--busy") && i + 1 < argc)
				busy = atoi(argv[++i]);
			else if (!strcmp(argv[i], "--cgroup") && i + 1 < argc)
				cg = argv[++i];
			else
				usage();
		}
		return cmd_spawn(atoi(argv[2]), busy, cg);
	}
	if (!strcmp(argv[1], "cgroup") && argc == 3)
		return cmd_cgroup(argv[2]);
	if (!strcmp(argv[1], "pm") && argc == 2)
		return cmd_pm();
	usage();
}
