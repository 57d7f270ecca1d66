// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The image container format (layout in image-format.h): the encoding of the header block and
 * of the records, the worst-case image size, and the identity of the running system that an
 * image records and is checked against.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "image-internal.h"
#include "log.h"
#include "macro.h"
#include "util.h"

/* ---- encoding ------------------------------------------------------------------------------ */

uint64_t hib_image_header_csum(const uint8_t *block)
{
	return header_csum(block);
}

void hib_image_header_encode(const struct hib_image_info *info, uint8_t *block)
{
	memset(block, 0, HIB_IMAGE_BLOCK);
	memcpy(block + H_MAGIC, HIB_IMAGE_MAGIC, 8);
	put32(block + H_VERSION, info->version);
	put32(block + H_PAGE_SIZE, info->page_size);
	put32(block + H_CHUNK_SIZE, info->chunk_size);
	put32(block + H_CODEC, info->codec);
	put32(block + H_CIPHER, info->cipher);
	put64(block + H_PAGES, info->image_pages);
	put64(block + H_RAW_BYTES, info->raw_bytes);
	put64(block + H_CREATED, info->created);
	put32(block + H_BUILD_ID_LEN, MIN(info->build_id_len, (uint32_t)HIB_BUILD_ID_MAX));
	put_str(block + H_RELEASE, info->kernel_release, HIB_IMAGE_STR_MAX);
	put_str(block + H_KVERSION, info->kernel_version, HIB_IMAGE_STR_MAX);
	put_str(block + H_HOST_ID, info->host_id, HIB_IMAGE_STR_MAX);
	memcpy(block + H_BUILD_ID, info->build_id, HIB_BUILD_ID_MAX);
	put64(block + H_CSUM, header_csum(block));
	if (info->n_origins) {
		uint32_t i, n = MIN(info->n_origins, (uint32_t)HIB_IMAGE_ORIGINS_MAX);

		put32(block + O_COUNT, n);
		for (i = 0; i < n; i++) {
			uint8_t *rec = block + O_RECS + i * O_REC_SIZE;
			const struct hib_image_origin *o = &info->origins[i];

			put_str(rec, o->name, HIB_IMAGE_ORIGIN_STR_MAX);
			put_str(rec + HIB_IMAGE_ORIGIN_STR_MAX, o->uuid, HIB_IMAGE_ORIGIN_STR_MAX);
			put64(rec + 2 * HIB_IMAGE_ORIGIN_STR_MAX, o->sectors);
			memcpy(rec + 2 * HIB_IMAGE_ORIGIN_STR_MAX + 8, o->sb_hash, 16);
		}
		put64(block + O_CSUM, csum(block + O_BASE, O_CSUM - O_BASE));
	}
}

void hib_chunk_encode(const struct hib_chunk *c, uint8_t rec[HIB_RECORD_SIZE])
{
	put32(rec + R_MAGIC, HIB_CHUNK_MAGIC);
	put32(rec + R_FLAGS, c->flags);
	put64(rec + 8, c->seq);
	put32(rec + 16, c->raw_len);
	put32(rec + 20, c->comp_len);
	put64(rec + 24, c->comp_csum);
	put64(rec + 32, c->raw_csum);
	put64(rec + R_CSUM, csum(rec, R_CSUM));
}

void hib_final_encode(const struct hib_final *f, uint8_t rec[HIB_RECORD_SIZE])
{
	put32(rec + R_MAGIC, HIB_FINAL_MAGIC);
	put32(rec + R_FLAGS, 0);
	put64(rec + 8, f->chunks);
	put64(rec + 16, f->raw_bytes);
	put64(rec + 24, f->comp_bytes);
	put64(rec + 32, f->running_csum);
	put64(rec + R_CSUM, csum(rec, R_CSUM));
}

uint64_t hib_image_worst_case(uint64_t raw_bytes, uint32_t chunk_size)
{
	uint64_t chunks;

	if (chunk_size == 0)
		chunk_size = HIB_IMAGE_CHUNK_DEFAULT;
	chunks = div_round_up(raw_bytes, chunk_size);
	/* Room for encryption whether or not it is on: 25 bytes a chunk. */
	return HIB_IMAGE_DATA_OFFSET +
	       chunks * (HIB_RECORD_SIZE + hib_chunk_bound(chunk_size) + HIB_CRYPTO_CHUNK_EXTRA) +
	       HIB_RECORD_SIZE + HIB_CRYPTO_ABYTES;
}

uint64_t hib_resume_reserve_bytes(uint64_t mem_total, bool set, unsigned int mib)
{
	uint64_t r;

	if (set)
		return (uint64_t)mib << 20;
	r = mem_total / 100 * HIB_RESUME_RESERVE_PERCENT +
	    mem_total % 100 * HIB_RESUME_RESERVE_PERCENT / 100;
	if (r > UINT64_MAX - ((uint64_t)HIB_RESUME_RESERVE_FIXED_MIB << 20))
		return UINT64_MAX;
	return r + ((uint64_t)HIB_RESUME_RESERVE_FIXED_MIB << 20);
}

uint64_t hib_resume_max_pages(uint64_t mem_total, uint64_t reserve, uint32_t page_size)
{
	uint64_t pages, keep;

	if (page_size == 0)
		return 0;
	pages = mem_total / page_size;
	keep = reserve / page_size + (reserve % page_size != 0);
	return pages > keep ? pages - keep : 0;
}

/* ---- identity ------------------------------------------------------------------------------ */

int hib_parse_build_id(const uint8_t *buf, size_t len, uint8_t ret_id[HIB_BUILD_ID_MAX])
{
	size_t off = 0;

	/* A sequence of Elf_Nhdr { namesz, descsz, type }, name and desc padded to 4 bytes. */
	while (len - off >= 12) {
		uint32_t namesz, descsz, type;
		size_t name_pad, desc_pad;

		memcpy(&namesz, buf + off, 4);
		memcpy(&descsz, buf + off + 4, 4);
		memcpy(&type, buf + off + 8, 4);
		off += 12;
		name_pad = ((size_t)namesz + 3) & ~(size_t)3;
		desc_pad = ((size_t)descsz + 3) & ~(size_t)3;
		if (namesz > len || descsz > len || name_pad > len - off ||
		    desc_pad > len - off - name_pad)
			return -EBADMSG;
		if (type == 3 /* NT_GNU_BUILD_ID */ && namesz == 4 &&
		    memcmp(buf + off, "GNU", 4) == 0) {
			if (descsz == 0 || descsz > HIB_BUILD_ID_MAX)
				return -EBADMSG;
			memcpy(ret_id, buf + off + name_pad, descsz);
			return (int)descsz;
		}
		off += name_pad + desc_pad;
	}
	return 0;
}

/* Read a small file whole (at most @size - 1 bytes, NUL-terminated).  Length or -errno. */
static ssize_t read_small(const char *path, uint8_t *buf, size_t size)
{
	_cleanup_close_ int fd = -1;
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	n = hib_read_full(fd, buf, size - 1);
	if (n >= 0)
		buf[n] = 0;
	return n;
}

int hib_system_identity(const char *notes_path, const char *machine_id_path,
			struct hib_image_info *ret_info)
{
	struct hib_image_info info = {
		.version = HIB_IMAGE_VERSION,
		.codec = HIB_CODEC_LZ4,
		.cipher = HIB_CIPHER_NONE,
		.chunk_size = HIB_IMAGE_CHUNK_DEFAULT,
	};
	uint8_t notes[8192];
	struct utsname u;
	long ps;
	ssize_t n;
	int r;

	if (!ret_info)
		return -EINVAL;
	ps = sysconf(_SC_PAGESIZE);
	if (ps <= 0)
		return -EINVAL;
	info.page_size = (uint32_t)ps;
	if (uname(&u) < 0)
		return negative_errno();
	snprintf(info.kernel_release, sizeof(info.kernel_release), "%s", u.release);
	snprintf(info.kernel_version, sizeof(info.kernel_version), "%s", u.version);

	n = read_small(notes_path ? notes_path : "/sys/kernel/notes", notes, sizeof(notes));
	if (n >= 0) {
		r = hib_parse_build_id(notes, (size_t)n, info.build_id);
		if (r < 0)
			hib_warn("cannot parse the kernel's build id notes: %s", strerror(-r));
		else
			info.build_id_len = (uint32_t)r;
	} else {
		hib_debug("no kernel notes: %s", strerror((int)-n));
	}

	n = read_small(machine_id_path ? machine_id_path : "/etc/machine-id", notes,
		       sizeof(notes));
	if (n > 0) {
		notes[strcspn((char *)notes, "\n")] = 0;
		put_str((uint8_t *)info.host_id, (char *)notes, sizeof(info.host_id));
	}
	/* No machine id, no host id: a hostname is no identity (ip= or DHCP change it). */

	*ret_info = info;
	return 0;
}

void hib_build_id_hex(const struct hib_image_info *info, char *buf, size_t size)
{
	uint32_t i, len = MIN(info->build_id_len, (uint32_t)HIB_BUILD_ID_MAX);

	if (size == 0)
		return;
	buf[0] = 0;
	for (i = 0; i < len && 2 * i + 2 < size; i++)
		snprintf(buf + 2 * i, 3, "%02x", info->build_id[i]);
}

int hib_image_check_system(const struct hib_image_info *image, const struct hib_image_info *sys,
			   char *why, size_t why_size)
{
	char a[2 * HIB_BUILD_ID_MAX + 1], b[2 * HIB_BUILD_ID_MAX + 1];
	char dummy[1];

	if (!why) {
		why = dummy;
		why_size = sizeof(dummy);
	}
	if (image->page_size != sys->page_size) {
		snprintf(why, why_size, "image page size %u, this system's %u", image->page_size,
			 sys->page_size);
		return -EXDEV;
	}
	if (strcmp(image->kernel_release, sys->kernel_release) != 0 ||
	    strcmp(image->kernel_version, sys->kernel_version) != 0) {
		snprintf(why, why_size, "image made by kernel %s %s, running kernel %s %s",
			 image->kernel_release, image->kernel_version, sys->kernel_release,
			 sys->kernel_version);
		return -EXDEV;
	}
	if (image->build_id_len && sys->build_id_len &&
	    (image->build_id_len != sys->build_id_len ||
	     memcmp(image->build_id, sys->build_id, image->build_id_len) != 0)) {
		hib_build_id_hex(image, a, sizeof(a));
		hib_build_id_hex(sys, b, sizeof(b));
		snprintf(why, why_size, "image made by kernel build %s, running kernel build %s",
			 a, b);
		return -EXDEV;
	}
	if (image->build_id_len != sys->build_id_len)
		hib_warn("cannot compare kernel build ids (image: %s, running kernel: %s)",
			 image->build_id_len ? "known" : "none", sys->build_id_len ? "known" : "none");
	return 0;
}
