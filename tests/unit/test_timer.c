/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/timer: run-time dispatch, the scan and re-base kernels of every impl
 * against each other, the budgeted sweep against an independent model that
 * keeps absolute 64-bit deadlines (no lazy due[], no epochs), and the edge
 * cases of issue 4: re-base, same tick, cancel/re-arm mid-sweep, empty sets.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <rte_common.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_memory.h>
#include <rte_vect.h>

#include "sg_test.h"
#include "sg_timer.h"
#include "timer_impl.h"

/* With tsc_hz 1 MHz and 1 us ticks, one TSC cycle is one tick: tsc = START_TSC + tick. */
#define START_TSC 1000
#define NEVER64	  UINT64_MAX
#define OUT_MAX	  8192

static uint32_t out_idx[OUT_MAX];
static uint8_t out_kinds[OUT_MAX];

static uint64_t rng;

static uint64_t
rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * UINT64_C(2685821657736338717);
}

static uint32_t
rnd_below(uint32_t n)
{
	return (uint32_t)(((rnd() >> 32) * n) >> 32);
}

static void
seed(uint64_t s)
{
	rng = s * UINT64_C(0x9e3779b97f4a7c15) + 1;
}

static struct sg_timer *
mk(uint32_t cap, uint32_t budget, enum sg_timer_impl impl)
{
	struct sg_timer_prm prm = {
		.capacity = cap,
		.socket_id = SOCKET_ID_ANY,
		.tick_us = 1,
		.tsc_hz = 1000000,
		.budget_blocks = budget,
		.start_tsc = START_TSC,
		.impl = impl,
	};

	return sg_timer_create(&prm);
}

/* The test EAL keeps x86's default SIMD limit of 256; lift it unless forced. */
static int
avx512_ready(void)
{
	if (sg_timer_impl_check(SG_TIMER_IMPL_AVX512) == 0)
		return 1;
	rte_vect_set_max_simd_bitwidth(RTE_VECT_SIMD_512);
	return sg_timer_impl_check(SG_TIMER_IMPL_AVX512) == 0;
}

static void
skip_avx512(const char *what)
{
	printf("\n    SKIP %s: AVX-512 half not run (CPU lacks AVX512F/BW/VL/DQ, not built in, "
	       "or EAL SIMD limit < 512) ",
		what);
}

static uint64_t
passes(const struct sg_timer *t)
{
	struct sg_timer_stats st;

	sg_timer_stats_get(t, &st);
	return st.passes;
}

/* Sweep until every block was compared at least once; entries appended from out_idx[0]. */
static uint32_t
sweep_pass(struct sg_timer *t, uint32_t now, uint32_t n)
{
	uint64_t target = t->stats.blocks + t->nblk;
	uint32_t got = 0;

	while (t->stats.blocks < target) {
		RTE_VERIFY(got + n <= OUT_MAX);
		got += sg_timer_sweep(t, now, out_idx + got, out_kinds + got, n);
	}
	return got;
}

/* ------------------------------------------------------------------------ */

static void
test_create(void)
{
	struct sg_timer_prm prm = {.capacity = 1, .socket_id = SOCKET_ID_ANY};
	struct sg_timer *t;

	CU_ASSERT_PTR_NULL(sg_timer_create(NULL));
	CU_ASSERT_EQUAL(rte_errno, EINVAL);
	CU_ASSERT_PTR_NULL(mk(0, 0, SG_TIMER_IMPL_SCALAR));
	CU_ASSERT_EQUAL(rte_errno, EINVAL);
	CU_ASSERT_PTR_NULL(mk(SG_TIMER_CAPACITY_MAX + 1, 0, SG_TIMER_IMPL_SCALAR));
	CU_ASSERT_EQUAL(rte_errno, EINVAL);
	CU_ASSERT_PTR_NULL(mk(16, 0, SG_TIMER_IMPL_MAX));
	CU_ASSERT_EQUAL(rte_errno, EINVAL);
	prm.tsc_hz = 1; /* a tick shorter than a TSC cycle */
	prm.tick_us = 1;
	CU_ASSERT_PTR_NULL(sg_timer_create(&prm));
	CU_ASSERT_EQUAL(rte_errno, EINVAL);

	/* Defaults: real TSC, 1 ms ticks, AUTO. */
	prm.tsc_hz = 0;
	prm.tick_us = 0;
	t = sg_timer_create(&prm);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(t->tick_us, SG_TIMER_TICK_US_DEFAULT);
	CU_ASSERT_EQUAL(t->budget_blocks, SG_TIMER_BUDGET_BLOCKS_DEFAULT);
	CU_ASSERT_EQUAL(t->nblk, 1);
	CU_ASSERT(sg_timer_get_impl(t) != SG_TIMER_IMPL_AUTO);
	CU_ASSERT_EQUAL(sg_timer_get(t, 0, SG_TIMER_IDLE), SG_TIMER_NEVER);
	CU_ASSERT(sg_timer_tick(t, rte_rdtsc()) < 1000);
	sg_timer_free(t);
	sg_timer_free(NULL);

	/* 1M indices: 4 MB of due[] plus 16 MB of kinds, 64-byte aligned. */
	t = mk(1u << 20, 0, SG_TIMER_IMPL_AUTO);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(t->nblk, (1u << 20) / SG_TIMER_BLOCK);
	CU_ASSERT_EQUAL((uintptr_t)t->due % 64, 0);
	CU_ASSERT_EQUAL((uintptr_t)t->dl % 64, 0);
	sg_timer_free(t);
	CU_ASSERT_EQUAL(sg_timer_stats_get(NULL, NULL), -EINVAL);
}

static void
test_dispatch(void)
{
	struct sg_timer *t;

	CU_ASSERT_EQUAL(sg_timer_impl_check(SG_TIMER_IMPL_SCALAR), 0);
	CU_ASSERT_EQUAL(sg_timer_impl_check(SG_TIMER_IMPL_AUTO), 0);
	CU_ASSERT_EQUAL(sg_timer_impl_check(SG_TIMER_IMPL_MAX), -EINVAL);
	CU_ASSERT_STRING_EQUAL(sg_timer_impl_name(SG_TIMER_IMPL_AVX512), "avx512");
	CU_ASSERT_STRING_EQUAL(sg_timer_impl_name(SG_TIMER_IMPL_MAX), "unknown");

	/* Under a 256-bit limit (x86 default, or --force-max-simd-bitwidth=256) no AVX-512. */
	if (rte_vect_set_max_simd_bitwidth(RTE_VECT_SIMD_256) == 0) {
		CU_ASSERT_EQUAL(sg_timer_impl_best(), SG_TIMER_IMPL_SCALAR);
		CU_ASSERT_EQUAL(sg_timer_impl_check(SG_TIMER_IMPL_AVX512), -ENOTSUP);
		CU_ASSERT_PTR_NULL(mk(16, 0, SG_TIMER_IMPL_AVX512));
		CU_ASSERT_EQUAL(rte_errno, ENOTSUP);
	}
	t = mk(16, 0, SG_TIMER_IMPL_AUTO);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(sg_timer_get_impl(t), sg_timer_impl_best());
	if (!avx512_ready()) {
		skip_avx512("dispatch");
		CU_ASSERT_EQUAL(sg_timer_impl_best(), SG_TIMER_IMPL_SCALAR);
		CU_ASSERT_EQUAL(sg_timer_set_impl(t, SG_TIMER_IMPL_AVX512), -ENOTSUP);
		sg_timer_free(t);
		return;
	}
	CU_ASSERT_EQUAL(sg_timer_impl_best(), SG_TIMER_IMPL_AVX512);
	CU_ASSERT_EQUAL(sg_timer_set_impl(t, SG_TIMER_IMPL_AUTO), 0);
	CU_ASSERT_EQUAL(sg_timer_get_impl(t), SG_TIMER_IMPL_AVX512);
	CU_ASSERT_EQUAL(sg_timer_set_impl(t, SG_TIMER_IMPL_SCALAR), 0);
	CU_ASSERT_EQUAL(sg_timer_get_impl(t), SG_TIMER_IMPL_SCALAR);
	CU_ASSERT_EQUAL(sg_timer_set_impl(t, SG_TIMER_IMPL_AVX512_CSTORE), 0);
	CU_ASSERT_EQUAL(sg_timer_set_impl(t, SG_TIMER_IMPL_MAX), -EINVAL);
	CU_ASSERT_EQUAL(sg_timer_get_impl(t), SG_TIMER_IMPL_AVX512_CSTORE);
	CU_ASSERT_EQUAL(sg_timer_set_impl(NULL, SG_TIMER_IMPL_SCALAR), -EINVAL);
	sg_timer_free(t);
}

/* ------------------------------------------------------------------------ */
/* Kernels: every impl against the scalar one and a brute-force reference.  */

static uint32_t
rnd_deadline(uint32_t now)
{
	switch (rnd_below(8)) {
	case 0:
		return SG_TIMER_NEVER;
	case 1:
		return now;
	case 2:
		return rnd_below(2) ? 0 : SG_TIMER_NEVER - 1;
	case 3:
		return (uint32_t)rnd();
	default:
		return now - 20 + rnd_below(40);
	}
}

static void
test_kernels(void)
{
	static const uint32_t nblks[] = {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 63, 64, 65, 300};
	const struct sg_timer_ops *ops[3];
	uint32_t *due, *sum, *w[3], *s2[3], *out[3];
	unsigned int nops = 0, i, s, r;
	size_t sz = 300 * SG_TIMER_BLOCK * sizeof(uint32_t);

	ops[nops++] = timer_ops_get(SG_TIMER_IMPL_SCALAR);
	if (avx512_ready()) {
		ops[nops++] = timer_ops_get(SG_TIMER_IMPL_AVX512);
		ops[nops++] = timer_ops_get(SG_TIMER_IMPL_AVX512_CSTORE);
	} else {
		skip_avx512("kernels");
	}
	due = rte_malloc(NULL, sz, 64);
	sum = rte_malloc(NULL, sz, 64);
	for (i = 0; i < 3; i++) {
		w[i] = rte_malloc(NULL, sz, 64);
		s2[i] = rte_malloc(NULL, sz, 64);
		out[i] = rte_malloc(NULL, sz + 64, 64);
	}
	seed(42);
	for (s = 0; s < 300; s++) {
		uint32_t nblk = nblks[s % RTE_DIM(nblks)];
		uint32_t now = rnd_below(4) == 0 ? (uint32_t)rnd() : 1000 + rnd_below(50);
		uint32_t delta = rnd_below(3) == 0 ? (uint32_t)rnd() : rnd_below(1100);
		uint32_t off, len;

		if (s % 7 == 0)
			now = s % 2 ? 0 : SG_TIMER_NEVER - 1;
		for (i = 0; i < nblk * SG_TIMER_BLOCK; i++)
			due[i] = rnd_deadline(now);
		for (i = 0; i < nblk; i++)
			sum[i] = rnd_deadline(now);
		for (r = 0; r < 8; r++) {
			uint32_t first = rnd_below(nblk), nb = 1 + rnd_below(nblk - first);
			uint32_t room = SG_TIMER_BLOCK + rnd_below(nb * SG_TIMER_BLOCK + 8);
			uint32_t cnt[3], scanned[3], ref = 0, b, l;

			for (i = 0; i < nops; i++) {
				memcpy(s2[i], sum, nblk * sizeof(uint32_t));
				cnt[i] = ops[i]->scan(
					due, s2[i], first, nb, now, out[i], room, &scanned[i]);
			}
			/* Reference over the blocks the scalar kernel says it covered. */
			for (b = first; b < first + scanned[0]; b++) {
				uint32_t lo = SG_TIMER_NEVER, hit = 0;

				if (sum[b] > now) {
					CU_ASSERT_EQUAL(s2[0][b], sum[b]);
					continue;
				}
				for (l = 0; l < SG_TIMER_BLOCK; l++) {
					lo = RTE_MIN(lo, due[b * SG_TIMER_BLOCK + l]);
					if (due[b * SG_TIMER_BLOCK + l] <= now) {
						CU_ASSERT_EQUAL(
							out[0][ref], b * SG_TIMER_BLOCK + l);
						ref++;
						hit = 1;
					}
				}
				CU_ASSERT_EQUAL(s2[0][b], hit ? now + 1 : lo);
			}
			CU_ASSERT_EQUAL(cnt[0], ref);
			/* It stops only before a block it must load, for want of room. */
			if (scanned[0] < nb)
				CU_ASSERT(sum[first + scanned[0]] <= now &&
					  room - cnt[0] < SG_TIMER_BLOCK);
			for (b = 0; b < nblk; b++)
				if (b < first || b >= first + scanned[0])
					CU_ASSERT_EQUAL(s2[0][b], sum[b]);
			for (i = 1; i < nops; i++) {
				CU_ASSERT_EQUAL(cnt[i], cnt[0]);
				CU_ASSERT_EQUAL(scanned[i], scanned[0]);
				CU_ASSERT(memcmp(out[i], out[0], cnt[0] * sizeof(uint32_t)) == 0);
				CU_ASSERT(memcmp(s2[i], s2[0], nblk * sizeof(uint32_t)) == 0);
			}
		}
		/* Re-base any span: odd offsets and lengths take the masked tail. */
		off = rnd_below(RTE_MIN(20u, nblk * SG_TIMER_BLOCK));
		len = rnd_below(nblk * SG_TIMER_BLOCK - off + 1);
		for (i = 0; i < nops; i++) {
			memcpy(w[i], due, nblk * SG_TIMER_BLOCK * sizeof(uint32_t));
			ops[i]->rebase(w[i] + off, len, delta);
		}
		for (i = 0; i < nblk * SG_TIMER_BLOCK; i++) {
			uint32_t d = due[i];
			uint32_t want = d == SG_TIMER_NEVER || i < off || i >= off + len
						? d
						: (d > delta ? d - delta : 0);

			CU_ASSERT_EQUAL(w[0][i], want);
		}
		for (i = 1; i < nops; i++)
			CU_ASSERT(
				memcmp(w[i], w[0], nblk * SG_TIMER_BLOCK * sizeof(uint32_t)) == 0);
	}
	rte_free(due);
	rte_free(sum);
	for (i = 0; i < 3; i++) {
		rte_free(w[i]);
		rte_free(s2[i]);
		rte_free(out[i]);
	}
}

/* ------------------------------------------------------------------------ */
/* Model: absolute u64 deadlines, a cursor and a budget, nothing lazy.       */

struct model {
	uint32_t cap, nblk, budget, cursor;
	uint64_t *dl;
};

static void
model_init(struct model *m, uint32_t cap, uint32_t budget)
{
	uint32_t i;

	m->cap = cap;
	m->nblk = (cap + SG_TIMER_BLOCK - 1) / SG_TIMER_BLOCK;
	m->budget = budget;
	m->cursor = 0;
	m->dl = malloc((size_t)cap * SG_TIMER_KIND_MAX * sizeof(uint64_t));
	RTE_VERIFY(m->dl != NULL);
	for (i = 0; i < cap * SG_TIMER_KIND_MAX; i++)
		m->dl[i] = NEVER64;
}

/* One sweep call that the room never cuts short. */
static uint32_t
model_sweep(struct model *m, uint64_t now, uint32_t *idx, uint8_t *kinds)
{
	uint32_t left = RTE_MIN(m->budget, m->nblk), n = 0;

	for (; left > 0; left--) {
		uint32_t i;

		for (i = m->cursor * SG_TIMER_BLOCK; i < (m->cursor + 1) * SG_TIMER_BLOCK; i++) {
			uint8_t fired = 0;
			unsigned int k;

			if (i >= m->cap)
				break;
			for (k = 0; k < SG_TIMER_KIND_MAX; k++)
				if (m->dl[i * SG_TIMER_KIND_MAX + k] <= now) {
					fired |= SG_TIMER_KIND_BIT(k);
					m->dl[i * SG_TIMER_KIND_MAX + k] = NEVER64;
				}
			if (fired != 0) {
				idx[n] = i;
				kinds[n++] = fired;
			}
		}
		m->cursor = (m->cursor + 1) % m->nblk;
	}
	return n;
}

#define LOCKSTEP_MAX 4

static uint64_t lockstep_rebases;

/*
 * Drive one set per impl, plus the model, through the same random arms,
 * cancels, clears, clock steps (across re-bases, incremental and forced)
 * and sweeps; every sweep must return the same entries in the same order.
 */
static void
lockstep(uint32_t cap, uint64_t s, const enum sg_timer_impl *impls, unsigned int nimpl)
{
	static const uint32_t budgets[] = {1, 3, 4, 5, 8, 64, 256, 100000};
	static uint32_t idx[LOCKSTEP_MAX][OUT_MAX];
	static uint8_t kinds[LOCKSTEP_MAX][OUT_MAX];
	struct sg_timer *t[LOCKSTEP_MAX];
	struct model m;
	uint32_t budget, per_call, n, nblk = (cap + SG_TIMER_BLOCK - 1) / SG_TIMER_BLOCK;
	uint64_t abs_now = 0;
	unsigned int i, round, bad = 0;
	int use_model;

	seed(s);
	budget = budgets[rnd_below(RTE_DIM(budgets))];
	/* Room for every block of a call lets the model follow; less exercises early stops. */
	per_call = RTE_MIN(budget, nblk) * SG_TIMER_BLOCK;
	if (rnd_below(4) == 0)
		n = SG_TIMER_BLOCK + rnd_below(4 * SG_TIMER_BLOCK);
	else
		n = RTE_MIN(per_call, (uint32_t)OUT_MAX);
	use_model = per_call <= n;
	model_init(&m, cap, budget);
	for (i = 0; i < nimpl; i++) {
		t[i] = mk(cap, budget, impls[i]);
		RTE_VERIFY(t[i] != NULL);
	}
	for (round = 0; round < 160 && bad == 0; round++) {
		uint32_t r = rnd_below(100), now = 0, nops, got[LOCKSTEP_MAX], mgot = 0;

		if (r < 2)
			abs_now += SG_TIMER_REBASE_FORCE + rnd_below(1000);
		else if (r < 8)
			abs_now += SG_TIMER_REBASE_AT; /* from any tick: schedules a re-base */
		else if (r < 30)
			abs_now += rnd_below(5000);
		else
			abs_now += rnd_below(40);
		for (i = 0; i < nimpl; i++) {
			uint32_t tn = sg_timer_tick(t[i], START_TSC + abs_now);

			CU_ASSERT(i == 0 || tn == now);
			now = tn;
		}
		nops = rnd_below(2 * RTE_MIN(cap, 64u) + 1);
		while (nops-- > 0) {
			uint32_t x = rnd_below(10) == 0 ? rnd_below(1u << 29) : rnd_below(300);
			uint32_t j = rnd_below(cap), op = rnd_below(10);
			enum sg_timer_kind k = (enum sg_timer_kind)rnd_below(SG_TIMER_KIND_MAX);
			unsigned int kk;

			for (i = 0; i < nimpl; i++) {
				if (op < 7)
					sg_timer_arm(t[i], j, k, now + x);
				else if (op < 9)
					sg_timer_cancel(t[i], j, k);
				else
					sg_timer_clear(t[i], j);
				if (op < 7)
					CU_ASSERT_EQUAL(sg_timer_get(t[i], j, k), now + x);
			}
			if (op < 7)
				m.dl[j * SG_TIMER_KIND_MAX + k] = abs_now + x;
			else if (op < 9)
				m.dl[j * SG_TIMER_KIND_MAX + k] = NEVER64;
			else
				for (kk = 0; kk < SG_TIMER_KIND_MAX; kk++)
					m.dl[j * SG_TIMER_KIND_MAX + kk] = NEVER64;
		}
		for (i = 0; i < nimpl; i++)
			got[i] = sg_timer_sweep(t[i], now, idx[i], kinds[i], n);
		if (use_model) {
			mgot = model_sweep(&m, abs_now, idx[nimpl], kinds[nimpl]);
			if (mgot != got[0] || memcmp(idx[nimpl], idx[0], mgot * 4) != 0 ||
				memcmp(kinds[nimpl], kinds[0], mgot) != 0)
				bad = 1;
		}
		for (i = 1; i < nimpl; i++)
			if (got[i] != got[0] || memcmp(idx[i], idx[0], got[0] * 4) != 0 ||
				memcmp(kinds[i], kinds[0], got[0]) != 0 ||
				memcmp(&t[i]->stats, &t[0]->stats, sizeof(t[0]->stats)) != 0)
				bad = 1;
		if (bad)
			printf("\n    lockstep cap %u seed %" PRIu64
			       " budget %u n %u: mismatch in round "
			       "%u (%u vs model %u entries)",
				cap, s, budget, n, round, got[0], mgot);
	}
	CU_ASSERT_EQUAL(bad, 0);
	lockstep_rebases += t[0]->stats.rebases;
	for (i = 0; i < nimpl; i++)
		sg_timer_free(t[i]);
	free(m.dl);
}

static void
test_property_impls(void)
{
	static const uint32_t sizes[] = {1, 15, 16, 17, 31, 33, 64, 100, 1000, 4097, 65537};
	enum sg_timer_impl impls[3] = {SG_TIMER_IMPL_SCALAR};
	unsigned int nimpl = 1, sz, s, runs = 0;

	if (avx512_ready()) {
		impls[nimpl++] = SG_TIMER_IMPL_AVX512;
		impls[nimpl++] = SG_TIMER_IMPL_AVX512_CSTORE;
	} else {
		skip_avx512("property (scalar is still checked against the model)");
	}
	for (sz = 0; sz < RTE_DIM(sizes); sz++)
		for (s = 0; s < (sizes[sz] > 10000 ? 16u : 100u); s++, runs++)
			lockstep(sizes[sz], sz * 1000 + s + 1, impls, nimpl);
	printf("\n    %u runs x %u impls, %" PRIu64 " re-bases ", runs, nimpl, lockstep_rebases);
}

/* ------------------------------------------------------------------------ */
/* Edge cases.                                                               */

static void
test_empty(void)
{
	static const uint32_t caps[] = {1, 15, 17, 65537};
	unsigned int c;

	for (c = 0; c < RTE_DIM(caps); c++) {
		struct sg_timer *t = mk(caps[c], 7, SG_TIMER_IMPL_AUTO);
		struct sg_timer_stats st;

		CU_ASSERT_PTR_NOT_NULL_FATAL(t);
		CU_ASSERT_EQUAL(sweep_pass(t, 0, 256), 0);
		CU_ASSERT_EQUAL(sweep_pass(t, SG_TIMER_NEVER, 256), 0);
		/* Too little room: no progress, no write. */
		CU_ASSERT_EQUAL(sg_timer_sweep(t, 5, out_idx, out_kinds, SG_TIMER_BLOCK - 1), 0);
		sg_timer_stats_get(t, &st);
		CU_ASSERT(st.passes >= 1);
		CU_ASSERT(st.blocks >= 2 * t->nblk);
		CU_ASSERT_EQUAL(st.expired + st.refreshed, 0);
		sg_timer_free(t);
	}
}

static void
test_capacity_one(void)
{
	struct sg_timer *t = mk(1, 0, SG_TIMER_IMPL_AUTO);

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	sg_timer_arm(t, 0, SG_TIMER_HARD, 10);
	CU_ASSERT_EQUAL(sg_timer_sweep(t, 9, out_idx, out_kinds, 16), 0);
	CU_ASSERT_EQUAL(sg_timer_sweep(t, 10, out_idx, out_kinds, 16), 1);
	CU_ASSERT_EQUAL(out_idx[0], 0);
	CU_ASSERT_EQUAL(out_kinds[0], SG_TIMER_KIND_BIT(SG_TIMER_HARD));
	CU_ASSERT_EQUAL(sg_timer_get(t, 0, SG_TIMER_HARD), SG_TIMER_NEVER);
	/* The 15 padding lanes never fire, not even at the last tick. */
	CU_ASSERT_EQUAL(sg_timer_sweep(t, SG_TIMER_NEVER, out_idx, out_kinds, 16), 0);
	sg_timer_free(t);
}

/* Every index has the same deadline: none a tick early, all at it, each once, in order. */
static void
test_same_tick(void)
{
	const uint32_t cap = 65537, d = 777;
	struct sg_timer *t = mk(cap, 100000, SG_TIMER_IMPL_AUTO); /* a call is a full pass */
	uint32_t i, got = 0, calls = 0;
	struct sg_timer_stats st;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	for (i = 0; i < cap; i++)
		sg_timer_arm(t, i, SG_TIMER_IDLE, d);
	CU_ASSERT_EQUAL(sweep_pass(t, d - 1, 64), 0);
	/* 64 entries per call: the room, not the budget, ends each call. */
	while (got < cap && calls++ < 2 * cap) {
		uint32_t n = sg_timer_sweep(t, d, out_idx, out_kinds, 64), j;

		CU_ASSERT(n <= 64);
		for (j = 0; j < n; j++) {
			CU_ASSERT_EQUAL(out_idx[j], got + j);
			CU_ASSERT_EQUAL(out_kinds[j], SG_TIMER_KIND_BIT(SG_TIMER_IDLE));
		}
		got += n;
	}
	CU_ASSERT_EQUAL(got, cap);
	CU_ASSERT_EQUAL(sweep_pass(t, d + 1000, 64), 0);
	sg_timer_stats_get(t, &st);
	CU_ASSERT_EQUAL(st.expired, cap);
	CU_ASSERT_EQUAL(st.refreshed, 0);
	sg_timer_free(t);
}

/* Budget and cursor: a full pass visits every block once, calls resume where they stopped. */
static void
test_cursor_resume(void)
{
	static uint8_t seen[1000];
	static const uint32_t rooms[] = {16, 17, 40, 1000};
	unsigned int r;

	for (r = 0; r < RTE_DIM(rooms); r++) {
		struct sg_timer *t = mk(1000, 5, SG_TIMER_IMPL_AUTO);
		uint32_t i, prev = 0, total = 0, calls = 0;
		struct sg_timer_stats st;

		CU_ASSERT_PTR_NOT_NULL_FATAL(t);
		memset(seen, 0, sizeof(seen));
		for (i = 0; i < 1000; i++)
			sg_timer_arm(t, i, (enum sg_timer_kind)(i % SG_TIMER_KIND_MAX), i % 50);
		while (passes(t) == 0) {
			uint32_t n = sg_timer_sweep(t, 100, out_idx, out_kinds, rooms[r]), j;

			calls++;
			for (j = 0; j < n; j++) {
				CU_ASSERT(total == 0 || out_idx[j] > prev);
				prev = out_idx[j];
				seen[out_idx[j]]++;
				total++;
			}
		}
		for (i = 0; i < 1000; i++)
			CU_ASSERT_EQUAL(seen[i], 1);
		sg_timer_stats_get(t, &st);
		/* The call that ends the pass may go on into the next one with its budget left. */
		CU_ASSERT(st.blocks >= t->nblk && st.blocks < t->nblk + 5);
		/* 63 blocks of 16 hits: with 16 or 17 entries of room, one block per call. */
		CU_ASSERT_EQUAL(calls, rooms[r] < 32 ? 63u : (rooms[r] < 80 ? 32u : 13u));
		CU_ASSERT_EQUAL(sweep_pass(t, 100, rooms[r]), 0);
		sg_timer_free(t);
	}
}

/* A call never goes past one full pass, and a TSC budget cuts it at 64 blocks. */
static void
test_budget(void)
{
	struct sg_timer_prm prm = {
		.capacity = 65536,
		.socket_id = SOCKET_ID_ANY,
		.budget_blocks = 100000,
		.budget_cycles = 1,
	};
	struct sg_timer *t = mk(17, 256, SG_TIMER_IMPL_AUTO);
	struct sg_timer_stats st;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	sg_timer_sweep(t, 1, out_idx, out_kinds, 256);
	sg_timer_stats_get(t, &st);
	CU_ASSERT_EQUAL(st.blocks, 2);
	CU_ASSERT_EQUAL(st.passes, 1);
	sg_timer_free(t);

	t = sg_timer_create(&prm);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	sg_timer_sweep(t, 1, out_idx, out_kinds, 256);
	sg_timer_stats_get(t, &st);
	CU_ASSERT_EQUAL(st.blocks, 64);
	CU_ASSERT_EQUAL(t->cursor, 64);
	sg_timer_free(t);
}

/* Cancel and re-arm while a budgeted pass is half-way. */
static void
test_cancel_rearm_mid_sweep(void)
{
	static uint8_t seen[1000];
	struct sg_timer *t = mk(1000, 8, SG_TIMER_IMPL_AUTO);
	uint32_t i, n, j;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < 1000; i++)
		sg_timer_arm(t, i, SG_TIMER_IDLE, 10);
	/* First call: blocks 0..7, indices 0..127. */
	n = sg_timer_sweep(t, 20, out_idx, out_kinds, 1000);
	CU_ASSERT_EQUAL(n, 128);
	CU_ASSERT_EQUAL(out_idx[127], 127);
	sg_timer_cancel(t, 500, SG_TIMER_IDLE);	  /* ahead of the cursor: gone */
	sg_timer_arm(t, 600, SG_TIMER_IDLE, 100); /* ahead, pushed later: not yet */
	sg_timer_arm(t, 50, SG_TIMER_IDLE, 5);	  /* behind: next pass */
	sg_timer_clear(t, 700);			  /* ahead, session removed */
	sg_timer_arm(t, 800, SG_TIMER_SOFT, 15);  /* ahead, a second kind now due */
	while (passes(t) == 0) {
		n = sg_timer_sweep(t, 20, out_idx, out_kinds, 1000);
		for (j = 0; j < n; j++) {
			seen[out_idx[j]]++;
			if (out_idx[j] == 800)
				CU_ASSERT_EQUAL(
					out_kinds[j], SG_TIMER_KIND_BIT(SG_TIMER_IDLE) |
							      SG_TIMER_KIND_BIT(SG_TIMER_SOFT));
		}
	}
	for (i = 128; i < 1000; i++)
		CU_ASSERT_EQUAL(seen[i], i == 500 || i == 600 || i == 700 ? 0 : 1);
	n = sweep_pass(t, 20, 1000);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(out_idx[0], 50);
	n = sweep_pass(t, 100, 1000);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(out_idx[0], 600);
	sg_timer_free(t);
}

/* Kinds: masks, lazy idle push, earlier re-arm, independent kinds. */
static void
test_kinds(void)
{
	struct sg_timer *t = mk(64, 0, SG_TIMER_IMPL_AUTO);
	struct sg_timer_stats st;
	uint32_t n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	sg_timer_arm(t, 3, SG_TIMER_IDLE, 100);
	sg_timer_arm(t, 3, SG_TIMER_SOFT, 200);
	sg_timer_arm(t, 3, SG_TIMER_HARD, 300);
	CU_ASSERT_EQUAL(t->due[3], 100);
	CU_ASSERT_EQUAL(t->sum[0], 100);
	/* Packets push idle later: due[] and sum[] stay a stale 100. */
	sg_timer_arm(t, 3, SG_TIMER_IDLE, 150);
	sg_timer_arm(t, 3, SG_TIMER_IDLE, 250);
	CU_ASSERT_EQUAL(t->due[3], 100);
	CU_ASSERT_EQUAL(t->sum[0], 100);
	CU_ASSERT_EQUAL(sweep_pass(t, 120, 64), 0);
	sg_timer_stats_get(t, &st);
	CU_ASSERT_EQUAL(st.refreshed, 1);
	CU_ASSERT_EQUAL(t->due[3], 200);
	CU_ASSERT_EQUAL(t->sum[0], 121); /* now + 1: the next sweep gets the exact minimum */
	CU_ASSERT_EQUAL(sweep_pass(t, 121, 64), 0);
	CU_ASSERT_EQUAL(t->sum[0], 200);
	n = sweep_pass(t, 220, 64);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(out_kinds[0], SG_TIMER_KIND_BIT(SG_TIMER_SOFT));
	CU_ASSERT_EQUAL(sg_timer_get(t, 3, SG_TIMER_SOFT), SG_TIMER_NEVER);
	CU_ASSERT_EQUAL(sg_timer_get(t, 3, SG_TIMER_IDLE), 250);
	/* Idle and hard in the same sweep: one entry, both bits. */
	n = sweep_pass(t, 400, 64);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(
		out_kinds[0], SG_TIMER_KIND_BIT(SG_TIMER_IDLE) | SG_TIMER_KIND_BIT(SG_TIMER_HARD));
	CU_ASSERT_EQUAL(t->due[3], SG_TIMER_NEVER);
	/* Moving a deadline earlier lowers due[]. */
	sg_timer_arm(t, 40, SG_TIMER_HARD, 1000);
	CU_ASSERT_EQUAL(t->sum[2], 1000);
	sg_timer_arm(t, 40, SG_TIMER_HARD, 500);
	CU_ASSERT_EQUAL(t->due[40], 500);
	CU_ASSERT_EQUAL(t->sum[2], 500);
	CU_ASSERT_EQUAL(sweep_pass(t, 499, 64), 0);
	CU_ASSERT_EQUAL(sweep_pass(t, 500, 64), 1);
	/* Cancel is lazy: due[] keeps its bound, the sweep drops it without a report. */
	sg_timer_arm(t, 10, SG_TIMER_SOFT, 600);
	sg_timer_cancel(t, 10, SG_TIMER_SOFT);
	CU_ASSERT_EQUAL(sweep_pass(t, 700, 64), 0);
	CU_ASSERT_EQUAL(t->due[10], SG_TIMER_NEVER);
	sg_timer_free(t);
}

static void
test_tick(void)
{
	struct sg_timer_prm prm = {
		.capacity = 16,
		.socket_id = SOCKET_ID_ANY,
		.tick_us = 1000,
		.tsc_hz = 2000000000,
		.start_tsc = 5000000,
	};
	struct sg_timer *t = sg_timer_create(&prm);

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(sg_timer_tick(t, 0), 0);
	CU_ASSERT_EQUAL(sg_timer_tick(t, 5000000), 0);
	CU_ASSERT_EQUAL(sg_timer_tick(t, 5000000 + 1999999), 0);
	CU_ASSERT_EQUAL(sg_timer_tick(t, 5000000 + 2000000), 1);
	CU_ASSERT_EQUAL(sg_timer_tick(t, 5000000 + UINT64_C(2000000) * 86400000), 86400000);
	CU_ASSERT_EQUAL(sg_timer_ms_to_ticks(t, 0), 0);
	CU_ASSERT_EQUAL(sg_timer_ms_to_ticks(t, 30000), 30000);
	CU_ASSERT_EQUAL(sg_timer_ms_to_ticks(t, UINT64_MAX), SG_TIMER_HORIZON - 1);
	sg_timer_free(t);
	prm.tick_us = 300;
	t = sg_timer_create(&prm);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(sg_timer_ms_to_ticks(t, 1), 4); /* 1000 us / 300 us, rounded up */
	CU_ASSERT_EQUAL(sg_timer_ms_to_ticks(t, 3), 10);
	sg_timer_free(t);
}

/* Budgeted re-base: deadlines keep their absolute meaning before, during and after. */
static void
test_rebase(void)
{
	const uint32_t cap = 100, now0 = SG_TIMER_REBASE_AT - 100;
	struct sg_timer *t = mk(cap, 2, SG_TIMER_IMPL_AUTO);
	uint64_t abs = now0;
	uint32_t i, now, n, got = 0, calls = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(sg_timer_tick(t, START_TSC + abs), now0);
	for (i = 0; i < cap; i++)
		sg_timer_arm(t, i, SG_TIMER_IDLE, now0 + 1000 + i);
	sg_timer_arm(t, 50, SG_TIMER_HARD, now0 + 50);
	abs += 110;
	now = sg_timer_tick(t, START_TSC + abs); /* schedules delta = now */
	CU_ASSERT_EQUAL(now, SG_TIMER_REBASE_AT + 10);
	CU_ASSERT_EQUAL(t->rb_delta, now);
	/* First call re-bases blocks 0 and 1; the others are still in the old epoch. */
	CU_ASSERT_EQUAL(sg_timer_sweep(t, now, out_idx, out_kinds, 64), 0);
	CU_ASSERT_EQUAL(t->rb_blk, 2);
	CU_ASSERT_EQUAL(t->due[0], 890);
	CU_ASSERT_EQUAL(t->sum[0], 890);
	CU_ASSERT_EQUAL(sg_timer_get(t, 0, SG_TIMER_IDLE), now0 + 1000);
	CU_ASSERT_EQUAL(sg_timer_get(t, 99, SG_TIMER_IDLE), now0 + 1099);
	sg_timer_arm(t, 1, SG_TIMER_IDLE, now + 2000);	/* re-based block */
	sg_timer_arm(t, 98, SG_TIMER_IDLE, now + 3000); /* not yet */
	CU_ASSERT_EQUAL(sg_timer_get(t, 1, SG_TIMER_IDLE), now + 2000);
	CU_ASSERT_EQUAL(sg_timer_get(t, 98, SG_TIMER_IDLE), now + 3000);
	while (passes(t) == 0 && calls++ < 10) {
		n = sg_timer_sweep(t, now, out_idx, out_kinds, 64);
		if (n == 1 && out_idx[0] == 50 && out_kinds[0] == SG_TIMER_KIND_BIT(SG_TIMER_HARD))
			got++;
		else
			CU_ASSERT_EQUAL(n, 0);
	}
	CU_ASSERT_EQUAL(got, 1);
	CU_ASSERT_EQUAL(t->rb_blk, t->nblk);
	CU_ASSERT_EQUAL(t->stats.rebases, 0);
	/* The next tick moves the epoch: same TSC, tick 0. */
	CU_ASSERT_EQUAL(sg_timer_tick(t, START_TSC + abs), 0);
	CU_ASSERT_EQUAL(t->stats.rebases, 1);
	CU_ASSERT_EQUAL(t->rb_delta, 0);
	CU_ASSERT_EQUAL(sg_timer_get(t, 0, SG_TIMER_IDLE), 890);
	CU_ASSERT_EQUAL(sg_timer_get(t, 1, SG_TIMER_IDLE), 2000);
	CU_ASSERT_EQUAL(sg_timer_get(t, 98, SG_TIMER_IDLE), 3000);
	/* Expiry at the same absolute time as without the re-base. */
	now = sg_timer_tick(t, START_TSC + abs + 889);
	CU_ASSERT_EQUAL(sweep_pass(t, now, 64), 0);
	now = sg_timer_tick(t, START_TSC + abs + 890);
	CU_ASSERT_EQUAL(sweep_pass(t, now, 64), 1);
	CU_ASSERT_EQUAL(out_idx[0], 0);

	/* Scheduled, started at block 0 of the next pass, then time runs past the force mark. */
	abs += SG_TIMER_REBASE_AT;
	now = sg_timer_tick(t, START_TSC + abs);
	CU_ASSERT_EQUAL(t->rb_delta, now);
	got = 0;
	calls = 0;
	while (t->rb_blk == 0 && calls++ < 20)
		got += sg_timer_sweep(t, now, out_idx, out_kinds, 1000);
	CU_ASSERT(t->rb_blk > 0 && t->rb_blk < t->nblk);
	abs += SG_TIMER_REBASE_FORCE - SG_TIMER_REBASE_AT + 5;
	now = sg_timer_tick(t, START_TSC + abs);
	CU_ASSERT_EQUAL(t->stats.rebases, 2);
	CU_ASSERT_EQUAL(t->rb_delta, 0);
	CU_ASSERT_EQUAL(now, SG_TIMER_REBASE_FORCE - SG_TIMER_REBASE_AT + 5);
	/* Every idle deadline left (all but index 0's) is long past, in either epoch. */
	got += sweep_pass(t, now, 1000);
	CU_ASSERT_EQUAL(got, cap - 1);
	for (i = 0; i < cap; i++)
		CU_ASSERT_EQUAL(sg_timer_get(t, i, SG_TIMER_IDLE), SG_TIMER_NEVER);

	/* A jump past the force mark with nothing scheduled: tick 0, all deadlines past. */
	sg_timer_arm(t, 7, SG_TIMER_SOFT, now + 5);
	sg_timer_arm(t, 8, SG_TIMER_HARD, now + SG_TIMER_HORIZON - 1);
	abs += (uint64_t)SG_TIMER_REBASE_FORCE + 1000 - now;
	now = sg_timer_tick(t, START_TSC + abs);
	CU_ASSERT_EQUAL(now, 0);
	CU_ASSERT_EQUAL(t->stats.rebases, 3);
	CU_ASSERT_EQUAL(sg_timer_get(t, 7, SG_TIMER_SOFT), 0);
	CU_ASSERT_EQUAL(sg_timer_get(t, 8, SG_TIMER_HARD), 0);
	CU_ASSERT_EQUAL(sweep_pass(t, now, 1000), 2);
	sg_timer_free(t);
}

int
main(void)
{
	CU_pSuite s;
	int with_eal = 1;

	if (sg_test_eal_init("timer") != 0)
		return EXIT_FAILURE;
	if (CU_initialize_registry() != CUE_SUCCESS)
		return EXIT_FAILURE;
	s = CU_add_suite("timer", NULL, NULL);
	CU_add_test(s, "create and parameters", test_create);
	CU_add_test(s, "run-time dispatch and SIMD limit", test_dispatch);
	CU_add_test(s, "kernels: every impl equals scalar and brute force", test_kernels);
	CU_add_test(s, "property: impls and model agree on random workloads", test_property_impls);
	CU_add_test(s, "empty sets", test_empty);
	CU_add_test(s, "capacity one", test_capacity_one);
	CU_add_test(s, "many deadlines in the same tick", test_same_tick);
	CU_add_test(s, "budget and cursor resume: each index once per pass", test_cursor_resume);
	CU_add_test(s, "budget: one pass at most, TSC budget", test_budget);
	CU_add_test(s, "cancel and re-arm during a partial sweep", test_cancel_rearm_mid_sweep);
	CU_add_test(s, "kinds: masks, lazy idle, earlier re-arm, cancel", test_kinds);
	CU_add_test(s, "tick conversion", test_tick);
	CU_add_test(s, "epoch re-base: budgeted, forced, jump", test_rebase);
	return sg_test_run("timer", with_eal);
}
