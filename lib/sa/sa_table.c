/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "sg_common.h"
#include "sg_crypto.h"
#include "sg_pkt.h"
#include "sg_sa.h"

/*
 * Only the control core writes; workers read the inbound hash and the slots
 * it points to. A slot is in use exactly when its key pointer is set.
 */
struct sg_sa_table {
	struct sg_sa_table_hot hot; /* first, read inline by sg_sa_table_get(): the
	                             * SA slots (an index names an SA for life) */
	uint32_t *free_idx;       /* stack of free slot indices */
	uint32_t n_free;
	struct rte_hash *hash[2]; /* by enum sg_sa_dir: SPI (network order) -> index */
	uint16_t owner;           /* lcore id of the worker that owns them */
};

/* rte_hash refuses fewer entries than one bucket holds (8 in DPDK 22.11). */
#define HASH_ENTRIES_MIN 8u

static const char *const hash_suffix[2] = {
	[SG_SA_IN] = "_in",
	[SG_SA_OUT] = "_out",
};

static struct rte_hash *
hash_create(const char *table, enum sg_sa_dir dir, uint32_t capacity, int socket)
{
	char name[RTE_HASH_NAMESIZE];
	struct rte_hash_parameters p = {
		.name = name,
		.entries = RTE_MAX(capacity, HASH_ENTRIES_MIN),
		.key_len = sizeof(uint32_t),
		.hash_func = rte_hash_crc,
		.socket_id = socket,
		/* Workers read while the control core writes; the extendable table
		 * lets all capacity keys fit, where cuckoo alone may refuse early. */
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF |
				RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};

	snprintf(name, sizeof(name), "%s%s", table, hash_suffix[dir]);
	return rte_hash_create(&p);
}

struct sg_sa_table *
sg_sa_table_create(const char *name, uint32_t capacity, int socket)
{
	struct sg_sa_table *t;
	uint32_t i;
	int err;

	if (name == NULL || name[0] == '\0' || capacity == 0 ||
			capacity > RTE_HASH_ENTRIES_MAX) {
		rte_errno = EINVAL;
		return NULL;
	}
	if (strnlen(name, SG_SA_TABLE_NAMESIZE) >= SG_SA_TABLE_NAMESIZE) {
		rte_errno = ENAMETOOLONG;
		return NULL;
	}

	t = rte_zmalloc_socket("sg_sa_table", sizeof(*t), RTE_CACHE_LINE_SIZE, socket);
	if (t == NULL) {
		err = ENOMEM;
		goto fail;
	}
	t->hot.capacity = capacity;

	t->hot.sa = rte_zmalloc_socket("sg_sa", (size_t)capacity * sizeof(*t->hot.sa),
			RTE_CACHE_LINE_SIZE, socket);
	if (t->hot.sa == NULL) {
		err = ENOMEM;
		goto free_table;
	}
	t->free_idx = rte_malloc_socket("sg_sa_free", (size_t)capacity * sizeof(*t->free_idx),
			RTE_CACHE_LINE_SIZE, socket);
	if (t->free_idx == NULL) {
		err = ENOMEM;
		goto free_sa;
	}
	/* Stacked so that the lowest indices come out first. */
	for (i = 0; i < capacity; i++)
		t->free_idx[i] = capacity - 1 - i;
	t->n_free = capacity;

	t->hash[SG_SA_IN] = hash_create(name, SG_SA_IN, capacity, socket);
	if (t->hash[SG_SA_IN] == NULL) {
		err = rte_errno;
		goto free_idx;
	}
	t->hash[SG_SA_OUT] = hash_create(name, SG_SA_OUT, capacity, socket);
	if (t->hash[SG_SA_OUT] == NULL) {
		err = rte_errno;
		goto free_hash_in;
	}
	return t;

free_hash_in:
	rte_hash_free(t->hash[SG_SA_IN]);
free_idx:
	rte_free(t->free_idx);
free_sa:
	rte_free(t->hot.sa);
free_table:
	rte_free(t);
fail:
	rte_errno = err;
	return NULL;
}

static inline int
slot_used(const struct sg_sa *sa)
{
	return sa->key != NULL;
}

/* TFC sizes: outbound only (a receiver just removes padding), ascending,
 * and the list ends at its first 0. */
static int
tfc_check(const struct sg_sa_prm *prm)
{
	unsigned int i;

	for (i = 0; i < SG_SA_TFC_BUCKETS; i++) {
		if (prm->tfc[i] == 0)
			break;
		if (prm->dir != SG_SA_OUT || (i > 0 && prm->tfc[i] <= prm->tfc[i - 1]))
			return -EINVAL;
	}
	for (; i < SG_SA_TFC_BUCKETS; i++)
		if (prm->tfc[i] != 0)
			return -EINVAL;
	return 0;
}

/* Flags an SA made from @p prm has (the replay window's aside); @p prm is checked. */
static uint8_t
prm_flags(const struct sg_sa_prm *prm)
{
	const struct sg_crypto_xform *x =
			&sg_crypto_xforms[sg_crypto_xform_id(prm->cipher, prm->auth)];

	/* ESN moves where the counter must stop (RFC 4303 §3.3.3). */
	return (prm->esn ? SG_SA_F_ESN : 0) | (prm->udp_encap ? SG_SA_F_UDP : 0) |
			(prm->tfc[0] != 0 ? SG_SA_F_TFC : 0) |
			(x->in_mask != 0 || x->min_len > SG_ESP_MIN_PAYLOAD ? SG_SA_F_LEN_CHECK : 0);
}

static int
prm_check(const struct sg_sa_prm *prm)
{
	unsigned int klen = sg_crypto_key_len(prm->cipher);

	if (klen == 0 || prm->key_len != klen || sg_crypto_xform_id(prm->cipher, prm->auth) < 0 ||
			prm->auth_key_len != sg_crypto_auth_key_len(prm->auth))
		return -EINVAL;
	if (prm->dir != SG_SA_IN && prm->dir != SG_SA_OUT)
		return -EINVAL;
	if (prm->mode != SG_SA_TUNNEL4 && prm->mode != SG_SA_TRANSPORT4)
		return -EINVAL;
	/* Transport mode carries no inner packet whose end would mark where
	 * TFC padding starts, and no UDP encapsulation is done for it. */
	if (prm->mode == SG_SA_TRANSPORT4 && (prm->tfc[0] != 0 || prm->udp_encap))
		return -EINVAL;
	/* SPI 0 is reserved and never sent on the wire (RFC 4303 §2.1). */
	if (prm->spi == 0)
		return -EINVAL;
	if (prm->replay_win > SG_REPLAY_WIN_MAX)
		return -EINVAL;
	/* Port 0 is never a NAT-T port (RFC 3948 §2.1 names 4500). */
	if (prm->udp_encap && (prm->udp_sport == 0 || prm->udp_dport == 0))
		return -EINVAL;
	/* ESN high bits are inferred from the window (RFC 4303 §2.2.1, A2.2). */
	if (prm->esn && prm->dir == SG_SA_IN && prm->replay_win == 0)
		return -EINVAL;
	/* A start value is an ESN's; outbound, the reservation is above it. */
	if (prm->esn_start != 0 && (!prm->esn || (prm->dir == SG_SA_OUT &&
			(prm->seq_start < prm->esn_start || prm->esn_start == UINT64_MAX))))
		return -EINVAL;
	if (tfc_check(prm) != 0)
		return -EINVAL;
	/* A reservation covers at least the number after its start. */
	if (prm->seq_limit != 0 && (prm->dir != SG_SA_OUT || prm->seq_limit <= prm->seq_start))
		return -EINVAL;
	return 0;
}

/* Expanded key material on @p socket; NULL with *err set on failure. */
static struct sg_crypto_key *
key_new(const struct sg_sa_prm *prm, IMB_MGR *mgr, int socket, int *err)
{
	struct sg_crypto_key *key;

	key = rte_zmalloc_socket("sg_sa_key", sizeof(*key), RTE_CACHE_LINE_SIZE, socket);
	if (key == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	*err = sg_crypto_key_init_auth(key, mgr, prm->cipher, prm->key, prm->key_len, prm->salt,
			prm->auth, prm->auth_key, prm->auth_key_len);
	if (*err != 0) {
		sg_crypto_key_wipe(key);
		rte_free(key);
		return NULL;
	}
	return key;
}

uint16_t
sg_sa_table_owner(const struct sg_sa_table *t)
{
	return t->owner;
}

int
sg_sa_table_add(struct sg_sa_table *t, const struct sg_sa_prm *prm, IMB_MGR *mgr,
		uint16_t owner, int socket)
{
	struct sg_crypto_key *key;
	struct sg_replay *rw = NULL;
	struct rte_hash *h;
	struct sg_sa *sa;
	uint32_t spi_be, idx;
	int ret;

	if (t == NULL || prm == NULL || mgr == NULL)
		return -EINVAL;
	ret = prm_check(prm);
	if (ret != 0)
		return ret;

	h = t->hash[prm->dir];
	spi_be = rte_cpu_to_be_32(prm->spi);
	if (rte_hash_lookup(h, &spi_be) >= 0)
		return -EEXIST;
	if (t->n_free == 0)
		return -ENOSPC;

	key = key_new(prm, mgr, socket, &ret);
	if (key == NULL)
		return ret;

	if (prm->dir == SG_SA_IN && prm->replay_win > 0) {
		rw = rte_zmalloc_socket("sg_sa_replay", sg_replay_size(prm->replay_win),
				RTE_CACHE_LINE_SIZE, socket);
		if (rw == NULL) {
			ret = -ENOMEM;
			goto free_key;
		}
		sg_replay_init(rw, prm->replay_win);
		rw->top = prm->esn_start;
	}

	idx = t->free_idx[t->n_free - 1];
	sa = &t->hot.sa[idx];
	memset(sa, 0, sizeof(*sa));
	memcpy(sa->salt, prm->salt, SG_CRYPTO_SALT_LEN);
	sa->spi_be = spi_be;
	sa->tun_src_be = rte_cpu_to_be_32(prm->tun_src);
	sa->tun_dst_be = rte_cpu_to_be_32(prm->tun_dst);
	sa->dir = (uint8_t)prm->dir;
	sa->mode = (uint8_t)prm->mode;
	sa->xform = (uint8_t)sg_crypto_xform_id(prm->cipher, prm->auth);
	sa->flags = prm_flags(prm) | (rw != NULL ? SG_SA_F_REPLAY : 0);
	sa->udp_sport_be = rte_cpu_to_be_16(prm->udp_sport);
	sa->udp_dport_be = rte_cpu_to_be_16(prm->udp_dport);
	t->owner = owner;
	sa->origin = prm->origin;
	sa->idx = idx;
	sa->life = prm->life;
	sg_sa_set_limits(sa);
	sa->key = key;
	sa->replay = rw;
	/* Outbound sends seq + 1, so the first packet carries 1 (RFC 4303 §3.3.3),
	 * or the first number after those a previous run may have used. */
	if (prm->dir == SG_SA_OUT) {
		memcpy(sa->tfc, prm->tfc, sizeof(sa->tfc));
		sa->seq = prm->seq_start;
		sa->seq_slot = prm->seq_slot;
		sg_sa_seq_reserve(sa, prm->seq_limit, prm->seq_ask);
	}

	/* Publish last: a lock-free reader may find the SPI at once. */
	ret = rte_hash_add_key_data(h, &spi_be, (void *)(uintptr_t)idx);
	if (ret < 0)
		goto clear_slot;
	t->n_free--;
	return (int)idx;

clear_slot:
	memset(sa, 0, sizeof(*sa));
	rte_free(rw);
free_key:
	sg_crypto_key_wipe(key);
	rte_free(key);
	return ret;
}

int
sg_sa_table_del(struct sg_sa_table *t, uint32_t idx)
{
	struct sg_crypto_key *key;
	struct rte_hash *h;
	struct sg_sa *sa;
	int32_t pos;

	if (t == NULL || idx >= t->hot.capacity || !slot_used(&t->hot.sa[idx]))
		return -ENOENT;
	sa = &t->hot.sa[idx];

	h = t->hash[sa->dir];
	pos = rte_hash_del_key(h, &sa->spi_be);
	/* Lock-free mode keeps the key slot until told; no worker sees it now. */
	if (pos >= 0)
		rte_hash_free_key_with_position(h, pos);

	/* Keys are wiped when an SA dies, never left in freed memory; so is
	 * the SA's copy of the salt. */
	key = (struct sg_crypto_key *)(uintptr_t)sa->key;
	sg_crypto_key_wipe(key);
	rte_free(key);
	rte_free(sg_sa_replay(sa));
	sg_wipe(sa->salt, sizeof(sa->salt));
	memset(sa, 0, sizeof(*sa));

	t->free_idx[t->n_free++] = idx;
	return 0;
}

int
sg_sa_table_rekey(struct sg_sa_table *t, uint32_t idx, const struct sg_sa_prm *prm,
		IMB_MGR *mgr, int socket)
{
	struct rte_hash *h;
	struct sg_crypto_key *key, *old;
	uint32_t spi_be;
	struct sg_sa *sa;
	int32_t pos;
	int ret;

	if (t == NULL || idx >= t->hot.capacity || !slot_used(&t->hot.sa[idx]) ||
			t->hot.sa[idx].dir != SG_SA_OUT)
		return -ENOENT;
	if (prm == NULL || mgr == NULL || prm->dir != SG_SA_OUT)
		return -EINVAL;
	ret = prm_check(prm);
	if (ret != 0)
		return ret;
	sa = &t->hot.sa[idx];
	h = t->hash[SG_SA_OUT];
	spi_be = rte_cpu_to_be_32(prm->spi);
	if (spi_be != sa->spi_be && rte_hash_lookup(h, &spi_be) >= 0)
		return -EEXIST;

	key = key_new(prm, mgr, socket, &ret);
	if (key == NULL)
		return ret;
	if (spi_be != sa->spi_be) {
		ret = rte_hash_add_key_data(h, &spi_be, (void *)(uintptr_t)idx);
		if (ret < 0)
			goto free_key;
		pos = rte_hash_del_key(h, &sa->spi_be);
		if (pos >= 0)
			rte_hash_free_key_with_position(h, pos);
	}

	old = (struct sg_crypto_key *)(uintptr_t)sa->key;
	memcpy(sa->salt, prm->salt, SG_CRYPTO_SALT_LEN);
	sa->spi_be = spi_be;
	sa->tun_src_be = rte_cpu_to_be_32(prm->tun_src);
	sa->tun_dst_be = rte_cpu_to_be_32(prm->tun_dst);
	sa->mode = (uint8_t)prm->mode;
	sa->xform = (uint8_t)sg_crypto_xform_id(prm->cipher, prm->auth);
	sa->flags = prm_flags(prm);
	sa->udp_sport_be = rte_cpu_to_be_16(prm->udp_sport);
	sa->udp_dport_be = rte_cpu_to_be_16(prm->udp_dport);
	memcpy(sa->tfc, prm->tfc, sizeof(sa->tfc));
	sa->key = key;
	/* A new SA: its counter starts again at 1 (RFC 4303 §3.3.3), or past what
	 * the state file says this key has used, and its lifetimes start again;
	 * the owner re-arms the time limits. */
	memset(&sa->seq, 0, offsetof(struct sg_sa, life) - offsetof(struct sg_sa, seq));
	sa->seq = prm->seq_start;
	sa->seq_slot = prm->seq_slot;
	sa->origin = prm->origin;
	sg_sa_seq_reserve(sa, prm->seq_limit, prm->seq_ask);
	sa->life = prm->life;
	sg_sa_set_limits(sa);
	sg_crypto_key_wipe(old);
	rte_free(old);
	return 0;

free_key:
	sg_crypto_key_wipe(key);
	rte_free(key);
	return ret;
}

void
sg_sa_table_free(struct sg_sa_table *t)
{
	uint32_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->hot.capacity; i++)
		if (slot_used(&t->hot.sa[i]))
			sg_sa_table_del(t, i);
	rte_hash_free(t->hash[SG_SA_OUT]);
	rte_hash_free(t->hash[SG_SA_IN]);
	rte_free(t->free_idx);
	rte_free(t->hot.sa);
	rte_free(t);
}

uint32_t
sg_sa_table_find(const struct sg_sa_table *t, enum sg_sa_dir dir, uint32_t spi)
{
	uint32_t spi_be = rte_cpu_to_be_32(spi);
	void *data;

	if (t == NULL || (dir != SG_SA_IN && dir != SG_SA_OUT))
		return SG_SA_NONE;
	if (rte_hash_lookup_data(t->hash[dir], &spi_be, &data) < 0)
		return SG_SA_NONE;
	return (uint32_t)(uintptr_t)data;
}

void
sg_sa_table_lookup_in_bulk(const struct sg_sa_table *t, const uint32_t *spi_be, uint32_t n,
		uint32_t *idx)
{
	const void *keys[RTE_HASH_LOOKUP_BULK_MAX];
	void *data[RTE_HASH_LOOKUP_BULK_MAX];
	uint64_t hits;
	uint32_t i, j, m;

	for (i = 0; i < n; i += m) {
		m = RTE_MIN(n - i, (uint32_t)RTE_HASH_LOOKUP_BULK_MAX);
		for (j = 0; j < m; j++)
			keys[j] = &spi_be[i + j];
		if (rte_hash_lookup_bulk_data(t->hash[SG_SA_IN], keys, m, &hits, data) < 0)
			hits = 0;
		for (j = 0; j < m; j++)
			idx[i + j] = (hits >> j) & 1 ? (uint32_t)(uintptr_t)data[j] : SG_SA_NONE;
	}
}

uint32_t
sg_sa_table_count(const struct sg_sa_table *t)
{
	return t == NULL ? 0 : t->hot.capacity - t->n_free;
}

uint32_t
sg_sa_table_capacity(const struct sg_sa_table *t)
{
	return t == NULL ? 0 : t->hot.capacity;
}
