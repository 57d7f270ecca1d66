// SPDX-License-Identifier: GPL-2.0-only
/*
 * hibdirty FILE KIB [--lock]: dirty KIB KiB of FILE through a shared mapping and keep them
 * dirty, print "ready SUM lockid=MAJ:MIN:INO" (the file as /proc/locks names it), and sleep
 * until killed.  Without --lock the fd is closed first,
 * so no flush on close writes them back; on a FUSE mount only the daemon writes them back
 * (tests/vm/scenarios/fuse.sh).  With --lock the whole file is write-locked with fcntl
 * (F_SETLK, a POSIX lock) before the pages are dirtied, and the fd stays open (closing it
 * would drop the lock); on NFS the lock is held on the server
 * (tests/vm/scenarios/nfs.sh).  Anything that opens the file on NFS may write the dirty pages
 * back (the client revalidates its cache at open), so look the lock up in /proc/locks while
 * they must stay dirty.
 *
 * hibdirty --sum FILE: print the SUM of FILE's contents (the same sum "ready" prints).
 * hibdirty --getlk FILE: ask with F_GETLK who holds a lock conflicting with a write lock on
 * the whole file, from a read-only fd (whose close flushes nothing): print
 * "locked type=W|R pid=PID" (PID -1: an OFD lock) or "unlocked".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static uint32_t sum_bytes(uint32_t sum, const unsigned char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		sum = sum * 31 + p[i];
	return sum;
}

static int cmd_sum(const char *path)
{
	unsigned char buf[65536];
	uint32_t sum = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		sum = sum_bytes(sum, buf, (size_t)n);
	if (n < 0) {
		perror(path);
		close(fd);
		return 1;
	}
	close(fd);
	printf("%08x\n", sum);
	return 0;
}

static int cmd_getlk(const char *path)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	if (fcntl(fd, F_GETLK, &fl) < 0) {
		fprintf(stderr, "F_GETLK %s: %s\n", path, strerror(errno));
		close(fd);
		return 1;
	}
	close(fd);
	if (fl.l_type == F_UNLCK)
		printf("unlocked\n");
	else
		printf("locked type=%s pid=%d\n", fl.l_type == F_WRLCK ? "W" : "R",
		       (int)fl.l_pid);
	return 0;
}

int main(int argc, char **argv)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int lock = argc == 4 && strcmp(argv[3], "--lock") == 0;
	size_t len, i;
	unsigned char *p;
	struct stat st;
	int fd;

	if (argc == 3 && strcmp(argv[1], "--sum") == 0)
		return cmd_sum(argv[2]);
	if (argc == 3 && strcmp(argv[1], "--getlk") == 0)
		return cmd_getlk(argv[2]);
	if ((argc != 3 && !lock) || atol(argv[2]) <= 0) {
		fprintf(stderr, "usage: hibdirty FILE KIB [--lock] | --sum FILE | --getlk FILE\n");
		return 2;
	}
	len = (size_t)atol(argv[2]) * 1024;
	fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, (off_t)len) < 0 || fstat(fd, &st) < 0) {
		perror(argv[1]);
		return 1;
	}
	if (lock && fcntl(fd, F_SETLK, &fl) < 0) {
		fprintf(stderr, "F_SETLK %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	if (!lock)
		close(fd);
	for (i = 0; i < len; i++)
		p[i] = (unsigned char)(i * 7 + i / 4096);
	printf("ready %08x lockid=%02x:%02x:%lu\n", sum_bytes(0, p, len), major(st.st_dev),
	       minor(st.st_dev), (unsigned long)st.st_ino);
	fflush(stdout);
	for (;;)
		pause();
}
