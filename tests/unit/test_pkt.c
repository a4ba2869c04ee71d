/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Wire-format helpers (lib/pkt): IPv4 header checks at every boundary, ESP
 * padding length for every payload length mod 4, and the RFC 4303 §2.4
 * default padding check against every single-byte corruption.
 */
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "sg_pkt.h"
#include "sg_test.h"

static void
ip_hdr(uint8_t *buf, uint8_t ihl_words, uint16_t tot)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)buf;

	memset(buf, 0, 60);
	ip->version_ihl = (uint8_t)(0x40 | ihl_words);
	ip->total_length = rte_cpu_to_be_16(tot);
}

static void
test_ipv4_check(void)
{
	uint8_t buf[128];
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)buf;
	unsigned int ihl;

	/* Every IHL: below 5 is bad, 5..15 is the header length in words. */
	for (ihl = 0; ihl <= 15; ihl++) {
		ip_hdr(buf, (uint8_t)ihl, 60);
		CU_ASSERT_EQUAL(sg_pkt_ipv4_check(ip, 60), ihl < 5 ? SG_PKT_BAD_HDR : (int)ihl * 4);
	}
	ip_hdr(buf, 5, 40);
	CU_ASSERT_EQUAL(sg_pkt_ipv4_check(ip, 19), SG_PKT_SHORT);     /* not even a header */
	CU_ASSERT_EQUAL(sg_pkt_ipv4_check(ip, 39), SG_PKT_SHORT);     /* total length beyond data */
	CU_ASSERT_EQUAL(sg_pkt_ipv4_check(ip, 40), 20);
	CU_ASSERT_EQUAL(sg_pkt_ipv4_check(ip, 100), 20);              /* L2 padding after it */
	ip_hdr(buf, 6, 20);
	CU_ASSERT_EQUAL(sg_pkt_ipv4_check(ip, 60), SG_PKT_BAD_HDR);   /* total < header */
	ip_hdr(buf, 5, 40);
	buf[0] = 0x65; /* version 6 */
	CU_ASSERT_EQUAL(sg_pkt_ipv4_check(ip, 60), SG_PKT_BAD_HDR);
	/* Fragments: MF, any offset; DF alone is not one. */
	ip_hdr(buf, 5, 40);
	ip->fragment_offset = rte_cpu_to_be_16(SG_IPV4_MF);
	CU_ASSERT_EQUAL(sg_pkt_ipv4_check(ip, 40), SG_PKT_FRAGMENT);
	ip->fragment_offset = rte_cpu_to_be_16(1);
	CU_ASSERT_EQUAL(sg_pkt_ipv4_check(ip, 40), SG_PKT_FRAGMENT);
	ip->fragment_offset = rte_cpu_to_be_16(SG_IPV4_DF);
	CU_ASSERT_EQUAL(sg_pkt_ipv4_check(ip, 40), 20);
}

static void
test_pad_len(void)
{
	uint32_t len;

	for (len = 0; len < 4096; len++) {
		uint32_t pad = sg_esp_pad_len(len);

		CU_ASSERT(pad < SG_ESP_ALIGN);
		CU_ASSERT_EQUAL((len + pad + SG_ESP_TRAILER_LEN) % SG_ESP_ALIGN, 0);
	}
}

static void
test_pad_check(void)
{
	uint8_t pad[255];
	unsigned int n, i, bit;

	for (n = 0; n <= 255; n++) {
		sg_esp_pad_fill(pad, (uint8_t)n);
		CU_ASSERT(sg_esp_pad_ok(pad, (uint8_t)n));
		for (i = 0; i < n; i++) {
			for (bit = 0; bit < 8; bit++) {
				pad[i] ^= (uint8_t)(1u << bit);
				CU_ASSERT(!sg_esp_pad_ok(pad, (uint8_t)n));
				pad[i] ^= (uint8_t)(1u << bit);
			}
		}
	}
	CU_ASSERT_EQUAL(pad[0], 1);
	CU_ASSERT_EQUAL(pad[254], 255);
}

static void
test_sizes(void)
{
	CU_ASSERT_EQUAL(SG_ESP_HDR_LEN, 8);
	CU_ASSERT_EQUAL(SG_ESP4_OVERHEAD_HEAD, 20 + 8 + 8);
	CU_ASSERT_EQUAL(SG_ESP_MIN_PAYLOAD, 8 + 8 + 2 + 16);
	CU_ASSERT_EQUAL(SG_GCM_NONCE_LEN, SG_GCM_SALT_LEN + SG_ESP_IV_LEN);
}

/* sg_ipv4_hdr_write() against the same header filled field by field and
 * summed by DPDK, over random fields and the carry edges. */
static void
test_ipv4_write(void)
{
	static const uint32_t edge[] = {0, 0xffffffff, 0xfffe0001, 0x0000ffff, 0xffff0000};
	uint64_t x = UINT64_C(0x9e3779b97f4a7c15);
	unsigned int i, bad = 0;

	for (i = 0; i < 200000; i++) {
		struct rte_ipv4_hdr got, want;
		uint32_t r[4];
		unsigned int j;

		for (j = 0; j < 4; j++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			r[j] = (uint32_t)x;
		}
		if (i < RTE_DIM(edge) * RTE_DIM(edge)) {
			r[0] = edge[i % RTE_DIM(edge)];
			r[1] = edge[i / RTE_DIM(edge)];
			r[2] = r[3] = i & 1 ? UINT32_MAX : 0;
		}
		memset(&got, 0xa5, sizeof(got));
		sg_ipv4_hdr_write(&got, (uint8_t)r[2], (uint16_t)r[2], (uint16_t)(r[2] >> 16),
				(uint16_t)r[3], (uint8_t)(r[3] >> 16), (uint8_t)(r[3] >> 24), r[0],
				r[1]);
		memset(&want, 0, sizeof(want));
		want.version_ihl = RTE_IPV4_VHL_DEF;
		want.type_of_service = (uint8_t)r[2];
		want.total_length = (uint16_t)r[2];
		want.packet_id = (uint16_t)(r[2] >> 16);
		want.fragment_offset = (uint16_t)r[3];
		want.time_to_live = (uint8_t)(r[3] >> 16);
		want.next_proto_id = (uint8_t)(r[3] >> 24);
		want.src_addr = r[0];
		want.dst_addr = r[1];
		want.hdr_checksum = rte_ipv4_cksum(&want);
		/* And the receiver's view: the finished header sums to 0xffff. */
		if (memcmp(&got, &want, sizeof(got)) != 0 || rte_raw_cksum(&got, sizeof(got)) != 0xffff)
			bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);
}

int
main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return EXIT_FAILURE;
	s = CU_add_suite("pkt", NULL, NULL);
	CU_add_test(s, "IPv4 header check at every boundary", test_ipv4_check);
	CU_add_test(s, "ESP pad length for 0..4095 bytes", test_pad_len);
	CU_add_test(s, "default padding, every bit flip caught", test_pad_check);
	CU_add_test(s, "ESP sizes", test_sizes);
	CU_add_test(s, "IPv4 header write and checksum", test_ipv4_write);
	return sg_test_run("pkt", 0);
}
