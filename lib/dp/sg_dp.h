/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SG_DP_H
#define SG_DP_H

/**
 * @file
 * The burst pipeline: rx, classify, SA lookup, crypto, encap/decap, route,
 * tx. struct sg_dp_ctx is built by the control core and read-only once
 * workers run; struct sg_dp_lcore holds everything one worker writes.
 */

#include <stdbool.h>
#include <stdint.h>

#include <intel-ipsec-mb.h>
#include <rte_common.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include "sg_common.h"
#include "sg_crypto.h"

struct sg_shard;
struct sg_shard_dir;
struct sg_spd;
struct rte_lpm;
struct rte_ring;

/** One route (ipsec-secgw "rt ipv4 dst A.B.C.D/N port P"). Host byte order. */
struct sg_route_prm {
	uint32_t dst;
	uint8_t depth;
	uint16_t port;
};

/** Next-hop MAC of a port (ipsec-secgw "neigh port P MAC"). */
struct sg_neigh_prm {
	uint16_t port;
	struct rte_ether_addr mac;
};

/** Workers time their stages on one burst in 2^this (TSC reads cost). */
#define SG_DP_STAGE_SAMPLE_SHIFT 4

/** Entries of a worker's direct-mapped SPI cache (a power of two). */
#define SG_DP_SPI_CACHE 1024

/** Largest rx burst a worker asks for. */
#define SG_DP_BURST_MAX 64
/** Default rx burst. */
#define SG_DP_BURST_DEFAULT 32
/** (port, queue) pairs one worker may poll. */
#define SG_DP_RXQ_MAX 16
/** Workers one gateway runs (bounds the per-worker handoff buffers). */
#define SG_DP_WORKERS_MAX 64
/** Routes the LPM table holds. */
#define SG_DP_ROUTES_MAX 65536

/** Per-port facts the data path needs: role, addresses, MTU. */
struct sg_dp_port {
	struct rte_ether_addr src_mac; /**< this port's MAC */
	struct rte_ether_addr dst_mac; /**< next hop (neigh) */
	uint16_t mtu;
	uint8_t enabled;
	uint8_t unprotected; /**< ESP arrives here (-u) */
	uint8_t has_neigh;
};

/**
 * Shared, read-only state once workers run. Built by sg_dp_ctx_create()
 * and filled by the control core before launch.
 */
struct sg_dp_ctx {
	struct sg_shard_dir *dir; /**< inbound SPI -> owning shard (= worker index) */
	struct rte_lpm *lpm; /**< IPv4 routes; next hop = port id */
	uint16_t burst;
	uint16_t nb_workers;
	uint32_t poll_sleep_us; /**< sleep this long after idle polls; 0: busy poll */
	struct sg_dp_port port[RTE_MAX_ETHPORTS];
	/** handoff[src][dst]: ring from worker index src to worker index dst. */
	struct rte_ring *handoff[SG_DP_WORKERS_MAX][SG_DP_WORKERS_MAX];
	volatile bool quit; /**< set by the control core; workers only read it */
};

/** One (port, queue) a worker polls. */
struct sg_dp_rxq {
	uint16_t port;
	uint16_t queue;
};

/**
 * Pipeline stages whose cycles each worker adds up (per burst, not per
 * packet: a TSC read costs about as much as a few packets' parsing).
 */
enum sg_dp_stage {
	SG_STAGE_RX,       /**< rte_eth_rx_burst() calls that returned packets */
	SG_STAGE_PARSE,    /**< L2/L3 checks, split by direction */
	SG_STAGE_LOOKUP,   /**< SA lookup (inbound), policy classify (both) */
	SG_STAGE_CRYPTO,   /**< the ipsec-mb burst */
	SG_STAGE_ENCAP,    /**< ESP encap/decap around the crypto call */
	SG_STAGE_ROUTE,    /**< LPM lookup and L2 rewrite */
	SG_STAGE_TX,       /**< rte_eth_tx_burst() */
	SG_STAGE_MAX
};

/** Stable name of a stage for telemetry. */
const char *sg_dp_stage_name(enum sg_dp_stage s);

/** Counters of one worker, written by that worker only. */
struct sg_dp_stats {
	uint64_t rx;
	uint64_t tx;
	uint64_t inbound;   /**< ESP packets decrypted and passed by inbound policy */
	uint64_t outbound;  /**< packets encrypted */
	uint64_t bypass;    /**< plaintext forwarded by a bypass policy */
	uint64_t handoff_tx; /**< packets passed to their owner */
	uint64_t handoff_rx; /**< packets taken from other workers */
	uint64_t busy_cycles; /**< TSC cycles spent on bursts that had packets */
	uint64_t polls;
	uint64_t expired;     /**< SAs whose time limit or idle timeout fired */
	uint64_t events_lost; /**< events the control core's ring had no room for */
	/** Cycles by stage on sampled bursts: scale by 2^stage_sample_shift. */
	uint64_t stage_cycles[SG_STAGE_MAX];
	uint64_t drops[SG_DROP_MAX];
};

/** A worker: its queues, its ipsec-mb manager, its counters and scratch. */
struct sg_dp_lcore {
	uint16_t lcore_id;
	uint16_t idx;    /**< worker index, 0..nb_workers-1 */
	int socket;
	uint16_t nb_rxq;
	struct sg_dp_rxq rxq[SG_DP_RXQ_MAX];
	uint16_t txq;    /**< this worker's tx queue on every port */
	uint16_t ip_id;  /**< outer IPv4 identification */
	uint32_t now;    /**< timer tick of this poll iteration */
	uint8_t timing;  /**< time the stages of this burst */
	uint8_t stage_sample_shift; /**< time one burst in 2^shift (0: every one) */
	uint32_t bursts;
	IMB_MGR *mgr;
	const struct sg_dp_ctx *ctx;
	struct sg_shard *shard; /**< this worker's sessions; shard id == idx */
	const struct sg_spd *spd_in;  /**< switched by the control core's SPD_SET */
	const struct sg_spd *spd_out;
	struct sg_dp_stats stats __rte_cache_aligned;

	/* SPI -> SA index in front of the shard's rte_hash; written by this
	 * worker only, checked against the SA it names, so never stale. */
	struct {
		uint32_t spi_be;
		uint32_t idx;
	} spi_cache[SG_DP_SPI_CACHE] __rte_cache_aligned;

	/* Scratch, reused every burst so it stays in this core's cache. */
	struct sg_crypto_op ops[SG_DP_BURST_MAX] __rte_cache_aligned;
	uint16_t nb_ho[SG_DP_WORKERS_MAX];
	struct rte_mbuf *ho[SG_DP_WORKERS_MAX][SG_DP_BURST_MAX];
	uint16_t nb_tx[RTE_MAX_ETHPORTS];
	struct rte_mbuf *txb[RTE_MAX_ETHPORTS][SG_DP_BURST_MAX];
} __rte_cache_aligned;

/**
 * Allocate the shared context on @p socket with an LPM for @p nb_routes.
 * @return the context, or NULL with rte_errno set.
 */
struct sg_dp_ctx *sg_dp_ctx_create(int socket, uint32_t nb_routes);

/** Free the context, its LPM and handoff rings (not the SA table or SPDs). */
void sg_dp_ctx_free(struct sg_dp_ctx *ctx);

/**
 * Add a route to @p ctx.
 * @return 0, -EINVAL (bad depth or port not enabled) or an rte_lpm error.
 */
int sg_dp_route_add(struct sg_dp_ctx *ctx, const struct sg_route_prm *rt);

/**
 * Create the handoff rings between every pair of the @p n workers, each
 * on the receiving worker's socket.
 * @return 0 or -errno.
 */
int sg_dp_handoff_create(struct sg_dp_ctx *ctx, const struct sg_dp_lcore *const workers[],
		uint16_t n, unsigned int ring_size);

/**
 * Initialise worker state @p lc for lcore @p lcore_id, worker index @p idx
 * (allocates its IMB_MGR on its socket). The caller sets lc->shard.
 * @return 0 or -errno.
 */
int sg_dp_lcore_init(struct sg_dp_lcore *lc, const struct sg_dp_ctx *ctx, uint16_t lcore_id,
		uint16_t idx);

/**
 * Apply the control core's pending commands (SA add/delete/rekey, new
 * SPDs). Workers call it between bursts; exposed for tests.
 * @return number of commands applied.
 */
unsigned int sg_dp_apply_commands(struct sg_dp_lcore *lc);

/** Release what sg_dp_lcore_init() allocated. */
void sg_dp_lcore_fini(struct sg_dp_lcore *lc);

/** Worker main loop for rte_eal_remote_launch(); @p arg is a struct sg_dp_lcore. */
int sg_dp_worker_main(void *arg);

/**
 * Run one burst received on an unprotected port: ESP is authenticated,
 * decrypted and checked against inbound policy; plaintext goes through
 * inbound bypass policy. Good packets are routed and sent; every other
 * packet is counted and freed. Packets whose SA another worker owns are
 * passed to it. Exposed for tests and benchmarks.
 */
void sg_dp_process_inbound(struct sg_dp_lcore *lc, struct rte_mbuf *mb[], uint16_t n);

/** Same for a burst received on a protected port (policy, encap, route, tx). */
void sg_dp_process_outbound(struct sg_dp_lcore *lc, struct rte_mbuf *mb[], uint16_t n);

/**
 * Add every counter of @p s to @p sum (the control core, reading a worker's
 * counters while it writes them: each is one aligned u64).
 */
void sg_dp_stats_add(struct sg_dp_stats *sum, const struct sg_dp_stats *s);

/** Sum of every drop counter of @p s. */
uint64_t sg_dp_stats_drops(const struct sg_dp_stats *s);

#endif /* SG_DP_H */
