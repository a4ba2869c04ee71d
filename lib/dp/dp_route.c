/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>

#include <rte_ethdev.h>
#include <rte_ip_frag.h>
#include <rte_lpm.h>
#include <rte_mbuf.h>

#include "sg_dp.h"
#include "sg_pkt.h"
#include "dp_priv.h"

/* Send what each port's buffer holds; what the queue refuses is a drop. */
static inline void
tx_flush(struct sg_dp_lcore *lc, uint16_t port)
{
	uint16_t n = lc->nb_tx[port];
	uint16_t sent;
	uint64_t t = dp_stage_start(lc);

	sent = rte_eth_tx_burst(port, lc->txq, lc->txb[port], n);
	dp_stage(lc, SG_STAGE_TX, &t);
	lc->stats.tx += sent;
	if (unlikely(sent < n)) {
		lc->stats.drops[SG_DROP_TX_FULL] += n - sent;
		rte_pktmbuf_free_bulk(&lc->txb[port][sent], n - sent);
	}
	lc->nb_tx[port] = 0;
}

/*
 * Add L2 to @p m and queue it on @p port. Room: a burst queues at most
 * SG_DP_BURST_MAX packets, and the fragment path flushes what it adds.
 */
static inline int
route_queue(struct sg_dp_lcore *lc, struct rte_mbuf *m, const struct sg_dp_port *p,
		uint16_t port, const struct rte_ether_addr *dmac)
{
	struct rte_ether_hdr *eth;

	eth = (struct rte_ether_hdr *)rte_pktmbuf_prepend(m, RTE_ETHER_HDR_LEN);
	if (unlikely(eth == NULL))
		return -1;
	rte_ether_addr_copy(dmac, &eth->dst_addr);
	rte_ether_addr_copy(&p->src_mac, &eth->src_addr);
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	m->l2_len = RTE_ETHER_HDR_LEN;
	lc->txb[port][lc->nb_tx[port]++] = m;
	return 0;
}

/*
 * A packet past the port's MTU without DF (an ESP packet whose inner one
 * allowed it): fragments of it go out instead (RFC 791; RFC 4301 §8.1,
 * fragmenting after IPsec), copied into mbufs of its pool, so any port can
 * send them. @return 0 when it went (and is freed), else the drop reason.
 */
static __rte_noinline __rte_cold enum sg_drop
route_fragment(struct sg_dp_lcore *lc, struct rte_mbuf *m, const struct sg_dp_port *p,
		uint16_t port, const struct rte_ether_addr *dmac)
{
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, const struct rte_ipv4_hdr *);
	struct rte_mbuf *frag[SG_DP_FRAGS_MAX];
	int32_t n, i;

	if (ip->fragment_offset & rte_cpu_to_be_16(SG_IPV4_DF))
		return SG_DROP_MTU;
	n = rte_ipv4_fragment_copy_nonseg_packet(m, frag, SG_DP_FRAGS_MAX, p->mtu, m->pool);
	if (n <= 0)
		return n == -ENOMEM ? SG_DROP_NO_ROOM : SG_DROP_MTU;
	for (i = 0; i < n; i++) {
		struct rte_ipv4_hdr *h = rte_pktmbuf_mtod(frag[i], struct rte_ipv4_hdr *);

		h->hdr_checksum = 0;
		h->hdr_checksum = rte_ipv4_cksum(h);
		if (lc->nb_tx[port] == SG_DP_BURST_MAX)
			tx_flush(lc, port);
		if (unlikely(route_queue(lc, frag[i], p, port, dmac) != 0)) {
			/* what is queued goes; the rest of the packet is lost with it */
			rte_pktmbuf_free_bulk(&frag[i], (unsigned int)(n - i));
			lc->stats.tx_made += (uint64_t)i;
			tx_flush(lc, port);
			return SG_DROP_NO_ROOM;
		}
	}
	/* the rest of the burst then finds the room it would have had */
	tx_flush(lc, port);
	lc->stats.frag_out++;
	lc->stats.tx_made += (uint64_t)(n - 1);
	rte_pktmbuf_free(m);
	return SG_DROP_MAX;
}

void
dp_route_tx(struct sg_dp_lcore *lc, struct rte_mbuf *mb[], uint16_t n)
{
	const struct sg_dp_ctx *ctx = lc->ctx;
	uint32_t dst[SG_DP_BURST_MAX], hop[SG_DP_BURST_MAX];
	uint64_t used = 0; /* bitmap of ports with packets queued */
	uint64_t t;
	uint16_t i;

	RTE_BUILD_BUG_ON(RTE_MAX_ETHPORTS > 64);
	if (n == 0)
		return;
	t = dp_stage_start(lc);
	for (i = 0; i < n; i++) {
		const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(mb[i], const struct rte_ipv4_hdr *);

		dst[i] = rte_be_to_cpu_32(ip->dst_addr);
	}
	rte_lpm_lookup_bulk(ctx->lpm, dst, hop, n);

	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = mb[i];
		const struct sg_dp_port *p = NULL;
		const struct rte_ether_addr *dmac = NULL;
		struct rte_ether_addr learned;
		uint32_t nh_be;
		uint16_t port = (uint16_t)(hop[i] & 0xffff);
		enum sg_drop why = SG_DROP_MAX;

		if (likely(hop[i] & RTE_LPM_LOOKUP_SUCCESS) && port < RTE_MAX_ETHPORTS)
			p = &ctx->port[port];
		if (unlikely(p == NULL || !p->enabled))
			why = SG_DROP_NO_ROUTE;
		else if (likely(p->has_neigh))
			dmac = &p->dst_mac; /* a neigh line wins over what the kernel learned */
		else {
			nh_be = p->via_be != 0 ? p->via_be : rte_cpu_to_be_32(dst[i]);
			if (sg_dp_neigh_lookup(p, nh_be, &learned) == 0)
				dmac = &learned;
			else if (p->punt)
				dp_resolve_ask(lc, port, nh_be); /* no_route now; the kernel will ARP */
		}
		if (unlikely(dmac == NULL))
			why = SG_DROP_NO_ROUTE;
		else if (unlikely(m->pkt_len > p->mtu)) {
			why = route_fragment(lc, m, p, port, dmac);
			if (why == SG_DROP_MAX)
				continue;
		} else if (unlikely(route_queue(lc, m, p, port, dmac) != 0))
			why = SG_DROP_NO_ROOM;
		if (unlikely(why != SG_DROP_MAX)) {
			dp_count_drop(lc, why);
			rte_pktmbuf_free(m);
			continue;
		}
		used |= UINT64_C(1) << port;
	}
	dp_stage(lc, SG_STAGE_ROUTE, &t);
	while (used != 0) {
		uint16_t port = (uint16_t)rte_bsf64(used);

		tx_flush(lc, port);
		used &= used - 1;
	}
}
