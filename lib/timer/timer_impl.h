/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TIMER_IMPL_H
#define TIMER_IMPL_H

/*
 * The per-impl kernels behind sg_timer_sweep(): the two-level block compare
 * that collects candidates and the vector re-base. Everything else
 * (resolving candidates against the kind table, budgets, epochs) is shared
 * C, so the impls can differ only here; tests and benchmarks call these
 * directly.
 */

#include <stddef.h>
#include <stdint.h>

#include "sg_timer.h"

struct sg_timer_ops {
	const char *name;
	/*
	 * For blocks [blk, blk + nblk): skip a block whose sum[] is > now;
	 * else load its due[] lanes, append the index of each lane <= now to
	 * out[] (ascending), and set its sum[] to the lanes' minimum if none
	 * was due, or to now + 1 (a bound on what resolving leaves) if some
	 * were. Stops before a block it must load when fewer than
	 * SG_TIMER_BLOCK entries of room are left (a block may write all 16
	 * lanes, some beyond the count). *nscanned gets the blocks covered;
	 * returns the entries appended.
	 */
	uint32_t (*scan)(const uint32_t *due, uint32_t *sum, uint32_t blk, uint32_t nblk,
		uint32_t now, uint32_t *out, uint32_t room, uint32_t *nscanned);
	/* Subtract delta from n u32, saturating at 0 and leaving SG_TIMER_NEVER as it is. */
	void (*rebase)(uint32_t *w, size_t n, uint32_t delta);
};

extern const struct sg_timer_ops timer_scalar_ops;
#ifdef SG_TIMER_HAVE_AVX512
extern const struct sg_timer_ops timer_avx512_ops;
extern const struct sg_timer_ops timer_avx512_cstore_ops;
#endif

/* Kernels of @p impl (AUTO resolved), or NULL when it cannot run here. */
const struct sg_timer_ops *timer_ops_get(enum sg_timer_impl impl);

#endif /* TIMER_IMPL_H */
