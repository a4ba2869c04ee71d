/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Timer sets: allocation, run-time choice of the sweep kernels, the
 * budgeted sweep with its cursor, candidate resolution against the kind
 * table, and the epoch re-base. Layout and invariants: sg_timer.h.
 */

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <rte_common.h>
#include <rte_cpuflags.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_vect.h>

#include "sg_timer.h"
#include "timer_impl.h"

/* With a TSC budget the clock is read every this many blocks (1024 indices). */
#define CYCLE_CHECK_BLOCKS 64

_Static_assert(SG_TIMER_KIND_MAX <= SG_TIMER_KIND_SLOTS, "kind table slot too small");
_Static_assert(SG_TIMER_BLOCK * sizeof(uint32_t) == 64, "a block is one 64-byte line");
_Static_assert(SG_TIMER_REBASE_FORCE + (uint64_t)SG_TIMER_HORIZON < SG_TIMER_NEVER,
	"a live deadline must never reach NEVER before the re-base completes");

static const char *const impl_names[SG_TIMER_IMPL_MAX] = {
	[SG_TIMER_IMPL_AUTO] = "auto",
	[SG_TIMER_IMPL_SCALAR] = "scalar",
	[SG_TIMER_IMPL_AVX512] = "avx512",
	[SG_TIMER_IMPL_AVX512_CSTORE] = "avx512-cstore",
};

static int
avx512_usable(void)
{
#ifdef SG_TIMER_HAVE_AVX512
	/* timer_avx512.c is built with F, BW, VL and DQ: the compiler may use any of them. */
	return rte_cpu_get_flag_enabled(RTE_CPUFLAG_AVX512F) > 0 &&
	       rte_cpu_get_flag_enabled(RTE_CPUFLAG_AVX512BW) > 0 &&
	       rte_cpu_get_flag_enabled(RTE_CPUFLAG_AVX512VL) > 0 &&
	       rte_cpu_get_flag_enabled(RTE_CPUFLAG_AVX512DQ) > 0 &&
	       rte_vect_get_max_simd_bitwidth() >= RTE_VECT_SIMD_512;
#else
	return 0;
#endif
}

enum sg_timer_impl
sg_timer_impl_best(void)
{
	return avx512_usable() ? SG_TIMER_IMPL_AVX512 : SG_TIMER_IMPL_SCALAR;
}

const struct sg_timer_ops *
timer_ops_get(enum sg_timer_impl impl)
{
	if (impl == SG_TIMER_IMPL_AUTO)
		impl = sg_timer_impl_best();
	switch (impl) {
	case SG_TIMER_IMPL_SCALAR:
		return &timer_scalar_ops;
#ifdef SG_TIMER_HAVE_AVX512
	case SG_TIMER_IMPL_AVX512:
		return avx512_usable() ? &timer_avx512_ops : NULL;
	case SG_TIMER_IMPL_AVX512_CSTORE:
		return avx512_usable() ? &timer_avx512_cstore_ops : NULL;
#endif
	default:
		return NULL;
	}
}

int
sg_timer_impl_check(enum sg_timer_impl impl)
{
	if ((unsigned int)impl >= SG_TIMER_IMPL_MAX)
		return -EINVAL;
	return timer_ops_get(impl) == NULL ? -ENOTSUP : 0;
}

const char *
sg_timer_impl_name(enum sg_timer_impl impl)
{
	if ((unsigned int)impl >= SG_TIMER_IMPL_MAX)
		return "unknown";
	return impl_names[impl];
}

int
sg_timer_set_impl(struct sg_timer *t, enum sg_timer_impl impl)
{
	const struct sg_timer_ops *ops;
	int ret;

	if (t == NULL)
		return -EINVAL;
	ret = sg_timer_impl_check(impl);
	if (ret != 0)
		return ret;
	if (impl == SG_TIMER_IMPL_AUTO)
		impl = sg_timer_impl_best();
	ops = timer_ops_get(impl);
	if (ops == NULL)
		return -ENOTSUP;
	t->ops = ops;
	t->impl = impl;
	return 0;
}

enum sg_timer_impl
sg_timer_get_impl(const struct sg_timer *t)
{
	return t->impl;
}

struct sg_timer *
sg_timer_create(const struct sg_timer_prm *prm)
{
	struct sg_timer *t;
	uint64_t hz, cpt;
	uint32_t tick_us, nblk;
	size_t sum_sz, due_sz, dl_sz;
	int err = ENOMEM;
	int ret;

	if (prm == NULL || prm->capacity == 0 || prm->capacity > SG_TIMER_CAPACITY_MAX ||
		(unsigned int)prm->impl >= SG_TIMER_IMPL_MAX) {
		rte_errno = EINVAL;
		return NULL;
	}
	tick_us = prm->tick_us != 0 ? prm->tick_us : SG_TIMER_TICK_US_DEFAULT;
	hz = prm->tsc_hz != 0 ? prm->tsc_hz : rte_get_tsc_hz();
	cpt = (uint64_t)((unsigned __int128)hz * tick_us / 1000000);
	if (cpt == 0) {
		rte_errno = EINVAL;
		return NULL;
	}
	if (sg_timer_impl_check(prm->impl) != 0) {
		rte_errno = ENOTSUP;
		return NULL;
	}
	nblk = (prm->capacity + SG_TIMER_BLOCK - 1) / SG_TIMER_BLOCK;
	due_sz = (size_t)nblk * SG_TIMER_BLOCK * sizeof(uint32_t);
	dl_sz = due_sz * SG_TIMER_KIND_SLOTS;
	/* sum[] is read 16 entries at a time: pad it to whole 64-byte lines. */
	sum_sz = RTE_ALIGN_CEIL((size_t)nblk, SG_TIMER_BLOCK) * sizeof(uint32_t);

	t = rte_zmalloc_socket("sg_timer", sizeof(*t), RTE_CACHE_LINE_SIZE, prm->socket_id);
	if (t == NULL)
		goto err_out;
	t->sum = rte_malloc_socket("sg_timer_sum", sum_sz, RTE_CACHE_LINE_SIZE, prm->socket_id);
	if (t->sum == NULL)
		goto err_free_t;
	t->due = rte_malloc_socket("sg_timer_due", due_sz, RTE_CACHE_LINE_SIZE, prm->socket_id);
	if (t->due == NULL)
		goto err_free_sum;
	t->dl = rte_malloc_socket("sg_timer_dl", dl_sz, RTE_CACHE_LINE_SIZE, prm->socket_id);
	if (t->dl == NULL)
		goto err_free_due;
	/* All-ones bytes are SG_TIMER_NEVER, also in the padding lanes and entries. */
	memset(t->sum, 0xff, sum_sz);
	memset(t->due, 0xff, due_sz);
	memset(t->dl, 0xff, dl_sz);

	t->capacity = prm->capacity;
	t->nblk = nblk;
	t->budget_blocks =
		prm->budget_blocks != 0 ? prm->budget_blocks : SG_TIMER_BUDGET_BLOCKS_DEFAULT;
	t->budget_cycles = prm->budget_cycles;
	t->cycles_per_tick = cpt;
	t->tick_us = tick_us;
	t->epoch_tsc = prm->start_tsc != 0 ? prm->start_tsc : rte_rdtsc();
	t->socket_id = prm->socket_id;
	ret = sg_timer_set_impl(t, prm->impl);
	if (ret != 0) {
		err = -ret;
		goto err_free_dl;
	}
	return t;

err_free_dl:
	rte_free(t->dl);
err_free_due:
	rte_free(t->due);
err_free_sum:
	rte_free(t->sum);
err_free_t:
	rte_free(t);
err_out:
	rte_errno = err;
	return NULL;
}

void
sg_timer_free(struct sg_timer *t)
{
	if (t == NULL)
		return;
	rte_free(t->dl);
	rte_free(t->due);
	rte_free(t->sum);
	rte_free(t);
}

uint32_t
sg_timer_ms_to_ticks(const struct sg_timer *t, uint64_t ms)
{
	uint64_t us, ticks;

	if (ms > UINT64_MAX / 1000)
		return SG_TIMER_HORIZON - 1;
	us = ms * 1000;
	ticks = us / t->tick_us + (us % t->tick_us != 0);
	return (uint32_t)RTE_MIN(ticks, (uint64_t)SG_TIMER_HORIZON - 1);
}

/* Subtract delta from sum[], due[] and dl[] of blocks [blk, blk + nb). */
static void
rebase_blocks(struct sg_timer *t, uint32_t blk, uint32_t nb, uint32_t delta)
{
	t->ops->rebase(t->sum + blk, nb, delta);
	t->ops->rebase(t->due + (size_t)blk * SG_TIMER_BLOCK, (size_t)nb * SG_TIMER_BLOCK, delta);
	t->ops->rebase(t->dl + (size_t)blk * SG_TIMER_BLOCK * SG_TIMER_KIND_SLOTS,
		(size_t)nb * SG_TIMER_BLOCK * SG_TIMER_KIND_SLOTS, delta);
}

/* Schedule, finish or force an epoch re-base; returns ticks in the resulting epoch. */
static uint64_t
rebase_step(struct sg_timer *t, uint64_t ticks)
{
	if (t->rb_delta != 0) {
		if (t->rb_blk != t->nblk) {
			if (ticks < SG_TIMER_REBASE_FORCE)
				return ticks;
			/* The sweep has not finished the pass in time: do the rest now. */
			rebase_blocks(t, t->rb_blk, t->nblk - t->rb_blk, t->rb_delta);
		}
		t->epoch_tsc += (uint64_t)t->rb_delta * t->cycles_per_tick;
		ticks -= t->rb_delta;
		t->rb_delta = 0;
		t->rb_blk = 0;
		t->stats.rebases++;
	}
	if (ticks < SG_TIMER_REBASE_AT)
		return ticks;
	if (ticks < SG_TIMER_REBASE_FORCE) {
		/* The sweep applies it from block 0 of its next pass. */
		t->rb_delta = (uint32_t)ticks;
		t->rb_blk = 0;
		return ticks;
	}
	/* Time jumped past the force mark: every past deadline becomes 0, now becomes 0. */
	rebase_blocks(t, 0, t->nblk, (uint32_t)RTE_MIN(ticks, (uint64_t)SG_TIMER_NEVER - 1));
	t->epoch_tsc += ticks * t->cycles_per_tick;
	t->stats.rebases++;
	return 0;
}

uint32_t
sg_timer_tick(struct sg_timer *t, uint64_t tsc)
{
	uint64_t ticks = 0;

	if (tsc > t->epoch_tsc)
		ticks = (tsc - t->epoch_tsc) / t->cycles_per_tick;
	if (ticks >= SG_TIMER_REBASE_AT)
		ticks = rebase_step(t, ticks);
	t->now = (uint32_t)ticks;
	return t->now;
}

/*
 * Turn the candidates idx[out, out + cand) into reports, compacted in place
 * from idx[out]: disarm and report the kinds due, store the next earliest
 * deadline, drop candidates with nothing due (a stale due[]).
 */
static uint32_t
resolve(struct sg_timer *t, uint32_t now, uint32_t *idx, uint8_t *kinds, uint32_t out,
	uint32_t cand)
{
	uint32_t end = out + cand;
	uint32_t first = out;
	uint32_t j;

	for (j = out; j < end; j++) {
		uint32_t i = idx[j];
		uint32_t *d = &t->dl[(size_t)i * SG_TIMER_KIND_SLOTS];
		uint32_t next = SG_TIMER_NEVER;
		uint8_t fired = 0;
		unsigned int k;

		for (k = 0; k < SG_TIMER_KIND_MAX; k++) {
			if (d[k] <= now) {
				fired |= SG_TIMER_KIND_BIT(k);
				d[k] = SG_TIMER_NEVER;
			} else {
				next = RTE_MIN(next, d[k]);
			}
		}
		t->due[i] = next;
		if (fired != 0) {
			idx[out] = i;
			kinds[out] = fired;
			out++;
		}
	}
	t->stats.expired += out - first;
	t->stats.refreshed += cand - (out - first);
	return out;
}

uint32_t
sg_timer_sweep(struct sg_timer *t, uint32_t now, uint32_t *idx, uint8_t *kinds, uint32_t n)
{
	uint64_t start = 0;
	uint32_t left, out = 0;

	if (n < SG_TIMER_BLOCK)
		return 0;
	/* NEVER must stay unexpired, also in the padding lanes. */
	now = RTE_MIN(now, SG_TIMER_NEVER - 1);
	if (t->budget_cycles != 0)
		start = rte_rdtsc();
	left = RTE_MIN(t->budget_blocks, t->nblk);
	while (left > 0 && n - out >= SG_TIMER_BLOCK) {
		uint32_t blk = t->cursor;
		uint32_t chunk = RTE_MIN(left, t->nblk - blk);
		uint32_t cmp_now = now;
		uint32_t cand, scanned;

		if (t->budget_cycles != 0)
			chunk = RTE_MIN(chunk, (uint32_t)CYCLE_CHECK_BLOCKS);
		if (t->rb_delta != 0) {
			/* Re-based blocks are [0, rb_blk): compare them in the new epoch. */
			if (blk == t->rb_blk) {
				rebase_blocks(t, blk, chunk, t->rb_delta);
				t->rb_blk += chunk;
			} else if (blk < t->rb_blk) {
				chunk = RTE_MIN(chunk, t->rb_blk - blk);
			}
			if (blk < t->rb_blk)
				cmp_now = now > t->rb_delta ? now - t->rb_delta : 0;
		}
		cand = t->ops->scan(
			t->due, t->sum, blk, chunk, cmp_now, idx + out, n - out, &scanned);
		out = resolve(t, cmp_now, idx, kinds, out, cand);
		t->stats.blocks += scanned;
		left -= scanned;
		t->cursor += scanned;
		if (t->cursor == t->nblk) {
			t->cursor = 0;
			t->stats.passes++;
		}
		if (t->budget_cycles != 0 && rte_rdtsc() - start >= t->budget_cycles)
			break;
	}
	return out;
}

int
sg_timer_stats_get(const struct sg_timer *t, struct sg_timer_stats *st)
{
	if (t == NULL || st == NULL)
		return -EINVAL;
	*st = t->stats;
	return 0;
}
