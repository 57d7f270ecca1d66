/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libhibernate, internal: what dm.c (the sequencing), dm-recover.c (recovery at activation)
 * and dm-libdm.c (the libdevmapper backend) share.  Not for the library's users.
 */
#ifndef LIBHIBERNATE_DM_INTERNAL_H
#define LIBHIBERNATE_DM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dm.h"

static inline void copy_str(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = 0;
}

static inline uint64_t table_sectors(const struct hib_dm_table *t)
{
	uint64_t end = 0;
	unsigned int i;

	for (i = 0; i < t->n; i++)
		if (t->t[i].start + t->t[i].length > end)
			end = t->t[i].start + t->t[i].length;
	return end;
}

/* ---- dm.c, for dm-recover.c ----------------------------------------------------------------- */

/* @t as one target of @len sectors: @type with the params @fmt. */
void hib_dm_one_target(struct hib_dm_table *t, uint64_t len, const char *type, const char *fmt,
		       ...) __attribute__((format(printf, 4, 5)));
/* Write what the journal must say now: @state and every origin of @set; NONE clears it. */
int hib_dm_set_journal(struct hib_dm_set *set, uint32_t state);
/* Parse a snapshot status: "A/T M" (0), or Invalid / Overflow / Merge failed (-ENOSPC / -EIO). */
int hib_dm_parse_snap_status(const char *s, uint64_t *alloc, uint64_t *total, uint64_t *meta);
/* Remove X-real and X-cow where they exist; a failure is logged and recorded in *first. */
void hib_dm_remove_helpers(struct hib_dm_set *set, struct hib_dm_origin *o, int *first);
/* Merge X-cow back into the origin and wait; 0 once X runs its own table again. */
int hib_dm_merge_one(struct hib_dm_set *set, struct hib_dm_origin *o);

#endif /* LIBHIBERNATE_DM_INTERNAL_H */
