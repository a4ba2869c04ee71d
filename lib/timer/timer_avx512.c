/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * AVX-512 kernels, built with per-file flags (lib/timer/meson.build) and only
 * called after timer_ops_get() has checked the CPU and EAL's SIMD limit.
 * One compare of 16 sum[] entries covers 256 indices; only blocks found due
 * are loaded. Two ways to append a block's indices: compress into a
 * register and store all 64 bytes (the default), or a masked compress-store
 * straight to memory; perf/timer measures both.
 */

#include <stddef.h>
#include <stdint.h>

#include <immintrin.h>

#include <rte_common.h>

#include "timer_impl.h"

/* always_inline: cstore is a constant only once inlined; room for a block is checked. */
static __rte_always_inline uint32_t
emit(uint32_t *out, __mmask16 m, __m512i vidx, const int cstore)
{
	if (cstore)
		_mm512_mask_compressstoreu_epi32(out, m, vidx);
	else
		_mm512_storeu_si512(out, _mm512_maskz_compress_epi32(m, vidx));
	return (uint32_t)__builtin_popcount(m);
}

/* always_inline: instantiated per store mode, which must fold to one path. */
static __rte_always_inline uint32_t
scan_tpl(const uint32_t *due, uint32_t *sum, uint32_t blk, uint32_t nblk, uint32_t now,
	uint32_t *out, uint32_t room, uint32_t *nscanned, const int cstore)
{
	const __m512i vnow = _mm512_set1_epi32((int)now);
	const __m512i iota =
		_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
	uint32_t cnt = 0;
	uint32_t b;

	for (b = 0; b < nblk; b += SG_TIMER_BLOCK) {
		uint32_t left = nblk - b;
		__mmask16 valid = left >= SG_TIMER_BLOCK ? 0xffff : (__mmask16)((1u << left) - 1);
		__m512i s = _mm512_maskz_loadu_epi32(valid, sum + blk + b);
		uint32_t visit = _mm512_mask_cmple_epu32_mask(valid, s, vnow);

		while (visit != 0) {
			uint32_t bb = blk + b + (uint32_t)__builtin_ctz(visit);
			__m512i v;
			__mmask16 m;

			if (room - cnt < SG_TIMER_BLOCK) {
				*nscanned = bb - blk;
				return cnt;
			}
			v = _mm512_load_si512(due + (size_t)bb * SG_TIMER_BLOCK);
			m = _mm512_cmple_epu32_mask(v, vnow);
			if (m != 0) {
				__m512i vidx = _mm512_add_epi32(
					_mm512_set1_epi32((int)(bb * SG_TIMER_BLOCK)), iota);

				cnt += emit(out + cnt, m, vidx, cstore);
				sum[bb] = now + 1;
			} else {
				sum[bb] = _mm512_reduce_min_epu32(v);
			}
			visit &= visit - 1;
		}
	}
	*nscanned = nblk;
	return cnt;
}

static uint32_t
scan_avx512(const uint32_t *due, uint32_t *sum, uint32_t blk, uint32_t nblk, uint32_t now,
	uint32_t *out, uint32_t room, uint32_t *nscanned)
{
	return scan_tpl(due, sum, blk, nblk, now, out, room, nscanned, 0);
}

static uint32_t
scan_avx512_cstore(const uint32_t *due, uint32_t *sum, uint32_t blk, uint32_t nblk, uint32_t now,
	uint32_t *out, uint32_t room, uint32_t *nscanned)
{
	return scan_tpl(due, sum, blk, nblk, now, out, room, nscanned, 1);
}

static void
rebase_avx512(uint32_t *w, size_t n, uint32_t delta)
{
	const __m512i vdelta = _mm512_set1_epi32((int)delta);
	const __m512i vnever = _mm512_set1_epi32((int)SG_TIMER_NEVER);
	size_t i;

	for (i = 0; i < n; i += SG_TIMER_BLOCK) {
		size_t left = n - i;
		__mmask16 k = left >= SG_TIMER_BLOCK ? 0xffff : (__mmask16)((1u << left) - 1);
		__m512i v = _mm512_maskz_loadu_epi32(k, w + i);
		__mmask16 live = _mm512_mask_cmpneq_epu32_mask(k, v, vnever);
		/* max(d, delta) - delta is d - delta saturated at 0 (no u32 subs in AVX-512). */
		__m512i r = _mm512_sub_epi32(_mm512_max_epu32(v, vdelta), vdelta);

		_mm512_mask_storeu_epi32(w + i, live, r);
	}
}

const struct sg_timer_ops timer_avx512_ops = {
	.name = "avx512",
	.scan = scan_avx512,
	.rebase = rebase_avx512,
};

const struct sg_timer_ops timer_avx512_cstore_ops = {
	.name = "avx512-cstore",
	.scan = scan_avx512_cstore,
	.rebase = rebase_avx512,
};
