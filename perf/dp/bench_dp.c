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
 *               [--reps N] [--bound-only] [--csv FILE]
 *
 * A size is the plaintext Ethernet frame with its 4-byte FCS, as in
 * perf/tools/gen_traffic.py: "in" decrypts ESP frames that carry such a
 * frame's IP packet, "out" encrypts such frames. IMIX is 64:570:1420, 7:4:1.
 * Session i: remote site 10.(128 + i/256).(i%256).0/24 behind peer
 * 172.20.0.0 + i + 1, site A 10.1.0.0/16, AES-128-GCM, replay check off
 * (the same packets are decrypted again and again, as with -w 0).
 */

#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <inttypes.h>
#include <sched.h>
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

#define MAX_SIZES 8
#define MAX_REPS 64
#define FCS_LEN 4
#define FRAME_MAX 1518
#define IMIX_PERIOD 12
#define SPI_AB 0x10000u /* A -> B: gateway A's outbound SAs */
#define SPI_BA 0x20000u /* B -> A: gateway A's inbound SAs */
#define GW_A RTE_IPV4(172, 16, 0, 1)
#define SITE_A RTE_IPV4(10, 1, 0, 0)
#define PEER(i) (RTE_IPV4(172, 20, 0, 0) + (uint32_t)(i) + 1)
#define SITE_B(i) (RTE_IPV4(10, 128, 0, 0) + ((uint32_t)(i) << 8))
#define PORT_UNPROT 0
#define PORT_PROT 1
#define NB_MBUFS 8191
#define MBUF_CACHE 256

enum dir { DIR_IN, DIR_OUT, DIR_MAX };
static const char *const dir_name[DIR_MAX] = {"in", "out"};

struct opts {
	const char *sizes[MAX_SIZES];
	unsigned int nsizes;
	int dirs[DIR_MAX];
	uint16_t burst;
	uint32_t sessions;
	uint32_t packets;
	uint32_t bursts;
	unsigned int reps;
	int bound_only;
	uint32_t bound_offset;
	const char *csv;
};

/* One measurement of the pipeline: cycles per packet. */
struct result {
	double bound;  /* crypto-only bound */
	double total;  /* sg_dp_process_*: everything the data path does */
	double refill; /* the source: mbuf alloc + copy (a NIC's rx, a pcap replay) */
	double stage[SG_STAGE_MAX];
	double other;  /* total minus the stages: calls, array copies, frees */
	uint64_t drops;
	uint64_t tx;
};

/* Frames of one size tag, ready to be copied into mbufs. */
struct frames {
	uint32_t n;
	uint16_t *len;
	uint8_t *data; /* n slots of FRAME_MAX + ESP overhead */
	uint32_t *crypto_len;
};
#define SLOT 1600

static struct rte_mempool *pool;
static struct sg_dp_ctx *ctx;
static struct sg_shard *shard, *peer_shard;
static struct sg_shard_dir *sdir;
static struct sg_dp_lcore *lc, *peer_lc;
static struct sg_spd *spd_in, *spd_out;
static uint32_t *out_gidx, *peer_gidx;
static FILE *csv;
static volatile uint64_t sink;

static uint64_t rng = 0x9e3779b97f4a7c15;

static uint64_t
rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * UINT64_C(2685821657736338717);
}

static void
usage(const char *prog)
{
	printf("usage: %s [EAL args --] [--sizes 64,128,512,1420,imix] [--dirs in,out]\n"
	       "       [--burst N] [--sessions N] [--packets N] [--bursts N] [--reps N]\n"
	       "       [--bound-only] [--csv FILE]\n", prog);
}

/* Plaintext frame sizes (FCS included) of @p tag for packet k. */
static uint16_t
frame_size(const char *tag, uint32_t k)
{
	static const uint16_t imix[IMIX_PERIOD] = {64, 570, 64, 64, 570, 64, 1420, 64, 570, 64,
		64, 570};

	if (strcmp(tag, "imix") == 0)
		return imix[k % IMIX_PERIOD];
	return (uint16_t)atoi(tag);
}

static int
size_ok(const char *tag)
{
	int v;

	if (strcmp(tag, "imix") == 0)
		return 1;
	v = atoi(tag);
	return v >= 64 && v <= 1420;
}

/* Bytes the AEAD covers for a plaintext frame of @p fs (FCS included). */
static uint32_t
crypto_len_of(uint16_t fs)
{
	uint32_t inner = fs - FCS_LEN - RTE_ETHER_HDR_LEN;

	return inner + sg_esp_pad_len(inner) + SG_ESP_TRAILER_LEN;
}

static void
put_ipv4_udp(uint8_t *p, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
		uint16_t ip_len, uint16_t id)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)p;
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	uint16_t k;

	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16(ip_len);
	ip->packet_id = rte_cpu_to_be_16(id);
	ip->time_to_live = 64;
	ip->next_proto_id = SG_IPPROTO_UDP;
	ip->src_addr = rte_cpu_to_be_32(src);
	ip->dst_addr = rte_cpu_to_be_32(dst);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp->src_port = rte_cpu_to_be_16(sport);
	udp->dst_port = rte_cpu_to_be_16(dport);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(ip_len - sizeof(*ip)));
	udp->dgram_cksum = 0;
	for (k = sizeof(*ip) + sizeof(*udp); k < ip_len; k++)
		p[k] = (uint8_t)(id + k);
}

static void
put_eth(uint8_t *p, uint16_t port)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)p;

	memset(eth, 0, sizeof(*eth));
	eth->dst_addr.addr_bytes[0] = 0x02;
	eth->dst_addr.addr_bytes[5] = (uint8_t)port;
	eth->src_addr.addr_bytes[0] = 0x02;
	eth->src_addr.addr_bytes[4] = 0xbb;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
}

/* Session of packet k: every session in turn, in a fixed shuffled order. */
static uint32_t *
session_order(uint32_t packets, uint32_t sessions)
{
	uint32_t *o = malloc(packets * sizeof(*o));
	uint32_t k, j, t;

	if (o == NULL)
		rte_exit(EXIT_FAILURE, "out of memory\n");
	for (k = 0; k < packets; k++)
		o[k] = k % sessions;
	for (k = packets - 1; k > 0; k--) {
		j = (uint32_t)(rnd() % (k + 1));
		t = o[k];
		o[k] = o[j];
		o[j] = t;
	}
	return o;
}

/*
 * The frames one direction's gateway receives: plaintext site A -> site B
 * for "out"; for "in", ESP from each peer, made by shardgate's own encap on
 * the peer's SAs (the unit and integration suites check that encap against
 * Scapy; here it only has to be decryptable).
 */
static void
make_frames(struct frames *f, const char *tag, enum dir d, const struct opts *o)
{
	uint32_t *order = session_order(o->packets, o->sessions);
	uint32_t k;

	f->n = o->packets;
	f->len = calloc(f->n, sizeof(*f->len));
	f->crypto_len = calloc(f->n, sizeof(*f->crypto_len));
	f->data = rte_malloc("frames", (size_t)f->n * SLOT, RTE_CACHE_LINE_SIZE);
	if (f->len == NULL || f->crypto_len == NULL || f->data == NULL)
		rte_exit(EXIT_FAILURE, "out of memory for %u frames\n", f->n);
	for (k = 0; k < f->n; k++) {
		uint32_t i = order[k], flow = k;
		uint16_t fs = frame_size(tag, k);
		uint16_t ip_len = (uint16_t)(fs - FCS_LEN - RTE_ETHER_HDR_LEN);
		uint8_t *slot = f->data + (size_t)k * SLOT;

		f->crypto_len[k] = crypto_len_of(fs);
		if (d == DIR_OUT) {
			put_eth(slot, PORT_PROT);
			put_ipv4_udp(slot + RTE_ETHER_HDR_LEN, SITE_A + 1 + flow % 65000,
					SITE_B(i) + 1 + flow % 254, (uint16_t)(1024 + flow % 60000),
					5001, ip_len, (uint16_t)k);
			f->len[k] = (uint16_t)(fs - FCS_LEN);
		} else {
			struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
			uint32_t gidx = peer_gidx[i];
			uint16_t nbad, ok;
			uint8_t *p;

			if (m == NULL)
				rte_exit(EXIT_FAILURE, "mbuf pool empty\n");
			p = (uint8_t *)rte_pktmbuf_append(m, ip_len);
			if (p == NULL)
				rte_exit(EXIT_FAILURE, "frame of %u bytes does not fit\n", ip_len);
			put_ipv4_udp(p, SITE_B(i) + 1 + flow % 254, SITE_A + 1 + flow % 65000, 5001,
					(uint16_t)(1024 + flow % 60000), ip_len, (uint16_t)k);
			m->l2_len = 0;
			m->l3_len = sizeof(struct rte_ipv4_hdr);
			ok = dp_esp_outbound(peer_lc, &m, &gidx, 1, &nbad, 0);
			if (ok != 1)
				rte_exit(EXIT_FAILURE, "peer encap failed\n");
			put_eth(slot, PORT_UNPROT);
			memcpy(slot + RTE_ETHER_HDR_LEN, rte_pktmbuf_mtod(m, void *), m->pkt_len);
			f->len[k] = (uint16_t)(RTE_ETHER_HDR_LEN + m->pkt_len);
			rte_pktmbuf_free(m);
		}
	}
	free(order);
}

static void
free_frames(struct frames *f)
{
	free(f->len);
	free(f->crypto_len);
	rte_free(f->data);
	memset(f, 0, sizeof(*f));
}

static uint16_t
null_port(const char *name)
{
	struct rte_eth_conf conf = {0};
	uint16_t port;

	/* EAL hot-plug: no link to the vdev bus library needed. */
	if (rte_eal_hotplug_add("vdev", name, "no-rx=1") != 0 ||
			rte_eth_dev_get_port_by_name(name, &port) != 0)
		rte_exit(EXIT_FAILURE, "cannot create %s\n", name);
	if (rte_eth_dev_configure(port, 1, 1, &conf) != 0 ||
			rte_eth_rx_queue_setup(port, 0, 512, 0, NULL, pool) != 0 ||
			rte_eth_tx_queue_setup(port, 0, 512, 0, NULL) != 0 ||
			rte_eth_dev_start(port) != 0)
		rte_exit(EXIT_FAILURE, "cannot start %s\n", name);
	return port;
}

static void
set_port(uint16_t port, int unprotected)
{
	struct sg_dp_port *p = &ctx->port[port];

	rte_eth_macaddr_get(port, &p->src_mac);
	p->dst_mac.addr_bytes[0] = 0x02;
	p->dst_mac.addr_bytes[5] = (uint8_t)(0x10 + port);
	p->mtu = 1500;
	p->enabled = 1;
	p->has_neigh = 1;
	p->unprotected = (uint8_t)unprotected;
}

static void
add_route(uint32_t dst, uint8_t depth, uint16_t port)
{
	struct sg_route_prm r = {.dst = dst, .depth = depth, .port = port};

	if (sg_dp_route_add(ctx, &r) != 0)
		rte_exit(EXIT_FAILURE, "route add failed\n");
}

static int
add_sa(struct sg_shard *s, IMB_MGR *mgr, enum sg_sa_dir dir, uint32_t spi, const uint8_t *key,
		uint32_t src, uint32_t dst)
{
	struct sg_sa_prm p;
	int idx;

	memset(&p, 0, sizeof(p));
	p.spi = spi;
	p.dir = dir;
	p.mode = SG_SA_TUNNEL4;
	p.aead = SG_AEAD_AES128_GCM;
	p.key_len = 16;
	memcpy(p.key, key, 16);
	memcpy(p.salt, key + 16, 4);
	p.tun_src = src;
	p.tun_dst = dst;
	p.replay_win = 0; /* the same ESP frames are decrypted again and again (-w 0) */
	idx = sg_sa_table_add(s->sat, &p, mgr, (uint16_t)rte_lcore_id(), 0);
	sg_sa_prm_wipe(&p);
	if (idx < 0)
		rte_exit(EXIT_FAILURE, "SA %u: %s\n", spi, strerror(-idx));
	return idx;
}

/* Gateway A's sessions, policies and routes, as perf/tools/gen_traffic.py writes them. */
static void
setup(const struct opts *o)
{
	struct sg_sp_rule *rin, *rout;
	uint16_t p0, p1;
	uint32_t i;

	pool = rte_pktmbuf_pool_create("sgb_pool", NB_MBUFS, MBUF_CACHE, 0,
			RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	ctx = sg_dp_ctx_create((int)rte_socket_id(), 64);
	shard = sg_shard_create(0, 2 * o->sessions, (int)rte_socket_id());
	peer_shard = sg_shard_create(1, o->sessions, (int)rte_socket_id());
	sdir = sg_shard_dir_create("sgb_dir", o->sessions, (int)rte_socket_id());
	lc = rte_zmalloc("sgb_lc", sizeof(*lc), RTE_CACHE_LINE_SIZE);
	peer_lc = rte_zmalloc("sgb_peer", sizeof(*peer_lc), RTE_CACHE_LINE_SIZE);
	out_gidx = calloc(o->sessions, sizeof(*out_gidx));
	peer_gidx = calloc(o->sessions, sizeof(*peer_gidx));
	rin = calloc(o->sessions, sizeof(*rin));
	rout = calloc(o->sessions, sizeof(*rout));
	if (pool == NULL || ctx == NULL || shard == NULL || peer_shard == NULL || sdir == NULL ||
			lc == NULL || peer_lc == NULL || out_gidx == NULL || peer_gidx == NULL ||
			rin == NULL || rout == NULL)
		rte_exit(EXIT_FAILURE, "set-up failed: %s\n", rte_strerror(rte_errno));
	if (sg_dp_lcore_init(lc, ctx, (uint16_t)rte_lcore_id(), 0) != 0 ||
			sg_dp_lcore_init(peer_lc, ctx, (uint16_t)rte_lcore_id(), 1) != 0)
		rte_exit(EXIT_FAILURE, "lcore init failed\n");
	lc->shard = shard;
	peer_lc->shard = peer_shard;
	ctx->dir = sdir;
	ctx->nb_workers = 1;
	ctx->burst = o->burst;

	p0 = null_port("net_null0");
	p1 = null_port("net_null1");
	if (p0 != PORT_UNPROT || p1 != PORT_PROT)
		rte_exit(EXIT_FAILURE, "null ports are %u and %u, want 0 and 1\n", p0, p1);
	set_port(p0, 1);
	set_port(p1, 0);
	add_route(RTE_IPV4(172, 20, 0, 0), 16, PORT_UNPROT);
	add_route(SITE_A, 16, PORT_PROT);

	for (i = 0; i < o->sessions; i++) {
		uint8_t kab[20], kba[20];
		struct sg_sa *sa;
		unsigned int b;
		int idx;

		for (b = 0; b < sizeof(kab); b++) {
			kab[b] = (uint8_t)rnd();
			kba[b] = (uint8_t)rnd();
		}
		idx = add_sa(shard, lc->mgr, SG_SA_OUT, SPI_AB + i, kab, GW_A, PEER(i));
		out_gidx[i] = sg_shard_gidx(0, (uint32_t)idx);
		idx = add_sa(shard, lc->mgr, SG_SA_IN, SPI_BA + i, kba, PEER(i), GW_A);
		sa = sg_sa_table_get(shard->sat, (uint32_t)idx);
		sa->pol_tag = i + 1;
		if (sg_shard_dir_add(sdir, SPI_BA + i, 0) != 0)
			rte_exit(EXIT_FAILURE, "directory add failed\n");
		/* The peer's outbound twin of our inbound SA: same SPI, key and tunnel. */
		idx = add_sa(peer_shard, peer_lc->mgr, SG_SA_OUT, SPI_BA + i, kba, PEER(i), GW_A);
		peer_gidx[i] = sg_shard_gidx(1, (uint32_t)idx);
		memset(kab, 0, sizeof(kab));
		memset(kba, 0, sizeof(kba));

		rout[i] = (struct sg_sp_rule){.priority = 1, .action = SG_SP_PROTECT,
			.sa_idx = out_gidx[i], .src = SITE_A, .src_depth = 16, .dst = SITE_B(i),
			.dst_depth = 24, .sport_hi = 65535, .dport_hi = 65535};
		rin[i] = (struct sg_sp_rule){.priority = 1, .action = SG_SP_PROTECT,
			.sa_idx = i + 1, .src = SITE_B(i), .src_depth = 24, .dst = SITE_A,
			.dst_depth = 16, .sport_hi = 65535, .dport_hi = 65535};
	}
	spd_out = sg_spd_create("sgb_out", (int)rte_socket_id(), rout, o->sessions);
	spd_in = sg_spd_create("sgb_in", (int)rte_socket_id(), rin, o->sessions);
	if (spd_out == NULL || spd_in == NULL)
		rte_exit(EXIT_FAILURE, "SPD build failed: %s\n", rte_strerror(rte_errno));
	lc->spd_in = spd_in;
	lc->spd_out = spd_out;
	free(rin);
	free(rout);
}

/* Fill @p mb with frames k0.. of @p f, as a NIC or pcap replay would hand them over. */
static inline void
refill(struct rte_mbuf *mb[], uint16_t n, const struct frames *f, uint32_t k0)
{
	uint16_t i;

	if (rte_pktmbuf_alloc_bulk(pool, mb, n) != 0)
		rte_exit(EXIT_FAILURE, "mbuf pool empty (leak?)\n");
	for (i = 0; i < n; i++) {
		uint32_t k = (k0 + i) % f->n;
		struct rte_mbuf *m = mb[i];

		rte_memcpy(rte_pktmbuf_mtod(m, void *), f->data + (size_t)k * SLOT, f->len[k]);
		m->data_len = f->len[k];
		m->pkt_len = f->len[k];
		m->port = 0;
	}
}

/* The pipeline on @p bursts bursts of frames from @p f. */
static void
run_pipeline(enum dir d, const struct frames *f, const struct opts *o, struct result *r)
{
	struct rte_mbuf *mb[SG_DP_BURST_MAX];
	struct sg_dp_stats before = lc->stats;
	uint64_t t0, t1, t_proc = 0, t_fill = 0, pkts = 0;
	uint32_t b, k = 0;
	unsigned int s;

	for (b = 0; b < o->bursts; b++) {
		t0 = rte_rdtsc();
		refill(mb, o->burst, f, k);
		t1 = rte_rdtsc();
		if (d == DIR_IN)
			sg_dp_process_inbound(lc, mb, o->burst);
		else
			sg_dp_process_outbound(lc, mb, o->burst);
		t_proc += rte_rdtsc() - t1;
		t_fill += t1 - t0;
		k = (k + o->burst) % f->n;
		pkts += o->burst;
	}
	r->total = (double)t_proc / (double)pkts;
	r->refill = (double)t_fill / (double)pkts;
	r->other = r->total;
	for (s = 0; s < SG_STAGE_MAX; s++) {
		r->stage[s] = (double)(lc->stats.stage_cycles[s] - before.stage_cycles[s]) /
				(double)pkts;
		r->other -= r->stage[s];
	}
	r->drops = sg_dp_stats_drops(&lc->stats) - sg_dp_stats_drops(&before);
	r->tx = lc->stats.tx - before.tx;
}

/*
 * The crypto-only bound: the same AEAD lengths in the same order, the same
 * burst size and AAD length, through ipsec-mb's burst job API with NOCHECK
 * submission (as lib/crypto does), on one key and one burst of hot buffers.
 */
static double
run_bound(enum dir d, const struct frames *f, const struct opts *o, IMB_MGR *mgr,
		const struct sg_crypto_key *key, uint8_t *buf)
{
	IMB_JOB *jobs[SG_CRYPTO_BURST_MAX];
	uint8_t nonce[SG_CRYPTO_NONCE_LEN] = {0xca, 0xfe, 0xba, 0xbe, 1};
	uint8_t aad[SG_CRYPTO_AAD_MAX] = {0, 2, 0, 1, 0, 0, 0, 1};
	uint8_t tags[SG_CRYPTO_BURST_MAX][SG_CRYPTO_TAG_LEN];
	uint64_t t0, cyc = 0, ops = 0;
	uint32_t b, k = 0, i, got, done;
	int enc = d == DIR_OUT;

	for (b = 0; b < o->bursts; b++) {
		t0 = rte_rdtsc();
		got = IMB_GET_NEXT_BURST(mgr, o->burst, jobs);
		if (got < o->burst) {
			IMB_FLUSH_BURST(mgr, RTE_DIM(jobs), jobs);
			got = IMB_GET_NEXT_BURST(mgr, o->burst, jobs);
			if (got < o->burst)
				rte_exit(EXIT_FAILURE, "ipsec-mb: no free jobs\n");
		}
		for (i = 0; i < o->burst; i++) {
			IMB_JOB *job = jobs[i];
			uint8_t *data = buf + (size_t)i * SLOT + o->bound_offset;
			uint32_t len = f->crypto_len[(k + i) % f->n];

			job->cipher_mode = IMB_CIPHER_GCM;
			job->hash_alg = IMB_AUTH_AES_GMAC;
			job->cipher_direction = enc ? IMB_DIR_ENCRYPT : IMB_DIR_DECRYPT;
			job->chain_order = enc ? IMB_ORDER_CIPHER_HASH : IMB_ORDER_HASH_CIPHER;
			job->enc_keys = &key->gcm;
			job->dec_keys = &key->gcm;
			job->key_len_in_bytes = IMB_KEY_128_BYTES;
			job->src = data;
			job->dst = data;
			job->cipher_start_src_offset_in_bytes = 0;
			job->msg_len_to_cipher_in_bytes = len;
			job->hash_start_src_offset_in_bytes = 0;
			job->msg_len_to_hash_in_bytes = len;
			job->iv = nonce;
			job->iv_len_in_bytes = SG_CRYPTO_NONCE_LEN;
			job->u.GCM.aad = aad;
			job->u.GCM.aad_len_in_bytes = SG_ESP_AAD_LEN;
			job->auth_tag_output = enc ? data + len : tags[i];
			job->auth_tag_output_len_in_bytes = SG_CRYPTO_TAG_LEN;
		}
		done = IMB_SUBMIT_BURST_NOCHECK(mgr, o->burst, jobs);
		if (done < o->burst)
			done += IMB_FLUSH_BURST(mgr, o->burst - done, jobs + done);
		cyc += rte_rdtsc() - t0;
		for (i = 0; i < done; i++)
			if (jobs[i]->status != IMB_STATUS_COMPLETED)
				rte_exit(EXIT_FAILURE, "ipsec-mb job failed\n");
		ops += done;
		k = (k + o->burst) % f->n;
	}
	sink += tags[0][0];
	return (double)cyc / (double)ops;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
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
		{"csv", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c, sizes_set = 0, dirs_set = 0;

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

/* EAL: the caller's arguments before "--", or defaults on the CPU we are pinned to. */
static int
eal_init(int argc, char **argv, int *used)
{
	static char lcore[32], prefix[64];
	char *def[] = {
		argv[0], "--no-huge", "--no-pci", "-m", "512", "--no-telemetry",
		"--log-level=lib.eal:error", "-l", lcore, prefix, NULL,
	};
	cpu_set_t set;
	int i, cpu = 0, ret;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0)
			break;
	if (i < argc && i > 1) {
		ret = rte_eal_init(i, argv);
		*used = i;
		return ret;
	}
	*used = i < argc ? 1 : 0;
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		while (cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &set))
			cpu++;
	snprintf(lcore, sizeof(lcore), "%d", cpu);
	snprintf(prefix, sizeof(prefix), "--file-prefix=sg_bench_dp_%d", (int)getpid());
	ret = rte_eal_init((int)RTE_DIM(def) - 1, def);
	return ret < 0 ? ret : 0;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static char runtime_dir[PATH_MAX];

/* EAL leaves its runtime directory behind; a benchmark should not, even
 * when it stops through rte_exit(). */
static void
rm_runtime_dir(void)
{
	if (runtime_dir[0] != '\0')
		nftw(runtime_dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static const char *
stage_label(unsigned int s)
{
	return sg_dp_stage_name((enum sg_dp_stage)s);
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
	uint8_t key[16], salt[4] = {1, 2, 3, 4};
	uint8_t *buf;
	IMB_MGR *bmgr;
	unsigned int si, rep, s;
	int used, d;

	if (eal_init(argc, argv, &used) < 0)
		rte_exit(EXIT_FAILURE, "EAL init failed\n");
	snprintf(runtime_dir, sizeof(runtime_dir), "%s", rte_eal_get_runtime_dir());
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
	if (bmgr == NULL || bkey == NULL || buf == NULL ||
			sg_crypto_key_init(bkey, bmgr, SG_AEAD_AES128_GCM, key, 16, salt) != 0)
		rte_exit(EXIT_FAILURE, "ipsec-mb set-up failed\n");
	if (!o.bound_only)
		setup(&o);
	else
		pool = rte_pktmbuf_pool_create("sgb_pool", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				(int)rte_socket_id());

	printf("# sg_bench_dp: ipsec-mb %s (%s), AES-128-GCM, burst %u, %u sessions, %u frames "
	       "per size, %u bursts x %u reps, lcore %u, TSC %.2f GHz\n",
	       imb_get_version_str(), sg_crypto_mgr_arch(bmgr), o.burst, o.sessions, o.packets,
	       o.bursts, o.reps, rte_lcore_id(), (double)rte_get_tsc_hz() / 1e9);
	if (o.csv != NULL) {
		csv = fopen(o.csv, "w");
		if (csv == NULL)
			rte_exit(EXIT_FAILURE, "%s: %s\n", o.csv, strerror(errno));
		fprintf(csv, "rep,dir,size,burst,sessions,bound,total,refill");
		for (s = 0; s < SG_STAGE_MAX; s++)
			fprintf(csv, ",%s", stage_label(s));
		fprintf(csv, ",other,ratio,ratio_with_rx,drops\n");
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
						f.crypto_len[k] = crypto_len_of(frame_size(o.sizes[si], k));
				} else {
					make_frames(&f, o.sizes[si], (enum dir)d, &o);
				}
				/* Warm-up passes: caches, branch predictors, ipsec-mb's lanes. */
				run_bound((enum dir)d, &f, &o, bmgr, bkey, buf);
				r->bound = run_bound((enum dir)d, &f, &o, bmgr, bkey, buf);
				if (!o.bound_only) {
					run_pipeline((enum dir)d, &f, &o, r);
					run_pipeline((enum dir)d, &f, &o, r);
				}
				if (csv != NULL) {
					fprintf(csv, "%u,%s,%s,%u,%u,%.1f,%.1f,%.1f", rep, dir_name[d],
						o.sizes[si], o.burst, o.sessions, r->bound, r->total,
						r->refill);
					for (s = 0; s < SG_STAGE_MAX; s++)
						fprintf(csv, ",%.1f", r->stage[s]);
					fprintf(csv, ",%.1f,%.3f,%.3f,%" PRIu64 "\n", r->other,
						r->total > 0 ? r->bound / r->total : 0,
						r->total > 0 ? r->bound / (r->total + r->refill) : 0,
						r->drops);
				}
				if (o.bound_only)
					free(f.crypto_len);
				else
					free_frames(&f);
			}
		}
	}

	/* Medians over the reps. */
	printf("%-4s %-5s %8s %8s %7s", "dir", "size", "bound", "dp", "dp/bnd");
	if (!o.bound_only) {
		printf(" %7s %7s", "src", "+src");
		for (s = SG_STAGE_PARSE; s < SG_STAGE_MAX; s++)
			printf(" %7.7s", stage_label(s));
		printf(" %7s %6s", "other", "drops");
	}
	printf("   (cycles/packet, medians of %u)\n", o.reps);
	for (d = 0; d < DIR_MAX; d++) {
		for (si = 0; si < o.nsizes && o.dirs[d]; si++) {
			double v[MAX_REPS], bound, total, refill, ratio, ratio_rx, st[SG_STAGE_MAX];
			double other;
			uint64_t drops = 0;

			for (rep = 0; rep < o.reps; rep++)
				v[rep] = res[d][si][rep].bound;
			bound = median(v, o.reps);
			printf("%-4s %-5s %8.1f", dir_name[d], o.sizes[si], bound);
			if (o.bound_only) {
				printf("  (%.2f Mops/s)\n", (double)rte_get_tsc_hz() / bound / 1e6);
				continue;
			}
			for (rep = 0; rep < o.reps; rep++)
				v[rep] = res[d][si][rep].total;
			total = median(v, o.reps);
			for (rep = 0; rep < o.reps; rep++)
				v[rep] = res[d][si][rep].refill;
			refill = median(v, o.reps);
			/* The ratio's median is taken per rep: bound and dp of one rep belong together. */
			for (rep = 0; rep < o.reps; rep++)
				v[rep] = res[d][si][rep].bound / res[d][si][rep].total;
			ratio = median(v, o.reps);
			for (rep = 0; rep < o.reps; rep++)
				v[rep] = res[d][si][rep].bound /
						(res[d][si][rep].total + res[d][si][rep].refill);
			ratio_rx = median(v, o.reps);
			for (s = 0; s < SG_STAGE_MAX; s++) {
				for (rep = 0; rep < o.reps; rep++)
					v[rep] = res[d][si][rep].stage[s];
				st[s] = median(v, o.reps);
			}
			for (rep = 0; rep < o.reps; rep++) {
				v[rep] = res[d][si][rep].other;
				drops += res[d][si][rep].drops;
			}
			other = median(v, o.reps);
			printf(" %8.1f %6.0f%% %7.1f %6.0f%%", total, 100 * ratio, refill,
			       100 * ratio_rx);
			for (s = SG_STAGE_PARSE; s < SG_STAGE_MAX; s++)
				printf(" %7.1f", st[s]);
			printf(" %7.1f %6" PRIu64 "\n", other, drops);
		}
	}
	printf("# bound: ipsec-mb alone (burst job API, NOCHECK), same lengths/burst/AAD, one key,"
	       " hot buffers\n# dp: sg_dp_process_in/outbound per packet, tx into net_null; src:"
	       " mbuf alloc + copy of the frame (not in dp); dp/bnd = bound/dp, +src = bound/(dp+src)\n");
	if (csv != NULL)
		fclose(csv);
	rte_free(buf);
	rte_free(bkey);
	sg_crypto_mgr_free(bmgr);
	rte_eal_cleanup();
	return 0;
}
