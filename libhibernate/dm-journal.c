// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The merge journal of the COW store (format and states in dm-journal.h).
 */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "dm-journal.h"
#include "macro.h"

static const char magic[8] = { 'H', 'I', 'B', 'D', 'M', 'J', '1', '\n' };

#define HDR_BYTES	24u
#define REC_BYTES	(2 * HIB_DM_JOURNAL_STR_MAX + 3 * 8 + 16)

const char *hib_dm_journal_state_name(uint32_t state)
{
	switch (state) {
	case HIB_DM_J_NONE:
		return "none";
	case HIB_DM_J_PROTECTED:
		return "protected";
	case HIB_DM_J_MERGING:
		return "merging";
	case HIB_DM_J_HIBERNATED:
		return "hibernated";
	}
	return "?";
}

static void put32(uint8_t **p, uint32_t v)
{
	v = htole32(v);
	memcpy(*p, &v, 4);
	*p += 4;
}

static void put64(uint8_t **p, uint64_t v)
{
	v = htole64(v);
	memcpy(*p, &v, 8);
	*p += 8;
}

static uint32_t get32(const uint8_t **p)
{
	uint32_t v;

	memcpy(&v, *p, 4);
	*p += 4;
	return le32toh(v);
}

static uint64_t get64(const uint8_t **p)
{
	uint64_t v;

	memcpy(&v, *p, 8);
	*p += 8;
	return le64toh(v);
}

void hib_dm_journal_encode(const struct hib_dm_journal *j, void *buf)
{
	uint8_t *p = buf;
	uint32_t i, n;

	memset(buf, 0, HIB_DM_JOURNAL_BYTES);
	if (!j)
		return;
	n = j->n > HIB_DM_JOURNAL_MAX ? HIB_DM_JOURNAL_MAX : j->n;
	memcpy(p, magic, sizeof(magic));
	p += sizeof(magic);
	put32(&p, HIB_DM_JOURNAL_VERSION);
	put32(&p, j->state);
	put32(&p, j->chunk);
	put32(&p, n);
	for (i = 0; i < n; i++) {
		const struct hib_dm_journal_rec *r = &j->o[i];

		memcpy(p, r->name, HIB_DM_JOURNAL_STR_MAX);
		p[HIB_DM_JOURNAL_STR_MAX - 1] = 0;
		p += HIB_DM_JOURNAL_STR_MAX;
		memcpy(p, r->uuid, HIB_DM_JOURNAL_STR_MAX);
		p[HIB_DM_JOURNAL_STR_MAX - 1] = 0;
		p += HIB_DM_JOURNAL_STR_MAX;
		put64(&p, r->sectors);
		put64(&p, r->cow_offset);
		put64(&p, r->cow_sectors);
		memcpy(p, r->sb_hash, 16);
		p += 16;
	}
	put64(&p, XXH64(buf, (size_t)(p - (uint8_t *)buf), 0));
}

static int bounded_str(const uint8_t *p)
{
	return memchr(p, 0, HIB_DM_JOURNAL_STR_MAX) ? 0 : -EBADMSG;
}

int hib_dm_journal_decode(const void *buf, size_t len, struct hib_dm_journal *ret)
{
	const uint8_t *p = buf, *start = buf;
	struct hib_dm_journal j;
	uint32_t version, i;

	if (!buf || !ret)
		return -EINVAL;
	if (len < sizeof(magic) || memcmp(p, magic, sizeof(magic)) != 0)
		return -ENODATA;
	if (len < HDR_BYTES + 8)
		return -EBADMSG;
	memset(&j, 0, sizeof(j));
	p += sizeof(magic);
	version = get32(&p);
	j.state = get32(&p);
	j.chunk = get32(&p);
	j.n = get32(&p);
	if (version != HIB_DM_JOURNAL_VERSION || j.n == 0 || j.n > HIB_DM_JOURNAL_MAX)
		return -EBADMSG;
	if (len < HDR_BYTES + (size_t)j.n * REC_BYTES + 8)
		return -EBADMSG;
	for (i = 0; i < j.n; i++) {
		struct hib_dm_journal_rec *r = &j.o[i];

		if (bounded_str(p) < 0 || bounded_str(p + HIB_DM_JOURNAL_STR_MAX) < 0)
			return -EBADMSG;
		memcpy(r->name, p, HIB_DM_JOURNAL_STR_MAX);
		p += HIB_DM_JOURNAL_STR_MAX;
		memcpy(r->uuid, p, HIB_DM_JOURNAL_STR_MAX);
		p += HIB_DM_JOURNAL_STR_MAX;
		r->sectors = get64(&p);
		r->cow_offset = get64(&p);
		r->cow_sectors = get64(&p);
		memcpy(r->sb_hash, p, 16);
		p += 16;
	}
	if (get64(&p) != XXH64(buf, (size_t)(p - 8 - start), 0))
		return -EBADMSG;
	/* Checked after the checksum, so a damaged block is reported as such. */
	if (j.state < HIB_DM_J_PROTECTED || j.state > HIB_DM_J_HIBERNATED)
		return -EBADMSG;
	if (j.chunk < 8 || (j.chunk & (j.chunk - 1)))
		return -EBADMSG;
	for (i = 0; i < j.n; i++) {
		const struct hib_dm_journal_rec *r = &j.o[i];

		if (!r->name[0] || r->sectors == 0 || r->cow_sectors == 0 ||
		    r->cow_offset < HIB_DM_JOURNAL_SECTORS ||
		    r->cow_offset + r->cow_sectors < r->cow_offset)
			return -EBADMSG;
	}
	*ret = j;
	return 0;
}

int hib_dm_journal_read(int fd, void *buf, struct hib_dm_journal *ret)
{
	ssize_t n;

	if (fd < 0 || !buf || !ret)
		return -EINVAL;
	n = pread(fd, buf, HIB_DM_JOURNAL_BYTES, 0);
	if (n < 0)
		return negative_errno();
	return hib_dm_journal_decode(buf, (size_t)n, ret);
}

int hib_dm_journal_write(int fd, void *buf, const struct hib_dm_journal *j)
{
	ssize_t n;

	if (fd < 0 || !buf)
		return -EINVAL;
	hib_dm_journal_encode(j, buf);
	n = pwrite(fd, buf, HIB_DM_JOURNAL_BYTES, 0);
	if (n < 0)
		return negative_errno();
	if ((size_t)n != HIB_DM_JOURNAL_BYTES)
		return -ENOSPC;
	if (fdatasync(fd) < 0)
		return negative_errno();
	return 0;
}
