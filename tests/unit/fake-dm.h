/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The fake libdevmapper of the unit tests (fake-dm.c): test-dm.c and test-hibernation.c. */
#ifndef FAKE_DM_H
#define FAKE_DM_H

#include <stdbool.h>
#include <stdint.h>

#include "dm.h"


#define FAKE_MAJOR 253
#define FAKE_DEVS 16

struct fake_dev {
	bool exists;
	char name[HIB_DM_NAME_MAX];
	char uuid[HIB_DM_UUID_MAX];
	uint32_t minor;
	struct hib_dm_table live;
	struct hib_dm_table inactive;
	bool has_inactive;
	bool suspended;
	unsigned int merge_polls;	/* status calls while on snapshot-merge */
};

struct fake {
	struct fake_dev d[FAKE_DEVS];
	uint32_t next_minor;
	int frozen[64];			/* by fd */
	unsigned int calls;
	unsigned int fail_at;		/* 1-based call number to fail once; 0 never */
	bool failed;
	bool overflow;			/* status of a snapshot says Invalid */
	uint8_t content;		/* what read_dev returns */
	uint64_t dev_sectors;		/* what read_dev says the size is (0: the table's) */
	char failed_op[32];
};


/* The one fake world; fake_be and fake_be_cow work on it. */
extern struct fake F;
extern const struct hib_dm_backend fake_be;
/* fake_be whose COW probe takes any writable file (8:48, 128 MiB). */
extern const struct hib_dm_backend fake_be_cow;

struct fake_dev *fake_find(struct fake *f, const char *name, const char *uuid);
struct fake_dev *fake_add(struct fake *f, const char *name, const char *uuid,
			  const struct hib_dm_table *t);
bool fake_in_use(struct fake *f, uint32_t minor);

#endif /* FAKE_DM_H */
