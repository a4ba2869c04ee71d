/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The shard suite's scale test, apart from the rest of test_shard.c:
 * issue 3 item 4, a worker's table sized for 1M sessions.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <CUnit/Basic.h>
#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_malloc.h>

#include "sg_crypto.h"
#include "sg_sa.h"
#include "sg_shard.h"
#include "test_shard.h"

/* ------------------------------------------------------------------------ */
/* One shard filled to 1M sessions (issue 3 item 4: sized for 1M per worker). */

#define MILLION SG_SHARD_SA_MAX
#define BURST 32

void
test_million(void)
{
	struct rte_malloc_socket_stats base, made, full, emptied, freed;
	uint32_t *spi_be, *order, *idx_of, got[BURST], i, j, bad = 0, hits = 0;
	struct sg_shard *s;
	struct sg_sa_prm p;
	double t0, t_add, t_look, t_del;
	uint64_t c0, cyc;
	int r;

	spi_be = malloc(MILLION * sizeof(*spi_be));
	order = malloc(MILLION * sizeof(*order));
	idx_of = malloc(MILLION * sizeof(*idx_of));
	CU_ASSERT_FATAL(spi_be != NULL && order != NULL && idx_of != NULL);

	base = heap();
	s = sg_shard_create(62, MILLION, sock);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	made = heap();

	/* Inbound SAs with the gateway's default window: the heaviest kind. */
	t0 = now_s();
	for (i = 0; i < MILLION; i++) {
		prm_fill(&p, spi_of(i), SG_SA_IN, SG_REPLAY_WIN_DEFAULT);
		r = sg_sa_table_add(s->sat, &p, mgr, 1, sock);
		if (r < 0) {
			if (bad++ == 0)
				printf("\n  add #%u failed: %s", i, strerror(-r));
			idx_of[i] = SG_SA_NONE;
		} else {
			idx_of[i] = (uint32_t)r;
		}
		spi_be[i] = rte_cpu_to_be_32(p.spi);
	}
	t_add = now_s() - t0;
	sg_sa_prm_wipe(&p);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(sg_sa_table_count(s->sat), MILLION);
	prm_fill(&p, 0xfffffff1, SG_SA_IN, 64);
	CU_ASSERT_EQUAL(sg_sa_table_add(s->sat, &p, mgr, 1, sock), -ENOSPC);
	full = heap();

	/* Look every SPI up once, in bursts of 32 in random order. */
	for (i = 0; i < MILLION; i++)
		order[i] = i;
	srand(3);
	for (i = MILLION - 1; i > 0; i--) {
		j = (uint32_t)(((uint64_t)rand() << 16 ^ (uint64_t)rand()) % (i + 1));
		RTE_SWAP(order[i], order[j]);
	}
	t0 = now_s();
	c0 = rte_rdtsc();
	bad = 0;
	for (i = 0; i < MILLION; i += BURST) {
		uint32_t key[BURST];

		for (j = 0; j < BURST; j++)
			key[j] = spi_be[order[i + j]];
		sg_sa_table_lookup_in_bulk(s->sat, key, BURST, got);
		for (j = 0; j < BURST; j++) {
			hits += got[j] != SG_SA_NONE;
			bad += got[j] != idx_of[order[i + j]];
		}
	}
	cyc = rte_rdtsc() - c0;
	t_look = now_s() - t0;
	CU_ASSERT_EQUAL(hits, MILLION);
	CU_ASSERT_EQUAL(bad, 0);

	/* Empty it: every SPI gone, the heap back to the empty table. */
	t0 = now_s();
	for (i = 0, bad = 0; i < MILLION; i++)
		bad += sg_sa_table_del(s->sat, idx_of[i]) != 0;
	t_del = now_s() - t0;
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(sg_sa_table_count(s->sat), 0);
	for (i = 0, hits = 0; i < MILLION; i += BURST) {
		sg_sa_table_lookup_in_bulk(s->sat, spi_be + i, BURST, got);
		for (j = 0; j < BURST; j++)
			hits += got[j] != SG_SA_NONE;
	}
	CU_ASSERT_EQUAL(hits, 0);
	emptied = heap();
	CU_ASSERT_EQUAL(emptied.alloc_count, made.alloc_count);
	CU_ASSERT_EQUAL(emptied.heap_allocsz_bytes, made.heap_allocsz_bytes);
	/* A drained table takes SAs again. */
	prm_fill(&p, spi_of(5), SG_SA_IN, 64);
	CU_ASSERT(sg_sa_table_add(s->sat, &p, mgr, 1, sock) >= 0);
	CU_ASSERT_EQUAL(sg_sa_table_find(s->sat, SG_SA_IN, spi_of(5)), idx_of[MILLION - 1]);

	sg_shard_free(s);
	freed = heap();
	CU_ASSERT_EQUAL(freed.alloc_count, base.alloc_count);
	CU_ASSERT_EQUAL(freed.heap_allocsz_bytes, base.heap_allocsz_bytes);

	printf("\n  1M-SA shard: sizeof(struct sg_sa) %zu B, sg_crypto_key %zu B, replay(%u) %zu B"
			"\n  empty table %.1f MB (%.0f B per slot); filled %.1f MB more"
			" (%.0f B per SA on the heap, %.0f B per SA in all)"
			"\n  add %.2f s (%.0f ns/SA), bulk lookup %.2f s (%.1f ns/SPI, %.1f cycles),"
			" delete %.2f s; heap back to %" PRIu64 " B",
			sizeof(struct sg_sa), sizeof(struct sg_crypto_key), SG_REPLAY_WIN_DEFAULT,
			sg_replay_size(SG_REPLAY_WIN_DEFAULT),
			(double)(made.heap_allocsz_bytes - base.heap_allocsz_bytes) / 1e6,
			(double)(made.heap_allocsz_bytes - base.heap_allocsz_bytes) / MILLION,
			(double)(full.heap_allocsz_bytes - made.heap_allocsz_bytes) / 1e6,
			(double)(full.heap_allocsz_bytes - made.heap_allocsz_bytes) / MILLION,
			(double)(full.heap_allocsz_bytes - base.heap_allocsz_bytes) / MILLION,
			t_add, t_add * 1e9 / MILLION, t_look, t_look * 1e9 / MILLION,
			(double)cyc / MILLION, t_del, (uint64_t)freed.heap_allocsz_bytes);
	free(spi_be);
	free(order);
	free(idx_of);
}

