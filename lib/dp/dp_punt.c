/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The slow path's data-path half: which frames are for the host (the kernel
 * interface of their port), the per-port token bucket that bounds them, the
 * rings to and from the control core, and neighbours the kernel resolved.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_ring.h>
#include <rte_udp.h>

#include "sg_dp.h"
#include "sg_pkt.h"
#include "dp_priv.h"

/* RFC 3948 §2.2: a UDP/4500 payload starting with four zero bytes is IKE. */
#define PUNT_NON_ESP_MARKER_LEN 4
static const uint8_t non_esp_marker[PUNT_NON_ESP_MARKER_LEN];

static int
own_addr(const struct sg_dp_port *p, uint32_t addr_be)
{
	uint8_t i;

	for (i = 0; i < p->nb_addr; i++)
		if (p->addr_be[i] == addr_be)
			return 1;
	return 0;
}

static enum sg_dp_punt
punt_arp(const uint8_t *l3, uint32_t len, const struct sg_dp_port *p)
{
	const struct rte_arp_hdr *arp = (const struct rte_arp_hdr *)l3;

	if (len < sizeof(*arp) || arp->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
			arp->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
			arp->arp_hlen != RTE_ETHER_ADDR_LEN || arp->arp_plen != sizeof(uint32_t))
		return SG_PUNT_BAD;
	/* Requests for and replies to us; the kernel learns the sender. */
	return own_addr(p, arp->arp_data.arp_tip) ? SG_PUNT_YES : SG_PUNT_NO;
}

static enum sg_dp_punt
punt_ipv4(const uint8_t *l3, uint32_t len, const struct sg_dp_port *p)
{
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)l3;
	const struct rte_udp_hdr *udp;
	uint32_t ihl;

	if (len < sizeof(*ip))
		return SG_PUNT_BAD;
	if (!own_addr(p, ip->dst_addr) || ip->next_proto_id == SG_IPPROTO_ESP)
		return SG_PUNT_NO;
	ihl = (ip->version_ihl & RTE_IPV4_HDR_IHL_MASK) * RTE_IPV4_IHL_MULTIPLIER;
	if ((ip->version_ihl >> 4) != 4 || ihl < sizeof(*ip) || ihl > len ||
			rte_be_to_cpu_16(ip->total_length) < ihl ||
			rte_be_to_cpu_16(ip->total_length) > len)
		return SG_PUNT_BAD;
	/* The kernel reassembles (an IKE_AUTH with certificates fragments). */
	if (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK))
		return SG_PUNT_YES;
	len = rte_be_to_cpu_16(ip->total_length);
	if (ip->next_proto_id == IPPROTO_ICMP)
		return SG_PUNT_YES;
	if (ip->next_proto_id != IPPROTO_UDP)
		return SG_PUNT_POLICY;
	if (len < ihl + sizeof(*udp))
		return SG_PUNT_BAD;
	udp = (const struct rte_udp_hdr *)(l3 + ihl);
	if (rte_be_to_cpu_16(udp->dgram_len) < sizeof(*udp) ||
			rte_be_to_cpu_16(udp->dgram_len) > len - ihl)
		return SG_PUNT_BAD;
	if (udp->dst_port == rte_cpu_to_be_16(SG_PUNT_PORT_IKE))
		return SG_PUNT_YES;
	if (udp->dst_port != rte_cpu_to_be_16(SG_PUNT_PORT_NATT))
		return SG_PUNT_POLICY;
	if (rte_be_to_cpu_16(udp->dgram_len) < sizeof(*udp) + PUNT_NON_ESP_MARKER_LEN)
		return SG_PUNT_BAD;
	/* ESP in UDP (RFC 3948 §2.1) is not terminated here (no NAT-T yet). */
	if (memcmp(udp + 1, non_esp_marker, sizeof(non_esp_marker)) != 0)
		return SG_PUNT_NO;
	return SG_PUNT_YES;
}

enum sg_dp_punt
sg_dp_punt_classify(const uint8_t *frame, uint32_t len, const struct sg_dp_port *p)
{
	const struct rte_ether_hdr *eth = (const struct rte_ether_hdr *)frame;
	const uint8_t *l3 = frame + sizeof(*eth);
	uint32_t l3len;

	if (!p->punt)
		return SG_PUNT_NO;
	if (len < sizeof(*eth))
		return SG_PUNT_BAD;
	l3len = len - sizeof(*eth);
	switch (rte_be_to_cpu_16(eth->ether_type)) {
	case RTE_ETHER_TYPE_ARP:
		return punt_arp(l3, l3len, p);
	case RTE_ETHER_TYPE_IPV4:
		return punt_ipv4(l3, l3len, p);
	case RTE_ETHER_TYPE_IPV6:
		/* Neighbour discovery and echo; the kernel filters the rest. */
		if (l3len < sizeof(struct rte_ipv6_hdr))
			return SG_PUNT_BAD;
		return ((const struct rte_ipv6_hdr *)l3)->proto == IPPROTO_ICMPV6 ?
				SG_PUNT_YES : SG_PUNT_NO;
	default:
		return SG_PUNT_NO;
	}
}

void
sg_dp_tb_init(struct sg_dp_tb *tb, uint64_t rate, uint64_t burst, uint64_t hz, uint64_t now)
{
	tb->rate = rate;
	tb->hz = hz;
	tb->cap = burst * hz;
	tb->tokens = tb->cap;
	tb->last = now;
}

int
sg_dp_tb_take(struct sg_dp_tb *tb, uint64_t now)
{
	uint64_t dt = now - tb->last;

	if (tb->rate == 0)
		return 0;
	tb->last = now;
	/* A long idle gap fills the bucket; bound dt so dt * rate cannot wrap. */
	if (dt >= tb->cap / tb->rate + 1)
		tb->tokens = tb->cap;
	else
		tb->tokens = RTE_MIN(tb->cap, tb->tokens + dt * tb->rate);
	if (tb->tokens < tb->hz)
		return 0;
	tb->tokens -= tb->hz;
	return 1;
}

/* Workers' share of a port's rate and burst: the shares add up to no more
 * than the whole, so the port never punts more than rate * t + burst. */
static uint64_t
share(uint32_t x, uint16_t n)
{
	return RTE_MAX((uint64_t)x / n, UINT64_C(1));
}

int
sg_dp_punt_create(struct sg_dp_ctx *ctx, struct sg_dp_lcore *const workers[], uint16_t n,
		const struct sg_punt_prm *prm, uint16_t nb_prm, unsigned int ring_size)
{
	char name[RTE_RING_NAMESIZE];
	uint64_t hz = rte_get_tsc_hz(), now = rte_rdtsc();
	uint16_t w, i;

	if (nb_prm == 0)
		return 0;
	if (n == 0 || n > SG_DP_WORKERS_MAX)
		return -EINVAL;
	for (w = 0; w < n; w++) {
		snprintf(name, sizeof(name), "sg_punt_%u_%p", w, (void *)ctx);
		/* One producer (the worker), one consumer (the control core). */
		ctx->punt[w] = rte_ring_create(name, ring_size, rte_socket_id(),
				RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (ctx->punt[w] == NULL)
			return -rte_errno;
		for (i = 0; i < nb_prm; i++)
			sg_dp_tb_init(&workers[w]->punt_tb[prm[i].port], share(prm[i].rate, n),
					share(prm[i].burst, n), hz, now);
	}
	snprintf(name, sizeof(name), "sg_punt_out_%p", (void *)ctx);
	/* The control core produces, worker 0 consumes. */
	ctx->punt_out = rte_ring_create(name, ring_size, workers[0]->socket,
			RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (ctx->punt_out == NULL)
		return -rte_errno;
	return 0;
}

static void
ring_drain_free(struct rte_ring *r)
{
	struct rte_mbuf *m;

	if (r == NULL)
		return;
	while (rte_ring_dequeue(r, (void **)&m) == 0)
		rte_pktmbuf_free(m);
	rte_ring_free(r);
}

void
dp_punt_free(struct sg_dp_ctx *ctx)
{
	uint16_t w;

	for (w = 0; w < SG_DP_WORKERS_MAX; w++) {
		ring_drain_free(ctx->punt[w]);
		ctx->punt[w] = NULL;
	}
	ring_drain_free(ctx->punt_out);
	ctx->punt_out = NULL;
}

void
dp_punt(struct sg_dp_lcore *lc, struct rte_mbuf *mb[], uint16_t n)
{
	struct rte_mbuf *drop[SG_DP_BURST_MAX];
	uint64_t now;
	uint16_t i, k = 0, nd = 0, sent;

	if (n == 0)
		return;
	now = rte_rdtsc();
	for (i = 0; i < n; i++) {
		if (sg_dp_tb_take(&lc->punt_tb[mb[i]->port], now))
			mb[k++] = mb[i];
		else
			drop[nd++] = mb[i];
	}
	if (nd > 0) {
		lc->stats.drops[SG_DROP_PUNT_RATE] += nd;
		lc->stats.punt_drop += nd;
		rte_pktmbuf_free_bulk(drop, nd);
	}
	if (k == 0)
		return;
	sent = (uint16_t)rte_ring_enqueue_burst(lc->ctx->punt[lc->idx], (void *const *)mb, k, NULL);
	lc->stats.punt_rx += sent;
	if (unlikely(sent < k)) {
		lc->stats.drops[SG_DROP_PUNT_FULL] += k - sent;
		lc->stats.punt_drop += k - sent;
		rte_pktmbuf_free_bulk(&mb[sent], k - sent);
	}
}

/* Send @p n frames of the kernel on @p port, counting what the queue refuses. */
static void
punt_send(struct sg_dp_lcore *lc, uint16_t port, struct rte_mbuf *mb[], uint16_t n)
{
	uint16_t sent = rte_eth_tx_burst(port, lc->txq, mb, n);

	lc->stats.punt_tx += sent;
	if (unlikely(sent < n)) {
		lc->stats.drops[SG_DROP_PUNT_FULL] += n - sent;
		lc->stats.punt_drop += n - sent;
		rte_pktmbuf_free_bulk(&mb[sent], n - sent);
	}
}

uint16_t
dp_punt_tx(struct sg_dp_lcore *lc)
{
	struct rte_mbuf *mb[SG_DP_BURST_MAX];
	uint16_t n, i, start;

	n = (uint16_t)rte_ring_dequeue_burst(lc->ctx->punt_out, (void **)mb, SG_DP_BURST_MAX, NULL);
	/* Frames come in runs for one port; send each run as one burst. */
	for (i = 1, start = 0; i <= n; i++) {
		if (i < n && mb[i]->port == mb[start]->port)
			continue;
		punt_send(lc, mb[start]->port, &mb[start], i - start);
		start = i;
	}
	return n;
}

int
sg_dp_neigh_learn(struct sg_dp_port *p, uint32_t ip_be, const struct rte_ether_addr *mac)
{
	uint64_t w = 0;
	uint16_t i, free_slot = SG_DP_NEIGH_MAX;

	if (mac != NULL) {
		memcpy(&w, mac->addr_bytes, RTE_ETHER_ADDR_LEN);
		w |= SG_DP_NEIGH_VALID;
	}
	for (i = 0; i < p->nb_learned; i++) {
		if (p->learned[i].ip_be == ip_be) {
			__atomic_store_n(&p->learned[i].mac, w, __ATOMIC_RELEASE);
			return 0;
		}
		if (free_slot == SG_DP_NEIGH_MAX &&
				__atomic_load_n(&p->learned[i].mac, __ATOMIC_RELAXED) == 0)
			free_slot = i;
	}
	if (mac == NULL)
		return 0;
	if (free_slot < SG_DP_NEIGH_MAX) {
		/* Already invalid; readers check mac before and after the address. */
		__atomic_store_n(&p->learned[free_slot].ip_be, ip_be, __ATOMIC_RELEASE);
		__atomic_store_n(&p->learned[free_slot].mac, w, __ATOMIC_RELEASE);
		return 0;
	}
	if (p->nb_learned == SG_DP_NEIGH_MAX)
		return -ENOSPC;
	p->learned[p->nb_learned].ip_be = ip_be;
	p->learned[p->nb_learned].mac = w;
	__atomic_store_n(&p->nb_learned, p->nb_learned + 1, __ATOMIC_RELEASE);
	return 0;
}

int
sg_dp_neigh_lookup(const struct sg_dp_port *p, uint32_t ip_be, struct rte_ether_addr *mac)
{
	uint16_t i, n = __atomic_load_n(&p->nb_learned, __ATOMIC_ACQUIRE);

	for (i = 0; i < n; i++) {
		const struct sg_dp_neigh *e = &p->learned[i];
		uint64_t m1 = __atomic_load_n(&e->mac, __ATOMIC_ACQUIRE);
		uint32_t ip = __atomic_load_n(&e->ip_be, __ATOMIC_ACQUIRE);
		uint64_t m2 = __atomic_load_n(&e->mac, __ATOMIC_ACQUIRE);

		if (ip != ip_be || m1 != m2 || !(m1 & SG_DP_NEIGH_VALID))
			continue;
		memcpy(mac->addr_bytes, &m1, RTE_ETHER_ADDR_LEN);
		return 0;
	}
	return -ENOENT;
}
