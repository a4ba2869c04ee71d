/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TEST_SHARD_H
#define TEST_SHARD_H

/* Shared by the shard suite's files (test_shard.c, shard_million.c,
 * shard_seq.c). */

#include <stdint.h>

#include <intel-ipsec-mb.h>
#include <rte_malloc.h>

#include "sg_sa.h"

/* Set by the suite's init: the NUMA socket and an ipsec-mb manager. */
extern int sock;
extern IMB_MGR *mgr;

/* Spread SPIs over the whole space, as peers pick them; never 0 for i < 2^32 - 1. */
static inline uint32_t
spi_of(uint32_t i)
{
	return (i + 1) * 2654435761u;
}

/* Parameters of a test SA: a key and salt derived from @p spi. */
void prm_fill(struct sg_sa_prm *p, uint32_t spi, enum sg_sa_dir dir, uint32_t win);

/* The DPDK heap of the suite's socket, asserting the call works. */
struct rte_malloc_socket_stats heap(void);

/* Monotonic seconds. */
double now_s(void);

/* One shard filled to 1M sessions, looked up and emptied (shard_million.c). */
void test_million(void);

/* The worker of the command tests and its shard (test_shard.c). */
struct sg_shard;
struct sg_shard_cmd;
extern struct sg_shard *wsh;
/* Hold the worker off commands (1) or let it go on (0). */
void stall(int on);
/* Send one command, wait: its result (or the call's error). */
int run_cmd(struct sg_shard_cmd *c);
/* Add an SA through the worker: its index or -errno. */
int add_via_worker(const struct sg_sa_prm *p, uint32_t tag, int *key_wiped);
/* Delete every SA of the worker's shard. */
void empty_shard(void);

/* Sequence numbers (shard_seq.c). */
void test_event_log_base(void);
void test_cmd_seq(void);
void test_dead_key_wipe(void);

#endif /* TEST_SHARD_H */
