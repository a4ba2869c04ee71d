/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_lpm.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "sg_crypto.h"
#include "sg_dp.h"
#include "dp_priv.h"

struct sg_dp_ctx *
sg_dp_ctx_create(int socket, uint32_t nb_routes)
{
	struct rte_lpm_config cfg = {
		.max_rules = RTE_MAX(nb_routes, 1u),
		.number_tbl8s = 256,
	};
	struct sg_dp_ctx *ctx;
	char name[RTE_LPM_NAMESIZE];
	static unsigned int seq;

	ctx = rte_zmalloc_socket("sg_dp_ctx", sizeof(*ctx), RTE_CACHE_LINE_SIZE, socket);
	if (ctx == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	snprintf(name, sizeof(name), "sg_lpm_%u", seq++);
	ctx->lpm = rte_lpm_create(name, socket, &cfg);
	if (ctx->lpm == NULL) {
		rte_free(ctx);
		return NULL;
	}
	ctx->burst = SG_DP_BURST_DEFAULT;
	ctx->esp_mtu = RTE_ETHER_MTU;
	ctx->icmp_rate = SG_DP_ICMP_RATE_DEFAULT;
	ctx->reasm_flows = SG_DP_REASM_FLOWS_DEFAULT;
	ctx->reasm_timeout_ms = SG_DP_REASM_TIMEOUT_MS_DEFAULT;
	return ctx;
}

void
sg_dp_ctx_free(struct sg_dp_ctx *ctx)
{
	struct rte_mbuf *m;
	uint16_t s, d;

	if (ctx == NULL)
		return;
	dp_punt_free(ctx);
	dp_resolve_free(ctx);
	for (s = 0; s < SG_DP_WORKERS_MAX; s++) {
		for (d = 0; d < SG_DP_WORKERS_MAX; d++) {
			struct rte_ring *r = ctx->handoff[s][d];

			if (r == NULL)
				continue;
			/* Workers have stopped: whatever is still queued goes back. */
			while (rte_ring_dequeue(r, (void **)&m) == 0)
				rte_pktmbuf_free(m);
			rte_ring_free(r);
		}
	}
	rte_lpm_free(ctx->lpm);
	rte_free(ctx);
}

int
sg_dp_route_add(struct sg_dp_ctx *ctx, const struct sg_route_prm *rt)
{
	if (rt->depth < 1 || rt->depth > 32 || rt->port >= RTE_MAX_ETHPORTS ||
			!ctx->port[rt->port].enabled)
		return -EINVAL;
	return rte_lpm_add(ctx->lpm, rt->dst, rt->depth, rt->port);
}

int
sg_dp_handoff_create(struct sg_dp_ctx *ctx, const struct sg_dp_lcore *const workers[],
		uint16_t n, unsigned int ring_size)
{
	char name[RTE_RING_NAMESIZE];
	uint16_t s, d;

	if (n > SG_DP_WORKERS_MAX)
		return -E2BIG;
	for (d = 0; d < n; d++) {
		for (s = 0; s < n; s++) {
			if (s == d)
				continue;
			snprintf(name, sizeof(name), "sg_ho_%u_%u", s, d);
			/* One producer and one consumer per pair: no atomics on either side. */
			ctx->handoff[s][d] = rte_ring_create(name, ring_size, workers[d]->socket,
					RING_F_SP_ENQ | RING_F_SC_DEQ);
			if (ctx->handoff[s][d] == NULL)
				return -rte_errno;
		}
	}
	return 0;
}

int
sg_dp_lcore_init(struct sg_dp_lcore *lc, const struct sg_dp_ctx *ctx, uint16_t lcore_id,
		uint16_t idx)
{
	memset(lc, 0, sizeof(*lc));
	lc->lcore_id = lcore_id;
	lc->idx = idx;
	lc->txq = idx;
	lc->ctx = ctx;
	lc->stage_sample_shift = SG_DP_STAGE_SAMPLE_SHIFT;
	lc->timing = 1; /* callers outside the worker loop (tests, benchmarks) time everything */
	lc->socket = (int)rte_lcore_to_socket_id(lcore_id);
	if (lc->socket < 0)
		lc->socket = 0;
	/* a second's worth at once, at most SG_DP_ICMP_BURST_MAX */
	sg_dp_tb_init(&lc->icmp_tb, ctx->icmp_rate, RTE_MIN(ctx->icmp_rate,
			(uint32_t)SG_DP_ICMP_BURST_MAX), rte_get_tsc_hz(), rte_rdtsc());
	lc->mgr = sg_crypto_mgr_create(lc->socket);
	if (lc->mgr == NULL)
		return -rte_errno;
	if (dp_reasm_init(lc) != 0) {
		sg_crypto_mgr_free(lc->mgr);
		lc->mgr = NULL;
		return -ENOMEM;
	}
	return 0;
}

void
sg_dp_lcore_release(struct sg_dp_lcore *lc)
{
	dp_reasm_fini(lc);
}

void
sg_dp_lcore_fini(struct sg_dp_lcore *lc)
{
	sg_crypto_mgr_free(lc->mgr);
	lc->mgr = NULL;
	dp_reasm_fini(lc);
}

const char *
sg_dp_stage_name(enum sg_dp_stage s)
{
	static const char *const names[SG_STAGE_MAX] = {
		[SG_STAGE_RX] = "rx",
		[SG_STAGE_PARSE] = "parse",
		[SG_STAGE_LOOKUP] = "lookup",
		[SG_STAGE_CRYPTO] = "crypto",
		[SG_STAGE_ENCAP] = "encap_decap",
		[SG_STAGE_ROUTE] = "route",
		[SG_STAGE_TX] = "tx",
	};

	return (unsigned int)s < SG_STAGE_MAX ? names[s] : "unknown";
}

void
sg_dp_stats_add(struct sg_dp_stats *sum, const struct sg_dp_stats *s)
{
	const volatile uint64_t *from = (const volatile uint64_t *)s;
	uint64_t *to = (uint64_t *)sum;
	size_t i;

	RTE_BUILD_BUG_ON(sizeof(*s) % sizeof(uint64_t) != 0);
	for (i = 0; i < sizeof(*s) / sizeof(uint64_t); i++)
		to[i] += from[i];
}

uint64_t
sg_dp_stats_drops(const struct sg_dp_stats *s)
{
	uint64_t sum = 0;
	unsigned int i;

	for (i = 0; i < SG_DROP_MAX; i++)
		sum += s->drops[i];
	return sum;
}

int
sg_dp_udp_ep_add(struct sg_dp_ctx *ctx, uint32_t addr_be, uint16_t port_be)
{
	uint64_t ep = SG_DP_UDP_EP(addr_be, port_be);
	uint32_t i, free_at = SG_DP_UDP_EP_MAX;

	for (i = 0; i < ctx->nb_udp_ep; i++) {
		if (ctx->udp_ep[i] == ep) {
			ctx->udp_ep_refs[i]++;
			return 0;
		}
		if (ctx->udp_ep[i] == 0 && free_at == SG_DP_UDP_EP_MAX)
			free_at = i;
	}
	if (free_at == SG_DP_UDP_EP_MAX) {
		if (ctx->nb_udp_ep == SG_DP_UDP_EP_MAX)
			return -ENOSPC;
		free_at = ctx->nb_udp_ep;
	}
	ctx->udp_ep_refs[free_at] = 1;
	__atomic_store_n(&ctx->udp_ep[free_at], ep, __ATOMIC_RELEASE);
	if (free_at == ctx->nb_udp_ep)
		__atomic_store_n(&ctx->nb_udp_ep, free_at + 1, __ATOMIC_RELEASE);
	return 0;
}

void
sg_dp_udp_ep_del(struct sg_dp_ctx *ctx, uint32_t addr_be, uint16_t port_be)
{
	uint64_t ep = SG_DP_UDP_EP(addr_be, port_be);
	uint32_t i;

	for (i = 0; i < ctx->nb_udp_ep; i++) {
		if (ctx->udp_ep[i] == ep) {
			/* The slot stays in the scanned range, free: a worker that
			 * read the count before never sees another pair moved in. */
			if (--ctx->udp_ep_refs[i] == 0)
				__atomic_store_n(&ctx->udp_ep[i], 0, __ATOMIC_RELEASE);
			return;
		}
	}
}
