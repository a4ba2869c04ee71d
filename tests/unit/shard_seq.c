/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The shard suite's sequence-number cases, apart from the rest of
 * test_shard.c: the event log's id base and the reservation commands
 * (issue 10 item 3); and the wiping of dead SAs' keys (issue 12 item 5).
 */
#include <errno.h>
#include <stdint.h>

#include <CUnit/Basic.h>

#include "sg_common.h"
#include "sg_sa.h"
#include "sg_shard.h"
#include "sg_timer.h"
#include "test_shard.h"

/* The event log numbers a run from its base: ids rise across restarts, and
 * asking for those after an older run's id returns this run's, no slot it
 * never wrote. */
void
test_event_log_base(void)
{
	static struct sg_event_log log, fresh;
	static struct sg_event_rec rec[SG_EVENT_LOG_SIZE];
	struct sg_shard_event ev = {.type = SG_SHARD_EV_SOFT_EXPIRED, .dir = SG_SA_OUT, .spi = 9};
	uint32_t i, bad = 0;

	sg_event_log_init(&log, 1000000);
	CU_ASSERT_EQUAL(sg_event_log_read(&log, 0, rec, SG_EVENT_LOG_SIZE), 0);
	CU_ASSERT_EQUAL(sg_event_log_add(&log, &ev), 1000001);
	ev.spi = 10;
	CU_ASSERT_EQUAL(sg_event_log_add(&log, &ev), 1000002);
	/* An id from an earlier run (a key manager's last): this run's events. */
	CU_ASSERT_EQUAL(sg_event_log_read(&log, 42, rec, SG_EVENT_LOG_SIZE), 2);
	CU_ASSERT(rec[0].id == 1000001 && rec[0].ev.spi == 9);
	CU_ASSERT(rec[1].id == 1000002 && rec[1].ev.spi == 10);
	CU_ASSERT_EQUAL(sg_event_log_read(&log, 1000001, rec, SG_EVENT_LOG_SIZE), 1);
	CU_ASSERT_EQUAL(sg_event_log_read(&log, 1000002, rec, SG_EVENT_LOG_SIZE), 0);
	CU_ASSERT_EQUAL(log.count[SG_SHARD_EV_SOFT_EXPIRED], 2);
	/* Past the ring's size only the newest are kept, oldest first. */
	for (i = 0; i < 2 * SG_EVENT_LOG_SIZE; i++)
		sg_event_log_add(&log, &ev);
	CU_ASSERT_EQUAL(sg_event_log_read(&log, 0, rec, SG_EVENT_LOG_SIZE), SG_EVENT_LOG_SIZE);
	for (i = 0; i < SG_EVENT_LOG_SIZE; i++)
		bad += rec[i].id != 1000002 + SG_EVENT_LOG_SIZE + 1 + i;
	CU_ASSERT_EQUAL(bad, 0);
	/* A log never initialised numbers from 1, as before. */
	CU_ASSERT_EQUAL(sg_event_log_add(&fresh, &ev), 1);
	CU_ASSERT_EQUAL(sg_event_log_read(&fresh, 0, rec, SG_EVENT_LOG_SIZE), 1);
}

/* Reserved sequence numbers: the SA stops at its limit, asks once at the
 * half-way mark, and an answer for its old key is refused. */
void
test_cmd_seq(void)
{
	struct sg_shard_event ev;
	struct sg_shard_cmd *c;
	struct sg_sa_prm p;
	struct sg_sa *sa;
	int idx, in;

	prm_fill(&p, 0x7007, SG_SA_OUT, 0);
	p.seq_start = 100;
	p.seq_limit = 200;
	p.seq_ask = 150;
	p.seq_slot = 7;
	idx = add_via_worker(&p, 5, NULL);
	CU_ASSERT_FATAL(idx >= 0);
	sa = sg_sa_table_get(wsh->sat, (uint32_t)idx);
	CU_ASSERT_EQUAL(sa->seq, 100);
	CU_ASSERT_EQUAL(sa->seq_slot, 7); /* not the policy tag: outbound has none */
	CU_ASSERT_EQUAL(sa->seq_check, 150);
	CU_ASSERT_EQUAL(sa->seq_limit, 200);
	/* A limit on an inbound SA, or one not above the start, is refused. */
	prm_fill(&p, 0x7008, SG_SA_IN, 64);
	p.seq_limit = 200;
	CU_ASSERT_EQUAL(add_via_worker(&p, 1, NULL), -EINVAL);
	prm_fill(&p, 0x7008, SG_SA_OUT, 0);
	p.seq_start = p.seq_limit = 300;
	CU_ASSERT_EQUAL(add_via_worker(&p, 1, NULL), -EINVAL);
	CU_ASSERT_EQUAL(sg_sa_table_count(wsh->sat), 1);

	/* What the packet path does, with the worker held off. */
	stall(1);
	sa->seq = 150;
	CU_ASSERT_EQUAL(sg_shard_sa_seq(wsh, sa), 0);
	CU_ASSERT_EQUAL(sa->seq_check, 200);
	CU_ASSERT_EQUAL(sg_shard_poll_event(wsh, &ev), 1);
	CU_ASSERT_EQUAL(ev.type, SG_SHARD_EV_SEQ_LOW);
	CU_ASSERT_EQUAL(ev.dir, SG_SA_OUT);
	CU_ASSERT_EQUAL(ev.spi, 0x7007);
	CU_ASSERT_EQUAL(ev.idx, (uint32_t)idx);
	CU_ASSERT_EQUAL(ev.slot, 7);
	CU_ASSERT_EQUAL(ev.seq, 150);
	sa->seq = 199;
	CU_ASSERT_EQUAL(sg_shard_sa_seq(wsh, sa), 0);
	sa->seq = 200;
	CU_ASSERT_EQUAL(sg_shard_sa_seq(wsh, sa), -ENOSPC);
	CU_ASSERT_EQUAL(sg_shard_poll_event(wsh, &ev), 0); /* asked once only */
	CU_ASSERT_EQUAL(sa->dead, 0);
	stall(0);

	/* The answer for another slot (a key since replaced) changes nothing. */
	c = sg_shard_cmd_alloc(SG_SHARD_SA_SEQ);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	c->idx = (uint32_t)idx;
	c->prm.seq_slot = 8;
	c->prm.seq_limit = 400;
	c->prm.seq_ask = 300;
	CU_ASSERT_EQUAL(run_cmd(c), -ESTALE);
	CU_ASSERT_EQUAL(sa->seq_limit, 200);
	c->prm.seq_slot = 7; /* the worker wiped the command's prm */
	c->prm.seq_limit = 400;
	c->prm.seq_ask = 300;
	CU_ASSERT_EQUAL(run_cmd(c), 0);
	CU_ASSERT_EQUAL(c->seq, 200);
	CU_ASSERT_EQUAL(sa->seq_check, 300);
	CU_ASSERT_EQUAL(sa->seq_limit, 400);
	CU_ASSERT_EQUAL(sa->seq_asked, 0);
	sg_shard_cmd_free(c);

	/* Rekeyed in place, the SA starts where the new key's entry says. */
	c = sg_shard_cmd_alloc(SG_SHARD_SA_REKEY);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	prm_fill(&c->prm, 0x7009, SG_SA_OUT, 0);
	c->prm.seq_start = 5000;
	c->prm.seq_limit = 6000;
	c->prm.seq_ask = 5500;
	c->prm.seq_slot = 9;
	c->idx = (uint32_t)idx;
	CU_ASSERT_EQUAL(run_cmd(c), 0);
	CU_ASSERT_EQUAL(c->seq, 200);
	sg_shard_cmd_free(c);
	CU_ASSERT_EQUAL(sa->seq, 5000);
	CU_ASSERT_EQUAL(sa->seq_slot, 9);
	CU_ASSERT_EQUAL(sa->seq_check, 5500);

	/* Without a reservation the check sits at the counter's end. */
	prm_fill(&p, 0x700a, SG_SA_OUT, 0);
	in = add_via_worker(&p, 0, NULL);
	CU_ASSERT_FATAL(in >= 0);
	sa = sg_sa_table_get(wsh->sat, (uint32_t)in);
	CU_ASSERT_EQUAL(sa->seq_check, UINT32_MAX);
	stall(1);
	sa->seq = UINT32_MAX;
	CU_ASSERT_EQUAL(sg_shard_sa_seq(wsh, sa), -ERANGE);
	CU_ASSERT_EQUAL(sa->dead, 1);
	sa->seq = 41;
	stall(0);
	/* Its delete answers the last number sent. */
	c = sg_shard_cmd_alloc(SG_SHARD_SA_DEL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	c->idx = (uint32_t)in;
	CU_ASSERT_EQUAL(run_cmd(c), 0);
	CU_ASSERT_EQUAL(c->seq, 41);
	sg_shard_cmd_free(c);
	empty_shard();
}

/*
 * A dead SA's keys: a time limit (the sweep, between bursts) wipes them at
 * once; a packet limit (mid-burst) leaves them for sg_shard_wipe_dead(),
 * which skips an SA no longer dead (rekeyed, or its slot reused).
 */
void
test_dead_key_wipe(void)
{
	struct sg_shard *s = sg_shard_create(62, 8, sock);
	struct sg_sa *a, *b, *c;
	struct sg_sa_prm p;
	int ia, ib, ic;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	prm_fill(&p, 0x7101, SG_SA_OUT, 0);
	p.life.hard_packets = 1;
	ia = sg_sa_table_add(s->sat, &p, mgr, 0, sock);
	prm_fill(&p, 0x7102, SG_SA_OUT, 0);
	p.key[0] ^= 1; /* another key: the table refuses none, but stay apart */
	p.life.hard_packets = 1;
	ib = sg_sa_table_add(s->sat, &p, mgr, 0, sock);
	prm_fill(&p, 0x7103, SG_SA_IN, 64);
	ic = sg_sa_table_add(s->sat, &p, mgr, 0, sock);
	CU_ASSERT_FATAL(ia >= 0 && ib >= 0 && ic >= 0);
	a = sg_sa_table_get(s->sat, (uint32_t)ia);
	b = sg_sa_table_get(s->sat, (uint32_t)ib);
	c = sg_sa_table_get(s->sat, (uint32_t)ic);

	/* packet limits: dead now, keys kept for the rest of the burst */
	a->packets = b->packets = 1;
	CU_ASSERT_EQUAL(sg_shard_sa_limit(s, a), -1);
	CU_ASSERT_EQUAL(sg_shard_sa_limit(s, b), -1);
	CU_ASSERT(a->dead && b->dead && s->nb_wipe == 2);
	CU_ASSERT(!sg_all_zero(a->key, sizeof(*a->key)) && !sg_all_zero(b->key, sizeof(*b->key)));
	b->dead = 0; /* as a rekey between the burst and the wipe would leave it */
	sg_shard_wipe_dead(s);
	CU_ASSERT(sg_all_zero(a->key, sizeof(*a->key)));
	CU_ASSERT(!sg_all_zero(b->key, sizeof(*b->key)));
	CU_ASSERT_EQUAL(s->nb_wipe, 0);

	/* a time limit: the sweep kills it and takes its keys at once */
	CU_ASSERT(!sg_all_zero(c->key, sizeof(*c->key)));
	sg_shard_expire(s, (uint32_t)ic, SG_TIMER_KIND_BIT(SG_TIMER_HARD), 0, 0);
	CU_ASSERT(c->dead && sg_all_zero(c->key, sizeof(*c->key)));
	sg_shard_free(s);
}
