// SPDX-License-Identifier: GPL-2.0-only
/*
 * hibrobust: a multi-threaded workload holding a robust mutex, the process the OOM killer must
 * not kill while a hibernation image streams its pages (issue 14, defect 1).
 *
 *   hibrobust start --dir DIR [--mib N]
 *	Starts a daemon: N MiB (default 16) of seeded memory, a robust mutex locked by a second
 *	thread that then waits forever.  Writes DIR/pid once the lock is held.
 *   hibrobust check --dir DIR
 *	Asks the daemon (SIGUSR1) for its report and prints it:
 *	pid=... holder=TID lock=0x... trylock=EBUSY join=waits digest=ok
 *	Exit status 0 only if the mutex word still names the holder (no FUTEX_OWNER_DIED),
 *	pthread_mutex_trylock() says EBUSY (not EOWNERDEAD), pthread_timedjoin_np() of the
 *	holder times out (its tid word, which the kernel clears when the thread exits, is
 *	intact: the thread is alive) and the memory digest is the seeded one.
 *
 * If the process were killed after the snapshot while its pages are still being streamed,
 * the exiting holder would write FUTEX_OWNER_DIED into the mutex and clear its tid word in
 * the image's copy of those pages; after resume the live thread would look dead.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "hibcommon.h"

static volatile sig_atomic_t report_requested;
static pthread_mutex_t *mutex;
static volatile pid_t holder_tid;

static void on_usr1(int sig)
{
	(void)sig;
	report_requested = 1;
}

static void fill(uint64_t *p, size_t words, uint64_t seed)
{
	uint64_t s = seed;

	for (size_t i = 0; i < words; i++)
		p[i] = xorshift(&s);
}

static void *holder(void *arg)
{
	sigset_t all;

	(void)arg;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	if (pthread_mutex_lock(mutex))
		_exit(3);
	holder_tid = (pid_t)syscall(SYS_gettid);
	for (;;)
		pause();
	return NULL;
}

static const char *errname(int e)
{
	switch (e) {
	case 0: return "0";
	case EBUSY: return "EBUSY";
	case EOWNERDEAD: return "EOWNERDEAD";
	case ETIMEDOUT: return "ETIMEDOUT";
	default: return strerror(e);
	}
}

static int daemon_main(const char *dir, size_t mib)
{
	size_t words = (mib << 20) / sizeof(uint64_t);
	uint64_t *mem = malloc(words * sizeof(uint64_t)), seeded;
	pthread_mutexattr_t attr;
	char buf[512];
	pthread_t t;

	mutex = calloc(1, sizeof(*mutex));
	if (!mem || !mutex)
		return 1;
	fill(mem, words, 1234);
	seeded = digest(mem, words);
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	if (pthread_mutex_init(mutex, &attr) || pthread_create(&t, NULL, holder, NULL))
		return 1;
	while (!holder_tid)
		usleep(1000);
	signal(SIGUSR1, on_usr1);
	snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (write_file(dir, "pid", buf))
		return 1;

	for (;;) {
		struct timespec ts;
		unsigned int word;
		bool ok, same;
		int tl, jn;

		while (!report_requested)
			pause();
		report_requested = 0;
		/* glibc's pthread_mutex_t starts with the futex word: TID | WAITERS | OWNER_DIED. */
		memcpy(&word, mutex, sizeof(word));
		tl = pthread_mutex_trylock(mutex);
		if (tl == EOWNERDEAD || tl == 0)
			pthread_mutex_unlock(mutex);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		jn = pthread_timedjoin_np(t, NULL, &ts);
		same = digest(mem, words) == seeded;
		ok = (word & FUTEX_TID_MASK) == (unsigned int)holder_tid &&
		     !(word & FUTEX_OWNER_DIED) && tl == EBUSY && jn == ETIMEDOUT && same;
		snprintf(buf, sizeof(buf), "pid=%d holder=%d lock=0x%x%s trylock=%s join=%s "
			 "digest=%s %s\n", (int)getpid(), (int)holder_tid, word,
			 word & FUTEX_OWNER_DIED ? " (OWNER_DIED)" : "", errname(tl),
			 jn == ETIMEDOUT ? "waits" : errname(jn),
			 same ? "ok" : "changed",
			 ok ? "ok" : "FAIL");
		write_file(dir, "report", buf);
		if (jn != ETIMEDOUT)	/* the thread is gone: nothing left to report on */
			return 2;
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "mib", required_argument, NULL, 'm' },
		{}
	};
	const char *dir = NULL;
	size_t mib = 16;
	char path[4096], line[512];
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'd')
			dir = optarg;
		else if (c == 'm')
			mib = strtoul(optarg, NULL, 10);
		else
			return 2;
	}
	if (optind != argc - 1 || !dir || !mib) {
		fprintf(stderr, "usage: hibrobust start|check --dir DIR [--mib N]\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/pid", dir);
	if (!strcmp(argv[optind], "start")) {
		pid_t pid;

		unlink(path);
		pid = fork();
		if (pid < 0)
			return 1;
		if (pid == 0) {
			/* Off the caller's pipes: a shell's $(hibrobust start) must not wait for us. */
			int null = open("/dev/null", O_RDWR | O_CLOEXEC);

			if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
				_exit(1);
			setsid();
			_exit(daemon_main(dir, mib));
		}
		for (int i = 0; i < 3000 && access(path, F_OK); i++)
			usleep(10000);
		if (access(path, F_OK)) {
			fprintf(stderr, "hibrobust: the daemon did not start\n");
			return 1;
		}
		return 0;
	}
	if (!strcmp(argv[optind], "check")) {
		FILE *f = fopen(path, "re");
		char rpath[4096];
		int pid = 0;

		if (!f || fscanf(f, "%d", &pid) != 1) {
			fprintf(stderr, "hibrobust: no daemon pid in %s\n", path);
			return 1;
		}
		fclose(f);
		snprintf(rpath, sizeof(rpath), "%s/report", dir);
		unlink(rpath);
		if (kill(pid, SIGUSR1)) {
			fprintf(stderr, "hibrobust: kill %d: %s\n", pid, strerror(errno));
			return 1;
		}
		for (int i = 0; i < 1000 && access(rpath, F_OK); i++)
			usleep(10000);
		f = fopen(rpath, "re");
		if (!f || !fgets(line, sizeof(line), f)) {
			fprintf(stderr, "hibrobust: no report from %d\n", pid);
			return 1;
		}
		fclose(f);
		fputs(line, stdout);
		return strstr(line, " ok\n") ? 0 : 1;
	}
	fprintf(stderr, "hibrobust: unknown command %s\n", argv[optind]);
	return 2;
}
