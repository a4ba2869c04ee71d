/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "sg_common.h"
#include "sg_shard.h"

/*
 * rte_hash keyed by the SPI in network byte order, data = shard id. In
 * lock-free mode a deleted key's slot stays taken until it is freed
 * explicitly, because a reader may still be comparing it: deletes queue
 * their positions here and sg_shard_dir_reclaim() frees them once every
 * worker has passed a burst boundary.
 */
struct sg_shard_dir {
	struct rte_hash *h;
	int32_t *pending;
	uint32_t nb_pending;
	uint32_t cap_pending;
};

struct sg_shard_dir *
sg_shard_dir_create(const char *name, uint32_t capacity, int socket)
{
	struct rte_hash_parameters p = {
		.name = name,
		.entries = RTE_MAX(capacity, 8u),
		.key_len = sizeof(uint32_t),
		.hash_func = rte_hash_crc,
		.socket_id = socket,
		/* One writer (control), lock-free readers (every worker). */
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF |
				RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	struct sg_shard_dir *d;

	d = rte_zmalloc_socket("sg_shard_dir", sizeof(*d), RTE_CACHE_LINE_SIZE, socket);
	if (d == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	d->h = rte_hash_create(&p);
	d->cap_pending = p.entries;
	d->pending = rte_malloc_socket("sg_shard_dir_pending", d->cap_pending * sizeof(int32_t), 0,
			socket);
	if (d->h == NULL || d->pending == NULL) {
		int err = d->h == NULL ? rte_errno : ENOMEM; /* EEXIST for a taken name */

		rte_hash_free(d->h);
		rte_free(d->pending);
		rte_free(d);
		rte_errno = err;
		return NULL;
	}
	return d;
}

void
sg_shard_dir_free(struct sg_shard_dir *d)
{
	if (d == NULL)
		return;
	rte_hash_free(d->h);
	rte_free(d->pending);
	rte_free(d);
}

int
sg_shard_dir_add(struct sg_shard_dir *d, uint32_t spi, uint16_t shard)
{
	uint32_t key = rte_cpu_to_be_32(spi);
	int ret;

	if (shard >= SG_SHARD_MAX)
		return -EINVAL;
	if (rte_hash_lookup(d->h, &key) >= 0)
		return -EEXIST;
	ret = rte_hash_add_key_data(d->h, &key, (void *)(uintptr_t)shard);
	return ret < 0 ? ret : 0;
}

int
sg_shard_dir_del(struct sg_shard_dir *d, uint32_t spi)
{
	uint32_t key = rte_cpu_to_be_32(spi);
	int32_t pos = rte_hash_del_key(d->h, &key);

	if (pos < 0)
		return -ENOENT;
	/* At most one pending position per entry: the array cannot overflow. */
	d->pending[d->nb_pending++] = pos;
	return 0;
}

void
sg_shard_dir_reclaim(struct sg_shard_dir *d)
{
	uint32_t i;

	for (i = 0; i < d->nb_pending; i++)
		rte_hash_free_key_with_position(d->h, d->pending[i]);
	d->nb_pending = 0;
}

uint16_t
sg_shard_dir_find(const struct sg_shard_dir *d, uint32_t spi)
{
	uint32_t key = rte_cpu_to_be_32(spi);
	void *data;

	if (rte_hash_lookup_data(d->h, &key, &data) < 0)
		return SG_SHARD_NONE;
	return (uint16_t)(uintptr_t)data;
}

void
sg_shard_dir_lookup_bulk(const struct sg_shard_dir *d, const uint32_t *spi_be, uint32_t n,
		uint16_t *shard)
{
	const void *keys[RTE_HASH_LOOKUP_BULK_MAX];
	void *data[RTE_HASH_LOOKUP_BULK_MAX];
	uint32_t done, i, m;
	uint64_t hits;

	for (done = 0; done < n; done += m) {
		m = RTE_MIN(n - done, (uint32_t)RTE_HASH_LOOKUP_BULK_MAX);
		for (i = 0; i < m; i++)
			keys[i] = &spi_be[done + i];
		hits = 0;
		rte_hash_lookup_bulk_data(d->h, keys, m, &hits, data);
		for (i = 0; i < m; i++)
			shard[done + i] = (hits >> i) & 1 ? (uint16_t)(uintptr_t)data[i] :
					SG_SHARD_NONE;
	}
}
