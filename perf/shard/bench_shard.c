/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sg_bench_shard: the SA table's inbound bulk lookup (sg_sa_table_lookup_in_bulk)
 * against a plain rte_hash built with the same parameters and holding the same
 * keys, in the same run, on the same stream of SPIs: bursts of 32 drawn at
 * random from the table plus a share of misses, as a worker sees them. Also
 * the table's memory per session, measured on the DPDK heap.
 *
 * A benchmark, not a test (STYLE.md 14); perf/shard/README.md has the numbers.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_debug.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "sg_crypto.h"
#include "sg_sa.h"
#include "sg_shard.h"
#include "bench_eal.h"
#include "bench_stats.h"

#define SIZES_MAX 8
#define BURST_MAX 64

struct opts {
	uint32_t sizes[SIZES_MAX];
	unsigned int nsizes;
	uint32_t lookups; /* SPIs looked up per pass */
	unsigned int reps;
	unsigned int miss_pct;
	unsigned int burst;
	uint32_t win;
	const char *csv;
};

static double ns_per_cycle;
static FILE *csv;

static inline uint32_t
spi_of(uint32_t i)
{
	return (i + 1) * 2654435761u; /* odd multiplier: distinct, never 0 */
}

static inline uint64_t
xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static uint64_t
heap_bytes(int socket)
{
	struct rte_malloc_socket_stats st;

	if (rte_malloc_get_socket_stats(socket, &st) != 0)
		rte_exit(EXIT_FAILURE, "rte_malloc_get_socket_stats failed\n");
	return st.heap_allocsz_bytes;
}

/* The table's own rte_hash parameters (lib/sa/sa_table.c hash_create());
 * without @p lf, the same minus lock-free readers, for scale. */
static struct rte_hash *
plain_hash(uint32_t n, int socket, int lf)
{
	char name[RTE_HASH_NAMESIZE];
	struct rte_hash_parameters p = {
		.name = name,
		.entries = RTE_MAX(n, 8u),
		.key_len = sizeof(uint32_t),
		.hash_func = rte_hash_crc,
		.socket_id = socket,
		.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE |
				(lf ? RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF : 0),
	};

	snprintf(name, sizeof(name), "bench_%s_%u", lf ? "plain" : "nolf", n);
	return rte_hash_create(&p);
}

static struct rte_hash *
plain_fill(const struct sg_sa_table *t, uint32_t n, int socket, int lf)
{
	struct rte_hash *h = plain_hash(n, socket, lf);
	uint32_t i;

	if (h == NULL)
		rte_exit(EXIT_FAILURE, "rte_hash of %u: %s\n", n, rte_strerror(rte_errno));
	for (i = 0; i < n; i++) {
		uint32_t k = rte_cpu_to_be_32(spi_of(i));

		if (rte_hash_add_key_data(h, &k, (void *)(uintptr_t)sg_sa_table_find(t, SG_SA_IN,
				spi_of(i))) != 0)
			rte_exit(EXIT_FAILURE, "rte_hash add #%u of %u failed\n", i, n);
	}
	return h;
}

/* One pass over the stream with the SA table; returns cycles, sums the indices. */
static uint64_t
pass_table(const struct sg_sa_table *t, const uint32_t *spi, uint32_t n, unsigned int burst,
		uint64_t *sum)
{
	uint32_t idx[BURST_MAX], i, j;
	uint64_t c0 = rte_rdtsc_precise(), s = 0;

	for (i = 0; i + burst <= n; i += burst) {
		sg_sa_table_lookup_in_bulk(t, spi + i, burst, idx);
		for (j = 0; j < burst; j++)
			s += idx[j];
	}
	*sum = s;
	return rte_rdtsc_precise() - c0;
}

/* The same with the runtime SA read, as the data path does next (line 0). */
static uint64_t
pass_table_touch(const struct sg_sa_table *t, const uint32_t *spi, uint32_t n,
		unsigned int burst, uint64_t *sum)
{
	uint32_t idx[BURST_MAX], i, j;
	uint64_t c0 = rte_rdtsc_precise(), s = 0;

	for (i = 0; i + burst <= n; i += burst) {
		sg_sa_table_lookup_in_bulk(t, spi + i, burst, idx);
		for (j = 0; j < burst; j++) {
			const struct sg_sa *sa = sg_sa_table_get(t, idx[j]);

			s += sa != NULL ? sa->idx : SG_SA_NONE;
		}
	}
	*sum = s;
	return rte_rdtsc_precise() - c0;
}

/* Plain rte_hash: what a caller writes around rte_hash_lookup_bulk_data(). */
static uint64_t
pass_plain(const struct rte_hash *h, const uint32_t *spi, uint32_t n, unsigned int burst,
		uint64_t *sum)
{
	const void *keys[BURST_MAX];
	void *data[BURST_MAX];
	uint64_t hits, c0 = rte_rdtsc_precise(), s = 0;
	uint32_t i, j;

	for (i = 0; i + burst <= n; i += burst) {
		for (j = 0; j < burst; j++)
			keys[j] = &spi[i + j];
		rte_hash_lookup_bulk_data(h, keys, burst, &hits, data);
		for (j = 0; j < burst; j++)
			s += (hits >> j) & 1 ? (uint32_t)(uintptr_t)data[j] : SG_SA_NONE;
	}
	*sum = s;
	return rte_rdtsc_precise() - c0;
}

static void
run_size(const struct opts *o, uint32_t n, IMB_MGR *mgr, int socket)
{
	double t_tab[32], t_plain[32], t_touch[32], t_nolf[32];
	uint64_t h0, h1, h2, h4, sum_a, sum_b, sum_c, seed = 0x9e3779b97f4a7c15ull;
	uint32_t *stream, i;
	struct sg_sa_table *t;
	struct rte_hash *h, *hn;
	struct sg_sa_prm p;
	char name[SG_SA_TABLE_NAMESIZE];
	double add_s, med_tab, med_plain, med_nolf, med_touch, fixed, per_sa;
	uint64_t c0;
	unsigned int r;
	int ret;

	/* The table and its SAs, heap measured before, empty and full. */
	h0 = heap_bytes(socket);
	snprintf(name, sizeof(name), "bench%u", n);
	t = sg_sa_table_create(name, n, socket);
	if (t == NULL)
		rte_exit(EXIT_FAILURE, "table of %u: %s\n", n, rte_strerror(rte_errno));
	h1 = heap_bytes(socket);
	memset(&p, 0, sizeof(p));
	p.dir = SG_SA_IN;
	p.mode = SG_SA_TUNNEL4;
	p.cipher = SG_AEAD_AES128_GCM;
	p.key_len = 16;
	p.replay_win = o->win;
	p.tun_src = 0xc0000201;
	p.tun_dst = 0xc6336407;
	c0 = rte_rdtsc_precise();
	for (i = 0; i < n; i++) {
		p.spi = spi_of(i);
		memcpy(p.key, &p.spi, sizeof(p.spi));
		ret = sg_sa_table_add(t, &p, mgr, 1, socket);
		if (ret < 0)
			rte_exit(EXIT_FAILURE, "add #%u of %u: %s\n", i, n, strerror(-ret));
	}
	add_s = (double)(rte_rdtsc_precise() - c0) * ns_per_cycle * 1e-9;
	sg_sa_prm_wipe(&p);
	h2 = heap_bytes(socket);

	/* The plain hash, same parameters, same keys, data = the same index. */
	h = plain_fill(t, n, socket, 1);
	h4 = heap_bytes(socket);
	hn = plain_fill(t, n, socket, 0);

	/* The stream: SPIs of the table at random, miss_pct % unknown ones. */
	stream = malloc((size_t)o->lookups * sizeof(*stream));
	if (stream == NULL)
		rte_exit(EXIT_FAILURE, "out of memory\n");
	for (i = 0; i < o->lookups; i++) {
		uint64_t x = xorshift(&seed);

		if (x % 100 < o->miss_pct) {
			stream[i] = rte_cpu_to_be_32(spi_of(n + (uint32_t)(x >> 32) % (1u << 24)));
		} else {
			stream[i] = rte_cpu_to_be_32(spi_of((uint32_t)((x >> 16) % n)));
		}
	}

	/* Warm up, check they agree, then alternate so that drift hits both. */
	pass_table(t, stream, o->lookups, o->burst, &sum_a);
	pass_plain(h, stream, o->lookups, o->burst, &sum_b);
	pass_plain(hn, stream, o->lookups, o->burst, &sum_c);
	if (sum_a != sum_b || sum_a != sum_c)
		rte_exit(EXIT_FAILURE, "%u: the table and rte_hash disagree\n", n);
	for (r = 0; r < o->reps; r++) {
		if (r % 2 == 0) {
			t_tab[r] = (double)pass_table(t, stream, o->lookups, o->burst, &sum_a);
			t_plain[r] = (double)pass_plain(h, stream, o->lookups, o->burst, &sum_b);
		} else {
			t_plain[r] = (double)pass_plain(h, stream, o->lookups, o->burst, &sum_b);
			t_tab[r] = (double)pass_table(t, stream, o->lookups, o->burst, &sum_a);
		}
		t_nolf[r] = (double)pass_plain(hn, stream, o->lookups, o->burst, &sum_c);
		t_touch[r] = (double)pass_table_touch(t, stream, o->lookups, o->burst, &sum_c);
		t_tab[r] *= ns_per_cycle / o->lookups;
		t_plain[r] *= ns_per_cycle / o->lookups;
		t_nolf[r] *= ns_per_cycle / o->lookups;
		t_touch[r] *= ns_per_cycle / o->lookups;
	}
	med_tab = bench_median(t_tab, o->reps);
	med_plain = bench_median(t_plain, o->reps);
	med_nolf = bench_median(t_nolf, o->reps);
	med_touch = bench_median(t_touch, o->reps);
	fixed = (double)(h1 - h0) / n;
	per_sa = (double)(h2 - h1) / n;

	printf("%9u  %8.2f  %8.2f  %6.3f  %9.2f  %7.2f  | %7.0f  %7.0f  %7.0f  %9.0f  %7.2f\n",
			n, med_tab, med_plain, med_tab / med_plain, med_touch, med_nolf, fixed, per_sa,
			fixed + per_sa, (double)(h4 - h2) / n, add_s * 1e9 / n * 1e-3);
	if (csv != NULL) {
		fprintf(csv, "%u,lookup_ns,sg_sa_table,%.3f\n", n, med_tab);
		fprintf(csv, "%u,lookup_ns,rte_hash,%.3f\n", n, med_plain);
		fprintf(csv, "%u,lookup_ns,ratio,%.4f\n", n, med_tab / med_plain);
		fprintf(csv, "%u,lookup_ns,sg_sa_table+sa,%.3f\n", n, med_touch);
		fprintf(csv, "%u,lookup_ns,rte_hash_no_lf,%.3f\n", n, med_nolf);
		fprintf(csv, "%u,bytes,table_per_slot,%.1f\n", n, fixed);
		fprintf(csv, "%u,bytes,per_sa,%.1f\n", n, per_sa);
		fprintf(csv, "%u,bytes,per_session,%.1f\n", n, fixed + per_sa);
		fprintf(csv, "%u,bytes,rte_hash_per_key,%.1f\n", n, (double)(h4 - h2) / n);
		fprintf(csv, "%u,add_us,sg_sa_table,%.3f\n", n, add_s * 1e6 / n);
	}
	free(stream);
	rte_hash_free(hn);
	rte_hash_free(h);
	sg_sa_table_free(t);
	if (heap_bytes(socket) != h0)
		printf("  (heap not back to where it was: %" PRIu64 " B left)\n",
				heap_bytes(socket) - h0);
}

static void
usage(const char *prog)
{
	printf("Usage: %s [EAL options --] [--sizes a,b,..] [--lookups N] [--reps N]\n"
	       "       [--miss PCT] [--burst N] [--win W] [--csv FILE]\n"
	       "Defaults: --sizes 1000,100000,1000000 --lookups 4194304 --reps 5 --miss 10\n"
	       "          --burst 32 --win %u (the gateway's default replay window)\n",
			prog, SG_REPLAY_WIN_DEFAULT);
}

static void
parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longs[] = {
		{"sizes", required_argument, NULL, 's'}, {"lookups", required_argument, NULL, 'l'},
		{"reps", required_argument, NULL, 'r'}, {"miss", required_argument, NULL, 'm'},
		{"burst", required_argument, NULL, 'b'}, {"win", required_argument, NULL, 'w'},
		{"csv", required_argument, NULL, 'c'}, {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	char *tok, *save;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		switch (c) {
		case 's':
			o->nsizes = 0;
			for (tok = strtok_r(optarg, ",", &save); tok != NULL && o->nsizes < SIZES_MAX;
					tok = strtok_r(NULL, ",", &save))
				o->sizes[o->nsizes++] = (uint32_t)strtoul(tok, NULL, 0);
			break;
		case 'l':
			o->lookups = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'r':
			o->reps = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'm':
			o->miss_pct = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'b':
			o->burst = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'w':
			o->win = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'c':
			o->csv = optarg;
			break;
		default:
			usage(argv[0]);
			exit(c == 'h' ? EXIT_SUCCESS : EXIT_FAILURE);
		}
	}
	for (c = 0; c < (int)o->nsizes; c++)
		if (o->sizes[c] == 0 || o->sizes[c] > SG_SHARD_SA_MAX)
			rte_exit(EXIT_FAILURE, "sizes must be 1..%u\n", SG_SHARD_SA_MAX);
	if (o->lookups < o->burst || o->reps == 0 || o->reps > 32 || o->miss_pct > 100 ||
			o->burst == 0 || o->burst > BURST_MAX || o->win > SG_REPLAY_WIN_MAX)
		rte_exit(EXIT_FAILURE, "need --lookups >= --burst, 1 <= --reps <= 32, --miss <= 100,"
				" 1 <= --burst <= %d, --win <= %u\n", BURST_MAX, SG_REPLAY_WIN_MAX);
}

int
main(int argc, char **argv)
{
	struct opts o = {
		.sizes = {1000, 100000, 1000000},
		.nsizes = 3,
		.lookups = 1u << 22,
		.reps = 5,
		.miss_pct = 10,
		.burst = 32,
		.win = SG_REPLAY_WIN_DEFAULT,
	};
	int used, socket;
	unsigned int s;
	IMB_MGR *mgr;

	if (bench_eal_init(argc, argv, "sg_bench_shard", 4096, &used) < 0)
		rte_exit(EXIT_FAILURE, "EAL init failed\n");
	argv[used] = argv[0];
	parse_opts(argc - used, argv + used, &o);
	ns_per_cycle = 1e9 / (double)rte_get_tsc_hz();
	socket = (int)rte_socket_id();
	mgr = sg_crypto_mgr_create(socket);
	if (mgr == NULL)
		rte_exit(EXIT_FAILURE, "ipsec-mb manager: %s\n", rte_strerror(rte_errno));
	if (o.csv != NULL) {
		csv = fopen(o.csv, "w");
		if (csv == NULL)
			rte_exit(EXIT_FAILURE, "%s: %s\n", o.csv, strerror(errno));
		fprintf(csv, "sessions,metric,impl,value\n");
	}

	printf("sg_bench_shard: lcore %u, TSC %.2f GHz, %u lookups a pass in bursts of %u, "
			"%u%% misses, median of %u\n", rte_lcore_id(), 1e-9 * (double)rte_get_tsc_hz(),
			o.lookups, o.burst, o.miss_pct, o.reps);
	printf("runtime state: sizeof(struct sg_sa) %zu B (%zu cache lines); apart from it:"
			" key schedule sizeof(struct sg_crypto_key) %zu B, replay window of %u"
			" packets %zu B\n", sizeof(struct sg_sa), sizeof(struct sg_sa) / RTE_CACHE_LINE_SIZE,
			sizeof(struct sg_crypto_key), o.win, o.win ? sg_replay_size(o.win) : 0);
	printf("\n%9s  %8s  %8s  %6s  %9s  %7s  | %7s  %7s  %7s  %9s  %7s\n", "", "sg_sa_",
			"plain", "ratio", "sg + SA", "no-LF", "table", "per SA", "total", "rte_hash",
			"add");
	printf("%9s  %8s  %8s  %6s  %9s  %7s  | %7s  %7s  %7s  %9s  %7s\n", "sessions",
			"table ns", "hash ns", "sg/rte", "line 0 ns", "hash ns", "B/slot", "B/SA",
			"B/sess", "B/key", "us/SA");
	for (s = 0; s < o.nsizes; s++)
		run_size(&o, o.sizes[s], mgr, socket);
	printf("\nns are per SPI looked up (one packet); \"sg + SA\": the lookup plus reading the"
			" SA it found (line 0), as the data path does next; \"no-LF\": rte_hash with"
			" the same parameters but without lock-free readers, for scale.\n"
			"B: bytes of DPDK heap (rte_malloc stats, element headers included):"
			" the empty table per slot (SA array, free"
			" list, both SPI hashes), each SA's key and window, their sum per session;"
			" the plain rte_hash per key it holds.\n");
	if (csv != NULL)
		fclose(csv);
	sg_crypto_mgr_free(mgr);
	bench_eal_fini();
	return 0;
}
