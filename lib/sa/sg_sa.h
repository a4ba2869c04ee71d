/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SG_SA_H
#define SG_SA_H

/**
 * @file
 * Security associations: the checked parameters a config or control request
 * yields (struct sg_sa_prm), the runtime object split into a read-mostly
 * line and a per-packet line (struct sg_sa), the RFC 4303 anti-replay window
 * and the SA table that finds them.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_branch_prediction.h>
#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_prefetch.h>

#include "sg_crypto.h"

/** Direction of an SA, seen from this gateway. */
enum sg_sa_dir {
	SG_SA_IN,  /**< we decrypt: the peer chose the SPI */
	SG_SA_OUT, /**< we encrypt */
};

/** Encapsulation mode. Roadmap: IPv6 outer, transport. */
enum sg_sa_mode {
	SG_SA_TUNNEL4,
	/** Transport mode (RFC 4303 §3.1.1), IPv4: ESP between the IP header
	 * and its payload, for packets between the SA's two hosts (src and
	 * dst when given, any when 0.0.0.0, as ipsec-secgw's transport SAs). */
	SG_SA_TRANSPORT4,
};

/** Default anti-replay window when none is configured (packets). */
#define SG_REPLAY_WIN_DEFAULT 1024
/** Largest anti-replay window accepted (packets). */
#define SG_REPLAY_WIN_MAX 65536

/** Lifetimes (RFC 4301 §4.4.2.1); 0 means unlimited. Used by lib/timer. */
struct sg_sa_lifetime {
	uint64_t soft_bytes;
	uint64_t hard_bytes;
	uint64_t soft_packets;
	uint64_t hard_packets;
	uint32_t soft_sec;
	uint32_t hard_sec;
	uint32_t idle_sec;
};

/** Most TFC padding sizes an outbound SA pads up to (RFC 4303 §2.7). */
#define SG_SA_TFC_BUCKETS 4
/** A TFC size meaning "as far as the MTU allows" (strongSwan's tfc_padding = mtu). */
#define SG_SA_TFC_MTU UINT16_MAX

/** Checked parameters of one SA, as the config parser or control socket give them. */
struct sg_sa_prm {
	uint32_t spi;
	enum sg_sa_dir dir;
	enum sg_sa_mode mode;
	enum sg_cipher cipher;
	uint8_t key[SG_CRYPTO_KEY_MAX];
	uint8_t key_len;
	uint8_t salt[SG_CRYPTO_SALT_LEN]; /**< AEADs and GMAC; zero for AES-CBC */
	/** Integrity: SG_AUTH_AEAD, or the HMAC paired with AES-CBC, and its key. */
	enum sg_auth auth;
	uint8_t auth_key[SG_CRYPTO_AUTH_KEY_MAX];
	uint8_t auth_key_len;
	uint32_t tun_src; /**< outer source, host byte order */
	uint32_t tun_dst; /**< outer destination, host byte order */
	/** ESP in UDP (RFC 3948): the outer UDP source and destination ports
	 * (host order) of this SA's packets; the peer's may float. */
	bool udp_encap;
	uint16_t udp_sport;
	uint16_t udp_dport;
	uint32_t replay_win; /**< packets; 0 disables the replay check */
	/** Outbound TFC padding (RFC 4303 §2.7): an inner packet is padded up
	 * to the first of these sizes (bytes of ESP payload, ascending) that
	 * holds it, never beyond what fits the MTU; 0 ends the list, and an
	 * empty list means no padding. */
	uint16_t tfc[SG_SA_TFC_BUCKETS];
	bool esn;            /**< 64-bit extended sequence numbers (RFC 4303 §2.2.1) */
	/** ESN only (ipsec-secgw's "esn N"): the sequence number the SA starts
	 * at. Outbound, the first packet carries esn_start + 1 (or more, if the
	 * key was used before); inbound, the replay window's top starts there,
	 * so the high half is inferred from it. 0: from the beginning. */
	uint64_t esn_start;
	struct sg_sa_lifetime life;
	/** Outbound: sequence numbers the control core has reserved in the
	 * state file (struct sg_seqstore). The first packet carries
	 * seq_start + 1; none goes beyond seq_limit until the reservation is
	 * extended; at seq_ask the owner asks for more. seq_limit 0: no
	 * reservation, the counter runs to its end. */
	uint64_t seq_start;
	uint64_t seq_limit;
	uint64_t seq_ask;
	uint32_t seq_slot; /**< the SA's entry in the state file */
	/** Who made it, in the application's numbering (0: the rule file);
	 * a rekey keeps it. */
	uint8_t origin;
};

/** Wipe the key material in a parameter struct. */
void sg_sa_prm_wipe(struct sg_sa_prm *prm);

/* ------------------------------------------------------------------------ */
/* Anti-replay window (RFC 4303 §3.4.3, Appendix A).                          */

/** Bits per bitmap bucket. */
#define SG_REPLAY_BUCKET_BITS 64

/**
 * Sliding window over the highest sequence number seen. The bitmap holds at
 * least win + 64 bits so that sliding clears whole buckets.
 */
struct sg_replay {
	uint64_t top;         /**< highest authenticated sequence number */
	uint32_t win;         /**< window size in packets */
	uint32_t bucket_mask; /**< number of buckets - 1 (a power of two) */
	uint64_t bmp[];
};

/** Bytes needed for a window of @p win packets. */
size_t sg_replay_size(uint32_t win);

/** Start an empty window (top = 0) of @p win packets in @p rw. */
void sg_replay_init(struct sg_replay *rw, uint32_t win);

/**
 * Cheap pre-decrypt check (RFC 4303 §3.4.3): may @p seq still be new?
 * Sequence number 0 is never valid. Does not change the window.
 * @return 0 when acceptable, -1 when replayed or left of the window.
 */
static inline int
sg_replay_check(const struct sg_replay *rw, uint64_t seq)
{
	uint64_t bit;

	if (unlikely(seq == 0))
		return -1;
	if (seq > rw->top)
		return 0;
	if (seq + rw->win <= rw->top)
		return -1;
	bit = rw->bmp[(seq / SG_REPLAY_BUCKET_BITS) & rw->bucket_mask];
	return (bit >> (seq % SG_REPLAY_BUCKET_BITS)) & 1 ? -1 : 0;
}

/**
 * Record @p seq after its ICV passed. Checks again, because two packets of
 * one burst may carry the same number.
 * @return 0 when recorded, -1 when it was a replay after all.
 */
static inline int
sg_replay_update(struct sg_replay *rw, uint64_t seq)
{
	uint64_t b, top_b, mask;
	uint32_t i, n;

	if (sg_replay_check(rw, seq) != 0)
		return -1;
	b = seq / SG_REPLAY_BUCKET_BITS;
	if (seq > rw->top) {
		/* Slide: clear every bucket the new top passes over. */
		top_b = rw->top / SG_REPLAY_BUCKET_BITS;
		n = (uint32_t)RTE_MIN(b - top_b, (uint64_t)rw->bucket_mask + 1);
		for (i = 1; i <= n; i++)
			rw->bmp[(top_b + i) & rw->bucket_mask] = 0;
		rw->top = seq;
	}
	mask = UINT64_C(1) << (seq % SG_REPLAY_BUCKET_BITS);
	rw->bmp[b & rw->bucket_mask] |= mask;
	return 0;
}

/**
 * Infer the high 32 bits of an ESN from its low half (RFC 4303 Appendix A2.2),
 * for a window of @p w packets whose highest number is @p top.
 * @return the full 64-bit sequence number to authenticate and check.
 */
static inline uint64_t
sg_replay_esn_infer_at(uint64_t top, uint32_t w, uint32_t seq_lo)
{
	uint32_t tl = (uint32_t)top;
	uint32_t th = (uint32_t)(top >> 32);
	uint32_t sh;

	if (tl >= w - 1) {
		/* Case A: the window lies within one subspace. */
		sh = seq_lo >= tl - w + 1 ? th : th + 1;
	} else {
		/* Case B: the window spans two subspaces. */
		sh = seq_lo >= tl - w + 1 ? th - 1 : th;
		if (th == 0 && sh == UINT32_MAX)
			sh = 0; /* nothing precedes subspace 0 */
	}
	return ((uint64_t)sh << 32) | seq_lo;
}

/** The same against the window's own top. */
static inline uint64_t
sg_replay_esn_infer(const struct sg_replay *rw, uint32_t seq_lo)
{
	return sg_replay_esn_infer_at(rw->top, rw->win, seq_lo);
}

/* ------------------------------------------------------------------------ */
/* Runtime SA.                                                               */

/** SA flags, fixed when the SA is made. */
enum sg_sa_flag {
	SG_SA_F_ESN = 1 << 0,
	SG_SA_F_REPLAY = 1 << 1, /**< replay window in use */
	SG_SA_F_UDP = 1 << 2,    /**< ESP in UDP (NAT traversal, RFC 3948) */
	SG_SA_F_TFC = 1 << 3,    /**< outbound TFC padding (sg_sa.tfc) */
	/** inbound: the transform needs more than SG_ESP_MIN_PAYLOAD bytes of
	 * ESP, or whole cipher blocks (sg_crypto_xform min_len, in_mask) */
	SG_SA_F_LEN_CHECK = 1 << 4,
};

/**
 * Runtime SA. Line 0 is read-only on the data path; line 1 is written per
 * packet, by the owning worker only. Keys and the replay bitmap are
 * allocated apart, on the owner's NUMA node.
 */
struct sg_sa {
	/* Line 0: read-mostly. */
	/** The key's salt, copied so that building a nonce does not wait on
	 * the key's last cache line; wiped with the SA. */
	uint8_t salt[SG_CRYPTO_SALT_LEN];
	uint32_t spi_be;
	uint32_t tun_src_be;
	uint32_t tun_dst_be;
	uint8_t dir;   /**< enum sg_sa_dir */
	uint8_t mode;  /**< enum sg_sa_mode */
	uint8_t flags; /**< enum sg_sa_flag */
	uint8_t xform; /**< sg_crypto_xform_id(): sizes in sg_crypto_xforms[] */
	/** SG_SA_F_UDP (RFC 3948): the outer UDP ports, as on the wire:
	 * source and destination of the packets this SA sends or takes. */
	uint16_t udp_sport_be;
	uint16_t udp_dport_be;
	uint32_t idx;  /**< index in its table */
	union {
		uint32_t pol_tag;  /**< inbound: the tag inbound policy names for this SA */
		uint32_t seq_slot; /**< outbound: its entry in the state file */
	};
	/** Next byte/packet count that needs a look (soft or hard lifetime,
	 * RFC 4301 §4.4.2.1); UINT64_MAX: none. One compare per packet. */
	uint64_t lim_bytes;
	uint64_t lim_packets;
	const struct sg_crypto_key *key;
	union {
		/** Inbound: the window (SG_SA_F_REPLAY), else NULL. */
		struct sg_replay *replay;
		/** Outbound: sg_sa_prm.tfc, read only when SG_SA_F_TFC is set. */
		uint16_t tfc[SG_SA_TFC_BUCKETS];
	};

	/* Line 1: written per packet by the owner. */
	uint64_t seq __rte_cache_aligned; /**< outbound: last sent */
	uint64_t packets; /**< authenticated (inbound) or encrypted (outbound) by this SA */
	uint64_t bytes;   /**< inner IP bytes of those packets (lifetimes count these) */
	uint64_t last_use_tsc;
	union {
		struct { /* inbound */
			uint64_t auth_fail;
			uint64_t replay_drop;
		};
		struct { /* outbound */
			/** Where the per-packet check next looks: the lower of
			 * seq_limit and the point at which to ask for more. */
			uint64_t seq_check;
			/** Last number the state file covers (or the counter's
			 * end, RFC 4303 §3.3.3); nothing beyond it is sent. */
			uint64_t seq_limit;
		};
	};
	uint64_t other_drop; /**< seq overflow, expiry, bad pad/next header */
	uint8_t dead; /**< hard lifetime reached, idle, or sequence exhausted */
	uint8_t soft_fired; /**< the soft lifetime event was sent */
	uint8_t seq_asked;  /**< outbound: more sequence numbers were asked for */
	uint8_t origin;     /**< sg_sa_prm.origin */
	uint32_t idle_ticks; /**< idle timeout in timer ticks; 0: none */

	/* Line 2: cold; read when a limit is crossed and by the control core. */
	struct sg_sa_lifetime life __rte_cache_aligned;
	uint64_t soft_tsc; /**< TSC of the soft time limit; 0: none */
	uint64_t hard_tsc; /**< TSC of the hard time limit; 0: none */
} __rte_cache_aligned;

_Static_assert(sizeof(struct sg_sa) == 3 * RTE_CACHE_LINE_SIZE, "sg_sa is three cache lines");
_Static_assert(offsetof(struct sg_sa, seq) == RTE_CACHE_LINE_SIZE, "per-packet fields on line 1");
_Static_assert(offsetof(struct sg_sa, life) == 2 * RTE_CACHE_LINE_SIZE, "cold fields on line 2");

/** The SA's SPI in host order. */
static inline uint32_t
sg_sa_spi(const struct sg_sa *sa)
{
	return rte_be_to_cpu_32(sa->spi_be);
}

/** The SA's anti-replay window, or NULL (outbound, or inbound without one). */
static inline struct sg_replay *
sg_sa_replay(const struct sg_sa *sa)
{
	return sa->dir == SG_SA_IN ? sa->replay : NULL;
}

/**
 * TFC padding (RFC 4303 §2.7): the ESP payload length that an inner packet
 * of @p len bytes is padded to under the sizes @p tfc (as in sg_sa_prm.tfc):
 * the first size that holds it, but no more than @p cap, the largest payload
 * the path can carry. @p len itself when no size holds it, or it is past @p cap.
 */
static inline uint32_t
sg_sa_tfc_len(const uint16_t tfc[SG_SA_TFC_BUCKETS], uint32_t len, uint32_t cap)
{
	uint32_t to;
	unsigned int i;

	for (i = 0; i < SG_SA_TFC_BUCKETS && tfc[i] != 0; i++) {
		if (len <= tfc[i]) {
			to = RTE_MIN((uint32_t)tfc[i], cap);
			return RTE_MAX(len, to);
		}
	}
	return len;
}

/** Room for the text of a TFC size list ("1400 1401 1402 mtu") with its NUL. */
#define SG_SA_TFC_TEXT_LEN 32

/** Write @p tfc as the rule grammar spells it ("256 1024 mtu"; "" when empty). @return buf. */
const char *sg_sa_tfc_format(const uint16_t tfc[SG_SA_TFC_BUCKETS], char *buf, size_t len);

/** Recompute the next byte/packet limit after a soft event or a (re)key. */
static inline void
sg_sa_set_limits(struct sg_sa *sa)
{
	const struct sg_sa_lifetime *l = &sa->life;
	uint64_t hb = l->hard_bytes ? l->hard_bytes : UINT64_MAX;
	uint64_t hp = l->hard_packets ? l->hard_packets : UINT64_MAX;
	uint64_t sb = !sa->soft_fired && l->soft_bytes ? l->soft_bytes : UINT64_MAX;
	uint64_t sp = !sa->soft_fired && l->soft_packets ? l->soft_packets : UINT64_MAX;

	sa->lim_bytes = RTE_MIN(hb, sb);
	sa->lim_packets = RTE_MIN(hp, sp);
}

/** Whether @p sa has reached a hard byte or packet limit. */
static inline bool
sg_sa_hard_reached(const struct sg_sa *sa)
{
	return (sa->life.hard_bytes != 0 && sa->bytes >= sa->life.hard_bytes) ||
			(sa->life.hard_packets != 0 && sa->packets >= sa->life.hard_packets);
}

/** Whether @p sa has reached a soft byte or packet limit. */
static inline bool
sg_sa_soft_reached(const struct sg_sa *sa)
{
	return (sa->life.soft_bytes != 0 && sa->bytes >= sa->life.soft_bytes) ||
			(sa->life.soft_packets != 0 && sa->packets >= sa->life.soft_packets);
}

/** Last usable sequence number: the counter must not cycle (RFC 4303 §3.3.3). */
static inline uint64_t
sg_sa_seq_max(const struct sg_sa *sa)
{
	return (sa->flags & SG_SA_F_ESN) ? UINT64_MAX : UINT32_MAX;
}

/** The same, for parameters not yet made into an SA. */
static inline uint64_t
sg_sa_prm_seq_max(const struct sg_sa_prm *p)
{
	return p->esn ? UINT64_MAX : UINT32_MAX;
}

/**
 * Outbound: take a reservation of sequence numbers up to @p limit (0: none,
 * up to the counter's end), asking for more at @p ask. The owner calls this,
 * or the control core before the workers start.
 */
static inline void
sg_sa_seq_reserve(struct sg_sa *sa, uint64_t limit, uint64_t ask)
{
	uint64_t max = sg_sa_seq_max(sa);

	sa->seq_limit = limit != 0 && limit < max ? limit : max;
	sa->seq_check = limit != 0 && ask < sa->seq_limit ? ask : sa->seq_limit;
	sa->seq_asked = 0;
}

/* ------------------------------------------------------------------------ */
/* SA table.                                                                 */

struct sg_sa_table;

/**
 * Size of a table name with its NUL. Short because each table names two
 * rte_hash objects and their rings after it, and those names are global.
 */
#define SG_SA_TABLE_NAMESIZE 16

/** Index meaning "no SA". */
#define SG_SA_NONE UINT32_MAX

/**
 * Create a table for up to @p capacity SAs on @p socket. @p name must be
 * unique among live tables and shorter than SG_SA_TABLE_NAMESIZE.
 * @return the table, or NULL with rte_errno set (EINVAL, ENAMETOOLONG,
 *         EEXIST, ENOMEM).
 */
struct sg_sa_table *sg_sa_table_create(const char *name, uint32_t capacity, int socket);

/** Wipe every key and free the table. NULL is a no-op. */
void sg_sa_table_free(struct sg_sa_table *t);

/**
 * Add an SA owned by lcore @p owner (the table's: every SA of a table has
 * the same owner); keys are expanded with @p mgr and stored on @p socket.
 * @return the new SA's index, or -EEXIST (SPI taken in that direction),
 *         -ENOSPC (table full), -EINVAL (bad parameters), -ENOMEM.
 */
int sg_sa_table_add(struct sg_sa_table *t, const struct sg_sa_prm *prm, IMB_MGR *mgr,
		uint16_t owner, int socket);

/** The lcore that owns the table's SAs (as the last add gave it). */
uint16_t sg_sa_table_owner(const struct sg_sa_table *t);

/**
 * Remove the SA at @p idx and wipe its keys. Only when no worker can still
 * see it (after the owner acknowledged the delete).
 * @return 0 or -ENOENT.
 */
int sg_sa_table_del(struct sg_sa_table *t, uint32_t idx);

/**
 * Rekey outbound SA @p idx in place (RFC 4301 §4.4.2.1 make-before-break on
 * the sending side): it takes @p prm's SPI and key, and its sequence number
 * and counters start again, so policies that name the SA follow it. Only
 * the owning worker calls this, between bursts.
 * @return 0, -ENOENT (no outbound SA there), -EEXIST (new SPI taken),
 *         -EINVAL, -ENOMEM; on error the SA is unchanged.
 */
int sg_sa_table_rekey(struct sg_sa_table *t, uint32_t idx, const struct sg_sa_prm *prm,
		IMB_MGR *mgr, int socket);

/** The part of a table the packet path reads inline; first in the table. */
struct sg_sa_table_hot {
	struct sg_sa *sa;
	uint32_t capacity;
};

/** SA at @p idx, or NULL (a slot is in use while its key is set). */
static inline struct sg_sa *
sg_sa_table_get(const struct sg_sa_table *t, uint32_t idx)
{
	const struct sg_sa_table_hot *h = (const struct sg_sa_table_hot *)t;

	if (unlikely(t == NULL || idx >= h->capacity || h->sa[idx].key == NULL))
		return NULL;
	return &h->sa[idx];
}

/**
 * Start loading the two lines of SA @p idx the data path reads and writes
 * (nothing when @p idx is out of range). With many SAs and large frames
 * they are rarely in L2 by the time a burst gets to them.
 */
static inline void
sg_sa_table_prefetch(const struct sg_sa_table *t, uint32_t idx)
{
	const struct sg_sa_table_hot *h = (const struct sg_sa_table_hot *)t;

	if (likely(idx < h->capacity)) {
		rte_prefetch0(&h->sa[idx]);
		rte_prefetch0(&h->sa[idx].seq);
	}
}

/** Index of the SA with @p spi in direction @p dir, or SG_SA_NONE. */
uint32_t sg_sa_table_find(const struct sg_sa_table *t, enum sg_sa_dir dir, uint32_t spi);

/**
 * Look up @p n inbound SPIs (network byte order) in one bulk hash lookup.
 * idx[i] is SG_SA_NONE where there is no SA.
 */
void sg_sa_table_lookup_in_bulk(const struct sg_sa_table *t, const uint32_t *spi_be,
		uint32_t n, uint32_t *idx);

/** Number of SAs in the table, and its capacity. */
uint32_t sg_sa_table_count(const struct sg_sa_table *t);
uint32_t sg_sa_table_capacity(const struct sg_sa_table *t);

/* ------------------------------------------------------------------------ */
/* Sequence-number state file (control core only).                          */

/**
 * The highest sequence number each outbound key may have used, kept on disk
 * so that a restart never sends a number twice under one key: AES-GCM's
 * nonce is salt and sequence number (RFC 4106 §3), and a repeat gives the
 * key away. A key's numbers are reserved ahead and made durable
 * (sg_seqstore_sync()) before the data path may use them; the owner asks
 * for more at half-way (SG_SHARD_EV_SEQ_LOW). Entries outlive their SA, so a
 * key that comes back (re-added, or re-installed by a key manager after a
 * restart) resumes above its old numbers; the oldest released ones are
 * forgotten first when the file is at its size limit.
 */
struct sg_seqstore;

/** Bytes of a key's fingerprint (a salted SHA-256 of key and salt). */
#define SG_SEQSTORE_FP_LEN 12
/** Most entries a state file holds. */
#define SG_SEQSTORE_MAX_ENTRIES (UINT32_C(1) << 26)
/** Open flag: begin a new file when it is missing, truncated or corrupt. */
#define SG_SEQSTORE_F_INIT 1u

/**
 * Open (and lock) the state file at @p path; needs no EAL. A missing,
 * truncated or corrupt file fails unless @p flags has SG_SEQSTORE_F_INIT;
 * an intact one is always used as it is. @p max_entries 0: the largest.
 * @return the store, or NULL with rte_errno set and @p err saying why.
 */
struct sg_seqstore *sg_seqstore_open(const char *path, uint32_t max_entries, unsigned int flags,
		char *err, size_t errlen);

/** Build the in-memory index (rte_hash, after EAL init). @return 0 or -errno. */
int sg_seqstore_index(struct sg_seqstore *st, int socket);

/** Fingerprint of @p prm's key and salt under this file's own salt. */
void sg_seqstore_fingerprint(const struct sg_seqstore *st, IMB_MGR *mgr,
		const struct sg_sa_prm *prm, uint8_t fp[SG_SEQSTORE_FP_LEN]);

/**
 * An SA starts using the key with fingerprint @p fp: reserve @p reserve
 * numbers above the highest it may have used. Not durable until
 * sg_seqstore_sync().
 * @return 0 with *start (last number possibly used: the SA sends *start + 1
 *         first), *limit and *slot; -EBUSY when a live SA holds the key
 *         (its nonces would repeat), -ENOSPC, -EIO.
 */
int sg_seqstore_claim(struct sg_seqstore *st, const uint8_t fp[SG_SEQSTORE_FP_LEN],
		uint64_t reserve, uint64_t *start, uint64_t *limit, uint32_t *slot);

/** Reserve @p reserve numbers more above max(mark, @p seq). @return 0 or -errno. */
int sg_seqstore_extend(struct sg_seqstore *st, uint32_t slot, uint64_t seq, uint64_t reserve,
		uint64_t *limit);

/**
 * The SA holding @p slot is gone; @p last is its last sequence number when
 * known exactly (the owner answered), else UINT64_MAX. @return 0 or -errno.
 */
int sg_seqstore_release(struct sg_seqstore *st, uint32_t slot, uint64_t last);

/** The mark of @p slot (0 when unused). */
uint64_t sg_seqstore_mark(const struct sg_seqstore *st, uint32_t slot);

/** Make every change so far durable (fdatasync). @return 0 or -errno. */
int sg_seqstore_sync(struct sg_seqstore *st);

/** Entries in the file; *live (if given): those an SA of this run holds. */
uint32_t sg_seqstore_count(const struct sg_seqstore *st, uint32_t *live);

/** Sync, unlock and close. NULL is a no-op. */
void sg_seqstore_close(struct sg_seqstore *st);

#endif /* SG_SA_H */
