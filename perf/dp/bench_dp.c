/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Data-path micro-benchmark: cycles per packet of shardgate's burst pipeline
 * (sg_dp_process_inbound/outbound) on in-memory mbufs, by stage (parse,
 * lookup, crypto, encap/decap, route, tx to a net_null port), next to the
 * crypto-only bound measured in the same run: ipsec-mb's burst job API alone
 * on the same AEAD lengths, burst size and AAD, one key, hot buffers, no
 * packet handling. Every report gives the data path as a fraction of that
 * bound (bound cycles / data-path cycles). See perf/README.md.
 *
 *   sg_bench_dp [EAL args --] [--sizes 64,128,512,1420,imix] [--dirs in,out]
 *               [--burst N] [--sessions N] [--packets N] [--bursts N]
 *               [--reps N] [--bound-only] [--bound-offset N] [--esn-mix]
 *               [--aead aes-128-gcm|aes-192-gcm|aes-256-gcm|chacha20-poly1305|aes-128-gmac|...]
 *               [--cipher aes-128-cbc|aes-192-cbc|aes-256-cbc --auth sha1-hmac|sha256-hmac|...]
 *               [--csv FILE]
 *
 * A size is the plaintext Ethernet frame with its 4-byte FCS, as in
 * perf/tools/gen_traffic.py: "in" decrypts ESP frames that carry such a
 * frame's IP packet, "out" encrypts such frames. IMIX is 64:570:1420, 7:4:1.
 * Session i: remote site 10.(128 + i/256).(i%256).0/24 behind peer
 * 172.20.0.0 + i + 1, site A 10.1.0.0/16, AES-128-GCM (or --aead), replay
 * check off (the same packets are decrypted again and again, as with -w 0).
 * The bound runs the same AEAD; the "direct" column (ipsec-mb's direct GCM
 * API) is measured for AES-128-GCM only and is 0 for the others.
 */

#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <intel-ipsec-mb.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_lpm.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_vect.h>

#include "sg_crypto.h"
#include "sg_dp.h"
#include "sg_pkt.h"
#include "sg_sa.h"
#include "sg_shard.h"
#include "sg_spd.h"
#include "dp_priv.h"
#include "bench.h"
#include "bench_eal.h"
#include "bench_stats.h"

static const char *const dir_name[DIR_MAX] = {"in", "out"};
static const char *const comp_name[COMP_MAX] = {"spi_hash", "acl", "lpm", "crypto_sa_keys"};
static FILE *csv;

static void
usage(const char *prog)
{
	printf("usage: %s [EAL args --] [--sizes 64,128,512,1420,imix] [--dirs in,out]\n"
	       "       [--burst N] [--sessions N] [--packets N] [--bursts N] [--reps N]\n"
	       "       [--bound-only] [--bound-offset N] [--esn-mix] [--aead NAME]\n"
	       "       [--cipher NAME --auth NAME] [--csv FILE]\n",
	       prog);
}

static void
parse_list(char *s, const struct opts *o, void (*add)(struct opts *, const char *), struct opts *w)
{
	char *tok, *save = NULL;

	(void)o;
	for (tok = strtok_r(s, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save))
		add(w, tok);
}

static void
add_size(struct opts *o, const char *t)
{
	if (!size_ok(t))
		rte_exit(EXIT_FAILURE, "--sizes: %s is not 64..1420 or imix\n", t);
	if (o->nsizes == MAX_SIZES)
		rte_exit(EXIT_FAILURE, "--sizes: at most %d\n", MAX_SIZES);
	o->sizes[o->nsizes++] = t;
}

static void
add_dir(struct opts *o, const char *t)
{
	if (strcmp(t, "in") == 0)
		o->dirs[DIR_IN] = 1;
	else if (strcmp(t, "out") == 0)
		o->dirs[DIR_OUT] = 1;
	else
		rte_exit(EXIT_FAILURE, "--dirs: %s is not in or out\n", t);
}

static void
parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longs[] = {
		{"sizes", required_argument, NULL, 's'},
		{"dirs", required_argument, NULL, 'd'},
		{"burst", required_argument, NULL, 'b'},
		{"sessions", required_argument, NULL, 'n'},
		{"packets", required_argument, NULL, 'p'},
		{"bursts", required_argument, NULL, 'i'},
		{"reps", required_argument, NULL, 'r'},
		{"bound-only", no_argument, NULL, 'B'},
		{"bound-offset", required_argument, NULL, 'O'},
		{"esn-mix", no_argument, NULL, 'E'},
		{"aead", required_argument, NULL, 'A'},
		{"cipher", required_argument, NULL, 'C'},
		{"auth", required_argument, NULL, 'H'},
		{"csv", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c, which, sizes_set = 0, dirs_set = 0;

	while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		switch (c) {
		case 's':
			o->nsizes = 0;
			sizes_set = 1;
			parse_list(optarg, o, add_size, o);
			break;
		case 'd':
			dirs_set = 1;
			parse_list(optarg, o, add_dir, o);
			break;
		case 'b':
			o->burst = (uint16_t)atoi(optarg);
			break;
		case 'n':
			o->sessions = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'p':
			o->packets = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'i':
			o->bursts = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'r':
			o->reps = (unsigned int)atoi(optarg);
			break;
		case 'B':
			o->bound_only = 1;
			break;
		case 'O':
			o->bound_offset = (uint32_t)strtoul(optarg, NULL, 0) % RTE_CACHE_LINE_SIZE;
			break;
		case 'E':
			o->esn_mix = 1;
			break;
		case 'A':
		case 'C':
			which = c;
			for (c = 0; c < SG_CIPHER_MAX; c++)
				if (strcmp(optarg, sg_crypto_cipher_name((enum sg_cipher)c)) == 0)
					break;
			if (c == SG_CIPHER_MAX)
				rte_exit(EXIT_FAILURE, "--%s: unknown cipher %s\n",
						which == 'A' ? "aead" : "cipher", optarg);
			o->aead = (enum sg_cipher)c;
			break;
		case 'H':
			for (c = 1; c < SG_AUTH_MAX; c++)
				if (strcmp(optarg, sg_crypto_auth_name((enum sg_auth)c)) == 0)
					break;
			if (c == SG_AUTH_MAX)
				rte_exit(EXIT_FAILURE, "--auth: unknown HMAC %s\n", optarg);
			o->auth = (enum sg_auth)c;
			break;
		case 'c':
			o->csv = optarg;
			break;
		case 'h':
			usage(argv[0]);
			exit(EXIT_SUCCESS);
		default:
			usage(argv[0]);
			exit(2);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "unexpected argument %s\n", argv[optind]);
		usage(argv[0]);
		exit(2);
	}
	if (!sizes_set) {
		static const char *const def[] = {"64", "128", "512", "1420", "imix"};

		for (o->nsizes = 0; o->nsizes < RTE_DIM(def); o->nsizes++)
			o->sizes[o->nsizes] = def[o->nsizes];
	}
	if (!dirs_set)
		o->dirs[DIR_IN] = o->dirs[DIR_OUT] = 1;
	if (o->burst < 1 || o->burst > SG_DP_BURST_MAX || o->sessions < 1 ||
			o->sessions > 16384 || o->packets < o->burst || o->bursts < 1 || o->reps < 1 ||
			o->reps > MAX_REPS)
		rte_exit(EXIT_FAILURE, "need 1 <= --burst <= %d, 1 <= --sessions <= 16384, "
				"--packets >= --burst, --bursts >= 1, 1 <= --reps <= %d\n",
				SG_DP_BURST_MAX, MAX_REPS);
}

/* rte_exit() skips bench_eal_fini(): leave no runtime directory then either. */
static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
rm_runtime_dir(void)
{
	if (bench_rundir[0] != '\0')
		nftw(bench_rundir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static const char *
stage_label(unsigned int s)
{
	return sg_dp_stage_name((enum sg_dp_stage)s);
}

/*
 * What +src would be if the data path cost nothing beyond the bound but its
 * send into the sink: bound / (bound + src + tx). Receiving from this source
 * and sending to this sink are paid by any gateway, so a target above this
 * cannot be met with them.
 */
static double
ratio_best(const struct result *r)
{
	double d = r->bound + r->refill + r->stage[SG_STAGE_TX];

	return d > 0 ? r->bound / d : 0;
}

int
main(int argc, char **argv)
{
	struct opts o = {
		.burst = SG_DP_BURST_DEFAULT,
		.sessions = 1024,
		.packets = 4096,
		.bursts = 20000,
		.reps = 3,
	};
	static struct result res[DIR_MAX][MAX_SIZES][MAX_REPS];
	struct sg_crypto_key *bkey;
	uint8_t key[SG_CRYPTO_KEY_MAX + SG_CRYPTO_AUTH_KEY_MAX], salt[4] = {1, 2, 3, 4};
	char alg[48];
	uint8_t *buf;
	IMB_MGR *bmgr;
	unsigned int si, rep, s;
	int used, d;

	if (bench_eal_init(argc, argv, "sg_bench_dp", 512, &used) < 0)
		rte_exit(EXIT_FAILURE, "EAL init failed\n");
	atexit(rm_runtime_dir);
	argv[used] = argv[0];
	parse_opts(argc - used, argv + used, &o);
	/* As the gateway does (app/shardgate/main.c): rte_acl and the timer may use AVX-512. */
	if (rte_vect_get_max_simd_bitwidth() < RTE_VECT_SIMD_512)
		rte_vect_set_max_simd_bitwidth(RTE_VECT_SIMD_512);

	/* The bound's own manager and key, so nothing the pipeline touched is shared. */
	bmgr = sg_crypto_mgr_create((int)rte_socket_id());
	bkey = rte_zmalloc("sgb_key", sizeof(*bkey), RTE_CACHE_LINE_SIZE);
	buf = rte_zmalloc("sgb_buf", (size_t)SG_DP_BURST_MAX * SLOT, RTE_CACHE_LINE_SIZE);
	for (s = 0; s < sizeof(key); s++)
		key[s] = (uint8_t)rnd();
	if (sg_crypto_xform_id(o.aead, o.auth) < 0)
		rte_exit(EXIT_FAILURE, "%s %s: not a transform (AES-CBC takes --auth, the rest "
				"none)\n", sg_crypto_cipher_name(o.aead),
				o.auth ? sg_crypto_auth_name(o.auth) : "without --auth");
	snprintf(alg, sizeof(alg), "%s%s%s", sg_crypto_cipher_name(o.aead), o.auth ? "/" : "",
			o.auth ? sg_crypto_auth_name(o.auth) : "");
	if (bmgr == NULL || bkey == NULL || buf == NULL ||
			sg_crypto_key_init_auth(bkey, bmgr, o.aead, key, sg_crypto_key_len(o.aead),
				salt, o.auth, key + SG_CRYPTO_KEY_MAX,
				sg_crypto_auth_key_len(o.auth)) != 0)
		rte_exit(EXIT_FAILURE, "ipsec-mb set-up failed\n");
	if (!o.bound_only)
		setup(&o);
	else
		pool = rte_pktmbuf_pool_create("sgb_pool", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				(int)rte_socket_id());

	printf("# sg_bench_dp: ipsec-mb %s (%s), %s, burst %u, %u sessions, %u frames "
	       "per size, %u bursts x %u reps, lcore %u, TSC %.2f GHz\n",
	       imb_get_version_str(), sg_crypto_mgr_arch(bmgr), alg,
	       o.burst, o.sessions, o.packets,
	       o.bursts, o.reps, rte_lcore_id(), (double)rte_get_tsc_hz() / 1e9);
	if (o.csv != NULL) {
		csv = fopen(o.csv, "w");
		if (csv == NULL)
			rte_exit(EXIT_FAILURE, "%s: %s\n", o.csv, strerror(errno));
		fprintf(csv, "rep,dir,size,burst,sessions,bound,bound_direct,total,refill");
		for (s = 0; s < SG_STAGE_MAX; s++)
			fprintf(csv, ",%s", stage_label(s));
		fprintf(csv, ",other");
		for (s = 0; s < COMP_MAX; s++)
			fprintf(csv, ",%s", comp_name[s]);
		fprintf(csv, ",ratio,ratio_with_rx,ratio_best,drops\n");
	}

	/* Reps outermost: a slow patch of the machine hits every case alike. */
	for (rep = 0; rep < o.reps; rep++) {
		for (si = 0; si < o.nsizes; si++) {
			for (d = 0; d < DIR_MAX; d++) {
				struct result *r = &res[d][si][rep];
				struct frames f;

				if (!o.dirs[d])
					continue;
				if (o.bound_only) {
					uint32_t k;

					memset(&f, 0, sizeof(f));
					f.n = o.packets;
					f.crypto_len = calloc(f.n, sizeof(*f.crypto_len));
					if (f.crypto_len == NULL)
						rte_exit(EXIT_FAILURE, "out of memory\n");
					for (k = 0; k < f.n; k++)
						f.crypto_len[k] = crypto_len_of(frame_size(o.sizes[si], k),
								&o);
				} else {
					make_frames(&f, o.sizes[si], (enum dir)d, &o);
				}
				/* Warm-up passes: caches, branch predictors, ipsec-mb's lanes. */
				run_bound((enum dir)d, &f, &o, bmgr, bkey, buf);
				r->bound = run_bound((enum dir)d, &f, &o, bmgr, bkey, buf);
				if (o.aead == SG_AEAD_AES128_GCM) {
					run_bound_direct((enum dir)d, &f, &o, bmgr, bkey, buf);
					r->bound_direct = run_bound_direct((enum dir)d, &f, &o, bmgr,
							bkey, buf);
				}
				if (!o.bound_only) {
					run_pipeline((enum dir)d, &f, &o, r);
					run_pipeline((enum dir)d, &f, &o, r);
					run_components((enum dir)d, &f, &o, buf, r);
				}
				if (csv != NULL) {
					fprintf(csv, "%u,%s,%s,%u,%u,%.1f,%.1f,%.1f,%.1f", rep,
						dir_name[d], o.sizes[si], o.burst, o.sessions, r->bound,
						r->bound_direct, r->total, r->refill);
					for (s = 0; s < SG_STAGE_MAX; s++)
						fprintf(csv, ",%.1f", r->stage[s]);
					fprintf(csv, ",%.1f", r->other);
					for (s = 0; s < COMP_MAX; s++)
						fprintf(csv, ",%.1f", r->comp[s]);
					fprintf(csv, ",%.3f,%.3f,%.3f,%" PRIu64 "\n",
						r->total > 0 ? r->bound / r->total : 0,
						r->total > 0 ? r->bound / (r->total + r->refill) : 0,
						ratio_best(r), r->drops);
				}
				if (o.bound_only)
					free(f.crypto_len);
				else
					free_frames(&f);
			}
		}
	}

	/* Medians over the reps. */
	printf("%-4s %-5s %8s %8s %8s %7s", "dir", "size", "bound", "direct", "dp", "dp/bnd");
	if (!o.bound_only) {
		printf(" %7s %7s %6s", "src", "+src", "best");
		for (s = SG_STAGE_PARSE; s < SG_STAGE_MAX; s++)
			printf(" %7.7s", stage_label(s));
		printf(" %7s %6s", "other", "drops");
	}
	printf("   (cycles/packet, medians of %u)\n", o.reps);
	for (d = 0; d < DIR_MAX; d++) {
		for (si = 0; si < o.nsizes && o.dirs[d]; si++) {
			double v[MAX_REPS], bound, direct, total, refill, ratio, ratio_rx, best;
			double st[SG_STAGE_MAX];
			double other;
			uint64_t drops = 0;

			for (rep = 0; rep < o.reps; rep++)
				v[rep] = res[d][si][rep].bound;
			bound = bench_median(v, o.reps);
			for (rep = 0; rep < o.reps; rep++)
				v[rep] = res[d][si][rep].bound_direct;
			direct = bench_median(v, o.reps);
			printf("%-4s %-5s %8.1f %8.1f", dir_name[d], o.sizes[si], bound, direct);
			if (o.bound_only) {
				printf("  (%.2f / %.2f Mops/s)\n", (double)rte_get_tsc_hz() / bound / 1e6,
				       direct > 0 ? (double)rte_get_tsc_hz() / direct / 1e6 : 0.0);
				continue;
			}
			for (rep = 0; rep < o.reps; rep++)
				v[rep] = res[d][si][rep].total;
			total = bench_median(v, o.reps);
			for (rep = 0; rep < o.reps; rep++)
				v[rep] = res[d][si][rep].refill;
			refill = bench_median(v, o.reps);
			/* The ratio's median is taken per rep: bound and dp of one rep belong together. */
			for (rep = 0; rep < o.reps; rep++)
				v[rep] = res[d][si][rep].bound / res[d][si][rep].total;
			ratio = bench_median(v, o.reps);
			for (rep = 0; rep < o.reps; rep++)
				v[rep] = res[d][si][rep].bound /
						(res[d][si][rep].total + res[d][si][rep].refill);
			ratio_rx = bench_median(v, o.reps);
			for (rep = 0; rep < o.reps; rep++)
				v[rep] = ratio_best(&res[d][si][rep]);
			best = bench_median(v, o.reps);
			for (s = 0; s < SG_STAGE_MAX; s++) {
				for (rep = 0; rep < o.reps; rep++)
					v[rep] = res[d][si][rep].stage[s];
				st[s] = bench_median(v, o.reps);
			}
			for (rep = 0; rep < o.reps; rep++) {
				v[rep] = res[d][si][rep].other;
				drops += res[d][si][rep].drops;
			}
			other = bench_median(v, o.reps);
			printf(" %8.1f %6.0f%% %7.1f %6.0f%% %5.0f%%", total, 100 * ratio, refill,
			       100 * ratio_rx, 100 * best);
			for (s = SG_STAGE_PARSE; s < SG_STAGE_MAX; s++)
				printf(" %7.1f", st[s]);
			printf(" %7.1f %6" PRIu64 "\n", other, drops);
		}
	}
	if (!o.bound_only) {
		printf("\nisolated, one burst at a time (cycles/packet, medians of %u):\n%-4s %-5s",
		       o.reps, "dir", "size");
		for (s = 0; s < COMP_MAX; s++)
			printf(" %14s", comp_name[s]);
		printf("\n");
		for (d = 0; d < DIR_MAX; d++) {
			for (si = 0; si < o.nsizes && o.dirs[d]; si++) {
				double v[MAX_REPS];

				printf("%-4s %-5s", dir_name[d], o.sizes[si]);
				for (s = 0; s < COMP_MAX; s++) {
					for (rep = 0; rep < o.reps; rep++)
						v[rep] = res[d][si][rep].comp[s];
					if (s == COMP_HASH && d != DIR_IN)
						printf(" %14s", "-");
					else
						printf(" %14.1f", bench_median(v, o.reps));
				}
				printf("\n");
			}
		}
	}
	printf("# bound: ipsec-mb alone (burst job API, NOCHECK), same lengths/burst/AAD, one key,"
	       " hot buffers; direct: the same through the direct GCM API, one worker only (its"
	       " global error store does not scale across cores)\n# dp: sg_dp_process_in/outbound per packet, tx into net_null; src:"
	       " mbuf alloc + copy of the frame (not in dp); dp/bnd = bound/dp, +src = bound/(dp+src),\n"
	       "# best = bound/(bound+src+tx): +src if the data path cost only the bound and the sink\n");
	if (csv != NULL)
		fclose(csv);
	rte_free(buf);
	rte_free(bkey);
	sg_crypto_mgr_free(bmgr);
	bench_eal_fini();
	return 0;
}
