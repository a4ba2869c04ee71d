/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Idle-timeout workload on shardgate's timer sets and on DPDK's rte_timer,
 * in the same process: every "packet" re-arms the idle deadline of a random
 * session, then a fraction of the sessions goes idle and expires. Reports ns
 * per re-arm, per expiry and per session swept (in a simulated worker loop
 * and in isolated passes), the rte_timer/shardgate ratios, the issue 4
 * targets, and the scan kernels of every impl, including both AVX-512
 * compress variants. See README.md.
 *
 *   sg_bench_timer [EAL args --] [--sizes 1000,100000,1000000] [--packets N]
 *                  [--reps N] [--expire PCT] [--budget BLOCKS] [--impl NAME]
 *                  [--no-rte-timer] [--no-kernels] [--csv FILE]
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_memory.h>
#include <rte_timer.h>
#include <rte_vect.h>

#include "sg_timer.h"
#include "bench_eal.h"
#include "timer_impl.h"

#define MAX_SIZES     8
#define MAX_REPS      64
#define BURST	      32    /* packets per poll: one sg_timer_tick() each */
#define IDLE_MS	      30000 /* idle timeout of the workload */
#define CHURN_IDLE_MS 1000  /* a short one, for a run where many sessions expire */
#define OUT_N	      1024  /* entries per sweep call, as a worker would pass */
#define KERNEL_CHUNK  256   /* blocks per kernel call in the variant section */

struct opts {
	uint32_t sizes[MAX_SIZES];
	unsigned int nsizes;
	uint64_t packets;
	unsigned int reps;
	double expire;
	uint32_t budget;
	enum sg_timer_impl impl;
	int rte_timer;
	int kernels;
	const char *csv;
};

static double ns_per_cycle;
static FILE *csv;
static volatile uint64_t sink;
static uint64_t rng = 0x243f6a8885a308d3;

static uint32_t out_idx[OUT_N];
static uint8_t out_kinds[OUT_N];

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

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void
emit_csv(const char *section, uint32_t sessions, const char *metric, const char *impl, double value)
{
	if (csv != NULL)
		fprintf(csv, "%s,%u,%s,%s,%.4f\n", section, sessions, metric, impl, value);
}

/* ------------------------------------------------------------------------ */
/* shardgate                                                                 */

struct steady {
	double sweep_ns, pkt_ns;
	uint64_t expired, refreshed;
};

struct sg_result {
	double rearm_ns, expiry_ns, refresh_ns;
	double sweep_idle_ns, sweep_loaded_ns;
	struct steady steady, churn;
};

static struct sg_timer *
sg_make(uint32_t n, const struct opts *o, enum sg_timer_impl impl)
{
	struct sg_timer_prm prm = {
		.capacity = n,
		.socket_id = (int)rte_socket_id(),
		.budget_blocks = o->budget,
		.impl = impl,
	};
	struct sg_timer *t = sg_timer_create(&prm);

	if (t == NULL)
		rte_exit(EXIT_FAILURE, "sg_timer_create(%u): %s\n", n, rte_strerror(rte_errno));
	return t;
}

/* Sweep calls until every block was covered once; returns cycles, sets blocks and hits. */
static uint64_t
sg_pass(struct sg_timer *t, uint32_t now, uint64_t *blocks, uint64_t *hits)
{
	uint64_t start, acc = 0, got = 0, first = t->stats.blocks;

	start = rte_rdtsc();
	do {
		uint32_t n = sg_timer_sweep(t, now, out_idx, out_kinds, OUT_N), j;

		/* What a worker does per entry, kept cheap: note index and kinds. */
		for (j = 0; j < n; j++)
			acc += out_idx[j] ^ out_kinds[j];
		got += n;
	} while (t->stats.blocks - first < t->nblk);
	start = rte_rdtsc() - start;
	sink += acc;
	*blocks = t->stats.blocks - first;
	*hits = got;
	return start;
}

/* Every index armed at now + idle; with stale != 0, due[] and sum[] left at now + 2. */
static void
sg_reset(struct sg_timer *t, uint32_t now, uint32_t idle, int stale)
{
	uint32_t i;

	for (i = 0; i < t->capacity; i++) {
		sg_timer_clear(t, i);
		if (stale)
			sg_timer_arm(t, i, SG_TIMER_IDLE, now + 2);
		sg_timer_arm(t, i, SG_TIMER_IDLE, now + idle);
	}
}

/* Full passes at now + 3 with nothing due; ns per session covered. */
static double
sg_sweep_ns(struct sg_timer *t, uint32_t now, uint32_t idle, int stale_sum, unsigned int reps)
{
	double v[MAX_REPS];
	unsigned int r;
	uint32_t b;

	for (r = 0; r < reps; r++) {
		uint64_t blocks, hits, c;

		if (stale_sum) {
			/* One index per block armed at now + 2 and cleared: sum[] stale, lanes not.
			 */
			for (b = 0; b < t->nblk; b++) {
				uint32_t i = RTE_MIN(b * SG_TIMER_BLOCK + 5, t->capacity - 1);

				sg_timer_clear(t, i);
				sg_timer_arm(t, i, SG_TIMER_IDLE, now + 2);
				sg_timer_clear(t, i);
				sg_timer_arm(t, i, SG_TIMER_IDLE, now + idle);
			}
		}
		c = sg_pass(t, now + 3, &blocks, &hits);
		if (hits != 0)
			rte_exit(EXIT_FAILURE, "sweep with nothing due reported %" PRIu64 "\n",
				hits);
		v[r] = c * ns_per_cycle / (double)(blocks * SG_TIMER_BLOCK);
	}
	return median(v, reps);
}

/*
 * The worker loop: bursts of BURST packets re-arm random sessions, one
 * sweep call per burst, time advancing STEADY_PPT packets per tick (10 Mpps
 * with 1 ms ticks); sessions start last seen at random times within the
 * idle period, and the victims get no packets. The sweep calls are timed
 * one by one, less the cost of reading the TSC.
 */
#define STEADY_PPT 10000

static void
sg_steady(struct sg_timer *t, const uint32_t *seq, const uint8_t *victim, uint64_t packets,
	uint32_t idle, struct steady *res)
{
	uint64_t c, sweep = 0, calls = 0, tsc_cost = UINT64_MAX, p, acc = 0;
	struct sg_timer_stats a, b;
	uint32_t now = 1, i;

	for (i = 0; i < 1000; i++) {
		uint64_t x = rte_rdtsc();

		tsc_cost = RTE_MIN(tsc_cost, rte_rdtsc() - x);
	}
	for (i = 0; i < t->capacity; i++) {
		sg_timer_clear(t, i);
		sg_timer_arm(t, i, SG_TIMER_IDLE, now + 1 + rnd_below(idle));
	}
	sg_timer_stats_get(t, &a);
	c = rte_rdtsc();
	for (p = 0; p < packets; p += BURST) {
		uint64_t e = RTE_MIN(p + BURST, packets), q, x;
		uint32_t n, j;

		now = (uint32_t)(1 + p / STEADY_PPT);
		for (q = p; q < e; q++)
			if (!victim[seq[q]])
				sg_timer_arm(t, seq[q], SG_TIMER_IDLE, now + idle);
		x = rte_rdtsc();
		n = sg_timer_sweep(t, now, out_idx, out_kinds, OUT_N);
		for (j = 0; j < n; j++)
			acc += out_idx[j] ^ out_kinds[j];
		sweep += rte_rdtsc() - x;
		calls++;
	}
	c = rte_rdtsc() - c;
	sg_timer_stats_get(t, &b);
	sink += acc;
	sweep -= RTE_MIN(sweep, calls * tsc_cost);
	res->sweep_ns = sweep * ns_per_cycle / (double)((b.blocks - a.blocks) * SG_TIMER_BLOCK);
	res->pkt_ns = c * ns_per_cycle / (double)packets;
	res->expired = b.expired - a.expired;
	res->refreshed = b.refreshed - a.refreshed;
}

static void
bench_sg(uint32_t n, const uint32_t *seq, const uint32_t *victims, uint32_t nvict,
	const uint8_t *victim, const struct opts *o, enum sg_timer_impl impl, struct sg_result *res)
{
	struct sg_timer *t = sg_make(n, o, impl);
	uint32_t idle = sg_timer_ms_to_ticks(t, IDLE_MS);
	uint32_t now = sg_timer_tick(t, rte_rdtsc());
	double v[MAX_REPS];
	uint64_t p, c;
	uint32_t i;
	unsigned int r;

	for (i = 0; i < n; i++)
		sg_timer_arm(t, i, SG_TIMER_IDLE, now + idle);

	/* Re-arm: one tick per burst, one store per packet. */
	c = rte_rdtsc();
	for (p = 0; p < o->packets; p++) {
		if (p % BURST == 0)
			now = sg_timer_tick(t, rte_rdtsc());
		sg_timer_arm(t, seq[p], SG_TIMER_IDLE, now + idle);
	}
	c = rte_rdtsc() - c;
	res->rearm_ns = c * ns_per_cycle / (double)o->packets;

	/* Nothing due anywhere (sum[] exact), then every sum[] stale so every block is loaded. */
	sg_reset(t, now, idle, 0);
	res->sweep_idle_ns = sg_sweep_ns(t, now, idle, 0, o->reps);
	res->sweep_loaded_ns = sg_sweep_ns(t, now, idle, 1, o->reps);

	/* Expiry: victims at now + 1, the rest at now + idle; cost of the pass per expiry. */
	for (r = 0; r < o->reps; r++) {
		uint64_t blocks, hits;

		sg_reset(t, now, idle, 0);
		for (i = 0; i < nvict; i++) {
			sg_timer_clear(t, victims[i]);
			sg_timer_arm(t, victims[i], SG_TIMER_IDLE, now + 1);
		}
		c = sg_pass(t, now + 3, &blocks, &hits);
		if (hits != nvict)
			rte_exit(EXIT_FAILURE, "expected %u expiries, got %" PRIu64 "\n", nvict,
				hits);
		v[r] = c * ns_per_cycle / nvict;
	}
	res->expiry_ns = median(v, o->reps);

	/* Lazy refresh: every due[] stale (pushed from now + 2 to now + idle), nothing due. */
	for (r = 0; r < o->reps; r++) {
		uint64_t blocks, hits;

		sg_reset(t, now, idle, 1);
		c = sg_pass(t, now + 3, &blocks, &hits);
		v[r] = c * ns_per_cycle / n;
	}
	res->refresh_ns = median(v, o->reps);

	sg_steady(t, seq, victim, o->packets, idle, &res->steady);
	sg_steady(t, seq, victim, o->packets, sg_timer_ms_to_ticks(t, CHURN_IDLE_MS), &res->churn);
	sg_timer_free(t);
}

/* ------------------------------------------------------------------------ */
/* rte_timer                                                                 */

struct rt_result {
	double rearm_ns, expiry_ns, manage_idle_ns;
};

static void
rt_cb(struct rte_timer *tim, void *arg)
{
	RTE_SET_USED(tim);
	(*(uint64_t *)arg)++;
}

static void
bench_rt(uint32_t n, const uint32_t *seq, const uint32_t *victims, uint32_t nvict,
	const struct opts *o, struct rt_result *res)
{
	struct rte_timer *tim = calloc(n, sizeof(*tim));
	uint64_t idle = rte_get_timer_hz() / 1000 * IDLE_MS;
	unsigned int lcore = rte_lcore_id(), r;
	uint64_t fired = 0, p, c;
	double v[MAX_REPS];
	uint32_t i;

	if (tim == NULL)
		rte_exit(EXIT_FAILURE, "no memory for %u rte_timers\n", n);
	for (i = 0; i < n; i++) {
		rte_timer_init(&tim[i]);
		rte_timer_reset(&tim[i], idle, SINGLE, lcore, rt_cb, &fired);
	}

	c = rte_rdtsc();
	for (p = 0; p < o->packets; p++)
		rte_timer_reset(&tim[seq[p]], idle, SINGLE, lcore, rt_cb, &fired);
	c = rte_rdtsc() - c;
	res->rearm_ns = c * ns_per_cycle / (double)o->packets;

	/* A poll with nothing due: rte_timer's counterpart of a sweep call. */
	c = rte_rdtsc();
	for (p = 0; p < 100000; p++)
		rte_timer_manage();
	c = rte_rdtsc() - c;
	res->manage_idle_ns = c * ns_per_cycle / 100000;

	for (r = 0; r < o->reps; r++) {
		uint64_t before = fired;

		for (i = 0; i < nvict; i++)
			rte_timer_reset(&tim[victims[i]], 0, SINGLE, lcore, rt_cb, &fired);
		c = rte_rdtsc();
		rte_timer_manage();
		c = rte_rdtsc() - c;
		if (fired - before != nvict)
			rte_exit(EXIT_FAILURE, "rte_timer: expected %u expiries, got %" PRIu64 "\n",
				nvict, fired - before);
		v[r] = c * ns_per_cycle / nvict;
	}
	res->expiry_ns = median(v, o->reps);
	for (i = 0; i < n; i++)
		rte_timer_stop(&tim[i]);
	free(tim);
}

/* ------------------------------------------------------------------------ */
/* Compress variants: the scan kernels alone, by share of lanes due.         */

static void
bench_kernels(uint32_t n, const struct opts *o)
{
	static const double dens[] = {0, 0.01, 0.10, 0.50, 1.0};
	static const enum sg_timer_impl impls[] = {
		SG_TIMER_IMPL_SCALAR,
		SG_TIMER_IMPL_AVX512,
		SG_TIMER_IMPL_AVX512_CSTORE,
	};
	uint32_t nblk = (n + SG_TIMER_BLOCK - 1) / SG_TIMER_BLOCK, i, d;
	uint32_t *due = rte_malloc_socket(NULL, (size_t)nblk * 64, 64, (int)rte_socket_id());
	uint32_t *sum =
		rte_malloc_socket(NULL, RTE_ALIGN_CEIL(nblk, 16u) * 4, 64, (int)rte_socket_id());
	uint32_t *out = rte_malloc_socket(NULL, (KERNEL_CHUNK + 1) * 64, 64, (int)rte_socket_id());
	unsigned int iters = RTE_MAX(4u, (unsigned int)((UINT64_C(1) << 24) / n));

	if (due == NULL || out == NULL)
		rte_exit(EXIT_FAILURE, "no memory for the kernel section\n");
	for (d = 0; d < RTE_DIM(dens); d++) {
		double ns[RTE_DIM(impls)];
		unsigned int k;

		for (i = 0; i < nblk * SG_TIMER_BLOCK; i++)
			due[i] = i >= n ? SG_TIMER_NEVER
					: (rnd_below(1000000) < dens[d] * 1000000 ? 999 : 2000);
		for (k = 0; k < RTE_DIM(impls); k++) {
			const struct sg_timer_ops *ops = timer_ops_get(impls[k]);
			double v[MAX_REPS];
			unsigned int r, it;

			ns[k] = -1;
			if (ops == NULL)
				continue;
			for (r = 0; r < o->reps; r++) {
				uint64_t c = rte_rdtsc(), acc = 0;

				for (it = 0; it < iters; it++) {
					uint32_t b, sc;

					/* sum[] at 0: every block is loaded, as after a stale pass.
					 */
					memset(sum, 0, nblk * sizeof(uint32_t));

					for (b = 0; b < nblk; b += sc)
						acc += ops->scan(due, sum, b,
							RTE_MIN((uint32_t)KERNEL_CHUNK, nblk - b),
							1000, out, KERNEL_CHUNK * SG_TIMER_BLOCK,
							&sc);
				}
				c = rte_rdtsc() - c;
				sink += acc + out[0];
				v[r] = c * ns_per_cycle / ((double)iters * nblk * SG_TIMER_BLOCK);
			}
			ns[k] = median(v, o->reps);
			emit_csv("kernel", n,
				dens[d] == 0	 ? "scan_ns_0pct"
				: dens[d] < 0.05 ? "scan_ns_1pct"
				: dens[d] < 0.2	 ? "scan_ns_10pct"
				: dens[d] < 0.9	 ? "scan_ns_50pct"
						 : "scan_ns_100pct",
				sg_timer_impl_name(impls[k]), ns[k]);
		}
		printf("%9u %6.0f%% %11.4f", n, dens[d] * 100, ns[0]);
		if (ns[1] >= 0)
			printf(" %11.4f %14.4f %9.2fx\n", ns[1], ns[2], ns[2] / ns[1]);
		else
			printf(" %11s %14s\n", "n/a", "n/a");
	}
	rte_free(out);
	rte_free(sum);
	rte_free(due);
}

/* One table row; a negative value was not measured. */
static void
row(uint32_t n, const char *metric, double sg, double rt, int prec, int ratio)
{
	char a[32] = "n/a", b[32] = "n/a", r[32] = "";

	if (sg >= 0)
		snprintf(a, sizeof(a), "%.*f", prec, sg);
	if (rt >= 0)
		snprintf(b, sizeof(b), "%.*f", prec, rt);
	if (ratio && sg > 0 && rt >= 0)
		snprintf(r, sizeof(r), "%.1fx", rt / sg);
	printf("%9u  %-28s %12s %12s %10s\n", n, metric, a, b, r);
}

/* What the steady run above it resolved: the candidates behind its cost. */
static void
counts(uint32_t n, const struct steady *st)
{
	char c[64];

	snprintf(c, sizeof(c), "%" PRIu64 " exp, %" PRIu64 " refr", st->expired, st->refreshed);
	printf("%9u  %-28s %25s\n", n, "  candidates resolved", c);
}

/* ------------------------------------------------------------------------ */

static void
usage(const char *prog)
{
	printf("usage: %s [EAL args --] [--sizes N,N,...] [--packets N] [--reps N]\n"
	       "       [--expire PCT] [--budget BLOCKS] [--impl auto|scalar|avx512|avx512-cstore]\n"
	       "       [--no-rte-timer] [--no-kernels] [--csv FILE]\n"
	       "defaults: --sizes 1000,100000,1000000 --packets 1000000 --reps 5 --expire 10\n"
	       "          --budget %u; EAL: --no-huge --no-pci -m 512 on the first CPU of the\n"
	       "          affinity mask (so taskset -c N pins it)\n",
		prog, SG_TIMER_BUDGET_BLOCKS_DEFAULT);
}

static void
parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longs[] = {
		{"sizes", required_argument, NULL, 's'},
		{"packets", required_argument, NULL, 'p'},
		{"reps", required_argument, NULL, 'r'},
		{"expire", required_argument, NULL, 'e'},
		{"budget", required_argument, NULL, 'b'},
		{"impl", required_argument, NULL, 'i'},
		{"no-rte-timer", no_argument, NULL, 'R'},
		{"no-kernels", no_argument, NULL, 'K'},
		{"csv", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	char *tok, *save = NULL;
	int c, k;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		switch (c) {
		case 's':
			o->nsizes = 0;
			for (tok = strtok_r(optarg, ",", &save);
				tok != NULL && o->nsizes < MAX_SIZES;
				tok = strtok_r(NULL, ",", &save))
				o->sizes[o->nsizes++] = (uint32_t)strtoul(tok, NULL, 0);
			break;
		case 'p':
			o->packets = strtoull(optarg, NULL, 0);
			break;
		case 'r':
			o->reps = (unsigned int)RTE_MIN(
				strtoul(optarg, NULL, 0), (unsigned long)MAX_REPS);
			break;
		case 'e':
			o->expire = strtod(optarg, NULL) / 100;
			break;
		case 'b':
			o->budget = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'i':
			for (k = 0; k < SG_TIMER_IMPL_MAX; k++)
				if (strcmp(optarg, sg_timer_impl_name((enum sg_timer_impl)k)) == 0)
					break;
			if (k == SG_TIMER_IMPL_MAX)
				rte_exit(EXIT_FAILURE, "unknown impl %s\n", optarg);
			o->impl = (enum sg_timer_impl)k;
			break;
		case 'R':
			o->rte_timer = 0;
			break;
		case 'K':
			o->kernels = 0;
			break;
		case 'c':
			o->csv = optarg;
			break;
		default:
			usage(argv[0]);
			exit(c == 'h' ? EXIT_SUCCESS : EXIT_FAILURE);
		}
	}
	for (k = 0; k < (int)o->nsizes; k++)
		if (o->sizes[k] == 0 || o->sizes[k] > SG_TIMER_CAPACITY_MAX)
			rte_exit(EXIT_FAILURE, "sizes must be 1..%u\n", SG_TIMER_CAPACITY_MAX);
	if (o->packets == 0 || o->reps == 0 || o->expire <= 0 || o->expire > 1)
		rte_exit(EXIT_FAILURE, "need --packets > 0, --reps > 0, 0 < --expire <= 100\n");
}

int
main(int argc, char **argv)
{
	struct opts o = {
		.sizes = {1000, 100000, 1000000},
		.nsizes = 3,
		.packets = 1000000,
		.reps = 5,
		.expire = 0.10,
		.rte_timer = 1,
		.kernels = 1,
	};
	uint64_t total = rte_rdtsc();
	enum sg_timer_impl impl;
	int used, ret, met_rearm = -1, met_sweep = -1;
	double worst = -1;
	unsigned int s;

	ret = bench_eal_init(argc, argv, "sg_bench_timer", 512, &used);
	if (ret < 0)
		rte_exit(EXIT_FAILURE, "EAL init failed\n");
	argv[used] = argv[0];
	parse_opts(argc - used, argv + used, &o);
	ns_per_cycle = 1e9 / (double)rte_get_tsc_hz();
	/* x86 DPDK defaults to a 256-bit SIMD limit: lift it unless the user forced one. */
	ret = rte_vect_set_max_simd_bitwidth(RTE_VECT_SIMD_512);
	if (o.rte_timer && rte_timer_subsystem_init() < 0)
		rte_exit(EXIT_FAILURE, "rte_timer_subsystem_init failed\n");
	if (o.csv != NULL) {
		csv = fopen(o.csv, "w");
		if (csv == NULL)
			rte_exit(EXIT_FAILURE, "%s: %s\n", o.csv, strerror(errno));
		fprintf(csv, "section,sessions,metric,impl,value\n");
	}
	impl = o.impl == SG_TIMER_IMPL_AUTO ? sg_timer_impl_best() : o.impl;
	if (sg_timer_impl_check(impl) != 0)
		rte_exit(EXIT_FAILURE, "impl %s cannot run here\n", sg_timer_impl_name(impl));
	printf("sg_bench_timer: lcore %u, TSC %.3f GHz, SIMD limit %u%s, shardgate impl %s, "
	       "budget %u blocks/call, %" PRIu64 " packets, %.0f%% expiring, median of %u\n\n",
		rte_lcore_id(), rte_get_tsc_hz() / 1e9, rte_vect_get_max_simd_bitwidth(),
		ret == -EPERM ? " (forced)" : "", sg_timer_impl_name(impl),
		o.budget != 0 ? o.budget : SG_TIMER_BUDGET_BLOCKS_DEFAULT, o.packets,
		o.expire * 100, o.reps);
	printf("%9s  %-28s %12s %12s %10s\n", "sessions", "metric", "shardgate", "rte_timer",
		"rte/sg");
	for (s = 0; s < o.nsizes; s++) {
		uint32_t n = o.sizes[s], nvict = RTE_MAX(1u, (uint32_t)(n * o.expire)), i;
		uint32_t *seq = malloc(o.packets * sizeof(*seq));
		uint32_t *perm = malloc((size_t)n * sizeof(*perm));
		uint8_t *victim = calloc(n, 1);
		struct sg_result sg;
		struct rt_result rt = {-1, -1, -1};
		const char *iname = sg_timer_impl_name(impl);
		uint64_t p;

		if (seq == NULL || perm == NULL || victim == NULL)
			rte_exit(EXIT_FAILURE, "no memory\n");
		for (p = 0; p < o.packets; p++)
			seq[p] = rnd_below(n);
		/* Victims: a random subset, so expiries land all over the blocks. */
		for (i = 0; i < n; i++)
			perm[i] = i;
		for (i = 0; i < nvict; i++) {
			uint32_t j = i + rnd_below(n - i), x = perm[i];

			perm[i] = perm[j];
			perm[j] = x;
			victim[perm[i]] = 1;
		}
		bench_sg(n, seq, perm, nvict, victim, &o, impl, &sg);
		if (o.rte_timer)
			bench_rt(n, seq, perm, nvict, &o, &rt);
		row(n, "re-arm ns", sg.rearm_ns, rt.rearm_ns, 2, 1);
		row(n, "expiry ns (find + report)", sg.expiry_ns, rt.expiry_ns, 2, 1);
		row(n, "sweep ns/session, steady", sg.steady.sweep_ns, -1, 4, 0);
		counts(n, &sg.steady);
		row(n, "sweep ns/session, 1 s idle", sg.churn.sweep_ns, -1, 4, 0);
		counts(n, &sg.churn);
		row(n, "sweep ns/session, none due", sg.sweep_idle_ns, -1, 4, 0);
		row(n, "sweep ns/session, all loaded", sg.sweep_loaded_ns, -1, 4, 0);
		row(n, "refresh ns, all stale", sg.refresh_ns, -1, 2, 0);
		row(n, "steady ns/packet, all in", sg.steady.pkt_ns, -1, 2, 0);
		/* Not a ratio: a sweep call covers its budget, manage() looks at a list head. */
		row(n, "poll ns, none due",
			sg.sweep_idle_ns * SG_TIMER_BLOCK *
				RTE_MIN(o.budget != 0 ? o.budget : SG_TIMER_BUDGET_BLOCKS_DEFAULT,
					(n + SG_TIMER_BLOCK - 1) / SG_TIMER_BLOCK),
			rt.manage_idle_ns, 1, 0);
		emit_csv("workload", n, "rearm_ns", iname, sg.rearm_ns);
		emit_csv("workload", n, "expiry_ns", iname, sg.expiry_ns);
		emit_csv("workload", n, "sweep_ns_per_session_steady", iname, sg.steady.sweep_ns);
		emit_csv("workload", n, "sweep_ns_per_session_1s_idle", iname, sg.churn.sweep_ns);
		emit_csv("workload", n, "sweep_ns_per_session_none_due", iname, sg.sweep_idle_ns);
		emit_csv("workload", n, "sweep_ns_per_session_all_loaded", iname,
			sg.sweep_loaded_ns);
		emit_csv("workload", n, "refresh_ns", iname, sg.refresh_ns);
		emit_csv("workload", n, "steady_ns_per_packet", iname, sg.steady.pkt_ns);
		if (o.rte_timer) {
			emit_csv("workload", n, "rearm_ns", "rte_timer", rt.rearm_ns);
			emit_csv("workload", n, "expiry_ns", "rte_timer", rt.expiry_ns);
			emit_csv("workload", n, "manage_idle_ns", "rte_timer", rt.manage_idle_ns);
			emit_csv("workload", n, "rearm_ratio", "rte_timer/sg",
				rt.rearm_ns / sg.rearm_ns);
			emit_csv("workload", n, "expiry_ratio", "rte_timer/sg",
				rt.expiry_ns / sg.expiry_ns);
		}
		if (n >= 1000000) {
			if (o.rte_timer)
				met_rearm = rt.rearm_ns / sg.rearm_ns >= 20;
			met_sweep = sg.steady.sweep_ns <= 0.1;
			worst = sg.sweep_loaded_ns;
		}
		free(victim);
		free(perm);
		free(seq);
	}
	printf("\ntargets at 1M sessions: re-arm >= 20x cheaper than rte_timer: %s; "
	       "<= 0.1 ns per session swept (steady): %s",
		met_rearm < 0 ? "not run"
		: met_rearm   ? "MET"
			      : "NOT MET",
		met_sweep < 0 ? "not run"
		: met_sweep   ? "MET"
			      : "NOT MET");
	if (worst >= 0)
		printf(" (worst case, every block loaded: %.3f, %s)", worst,
			worst <= 0.1 ? "met" : "not met");
	printf("\n");
	if (o.kernels) {
		printf("\nscan kernels alone, every block loaded, ns per session "
		       "(due = share of lanes reported):\n");
		printf("%9s %7s %11s %11s %14s %10s\n", "sessions", "due", "scalar", "avx512",
			"avx512-cstore", "cstore/reg");
		for (s = 0; s < o.nsizes; s++)
			bench_kernels(o.sizes[s], &o);
	}
	printf("\ntotal %.1f s\n", (rte_rdtsc() - total) * ns_per_cycle / 1e9);
	if (csv != NULL)
		fclose(csv);
	if (o.rte_timer)
		rte_timer_subsystem_finalize();
	bench_eal_fini();
	return 0;
}
