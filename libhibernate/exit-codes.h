/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The exit statuses of hibernatectl, which are also the codes of hibernated's replies
 * (hibernatectl exits with the daemon's code): one list for both.  Documented in
 * hibernatectl --help and hibernatectl(8).
 */
#ifndef LIBHIBERNATE_EXIT_CODES_H
#define LIBHIBERNATE_EXIT_CODES_H

enum {
	HIB_EXIT_OK = 0,
	HIB_EXIT_ERROR = 1,
	HIB_EXIT_USAGE = 2,
	HIB_EXIT_NOSYS = 3,
	HIB_EXIT_PERM = 4,
	HIB_EXIT_BUSY = 5,
	HIB_EXIT_NOIMAGE = 6,	/* resume: no valid image, the boot goes on */
	HIB_EXIT_BADIMAGE = 7,	/* the image is corrupt or from another kernel */
};

#endif
