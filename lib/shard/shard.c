/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_pause.h>
#include <rte_ring.h>
#include <rte_spinlock.h>

#include "sg_common.h"
#include "sg_shard.h"

/* Commands in flight per shard; the control core waits for each answer,
 * so a handful is plenty. Events queue while the control core sleeps. */
#define CMD_RING_SIZE 64
#define EVENT_RING_SIZE 4096

static struct rte_ring *
ring(const char *what, uint16_t id, unsigned int size, int socket)
{
	char name[RTE_RING_NAMESIZE];

	snprintf(name, sizeof(name), "sg_%s_%u", what, id);
	/* One producer, one consumer: no atomic read-modify-write either side. */
	return rte_ring_create(name, size, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
}

/* Events are copied into the ring, so a worker never allocates to post one. */
static struct rte_ring *
event_ring(uint16_t id, int socket)
{
	char name[RTE_RING_NAMESIZE];

	snprintf(name, sizeof(name), "sg_evt_%u", id);
	return rte_ring_create_elem(name, sizeof(struct sg_shard_event), EVENT_RING_SIZE, socket,
			RING_F_SP_ENQ | RING_F_SC_DEQ);
}

struct sg_shard *
sg_shard_create(uint16_t id, uint32_t capacity, int socket)
{
	char name[SG_SA_TABLE_NAMESIZE];
	struct sg_shard *s;

	if (id >= SG_SHARD_MAX || capacity == 0 || capacity > SG_SHARD_SA_MAX) {
		rte_errno = EINVAL;
		return NULL;
	}
	s = rte_zmalloc_socket("sg_shard", sizeof(*s), RTE_CACHE_LINE_SIZE, socket);
	if (s == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	s->id = id;
	s->socket = socket;
	snprintf(name, sizeof(name), "sgsh%u", id);
	s->sat = sg_sa_table_create(name, capacity, socket);
	if (s->sat == NULL)
		goto fail;
	s->timer = sg_timer_create(&(struct sg_timer_prm){
		.capacity = capacity,
		.socket_id = socket,
	});
	if (s->timer == NULL)
		goto fail;
	s->cmd = ring("cmd", id, CMD_RING_SIZE, socket);
	/* Twice the command ring: late answers to calls that timed out wait
	 * here beside the current one, so the worker's enqueue cannot fail. */
	s->reply = ring("rep", id, 2 * CMD_RING_SIZE, socket);
	s->event = event_ring(id, socket);
	if (s->cmd == NULL || s->reply == NULL || s->event == NULL)
		goto fail;
	return s;
fail:
	sg_shard_free(s);
	if (rte_errno == 0)
		rte_errno = ENOMEM;
	return NULL;
}

void
sg_shard_free(struct sg_shard *s)
{
	if (s == NULL)
		return;
	rte_ring_free(s->event);
	rte_ring_free(s->reply);
	rte_ring_free(s->cmd);
	sg_timer_free(s->timer);
	sg_sa_table_free(s->sat);
	rte_free(s);
}

struct sg_shard_cmd *
sg_shard_cmd_alloc(enum sg_shard_op op)
{
	struct sg_shard_cmd *c = rte_zmalloc("sg_shard_cmd", sizeof(*c), 0);

	if (c != NULL)
		c->op = op;
	return c;
}

void
sg_shard_cmd_free(struct sg_shard_cmd *c)
{
	if (c == NULL)
		return;
	sg_wipe(c, sizeof(*c));
	rte_free(c);
}

int
sg_shard_call(struct sg_shard *s, struct sg_shard_cmd *c, uint64_t timeout_us)
{
	uint64_t deadline = rte_get_timer_cycles() + timeout_us * rte_get_timer_hz() / 1000000;
	void *got;

	/* Free late answers first, so they never crowd out this one. */
	while (rte_ring_dequeue(s->reply, &got) == 0)
		sg_shard_cmd_free(got);
	if (rte_ring_enqueue(s->cmd, c) != 0)
		return -ENOBUFS;
	for (;;) {
		if (rte_ring_dequeue(s->reply, &got) != 0) {
			if (rte_get_timer_cycles() > deadline) {
				/* The worker still owns c: it is answered (and freed) late. */
				SG_LOG(ERR, "shard %u: worker did not answer in %lu us", s->id,
						(unsigned long)timeout_us);
				return -ETIMEDOUT;
			}
			rte_pause();
			continue;
		}
		if (got == c)
			return 0;
		/* The late answer to a call that timed out: nobody waits for it. */
		sg_shard_cmd_free(got);
	}
}

unsigned int
sg_shard_take(struct sg_shard *s, struct sg_shard_cmd **c, unsigned int n)
{
	return rte_ring_dequeue_burst(s->cmd, (void **)c, n, NULL);
}

void
sg_shard_answer(struct sg_shard *s, struct sg_shard_cmd *c)
{
	/* Commands in flight never exceed the command ring, and the reply ring
	 * holds twice that (see sg_shard_create()): this cannot fail. */
	RTE_VERIFY(rte_ring_enqueue(s->reply, c) == 0);
}

int
sg_shard_post(struct sg_shard *s, const struct sg_shard_event *ev)
{
	/* DPDK 22.11's prototype lacks const; the ring only reads the event. */
	return rte_ring_enqueue_elem(s->event, (void *)(uintptr_t)ev, sizeof(*ev)) == 0 ? 0 :
			-ENOBUFS;
}

int
sg_shard_poll_event(struct sg_shard *s, struct sg_shard_event *ev)
{
	return rte_ring_dequeue_elem(s->event, ev, sizeof(*ev)) == 0;
}

/* Arm @p kind for the limit at @p at_tsc, capped at the timer's horizon. */
static void
arm_at(struct sg_shard *s, uint32_t idx, enum sg_timer_kind kind, uint64_t at_tsc, uint32_t now,
		uint64_t tsc)
{
	uint64_t ms = at_tsc > tsc ? (at_tsc - tsc) * 1000 / rte_get_tsc_hz() : 0;

	sg_timer_arm(s->timer, idx, kind, now + sg_timer_ms_to_ticks(s->timer, ms));
}

void
sg_shard_arm_sa(struct sg_shard *s, struct sg_sa *sa, uint32_t now, uint64_t tsc)
{
	const struct sg_sa_lifetime *l = &sa->life;
	uint64_t hz = rte_get_tsc_hz();

	sg_timer_clear(s->timer, sa->idx);
	sa->soft_tsc = l->soft_sec ? tsc + l->soft_sec * hz : 0;
	sa->hard_tsc = l->hard_sec ? tsc + l->hard_sec * hz : 0;
	if (sa->soft_tsc != 0)
		arm_at(s, sa->idx, SG_TIMER_SOFT, sa->soft_tsc, now, tsc);
	if (sa->hard_tsc != 0)
		arm_at(s, sa->idx, SG_TIMER_HARD, sa->hard_tsc, now, tsc);
	sa->idle_ticks = l->idle_sec ? sg_timer_ms_to_ticks(s->timer, (uint64_t)l->idle_sec * 1000) :
			0;
	if (sa->idle_ticks != 0)
		sg_timer_arm(s->timer, sa->idx, SG_TIMER_IDLE, now + sa->idle_ticks);
}

static unsigned int
post(struct sg_shard *s, const struct sg_sa *sa, enum sg_shard_event_type type, uint64_t tsc)
{
	struct sg_shard_event ev = {
		.type = (uint8_t)type,
		.dir = sa->dir,
		.shard = s->id,
		.spi = sg_sa_spi(sa),
		.tsc = tsc,
	};

	return sg_shard_post(s, &ev) == 0 ? 0 : 1;
}

/*
 * A dead SA's key schedules go at once (RFC 4301 §4.4.2.1: the SA is gone
 * for good): it never encrypts or decrypts again, yet an outbound one that
 * a policy names stays in its table, dead, until rekeyed. The timer sweep
 * runs between bursts, so no crypto op of this worker still points at
 * them. Limits reached on the data path (bytes, packets) kill the SA in
 * the middle of a burst: sg_shard_wipe_dead() takes their keys after it.
 */
static void
wipe_dead_key(struct sg_sa *sa)
{
	sg_crypto_key_wipe((struct sg_crypto_key *)(uintptr_t)sa->key);
}

unsigned int
sg_shard_expire(struct sg_shard *s, uint32_t idx, uint8_t kinds, uint32_t now, uint64_t tsc)
{
	struct sg_sa *sa = sg_sa_table_get(s->sat, idx);
	unsigned int lost = 0;

	if (sa == NULL || sa->dead)
		return 0;
	/* Limits past the timer's horizon were armed at the horizon: not yet. */
	if ((kinds & SG_TIMER_KIND_BIT(SG_TIMER_SOFT)) && sa->soft_tsc > tsc) {
		arm_at(s, idx, SG_TIMER_SOFT, sa->soft_tsc, now, tsc);
		kinds &= ~SG_TIMER_KIND_BIT(SG_TIMER_SOFT);
	}
	if ((kinds & SG_TIMER_KIND_BIT(SG_TIMER_HARD)) && sa->hard_tsc > tsc) {
		arm_at(s, idx, SG_TIMER_HARD, sa->hard_tsc, now, tsc);
		kinds &= ~SG_TIMER_KIND_BIT(SG_TIMER_HARD);
	}
	if ((kinds & SG_TIMER_KIND_BIT(SG_TIMER_SOFT)) && !sa->soft_fired) {
		sa->soft_fired = 1;
		sg_sa_set_limits(sa);
		lost += post(s, sa, SG_SHARD_EV_SOFT_EXPIRED, tsc);
	}
	if (kinds & SG_TIMER_KIND_BIT(SG_TIMER_HARD)) {
		sa->dead = 1;
		sg_timer_clear(s->timer, idx);
		wipe_dead_key(sa);
		lost += post(s, sa, SG_SHARD_EV_HARD_EXPIRED, tsc);
	} else if (kinds & SG_TIMER_KIND_BIT(SG_TIMER_IDLE)) {
		sa->dead = 1;
		sg_timer_clear(s->timer, idx);
		wipe_dead_key(sa);
		lost += post(s, sa, SG_SHARD_EV_IDLE, tsc);
	}
	return lost;
}

void
sg_shard_wipe_dead(struct sg_shard *s)
{
	uint16_t i;

	for (i = 0; i < s->nb_wipe; i++) {
		struct sg_sa *sa = sg_sa_table_get(s->sat, s->wipe[i]);

		if (sa != NULL && sa->dead)
			wipe_dead_key(sa);
	}
	s->nb_wipe = 0;
}

int
sg_shard_sa_limit(struct sg_shard *s, struct sg_sa *sa)
{
	uint64_t tsc = rte_rdtsc();

	if (sa->dead)
		return -1;
	if (sg_sa_hard_reached(sa)) {
		sa->dead = 1;
		sg_timer_clear(s->timer, sa->idx);
		/* ops of this burst may still use its keys: they go after it */
		if (s->nb_wipe < SG_SHARD_WIPE_MAX)
			s->wipe[s->nb_wipe++] = sa->idx;
		post(s, sa, SG_SHARD_EV_HARD_EXPIRED, tsc);
		return -1;
	}
	if (!sa->soft_fired && sg_sa_soft_reached(sa)) {
		sa->soft_fired = 1;
		post(s, sa, SG_SHARD_EV_SOFT_EXPIRED, tsc);
	}
	sg_sa_set_limits(sa);
	return 0;
}

int
sg_shard_sa_seq(struct sg_shard *s, struct sg_sa *sa)
{
	struct sg_shard_event ev;

	if (sa->seq >= sg_sa_seq_max(sa)) {
		sa->dead = 1;
		return -ERANGE;
	}
	if (!sa->seq_asked) {
		ev = (struct sg_shard_event){
			.type = SG_SHARD_EV_SEQ_LOW,
			.dir = sa->dir,
			.shard = s->id,
			.spi = sg_sa_spi(sa),
			.tsc = rte_rdtsc(),
			.idx = sa->idx,
			.slot = sa->seq_slot,
			.seq = sa->seq,
		};
		/* A full ring is tried again on the next packet. */
		if (sg_shard_post(s, &ev) == 0)
			sa->seq_asked = 1;
	}
	if (sa->seq >= sa->seq_limit)
		return -ENOSPC;
	if (sa->seq_asked)
		sa->seq_check = sa->seq_limit;
	return 0;
}

/* The log keeps its lock as an int so that sg_shard.h needs no DPDK header. */
_Static_assert(sizeof(rte_spinlock_t) == sizeof(int), "rte_spinlock_t is an int");

const char *
sg_shard_event_name(enum sg_shard_event_type t)
{
	switch (t) {
	case SG_SHARD_EV_SOFT_EXPIRED:
		return "soft_expired";
	case SG_SHARD_EV_HARD_EXPIRED:
		return "hard_expired";
	case SG_SHARD_EV_IDLE:
		return "idle";
	case SG_SHARD_EV_SEQ_LOW:
		return "seq_low";
	case SG_SHARD_EV_PEER_MOVED:
		return "peer_moved";
	}
	return "unknown";
}

void
sg_event_log_init(struct sg_event_log *log, uint64_t base)
{
	memset(log, 0, sizeof(*log));
	log->next_id = base;
	log->first_id = base + 1;
}

uint64_t
sg_event_log_add(struct sg_event_log *log, const struct sg_shard_event *ev)
{
	rte_spinlock_t *lock = (rte_spinlock_t *)&log->lock;
	struct sg_event_rec *r;
	struct timespec ts;
	uint64_t id;

	clock_gettime(CLOCK_REALTIME, &ts);
	rte_spinlock_lock(lock);
	id = ++log->next_id;
	r = &log->rec[id % SG_EVENT_LOG_SIZE];
	r->id = id;
	r->unix_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	r->ev = *ev;
	if (ev->type <= SG_SHARD_EV_IDLE)
		log->count[ev->type]++;
	rte_spinlock_unlock(lock);
	return id;
}

unsigned int
sg_event_log_read(struct sg_event_log *log, uint64_t since, struct sg_event_rec *out,
		unsigned int n)
{
	rte_spinlock_t *lock = (rte_spinlock_t *)&log->lock;
	unsigned int got = 0;
	uint64_t id, first;

	rte_spinlock_lock(lock);
	first = log->next_id >= SG_EVENT_LOG_SIZE ? log->next_id - SG_EVENT_LOG_SIZE + 1 : 1;
	first = RTE_MAX(first, log->first_id);
	for (id = RTE_MAX(since + 1, first); id <= log->next_id && got < n; id++)
		out[got++] = log->rec[id % SG_EVENT_LOG_SIZE];
	rte_spinlock_unlock(lock);
	return got;
}
