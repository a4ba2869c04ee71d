/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SG_SHARD_H
#define SG_SHARD_H

/**
 * @file
 * A worker's shard of sessions and the channels into it.
 *
 * Each worker owns one shard: an SA table on its NUMA node that only it
 * writes. The control core changes a shard by sending commands over the
 * shard's command ring; the worker applies them between bursts and answers
 * on its reply ring, so the data path takes no lock. A directory (inbound
 * SPI -> shard), written by the control core and read lock-free by every
 * worker, finds the owner of a packet that reached the wrong core.
 *
 * SAs are named across shards by a global index: shard << 20 | local index.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_common.h>

#include "sg_sa.h"

struct rte_ring;
struct sg_spd;

/** Bits of a global SA index that name the SA within its shard. */
#define SG_SHARD_LOCAL_BITS 20
/** Most SAs one shard holds (1M). */
#define SG_SHARD_SA_MAX (UINT32_C(1) << SG_SHARD_LOCAL_BITS)
/** Most shards (one per worker). */
#define SG_SHARD_MAX 64
/** "No shard". */
#define SG_SHARD_NONE UINT16_MAX

static inline uint32_t
sg_shard_gidx(uint16_t shard, uint32_t local)
{
	return ((uint32_t)shard << SG_SHARD_LOCAL_BITS) | local;
}

static inline uint16_t
sg_shard_of(uint32_t gidx)
{
	return (uint16_t)(gidx >> SG_SHARD_LOCAL_BITS);
}

static inline uint32_t
sg_shard_local(uint32_t gidx)
{
	return gidx & (SG_SHARD_SA_MAX - 1);
}

/** What the control core asks of a worker. */
enum sg_shard_op {
	SG_SHARD_SYNC,      /**< nothing; the answer proves the worker passed a burst boundary */
	SG_SHARD_SA_ADD,    /**< add prm to the shard; result = local index */
	SG_SHARD_SA_DEL,    /**< remove SA idx (no lookup can reach it any more) */
	SG_SHARD_SA_REKEY,  /**< outbound SA idx takes prm's SPI and key in place */
	SG_SHARD_SPD_SET,   /**< use spd_in/spd_out from the next burst on */
};

/**
 * One command and, once answered, its result. Allocated and freed by the
 * control core; the worker wipes prm's key before it answers.
 */
struct sg_shard_cmd {
	enum sg_shard_op op;
	uint32_t idx;       /**< SA_DEL, SA_REKEY: local index */
	uint32_t pol_tag;   /**< SA_ADD inbound: tag the inbound policy names */
	int result;         /**< answer: 0 or a local index, or -errno */
	struct sg_sa_prm prm;
	struct sg_spd *spd_in;
	struct sg_spd *spd_out;
	uint64_t seq;       /**< answer to SA_REKEY: last sequence number of the old SA */
};

/** Asynchronous news from a worker (lifetimes, idle expiry). */
enum sg_shard_event_type {
	SG_SHARD_EV_SOFT_EXPIRED, /**< soft lifetime reached: rekey needed */
	SG_SHARD_EV_HARD_EXPIRED, /**< hard lifetime reached: the SA no longer passes traffic */
	SG_SHARD_EV_IDLE,         /**< idle timeout: the SA was removed */
};

struct sg_shard_event {
	uint8_t type;  /**< enum sg_shard_event_type */
	uint8_t dir;   /**< enum sg_sa_dir */
	uint16_t shard;
	uint32_t spi;
	uint64_t tsc;
};

/** A worker's shard. */
struct sg_shard {
	uint16_t id;
	int socket;
	struct sg_sa_table *sat;   /**< written by the owning worker only */
	struct rte_ring *cmd;      /**< control -> worker */
	struct rte_ring *reply;    /**< worker -> control, answers */
	struct rte_ring *event;    /**< worker -> control, news */
};

/**
 * Create shard @p id with room for @p capacity SAs, everything on @p socket.
 * @return the shard, or NULL with rte_errno set.
 */
struct sg_shard *sg_shard_create(uint16_t id, uint32_t capacity, int socket);

/** Free a shard (wiping every key). Its worker must have stopped. */
void sg_shard_free(struct sg_shard *s);

/** Allocate a zeroed command (control core). NULL when out of memory. */
struct sg_shard_cmd *sg_shard_cmd_alloc(enum sg_shard_op op);

/** Wipe (it may hold a key) and free a command. NULL is a no-op. */
void sg_shard_cmd_free(struct sg_shard_cmd *c);

/**
 * Control core: send @p c to the shard's worker and wait up to @p timeout_us
 * for the answer (c->result).
 * @return 0 when answered, -ENOBUFS when the ring was full, or -ETIMEDOUT:
 *         then the worker still holds @p c, which must not be freed; its late
 *         answer is freed by a later call.
 */
int sg_shard_call(struct sg_shard *s, struct sg_shard_cmd *c, uint64_t timeout_us);

/**
 * Worker: take up to @p n commands. The caller applies each and passes it
 * back with sg_shard_answer().
 */
unsigned int sg_shard_take(struct sg_shard *s, struct sg_shard_cmd **c, unsigned int n);

/** Worker: return an applied command to the control core. */
void sg_shard_answer(struct sg_shard *s, struct sg_shard_cmd *c);

/**
 * Worker: post news to the control core.
 * @return 0, or -ENOBUFS when the event ring is full (the caller counts it).
 */
int sg_shard_post(struct sg_shard *s, const struct sg_shard_event *ev);

/** Control core: take one event. @return 1 when one was taken, else 0. */
int sg_shard_poll_event(struct sg_shard *s, struct sg_shard_event *ev);

/* ------------------------------------------------------------------------ */

struct sg_shard_dir;

/**
 * Directory of inbound SPIs -> owning shard, for @p capacity SPIs. Written by
 * the control core only, read lock-free by workers.
 * @return the directory, or NULL with rte_errno set.
 */
struct sg_shard_dir *sg_shard_dir_create(const char *name, uint32_t capacity, int socket);

void sg_shard_dir_free(struct sg_shard_dir *d);

/** @return 0, -EEXIST, -ENOSPC or -EINVAL. */
int sg_shard_dir_add(struct sg_shard_dir *d, uint32_t spi, uint16_t shard);

/** @return 0 or -ENOENT. */
int sg_shard_dir_del(struct sg_shard_dir *d, uint32_t spi);

/** Shard owning @p spi (host order), or SG_SHARD_NONE. */
uint16_t sg_shard_dir_find(const struct sg_shard_dir *d, uint32_t spi);

/**
 * Bulk lookup of @p n SPIs in network byte order; shard[i] is SG_SHARD_NONE
 * where unknown.
 */
void sg_shard_dir_lookup_bulk(const struct sg_shard_dir *d, const uint32_t *spi_be, uint32_t n,
		uint16_t *shard);

#endif /* SG_SHARD_H */
