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
#include "sg_timer.h"

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
	SG_SHARD_SA_SEQ,    /**< outbound SA idx takes prm's seq_limit/seq_ask, if its
	                         state-file slot is still prm.seq_slot */
	SG_SHARD_SA_PEER,   /**< SA idx (prm.dir, prm.spi) has its peer at prm.tun_dst
	                         and prm.udp_dport (out) or prm.tun_src, prm.udp_sport
	                         (in) from now on, the ports only for a UDP SA (a NAT
	                         rebinding, or the IKE daemon's move sa) */
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
	uint64_t seq;       /**< answer to SA_REKEY, SA_DEL, SA_SEQ: the SA's last
	                         sequence number (before the change) */
};

/** Asynchronous news from a worker (lifetimes, idle expiry). */
enum sg_shard_event_type {
	SG_SHARD_EV_SOFT_EXPIRED, /**< soft lifetime reached: rekey needed */
	SG_SHARD_EV_HARD_EXPIRED, /**< hard lifetime reached: the SA no longer passes traffic */
	SG_SHARD_EV_IDLE,         /**< idle timeout: the SA was removed */
	/** Outbound: the SA has used half its reserved sequence numbers; the
	 * control core persists more and answers with SG_SHARD_SA_SEQ. Not
	 * logged: it is the gateway's own business. */
	SG_SHARD_EV_SEQ_LOW,
	/** Inbound UDP SA (RFC 3948): an authentic packet came from a new
	 * address or port (a NAT rebinding); the SA takes from there now, and
	 * the control core moves the outbound SAs to that peer with it. */
	SG_SHARD_EV_PEER_MOVED,
};

struct sg_shard_event {
	uint8_t type;  /**< enum sg_shard_event_type */
	uint8_t dir;   /**< enum sg_sa_dir */
	uint16_t shard;
	uint32_t spi;
	uint64_t tsc;
	uint32_t idx;  /**< the SA's local index */
	union {
		struct {
			uint32_t slot; /**< SEQ_LOW: its state-file slot */
			uint64_t seq;  /**< SEQ_LOW: its sequence number when it asked */
		};
		struct { /* PEER_MOVED, network order */
			uint32_t peer_be, old_peer_be;
			uint16_t port_be, old_port_be;
		};
	};
};

/** A worker's shard. */
/** SAs a burst may kill (byte or packet limits) whose keys wait for its end. */
#define SG_SHARD_WIPE_MAX 64

struct sg_shard {
	uint16_t id;
	int socket;
	struct sg_sa_table *sat;   /**< written by the owning worker only */
	struct sg_timer *timer;    /**< lifetimes and idle deadlines, indexed like sat */
	struct rte_ring *cmd;      /**< control -> worker */
	struct rte_ring *reply;    /**< worker -> control, answers */
	struct rte_ring *event;    /**< worker -> control, news */
	/** Owner: SAs killed mid-burst, whose keys sg_shard_wipe_dead() wipes
	 * once no op of the burst points at them; beyond SG_SHARD_WIPE_MAX in
	 * one poll, the keys go with the SA's removal or rekey. */
	uint16_t nb_wipe;
	uint32_t wipe[SG_SHARD_WIPE_MAX];
};

/**
 * Owner, between bursts: wipe the keys of the SAs the last bursts killed
 * (sg_shard_sa_limit()), if they are still dead (not rekeyed since, nor
 * their slot reused).
 */
void sg_shard_wipe_dead(struct sg_shard *s);

/**
 * Create shard @p id with room for @p capacity SAs, everything on @p socket.
 * @return the shard, or NULL with rte_errno set.
 */
struct sg_shard *sg_shard_create(uint16_t id, uint32_t capacity, int socket);

/**
 * Owner (or the control core before workers start): arm @p sa's time
 * limits from its lifetime (RFC 4301 §4.4.2.1), from tick @p now and TSC
 * @p tsc. Limits beyond the timer's horizon are armed at the horizon and
 * re-armed when it passes (sg_shard_expire() looks at the TSC).
 */
void sg_shard_arm_sa(struct sg_shard *s, struct sg_sa *sa, uint32_t now, uint64_t tsc);

/**
 * Owner: act on deadlines the sweep reported for SA @p idx (@p kinds is a
 * mask of SG_TIMER_KIND_BIT()). Soft: note it and post an event. Hard or
 * idle: the SA stops passing traffic at once, and an event asks the control
 * core to remove it.
 * @return number of events that did not fit in the event ring.
 */
unsigned int sg_shard_expire(struct sg_shard *s, uint32_t idx, uint8_t kinds, uint32_t now,
		uint64_t tsc);

/**
 * Owner, on the packet path, when a byte or packet count reached
 * lim_bytes/lim_packets: post the soft event or, at the hard limit, stop
 * the SA.
 * @return 0 when the SA still passes traffic, -1 when it must not.
 */
int sg_shard_sa_limit(struct sg_shard *s, struct sg_sa *sa);

/**
 * Owner, on the packet path, when an outbound SA's sequence number reached
 * sa->seq_check: ask the control core for more reserved numbers (once), and
 * say whether the next number may be sent.
 * @return 0 when it may, -ENOSPC when the reservation is used up (the packet
 *         waits for none: it is dropped), -ERANGE when the counter is at
 *         its end (RFC 4303 §3.3.3; the SA is dead).
 */
int sg_shard_sa_seq(struct sg_shard *s, struct sg_sa *sa);

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

/** Events the control core keeps for telemetry and the control socket. */
#define SG_EVENT_LOG_SIZE 256

/** One logged event with its sequence number (1, 2, ...). */
struct sg_event_rec {
	uint64_t id;
	uint64_t unix_ms; /**< wall clock when the control core took it */
	struct sg_shard_event ev;
};

/**
 * The last SG_EVENT_LOG_SIZE events and counts by type. Written by the
 * control core; read by the telemetry thread and control requests.
 */
struct sg_event_log {
	uint64_t next_id; /**< the last id given (first_id - 1 before any) */
	uint64_t first_id; /**< the first id of this run (0 or 1: from 1) */
	uint64_t count[SG_SHARD_EV_IDLE + 1];
	struct sg_event_rec rec[SG_EVENT_LOG_SIZE];
	int lock; /**< rte_spinlock_t, kept opaque here */
};

/** Name of an event type ("soft_expired", "hard_expired", "idle"). */
const char *sg_shard_event_name(enum sg_shard_event_type t);

/**
 * Number this run's events from @p base + 1, so that ids keep rising across
 * restarts (a key manager asks for the events after the last id it saw).
 */
void sg_event_log_init(struct sg_event_log *log, uint64_t base);

/** Log @p ev (control core). @return its id. */
uint64_t sg_event_log_add(struct sg_event_log *log, const struct sg_shard_event *ev);

/**
 * Copy up to @p n events with id > @p since, oldest first.
 * @return number copied.
 */
unsigned int sg_event_log_read(struct sg_event_log *log, uint64_t since, struct sg_event_rec *out,
		unsigned int n);

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

/**
 * Remove @p spi. Its slot is reused only after sg_shard_dir_reclaim(), which
 * the caller runs once no worker can still be reading it (after a SYNC of
 * every worker).
 * @return 0 or -ENOENT.
 */
int sg_shard_dir_del(struct sg_shard_dir *d, uint32_t spi);

/** Free the slots of every SPI deleted so far (see sg_shard_dir_del()). */
void sg_shard_dir_reclaim(struct sg_shard_dir *d);

/** Shard owning @p spi (host order), or SG_SHARD_NONE. */
uint16_t sg_shard_dir_find(const struct sg_shard_dir *d, uint32_t spi);

/**
 * Bulk lookup of @p n SPIs in network byte order; shard[i] is SG_SHARD_NONE
 * where unknown.
 */
void sg_shard_dir_lookup_bulk(const struct sg_shard_dir *d, const uint32_t *spi_be, uint32_t n,
		uint16_t *shard);

#endif /* SG_SHARD_H */
