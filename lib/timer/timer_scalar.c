/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Portable kernels: the reference the AVX-512 ones must match lane for lane,
 * and the path on CPUs (or under an EAL SIMD limit) without AVX-512.
 */

#include <stddef.h>
#include <stdint.h>

#include <rte_common.h>

#include "timer_impl.h"

static uint32_t
scan_scalar(const uint32_t *due, uint32_t *sum, uint32_t blk, uint32_t nblk, uint32_t now,
	uint32_t *out, uint32_t room, uint32_t *nscanned)
{
	uint32_t cnt = 0;
	uint32_t b;

	for (b = blk; b < blk + nblk; b++) {
		const uint32_t *p = due + (size_t)b * SG_TIMER_BLOCK;
		uint32_t base = b * SG_TIMER_BLOCK;
		uint32_t lo;
		unsigned int l;

		if (sum[b] > now)
			continue;
		if (room - cnt < SG_TIMER_BLOCK)
			break;
		/* The minimum reduction vectorises; a stale sum[] often finds nothing due. */
		lo = p[0];
		for (l = 1; l < SG_TIMER_BLOCK; l++)
			lo = RTE_MIN(lo, p[l]);
		if (lo > now) {
			sum[b] = lo;
			continue;
		}
		/* Branch-free append: store every lane, advance only on a hit. */
		for (l = 0; l < SG_TIMER_BLOCK; l++) {
			out[cnt] = base + l;
			cnt += p[l] <= now;
		}
		sum[b] = now + 1;
	}
	*nscanned = b - blk;
	return cnt;
}

static void
rebase_scalar(uint32_t *w, size_t n, uint32_t delta)
{
	size_t i;

	for (i = 0; i < n; i++) {
		uint32_t d = w[i];

		if (d != SG_TIMER_NEVER)
			w[i] = RTE_MAX(d, delta) - delta;
	}
}

const struct sg_timer_ops timer_scalar_ops = {
	.name = "scalar",
	.scan = scan_scalar,
	.rebase = rebase_scalar,
};
