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
	return sg_test_run("pkt", 0);
}
