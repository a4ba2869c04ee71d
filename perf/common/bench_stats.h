/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef BENCH_STATS_H
#define BENCH_STATS_H

/* Summaries shared by the micro-benchmarks. */

#include <stdlib.h>

static inline int
bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median of @p n values (n >= 1); sorts @p v in place. */
static inline double
bench_median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), bench_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif /* BENCH_STATS_H */
