/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_pause.h>
#include <rte_ring.h>

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
	s->cmd = ring("cmd", id, CMD_RING_SIZE, socket);
	s->reply = ring("rep", id, CMD_RING_SIZE, socket);
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
	/* The reply ring is as large as the command ring: this cannot fail. */
	rte_ring_enqueue(s->reply, c);
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
