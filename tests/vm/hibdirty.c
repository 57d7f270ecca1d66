// SPDX-License-Identifier: GPL-2.0-only
/*
 * hibdirty FILE KIB: dirty KIB KiB of FILE through a shared mapping and keep them dirty
 * (the fd is closed first, so no flush on close writes them back), print "ready SUM", and
 * sleep until killed.  On a FUSE mount only the daemon writes them back
 * (tests/vm/scenarios/fuse.sh).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	size_t len, i;
	uint32_t sum = 0;
	unsigned char *p;
	int fd;

	if (argc != 3 || atol(argv[2]) <= 0) {
		fprintf(stderr, "usage: hibdirty FILE KIB\n");
		return 2;
	}
	len = (size_t)atol(argv[2]) * 1024;
	fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, (off_t)len) < 0) {
		perror(argv[1]);
		return 1;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	close(fd);
	for (i = 0; i < len; i++) {
		p[i] = (unsigned char)(i * 7 + i / 4096);
		sum = sum * 31 + p[i];
	}
	printf("ready %08x\n", sum);
	fflush(stdout);
	for (;;)
		pause();
}
