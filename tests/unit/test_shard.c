/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shard unit suite: the SPI directory, shard and command set-up, the
 * command channel against a real worker lcore running sg_dp_apply_commands()
 * (add, duplicate, delete, rekey in place, SPD switch, sync, timeouts and
 * late answers), the event ring, and one shard filled to 1M sessions, looked
 * up and emptied with its heap use measured.
 *
 * Needs two EAL lcores: it starts its own EAL (not sg_test_eal_init()) with
 * --lcores mapped onto the CPUs this process may run on, and enough --no-huge
 * memory for the 1M table.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_pause.h>
#include <rte_ring.h>

#include "sg_common.h"
#include "sg_crypto.h"
#include "sg_dp.h"
#include "sg_sa.h"
#include "sg_shard.h"
#include "sg_spd.h"
#include "sg_test.h"
#include "test_shard.h"

/* --no-huge memory: 1M SAs with their keys and replay windows take ~1.9 GB. */
#define EAL_MEM_MB "4096"
/* Generous: a shared, noisy 2-core machine must not fail a correct worker. */
#define CALL_US 2000000
/* Short enough to keep the suite quick, long for a worker that does answer. */
#define SHORT_US 2000

int sock;
IMB_MGR *mgr;

void
prm_fill(struct sg_sa_prm *p, uint32_t spi, enum sg_sa_dir dir, uint32_t win)
{
	unsigned int i;

	*p = (struct sg_sa_prm){.spi = spi, .dir = dir, .mode = SG_SA_TUNNEL4,
		.cipher = SG_AEAD_AES128_GCM, .key_len = 16, .replay_win = win,
		.tun_src = 0xc0000201, .tun_dst = 0xc6336407}; /* 192.0.2.1, 198.51.100.7 */
	for (i = 0; i < p->key_len; i++)
		p->key[i] = (uint8_t)(0xa5 ^ (spi * 131 + i * 7));
	memcpy(p->salt, &spi, SG_CRYPTO_SALT_LEN);
}

/* Does @p n bytes of @p needle occur anywhere in @p hay? */
static int
contains(const void *hay, size_t hlen, const void *needle, size_t n)
{
	return memmem(hay, hlen, needle, n) != NULL;
}

struct rte_malloc_socket_stats
heap(void)
{
	struct rte_malloc_socket_stats st;

	CU_ASSERT_FATAL(rte_malloc_get_socket_stats(sock, &st) == 0);
	return st;
}

double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ------------------------------------------------------------------------ */
/* Directory.                                                                */

static void
test_dir_basic(void)
{
	struct rte_malloc_socket_stats base = heap(), after;
	struct sg_shard_dir *d;
	uint32_t i, bad = 0;

	d = sg_shard_dir_create("t_dir", 1024, sock);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	for (i = 0; i < 100; i++)
		bad += sg_shard_dir_add(d, spi_of(i), (uint16_t)(i % SG_SHARD_MAX)) != 0;
	CU_ASSERT_EQUAL(bad, 0);
	for (i = 0, bad = 0; i < 100; i++)
		bad += sg_shard_dir_find(d, spi_of(i)) != i % SG_SHARD_MAX;
	CU_ASSERT_EQUAL(bad, 0);
	/* Unknown SPIs, including 0 and the host/network byte-swapped twin. */
	CU_ASSERT_EQUAL(sg_shard_dir_find(d, 0), SG_SHARD_NONE);
	CU_ASSERT_EQUAL(sg_shard_dir_find(d, spi_of(100)), SG_SHARD_NONE);
	CU_ASSERT_EQUAL(sg_shard_dir_find(d, rte_bswap32(spi_of(7))), SG_SHARD_NONE);

	/* A second owner for the same SPI is refused; the first one stays. */
	CU_ASSERT_EQUAL(sg_shard_dir_add(d, spi_of(5), 9), -EEXIST);
	CU_ASSERT_EQUAL(sg_shard_dir_add(d, spi_of(5), 5), -EEXIST);
	CU_ASSERT_EQUAL(sg_shard_dir_find(d, spi_of(5)), 5);
	/* Shard ids past the last shard, and "no shard" itself. */
	CU_ASSERT_EQUAL(sg_shard_dir_add(d, 0x77777777, SG_SHARD_MAX), -EINVAL);
	CU_ASSERT_EQUAL(sg_shard_dir_add(d, 0x77777777, SG_SHARD_NONE), -EINVAL);
	CU_ASSERT_EQUAL(sg_shard_dir_find(d, 0x77777777), SG_SHARD_NONE);
	CU_ASSERT_EQUAL(sg_shard_dir_add(d, 0x77777777, SG_SHARD_MAX - 1), 0);
	CU_ASSERT_EQUAL(sg_shard_dir_find(d, 0x77777777), SG_SHARD_MAX - 1);

	CU_ASSERT_EQUAL(sg_shard_dir_del(d, spi_of(5)), 0);
	CU_ASSERT_EQUAL(sg_shard_dir_find(d, spi_of(5)), SG_SHARD_NONE);
	CU_ASSERT_EQUAL(sg_shard_dir_del(d, spi_of(5)), -ENOENT);
	CU_ASSERT_EQUAL(sg_shard_dir_del(d, 0x12345), -ENOENT);
	/* Its neighbours are untouched, and it can be added again elsewhere. */
	CU_ASSERT_EQUAL(sg_shard_dir_find(d, spi_of(4)), 4);
	CU_ASSERT_EQUAL(sg_shard_dir_find(d, spi_of(6)), 6);
	CU_ASSERT_EQUAL(sg_shard_dir_add(d, spi_of(5), 33), 0);
	CU_ASSERT_EQUAL(sg_shard_dir_find(d, spi_of(5)), 33);

	sg_shard_dir_free(d);
	sg_shard_dir_free(NULL);
	after = heap();
	CU_ASSERT_EQUAL(after.alloc_count, base.alloc_count);
	CU_ASSERT_EQUAL(after.heap_allocsz_bytes, base.heap_allocsz_bytes);
}

static void
test_dir_create_bad(void)
{
	struct sg_shard_dir *d, *d2;

	rte_errno = 0;
	CU_ASSERT_PTR_NULL(sg_shard_dir_create(NULL, 64, sock));
	CU_ASSERT_NOT_EQUAL(rte_errno, 0);
	d = sg_shard_dir_create("t_dir_dup", 64, sock);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	rte_errno = 0;
	d2 = sg_shard_dir_create("t_dir_dup", 64, sock);
	CU_ASSERT_PTR_NULL(d2);
	CU_ASSERT_EQUAL(rte_errno, EEXIST);
	sg_shard_dir_free(d2);
	/* The first one is still whole. */
	CU_ASSERT_EQUAL(sg_shard_dir_add(d, 42, 1), 0);
	CU_ASSERT_EQUAL(sg_shard_dir_find(d, 42), 1);
	sg_shard_dir_free(d);
}

/* Bulk lookups of 0, 1, 63, 64, 65 and 300 SPIs (more than one rte_hash
 * bulk of 64), hits and misses interleaved. */
static void
test_dir_bulk(void)
{
	static const uint32_t sizes[] = {0, 1, 31, 32, 63, 64, 65, 128, 300};
	uint32_t spi_be[300];
	uint16_t got[301];
	struct sg_shard_dir *d;
	uint32_t i, k, bad = 0;

	d = sg_shard_dir_create("t_dir_bulk", 512, sock);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	/* Every third SPI is known. */
	for (i = 0; i < 300; i++) {
		if (i % 3 == 0)
			CU_ASSERT_EQUAL(sg_shard_dir_add(d, spi_of(i), (uint16_t)(i % 7)), 0);
		spi_be[i] = rte_cpu_to_be_32(spi_of(i));
	}
	for (k = 0; k < RTE_DIM(sizes); k++) {
		memset(got, 0xee, sizeof(got));
		sg_shard_dir_lookup_bulk(d, spi_be, sizes[k], got);
		for (i = 0; i < sizes[k]; i++)
			bad += got[i] != (i % 3 == 0 ? i % 7 : SG_SHARD_NONE);
		/* Nothing written past n. */
		bad += got[sizes[k]] != 0xeeee;
	}
	CU_ASSERT_EQUAL(bad, 0);

	/* From an offset that is not a multiple of the bulk size. */
	sg_shard_dir_lookup_bulk(d, spi_be + 5, 200, got);
	for (i = 0, bad = 0; i < 200; i++)
		bad += got[i] != ((i + 5) % 3 == 0 ? (i + 5) % 7 : SG_SHARD_NONE);
	CU_ASSERT_EQUAL(bad, 0);

	/* After deletes, bulk and single lookups agree. */
	for (i = 0; i < 300; i += 6)
		CU_ASSERT_EQUAL(sg_shard_dir_del(d, spi_of(i)), 0);
	sg_shard_dir_lookup_bulk(d, spi_be, 300, got);
	for (i = 0, bad = 0; i < 300; i++)
		bad += got[i] != sg_shard_dir_find(d, spi_of(i)) ||
				got[i] != (i % 3 == 0 && i % 6 != 0 ? i % 7 : SG_SHARD_NONE);
	CU_ASSERT_EQUAL(bad, 0);
	sg_shard_dir_free(d);
}

/* Capacity, and slots that come back on delete: the gateway adds and
 * deletes inbound SPIs for its whole life (every rekey is one of each). */
static void
test_dir_full_reuse(void)
{
	struct sg_shard_dir *d;
	uint32_t i, cycles = 0, first_fail = UINT32_MAX;
	int r, first_err = 0;

	d = sg_shard_dir_create("t_dir_full", 8, sock);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	for (i = 0; i < 8; i++)
		CU_ASSERT_EQUAL(sg_shard_dir_add(d, spi_of(i), 1), 0);
	CU_ASSERT_EQUAL(sg_shard_dir_add(d, spi_of(8), 1), -ENOSPC);
	CU_ASSERT_EQUAL(sg_shard_dir_find(d, spi_of(8)), SG_SHARD_NONE);
	for (i = 0; i < 8; i++)
		CU_ASSERT_EQUAL(sg_shard_dir_del(d, spi_of(i)), 0);
	/* Deleted slots come back only after reclaim (no reader here). */
	CU_ASSERT_EQUAL(sg_shard_dir_add(d, spi_of(9), 1), -ENOSPC);
	sg_shard_dir_reclaim(d);

	/* Empty again: 100 add/delete cycles of new SPIs must all fit. */
	for (i = 0; i < 100; i++) {
		r = sg_shard_dir_add(d, spi_of(1000 + i), 2);
		if (r != 0) {
			if (first_fail == UINT32_MAX) {
				first_fail = i;
				first_err = r;
			}
			continue;
		}
		cycles++;
		sg_shard_dir_del(d, spi_of(1000 + i));
		sg_shard_dir_reclaim(d);
	}
	if (first_fail != UINT32_MAX)
		printf("\n  directory of 8, emptied: add #%u of a fresh SPI gave %d (%s); %u of 100 "
				"add/del cycles fit", first_fail, first_err, strerror(-first_err), cycles);
	CU_ASSERT_EQUAL(cycles, 100);
	sg_shard_dir_free(d);
}

/* ------------------------------------------------------------------------ */
/* Shard and command objects.                                               */

static void
test_shard_create_bad(void)
{
	static const struct {
		uint16_t id;
		uint32_t cap;
	} bad[] = {
		{SG_SHARD_MAX, 16}, {SG_SHARD_NONE, 16}, {0, 0}, {1, SG_SHARD_SA_MAX + 1},
		{2, UINT32_MAX},
	};
	struct rte_malloc_socket_stats base = heap(), after;
	struct sg_shard *s, *s2;
	unsigned int i;

	for (i = 0; i < RTE_DIM(bad); i++) {
		rte_errno = 0;
		CU_ASSERT_PTR_NULL(sg_shard_create(bad[i].id, bad[i].cap, sock));
		CU_ASSERT_EQUAL(rte_errno, EINVAL);
	}
	after = heap();
	CU_ASSERT_EQUAL(after.alloc_count, base.alloc_count);

	/* The last id and the smallest table. */
	s = sg_shard_create(SG_SHARD_MAX - 1, 1, sock);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(s->id, SG_SHARD_MAX - 1);
	CU_ASSERT_EQUAL(s->socket, sock);
	CU_ASSERT(s->sat != NULL && s->cmd != NULL && s->reply != NULL && s->event != NULL);
	CU_ASSERT_EQUAL(sg_sa_table_capacity(s->sat), 1);
	CU_ASSERT_EQUAL(sg_sa_table_count(s->sat), 0);
	/* The same id twice: its names are taken; the first shard is unharmed. */
	rte_errno = 0;
	s2 = sg_shard_create(SG_SHARD_MAX - 1, 4, sock);
	CU_ASSERT_PTR_NULL(s2);
	CU_ASSERT_EQUAL(rte_errno, EEXIST);
	sg_shard_free(s2);
	CU_ASSERT_EQUAL(sg_sa_table_capacity(s->sat), 1);
	sg_shard_free(s);
	sg_shard_free(NULL);
	after = heap();
	CU_ASSERT_EQUAL(after.alloc_count, base.alloc_count);
	CU_ASSERT_EQUAL(after.heap_allocsz_bytes, base.heap_allocsz_bytes);
	/* And the id is free again. */
	s = sg_shard_create(SG_SHARD_MAX - 1, 2, sock);
	CU_ASSERT_PTR_NOT_NULL(s);
	sg_shard_free(s);
}

static void
test_cmd_alloc(void)
{
	struct sg_shard_cmd *c = sg_shard_cmd_alloc(SG_SHARD_SA_REKEY);

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(c->op, SG_SHARD_SA_REKEY);
	CU_ASSERT(c->idx == 0 && c->result == 0 && c->seq == 0 && c->spd_in == NULL);
	CU_ASSERT(sg_all_zero(&c->prm, sizeof(c->prm)));
	sg_shard_cmd_free(c);
	sg_shard_cmd_free(NULL);
}

static void
test_events(void)
{
	struct sg_shard_event ev, got;
	struct sg_shard *s;
	uint32_t i, bad = 0, posted = 0;

	s = sg_shard_create(61, 4, sock);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(sg_shard_poll_event(s, &got), 0);
	/* Fill the ring; the first refused post says so and changes nothing. */
	for (i = 0; i < 100000; i++) {
		ev = (struct sg_shard_event){.type = (uint8_t)(i % 3), .dir = (uint8_t)(i & 1),
			.shard = 61, .spi = spi_of(i), .tsc = i};
		if (sg_shard_post(s, &ev) != 0)
			break;
		posted++;
	}
	CU_ASSERT(posted >= 1024 && posted < 100000);
	CU_ASSERT_EQUAL(sg_shard_post(s, &ev), -ENOBUFS);
	/* In order, field for field. */
	for (i = 0; i < posted; i++) {
		if (sg_shard_poll_event(s, &got) != 1) {
			bad++;
			break;
		}
		bad += got.type != i % 3 || got.dir != (i & 1) || got.shard != 61 ||
				got.spi != spi_of(i) || got.tsc != i;
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(sg_shard_poll_event(s, &got), 0);
	sg_shard_free(s);
}

/* ------------------------------------------------------------------------ */
/* Commands against a real worker lcore.                                    */

static struct sg_dp_ctx *ctx;
static struct sg_dp_lcore *wlc;
struct sg_shard *wsh;
static unsigned int wlcore = RTE_MAX_LCORE;
static volatile int w_quit, w_stall, w_stalled;
static volatile uint64_t w_applied;

/* The worker's loop as far as commands go: apply them between "bursts".
 * When stalled it stops taking commands, like a worker stuck in a burst. */
static int
worker_loop(void *arg)
{
	struct sg_dp_lcore *lc = arg;

	while (!w_quit) {
		if (w_stall) {
			w_stalled = 1;
			rte_pause();
			continue;
		}
		w_stalled = 0;
		w_applied += sg_dp_apply_commands(lc);
		rte_pause();
	}
	return 0;
}

void
stall(int on)
{
	uint64_t until = rte_get_timer_cycles() + 5 * rte_get_timer_hz();

	w_stall = on;
	while (w_stalled != on && rte_get_timer_cycles() < until)
		rte_pause();
	CU_ASSERT_EQUAL(w_stalled, on);
}

static int
cmd_suite_init(void)
{
	sock = (int)rte_socket_id();
	wlcore = rte_get_next_lcore(-1, 1, 0);
	if (wlcore >= RTE_MAX_LCORE) {
		fprintf(stderr, "shard: no worker lcore\n");
		return -1;
	}
	ctx = sg_dp_ctx_create(sock, 16);
	wsh = sg_shard_create(0, 64, sock);
	wlc = rte_zmalloc_socket("t_lcore", sizeof(*wlc), RTE_CACHE_LINE_SIZE, sock);
	if (ctx == NULL || wsh == NULL || wlc == NULL)
		return -1;
	if (sg_dp_lcore_init(wlc, ctx, (uint16_t)wlcore, 0) != 0)
		return -1;
	wlc->shard = wsh;
	ctx->nb_workers = 1;
	ctx->dir = NULL;
	w_quit = 0;
	return rte_eal_remote_launch(worker_loop, wlc, wlcore);
}

static int
cmd_suite_fini(void)
{
	w_stall = 0;
	w_quit = 1;
	if (wlcore < RTE_MAX_LCORE)
		rte_eal_wait_lcore(wlcore);
	if (wlc != NULL) {
		sg_dp_lcore_fini(wlc);
		rte_free(wlc);
	}
	sg_shard_free(wsh);
	sg_dp_ctx_free(ctx);
	return 0;
}

/* Send one command and wait for it; returns its result (or the call's error). */
int
run_cmd(struct sg_shard_cmd *c)
{
	int ret = sg_shard_call(wsh, c, CALL_US);

	CU_ASSERT_EQUAL(ret, 0);
	return ret != 0 ? ret : c->result;
}

int
add_via_worker(const struct sg_sa_prm *p, uint32_t tag, int *key_wiped)
{
	struct sg_shard_cmd *c = sg_shard_cmd_alloc(SG_SHARD_SA_ADD);
	int r;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	c->prm = *p;
	c->pol_tag = tag;
	r = run_cmd(c);
	if (key_wiped != NULL)
		*key_wiped = sg_all_zero(c->prm.key, sizeof(c->prm.key));
	sg_shard_cmd_free(c);
	return r;
}

static int
del_via_worker(uint32_t idx)
{
	struct sg_shard_cmd *c = sg_shard_cmd_alloc(SG_SHARD_SA_DEL);
	int r;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	c->idx = idx;
	r = run_cmd(c);
	sg_shard_cmd_free(c);
	return r;
}

void
empty_shard(void)
{
	uint32_t i;

	for (i = 0; i < sg_sa_table_capacity(wsh->sat); i++)
		if (sg_sa_table_get(wsh->sat, i) != NULL)
			CU_ASSERT_EQUAL(del_via_worker(i), 0);
	CU_ASSERT_EQUAL(sg_sa_table_count(wsh->sat), 0);
}

static void
test_cmd_sync(void)
{
	struct sg_shard_cmd *c;
	uint64_t before = w_applied;
	int i;

	for (i = 0; i < 100; i++) {
		c = sg_shard_cmd_alloc(SG_SHARD_SYNC);
		CU_ASSERT_PTR_NOT_NULL_FATAL(c);
		c->result = 12345;
		CU_ASSERT_EQUAL(run_cmd(c), 0);
		sg_shard_cmd_free(c);
	}
	/* Each call was answered by the worker, not short-circuited. */
	CU_ASSERT(w_applied - before >= 100);
	CU_ASSERT_EQUAL(rte_ring_count(wsh->reply), 0);
	CU_ASSERT_EQUAL(rte_ring_count(wsh->cmd), 0);

	/* An op the worker does not know is answered -EINVAL. */
	c = sg_shard_cmd_alloc((enum sg_shard_op)99);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(run_cmd(c), -EINVAL);
	sg_shard_cmd_free(c);
}

static void
test_cmd_add(void)
{
	struct sg_sa_prm p;
	const struct sg_sa *sa;
	int idx, idx2, wiped = 0;

	prm_fill(&p, 0x1001, SG_SA_IN, 1024);
	idx = add_via_worker(&p, 77, &wiped);
	CU_ASSERT_FATAL(idx >= 0);
	/* The worker wiped the key in the command before answering. */
	CU_ASSERT(wiped);
	CU_ASSERT_EQUAL(sg_sa_table_count(wsh->sat), 1);
	CU_ASSERT_EQUAL(sg_sa_table_find(wsh->sat, SG_SA_IN, 0x1001), (uint32_t)idx);
	CU_ASSERT_EQUAL(sg_sa_table_find(wsh->sat, SG_SA_OUT, 0x1001), SG_SA_NONE);
	sa = sg_sa_table_get(wsh->sat, (uint32_t)idx);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sa);
	CU_ASSERT_EQUAL(sg_sa_spi(sa), 0x1001);
	CU_ASSERT_EQUAL(sa->spi_be, rte_cpu_to_be_32(0x1001));
	CU_ASSERT_EQUAL(sa->dir, SG_SA_IN);
	CU_ASSERT_EQUAL(sa->pol_tag, 77);
	/* Owned by the lcore that applied it. */
	CU_ASSERT_EQUAL(sg_sa_table_owner(wsh->sat), wlcore);
	CU_ASSERT_EQUAL(sa->idx, (uint32_t)idx);
	CU_ASSERT(sa->key != NULL && sa->replay != NULL && sa->replay->win == 1024);
	CU_ASSERT_EQUAL(sa->tun_src_be, rte_cpu_to_be_32(0xc0000201));

	/* Outbound with the same SPI is a different SA. */
	prm_fill(&p, 0x1001, SG_SA_OUT, 0);
	idx2 = add_via_worker(&p, 0, NULL);
	CU_ASSERT(idx2 >= 0 && idx2 != idx);
	CU_ASSERT_EQUAL(sg_sa_table_find(wsh->sat, SG_SA_OUT, 0x1001), (uint32_t)idx2);
	CU_ASSERT_EQUAL(sg_sa_table_count(wsh->sat), 2);
	empty_shard();
}

static void
test_cmd_add_dup(void)
{
	struct sg_sa_prm p;
	const struct sg_sa *sa;
	const void *key;
	int idx;

	prm_fill(&p, 0x2002, SG_SA_IN, 64);
	idx = add_via_worker(&p, 5, NULL);
	CU_ASSERT_FATAL(idx >= 0);
	sa = sg_sa_table_get(wsh->sat, (uint32_t)idx);
	key = sa->key;

	/* Same SPI and direction, other key and tag: refused, nothing moves. */
	prm_fill(&p, 0x2002, SG_SA_IN, 1024);
	p.key[0] ^= 0xff;
	CU_ASSERT_EQUAL(add_via_worker(&p, 6, NULL), -EEXIST);
	CU_ASSERT_EQUAL(sg_sa_table_count(wsh->sat), 1);
	CU_ASSERT_EQUAL(sg_sa_table_find(wsh->sat, SG_SA_IN, 0x2002), (uint32_t)idx);
	CU_ASSERT_EQUAL(sa->pol_tag, 5);
	CU_ASSERT_PTR_EQUAL(sa->key, key);
	CU_ASSERT_EQUAL(sa->replay->win, 64);

	/* Bad parameters: SPI 0 (RFC 4303 §2.1), wrong key length. */
	prm_fill(&p, 0, SG_SA_IN, 64);
	CU_ASSERT_EQUAL(add_via_worker(&p, 0, NULL), -EINVAL);
	prm_fill(&p, 0x2003, SG_SA_IN, 64);
	p.key_len = 17;
	CU_ASSERT_EQUAL(add_via_worker(&p, 0, NULL), -EINVAL);
	CU_ASSERT_EQUAL(sg_sa_table_count(wsh->sat), 1);
	empty_shard();
}

static void
test_cmd_add_full(void)
{
	struct sg_sa_prm p;
	uint32_t i, bad = 0, cap = sg_sa_table_capacity(wsh->sat);
	uint64_t seen = 0;
	int r;

	RTE_BUILD_BUG_ON(sizeof(seen) * 8 < 64);
	CU_ASSERT_FATAL(cap <= 64);
	/* Every slot once, whatever order earlier deletes left them in. */
	for (i = 0; i < cap; i++) {
		prm_fill(&p, spi_of(i), i % 2 ? SG_SA_OUT : SG_SA_IN, 64);
		r = add_via_worker(&p, i, NULL);
		if (r < 0 || (uint32_t)r >= cap || (seen >> r) & 1)
			bad++;
		else
			seen |= UINT64_C(1) << r;
	}
	CU_ASSERT_EQUAL(bad, 0);
	prm_fill(&p, spi_of(cap), SG_SA_IN, 64);
	CU_ASSERT_EQUAL(add_via_worker(&p, 0, NULL), -ENOSPC);
	CU_ASSERT_EQUAL(sg_sa_table_count(wsh->sat), cap);
	CU_ASSERT_EQUAL(sg_sa_table_find(wsh->sat, SG_SA_IN, spi_of(cap)), SG_SA_NONE);
	empty_shard();
}

static void
test_cmd_del(void)
{
	struct sg_sa_prm p;
	struct rte_malloc_socket_stats base = heap(), after;
	const struct sg_sa *sa;
	const uint8_t *keymem;
	uint8_t raw[16];
	int idx, idx2;

	prm_fill(&p, 0x3003, SG_SA_IN, 1024);
	memcpy(raw, p.key, sizeof(raw));
	idx = add_via_worker(&p, 9, NULL);
	CU_ASSERT_FATAL(idx >= 0);
	sa = sg_sa_table_get(wsh->sat, (uint32_t)idx);
	keymem = (const uint8_t *)sa->key;
	/* The round keys start with the AES key itself (FIPS 197 §5.2). */
	CU_ASSERT(contains(keymem, sizeof(struct sg_crypto_key), raw, sizeof(raw)));

	CU_ASSERT_EQUAL(del_via_worker((uint32_t)idx), 0);
	CU_ASSERT_EQUAL(sg_sa_table_find(wsh->sat, SG_SA_IN, 0x3003), SG_SA_NONE);
	CU_ASSERT_PTR_NULL(sg_sa_table_get(wsh->sat, (uint32_t)idx));
	CU_ASSERT_EQUAL(sg_sa_table_count(wsh->sat), 0);
	/* No trace of the key where it lived (the table wipes it; rte_free()
	 * zeroes freed heap memory as well, so this is a floor, not proof). */
	CU_ASSERT(!contains(keymem, sizeof(struct sg_crypto_key), raw, sizeof(raw)));
	after = heap();
	CU_ASSERT_EQUAL(after.alloc_count, base.alloc_count);
	CU_ASSERT_EQUAL(after.heap_allocsz_bytes, base.heap_allocsz_bytes);

	/* Deleting again, or an index out of range, is -ENOENT. */
	CU_ASSERT_EQUAL(del_via_worker((uint32_t)idx), -ENOENT);
	CU_ASSERT_EQUAL(del_via_worker(SG_SHARD_SA_MAX - 1), -ENOENT);

	/* The slot and the SPI are free for reuse. */
	idx2 = add_via_worker(&p, 10, NULL);
	CU_ASSERT_EQUAL(idx2, idx);
	CU_ASSERT_EQUAL(sg_sa_table_find(wsh->sat, SG_SA_IN, 0x3003), (uint32_t)idx);
	CU_ASSERT_EQUAL(sg_sa_table_get(wsh->sat, (uint32_t)idx2)->pol_tag, 10);
	empty_shard();
}

static void
test_cmd_rekey(void)
{
	struct sg_sa_prm p, q;
	struct sg_shard_cmd *c;
	struct sg_sa *sa;
	const struct sg_crypto_key *oldkey;
	const uint8_t *oldmem;
	uint8_t oldraw[16];
	int idx, other, in;

	prm_fill(&p, 0x4004, SG_SA_OUT, 0);
	memcpy(oldraw, p.key, sizeof(oldraw));
	idx = add_via_worker(&p, 0, NULL);
	prm_fill(&q, 0x4444, SG_SA_OUT, 0);
	other = add_via_worker(&q, 0, NULL);
	prm_fill(&q, 0x4005, SG_SA_IN, 64);
	in = add_via_worker(&q, 3, NULL);
	CU_ASSERT_FATAL(idx >= 0 && other >= 0 && in >= 0);
	sa = sg_sa_table_get(wsh->sat, (uint32_t)idx);
	/* As if it had sent 1000 packets (the worker is idle between commands). */
	sa->seq = 1000;
	sa->packets = 1000;
	sa->bytes = 64000;
	oldkey = sa->key;
	oldmem = (const uint8_t *)oldkey;

	c = sg_shard_cmd_alloc(SG_SHARD_SA_REKEY);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	prm_fill(&c->prm, 0x5005, SG_SA_OUT, 0);
	c->prm.tun_dst = 0xc6336408;
	c->idx = (uint32_t)idx;
	CU_ASSERT_EQUAL(run_cmd(c), 0);
	/* The answer carries the old SA's last sequence number. */
	CU_ASSERT_EQUAL(c->seq, 1000);
	CU_ASSERT(sg_all_zero(c->prm.key, sizeof(c->prm.key)));
	sg_shard_cmd_free(c);
	/* In place: same slot, new SPI found, old SPI gone, counters restart. */
	CU_ASSERT_EQUAL(sg_sa_table_find(wsh->sat, SG_SA_OUT, 0x5005), (uint32_t)idx);
	CU_ASSERT_EQUAL(sg_sa_table_find(wsh->sat, SG_SA_OUT, 0x4004), SG_SA_NONE);
	CU_ASSERT_EQUAL(sg_sa_spi(sa), 0x5005);
	CU_ASSERT_EQUAL(sa->spi_be, rte_cpu_to_be_32(0x5005));
	CU_ASSERT_EQUAL(sa->tun_dst_be, rte_cpu_to_be_32(0xc6336408));
	CU_ASSERT_EQUAL(sa->seq, 0);
	CU_ASSERT_EQUAL(sa->packets, 0);
	CU_ASSERT_EQUAL(sa->bytes, 0);
	CU_ASSERT_EQUAL(sg_sa_table_owner(wsh->sat), wlcore);
	CU_ASSERT_PTR_NOT_NULL(sa->key);
	CU_ASSERT(!contains(oldmem, sizeof(struct sg_crypto_key), oldraw, sizeof(oldraw)));
	CU_ASSERT_EQUAL(sg_sa_table_count(wsh->sat), 3);

	/* Onto an SPI another outbound SA holds: refused, SA unchanged. */
	oldkey = sa->key;
	sa->seq = 7;
	c = sg_shard_cmd_alloc(SG_SHARD_SA_REKEY);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	prm_fill(&c->prm, 0x4444, SG_SA_OUT, 0);
	c->idx = (uint32_t)idx;
	CU_ASSERT_EQUAL(run_cmd(c), -EEXIST);
	sg_shard_cmd_free(c);
	CU_ASSERT_EQUAL(sg_sa_spi(sa), 0x5005);
	CU_ASSERT_PTR_EQUAL(sa->key, oldkey);
	CU_ASSERT_EQUAL(sa->seq, 7);
	CU_ASSERT_EQUAL(sg_sa_table_find(wsh->sat, SG_SA_OUT, 0x4444), (uint32_t)other);

	/* Same SPI, new key: allowed, the counter restarts. */
	c = sg_shard_cmd_alloc(SG_SHARD_SA_REKEY);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	prm_fill(&c->prm, 0x5005, SG_SA_OUT, 0);
	c->prm.key[3] ^= 0x5a;
	c->idx = (uint32_t)idx;
	CU_ASSERT_EQUAL(run_cmd(c), 0);
	CU_ASSERT_EQUAL(c->seq, 7);
	sg_shard_cmd_free(c);
	CU_ASSERT_EQUAL(sa->seq, 0);
	CU_ASSERT_EQUAL(sg_sa_table_find(wsh->sat, SG_SA_OUT, 0x5005), (uint32_t)idx);

	/* An inbound SA or an empty slot cannot be rekeyed in place. */
	c = sg_shard_cmd_alloc(SG_SHARD_SA_REKEY);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	prm_fill(&c->prm, 0x6006, SG_SA_OUT, 0);
	c->idx = (uint32_t)in;
	CU_ASSERT_EQUAL(run_cmd(c), -ENOENT);
	c->idx = 60;
	c->seq = 99;
	prm_fill(&c->prm, 0x6006, SG_SA_OUT, 0);
	CU_ASSERT_EQUAL(run_cmd(c), -ENOENT);
	CU_ASSERT_EQUAL(c->seq, 0);
	sg_shard_cmd_free(c);
	CU_ASSERT_EQUAL(sg_sa_table_find(wsh->sat, SG_SA_OUT, 0x6006), SG_SA_NONE);
	CU_ASSERT_EQUAL(sg_sa_spi(sg_sa_table_get(wsh->sat, (uint32_t)in)), 0x4005);
	empty_shard();
}

static void
test_cmd_spd_set(void)
{
	static const struct sg_sp_rule bypass = {.priority = 1, .action = SG_SP_BYPASS,
		.sport_hi = UINT16_MAX, .dport_hi = UINT16_MAX};
	struct sg_spd *in, *out;
	struct sg_shard_cmd *c;

	in = sg_spd_create("t_spd_in", sock, &bypass, 1);
	out = sg_spd_create("t_spd_out", sock, &bypass, 1);
	CU_ASSERT_FATAL(in != NULL && out != NULL);
	c = sg_shard_cmd_alloc(SG_SHARD_SPD_SET);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	c->spd_in = in;
	c->spd_out = out;
	CU_ASSERT_EQUAL(run_cmd(c), 0);
	sg_shard_cmd_free(c);
	CU_ASSERT_PTR_EQUAL(wlc->spd_in, in);
	CU_ASSERT_PTR_EQUAL(wlc->spd_out, out);

	/* Switch away again before the old ones are freed (as publish_spds does). */
	c = sg_shard_cmd_alloc(SG_SHARD_SPD_SET);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	c->spd_in = out;
	CU_ASSERT_EQUAL(run_cmd(c), 0);
	sg_shard_cmd_free(c);
	CU_ASSERT_PTR_EQUAL(wlc->spd_in, out);
	CU_ASSERT_PTR_NULL(wlc->spd_out);
	c = sg_shard_cmd_alloc(SG_SHARD_SPD_SET);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(run_cmd(c), 0);
	sg_shard_cmd_free(c);
	CU_ASSERT(wlc->spd_in == NULL && wlc->spd_out == NULL);
	sg_spd_free(in);
	sg_spd_free(out);
}

/* A worker that does not answer: the call times out, the command stays the
 * worker's, and its late answer is freed by the next call. */
static void
test_cmd_timeout(void)
{
	struct rte_malloc_socket_stats base, after;
	struct sg_shard_cmd *c, *late;
	uint64_t t0;

	base = heap();
	stall(1);
	late = sg_shard_cmd_alloc(SG_SHARD_SA_ADD);
	CU_ASSERT_PTR_NOT_NULL_FATAL(late);
	prm_fill(&late->prm, 0x7007, SG_SA_IN, 64);
	t0 = rte_get_timer_cycles();
	CU_ASSERT_EQUAL(sg_shard_call(wsh, late, SHORT_US), -ETIMEDOUT);
	/* It waited about as long as it was told to. */
	CU_ASSERT(rte_get_timer_cycles() - t0 >= SHORT_US * rte_get_timer_hz() / 1000000);
	CU_ASSERT_EQUAL(rte_ring_count(wsh->cmd), 1);
	/* late belongs to the worker now: not freed, not touched. */
	stall(0);

	c = sg_shard_cmd_alloc(SG_SHARD_SYNC);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(sg_shard_call(wsh, c, CALL_US), 0);
	CU_ASSERT_EQUAL(c->result, 0);
	sg_shard_cmd_free(c);
	/* The late add was applied, and its command freed with it. */
	CU_ASSERT_NOT_EQUAL(sg_sa_table_find(wsh->sat, SG_SA_IN, 0x7007), SG_SA_NONE);
	CU_ASSERT_EQUAL(rte_ring_count(wsh->reply), 0);
	empty_shard();
	after = heap();
	CU_ASSERT_EQUAL(after.alloc_count, base.alloc_count);
	CU_ASSERT_EQUAL(after.heap_allocsz_bytes, base.heap_allocsz_bytes);
}

/* A full command ring: -ENOBUFS, the caller keeps its command; every late
 * answer is freed once the worker runs again. */
static void
test_cmd_ring_full(void)
{
	struct rte_malloc_socket_stats base, after;
	struct sg_shard_cmd *c;
	unsigned int n = 0, i, cap = rte_ring_get_capacity(wsh->cmd);
	uint64_t until;
	int r, level;

	base = heap();
	/* 60-odd timeouts on purpose: keep their log lines out of the report. */
	level = rte_log_get_level(sg_logtype);
	rte_log_set_level(sg_logtype, RTE_LOG_CRIT);
	stall(1);
	for (i = 0; i < cap + 1; i++) {
		c = sg_shard_cmd_alloc(SG_SHARD_SYNC);
		CU_ASSERT_PTR_NOT_NULL_FATAL(c);
		r = sg_shard_call(wsh, c, 100);
		if (r == -ETIMEDOUT) {
			n++;
			continue;
		}
		CU_ASSERT_EQUAL(r, -ENOBUFS);
		sg_shard_cmd_free(c); /* never enqueued: still ours */
		break;
	}
	CU_ASSERT_EQUAL(n, cap);
	/* Let the worker answer every one of them, then stall it again so that
	 * the next call frees them all and then times out on its own command. */
	stall(0);
	until = rte_get_timer_cycles() + 5 * rte_get_timer_hz();
	while (rte_ring_count(wsh->reply) < n && rte_get_timer_cycles() < until)
		rte_pause();
	CU_ASSERT_EQUAL(rte_ring_count(wsh->reply), n);
	stall(1);
	c = sg_shard_cmd_alloc(SG_SHARD_SYNC);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(sg_shard_call(wsh, c, SHORT_US), -ETIMEDOUT);
	CU_ASSERT_EQUAL(rte_ring_count(wsh->reply), 0);
	rte_log_set_level(sg_logtype, (uint32_t)level);
	stall(0);
	c = sg_shard_cmd_alloc(SG_SHARD_SYNC);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(sg_shard_call(wsh, c, CALL_US), 0);
	sg_shard_cmd_free(c);
	after = heap();
	CU_ASSERT_EQUAL(after.alloc_count, base.alloc_count);
	CU_ASSERT_EQUAL(after.heap_allocsz_bytes, base.heap_allocsz_bytes);
}

/* ------------------------------------------------------------------------ */

static int
suite_init(void)
{
	sock = (int)rte_socket_id();
	mgr = sg_crypto_mgr_create(sock);
	return mgr == NULL ? -1 : 0;
}

static int
suite_fini(void)
{
	sg_crypto_mgr_free(mgr);
	return 0;
}

/*
 * EAL with two lcores on the CPUs we may use (both on one CPU if there is
 * only one), and room for the 1M table.
 */
static int
shard_eal_init(void)
{
	char prefix[64], lcores[64];
	cpu_set_t set;
	int cpu[2] = {0, 0}, n = 0, c;
	char *argv[] = {
		(char *)"shard", "--no-huge", "--no-pci", "-m", (char *)EAL_MEM_MB,
		"--log-level=lib.eal:error", "--no-telemetry", "--lcores", lcores, prefix, NULL,
	};

	if (sched_getaffinity(0, sizeof(set), &set) == 0) {
		for (c = 0; c < CPU_SETSIZE && n < 2; c++)
			if (CPU_ISSET(c, &set))
				cpu[n++] = c;
	}
	if (n == 1)
		cpu[1] = cpu[0];
	snprintf(lcores, sizeof(lcores), "0@%d,1@%d", cpu[0], cpu[1]);
	snprintf(prefix, sizeof(prefix), "--file-prefix=sgtest_shard_%d", (int)getpid());
	if (rte_eal_init((int)RTE_DIM(argv) - 1, argv) < 0) {
		fprintf(stderr, "shard: EAL init failed (lcores %s)\n", lcores);
		return -1;
	}
	return 0;
}

static const struct {
	const char *name;
	CU_TestFunc fn;
} dir_tests[] = {
	{"add, find, delete, duplicates", test_dir_basic},
	{"create: bad name, duplicate name", test_dir_create_bad},
	{"bulk lookup: 0..300 SPIs, hits and misses", test_dir_bulk},
	{"full, then slots reused after delete", test_dir_full_reuse},
}, obj_tests[] = {
	{"create/free: bad arguments, duplicate id, no leak", test_shard_create_bad},
	{"command alloc/free", test_cmd_alloc},
	{"event ring: order, full", test_events},
	{"event log: ids from a base, none before it", test_event_log_base},
	{"dead SA keys: time limit at once, packet limit after the burst", test_dead_key_wipe},
}, cmd_tests[] = {
	{"sync; unknown op", test_cmd_sync},
	{"SA add: index, owner, tag, key wiped in the command", test_cmd_add},
	{"SA add duplicate / bad: refused, table unchanged", test_cmd_add_dup},
	{"SA add into a full shard: -ENOSPC", test_cmd_add_full},
	{"SA delete: gone, key wiped, heap back, slot reused", test_cmd_del},
	{"SA rekey in place: new SPI, old gone, seq reset", test_cmd_rekey},
	{"SA sequence reservation: stop, ask once, stale answer, rekey", test_cmd_seq},
	{"SPD set: the worker switches", test_cmd_spd_set},
	{"timeout: late answer freed by the next call", test_cmd_timeout},
	{"command ring full: -ENOBUFS, late answers freed", test_cmd_ring_full},
}, big_tests[] = {
	{"1M SAs: fill, bulk lookup, empty, heap measured", test_million},
};

int
main(void)
{
	CU_pSuite d, o, c, b;
	unsigned int i, err = 0;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return CU_get_error();
	d = CU_add_suite("shard_dir", suite_init, suite_fini);
	o = CU_add_suite("shard_obj", suite_init, suite_fini);
	c = CU_add_suite("shard_cmd", cmd_suite_init, cmd_suite_fini);
	b = CU_add_suite("shard_1m", suite_init, suite_fini);
	for (i = 0; i < RTE_DIM(dir_tests); i++)
		err |= CU_add_test(d, dir_tests[i].name, dir_tests[i].fn) == NULL;
	for (i = 0; i < RTE_DIM(obj_tests); i++)
		err |= CU_add_test(o, obj_tests[i].name, obj_tests[i].fn) == NULL;
	for (i = 0; i < RTE_DIM(cmd_tests); i++)
		err |= CU_add_test(c, cmd_tests[i].name, cmd_tests[i].fn) == NULL;
	for (i = 0; i < RTE_DIM(big_tests); i++)
		err |= CU_add_test(b, big_tests[i].name, big_tests[i].fn) == NULL;
	if (d == NULL || o == NULL || c == NULL || b == NULL || err || shard_eal_init() != 0) {
		CU_cleanup_registry();
		return EXIT_FAILURE;
	}
	return sg_test_run("shard", 1);
}
