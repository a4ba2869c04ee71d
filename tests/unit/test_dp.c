/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Data-path unit suite: ESP known answers (vectors made once with Scapy's
 * independent ESP code, see comments), encap/decap round trips over many
 * sizes, and every per-packet drop of the ESP stages, with the mbuf pool
 * checked for leaks after each test.
 */
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "sg_crypto.h"
#include "sg_dp.h"
#include "sg_pkt.h"
#include "sg_sa.h"
#include "sg_shard.h"
#include "sg_spd.h"
#include "dp_priv.h"
#include "sg_test.h"
#include "test_dp.h"
#include "dp_fixture.h"


struct rte_mempool *pool;
static struct sg_dp_ctx *ctx;
static struct sg_shard *shard;
static struct sg_shard_dir *sdir;
static struct sg_sa_table *sat;
struct sg_dp_lcore *lc;
static IMB_MGR *mgr;

/*
 * Scapy 2.5 SecurityAssociation(ESP, spi=0x1234, crypt_algo='AES-GCM',
 * crypt_key=key+salt, tunnel_header=IP(src=172.16.0.1, dst=172.16.0.2)),
 * encrypt(inner, seq_num=1, iv=(1).to_bytes(8, 'big')). Key 0x10..0x1f,
 * salt cafebabe. Inner: 10.1.0.2 > 10.2.0.2 UDP 1000 > 2000, 19-byte payload
 * (pad length 3).
 */
const uint8_t kat128_key[16] = {0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,
	0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f};
const uint8_t kat128_salt[4] = {0xca, 0xfe, 0xba, 0xbe};
const uint8_t kat128_inner[KAT128_INNER_LEN] = {0x45, 0x00, 0x00, 0x2f, 0x00, 0x01, 0x00, 0x00, 0x40,
	0x11, 0x66, 0xb7, 0x0a, 0x01, 0x00, 0x02, 0x0a, 0x02, 0x00, 0x02, 0x03, 0xe8, 0x07, 0xd0,
	0x00, 0x1b, 0xc2, 0xad, 0x73, 0x68, 0x61, 0x72, 0x64, 0x67, 0x61, 0x74, 0x65, 0x20, 0x6b,
	0x6e, 0x6f, 0x77, 0x6e, 0x20, 0x61, 0x6e, 0x73};
const uint8_t kat128_esp[KAT128_ESP_LEN] = {0x00, 0x00, 0x12, 0x34, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x2e, 0x8e, 0x62, 0xc4, 0xac, 0x22, 0xa9, 0x7f, 0xd1,
	0x9e, 0x0e, 0x4c, 0x26, 0x7d, 0x7a, 0x62, 0xc3, 0xa3, 0xa4, 0xf0, 0xc5, 0xd2, 0x0b, 0x4c,
	0x66, 0x05, 0xe3, 0xb6, 0x34, 0xe9, 0xd2, 0x75, 0x4b, 0x0d, 0xbf, 0x09, 0x82, 0x24, 0x3f,
	0x9e, 0xc2, 0x12, 0xe9, 0x99, 0x62, 0xbe, 0xde, 0x8b, 0x7e, 0x1b, 0x9d, 0x3a, 0x25, 0x22,
	0x67, 0xbd, 0xdd, 0x06, 0x9f, 0x39, 0x5b, 0x1f, 0xe7, 0xc8, 0xdf, 0x30, 0xb5, 0x9e};

/*
 * Same, AES-256-GCM with ESN (esn_en=True): key 0x40..0x5f, salt deadbeef,
 * sequence number 5 << 32 | 7 (high half 5 in the AAD, RFC 4106 §5), IV = seq.
 */
static const uint8_t kat256_key[32] = {0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
	0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f, 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57,
	0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f};
static const uint8_t kat256_salt[4] = {0xde, 0xad, 0xbe, 0xef};
static const uint8_t kat256_inner[] = {0x45, 0x00, 0x00, 0x27, 0x00, 0x01, 0x00, 0x00, 0x40,
	0x11, 0x66, 0xbf, 0x0a, 0x01, 0x00, 0x02, 0x0a, 0x02, 0x00, 0x02, 0x03, 0xe8, 0x07, 0xd0,
	0x00, 0x13, 0xa2, 0x29, 0x65, 0x73, 0x6e, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x21};
static const uint8_t kat256_esp[] = {0x00, 0x00, 0x12, 0x34, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00,
	0x00, 0x05, 0x00, 0x00, 0x00, 0x07, 0xf6, 0xb0, 0xdc, 0x70, 0x11, 0xbb, 0x58, 0x90, 0x9b,
	0x17, 0xa2, 0xa8, 0x7b, 0xf9, 0xd1, 0xce, 0xc9, 0x37, 0x28, 0xf9, 0xd9, 0xc6, 0x88, 0xdc,
	0x49, 0x3c, 0xc4, 0xf2, 0x25, 0x7d, 0xd0, 0xc3, 0xca, 0xaf, 0x8d, 0xa9, 0x49, 0xbd, 0x4d,
	0x07, 0x89, 0x8e, 0x8b, 0x20, 0xc2, 0xde, 0x51, 0xaa, 0x47, 0x4b, 0x75, 0x8a, 0xb6, 0x45,
	0xde, 0x69, 0xb5, 0x01, 0xe7, 0xc7};
#define KAT256_SEQ ((UINT64_C(5) << 32) | 7)

/* ESP in UDP ports for add_sa() (RFC 3948); 0: plain ESP. */
static uint16_t udp_sport, udp_dport;
/* add_sa_auth()'s HMAC key. */
static const uint8_t hmac_key[SG_CRYPTO_AUTH_KEY_MAX] = {0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10};

uint32_t
add_sa(enum sg_sa_dir dir, uint32_t spi, enum sg_cipher aead, const uint8_t *key,
		const uint8_t *salt, bool esn, uint32_t win)
{
	return add_sa_auth(dir, spi, aead, SG_AUTH_AEAD, key, salt, esn, win);
}

uint32_t
add_sa_auth(enum sg_sa_dir dir, uint32_t spi, enum sg_cipher aead, enum sg_auth auth,
		const uint8_t *key, const uint8_t *salt, bool esn, uint32_t win)
{
	struct sg_sa_prm p;
	int idx;

	memset(&p, 0, sizeof(p));
	p.spi = spi;
	p.dir = dir;
	p.mode = SG_SA_TUNNEL4;
	p.cipher = aead;
	p.key_len = (uint8_t)sg_crypto_key_len(aead);
	memcpy(p.key, key, p.key_len);
	if (sg_crypto_has_salt(aead))
		memcpy(p.salt, salt, 4);
	p.auth = auth;
	p.auth_key_len = (uint8_t)sg_crypto_auth_key_len(p.auth);
	memcpy(p.auth_key, hmac_key, p.auth_key_len);
	p.tun_src = TUN_A;
	p.tun_dst = TUN_B;
	p.replay_win = win;
	p.esn = esn;
	p.udp_encap = udp_sport != 0;
	p.udp_sport = udp_sport;
	p.udp_dport = udp_dport;
	idx = sg_sa_table_add(sat, &p, mgr, (uint16_t)rte_lcore_id(), 0);
	CU_ASSERT_FATAL(idx >= 0);
	return (uint32_t)idx;
}


/* An mbuf holding @p len bytes of @p data at its start (data at an IP header). */
static struct rte_mbuf *
mbuf_with(const uint8_t *data, uint16_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint8_t *p;

	CU_ASSERT_FATAL(m != NULL);
	p = (uint8_t *)rte_pktmbuf_append(m, len);
	CU_ASSERT_FATAL(p != NULL);
	memcpy(p, data, len);
	m->l2_len = 0;
	m->l3_len = sizeof(struct rte_ipv4_hdr);
	return m;
}

/* Outer IPv4 A -> B around an ESP body, as a peer would send it. */
static struct rte_mbuf *
esp_packet(const uint8_t *esp, uint16_t len, uint32_t src)
{
	uint8_t buf[2048];
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)buf;

	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + len));
	ip->time_to_live = 64;
	ip->next_proto_id = SG_IPPROTO_ESP;
	ip->src_addr = rte_cpu_to_be_32(src);
	ip->dst_addr = rte_cpu_to_be_32(TUN_B);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	memcpy(buf + sizeof(*ip), esp, len);
	return mbuf_with(buf, (uint16_t)(sizeof(*ip) + len));
}

void
reset_all(void)
{
	uint32_t i;

	for (i = 0; i < sg_sa_table_capacity(sat); i++)
		if (sg_sa_table_get(sat, i) != NULL)
			sg_sa_table_del(sat, i);
	memset(&lc->stats, 0, sizeof(lc->stats));
}

void
check_no_leak(void)
{
	CU_ASSERT_EQUAL(rte_mempool_in_use_count(pool), 0);
}

/* Encrypt one packet with SA @p idx; returns the good count. */
static uint16_t
encap(struct rte_mbuf **m, uint32_t idx)
{
	uint32_t sa_idx = idx;
	uint16_t nbad, k;

	k = dp_esp_outbound(lc, m, &sa_idx, 1, &nbad, 0);
	CU_ASSERT_EQUAL(k + nbad, 1);
	return k;
}

static uint16_t
decap(struct rte_mbuf **m)
{
	uint32_t sa_idx;
	uint16_t nbad, k;

	k = dp_esp_inbound(lc, m, 1, &sa_idx, &nbad, 0);
	CU_ASSERT_EQUAL(k + nbad, 1);
	return k;
}

static void
test_kat_outbound(void)
{
	struct rte_mbuf *m;
	const struct rte_ipv4_hdr *ip;
	struct sg_sa *sa;
	uint32_t idx;

	reset_all();
	idx = add_sa(SG_SA_OUT, 0x1234, SG_AEAD_AES128_GCM, kat128_key, kat128_salt, false, 0);
	m = mbuf_with(kat128_inner, sizeof(kat128_inner));
	CU_ASSERT_EQUAL_FATAL(encap(&m, idx), 1);
	ip = rte_pktmbuf_mtod(m, const struct rte_ipv4_hdr *);
	CU_ASSERT_EQUAL(m->pkt_len, sizeof(*ip) + sizeof(kat128_esp));
	CU_ASSERT_EQUAL(ip->version_ihl, RTE_IPV4_VHL_DEF);
	CU_ASSERT_EQUAL(rte_be_to_cpu_16(ip->total_length), m->pkt_len);
	CU_ASSERT_EQUAL(ip->next_proto_id, SG_IPPROTO_ESP);
	CU_ASSERT_EQUAL(ip->time_to_live, SG_OUTER_TTL);
	CU_ASSERT_EQUAL(ip->src_addr, rte_cpu_to_be_32(TUN_A));
	CU_ASSERT_EQUAL(ip->dst_addr, rte_cpu_to_be_32(TUN_B));
	CU_ASSERT_EQUAL(rte_ipv4_cksum(ip), 0); /* summing a valid header gives 0 */
	CU_ASSERT_EQUAL(memcmp((const uint8_t *)(ip + 1), kat128_esp, sizeof(kat128_esp)), 0);
	sa = sg_sa_table_get(sat, idx);
	CU_ASSERT_EQUAL(sa->seq, 1);
	CU_ASSERT_EQUAL(sa->packets, 1);
	CU_ASSERT_EQUAL(sa->bytes, sizeof(kat128_inner));
	rte_pktmbuf_free(m);
	check_no_leak();
}

static void
test_kat_outbound_esn(void)
{
	struct rte_mbuf *m;
	struct sg_sa *sa;
	uint32_t idx;

	reset_all();
	idx = add_sa(SG_SA_OUT, 0x1234, SG_AEAD_AES256_GCM, kat256_key, kat256_salt, true, 0);
	sa = sg_sa_table_get(sat, idx);
	sa->seq = KAT256_SEQ - 1;
	m = mbuf_with(kat256_inner, sizeof(kat256_inner));
	CU_ASSERT_EQUAL_FATAL(encap(&m, idx), 1);
	CU_ASSERT_EQUAL(m->pkt_len, sizeof(struct rte_ipv4_hdr) + sizeof(kat256_esp));
	CU_ASSERT_EQUAL(memcmp(rte_pktmbuf_mtod_offset(m, uint8_t *, sizeof(struct rte_ipv4_hdr)),
				kat256_esp, sizeof(kat256_esp)), 0);
	rte_pktmbuf_free(m);
	check_no_leak();
}

static void
test_kat_inbound(void)
{
	struct rte_mbuf *m;
	struct sg_sa *sa;
	uint32_t idx;

	reset_all();
	idx = add_sa(SG_SA_IN, 0x1234, SG_AEAD_AES128_GCM, kat128_key, kat128_salt, false, 64);
	m = esp_packet(kat128_esp, sizeof(kat128_esp), TUN_A);
	CU_ASSERT_EQUAL_FATAL(decap(&m), 1);
	CU_ASSERT_EQUAL(m->pkt_len, sizeof(kat128_inner));
	CU_ASSERT_EQUAL(memcmp(rte_pktmbuf_mtod(m, uint8_t *), kat128_inner,
				sizeof(kat128_inner)), 0);
	sa = sg_sa_table_get(sat, idx);
	CU_ASSERT_EQUAL(sa->packets, 1);
	CU_ASSERT_EQUAL(sa->replay->top, 1);
	rte_pktmbuf_free(m);
	check_no_leak();
}

static void
test_kat_inbound_esn(void)
{
	struct rte_mbuf *m;
	struct sg_sa *sa;
	uint32_t idx;

	reset_all();
	idx = add_sa(SG_SA_IN, 0x1234, SG_AEAD_AES256_GCM, kat256_key, kat256_salt, true, 128);
	sa = sg_sa_table_get(sat, idx);

	/* A window still in subspace 0 infers the wrong high half: ICV fails. */
	m = esp_packet(kat256_esp, sizeof(kat256_esp), TUN_A);
	CU_ASSERT_EQUAL(decap(&m), 0);
	CU_ASSERT_EQUAL(lc->stats.drops[SG_DROP_AUTH], 1);
	CU_ASSERT_EQUAL(sa->auth_fail, 1);
	CU_ASSERT_EQUAL(sa->replay->top, 0); /* the window did not move */
	rte_pktmbuf_free(m);

	/* Having seen 5 << 32 | 2, the receiver infers high half 5 (Appendix A2.2). */
	sa->replay->top = (UINT64_C(5) << 32) | 2;
	m = esp_packet(kat256_esp, sizeof(kat256_esp), TUN_A);
	CU_ASSERT_EQUAL_FATAL(decap(&m), 1);
	CU_ASSERT_EQUAL(memcmp(rte_pktmbuf_mtod(m, uint8_t *), kat256_inner,
				sizeof(kat256_inner)), 0);
	CU_ASSERT_EQUAL(sa->replay->top, KAT256_SEQ);
	rte_pktmbuf_free(m);
	check_no_leak();
}

/* Every size from 0 to 1400 bytes of payload, both AEADs: out then in. */
/* An inner IPv4 packet of @p len payload bytes, each a function of @p mark. */
static uint16_t
inner_packet(uint8_t *buf, unsigned int len, unsigned int mark)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)buf;
	uint16_t tot = (uint16_t)(sizeof(*ip) + len);
	unsigned int i;

	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16(tot);
	ip->time_to_live = 9;
	ip->next_proto_id = 253; /* experimental (RFC 3692) */
	ip->src_addr = rte_cpu_to_be_32(SG_IPV4(10, 1, 0, 2));
	ip->dst_addr = rte_cpu_to_be_32(SG_IPV4(10, 2, 0, 2));
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	for (i = 0; i < len; i++)
		buf[sizeof(*ip) + i] = (uint8_t)(i * 7 + mark);
	return tot;
}

/*
 * Every kind of transform, out and back in, for inner packets of 20 to
 * 1420 bytes: the ESP payload ends aligned to the cipher's block (4 bytes
 * for the AEADs and GMAC, 16 for AES-CBC: RFC 4303 §2.4, RFC 3602 §2.4),
 * and the packet decrypts to itself.
 */
static void
test_round_trip(void)
{
	static const struct {
		enum sg_cipher c;
		enum sg_auth a;
		bool esn;
	} xf[] = {
		{SG_AEAD_AES128_GCM, SG_AUTH_AEAD, false},
		{SG_AEAD_AES256_GCM, SG_AUTH_AEAD, true},
		{SG_CIPHER_AES128_CBC, SG_AUTH_SHA1_96, false},
		{SG_CIPHER_AES256_CBC, SG_AUTH_SHA512_256, true},
		{SG_CIPHER_AES192_CBC, SG_AUTH_SHA384_192, false},
		{SG_AEAD_AES128_GMAC, SG_AUTH_AEAD, true},
	};
	uint8_t buf[1500];
	unsigned int len, alg;

	for (alg = 0; alg < RTE_DIM(xf); alg++) {
		const struct sg_crypto_xform *x =
				&sg_crypto_xforms[sg_crypto_xform_id(xf[alg].c, xf[alg].a)];
		uint32_t out;

		reset_all();
		out = add_sa_auth(SG_SA_OUT, 77, xf[alg].c, xf[alg].a, kat256_key, kat256_salt,
				xf[alg].esn, 0);
		add_sa_auth(SG_SA_IN, 77, xf[alg].c, xf[alg].a, kat256_key, kat256_salt,
				xf[alg].esn, 1024);
		for (len = 0; len <= 1400; len += (len < 64 ? 1 : 37)) {
			uint16_t tot = inner_packet(buf, len, len);
			struct rte_mbuf *m = mbuf_with(buf, tot);
			uint32_t payload;

			CU_ASSERT_EQUAL_FATAL(encap(&m, out), 1);
			payload = m->pkt_len - sizeof(struct rte_ipv4_hdr) - x->overhead;
			CU_ASSERT_EQUAL(payload & x->pad_mask, 0);
			/* the smallest padding that aligns it */
			CU_ASSERT(payload - tot - SG_ESP_TRAILER_LEN <= x->pad_mask);
			CU_ASSERT_EQUAL_FATAL(decap(&m), 1);
			CU_ASSERT_EQUAL(m->pkt_len, tot);
			CU_ASSERT_EQUAL(memcmp(rte_pktmbuf_mtod(m, uint8_t *), buf, tot), 0);
			rte_pktmbuf_free(m);
		}
		CU_ASSERT_EQUAL(sg_dp_stats_drops(&lc->stats), 0);
	}
	check_no_leak();
}

/*
 * One burst over SAs with and without ESN, interleaved (lib/crypto submits
 * the 8- and 12-byte AADs in groups): each packet gets its own SA's SPI
 * and next sequence number, in order, and decrypts back to itself in one
 * inbound burst.
 */
static void
test_mixed_esn_burst(void)
{
	enum { N = 24, NSA = 4 };
	uint8_t want[N][128];
	struct rte_mbuf *m[N];
	uint32_t out[NSA], sa_idx[N];
	uint16_t len[N], i, k, nbad;

	reset_all();
	for (i = 0; i < NSA; i++) {
		out[i] = add_sa(SG_SA_OUT, 300 + i, SG_AEAD_AES128_GCM, kat128_key, kat128_salt,
				i % 2 == 1, 0);
		add_sa(SG_SA_IN, 300 + i, SG_AEAD_AES128_GCM, kat128_key, kat128_salt, i % 2 == 1,
				64);
	}
	for (i = 0; i < N; i++) {
		len[i] = inner_packet(want[i], 20u + i * 3u, i);
		m[i] = mbuf_with(want[i], len[i]);
		sa_idx[i] = out[i % NSA];
	}
	k = dp_esp_outbound(lc, m, sa_idx, N, &nbad, 0);
	CU_ASSERT_EQUAL_FATAL(k, N);
	for (i = 0; i < N; i++) {
		const struct rte_esp_hdr *esp = rte_pktmbuf_mtod_offset(m[i],
				const struct rte_esp_hdr *, sizeof(struct rte_ipv4_hdr));

		CU_ASSERT_EQUAL(rte_be_to_cpu_32(esp->spi), 300u + i % NSA);
		CU_ASSERT_EQUAL(rte_be_to_cpu_32(esp->seq), 1u + i / NSA);
	}
	k = dp_esp_inbound(lc, m, N, sa_idx, &nbad, 0);
	CU_ASSERT_EQUAL_FATAL(k, N);
	for (i = 0; i < N; i++) {
		CU_ASSERT_EQUAL(m[i]->pkt_len, len[i]);
		CU_ASSERT(memcmp(rte_pktmbuf_mtod(m[i], uint8_t *), want[i], len[i]) == 0);
	}
	rte_pktmbuf_free_bulk(m, N);
	CU_ASSERT_EQUAL(sg_dp_stats_drops(&lc->stats), 0);
	check_no_leak();
}

/* RFC 4303 §3.3.3: the last number is used, the next packet is refused. */
static void
test_seq_overflow(void)
{
	struct rte_mbuf *m;
	struct sg_sa *sa;
	uint32_t idx;

	reset_all();
	idx = add_sa(SG_SA_OUT, 5, SG_AEAD_AES128_GCM, kat128_key, kat128_salt, false, 0);
	sa = sg_sa_table_get(sat, idx);
	sa->seq = UINT32_MAX - 1;
	m = mbuf_with(kat128_inner, sizeof(kat128_inner));
	CU_ASSERT_EQUAL(encap(&m, idx), 1);
	CU_ASSERT_EQUAL(sa->seq, UINT32_MAX);
	rte_pktmbuf_free(m);
	m = mbuf_with(kat128_inner, sizeof(kat128_inner));
	CU_ASSERT_EQUAL(encap(&m, idx), 0);
	CU_ASSERT_EQUAL(lc->stats.drops[SG_DROP_SEQ_OVERFLOW], 1);
	CU_ASSERT_EQUAL(sa->seq, UINT32_MAX);
	CU_ASSERT(sa->dead);
	rte_pktmbuf_free(m);
	/* And it stays dead. */
	m = mbuf_with(kat128_inner, sizeof(kat128_inner));
	CU_ASSERT_EQUAL(encap(&m, idx), 0);
	CU_ASSERT_EQUAL(lc->stats.drops[SG_DROP_SA_EXPIRED], 1);
	rte_pktmbuf_free(m);
	check_no_leak();
}

/* Nothing beyond the state file's reservation goes out: the SA asks for
 * more once, holds at the limit (dropped, counted, not dead), and goes on
 * when the reservation is extended. */
static void
test_seq_reserve(void)
{
	struct sg_shard_event ev;
	struct rte_mbuf *m;
	struct sg_sa *sa;
	uint32_t idx, i;

	reset_all();
	idx = add_sa(SG_SA_OUT, 6, SG_AEAD_AES128_GCM, kat128_key, kat128_salt, false, 0);
	sa = sg_sa_table_get(sat, idx);
	sa->seq = 1000;
	sa->seq_slot = 3;
	sg_sa_seq_reserve(sa, 1004, 1002);
	for (i = 0; i < 4; i++) {
		m = mbuf_with(kat128_inner, sizeof(kat128_inner));
		CU_ASSERT_EQUAL(encap(&m, idx), 1);
		CU_ASSERT_EQUAL(rte_be_to_cpu_32(rte_pktmbuf_mtod_offset(m,
				const struct rte_esp_hdr *, sizeof(struct rte_ipv4_hdr))->seq), 1001 + i);
		rte_pktmbuf_free(m);
	}
	m = mbuf_with(kat128_inner, sizeof(kat128_inner));
	CU_ASSERT_EQUAL(encap(&m, idx), 0);
	rte_pktmbuf_free(m);
	CU_ASSERT_EQUAL(lc->stats.drops[SG_DROP_SEQ_RESERVE], 1);
	CU_ASSERT_EQUAL(sa->seq, 1004);
	CU_ASSERT_EQUAL(sa->dead, 0);
	/* One request for more, at the asking point. */
	CU_ASSERT_EQUAL(sg_shard_poll_event(shard, &ev), 1);
	CU_ASSERT_EQUAL(ev.type, SG_SHARD_EV_SEQ_LOW);
	CU_ASSERT_EQUAL(ev.slot, 3);
	CU_ASSERT_EQUAL(ev.seq, 1002);
	CU_ASSERT_EQUAL(sg_shard_poll_event(shard, &ev), 0);
	sg_sa_seq_reserve(sa, 2004, 1504);
	m = mbuf_with(kat128_inner, sizeof(kat128_inner));
	CU_ASSERT_EQUAL(encap(&m, idx), 1);
	CU_ASSERT_EQUAL(sa->seq, 1005);
	rte_pktmbuf_free(m);
	CU_ASSERT_EQUAL(lc->stats.drops[SG_DROP_SEQ_RESERVE], 1);
	check_no_leak();
}

/* Encrypt a hand-made ESP payload with a valid ICV (to test post-ICV checks). */
static struct rte_mbuf *
crafted(const uint8_t *payload, uint32_t len, uint32_t seq)
{
	uint8_t esp[1024];
	struct sg_crypto_key key;
	struct sg_crypto_op op;
	uint32_t w[2] = {rte_cpu_to_be_32(0x1234), rte_cpu_to_be_32(seq)};
	uint64_t iv = rte_cpu_to_be_64(seq);

	memcpy(esp, w, 8);
	memcpy(esp + 8, &iv, 8);
	memcpy(esp + 16, payload, len);
	CU_ASSERT_FATAL(sg_crypto_key_init(&key, mgr, SG_AEAD_AES128_GCM, kat128_key, 16,
			kat128_salt) == 0);
	memset(&op, 0, sizeof(op));
	op.key = &key;
	op.data = esp + 16;
	op.len = len;
	op.icv = esp + 16 + len;
	memcpy(op.nonce, kat128_salt, 4);
	memcpy(op.nonce + 4, &iv, 8);
	memcpy(op.aad, w, 8);
	op.aad_len = 8;
	CU_ASSERT_FATAL(sg_crypto_encrypt_burst(mgr, &op, 1) == 1);
	sg_crypto_key_wipe(&key);
	return esp_packet(esp, (uint16_t)(16 + len + SG_ESP_ICV_LEN), TUN_A);
}

/* Table of bad packets: each is dropped under its own reason. */
static void
test_inbound_drops(void)
{
	uint8_t pl[128], bad[sizeof(kat128_esp)];
	struct rte_mbuf *m;
	struct sg_sa *sa;
	uint32_t idx, n;

	reset_all();
	idx = add_sa(SG_SA_IN, 0x1234, SG_AEAD_AES128_GCM, kat128_key, kat128_salt, false, 64);
	sa = sg_sa_table_get(sat, idx);

	/* Tampered ICV. */
	memcpy(bad, kat128_esp, sizeof(bad));
	bad[sizeof(bad) - 1] ^= 1;
	m = esp_packet(bad, sizeof(bad), TUN_A);
	CU_ASSERT_EQUAL(decap(&m), 0);
	CU_ASSERT_EQUAL(lc->stats.drops[SG_DROP_AUTH], 1);
	CU_ASSERT_EQUAL(sa->auth_fail, 1);
	rte_pktmbuf_free(m);

	/* Good, then the same again: replay. */
	m = esp_packet(kat128_esp, sizeof(kat128_esp), TUN_A);
	CU_ASSERT_EQUAL(decap(&m), 1);
	rte_pktmbuf_free(m);
	m = esp_packet(kat128_esp, sizeof(kat128_esp), TUN_A);
	CU_ASSERT_EQUAL(decap(&m), 0);
	CU_ASSERT_EQUAL(lc->stats.drops[SG_DROP_REPLAY], 1);
	CU_ASSERT_EQUAL(sa->replay_drop, 1);
	rte_pktmbuf_free(m);

	/* Unknown SPI. */
	memcpy(bad, kat128_esp, sizeof(bad));
	bad[3] = 0x35;
	m = esp_packet(bad, sizeof(bad), TUN_A);
	CU_ASSERT_EQUAL(decap(&m), 0);
	CU_ASSERT_EQUAL(lc->stats.drops[SG_DROP_UNKNOWN_SPI], 1);
	rte_pktmbuf_free(m);

	/* Wrong tunnel source. */
	m = esp_packet(kat128_esp, sizeof(kat128_esp), SG_IPV4(172, 16, 9, 9));
	CU_ASSERT_EQUAL(decap(&m), 0);
	CU_ASSERT_EQUAL(lc->stats.drops[SG_DROP_BAD_TUNNEL], 1);
	rte_pktmbuf_free(m);

	/* Every truncation of the ESP part below the minimum. */
	for (n = 0; n < SG_ESP_MIN_PAYLOAD; n++) {
		m = esp_packet(kat128_esp, (uint16_t)n, TUN_A);
		CU_ASSERT_EQUAL(decap(&m), 0);
		rte_pktmbuf_free(m);
	}
	CU_ASSERT_EQUAL(lc->stats.drops[SG_DROP_ESP_SHORT], SG_ESP_MIN_PAYLOAD);

	/* Valid ICV, bad padding bytes. */
	memcpy(pl, kat128_inner, sizeof(kat128_inner));
	pl[47] = 1;
	pl[48] = 9;
	pl[49] = 3;
	pl[50] = 3; /* pad length */
	pl[51] = SG_IPPROTO_IPIP;
	m = crafted(pl, 52, 10);
	CU_ASSERT_EQUAL(decap(&m), 0);
	CU_ASSERT_EQUAL(lc->stats.drops[SG_DROP_BAD_PAD], 1);
	rte_pktmbuf_free(m);

	/* Valid ICV, pad length longer than the payload. */
	pl[0] = 200;
	pl[1] = SG_IPPROTO_IPIP;
	m = crafted(pl, 2, 11);
	CU_ASSERT_EQUAL(decap(&m), 0);
	CU_ASSERT_EQUAL(lc->stats.drops[SG_DROP_BAD_PAD], 2);
	rte_pktmbuf_free(m);

	/* Valid ICV, next header IPv6 (not this SA's inner family). */
	memcpy(pl, kat128_inner, sizeof(kat128_inner));
	pl[47] = 1;
	pl[48] = 2;
	pl[49] = 3;
	pl[50] = 3;
	pl[51] = SG_IPPROTO_IPV6;
	m = crafted(pl, 52, 12);
	CU_ASSERT_EQUAL(decap(&m), 0);
	CU_ASSERT_EQUAL(lc->stats.drops[SG_DROP_BAD_NEXT_HDR], 1);
	rte_pktmbuf_free(m);

	/* Valid ICV, inner total length disagrees with the payload. */
	pl[51] = SG_IPPROTO_IPIP;
	pl[3] = 0x30;
	m = crafted(pl, 52, 13);
	CU_ASSERT_EQUAL(decap(&m), 0);
	CU_ASSERT_EQUAL(lc->stats.drops[SG_DROP_BAD_INNER], 1);
	rte_pktmbuf_free(m);

	/* A good crafted one still passes after all that. */
	pl[3] = 0x2f;
	m = crafted(pl, 52, 14);
	CU_ASSERT_EQUAL(decap(&m), 1);
	rte_pktmbuf_free(m);
	check_no_leak();
}

/* Two packets of one burst with the same number: only the first passes. */
static void
test_replay_within_burst(void)
{
	struct rte_mbuf *m[2];
	uint32_t sa_idx[2];
	uint16_t k, nbad;

	reset_all();
	add_sa(SG_SA_IN, 0x1234, SG_AEAD_AES128_GCM, kat128_key, kat128_salt, false, 64);
	m[0] = esp_packet(kat128_esp, sizeof(kat128_esp), TUN_A);
	m[1] = esp_packet(kat128_esp, sizeof(kat128_esp), TUN_A);
	k = dp_esp_inbound(lc, m, 2, sa_idx, &nbad, 0);
	CU_ASSERT_EQUAL(k, 1);
	CU_ASSERT_EQUAL(nbad, 1);
	CU_ASSERT_EQUAL(lc->stats.drops[SG_DROP_REPLAY], 1);
	rte_pktmbuf_free_bulk(m, 2);
	check_no_leak();
}

/* The worker's SPI cache: a deleted SA, or its slot reused by another SPI,
 * is a miss, never a hit on the wrong SA. */
static void
test_spi_cache_never_stale(void)
{
	struct rte_mbuf *m;
	uint32_t idx, other;

	reset_all();
	idx = add_sa(SG_SA_IN, 0x1234, SG_AEAD_AES128_GCM, kat128_key, kat128_salt, false, 0);
	m = esp_packet(kat128_esp, sizeof(kat128_esp), TUN_A);
	CU_ASSERT_EQUAL(decap(&m), 1); /* fills the cache */
	rte_pktmbuf_free(m);
	sg_sa_table_del(sat, idx);
	m = esp_packet(kat128_esp, sizeof(kat128_esp), TUN_A);
	CU_ASSERT_EQUAL(decap(&m), 0);
	CU_ASSERT_EQUAL(lc->stats.drops[SG_DROP_UNKNOWN_SPI], 1);
	rte_pktmbuf_free(m);
	/* The slot goes to another SPI: still a miss for 0x1234. */
	other = add_sa(SG_SA_IN, 0x9999, SG_AEAD_AES128_GCM, kat128_key, kat128_salt, false, 0);
	CU_ASSERT_EQUAL(other, idx);
	m = esp_packet(kat128_esp, sizeof(kat128_esp), TUN_A);
	CU_ASSERT_EQUAL(decap(&m), 0);
	CU_ASSERT_EQUAL(lc->stats.drops[SG_DROP_UNKNOWN_SPI], 2);
	rte_pktmbuf_free(m);
	/* And 0x1234 back, in another slot: found again. */
	add_sa(SG_SA_IN, 0x1234, SG_AEAD_AES128_GCM, kat128_key, kat128_salt, false, 0);
	m = esp_packet(kat128_esp, sizeof(kat128_esp), TUN_A);
	CU_ASSERT_EQUAL(decap(&m), 1);
	rte_pktmbuf_free(m);
	check_no_leak();
}

/*
 * ESP in UDP (RFC 3948): a UDP SA's packets leave as IPv4/UDP with its
 * ports, checksum 0 and the datagram's length, and come back through the
 * inbound path once the classifier marked the UDP header (l4_len). Plain
 * ESP for the UDP SA, and ESP in UDP for a plain SA, are encap_mismatch; a
 * wrong local port too. An authentic packet from a new address and port
 * moves the SA (natt_float, one peer_moved event); a forged one does not.
 */
static void
test_udp_encap(void)
{
	uint8_t buf[256], copy[512];
	const struct rte_ipv4_hdr *ip;
	const struct rte_udp_hdr *udp;
	struct sg_shard_event ev;
	struct rte_mbuf *m;
	struct sg_sa *in;
	uint32_t out, plain_out;
	uint16_t tot, len;

	reset_all();
	while (sg_shard_poll_event(shard, &ev))
		;
	udp_sport = 4500;
	udp_dport = 4501;
	out = add_sa(SG_SA_OUT, 500, SG_AEAD_AES128_GCM, kat128_key, kat128_salt, false, 0);
	in = sg_sa_table_get(sat, add_sa(SG_SA_IN, 500, SG_AEAD_AES128_GCM, kat128_key,
			kat128_salt, false, 64));
	udp_sport = udp_dport = 0;
	plain_out = add_sa(SG_SA_OUT, 501, SG_AEAD_AES128_GCM, kat128_key, kat128_salt, false, 0);
	add_sa(SG_SA_IN, 501, SG_AEAD_AES128_GCM, kat128_key, kat128_salt, false, 64);

	tot = inner_packet(buf, 77, 5);
	m = mbuf_with(buf, tot);
	CU_ASSERT_EQUAL_FATAL(encap(&m, out), 1);
	ip = rte_pktmbuf_mtod(m, const struct rte_ipv4_hdr *);
	udp = (const struct rte_udp_hdr *)(ip + 1);
	CU_ASSERT_EQUAL(ip->next_proto_id, SG_IPPROTO_UDP);
	CU_ASSERT_EQUAL(rte_be_to_cpu_16(ip->total_length), m->pkt_len);
	CU_ASSERT_EQUAL(rte_be_to_cpu_16(udp->src_port), 4500);
	CU_ASSERT_EQUAL(rte_be_to_cpu_16(udp->dst_port), 4501);
	CU_ASSERT_EQUAL(rte_be_to_cpu_16(udp->dgram_len), m->pkt_len - sizeof(*ip));
	CU_ASSERT_EQUAL(udp->dgram_cksum, 0);
	CU_ASSERT_EQUAL(*(const uint32_t *)(udp + 1), rte_cpu_to_be_32(500));
	len = (uint16_t)m->pkt_len;
	memcpy(copy, rte_pktmbuf_mtod(m, uint8_t *), len);

	/* back in: the classifier's mark, then the SA's checks and the ICV */
	m->l4_len = sizeof(*udp);
	CU_ASSERT_EQUAL_FATAL(decap(&m), 1);
	CU_ASSERT_EQUAL(m->pkt_len, tot);
	CU_ASSERT_EQUAL(memcmp(rte_pktmbuf_mtod(m, uint8_t *), buf, tot), 0);
	rte_pktmbuf_free(m);
	CU_ASSERT_EQUAL(lc->stats.natt_float, 0);

	/* the same datagram without the mark: plain ESP for a UDP SA */
	m = mbuf_with(copy, len);
	m->l3_len = sizeof(*ip) + sizeof(*udp); /* so the SPI is read at the ESP header */
	CU_ASSERT_EQUAL(decap(&m), 0);
	CU_ASSERT_EQUAL(lc->stats.drops[SG_DROP_ENCAP], 1);
	rte_pktmbuf_free(m);
	/* a wrong local port */
	m = mbuf_with(copy, len);
	m->l4_len = sizeof(*udp);
	rte_pktmbuf_mtod_offset(m, struct rte_udp_hdr *, sizeof(*ip))->dst_port =
			rte_cpu_to_be_16(4999);
	CU_ASSERT_EQUAL(decap(&m), 0);
	CU_ASSERT_EQUAL(lc->stats.drops[SG_DROP_ENCAP], 2);
	rte_pktmbuf_free(m);

	/* ESP in UDP for the plain SA 501 */
	tot = inner_packet(buf, 40, 6);
	m = mbuf_with(buf, tot);
	CU_ASSERT_EQUAL_FATAL(encap(&m, plain_out), 1);
	CU_ASSERT_EQUAL(rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *)->next_proto_id, SG_IPPROTO_ESP);
	m->l4_len = sizeof(*udp); /* as if a UDP header were there */
	m->l3_len = sizeof(*ip) - sizeof(*udp);
	CU_ASSERT_EQUAL(decap(&m), 0);
	CU_ASSERT_EQUAL(lc->stats.drops[SG_DROP_ENCAP], 3);
	rte_pktmbuf_free(m);

	/* a forged packet (a fresh number, a bad ICV) from elsewhere moves nothing */
	tot = inner_packet(buf, 50, 8);
	m = mbuf_with(buf, tot);
	CU_ASSERT_EQUAL_FATAL(encap(&m, out), 1);
	len = (uint16_t)m->pkt_len;
	m->l4_len = sizeof(*udp);
	rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *)->src_addr = rte_cpu_to_be_32(0xc0000263);
	rte_pktmbuf_mtod(m, uint8_t *)[len - 1] ^= 1;
	CU_ASSERT_EQUAL(decap(&m), 0);
	CU_ASSERT_EQUAL(lc->stats.drops[SG_DROP_AUTH], 1);
	CU_ASSERT_EQUAL(in->tun_src_be, rte_cpu_to_be_32(TUN_A));
	rte_pktmbuf_free(m);

	/* an authentic one (the next number) from a new mapping moves the SA */
	tot = inner_packet(buf, 60, 7);
	m = mbuf_with(buf, tot);
	CU_ASSERT_EQUAL_FATAL(encap(&m, out), 1);
	m->l4_len = sizeof(*udp);
	rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *)->src_addr = rte_cpu_to_be_32(0xc0000263);
	rte_pktmbuf_mtod_offset(m, struct rte_udp_hdr *, sizeof(*ip))->src_port =
			rte_cpu_to_be_16(61000);
	CU_ASSERT_EQUAL_FATAL(decap(&m), 1);
	rte_pktmbuf_free(m);
	CU_ASSERT_EQUAL(lc->stats.natt_float, 1);
	CU_ASSERT_EQUAL(in->tun_src_be, rte_cpu_to_be_32(0xc0000263));
	CU_ASSERT_EQUAL(in->udp_sport_be, rte_cpu_to_be_16(61000));
	CU_ASSERT_EQUAL_FATAL(sg_shard_poll_event(shard, &ev), 1);
	CU_ASSERT_EQUAL(ev.type, SG_SHARD_EV_PEER_MOVED);
	CU_ASSERT_EQUAL(ev.spi, 500);
	CU_ASSERT_EQUAL(ev.peer_be, rte_cpu_to_be_32(0xc0000263));
	CU_ASSERT_EQUAL(ev.port_be, rte_cpu_to_be_16(61000));
	CU_ASSERT_EQUAL(ev.old_peer_be, rte_cpu_to_be_32(TUN_A));
	CU_ASSERT_EQUAL(ev.old_port_be, rte_cpu_to_be_16(4500));
	CU_ASSERT_EQUAL(sg_shard_poll_event(shard, &ev), 0);
	check_no_leak();
}

/* The local ESP-in-UDP endpoints: counted per SA, freed slots reused. */
static void
test_udp_endpoints(void)
{
	uint32_t i;

	CU_ASSERT_EQUAL(ctx->nb_udp_ep, 0);
	CU_ASSERT_EQUAL(sg_dp_udp_ep_add(ctx, 1, 2), 0);
	CU_ASSERT_EQUAL(sg_dp_udp_ep_add(ctx, 1, 2), 0);
	CU_ASSERT_EQUAL(ctx->nb_udp_ep, 1);
	sg_dp_udp_ep_del(ctx, 1, 2);
	CU_ASSERT_EQUAL(ctx->udp_ep[0], SG_DP_UDP_EP(1, 2));
	sg_dp_udp_ep_del(ctx, 1, 2);
	CU_ASSERT_EQUAL(ctx->udp_ep[0], 0);
	sg_dp_udp_ep_del(ctx, 1, 2); /* one too many: nothing to do */
	for (i = 0; i < SG_DP_UDP_EP_MAX; i++)
		CU_ASSERT_EQUAL(sg_dp_udp_ep_add(ctx, i + 10, 4500), 0);
	CU_ASSERT_EQUAL(ctx->nb_udp_ep, SG_DP_UDP_EP_MAX);
	CU_ASSERT_EQUAL(sg_dp_udp_ep_add(ctx, 9, 4500), -ENOSPC);
	sg_dp_udp_ep_del(ctx, 20, 4500);
	CU_ASSERT_EQUAL(sg_dp_udp_ep_add(ctx, 9, 4500), 0);
	CU_ASSERT_EQUAL(ctx->udp_ep[10], SG_DP_UDP_EP(9, 4500));
	for (i = 0; i < SG_DP_UDP_EP_MAX; i++)
		sg_dp_udp_ep_del(ctx, i == 10 ? 9 : i + 10, 4500);
	for (i = 0; i < SG_DP_UDP_EP_MAX; i++)
		CU_ASSERT_EQUAL(ctx->udp_ep[i], 0);
	ctx->nb_udp_ep = 0;
}

/* A window of 0 (-w 0) accepts the same capture again. */
static void
test_replay_off(void)
{
	struct rte_mbuf *m;
	int i;

	reset_all();
	add_sa(SG_SA_IN, 0x1234, SG_AEAD_AES128_GCM, kat128_key, kat128_salt, false, 0);
	for (i = 0; i < 3; i++) {
		m = esp_packet(kat128_esp, sizeof(kat128_esp), TUN_A);
		CU_ASSERT_EQUAL(decap(&m), 1);
		rte_pktmbuf_free(m);
	}
	check_no_leak();
}

static int
suite_init(void)
{
	pool = rte_pktmbuf_pool_create("test_dp", 1024, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	ctx = sg_dp_ctx_create(0, 16);
	shard = sg_shard_create(0, 64, 0);
	sdir = sg_shard_dir_create("test_dp_dir", 64, 0);
	mgr = sg_crypto_mgr_create(0);
	lc = rte_zmalloc("test_dp_lcore", sizeof(*lc), RTE_CACHE_LINE_SIZE);
	if (pool == NULL || ctx == NULL || shard == NULL || sdir == NULL || mgr == NULL ||
			lc == NULL)
		return -1;
	if (sg_dp_lcore_init(lc, ctx, (uint16_t)rte_lcore_id(), 0) != 0)
		return -1;
	sat = shard->sat;
	lc->shard = shard;
	ctx->dir = sdir;
	ctx->nb_workers = 1;
	return 0;
}

static int
suite_fini(void)
{
	sg_dp_lcore_fini(lc);
	rte_free(lc);
	sg_crypto_mgr_free(mgr);
	sg_shard_free(shard);
	sg_shard_dir_free(sdir);
	sg_dp_ctx_free(ctx);
	rte_mempool_free(pool);
	return 0;
}

int
main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS || sg_test_eal_init("dp") != 0)
		return EXIT_FAILURE;
	s = CU_add_suite("dp", suite_init, suite_fini);
	CU_add_test(s, "ESP known answer, outbound AES-128-GCM", test_kat_outbound);
	CU_add_test(s, "ESP known answer, outbound AES-256-GCM ESN", test_kat_outbound_esn);
	CU_add_test(s, "ESP known answer, inbound AES-128-GCM", test_kat_inbound);
	CU_add_test(s, "ESP known answer, inbound AES-256-GCM ESN", test_kat_inbound_esn);
	CU_add_test(s, "encap/decap round trip, 0..1400 bytes", test_round_trip);
	CU_add_test(s, "one burst over ESN and non-ESN SAs", test_mixed_esn_burst);
	CU_add_test(s, "sequence number must not cycle", test_seq_overflow);
	CU_add_test(s, "sequence numbers stop at the reservation", test_seq_reserve);
	CU_add_test(s, "inbound drops by reason", test_inbound_drops);
	CU_add_test(s, "replay inside one burst", test_replay_within_burst);
	CU_add_test(s, "replay check off (-w 0)", test_replay_off);
	CU_add_test(s, "SPI cache never stale", test_spi_cache_never_stale);
	CU_add_test(s, "ESP in UDP out, in, mismatches, a NAT rebinding", test_udp_encap);
	CU_add_test(s, "ESP-in-UDP endpoints", test_udp_endpoints);
	CU_add_test(s, "20000 mutated frames: all counted, no leak", test_fuzz_inbound);
	CU_add_test(s, "20000 mutated plaintext frames outbound", test_fuzz_outbound);
	if (test_dp_punt_add() != 0 || test_dp_mtu_add() != 0)
		return EXIT_FAILURE;
	return sg_test_run("dp", 1);
}
