/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Active neighbour resolution, the data path's half: a worker that routes a
 * packet to a punt port's next hop the kernel has not resolved tells the
 * control core over its own ring (workers make no system calls); the
 * control core asks the kernel (slowpath.c), which then sends ARP out of the
 * port's kernel interface instead of waiting for the peer to ARP first.
 */
#include <errno.h>
#include <stdio.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "sg_dp.h"
#include "dp_priv.h"

int
sg_dp_resolve_create(struct sg_dp_ctx *ctx, uint16_t n, unsigned int ring_size)
{
	char name[RTE_RING_NAMESIZE];
	uint16_t w;

	if (n == 0 || n > SG_DP_WORKERS_MAX)
		return -EINVAL;
	for (w = 0; w < n; w++) {
		snprintf(name, sizeof(name), "sg_res_%u_%p", w, (void *)ctx);
		/* One producer (the worker), one consumer (the control core). */
		ctx->resolve[w] = rte_ring_create_elem(name, sizeof(struct sg_dp_resolve_req),
				ring_size, rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (ctx->resolve[w] == NULL)
			return -rte_errno;
	}
	return 0;
}

void
dp_resolve_free(struct sg_dp_ctx *ctx)
{
	uint16_t w;

	for (w = 0; w < SG_DP_WORKERS_MAX; w++) {
		rte_ring_free(ctx->resolve[w]);
		ctx->resolve[w] = NULL;
	}
}

void
dp_resolve_ask(struct sg_dp_lcore *lc, uint16_t port, uint32_t ip_be)
{
	struct rte_ring *r = lc->ctx->resolve[lc->idx];
	struct sg_dp_resolve_req req = {.ip_be = ip_be, .port = port};
	uint32_t h = rte_be_to_cpu_32(ip_be) ^ port;
	unsigned int slot = (h ^ (h >> 8)) & (SG_DP_RESOLVE_SLOTS - 1);
	uint64_t now;

	RTE_BUILD_BUG_ON(sizeof(req) != 8 || !rte_is_power_of_2(SG_DP_RESOLVE_SLOTS));
	if (r == NULL)
		return;
	now = rte_rdtsc();
	/* A burst to one unresolved hop asks once, not once a packet. */
	if (lc->asked[slot].ip_be == ip_be && lc->asked[slot].port == port &&
			lc->asked[slot].tsc != 0 &&
			now - lc->asked[slot].tsc < rte_get_tsc_hz() / 1000 * SG_DP_RESOLVE_ASK_MS)
		return;
	/* A full ring: the control core is behind; the next packet asks again. */
	if (rte_ring_sp_enqueue_elem(r, &req, sizeof(req)) != 0)
		return;
	lc->asked[slot].ip_be = ip_be;
	lc->asked[slot].port = port;
	lc->asked[slot].tsc = now;
}
