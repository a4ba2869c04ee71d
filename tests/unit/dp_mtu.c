/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Path MTU in the data path: the largest ESP payload each MTU and header
 * size allow, ICMP "fragmentation needed" (RFC 792, RFC 1191) field by
 * field with its checksums, the packets it must never answer (RFC 1122
 * §3.2.2), --icmp-rate, and chained frames, each checked for leaked mbufs.
 */
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "sg_dp.h"
#include "sg_pkt.h"
#include "dp_priv.h"
#include "test_dp.h"

#define SENDER SG_IPV4(10, 2, 0, 5)
#define TARGET SG_IPV4(10, 1, 0, 9)
#define GW SG_IPV4(172, 16, 0, 2)

static struct rte_mempool *mtu_pool;
static struct sg_dp_ctx *mtu_ctx;
static struct sg_dp_lcore *mtu_lc;

static int
mtu_init(void)
{
	mtu_pool = rte_pktmbuf_pool_create("test_dp_mtu", 256, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	mtu_ctx = sg_dp_ctx_create(0, 4);
	mtu_lc = rte_zmalloc("test_dp_mtu_lc", sizeof(*mtu_lc), RTE_CACHE_LINE_SIZE);
	if (mtu_pool == NULL || mtu_ctx == NULL || mtu_lc == NULL)
		return -1;
	return sg_dp_lcore_init(mtu_lc, mtu_ctx, (uint16_t)rte_lcore_id(), 0) == 0 ? 0 : -1;
}

static int
mtu_fini(void)
{
	sg_dp_lcore_fini(mtu_lc);
	rte_free(mtu_lc);
	sg_dp_ctx_free(mtu_ctx);
	rte_mempool_free(mtu_pool);
	return 0;
}

/* An IPv4 packet of @p len bytes (protocol @p proto, first payload byte
 * @p b0) from @p src, as the data path holds it: data at the IP header. */
static struct rte_mbuf *
packet(uint32_t src, uint16_t len, uint8_t proto, uint8_t b0, uint16_t frag)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mtu_pool);
	struct rte_ipv4_hdr *ip;
	uint8_t *p;
	uint16_t i;

	CU_ASSERT_FATAL(m != NULL);
	p = (uint8_t *)rte_pktmbuf_append(m, len);
	CU_ASSERT_FATAL(p != NULL);
	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 7);
	ip = (struct rte_ipv4_hdr *)p;
	sg_ipv4_hdr_write(ip, 0, rte_cpu_to_be_16(len), rte_cpu_to_be_16(77), rte_cpu_to_be_16(frag),
			64, proto, rte_cpu_to_be_32(src), rte_cpu_to_be_32(TARGET));
	p[sizeof(*ip)] = b0;
	m->port = 1;
	return m;
}

static void
test_payload_max(void)
{
	static const struct {
		uint16_t mtu, head;
		uint32_t want;
	} v[] = {
		{1500, 36, 1446}, /* IPv4 + ESP + IV: 36 + 1446 + 0 pad + 2 + 16 = 1500 */
		{1500, 44, 1438}, /* with the UDP header (RFC 3948) */
		{1400, 36, 1346},
		{1401, 36, 1346}, /* alignment (RFC 4303 §2.4) eats what is left over */
		{1403, 36, 1346},
		{1404, 36, 1350},
		{576, 36, 522},
		{68, 36, 14},
		{54, 36, 0},      /* room for the trailer only: nothing fits */
		{40, 36, 0},
	};
	unsigned int i;

	for (i = 0; i < RTE_DIM(v); i++) {
		uint32_t got;

		mtu_ctx->esp_mtu = v[i].mtu;
		got = dp_esp_payload_max(mtu_lc, v[i].head,
				&sg_crypto_xforms[sg_crypto_xform_id(SG_AEAD_AES128_GCM, SG_AUTH_AEAD)]);
		if (got != v[i].want)
			fprintf(stderr, "\n  row %u: mtu %u head %u: %u, want %u\n", i, v[i].mtu,
				v[i].head, got, v[i].want);
		CU_ASSERT_EQUAL(got, v[i].want);
		/* what it says fits does fit, and one 4-byte step more does not */
		if (got > 0) {
			CU_ASSERT(v[i].head + got + sg_esp_pad_len(got) + SG_ESP_TRAILER_LEN +
					SG_ESP_ICV_LEN <= v[i].mtu);
			CU_ASSERT(v[i].head + got + 4 + sg_esp_pad_len(got + 4) +
					SG_ESP_TRAILER_LEN + SG_ESP_ICV_LEN > v[i].mtu);
		}
	}
	mtu_ctx->esp_mtu = RTE_ETHER_MTU;
}

static void
test_icmp_fields(void)
{
	static const uint16_t lens[] = {60, 548, 549, 1500};
	uint64_t tx0 = mtu_lc->stats.icmp_tx, made0 = mtu_lc->stats.tx_made;
	unsigned int i;

	sg_dp_tb_init(&mtu_lc->icmp_tb, 1000, 1000, rte_get_tsc_hz(), rte_rdtsc());
	for (i = 0; i < RTE_DIM(lens); i++) {
		struct rte_mbuf *m = packet(SENDER, lens[i], IPPROTO_UDP, 0x12, SG_IPV4_DF);
		struct rte_mbuf *n = dp_icmp_frag_needed(mtu_lc, m, rte_cpu_to_be_32(GW), 1446);
		const struct rte_ipv4_hdr *ip;
		const uint8_t *icmp;
		uint32_t quote = RTE_MIN((uint32_t)lens[i], UINT32_C(548));

		CU_ASSERT_PTR_NOT_NULL_FATAL(n);
		ip = rte_pktmbuf_mtod(n, const struct rte_ipv4_hdr *);
		icmp = (const uint8_t *)(ip + 1);
		/* RFC 1812 §4.3.2.3: at most 576 bytes, quoting as much as fits */
		CU_ASSERT_EQUAL(n->pkt_len, 28 + quote);
		CU_ASSERT_EQUAL(rte_be_to_cpu_16(ip->total_length), n->pkt_len);
		CU_ASSERT_EQUAL(ip->next_proto_id, IPPROTO_ICMP);
		CU_ASSERT_EQUAL(ip->src_addr, rte_cpu_to_be_32(GW));
		CU_ASSERT_EQUAL(ip->dst_addr, rte_cpu_to_be_32(SENDER));
		CU_ASSERT_EQUAL(ip->fragment_offset, 0);
		CU_ASSERT_EQUAL(rte_ipv4_cksum(ip), 0); /* a valid checksum sums to zero */
		CU_ASSERT(icmp[0] == 3 && icmp[1] == 4);
		CU_ASSERT(icmp[4] == 0 && icmp[5] == 0);
		CU_ASSERT_EQUAL((icmp[6] << 8) | icmp[7], 1446);
		CU_ASSERT_EQUAL(rte_raw_cksum(icmp, 8 + quote), 0xffff);
		CU_ASSERT(memcmp(icmp + 8, rte_pktmbuf_mtod(m, const uint8_t *), quote) == 0);
		CU_ASSERT_EQUAL(n->port, m->port);
		rte_pktmbuf_free(n);
		rte_pktmbuf_free(m);
	}
	CU_ASSERT_EQUAL(mtu_lc->stats.icmp_tx - tx0, RTE_DIM(lens));
	CU_ASSERT_EQUAL(mtu_lc->stats.tx_made - made0, RTE_DIM(lens));
	CU_ASSERT_EQUAL(rte_mempool_in_use_count(mtu_pool), 0);
}

static void
test_icmp_never(void)
{
	static const struct {
		const char *what;
		uint32_t src;
		uint8_t proto, b0;
		uint16_t frag;
	} v[] = {
		{"an ICMP destination unreachable", SENDER, IPPROTO_ICMP, 3, SG_IPV4_DF},
		{"an ICMP time exceeded", SENDER, IPPROTO_ICMP, 11, SG_IPV4_DF},
		{"an ICMP parameter problem", SENDER, IPPROTO_ICMP, 12, SG_IPV4_DF},
		{"an ICMP redirect", SENDER, IPPROTO_ICMP, 5, SG_IPV4_DF},
		{"a later fragment", SENDER, IPPROTO_UDP, 0, SG_IPV4_DF | 100},
		{"source 0.0.0.0", 0, IPPROTO_UDP, 0, SG_IPV4_DF},
		{"source 255.255.255.255", UINT32_MAX, IPPROTO_UDP, 0, SG_IPV4_DF},
		{"a multicast source", SG_IPV4(224, 0, 0, 5), IPPROTO_UDP, 0, SG_IPV4_DF},
		{"a loopback source", SG_IPV4(127, 0, 0, 1), IPPROTO_UDP, 0, SG_IPV4_DF},
	};
	uint64_t tx0 = mtu_lc->stats.icmp_tx, lim0 = mtu_lc->stats.icmp_limited;
	struct rte_mbuf *m, *n;
	unsigned int i;

	sg_dp_tb_init(&mtu_lc->icmp_tb, 1000, 1000, rte_get_tsc_hz(), rte_rdtsc());
	for (i = 0; i < RTE_DIM(v); i++) {
		m = packet(v[i].src, 1500, v[i].proto, v[i].b0, v[i].frag);
		n = dp_icmp_frag_needed(mtu_lc, m, rte_cpu_to_be_32(GW), 1446);
		if (n != NULL)
			fprintf(stderr, "\n  answered %s\n", v[i].what);
		CU_ASSERT_PTR_NULL(n);
		rte_pktmbuf_free(n);
		rte_pktmbuf_free(m);
	}
	/* an echo request is no error: it is answered */
	m = packet(SENDER, 1500, IPPROTO_ICMP, 8, SG_IPV4_DF);
	n = dp_icmp_frag_needed(mtu_lc, m, rte_cpu_to_be_32(GW), 1446);
	CU_ASSERT_PTR_NOT_NULL(n);
	rte_pktmbuf_free(n);
	rte_pktmbuf_free(m);
	CU_ASSERT_EQUAL(mtu_lc->stats.icmp_tx - tx0, 1);
	CU_ASSERT_EQUAL(mtu_lc->stats.icmp_limited, lim0); /* refused before the rate */
	CU_ASSERT_EQUAL(rte_mempool_in_use_count(mtu_pool), 0);
}

static void
test_icmp_rate(void)
{
	uint64_t tx0 = mtu_lc->stats.icmp_tx, lim0 = mtu_lc->stats.icmp_limited;
	unsigned int i, sent = 0;

	/* 3 per second, 3 at once: a burst of 10 gets 3 answers */
	sg_dp_tb_init(&mtu_lc->icmp_tb, 3, 3, rte_get_tsc_hz(), rte_rdtsc());
	for (i = 0; i < 10; i++) {
		struct rte_mbuf *m = packet(SENDER, 1500, IPPROTO_UDP, 0, SG_IPV4_DF);
		struct rte_mbuf *n = dp_icmp_frag_needed(mtu_lc, m, rte_cpu_to_be_32(GW), 1446);

		sent += n != NULL;
		rte_pktmbuf_free(n);
		rte_pktmbuf_free(m);
	}
	CU_ASSERT_EQUAL(sent, 3);
	CU_ASSERT_EQUAL(mtu_lc->stats.icmp_tx - tx0, 3);
	CU_ASSERT_EQUAL(mtu_lc->stats.icmp_limited - lim0, 7);
	/* rate 0 (--icmp-rate 0): never */
	sg_dp_tb_init(&mtu_lc->icmp_tb, 0, 0, rte_get_tsc_hz(), rte_rdtsc());
	{
		struct rte_mbuf *m = packet(SENDER, 1500, IPPROTO_UDP, 0, SG_IPV4_DF);

		CU_ASSERT_PTR_NULL(dp_icmp_frag_needed(mtu_lc, m, rte_cpu_to_be_32(GW), 1446));
		rte_pktmbuf_free(m);
	}
	CU_ASSERT_EQUAL(rte_mempool_in_use_count(mtu_pool), 0);
}

/* A frame a PMD split over two mbufs is made one buffer when it fits, and is
 * too big (mtu) when it does not. */
static void
test_chain(void)
{
	uint8_t frame[1200];
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)frame;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	uint16_t len = sizeof(frame), cut = 100, i;
	struct rte_mbuf *a, *b;

	for (i = 0; i < len; i++)
		frame[i] = (uint8_t)(i * 3);
	memset(eth, 0, sizeof(*eth));
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	sg_ipv4_hdr_write(ip, 0, rte_cpu_to_be_16(len - sizeof(*eth)), 0, 0, 64, IPPROTO_UDP,
			rte_cpu_to_be_32(SENDER), rte_cpu_to_be_32(TARGET));
	a = rte_pktmbuf_alloc(mtu_pool);
	b = rte_pktmbuf_alloc(mtu_pool);
	CU_ASSERT_FATAL(a != NULL && b != NULL);
	memcpy(rte_pktmbuf_append(a, cut), frame, cut);
	memcpy(rte_pktmbuf_append(b, len - cut), frame + cut, len - cut);
	CU_ASSERT_FATAL(rte_pktmbuf_chain(a, b) == 0);
	CU_ASSERT_EQUAL(dp_parse_l3(a, 0), SG_DROP_MAX);
	CU_ASSERT(a->nb_segs == 1 && a->pkt_len == len && a->data_len == len);
	CU_ASSERT(memcmp(rte_pktmbuf_mtod(a, const uint8_t *), frame, len) == 0);
	CU_ASSERT_EQUAL(a->l3_len, sizeof(*ip));
	rte_pktmbuf_free(a);

	/* more than one buffer holds: past any MTU the mbufs were sized for */
	a = rte_pktmbuf_alloc(mtu_pool);
	CU_ASSERT_FATAL(a != NULL);
	memcpy(rte_pktmbuf_append(a, cut), frame, cut);
	for (i = 0; i < 3; i++) {
		b = rte_pktmbuf_alloc(mtu_pool);
		CU_ASSERT_FATAL(b != NULL);
		memcpy(rte_pktmbuf_append(b, len - cut), frame + cut, len - cut);
		CU_ASSERT_FATAL(rte_pktmbuf_chain(a, b) == 0);
	}
	CU_ASSERT_EQUAL(dp_parse_l3(a, 0), SG_DROP_MTU);
	rte_pktmbuf_free(a);
	CU_ASSERT_EQUAL(rte_mempool_in_use_count(mtu_pool), 0);
}

int
test_dp_mtu_add(void)
{
	CU_pSuite s = CU_add_suite("dp_mtu", mtu_init, mtu_fini);

	if (s == NULL)
		return -1;
	if (CU_add_test(s, "largest ESP payload per MTU", test_payload_max) == NULL ||
			CU_add_test(s, "ICMP fragmentation needed, field by field",
				test_icmp_fields) == NULL ||
			CU_add_test(s, "no ICMP about errors, fragments, non-hosts",
				test_icmp_never) == NULL ||
			CU_add_test(s, "--icmp-rate", test_icmp_rate) == NULL ||
			CU_add_test(s, "a chained frame: one buffer, or too big", test_chain) == NULL)
		return -1;
	return 0;
}
