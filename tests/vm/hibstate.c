// SPDX-License-Identifier: GPL-2.0-only
/*
 * hibstate: a workload whose whole state can be compared before and after a
 * hibernation cycle.
 *
 *   hibstate start --dir DIR [--mib N] [--seed S] [--extras] [--odirect DEV]
 *	Starts a daemon that fills N MiB (default 64) with seeded pseudo-random
 *	data, keeps open a file, /dev/null, a pipe pair to a child that echoes
 *	what it reads, and an interval timer; writes DIR/pid once ready.
 *   hibstate check --dir DIR
 *	Asks the daemon (SIGUSR1) to recompute its memory digest, round-trip a
 *	byte through the child and read its timer, and prints the report:
 *	pid=... digest=... expected=... echo=ok|fail ticks=... child=...
 *
 * SIGUSR2 makes the daemon overwrite its memory (every word inverted) and then
 * create DIR/scribbled: a helper thawed by policy that writes its memory after the
 * snapshot (hibernatectl's HIBERNATE_TEST_POKE hook); its digest after resume must be
 * the expected one again, the snapshot-time contents.
 *
 * The scenario compares the report, /proc/PID/maps and the fd set before and
 * after.  Exit status of check: 0 if the report arrived and says ok.
 */
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hibcommon.h"

static volatile sig_atomic_t check_requested;
static volatile sig_atomic_t scribble_requested;
static volatile sig_atomic_t ticks;

static void on_usr1(int sig)
{
	check_requested = 1;
}

static void on_usr2(int sig)
{
	scribble_requested = 1;
}

static void on_alarm(int sig)
{
	ticks++;
}

static void echo_child(int in, int out)
{
	char c;

	for (;;) {
		ssize_t n = read(in, &c, 1);

		if (n == 1) {
			if (write(out, &c, 1) != 1)
				_exit(1);
		} else if (n == 0 || errno != EINTR) {
			_exit(0);
		}
	}
}

/*
 * --extras: 8 MiB each of memory the kernel must copy rather than stream
 * (shared memory, pages shared copy-on-write with a second child, a THP-backed
 * region: madvise(MADV_HUGEPAGE), 2 MiB aligned) and of mlocked private memory,
 * all seeded and part of the digest.
 *
 * --odirect DEV: a thread that keeps reading the first 4 MiB of DEV with O_DIRECT
 * into a buffer (after writing a seeded pattern there), so that a read is in
 * flight when the tasks are frozen; the buffer is part of the digest.
 */
#define EXTRA_WORDS (8u << 20) / sizeof(uint64_t)
#define ODIRECT_BYTES (4u << 20)

struct extras {
	uint64_t *shm, *cow, *locked, *thp;
	uint64_t *odirect;		/* ODIRECT_BYTES, or NULL */
};

static uint64_t *thp_region(uint64_t *s)
{
	size_t len = EXTRA_WORDS * sizeof(uint64_t), huge = 2u << 20;
	uint8_t *p = mmap(NULL, len + huge, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t *q;

	if (p == MAP_FAILED)
		return NULL;
	q = (uint64_t *)(((uintptr_t)p + huge - 1) & ~(uintptr_t)(huge - 1));
	madvise(q, len, MADV_HUGEPAGE);	/* EINVAL without THP: then plain pages */
	for (size_t i = 0; i < EXTRA_WORDS; i++)
		q[i] = xorshift(s);
	return q;
}

static int odirect_fd = -1;

static void *odirect_reader(void *arg)
{
	struct extras *x = arg;

	for (;;)
		if (pread(odirect_fd, x->odirect, ODIRECT_BYTES, 0) != (ssize_t)ODIRECT_BYTES)
			usleep(1000);
	return NULL;
}

static int start_odirect(struct extras *x, const char *dev, uint64_t seed)
{
	uint64_t s = seed * 17 + 3;
	pthread_t t;
	void *buf;

	odirect_fd = open(dev, O_RDWR | O_DIRECT | O_CLOEXEC);
	if (odirect_fd < 0 || posix_memalign(&buf, 4096, ODIRECT_BYTES))
		return -1;
	x->odirect = buf;
	for (size_t i = 0; i < ODIRECT_BYTES / sizeof(uint64_t); i++)
		x->odirect[i] = xorshift(&s);
	if (pwrite(odirect_fd, buf, ODIRECT_BYTES, 0) != (ssize_t)ODIRECT_BYTES ||
	    fdatasync(odirect_fd))
		return -1;
	return pthread_create(&t, NULL, odirect_reader, x) ? -1 : 0;
}

static uint64_t *fill_region(int flags, uint64_t *s)
{
	uint64_t *p = mmap(NULL, EXTRA_WORDS * sizeof(uint64_t), PROT_READ | PROT_WRITE,
			   flags | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	for (size_t i = 0; i < EXTRA_WORDS; i++)
		p[i] = xorshift(s);
	return p;
}

static int make_extras(struct extras *x, uint64_t seed)
{
	uint64_t s = seed * 31 + 7;
	pid_t pid;

	x->shm = fill_region(MAP_SHARED, &s);
	x->cow = fill_region(MAP_PRIVATE, &s);
	x->locked = fill_region(MAP_PRIVATE | MAP_LOCKED, &s);
	x->thp = thp_region(&s);
	if (!x->shm || !x->cow || !x->locked || !x->thp)
		return -1;
	/* A child that shares x->cow (and x->shm) and just waits. */
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		for (;;)
			pause();
	}
	return 0;
}

static uint64_t all_digest(const uint64_t *mem, size_t words, const struct extras *x)
{
	uint64_t h = digest(mem, words);

	if (x->shm) {
		h ^= digest(x->shm, EXTRA_WORDS) * 3;
		h ^= digest(x->cow, EXTRA_WORDS) * 5;
		h ^= digest(x->locked, EXTRA_WORDS) * 7;
		h ^= digest(x->thp, EXTRA_WORDS) * 11;
	}
	if (x->odirect)
		h ^= digest(x->odirect, ODIRECT_BYTES / sizeof(uint64_t)) * 13;
	return h;
}

static int daemon_main(const char *dir, size_t mib, uint64_t seed, bool extras,
		       const char *odirect_dev)
{
	struct extras x = {};
	int to_child[2], from_child[2], keep_fd, null_fd;
	size_t words = mib * 1024 * 1024 / sizeof(uint64_t);
	struct itimerval it = { { 0, 100000 }, { 0, 100000 } };
	uint64_t *mem, s = seed ? seed : 1, expected;
	char buf[512];
	pid_t child;

	snprintf(buf, sizeof(buf), "%s/open-file", dir);
	keep_fd = open(buf, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (keep_fd < 0 || null_fd < 0 || write(keep_fd, "hibstate\n", 9) != 9)
		return 1;
	if (pipe(to_child) || pipe(from_child))
		return 1;
	child = fork();
	if (child < 0)
		return 1;
	if (child == 0) {
		close(to_child[1]);
		close(from_child[0]);
		echo_child(to_child[0], from_child[1]);
	}
	close(to_child[0]);
	close(from_child[1]);

	if (extras && make_extras(&x, seed))
		return 1;
	/* After the forks: the reader thread lives in the daemon only. */
	if (odirect_dev && start_odirect(&x, odirect_dev, seed))
		return 1;

	/*
	 * Filled after the forks, so the memory is the daemon's alone (a fork
	 * after it would share every page copy-on-write with the child).
	 */
	mem = mmap(NULL, words * sizeof(uint64_t), PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return 1;
	for (size_t i = 0; i < words; i++)
		mem[i] = xorshift(&s);
	expected = all_digest(mem, words, &x);

	signal(SIGUSR1, on_usr1);
	signal(SIGUSR2, on_usr2);
	signal(SIGALRM, on_alarm);
	if (setitimer(ITIMER_REAL, &it, NULL))
		return 1;

	snprintf(buf, sizeof(buf), "%d\n", getpid());
	if (write_file(dir, "pid", buf))
		return 1;

	for (;;) {
		char c = 'x', r = 0;
		int echo_ok;
		long t0;

		pause();
		if (scribble_requested) {
			scribble_requested = 0;
			for (size_t i = 0; i < words; i++)
				mem[i] = ~mem[i];
			write_file(dir, "scribbled", "1\n");
		}
		if (!check_requested)
			continue;
		check_requested = 0;

		echo_ok = write(to_child[1], &c, 1) == 1;
		while (echo_ok) {
			ssize_t n = read(from_child[0], &r, 1);

			if (n == 1 || (n < 0 && errno != EINTR))
				break;
		}
		echo_ok = echo_ok && r == 'x';
		t0 = ticks;
		snprintf(buf, sizeof(buf),
			 "pid=%d digest=%016llx expected=%016llx echo=%s ticks=%ld child=%d\n",
			 getpid(), (unsigned long long)all_digest(mem, words, &x),
			 (unsigned long long)expected, echo_ok ? "ok" : "fail",
			 t0, child);
		write_file(dir, "report", buf);
	}
}

static int cmd_check(const char *dir)
{
	char path[4096], buf[512];
	struct stat st, before;
	FILE *f;
	int pid;

	snprintf(path, sizeof(path), "%s/pid", dir);
	f = fopen(path, "re");
	if (!f || fscanf(f, "%d", &pid) != 1) {
		fprintf(stderr, "hibstate: no daemon pid in %s\n", path);
		return 2;
	}
	fclose(f);

	snprintf(path, sizeof(path), "%s/report", dir);
	if (stat(path, &before))
		memset(&before, 0, sizeof(before));
	if (kill(pid, SIGUSR1)) {
		fprintf(stderr, "hibstate: daemon %d: %s\n", pid, strerror(errno));
		return 1;
	}
	for (int i = 0; i < 300; i++) {
		usleep(20000);
		if (!stat(path, &st) && (st.st_ino != before.st_ino ||
					 st.st_mtim.tv_nsec != before.st_mtim.tv_nsec))
			break;
	}
	f = fopen(path, "re");
	if (!f || !fgets(buf, sizeof(buf), f)) {
		fprintf(stderr, "hibstate: daemon %d did not report\n", pid);
		return 1;
	}
	fclose(f);
	fputs(buf, stdout);
	{
		char d[32], e[32];

		if (sscanf(buf, "pid=%*d digest=%31s expected=%31s", d, e) != 2 ||
		    strcmp(d, e) || !strstr(buf, "echo=ok"))
			return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "mib", required_argument, NULL, 'm' },
		{ "seed", required_argument, NULL, 's' },
		{ "extras", no_argument, NULL, 'x' },
		{ "odirect", required_argument, NULL, 'o' },
		{}
	};
	const char *dir = NULL;
	uint64_t seed = 42;
	size_t mib = 64;
	bool extras = false;
	const char *odirect_dev = NULL;
	int c;

	if (argc < 2) {
		fprintf(stderr, "usage: hibstate start|check --dir DIR [--mib N] [--seed S]\n");
		return 2;
	}
	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'm':
			mib = strtoul(optarg, NULL, 0);
			break;
		case 'x':
			extras = true;
			break;
		case 'o':
			odirect_dev = optarg;
			break;
		case 's':
			seed = strtoull(optarg, NULL, 0);
			break;
		default:
			return 2;
		}
	}
	if (!dir) {
		fprintf(stderr, "hibstate: --dir is required\n");
		return 2;
	}

	if (!strcmp(argv[1], "check"))
		return cmd_check(dir);
	if (strcmp(argv[1], "start")) {
		fprintf(stderr, "hibstate: unknown command %s\n", argv[1]);
		return 2;
	}

	/* Daemonize; the parent returns once DIR/pid exists. */
	{
		char path[4096];
		pid_t pid;

		snprintf(path, sizeof(path), "%s/pid", dir);
		unlink(path);
		pid = fork();
		if (pid < 0)
			return 1;
		if (pid == 0) {
			int null = open("/dev/null", O_RDWR);

			/* Let go of the caller's stdio (a $(...) would wait for it). */
			if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
				_exit(1);
			if (null > 2)
				close(null);
			setsid();
			return daemon_main(dir, mib, seed, extras, odirect_dev);
		}
		for (int i = 0; i < 3000; i++) {
			if (!access(path, F_OK))
				return 0;
			if (waitpid(pid, NULL, WNOHANG) == pid)
				break;
			usleep(10000);
		}
		fprintf(stderr, "hibstate: daemon did not start\n");
		return 1;
	}
}
