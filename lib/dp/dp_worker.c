/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_ring.h>

#include "sg_dp.h"
#include "sg_sa.h"
#include "sg_shard.h"
#include "dp_priv.h"

/* Idle polls before a worker with poll_sleep_us set starts to sleep. */
#define IDLE_POLLS_BEFORE_SLEEP 64

void
dp_handoff_flush(struct sg_dp_lcore *lc)
{
	const struct sg_dp_ctx *ctx = lc->ctx;
	uint16_t w, n, sent;

	for (w = 0; w < ctx->nb_workers; w++) {
		n = lc->nb_ho[w];
		if (n == 0)
			continue;
		sent = (uint16_t)rte_ring_enqueue_burst(ctx->handoff[lc->idx][w],
				(void *const *)lc->ho[w], n, NULL);
		lc->stats.handoff_tx += sent;
		if (unlikely(sent < n)) {
			lc->stats.drops[SG_DROP_HANDOFF_FULL] += n - sent;
			rte_pktmbuf_free_bulk(&lc->ho[w][sent], n - sent);
		}
		lc->nb_ho[w] = 0;
	}
}

/* Packets other workers passed to us: ESP in either direction. */
uint16_t
dp_poll_handoff(struct sg_dp_lcore *lc)
{
	const struct sg_dp_ctx *ctx = lc->ctx;
	struct rte_mbuf *mb[SG_DP_BURST_MAX], *in[SG_DP_BURST_MAX], *out[SG_DP_BURST_MAX];
	uint16_t w, i, n, ni, no, total = 0;

	for (w = 0; w < ctx->nb_workers; w++) {
		if (w == lc->idx)
			continue;
		n = (uint16_t)rte_ring_dequeue_burst(ctx->handoff[w][lc->idx], (void **)mb,
				ctx->burst, NULL);
		if (n == 0)
			continue;
		lc->stats.handoff_rx += n;
		for (i = 0, ni = 0, no = 0; i < n; i++) {
			if (mb[i]->hash.usr & DP_HO_OUTBOUND)
				out[no++] = mb[i];
			else
				in[ni++] = mb[i];
		}
		if (ni > 0)
			dp_inbound_handoff(lc, in, ni);
		if (no > 0)
			dp_outbound_handoff(lc, out, no);
		total += n;
	}
	return total;
}

/* Commands applied per call: bounded so a burst of changes cannot stall rx. */
#define CMDS_PER_POLL 8

static void
apply_one(struct sg_dp_lcore *lc, struct sg_shard_cmd *c)
{
	struct sg_sa_table *sat = lc->shard->sat;
	struct sg_sa *sa;
	int ret;

	switch (c->op) {
	case SG_SHARD_SYNC:
		c->result = 0;
		break;
	case SG_SHARD_SA_ADD:
		ret = sg_sa_table_add(sat, &c->prm, lc->mgr, lc->lcore_id, lc->socket);
		if (ret >= 0) {
			sa = sg_sa_table_get(sat, (uint32_t)ret);
			if (sa->dir == SG_SA_IN)
				sa->pol_tag = c->pol_tag;
			sg_shard_arm_sa(lc->shard, sa, lc->now, rte_rdtsc());
		}
		c->result = ret;
		break;
	case SG_SHARD_SA_DEL:
		/* Packets already handed to us may still name this SA: finish them. */
		while (dp_poll_handoff(lc) != 0)
			dp_handoff_flush(lc);
		if (c->idx < sg_sa_table_capacity(sat))
			sg_timer_clear(lc->shard->timer, c->idx);
		sa = sg_sa_table_get(sat, c->idx);
		c->seq = sa != NULL ? sa->seq : 0;
		c->result = sg_sa_table_del(sat, c->idx);
		break;
	case SG_SHARD_SA_SEQ:
		sa = sg_sa_table_get(sat, c->idx);
		/* An answer for the SA's previous key (rekeyed since) is stale. */
		if (sa == NULL || sa->dir != SG_SA_OUT || sa->seq_slot != c->prm.seq_slot) {
			c->result = -ESTALE;
			break;
		}
		c->seq = sa->seq;
		sg_sa_seq_reserve(sa, c->prm.seq_limit, c->prm.seq_ask);
		c->result = 0;
		break;
	case SG_SHARD_SA_REKEY:
		sa = sg_sa_table_get(sat, c->idx);
		c->seq = sa != NULL ? sa->seq : 0;
		c->result = sg_sa_table_rekey(sat, c->idx, &c->prm, lc->mgr, lc->socket);
		if (c->result == 0)
			sg_shard_arm_sa(lc->shard, sa, lc->now, rte_rdtsc());
		break;
	case SG_SHARD_SA_PEER:
		sa = sg_sa_table_get(sat, c->idx);
		/* the SA the control core named, not one that took its slot since */
		if (sa == NULL || sa->dir != c->prm.dir || sg_sa_spi(sa) != c->prm.spi) {
			c->result = -ENOENT;
			break;
		}
		if (sa->dir == SG_SA_OUT) {
			sa->tun_dst_be = rte_cpu_to_be_32(c->prm.tun_dst);
			if (sa->flags & SG_SA_F_UDP)
				sa->udp_dport_be = rte_cpu_to_be_16(c->prm.udp_dport);
		} else {
			sa->tun_src_be = rte_cpu_to_be_32(c->prm.tun_src);
			if (sa->flags & SG_SA_F_UDP)
				sa->udp_sport_be = rte_cpu_to_be_16(c->prm.udp_sport);
		}
		c->result = 0;
		break;
	case SG_SHARD_SPD_SET:
		lc->spd_in = c->spd_in;
		lc->spd_out = c->spd_out;
		c->result = 0;
		break;
	default:
		c->result = -EINVAL;
		break;
	}
	/* Key material must not outlive its use. */
	sg_sa_prm_wipe(&c->prm);
	sg_shard_answer(lc->shard, c);
}

unsigned int
sg_dp_apply_commands(struct sg_dp_lcore *lc)
{
	struct sg_shard_cmd *c[CMDS_PER_POLL];
	unsigned int i, n;

	n = sg_shard_take(lc->shard, c, CMDS_PER_POLL);
	for (i = 0; i < n; i++)
		apply_one(lc, c[i]);
	return n;
}

/* Expired deadlines taken per sweep call; a sweep stops early when full. */
#define EXPIRED_PER_SWEEP 64

/* One budgeted slice of the timer sweep (AVX-512 where allowed). */
static uint32_t
sweep(struct sg_dp_lcore *lc, uint64_t tsc)
{
	uint32_t idx[EXPIRED_PER_SWEEP];
	uint8_t kinds[EXPIRED_PER_SWEEP];
	uint32_t i, n;

	n = sg_timer_sweep(lc->shard->timer, lc->now, idx, kinds, EXPIRED_PER_SWEEP);
	for (i = 0; i < n; i++)
		lc->stats.events_lost += sg_shard_expire(lc->shard, idx[i], kinds[i], lc->now, tsc);
	lc->stats.expired += n;
	return n;
}

int
sg_dp_worker_main(void *arg)
{
	struct sg_dp_lcore *lc = arg;
	const struct sg_dp_ctx *ctx = lc->ctx;
	struct rte_mbuf *mb[SG_DP_BURST_MAX];
	uint32_t idle = 0;
	uint16_t q, n, got;
	uint64_t t0, tsc;

	while (!ctx->quit) {
		got = 0;
		tsc = rte_rdtsc();
		lc->now = sg_timer_tick(lc->shard->timer, tsc);
		for (q = 0; q < lc->nb_rxq; q++) {
			const struct sg_dp_rxq *rq = &lc->rxq[q];

			t0 = rte_rdtsc();
			n = rte_eth_rx_burst(rq->port, rq->queue, mb, ctx->burst);
			if (n == 0)
				continue;
			lc->timing = (++lc->bursts & ((1u << lc->stage_sample_shift) - 1)) == 0;
			if (lc->timing)
				lc->stats.stage_cycles[SG_STAGE_RX] += rte_rdtsc() - t0;
			lc->stats.rx += n;
			if (ctx->port[rq->port].unprotected)
				sg_dp_process_inbound(lc, mb, n);
			else
				sg_dp_process_outbound(lc, mb, n);
			dp_handoff_flush(lc);
			lc->stats.busy_cycles += rte_rdtsc() - t0;
			got += n;
		}
		if (ctx->nb_workers > 1) {
			lc->timing = 0;
			t0 = rte_rdtsc();
			n = dp_poll_handoff(lc);
			if (n > 0) {
				dp_handoff_flush(lc);
				lc->stats.busy_cycles += rte_rdtsc() - t0;
				got += n;
			}
		}
		/* What the kernel interfaces sent leaves through worker 0's queues. */
		if (ctx->punt_out != NULL && lc->idx == 0)
			got += dp_punt_tx(lc);
		/* Keys of SAs the bursts killed, now that no op points at them
		 * (before commands, which may rekey or reuse their slots). */
		if (unlikely(lc->shard->nb_wipe != 0))
			sg_shard_wipe_dead(lc->shard);
		/* Between bursts: the control core's changes, without locks. */
		got += sg_dp_apply_commands(lc);
		got += sweep(lc, tsc);
		dp_reasm_expire(lc, tsc);
		lc->stats.polls++;
		if (got > 0) {
			idle = 0;
		} else if (ctx->poll_sleep_us != 0 && ++idle > IDLE_POLLS_BEFORE_SLEEP) {
			rte_delay_us_sleep(ctx->poll_sleep_us);
		}
	}
	return 0;
}
