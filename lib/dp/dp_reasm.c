/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ip.h>
#include <rte_ip_frag.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "sg_dp.h"
#include "sg_pkt.h"
#include "dp_priv.h"

/* Entries per hash bucket: four ways, a bucket per flow (2 KB per flow). */
#define REASM_BUCKET_ENTRIES 4

int
dp_reasm_init(struct sg_dp_lcore *lc)
{
	const struct sg_dp_ctx *ctx = lc->ctx;
	uint64_t cycles;

	if (ctx->reasm_flows == 0)
		return 0;
	cycles = (rte_get_tsc_hz() + 999) / 1000 * ctx->reasm_timeout_ms;
	lc->frag_dr = rte_zmalloc_socket("sg_frag_dr", sizeof(*lc->frag_dr), RTE_CACHE_LINE_SIZE,
			lc->socket);
	lc->frag_tbl = rte_ip_frag_table_create(ctx->reasm_flows, REASM_BUCKET_ENTRIES,
			ctx->reasm_flows, cycles, lc->socket);
	if (lc->frag_dr == NULL || lc->frag_tbl == NULL) {
		dp_reasm_fini(lc);
		return -ENOMEM;
	}
	return 0;
}

void
dp_reasm_fini(struct sg_dp_lcore *lc)
{
	if (lc->frag_tbl != NULL) {
		/* what is still waiting goes back to its pool */
		rte_ip_frag_table_destroy(lc->frag_tbl);
		lc->frag_tbl = NULL;
		lc->stats.drops[SG_DROP_REASSEMBLY] += lc->stats.frag_held;
		lc->stats.frag_held = 0;
	}
	rte_free(lc->frag_dr);
	lc->frag_dr = NULL;
}

bool
dp_reasm_wanted(const struct sg_dp_lcore *lc, const struct rte_ipv4_hdr *ip)
{
	const struct sg_dp_ctx *ctx = lc->ctx;
	uint32_t i, n;

	if (lc->frag_tbl == NULL)
		return false;
	if (ip->next_proto_id == SG_IPPROTO_ESP)
		return true;
	if (ip->next_proto_id != SG_IPPROTO_UDP)
		return false;
	/* later fragments carry no ports: any ESP-in-UDP address will do */
	n = ctx->nb_udp_ep;
	for (i = 0; i < n && i < SG_DP_UDP_EP_MAX; i++)
		if (ctx->udp_ep[i] != 0 && (uint32_t)(ctx->udp_ep[i] >> 16) == ip->dst_addr)
			return true;
	return false;
}

/* The fragments the library gave up on (overlaps, timeouts, a full table). */
static void
reap(struct sg_dp_lcore *lc)
{
	uint32_t n = lc->frag_dr->cnt;

	if (n == 0)
		return;
	lc->stats.drops[SG_DROP_REASSEMBLY] += n;
	lc->stats.frag_held -= RTE_MIN(n, lc->stats.frag_held);
	rte_ip_frag_free_death_row(lc->frag_dr, 0);
}

struct rte_mbuf *
dp_reasm(struct sg_dp_lcore *lc, struct rte_mbuf *m)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, m->l2_len);
	struct rte_mbuf *r;
	uint16_t segs;

	lc->stats.frag_held++;
	r = rte_ipv4_frag_reassemble_packet(lc->frag_tbl, lc->frag_dr, m, rte_rdtsc(), ip);
	reap(lc);
	if (r == NULL)
		return NULL;
	segs = r->nb_segs;
	lc->stats.frag_held -= RTE_MIN((uint64_t)segs, lc->stats.frag_held);
	lc->stats.frag_merged += segs - 1u;
	lc->stats.reasm_out++;
	/* the ESP path reads one buffer: the first fragment's must hold it all */
	if (rte_pktmbuf_linearize(r) != 0) {
		lc->stats.drops[SG_DROP_REASSEMBLY]++;
		rte_pktmbuf_free(r);
		return NULL;
	}
	ip = rte_pktmbuf_mtod_offset(r, struct rte_ipv4_hdr *, r->l2_len);
	ip->hdr_checksum = 0; /* the library leaves it to us */
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	return r;
}

void
dp_reasm_expire(struct sg_dp_lcore *lc, uint64_t tsc)
{
	if (lc->frag_tbl == NULL || lc->stats.frag_held == 0)
		return;
	rte_ip_frag_table_del_expired_entries(lc->frag_tbl, lc->frag_dr, tsc);
	reap(lc);
}
