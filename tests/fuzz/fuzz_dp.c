/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer targets for the two burst pipelines, built from this file
 * twice: FUZZ_INBOUND (fuzz_inbound) and FUZZ_OUTBOUND (fuzz_outbound).
 *
 * One worker with five SA pairs (inbound and its outbound twin, same SPI
 * and keys): AES-128-GCM; AES-128-CBC with HMAC-SHA-256; AES-128-GMAC with
 * ESN; ChaCha20-Poly1305 in UDP (RFC 3948); AES-256-GCM in transport mode.
 * Policies protect 10.2.K.0/24 with SA K both ways, bypass 10.9.0.0/16 and
 * discard 10.8.0.0/16. There are no routes, so whatever survives the
 * pipeline is dropped as no_route: every frame ends as a counted drop.
 *
 * fuzz_inbound gets past the ICV: an input is [sa][how][seq:4][outer:20]
 * [plaintext...]. The plaintext (payload, padding, pad length and next
 * header as the fuzzer wrote them) is sealed with SA sa's real key, behind
 * the outer IPv4 header (the fuzzer's bytes where 'how' says so, else a
 * right one), and 'how' may flip one byte after sealing. fuzz_outbound
 * takes the input as one Ethernet frame (or, past 1 KiB, a burst of them).
 *
 * After each input: every frame counted once (rx == drops), every mbuf
 * back in the pool, and the SA tables unchanged in size.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include "sg_crypto.h"
#include "sg_dp.h"
#include "sg_pkt.h"
#include "sg_sa.h"
#include "sg_shard.h"
#include "sg_spd.h"
#include "dp_priv.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TUN_PEER SG_IPV4(172, 16, 0, 1)
#define TUN_GW SG_IPV4(172, 16, 0, 2)
#define NSA 5
#define SPI0 0x100
#define NATT 4500

static struct rte_mempool *pool;
static struct sg_dp_ctx *ctx;
static struct sg_shard *shard;
static struct sg_shard_dir *sdir;
static struct sg_dp_lcore *lc;
static IMB_MGR *mgr;
static uint32_t in_idx[NSA], out_idx[NSA];
static uint32_t nb_sa;
static int show; /* SG_FUZZ_SHOW=1: print what became of each input */

static const struct {
	enum sg_cipher c;
	enum sg_auth a;
	bool esn, udp;
	enum sg_sa_mode mode;
} xf[NSA] = {
	{SG_AEAD_AES128_GCM, SG_AUTH_AEAD, false, false, SG_SA_TUNNEL4},
	{SG_CIPHER_AES128_CBC, SG_AUTH_SHA256_128, false, false, SG_SA_TUNNEL4},
	{SG_AEAD_AES128_GMAC, SG_AUTH_AEAD, true, false, SG_SA_TUNNEL4},
	{SG_AEAD_CHACHA20_POLY1305, SG_AUTH_AEAD, false, true, SG_SA_TUNNEL4},
	{SG_AEAD_AES256_GCM, SG_AUTH_AEAD, false, false, SG_SA_TRANSPORT4},
};

static void
die(const char *what)
{
	fprintf(stderr, "fuzz_dp: %s\n", what);
	abort();
}

static uint32_t
add(unsigned int k, enum sg_sa_dir dir)
{
	struct sg_sa_prm p;
	unsigned int i;
	int idx;

	memset(&p, 0, sizeof(p));
	p.spi = SPI0 + k;
	p.dir = dir;
	p.mode = xf[k].mode;
	p.cipher = xf[k].c;
	p.key_len = (uint8_t)sg_crypto_key_len(xf[k].c);
	for (i = 0; i < p.key_len; i++)
		p.key[i] = (uint8_t)(k * 31 + i);
	if (sg_crypto_has_salt(xf[k].c))
		memcpy(p.salt, "salt", 4);
	p.auth = xf[k].a;
	p.auth_key_len = (uint8_t)sg_crypto_auth_key_len(xf[k].a);
	for (i = 0; i < p.auth_key_len; i++)
		p.auth_key[i] = (uint8_t)(k * 17 + i);
	if (xf[k].mode == SG_SA_TUNNEL4) {
		p.tun_src = dir == SG_SA_IN ? TUN_PEER : TUN_GW;
		p.tun_dst = dir == SG_SA_IN ? TUN_GW : TUN_PEER;
	}
	p.replay_win = dir == SG_SA_IN ? 64 : 0;
	p.esn = xf[k].esn;
	p.udp_encap = xf[k].udp;
	p.udp_sport = p.udp_dport = xf[k].udp ? NATT : 0;
	idx = sg_sa_table_add(shard->sat, &p, mgr, (uint16_t)rte_lcore_id(), 0);
	sg_sa_prm_wipe(&p);
	if (idx < 0)
		die("SA add failed");
	return (uint32_t)idx;
}

static struct sg_spd *
spd(const char *name, int in)
{
	struct sg_sp_rule r[NSA + 2];
	unsigned int k;

	memset(r, 0, sizeof(r));
	for (k = 0; k < NSA + 2; k++) {
		r[k].priority = 10;
		r[k].sport_hi = r[k].dport_hi = UINT16_MAX;
		r[k].dst_depth = k < NSA ? 24 : 16;
	}
	for (k = 0; k < NSA; k++) {
		r[k].action = SG_SP_PROTECT;
		r[k].dst = SG_IPV4(10, 2, k, 0);
		r[k].sa_idx = in ? k + 1 : sg_shard_gidx(0, out_idx[k]);
	}
	r[NSA].action = SG_SP_BYPASS;
	r[NSA].dst = SG_IPV4(10, 9, 0, 0);
	r[NSA + 1].action = SG_SP_DISCARD;
	r[NSA + 1].dst = SG_IPV4(10, 8, 0, 0);
	return sg_spd_create_flags(name, 0, r, NSA + 2, in ? SG_SPD_F_SA_CHECK : 0);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char prefix[64];
	char *eal[] = {"fuzz_dp", "--no-huge", "--no-pci", "-m", "256", "--no-telemetry",
		"--log-level=*:error", "-l", "0", prefix, NULL};
	unsigned int k;

	(void)argc;
	(void)argv;
	snprintf(prefix, sizeof(prefix), "--file-prefix=sgfuzz_%d", (int)getpid());
	if (rte_eal_init((int)RTE_DIM(eal) - 1, eal) < 0)
		die("EAL init failed");
	pool = rte_pktmbuf_pool_create("fuzz_dp", 512, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	ctx = sg_dp_ctx_create(0, 16);
	shard = sg_shard_create(0, 64, 0);
	sdir = sg_shard_dir_create("fuzz_dir", 64, 0);
	mgr = sg_crypto_mgr_create(0);
	lc = rte_zmalloc("fuzz_lcore", sizeof(*lc), RTE_CACHE_LINE_SIZE);
	if (pool == NULL || ctx == NULL || shard == NULL || sdir == NULL || mgr == NULL ||
			lc == NULL || sg_dp_lcore_init(lc, ctx, (uint16_t)rte_lcore_id(), 0) != 0)
		die("set-up failed");
	lc->shard = shard;
	ctx->dir = sdir;
	ctx->nb_workers = 1;
	for (k = 0; k < NSA; k++) {
		in_idx[k] = add(k, SG_SA_IN);
		out_idx[k] = add(k, SG_SA_OUT);
		sg_sa_table_get(shard->sat, in_idx[k])->pol_tag = k + 1;
		if (sg_shard_dir_add(sdir, SPI0 + k, 0) != 0)
			die("directory add failed");
	}
	if (sg_dp_udp_ep_add(ctx, rte_cpu_to_be_32(TUN_GW), rte_cpu_to_be_16(NATT)) != 0)
		die("UDP endpoint add failed");
	lc->spd_in = spd("fuzz_spd_in", 1);
	lc->spd_out = spd("fuzz_spd_out", 0);
	if (lc->spd_in == NULL || lc->spd_out == NULL)
		die("SPD build failed");
	nb_sa = sg_sa_table_count(shard->sat);
	show = getenv("SG_FUZZ_SHOW") != NULL;
	/* lib/dp's own frees, the pool and EAL go with the process */
	return 0;
}

/* After each input: nothing left in flight or unaccounted, the tables whole. */
static void
check(uint64_t frames)
{
	uint64_t got;

	/* fragments still waiting for the rest time out now, counted */
	dp_reasm_expire(lc, rte_rdtsc() + 100 * rte_get_tsc_hz());
	got = sg_dp_stats_drops(&lc->stats) + lc->stats.frag_merged + lc->stats.frag_held;
	if (got + lc->stats.tx != frames + lc->stats.tx_made) {
		fprintf(stderr, "frames %lu, drops+merged+held %lu, tx %lu, made %lu\n",
			(unsigned long)frames, (unsigned long)got, (unsigned long)lc->stats.tx,
			(unsigned long)lc->stats.tx_made);
		die("a frame went uncounted");
	}
	if (rte_mempool_in_use_count(pool) != 0)
		die("an mbuf leaked");
	if (sg_sa_table_count(shard->sat) != nb_sa)
		die("the SA table changed size");
	if (show) {
		unsigned int r;

		fprintf(stderr, "frames %lu inbound %lu outbound %lu:", (unsigned long)frames,
			(unsigned long)lc->stats.inbound, (unsigned long)lc->stats.outbound);
		for (r = 0; r < SG_DROP_MAX; r++)
			if (lc->stats.drops[r] != 0)
				fprintf(stderr, " %s %lu", sg_drop_name((enum sg_drop)r),
					(unsigned long)lc->stats.drops[r]);
		fprintf(stderr, "\n");
	}
	memset(&lc->stats, 0, sizeof(lc->stats));
}

static struct rte_mbuf *
mbuf_of(const uint8_t *b, size_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	char *p;

	if (m == NULL)
		die("pool empty");
	p = rte_pktmbuf_append(m, (uint16_t)len);
	if (p == NULL)
		die("frame too long for an mbuf");
	memcpy(p, b, len);
	return m;
}

#ifdef FUZZ_INBOUND
/* Seal @p pt (payload and trailer as given) for inbound SA k into @p f (an
 * Ethernet frame); returns its length, 0 when it does not fit. */
static size_t
seal(unsigned int k, uint8_t how, uint32_t seq, const uint8_t *outer, const uint8_t *pt,
		size_t len, uint8_t *f, size_t room)
{
	struct sg_sa *in = sg_sa_table_get(shard->sat, in_idx[k]);
	const struct sg_crypto_xform *x = &sg_crypto_xforms[in->xform];
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)f;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	uint16_t udp = xf[k].udp ? sizeof(struct rte_udp_hdr) : 0;
	uint8_t *esp = (uint8_t *)(ip + 1) + udp;
	struct sg_crypto_op op;
	uint64_t iv = rte_cpu_to_be_64(seq);
	uint32_t spi = rte_cpu_to_be_32(SPI0 + k), seq_be = rte_cpu_to_be_32(seq), hi = 0;
	size_t tot;

	len &= ~(size_t)x->in_mask; /* CBC: whole blocks, else ipsec-mb is told lies */
	tot = sizeof(*eth) + sizeof(*ip) + udp + 8 + x->iv_len + len + x->icv_len;
	if (tot > room || len < SG_ESP_TRAILER_LEN)
		return 0;
	memset(eth, 0, sizeof(*eth));
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	if (how & 1) {
		memcpy(ip, outer, sizeof(*ip)); /* the fuzzer's own outer header */
	} else {
		uint32_t src = xf[k].mode == SG_SA_TUNNEL4 ? TUN_PEER : SG_IPV4(10, 1, 0, 9);
		uint32_t dst = xf[k].mode == SG_SA_TUNNEL4 ? TUN_GW : SG_IPV4(10, 2, k, 9);

		sg_ipv4_hdr_write(ip, 0, rte_cpu_to_be_16((uint16_t)(tot - sizeof(*eth))), 0, 0,
				64, udp ? SG_IPPROTO_UDP : SG_IPPROTO_ESP, rte_cpu_to_be_32(src),
				rte_cpu_to_be_32(dst));
	}
	if (udp) {
		struct rte_udp_hdr *u = (struct rte_udp_hdr *)(ip + 1);

		u->src_port = u->dst_port = rte_cpu_to_be_16(NATT);
		u->dgram_len = rte_cpu_to_be_16((uint16_t)(udp + 8 + x->iv_len + len + x->icv_len));
		u->dgram_cksum = 0;
	}
	memcpy(esp, &spi, 4);
	memcpy(esp + 4, &seq_be, 4);
	memset(esp + 8, 0, x->iv_len);
	memcpy(esp + 8, &iv, 8);
	memcpy(esp + 8 + x->iv_len, pt, len);
	memset(&op, 0, sizeof(op));
	op.key = in->key;
	op.data = esp + 8 + x->iv_len;
	op.len = (uint32_t)len;
	op.icv = op.data + len;
	memcpy(op.aad, &spi, 4);
	memcpy(op.aad + 4, xf[k].esn ? &hi : &seq_be, 4);
	memcpy(op.aad + 8, &seq_be, 4);
	op.aad_len = xf[k].esn ? 12 : 8;
	memcpy(op.nonce, in->key->salt, 4);
	memcpy(op.nonce + 4, &iv, 8);
	/* AES-CBC decrypt-side layout: the IV on the wire is taken as is, and
	 * the outbound construction would encrypt the IV field too; sealing
	 * with the inbound key, as a peer would, is what matters here */
	if (sg_crypto_encrypt_burst(mgr, &op, 1) != 1)
		die("sealing failed");
	if (how & 2)
		f[sizeof(*eth) + (how >> 2) % (tot - sizeof(*eth))] ^= (uint8_t)(1u << (seq % 8));
	return tot;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t f[2048];
	struct rte_mbuf *m;
	struct sg_sa *sa;
	unsigned int k;
	uint32_t seq;
	size_t len;

	if (size < 26)
		return -1;
	k = data[0] % NSA;
	memcpy(&seq, data + 2, 4);
	len = seal(k, data[1], seq, data + 6, data + 26, RTE_MIN(size - 26, (size_t)1500), f,
			sizeof(f));
	if (len == 0)
		return -1;
	/* a fresh window each time: inputs stay independent of one another */
	sa = sg_sa_table_get(shard->sat, in_idx[k]);
	if (sa->replay != NULL)
		sg_replay_init(sa->replay, sa->replay->win);
	m = mbuf_of(f, len);
	sg_dp_process_inbound(lc, &m, 1);
	check(1);
	return 0;
}
#endif

#ifdef FUZZ_OUTBOUND
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rte_mbuf *mb[SG_DP_BURST_MAX];
	uint16_t n = 0;
	size_t at = 0;

	if (size < 14 || size > 16384)
		return -1;
	/* up to 1 KiB: one frame; beyond, 2-byte lengths cut it into a burst */
	if (size <= 1024) {
		mb[n++] = mbuf_of(data, size);
	} else {
		while (at + 2 < size && n < SG_DP_BURST_MAX) {
			size_t len = RTE_MIN((size_t)(data[at] | data[at + 1] << 8) % 1600,
					size - at - 2);

			at += 2;
			mb[n++] = mbuf_of(data + at, len);
			at += len;
		}
	}
	sg_dp_process_outbound(lc, mb, n);
	check(n);
	return 0;
}
#endif
