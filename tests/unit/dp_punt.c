/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The slow path's data-path half: a numbered table of frames through the
 * classifier (each truncated at every length too), a numbered token-bucket
 * table in clock ticks, dp_punt() against its rate and a full ring (counted
 * by reason, nothing leaked), the learned-neighbour table, and the requests
 * to resolve a next hop that routing a packet with no neighbour makes.
 */
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <rte_arp.h>
#include <rte_errno.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_udp.h>

#include <rte_cycles.h>
#include <rte_ring_elem.h>

#include "sg_dp.h"
#include "sg_pkt.h"
#include "dp_priv.h"
#include "test_dp.h"

#define GW_ADDR SG_IPV4(172, 16, 0, 2)
#define GW_ADDR2 SG_IPV4(192, 0, 2, 7)
#define OTHER SG_IPV4(10, 2, 0, 9)
#define PEER_ADDR SG_IPV4(172, 16, 0, 1)

static struct sg_dp_port port = {
	.enabled = 1, .unprotected = 1, .punt = 1, .nb_addr = 2,
};

/* What a row builds. */
enum kind { K_ARP, K_IPV4, K_IPV6, K_OTHER_ETH };

struct row {
	const char *name;
	enum kind kind;
	uint32_t dst;       /* IPv4 dst, or ARP target */
	uint8_t proto;      /* IPv4 protocol, or IPv6 next header */
	uint16_t dport;     /* UDP destination port */
	int marker;         /* UDP/4500 payload: 1 non-ESP marker, 0 an SPI */
	int frag;           /* IPv4 MF set */
	enum sg_dp_punt want;
};

static const struct row rows[] = {
	/*  1 */ {"ARP request for our address", K_ARP, GW_ADDR, 0, 0, 0, 0, SG_PUNT_YES},
	/*  2 */ {"ARP request for our second address", K_ARP, GW_ADDR2, 0, 0, 0, 0, SG_PUNT_YES},
	/*  3 */ {"ARP request for another host", K_ARP, OTHER, 0, 0, 0, 0, SG_PUNT_NO},
	/*  4 */ {"ICMP echo to us", K_IPV4, GW_ADDR, IPPROTO_ICMP, 0, 0, 0, SG_PUNT_YES},
	/*  5 */ {"ICMP to another host", K_IPV4, OTHER, IPPROTO_ICMP, 0, 0, 0, SG_PUNT_NO},
	/*  6 */ {"IKE UDP/500 to us", K_IPV4, GW_ADDR, IPPROTO_UDP, 500, 0, 0, SG_PUNT_YES},
	/*  7 */ {"IKE UDP/4500 non-ESP marker", K_IPV4, GW_ADDR, IPPROTO_UDP, 4500, 1, 0,
		SG_PUNT_YES},
	/*  8 */ {"ESP in UDP/4500 (not terminated)", K_IPV4, GW_ADDR, IPPROTO_UDP, 4500, 0, 0,
		SG_PUNT_NO},
	/*  9 */ {"ESP to us: the fast path's", K_IPV4, GW_ADDR, SG_IPPROTO_ESP, 0, 0, 0,
		SG_PUNT_NO},
	/* 10 */ {"other UDP to us: bypass policy decides", K_IPV4, GW_ADDR, IPPROTO_UDP, 53, 0, 0,
		SG_PUNT_POLICY},
	/* 11 */ {"TCP to us: bypass policy decides", K_IPV4, GW_ADDR, IPPROTO_TCP, 0, 0, 0,
		SG_PUNT_POLICY},
	/* 12 */ {"UDP/500 to another host", K_IPV4, OTHER, IPPROTO_UDP, 500, 0, 0, SG_PUNT_NO},
	/* 13 */ {"fragment to us: the kernel reassembles", K_IPV4, GW_ADDR, IPPROTO_UDP, 500, 0,
		1, SG_PUNT_YES},
	/* 14 */ {"ICMPv6 (neighbour discovery)", K_IPV6, 0, IPPROTO_ICMPV6, 0, 0, 0, SG_PUNT_YES},
	/* 15 */ {"IPv6 UDP", K_IPV6, 0, IPPROTO_UDP, 0, 0, 0, SG_PUNT_NO},
	/* 16 */ {"LLDP", K_OTHER_ETH, 0, 0, 0, 0, 0, SG_PUNT_NO},
};

/* Build row @p r into @p f; returns its length. */
static uint32_t
build(const struct row *r, uint8_t *f)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)f;
	uint8_t *l3 = f + sizeof(*eth);
	uint32_t len = sizeof(*eth);

	memset(f, 0, 256);
	memset(&eth->dst_addr, 0xff, RTE_ETHER_ADDR_LEN);
	if (r->kind == K_ARP) {
		struct rte_arp_hdr *arp = (struct rte_arp_hdr *)l3;

		eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
		arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
		arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
		arp->arp_hlen = RTE_ETHER_ADDR_LEN;
		arp->arp_plen = 4;
		arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
		arp->arp_data.arp_sip = rte_cpu_to_be_32(PEER_ADDR);
		arp->arp_data.arp_tip = rte_cpu_to_be_32(r->dst);
		return len + sizeof(*arp);
	}
	if (r->kind == K_IPV6) {
		struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)l3;

		eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
		ip6->vtc_flow = rte_cpu_to_be_32(6u << 28);
		ip6->proto = r->proto;
		ip6->payload_len = rte_cpu_to_be_16(24);
		return len + sizeof(*ip6) + 24;
	}
	if (r->kind == K_OTHER_ETH) {
		eth->ether_type = rte_cpu_to_be_16(0x88cc);
		return len + 46;
	}
	{
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)l3;
		struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
		uint16_t l4 = 8 + 12;

		eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
		ip->version_ihl = RTE_IPV4_VHL_DEF;
		ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + l4));
		ip->fragment_offset = r->frag ? rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG) : 0;
		ip->time_to_live = 64;
		ip->next_proto_id = r->proto;
		ip->src_addr = rte_cpu_to_be_32(PEER_ADDR);
		ip->dst_addr = rte_cpu_to_be_32(r->dst);
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		if (r->proto == IPPROTO_UDP) {
			udp->src_port = rte_cpu_to_be_16(r->dport);
			udp->dst_port = rte_cpu_to_be_16(r->dport);
			udp->dgram_len = rte_cpu_to_be_16(l4);
			if (r->dport == 4500 && !r->marker)
				memcpy(udp + 1, "\x00\x00\x10\x01", 4); /* an SPI: ESP in UDP */
		}
		return len + sizeof(*ip) + l4;
	}
}

static void
set_addrs(void)
{
	port.addr_be[0] = rte_cpu_to_be_32(GW_ADDR);
	port.addr_be[1] = rte_cpu_to_be_32(GW_ADDR2);
}

static void
test_classify_table(void)
{
	uint8_t f[256];
	unsigned int i;

	set_addrs();
	for (i = 0; i < RTE_DIM(rows); i++) {
		uint32_t len = build(&rows[i], f);
		enum sg_dp_punt got = sg_dp_punt_classify(f, len, &port);

		if (got != rows[i].want)
			fprintf(stderr, "\n  row %u (%s): got %d, want %d", i + 1, rows[i].name, got,
					rows[i].want);
		CU_ASSERT_EQUAL(got, rows[i].want);
	}
}

/* A port without a slow path punts nothing, whatever the frame. */
static void
test_classify_off(void)
{
	struct sg_dp_port off = port;
	uint8_t f[256];
	unsigned int i;

	set_addrs();
	off.punt = 0;
	for (i = 0; i < RTE_DIM(rows); i++)
		CU_ASSERT_EQUAL(sg_dp_punt_classify(f, build(&rows[i], f), &off), SG_PUNT_NO);
}

/*
 * Every row cut at every length: a frame for the host that lost part of
 * the headers its verdict needs is BAD, never YES; and nothing past the
 * length is read (the bytes beyond are poisoned differently on two runs
 * and must not change the answer).
 */
static void
test_classify_truncated(void)
{
	uint8_t f[256], g[256];
	unsigned int i;
	uint32_t len, cut;

	set_addrs();
	for (i = 0; i < RTE_DIM(rows); i++) {
		len = build(&rows[i], f);
		for (cut = 0; cut < len; cut++) {
			enum sg_dp_punt a, b;

			memcpy(g, f, sizeof(g));
			memset(f + cut, 0x00, sizeof(f) - cut);
			memset(g + cut, 0xff, sizeof(g) - cut);
			a = sg_dp_punt_classify(f, cut, &port);
			b = sg_dp_punt_classify(g, cut, &port);
			CU_ASSERT_EQUAL(a, b);
			if (rows[i].want == SG_PUNT_YES && cut < len)
				CU_ASSERT(a != SG_PUNT_YES || rows[i].kind == K_IPV6);
			build(&rows[i], f);
		}
	}
}

/* Malformed headers addressed to us: BAD, counted as punt_bad by the pipeline. */
static void
test_classify_malformed(void)
{
	uint8_t f[256];
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f + sizeof(struct rte_ether_hdr));
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(f + sizeof(struct rte_ether_hdr));
	uint32_t len;

	set_addrs();
	len = build(&rows[5], f); /* IKE UDP/500 */
	udp->dgram_len = rte_cpu_to_be_16(200); /* longer than the packet */
	CU_ASSERT_EQUAL(sg_dp_punt_classify(f, len, &port), SG_PUNT_BAD);
	len = build(&rows[5], f);
	udp->dgram_len = rte_cpu_to_be_16(4); /* shorter than a UDP header */
	CU_ASSERT_EQUAL(sg_dp_punt_classify(f, len, &port), SG_PUNT_BAD);
	len = build(&rows[5], f);
	ip->version_ihl = 0x44; /* IHL below 5 */
	CU_ASSERT_EQUAL(sg_dp_punt_classify(f, len, &port), SG_PUNT_BAD);
	len = build(&rows[6], f); /* UDP/4500 too short for the marker */
	udp->dgram_len = rte_cpu_to_be_16(10);
	CU_ASSERT_EQUAL(sg_dp_punt_classify(f, len, &port), SG_PUNT_BAD);
	len = build(&rows[0], f); /* ARP with a 16-byte protocol address */
	arp->arp_plen = 16;
	CU_ASSERT_EQUAL(sg_dp_punt_classify(f, len, &port), SG_PUNT_BAD);
}

/* Token bucket, 1000 ticks a second, rate 10/s (a token per 100 ticks), burst 3. */
static void
test_token_bucket(void)
{
	static const struct {
		uint64_t now;
		int want;
	} steps[] = {
		/*  1 */ {0, 1}, /*  2 */ {0, 1}, /*  3 */ {0, 1}, /* the burst */
		/*  4 */ {0, 0}, /*  5 */ {99, 0}, /* 99 ticks: 0.99 of a token */
		/*  6 */ {100, 1}, /*  7 */ {100, 0},
		/*  8 */ {250, 1}, /* 1.5 tokens there: one taken, 0.5 left */
		/*  9 */ {300, 1}, /* 0.5 + 0.5 */
		/* 10 */ {300, 0},
		/* 11 */ {100000, 1}, /* a long gap fills to the burst, not beyond */
		/* 12 */ {100000, 1}, /* 13 */ {100000, 1}, /* 14 */ {100000, 0},
		/* 15 */ {UINT64_C(1) << 63, 1}, /* huge gap: no overflow */
	};
	struct sg_dp_tb tb;
	unsigned int i;

	sg_dp_tb_init(&tb, 10, 3, 1000, 0);
	for (i = 0; i < RTE_DIM(steps); i++) {
		int got = sg_dp_tb_take(&tb, steps[i].now);

		if (got != steps[i].want)
			fprintf(stderr, "\n  step %u: got %d", i + 1, got);
		CU_ASSERT_EQUAL(got, steps[i].want);
	}
	sg_dp_tb_init(&tb, 0, 3, 1000, 0); /* rate 0: nothing ever */
	CU_ASSERT_EQUAL(sg_dp_tb_take(&tb, 5), 0);
}

/* Over any run of takes: no more than rate * t + burst pass. */
static void
test_token_bucket_bound(void)
{
	const uint64_t hz = 2000000000ull, rate = 10000, burst = 64;
	struct sg_dp_tb tb;
	uint64_t now = 12345, passed = 0, i;

	sg_dp_tb_init(&tb, rate, burst, hz, now);
	/* 1M takes 1 us apart: one second at 1 Mpps offered. */
	for (i = 0; i < 1000000; i++) {
		passed += (uint64_t)sg_dp_tb_take(&tb, now);
		now += hz / 1000000;
	}
	CU_ASSERT(passed <= rate * 1 + burst);
	CU_ASSERT(passed >= rate - 1);
}

static struct rte_mempool *pool;

static struct rte_mbuf *
frame_mbuf(const struct row *r)
{
	uint8_t f[256];
	uint32_t len = build(r, f);
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);

	CU_ASSERT_FATAL(m != NULL);
	memcpy(rte_pktmbuf_append(m, (uint16_t)len), f, len);
	m->port = 0;
	return m;
}

/* dp_punt(): what the bucket refuses is punt_rate, what the ring refuses
 * punt_full; both in punt_drop; every mbuf comes back. */
static void
test_punt_rate_and_ring(void)
{
	struct sg_dp_ctx *ctx = rte_zmalloc(NULL, sizeof(*ctx), RTE_CACHE_LINE_SIZE);
	struct sg_dp_lcore *lc = rte_zmalloc(NULL, sizeof(*lc), RTE_CACHE_LINE_SIZE);
	struct sg_punt_prm prm = {.port = 0, .nb_addr = 1, .rate = 1, .burst = 20};
	struct rte_mbuf *mb[SG_DP_BURST_MAX], *m;
	unsigned int i, queued = 0;

	CU_ASSERT_FATAL(ctx != NULL && lc != NULL);
	lc->ctx = ctx;
	lc->idx = 0;
	/* Ring of 16 (15 usable), bucket of 20: 20 pass the bucket, 15 fit. */
	CU_ASSERT_EQUAL_FATAL(sg_dp_punt_create(ctx, &lc, 1, &prm, 1, 16), 0);
	for (i = 0; i < 32; i++)
		mb[i] = frame_mbuf(&rows[0]);
	dp_punt(lc, mb, 32);
	CU_ASSERT_EQUAL(lc->stats.punt_rx, 15);
	CU_ASSERT_EQUAL(lc->stats.drops[SG_DROP_PUNT_RATE], 12);
	CU_ASSERT_EQUAL(lc->stats.drops[SG_DROP_PUNT_FULL], 5);
	CU_ASSERT_EQUAL(lc->stats.punt_drop, 17);
	while (rte_ring_dequeue(ctx->punt[0], (void **)&m) == 0) {
		queued++;
		rte_pktmbuf_free(m);
	}
	CU_ASSERT_EQUAL(queued, 15);
	/* Frames the kernel sent wait in punt_out; freeing the context frees them. */
	for (i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(rte_ring_enqueue(ctx->punt_out, frame_mbuf(&rows[3])), 0);
	dp_punt_free(ctx);
	CU_ASSERT_EQUAL(rte_mempool_in_use_count(pool), 0);
	rte_free(lc);
	rte_free(ctx);
}

/* Two workers share a port's rate and burst: the shares add up to no more. */
static void
test_punt_shares(void)
{
	struct sg_dp_ctx *ctx = rte_zmalloc(NULL, sizeof(*ctx), RTE_CACHE_LINE_SIZE);
	struct sg_dp_lcore *lc[2];
	struct sg_punt_prm prm[2] = {
		{.port = 0, .nb_addr = 1, .rate = 1001, .burst = 7},
		{.port = 3, .nb_addr = 1, .rate = 1, .burst = 1},
	};
	unsigned int w;

	CU_ASSERT_FATAL(ctx != NULL);
	for (w = 0; w < 2; w++) {
		lc[w] = rte_zmalloc(NULL, sizeof(*lc[w]), RTE_CACHE_LINE_SIZE);
		CU_ASSERT_FATAL(lc[w] != NULL);
	}
	CU_ASSERT_EQUAL_FATAL(sg_dp_punt_create(ctx, lc, 2, prm, 2, 64), 0);
	for (w = 0; w < 2; w++) {
		CU_ASSERT_EQUAL(lc[w]->punt_tb[0].rate, 500);
		CU_ASSERT_EQUAL(lc[w]->punt_tb[0].cap, 3 * lc[w]->punt_tb[0].hz);
		/* Below one per worker: each still gets one (documented). */
		CU_ASSERT_EQUAL(lc[w]->punt_tb[3].rate, 1);
		CU_ASSERT_EQUAL(lc[w]->punt_tb[1].rate, 0); /* no punt line: nothing */
		CU_ASSERT_PTR_NOT_NULL(ctx->punt[w]);
	}
	CU_ASSERT_PTR_NULL(ctx->punt[2]);
	dp_punt_free(ctx);
	for (w = 0; w < 2; w++)
		rte_free(lc[w]);
	rte_free(ctx);
}

/* Learned neighbours: set, update, forget, reuse; full table refused. */
static void
test_neigh_table(void)
{
	struct sg_dp_port *p = rte_zmalloc(NULL, sizeof(*p), 0);
	struct rte_ether_addr a = {{2, 0, 0, 0, 0, 1}}, b = {{2, 0, 0, 0, 0, 2}}, got;
	uint32_t i;

	CU_ASSERT_FATAL(p != NULL);
	CU_ASSERT_EQUAL(sg_dp_neigh_lookup(p, rte_cpu_to_be_32(PEER_ADDR), &got), -ENOENT);
	CU_ASSERT_EQUAL(sg_dp_neigh_learn(p, rte_cpu_to_be_32(PEER_ADDR), &a), 0);
	CU_ASSERT_EQUAL(sg_dp_neigh_lookup(p, rte_cpu_to_be_32(PEER_ADDR), &got), 0);
	CU_ASSERT(rte_is_same_ether_addr(&got, &a));
	CU_ASSERT_EQUAL(sg_dp_neigh_learn(p, rte_cpu_to_be_32(PEER_ADDR), &b), 0);
	CU_ASSERT_EQUAL(sg_dp_neigh_lookup(p, rte_cpu_to_be_32(PEER_ADDR), &got), 0);
	CU_ASSERT(rte_is_same_ether_addr(&got, &b));
	CU_ASSERT_EQUAL(p->nb_learned, 1);
	CU_ASSERT_EQUAL(sg_dp_neigh_learn(p, rte_cpu_to_be_32(PEER_ADDR), NULL), 0);
	CU_ASSERT_EQUAL(sg_dp_neigh_lookup(p, rte_cpu_to_be_32(PEER_ADDR), &got), -ENOENT);
	/* The freed slot is reused, not a new one. */
	CU_ASSERT_EQUAL(sg_dp_neigh_learn(p, rte_cpu_to_be_32(OTHER), &a), 0);
	CU_ASSERT_EQUAL(p->nb_learned, 1);
	CU_ASSERT_EQUAL(sg_dp_neigh_lookup(p, rte_cpu_to_be_32(OTHER), &got), 0);
	for (i = 1; i < SG_DP_NEIGH_MAX; i++)
		CU_ASSERT_EQUAL(sg_dp_neigh_learn(p, rte_cpu_to_be_32(OTHER + i), &a), 0);
	CU_ASSERT_EQUAL(sg_dp_neigh_learn(p, rte_cpu_to_be_32(GW_ADDR2), &a), -ENOSPC);
	CU_ASSERT_EQUAL(sg_dp_neigh_lookup(p, rte_cpu_to_be_32(OTHER + SG_DP_NEIGH_MAX - 1), &got),
			0);
	rte_free(p);
}

/* An mbuf holding a bare IPv4 header to @p dst (data at L3, as dp_route_tx takes it). */
static struct rte_mbuf *
ipv4_mbuf(uint32_t dst)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	struct rte_ipv4_hdr ip = {
		.version_ihl = RTE_IPV4_VHL_DEF,
		.total_length = rte_cpu_to_be_16(sizeof(ip)),
		.dst_addr = rte_cpu_to_be_32(dst),
	};
	char *p;

	CU_ASSERT_FATAL(m != NULL);
	p = rte_pktmbuf_append(m, sizeof(ip));
	CU_ASSERT_FATAL(p != NULL);
	memcpy(p, &ip, sizeof(ip));
	return m;
}

/* Route @p n packets to @p dst; @return how many requests the ring gained. */
static unsigned int
route_count_asks(struct sg_dp_lcore *lc, uint32_t dst, uint16_t n, struct sg_dp_resolve_req *last)
{
	struct rte_mbuf *mb[8];
	struct sg_dp_resolve_req q;
	unsigned int asks = 0;
	uint16_t i;

	for (i = 0; i < n; i++)
		mb[i] = ipv4_mbuf(dst);
	dp_route_tx(lc, mb, n);
	while (rte_ring_dequeue_elem(lc->ctx->resolve[lc->idx], &q, sizeof(q)) == 0) {
		asks++;
		if (last != NULL)
			*last = q;
	}
	return asks;
}

/*
 * A packet routed to a punt port's next hop with no neighbour is no_route
 * and asks the control core to resolve the hop (or 'via'): once per hop
 * per SG_DP_RESOLVE_ASK_MS, not once a packet; a port without a slow path
 * or with a neigh line never asks; a full ring is retried, not lost.
 */
static void
test_resolve_ask(void)
{
	struct sg_dp_ctx *ctx = sg_dp_ctx_create(0, 16);
	struct sg_dp_lcore *lc = rte_zmalloc(NULL, sizeof(*lc), RTE_CACHE_LINE_SIZE);
	struct sg_route_prm rt = {.dst = SG_IPV4(10, 9, 0, 0), .depth = 16, .port = 0};
	struct sg_dp_resolve_req q = {0};
	uint64_t no_route = 0;
	unsigned int i;

	CU_ASSERT_FATAL(ctx != NULL && lc != NULL);
	lc->ctx = ctx;
	ctx->port[0].enabled = 1;
	ctx->port[0].mtu = 1500;
	CU_ASSERT_EQUAL_FATAL(sg_dp_route_add(ctx, &rt), 0);
	/* No rings yet (no slow path): no_route, nothing asked, nothing breaks. */
	ctx->port[0].punt = 1;
	dp_resolve_ask(lc, 0, rte_cpu_to_be_32(OTHER));
	CU_ASSERT_EQUAL_FATAL(sg_dp_resolve_create(ctx, 1, 8), 0); /* 7 usable */
	ctx->port[0].punt = 0;
	CU_ASSERT_EQUAL(route_count_asks(lc, SG_IPV4(10, 9, 0, 5), 2, NULL), 0);
	no_route += 2;
	ctx->port[0].punt = 1;
	/* 1: a burst of four to one hop asks once, for that hop. */
	CU_ASSERT_EQUAL(route_count_asks(lc, SG_IPV4(10, 9, 0, 5), 4, &q), 1);
	no_route += 4;
	CU_ASSERT_EQUAL(q.ip_be, rte_cpu_to_be_32(SG_IPV4(10, 9, 0, 5)));
	CU_ASSERT_EQUAL(q.port, 0);
	/* 2: at once again: within SG_DP_RESOLVE_ASK_MS, not asked again. */
	CU_ASSERT_EQUAL(route_count_asks(lc, SG_IPV4(10, 9, 0, 5), 1, NULL), 0);
	no_route++;
	/* 3: another hop asks for itself. */
	CU_ASSERT_EQUAL(route_count_asks(lc, SG_IPV4(10, 9, 0, 6), 1, &q), 1);
	no_route++;
	CU_ASSERT_EQUAL(q.ip_be, rte_cpu_to_be_32(SG_IPV4(10, 9, 0, 6)));
	/* 4: later than SG_DP_RESOLVE_ASK_MS: the first hop asks again. */
	for (i = 0; i < SG_DP_RESOLVE_SLOTS; i++)
		lc->asked[i].tsc -= rte_get_tsc_hz() / 1000 * SG_DP_RESOLVE_ASK_MS;
	CU_ASSERT_EQUAL(route_count_asks(lc, SG_IPV4(10, 9, 0, 5), 1, &q), 1);
	no_route++;
	CU_ASSERT_EQUAL(q.ip_be, rte_cpu_to_be_32(SG_IPV4(10, 9, 0, 5)));
	/* 5: with 'via' the hop is the via address, whatever the destination. */
	ctx->port[0].via_be = rte_cpu_to_be_32(PEER_ADDR);
	CU_ASSERT_EQUAL(route_count_asks(lc, SG_IPV4(10, 9, 0, 7), 2, &q), 1);
	no_route += 2;
	CU_ASSERT_EQUAL(q.ip_be, rte_cpu_to_be_32(PEER_ADDR));
	ctx->port[0].via_be = 0;
	/* 6: a neigh line, 7: a learned neighbour: routed, never asked (an MTU of
	 * 10 stops them there, as this test has no device to send on). */
	ctx->port[0].mtu = 10;
	ctx->port[0].has_neigh = 1;
	CU_ASSERT_EQUAL(route_count_asks(lc, SG_IPV4(10, 9, 0, 8), 1, NULL), 0);
	ctx->port[0].has_neigh = 0;
	CU_ASSERT_EQUAL(sg_dp_neigh_learn(&ctx->port[0], rte_cpu_to_be_32(SG_IPV4(10, 9, 0, 9)),
			&(struct rte_ether_addr){{2, 0, 0, 0, 0, 9}}), 0);
	CU_ASSERT_EQUAL(route_count_asks(lc, SG_IPV4(10, 9, 0, 9), 1, NULL), 0);
	CU_ASSERT_EQUAL(lc->stats.drops[SG_DROP_MTU], 2);
	ctx->port[0].mtu = 1500;
	CU_ASSERT_EQUAL(lc->stats.drops[SG_DROP_NO_ROUTE], no_route);
	/* 8: a full ring: the hop it refused is not marked asked, so it asks next time. */
	for (i = 0; i < 8; i++)
		dp_resolve_ask(lc, 0, rte_cpu_to_be_32(SG_IPV4(10, 9, 1, i)));
	CU_ASSERT_EQUAL(rte_ring_count(ctx->resolve[0]), 7);
	CU_ASSERT_EQUAL(rte_ring_dequeue_elem(ctx->resolve[0], &q, sizeof(q)), 0);
	dp_resolve_ask(lc, 0, rte_cpu_to_be_32(SG_IPV4(10, 9, 1, 7)));
	CU_ASSERT_EQUAL(rte_ring_count(ctx->resolve[0]), 7);
	while (rte_ring_dequeue_elem(ctx->resolve[0], &q, sizeof(q)) == 0)
		;
	CU_ASSERT_EQUAL(q.ip_be, rte_cpu_to_be_32(SG_IPV4(10, 9, 1, 7)));
	CU_ASSERT_EQUAL(rte_mempool_in_use_count(pool), 0);
	sg_dp_ctx_free(ctx); /* frees the rings too */
	rte_free(lc);
}

static int
punt_init(void)
{
	pool = rte_pktmbuf_pool_create("punt_test", 256, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	return pool == NULL ? -1 : 0;
}

static int
punt_fini(void)
{
	rte_mempool_free(pool);
	return 0;
}

int
test_dp_punt_add(void)
{
	CU_pSuite s = CU_add_suite("dp_punt", punt_init, punt_fini);

	if (s == NULL)
		return -1;
	if (CU_add_test(s, "classifier: numbered table", test_classify_table) == NULL ||
			CU_add_test(s, "classifier: port without a slow path", test_classify_off) == NULL ||
			CU_add_test(s, "classifier: every row truncated at every length",
				test_classify_truncated) == NULL ||
			CU_add_test(s, "classifier: malformed headers to us", test_classify_malformed) == NULL ||
			CU_add_test(s, "token bucket: numbered table", test_token_bucket) == NULL ||
			CU_add_test(s, "token bucket: rate * t + burst bound", test_token_bucket_bound) == NULL ||
			CU_add_test(s, "dp_punt: rate and full ring counted, no leak",
				test_punt_rate_and_ring) == NULL ||
			CU_add_test(s, "dp_punt: two workers share the rate", test_punt_shares) == NULL ||
			CU_add_test(s, "learned neighbours", test_neigh_table) == NULL ||
			CU_add_test(s, "no neighbour: resolution asked, once per hop",
				test_resolve_ask) == NULL)
		return -1;
	return 0;
}
