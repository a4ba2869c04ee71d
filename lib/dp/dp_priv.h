/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DP_PRIV_H
#define DP_PRIV_H

/* Helpers shared by the inbound, outbound, route and worker files. */

#include <string.h>

#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "sg_dp.h"
#include "sg_pkt.h"
#include "sg_sa.h"
#include "sg_shard.h"

/* How far ahead of the packet in hand the loops prefetch headers. */
#define DP_PREFETCH_AHEAD 4

/* A handed-off mbuf carries direction and SA index in hash.usr, which is
 * free once rx is done (we never use the RSS hash past rx). */
#define DP_HO_OUTBOUND (UINT32_C(1) << 31)
#define DP_HO_SA_MASK (DP_HO_OUTBOUND - 1)

static inline void
dp_count_drop(struct sg_dp_lcore *lc, enum sg_drop why)
{
	lc->stats.drops[why]++;
}

/* Start timing stages, on the bursts that are sampled (lc->timing). */
static inline uint64_t
dp_stage_start(const struct sg_dp_lcore *lc)
{
	return lc->timing ? rte_rdtsc() : 0;
}

/* Charge the cycles since *t to stage @p s and move *t to now. */
static inline void
dp_stage(struct sg_dp_lcore *lc, enum sg_dp_stage s, uint64_t *t)
{
	uint64_t now;

	if (!lc->timing)
		return;
	now = rte_rdtsc();
	lc->stats.stage_cycles[s] += now - *t;
	*t = now;
}

static inline void
dp_prefetch_ahead(struct rte_mbuf *mb[], uint16_t i, uint16_t n)
{
	if (i + DP_PREFETCH_AHEAD < n)
		rte_prefetch0(rte_pktmbuf_mtod(mb[i + DP_PREFETCH_AHEAD], void *));
}

/*
 * The largest ESP payload (inner packet and TFC padding) whose packet,
 * behind @p head bytes of outer headers (IV included) and sealed with
 * transform @p x, fits the MTU ESP leaves by: what
 * TFC padding pads to at most, and the MTU a sender is told to use.
 */
static inline uint32_t
dp_esp_payload_max(const struct sg_dp_lcore *lc, uint16_t head, const struct sg_crypto_xform *x)
{
	uint32_t mtu = lc->ctx->esp_mtu;

	if (mtu <= (uint32_t)head + x->icv_len + SG_ESP_TRAILER_LEN + x->pad_mask)
		return 0;
	return ((mtu - head - x->icv_len) & ~(uint32_t)x->pad_mask) - SG_ESP_TRAILER_LEN;
}

/*
 * ICMP "fragmentation needed" (RFC 792, RFC 1191) for the IPv4 packet @p m
 * (data at its IP header): a new mbuf from @p m's pool, from @p src_be to
 * the packet's source, telling it @p mtu; NULL when none may go (an ICMP
 * error, a later fragment, a source that is no host: RFC 1122 §3.2.2; the
 * rate; no mbuf). Counts icmp_tx, icmp_limited and tx_made. dp_icmp.c.
 */
struct rte_mbuf *dp_icmp_frag_needed(struct sg_dp_lcore *lc, const struct rte_mbuf *m,
		rte_be32_t src_be, uint16_t mtu);

/*
 * Reassembly of ESP fragments (RFC 791), dp_reasm.c. dp_reasm_init() makes
 * the worker's table when ctx->reasm_flows > 0; dp_reasm_wanted() says
 * whether a fragment is one (ESP, or UDP to an ESP-in-UDP address);
 * dp_reasm() takes it (l2_len, l3_len set) and returns the whole packet,
 * contiguous, once its last fragment came, else NULL (held, or dropped and
 * counted); dp_reasm_expire() drops what waited too long.
 */
int dp_reasm_init(struct sg_dp_lcore *lc);
void dp_reasm_fini(struct sg_dp_lcore *lc);
bool dp_reasm_wanted(const struct sg_dp_lcore *lc, const struct rte_ipv4_hdr *ip);
struct rte_mbuf *dp_reasm(struct sg_dp_lcore *lc, struct rte_mbuf *m);
void dp_reasm_expire(struct sg_dp_lcore *lc, uint64_t tsc);

/* Queue @p m for worker @p dst, which owns its SA; sent by dp_handoff_flush(). */
static inline void
dp_handoff(struct sg_dp_lcore *lc, struct rte_mbuf *m, uint16_t dst, uint32_t tag)
{
	m->hash.usr = tag;
	lc->ho[dst][lc->nb_ho[dst]++] = m;
}

/*
 * Strip Ethernet, check the outer IPv4 header and trim L2 padding so that
 * pkt_len equals the IP total length. Sets l2_len/l3_len.
 * Returns SG_DROP_MAX when the packet is good, else the drop reason.
 */
static inline enum sg_drop
dp_parse_l3(struct rte_mbuf *m, int allow_fragments)
{
	const struct rte_ether_hdr *eth;
	const struct rte_ipv4_hdr *ip;
	uint32_t avail, tot;
	int ihl;

	/* Mbufs hold a frame of the MTU, so a chain is a PMD's choice or a
	 * frame past the MTU: one buffer if it fits, else too big. */
	if (unlikely(!rte_pktmbuf_is_contiguous(m)) && rte_pktmbuf_linearize(m) != 0)
		return SG_DROP_MTU;
	if (unlikely(m->data_len < sizeof(*eth)))
		return SG_DROP_MALFORMED;
	eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	if (unlikely(eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)))
		return SG_DROP_NOT_IPV4;
	ip = (const struct rte_ipv4_hdr *)(eth + 1);
	avail = m->data_len - sizeof(*eth);
	ihl = sg_pkt_ipv4_check(ip, avail);
	if (unlikely(ihl < 0)) {
		if (ihl != SG_PKT_FRAGMENT)
			return SG_DROP_MALFORMED;
		if (!allow_fragments)
			return SG_DROP_FRAGMENT;
		ihl = (ip->version_ihl & RTE_IPV4_HDR_IHL_MASK) * RTE_IPV4_IHL_MULTIPLIER;
	}
	tot = rte_be_to_cpu_16(ip->total_length);
	if (avail > tot)
		rte_pktmbuf_trim(m, (uint16_t)(avail - tot));
	m->l2_len = sizeof(*eth);
	m->l3_len = (uint16_t)ihl;
	m->l4_len = 0; /* ESP in UDP sets it: the UDP header before ESP */
	return SG_DROP_MAX;
}

/*
 * May @p sa pass one more packet? Not dead and inside its byte and packet
 * limits: one compare in the common case; crossing a limit posts the soft
 * event or stops the SA (RFC 4301 §4.4.2.1).
 */
static inline int
dp_sa_live(struct sg_dp_lcore *lc, struct sg_sa *sa)
{
	if (likely(!sa->dead && sa->packets < sa->lim_packets && sa->bytes < sa->lim_bytes))
		return 1;
	return sg_shard_sa_limit(lc->shard, sa) == 0;
}

/* Count a packet @p sa passed and keep the SA from going idle (one store). */
static inline void
dp_sa_count(struct sg_dp_lcore *lc, struct sg_sa *sa, uint32_t bytes)
{
	sa->packets++;
	sa->bytes += bytes;
	if (sa->idle_ticks != 0)
		sg_timer_arm(lc->shard->timer, sa->idx, SG_TIMER_IDLE, lc->now + sa->idle_ticks);
}

/*
 * Nonce (salt || explicit IV, RFC 4106 §3) and AAD (SPI || seq, or SPI ||
 * seq_hi || seq_lo with ESN, RFC 4106 §5) of the op for one packet. No
 * branch on ESN, an SA property: both layouts share SPI and are stored
 * word by word (word 1 is seq_hi or seq_lo), and aad_len picks one.
 */
static inline void
dp_op_nonce_aad(struct sg_crypto_op *op, const struct sg_sa *sa, const void *iv, uint64_t seq)
{
	uint32_t hi = rte_cpu_to_be_32((uint32_t)(seq >> 32));
	uint32_t lo = rte_cpu_to_be_32((uint32_t)seq);
	uint32_t esn = UINT32_C(0) - (uint32_t)((sa->flags & SG_SA_F_ESN) != 0); /* all ones: ESN */
	uint32_t w1 = (hi & esn) | (lo & ~esn);

	RTE_BUILD_BUG_ON(SG_CRYPTO_AAD_MAX < SG_ESP_AAD_ESN_LEN);
	memcpy(op->nonce, sa->salt, SG_GCM_SALT_LEN);
	memcpy(op->nonce + SG_GCM_SALT_LEN, iv, SG_ESP_IV_LEN);
	/* Stored word by word straight into the op: assembling the AAD in a
	 * local and copying it out made a wide load over narrow stores, which
	 * store forwarding cannot serve (measured: a stall per packet). */
	memcpy(op->aad, &sa->spi_be, 4);
	memcpy(op->aad + 4, &w1, 4);
	memcpy(op->aad + 8, &lo, 4);
	op->aad_len = (uint8_t)(SG_ESP_AAD_LEN + (esn & (SG_ESP_AAD_ESN_LEN - SG_ESP_AAD_LEN)));
}

/* Route packets whose data starts at an IPv4 header, add L2 and send. */
void dp_route_tx(struct sg_dp_lcore *lc, struct rte_mbuf *mb[], uint16_t n);

/* Push queued handoff packets to their owners' rings. */
void dp_handoff_flush(struct sg_dp_lcore *lc);

/*
 * ESP stages, in the burst shape of STYLE rule 6: good packets first, then
 * *nb_bad bad ones (counted, for the caller to free); packets handed to
 * another worker leave the array. from_handoff: the packet was handed to
 * its owner, so it is not handed on again (outbound: the global SA index is
 * in hash.usr; inbound: the SPI is looked up in this worker's shard).
 * Outbound, the good ones include the ICMP errors that replaced packets too
 * big to send (SG_DROP_FRAG_NEEDED, counted and freed there).
 */
uint16_t dp_esp_inbound(struct sg_dp_lcore *lc, struct rte_mbuf *mb[], uint16_t n,
		uint32_t *sa_idx, uint16_t *nb_bad, int from_handoff);
uint16_t dp_esp_outbound(struct sg_dp_lcore *lc, struct rte_mbuf *mb[], uint32_t *sa_idx,
		uint16_t n, uint16_t *nb_bad, int from_handoff);

/*
 * Inbound policy (RFC 4301 §5.2): a decrypted packet (sa_idx[i] set) must
 * match a protect rule for its own SA; a plaintext one (sa_idx == NULL)
 * must match bypass. Same burst shape; returns the good count.
 */
uint16_t dp_policy_inbound(struct sg_dp_lcore *lc, struct rte_mbuf *mb[], const uint32_t *sa_idx,
		uint16_t n);

/* Take everything other workers handed to us (also drains before an SA dies). */
uint16_t dp_poll_handoff(struct sg_dp_lcore *lc);

/* Process packets another worker handed to this one. */
void dp_inbound_handoff(struct sg_dp_lcore *lc, struct rte_mbuf *mb[], uint16_t n);
void dp_outbound_handoff(struct sg_dp_lcore *lc, struct rte_mbuf *mb[], uint16_t n);

/*
 * Slow path (dp_punt.c). dp_punt(): frames for the host, within each port's
 * rate, go to the control core's ring; the rest are counted and freed.
 * dp_punt_tx(): worker 0 sends what the kernel interfaces sent; returns how
 * many it took. dp_punt_free(): the rings and what they still hold.
 */
void dp_punt(struct sg_dp_lcore *lc, struct rte_mbuf *mb[], uint16_t n);
uint16_t dp_punt_tx(struct sg_dp_lcore *lc);
void dp_punt_free(struct sg_dp_ctx *ctx);

/*
 * Active resolution (dp_resolve.c). dp_resolve_ask(): the next hop @p ip_be
 * on punt port @p port has no neighbour; tell the control core (at most once
 * per SG_DP_RESOLVE_ASK_MS per hop; never blocks). dp_resolve_free(): the rings.
 */
void dp_resolve_ask(struct sg_dp_lcore *lc, uint16_t port, uint32_t ip_be);
void dp_resolve_free(struct sg_dp_ctx *ctx);

#endif /* DP_PRIV_H */
