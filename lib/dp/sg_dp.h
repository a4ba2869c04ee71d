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

struct rte_ip_frag_tbl;
struct rte_ip_frag_death_row;

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
/** Own IPv4 addresses per port the slow path recognises. */
#define SG_DP_ADDRS_MAX 8
/** ICMP errors a worker may send per second unless told (--icmp-rate). */
#define SG_DP_ICMP_RATE_DEFAULT 100
/** Most ICMP errors a worker sends at once after a quiet spell. */
#define SG_DP_ICMP_BURST_MAX 1000
/** ESP packets a worker reassembles at once unless told (--reasm-flows). */
#define SG_DP_REASM_FLOWS_DEFAULT 1024
/** How long a packet's fragments wait for the rest unless told (ms). */
#define SG_DP_REASM_TIMEOUT_MS_DEFAULT 1000
/** Most fragments one packet is cut into after encryption. */
#define SG_DP_FRAGS_MAX 8
/** Routes the LPM table holds. */
#define SG_DP_ROUTES_MAX 65536

/** IKE's port (RFC 7296 §2). */
#define SG_PUNT_PORT_IKE 500
/** IKE's NAT-T port (RFC 3948): IKE behind the non-ESP marker. */
/** Local ESP-in-UDP endpoints a gateway takes at most. */
#define SG_DP_UDP_EP_MAX 64
#define SG_PUNT_PORT_NATT 4500
/** Default punt rate per port, packets per second. */
#define SG_PUNT_RATE_DEFAULT 10000
/** Default punt burst per port (bucket depth), packets. */
#define SG_PUNT_BURST_DEFAULT 256
/** Longest kernel interface name, with its NUL (IFNAMSIZ). */
#define SG_PUNT_IFNAME_LEN 16
/** Neighbours learned from the kernel per port. */
#define SG_DP_NEIGH_MAX 32
/** Own IPv6 addresses per port the kernel interface carries. */
#define SG_PUNT_ADDRS6_MAX 8
/** Bytes of an IPv6 address. */
#define SG_PUNT_IPV6_LEN 16
/** Entries of a worker's table of next hops it asked the control core to resolve. */
#define SG_DP_RESOLVE_SLOTS 16
/** A worker asks again for one next hop at most this often (the control core
 * asks the kernel at most once a second, SG_PUNT_RESOLVE_MS). */
#define SG_DP_RESOLVE_ASK_MS 100
/** The control core asks the kernel to resolve one address at most this often. */
#define SG_PUNT_RESOLVE_MS 1000

/** One port's slow path ("punt port P addr A.B.C.D/N ..."). Host byte order. */
struct sg_punt_prm {
	uint16_t port;
	uint8_t nb_addr;
	uint8_t nb_addr6;
	uint32_t addr[SG_DP_ADDRS_MAX];
	uint8_t depth[SG_DP_ADDRS_MAX];
	uint8_t addr6[SG_PUNT_ADDRS6_MAX][SG_PUNT_IPV6_LEN]; /**< network byte order */
	uint8_t depth6[SG_PUNT_ADDRS6_MAX];
	char iface[SG_PUNT_IFNAME_LEN]; /**< kernel interface name; "" picks one */
	uint32_t rate;  /**< packets per second to the kernel, and from it to the port */
	uint32_t burst; /**< bucket depth (each direction) */
	uint32_t via;   /**< next hop whose MAC the kernel learns; 0: each packet's destination */
};

/**
 * A neighbour the kernel resolved: written by the control core, read by
 * workers. @c mac holds the six bytes and bit 48 set when valid; a reader
 * reads mac, ip, mac and uses the entry only if both reads agree, so an
 * entry being rewritten is never used with the wrong address.
 */
struct sg_dp_neigh {
	uint64_t mac;
	uint32_t ip_be;
};
#define SG_DP_NEIGH_VALID (UINT64_C(1) << 48)

/**
 * A worker's request to the control core (ring ctx->resolve[w]): the next
 * hop @c ip_be on @c port has no neighbour; ask the kernel to resolve it.
 */
struct sg_dp_resolve_req {
	uint32_t ip_be;
	uint16_t port;
	uint16_t pad;
};

/** Per-port facts the data path needs: role, addresses, MTU. */
struct sg_dp_port {
	struct rte_ether_addr src_mac; /**< this port's MAC */
	struct rte_ether_addr dst_mac; /**< next hop (neigh) */
	uint16_t mtu;
	uint8_t enabled;
	uint8_t unprotected; /**< ESP arrives here (-u) */
	uint8_t has_neigh;
	uint8_t punt;    /**< slow path on: packets for the host go to the kernel */
	uint8_t nb_addr;
	uint32_t addr_be[SG_DP_ADDRS_MAX]; /**< the host's own addresses on this port */
	uint32_t via_be; /**< next hop for learned neighbours; 0: the packet's destination */
	uint16_t nb_learned; /**< entries of learned[] in use (only grows) */
	struct sg_dp_neigh learned[SG_DP_NEIGH_MAX]; /**< from the kernel, when !has_neigh */
};

/** What sg_dp_punt_classify() makes of a frame on an unprotected port. */
enum sg_dp_punt {
	SG_PUNT_NO,     /**< not for the kernel: the data path decides */
	SG_PUNT_YES,    /**< for the host: ARP, IKE, ICMP(v6) to our address */
	SG_PUNT_POLICY, /**< other traffic to our address: to the host if bypass policy says so */
	SG_PUNT_BAD,    /**< addressed to the host but truncated or malformed */
};

/**
 * Classify the frame of @p len bytes at @p frame (Ethernet first) that
 * arrived on port @p p. Off the ESP fast path: called for plaintext and
 * non-IPv4 frames only. Never reads past @p len.
 */
enum sg_dp_punt sg_dp_punt_classify(const uint8_t *frame, uint32_t len,
		const struct sg_dp_port *p);

/** A token bucket in TSC units, written by one lcore only. */
struct sg_dp_tb {
	uint64_t tokens; /**< packets x hz */
	uint64_t cap;    /**< burst x hz */
	uint64_t rate;   /**< packets per second */
	uint64_t hz;     /**< clock ticks per second */
	uint64_t last;   /**< clock at the last take */
};

/** Fill @p tb: @p rate per second, @p burst deep, clock of @p hz, now @p now. */
void sg_dp_tb_init(struct sg_dp_tb *tb, uint64_t rate, uint64_t burst, uint64_t hz,
		uint64_t now);

/** Take one token at clock @p now. @return 1 if there was one, else 0. */
int sg_dp_tb_take(struct sg_dp_tb *tb, uint64_t now);

/**
 * Shared, read-only state once workers run. Built by sg_dp_ctx_create()
 * and filled by the control core before launch.
 */
struct sg_dp_ctx {
	struct sg_shard_dir *dir; /**< inbound SPI -> owning shard (= worker index) */
	struct rte_lpm *lpm; /**< IPv4 routes; next hop = port id */
	uint16_t burst;
	uint16_t nb_workers;
	/** IP MTU ESP leaves by: the smallest of the unprotected ports' (set
	 * with them; RTE_ETHER_MTU until then). TFC padding stays below it. */
	uint16_t esp_mtu;
	/** ICMP errors a worker may send per second (--icmp-rate); 0: none. */
	uint32_t icmp_rate;
	/** ESP packets a worker reassembles at once (--reasm-flows); 0: ESP
	 * fragments are dropped as fragment. Read by sg_dp_lcore_init(). */
	uint32_t reasm_flows;
	uint32_t reasm_timeout_ms; /**< --reasm-timeout-ms */
	uint32_t poll_sleep_us; /**< sleep this long after idle polls; 0: busy poll */
	struct sg_dp_port port[RTE_MAX_ETHPORTS];
	/** handoff[src][dst]: ring from worker index src to worker index dst. */
	struct rte_ring *handoff[SG_DP_WORKERS_MAX][SG_DP_WORKERS_MAX];
	/** punt[w]: worker w's ring of frames for the kernel (NULL: no slow path). */
	struct rte_ring *punt[SG_DP_WORKERS_MAX];
	/** Frames the kernel sent, for worker 0 to send on their port (m->port). */
	struct rte_ring *punt_out;
	/** resolve[w]: worker w's sg_dp_resolve_req ring to the control core. */
	struct rte_ring *resolve[SG_DP_WORKERS_MAX];
	/** Slow-path counters of the control core (punt_rx/tx/drop, drops). */
	struct sg_dp_stats *ctl_stats;
	/** Local (address, UDP port) pairs ESP in UDP arrives at (RFC 3948),
	 * as SG_DP_UDP_EP(addr_be, port_be); 0 is a free slot. Written by the
	 * control core one 64-bit store at a time (sg_dp_udp_ep_add/del), read
	 * by the workers up to nb_udp_ep. */
	uint64_t udp_ep[SG_DP_UDP_EP_MAX];
	uint32_t udp_ep_refs[SG_DP_UDP_EP_MAX]; /**< inbound SAs per pair (control core) */
	volatile uint32_t nb_udp_ep;
	volatile bool quit; /**< set by the control core; workers only read it */
};

/** Pack a local ESP-in-UDP endpoint for sg_dp_ctx.udp_ep. */
#define SG_DP_UDP_EP(addr_be, port_be) (((uint64_t)(addr_be) << 16) | (uint16_t)(port_be) | \
		(UINT64_C(1) << 48))

/**
 * An inbound SA with UDP encapsulation takes ESP in UDP at @p addr_be,
 * @p port_be (control core). Counted: each add needs one del.
 * @return 0, or -ENOSPC when SG_DP_UDP_EP_MAX pairs are in use.
 */
int sg_dp_udp_ep_add(struct sg_dp_ctx *ctx, uint32_t addr_be, uint16_t port_be);

/** One inbound SA less at that pair (control core). */
void sg_dp_udp_ep_del(struct sg_dp_ctx *ctx, uint32_t addr_be, uint16_t port_be);

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
	uint64_t punt_rx;   /**< frames for the host queued to the control core */
	uint64_t punt_tx;   /**< frames from the kernel interface sent on their port */
	uint64_t punt_drop; /**< slow-path frames dropped: drop_punt_bad, _rate, _full, _tx_rate */
	uint64_t natt_rx;    /**< ESP in UDP taken (RFC 3948), before its SA checks */
	uint64_t natt_float; /**< a peer's NAT mapping changed under an authentic packet */
	uint64_t neigh_resolve;      /**< next hops the control core asked the kernel to resolve */
	uint64_t neigh_resolve_fail; /**< such requests the kernel refused */
	/** Frames the gateway made itself: ICMP errors, and the fragments
	 * beyond the first of a packet it fragmented. rx + tx_made == tx + drops. */
	uint64_t tx_made;
	uint64_t frag_out;     /**< ESP packets fragmented after encryption (DF clear) */
	uint64_t icmp_tx;      /**< ICMP "fragmentation needed" sent to a sender */
	uint64_t icmp_limited; /**< ... not sent: over --icmp-rate */
	uint64_t reasm_out;    /**< ESP packets reassembled from fragments (RFC 791) */
	/** Fragments that went into a reassembled packet beyond its first, and
	 * those the table holds now: rx + tx_made == tx + drops + frag_merged +
	 * frag_held. */
	uint64_t frag_merged;
	uint64_t frag_held;
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
	/** ICMP errors this worker may still send (ctx->icmp_rate). */
	struct sg_dp_tb icmp_tb;
	/** Fragments of ESP packets being put back together (NULL: off), and
	 * what the library hands back to free. */
	struct rte_ip_frag_tbl *frag_tbl;
	struct rte_ip_frag_death_row *frag_dr;
	/** Punt rate of each unprotected port, this worker's share. */
	struct sg_dp_tb punt_tb[RTE_MAX_ETHPORTS];
	/** Next hops asked for (dp_resolve_ask), direct-mapped by address. */
	struct {
		uint64_t tsc;
		uint32_t ip_be;
		uint16_t port;
	} asked[SG_DP_RESOLVE_SLOTS];

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

/**
 * Give each worker its share of every punt port's rate (ctx->port[].punt
 * and the rates set) and create the rings to and from the control core:
 * one of @p ring_size per worker, and punt_out. Call before launch.
 * @return 0 or -errno.
 */
int sg_dp_punt_create(struct sg_dp_ctx *ctx, struct sg_dp_lcore *const workers[], uint16_t n,
		const struct sg_punt_prm *prm, uint16_t nb_prm, unsigned int ring_size);

/**
 * Create each of the @p n workers' rings of sg_dp_resolve_req to the control
 * core (@p ring_size entries). Call before launch; freed with the context.
 * @return 0 or -errno.
 */
int sg_dp_resolve_create(struct sg_dp_ctx *ctx, uint16_t n, unsigned int ring_size);

/**
 * Set (or, with @p mac NULL, forget) the learned neighbour @p ip_be of
 * port @p p. Control core only. @return 0, or -ENOSPC when the table is full.
 */
int sg_dp_neigh_learn(struct sg_dp_port *p, uint32_t ip_be, const struct rte_ether_addr *mac);

/**
 * The MAC workers use for @p ip_be on port @p p (learned), 0 on success,
 * -ENOENT if the kernel has not resolved it.
 */
int sg_dp_neigh_lookup(const struct sg_dp_port *p, uint32_t ip_be, struct rte_ether_addr *mac);

/**
 * Give back the mbufs a stopped worker still holds (fragments waiting for
 * the rest: counted as reassembly drops) before their pools go.
 */
void sg_dp_lcore_release(struct sg_dp_lcore *lc);

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
