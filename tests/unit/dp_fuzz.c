/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The dp suite's mutation runs: 20000 hostile frames through each pipeline
 * on the suite's fixture (dp_fixture.h), every one counted, nothing leaked.
 */
#include <string.h>

#include <CUnit/Basic.h>
#include <rte_cycles.h>
#include <rte_mbuf.h>

#include "sg_dp.h"
#include "sg_pkt.h"
#include "sg_spd.h"
#include "dp_priv.h"
#include "dp_fixture.h"

#define NGOOD 3

/*
 * A valid ESP frame (Ethernet on) for an inbound SA @p spi of transform
 * (@p c, @p a) into @p good: what its outbound twin, same SPI and keys,
 * makes of a small UDP packet. Returns its length.
 */
static uint16_t
good_frame(uint8_t *good, size_t room, uint32_t spi, enum sg_cipher c, enum sg_auth a)
{
	uint8_t inner[64] = {0x45, 0, 0, 64, 0, 1, 0, 0, 64, SG_IPPROTO_UDP, 0, 0, 10, 1, 0, 2,
		10, 2, 0, 9};
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)good;
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint32_t out;
	uint16_t nbad, len;

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	add_sa_auth(SG_SA_IN, spi, c, a, kat128_key, kat128_salt, false, 64);
	out = add_sa_auth(SG_SA_OUT, spi, c, a, kat128_key, kat128_salt, false, 0);
	memcpy(rte_pktmbuf_append(m, sizeof(inner)), inner, sizeof(inner));
	CU_ASSERT_EQUAL_FATAL(dp_esp_outbound(lc, &m, &out, 1, &nbad, 0), 1);
	len = (uint16_t)(sizeof(*eth) + m->pkt_len);
	CU_ASSERT_FATAL(len <= room);
	memset(eth, 0, sizeof(*eth));
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	memcpy(eth + 1, rte_pktmbuf_mtod(m, void *), m->pkt_len);
	rte_pktmbuf_free(m);
	return len;
}

/*
 * Hostile input through the whole inbound pipeline: 20000 frames made by
 * flipping, overwriting and cutting valid ESP frames (Ethernet on) of three
 * transforms (AES-GCM, AES-CBC with HMAC-SHA-256, AES-GMAC), in bursts of up
 * to 64. Nothing crashes, every frame is counted exactly once under some
 * drop reason (there are no routes, so none can leave), and every mbuf
 * comes back.
 */
void
test_fuzz_inbound(void)
{
	struct rte_mbuf *mb[SG_DP_BURST_MAX];
	uint8_t goods[NGOOD][256], buf[256], *good = goods[0];
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)good;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	uint32_t seed = 12345, frames = 0, i, n, len;
	uint16_t good_len, lens[NGOOD];

	reset_all();
	add_sa(SG_SA_IN, 0x1234, SG_AEAD_AES128_GCM, kat128_key, kat128_salt, false, 64);
	lens[1] = good_frame(goods[1], sizeof(goods[1]), 0x2345, SG_CIPHER_AES128_CBC,
			SG_AUTH_SHA256_128);
	lens[2] = good_frame(goods[2], sizeof(goods[2]), 0x3456, SG_AEAD_AES128_GMAC,
			SG_AUTH_AEAD);
	memset(&lc->stats, 0, sizeof(lc->stats));
	memset(eth, 0, sizeof(*eth));
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + sizeof(kat128_esp)));
	ip->time_to_live = 64;
	ip->next_proto_id = SG_IPPROTO_ESP;
	ip->src_addr = rte_cpu_to_be_32(TUN_A);
	ip->dst_addr = rte_cpu_to_be_32(TUN_B);
	memcpy(ip + 1, kat128_esp, sizeof(kat128_esp));
	lens[0] = (uint16_t)(sizeof(*eth) + sizeof(*ip) + sizeof(kat128_esp));

	while (frames < 20000) {
		n = 1 + (seed >> 16) % SG_DP_BURST_MAX;
		for (i = 0; i < n; i++) {
			unsigned int k, edits, base = (seed >> 4) % NGOOD;

			good_len = lens[base];
			memcpy(buf, goods[base], good_len);
			len = good_len;
			seed = seed * 1103515245 + 12345;
			edits = 1 + (seed >> 16) % 4;
			for (k = 0; k < edits; k++) {
				seed = seed * 1103515245 + 12345;
				switch ((seed >> 8) % 4) {
				case 0: /* flip a bit anywhere, headers included */
					buf[(seed >> 16) % len] ^= (uint8_t)(1u << (seed % 8));
					break;
				case 1: /* overwrite a byte */
					buf[(seed >> 16) % len] = (uint8_t)(seed >> 24);
					break;
				case 2: /* cut the frame short */
					len = 1 + (seed >> 16) % len;
					break;
				default: /* grow it with junk past the IP length */
					len = RTE_MIN(len + (seed >> 16) % 64, sizeof(buf));
					break;
				}
			}
			mb[i] = rte_pktmbuf_alloc(pool);
			CU_ASSERT_FATAL(mb[i] != NULL);
			memcpy(rte_pktmbuf_append(mb[i], (uint16_t)len), buf, len);
		}
		sg_dp_process_inbound(lc, mb, (uint16_t)n);
		frames += n;
	}
	/* fragments still waiting for the rest time out, counted as reassembly */
	dp_reasm_expire(lc, rte_rdtsc() + 100 * rte_get_tsc_hz());
	CU_ASSERT(lc->stats.frag_held == 0 && lc->stats.drops[SG_DROP_REASSEMBLY] > 0);
	CU_ASSERT_EQUAL(sg_dp_stats_drops(&lc->stats) + lc->stats.frag_merged, frames);
	CU_ASSERT_EQUAL(lc->stats.tx, 0);
	check_no_leak();
}

/* The same on the protected side: mutated plaintext, one protect policy,
 * so good-looking frames are encrypted and then dropped for want of a route. */
void
test_fuzz_outbound(void)
{
	struct sg_sp_rule rule = {
		.priority = 1, .action = SG_SP_PROTECT, .dst = SG_IPV4(10, 2, 0, 0),
		.dst_depth = 16, .sport_hi = UINT16_MAX, .dport_hi = UINT16_MAX,
	};
	struct rte_mbuf *mb[SG_DP_BURST_MAX];
	uint8_t good[256], buf[256];
	uint32_t seed = 777, frames = 0, i, n, len;
	uint16_t good_len = (uint16_t)(RTE_ETHER_HDR_LEN + sizeof(kat128_inner));
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)good;
	struct sg_spd *spd;

	reset_all();
	rule.sa_idx = add_sa(SG_SA_OUT, 0x4321, SG_AEAD_AES128_GCM, kat128_key, kat128_salt,
			false, 0);
	spd = sg_spd_create("test_dp_fuzz", 0, &rule, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(spd);
	lc->spd_out = spd;
	memset(eth, 0, sizeof(*eth));
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	memcpy(eth + 1, kat128_inner, sizeof(kat128_inner));

	while (frames < 20000) {
		n = 1 + (seed >> 16) % SG_DP_BURST_MAX;
		for (i = 0; i < n; i++) {
			unsigned int k, edits;

			memcpy(buf, good, good_len);
			len = good_len;
			seed = seed * 1103515245 + 12345;
			edits = (seed >> 16) % 4; /* some frames stay intact */
			for (k = 0; k < edits; k++) {
				seed = seed * 1103515245 + 12345;
				if ((seed >> 8) % 3 == 0)
					len = 1 + (seed >> 16) % len;
				else
					buf[(seed >> 16) % len] ^= (uint8_t)(1u << (seed % 8));
			}
			mb[i] = rte_pktmbuf_alloc(pool);
			CU_ASSERT_FATAL(mb[i] != NULL);
			memcpy(rte_pktmbuf_append(mb[i], (uint16_t)len), buf, len);
		}
		sg_dp_process_outbound(lc, mb, (uint16_t)n);
		frames += n;
	}
	CU_ASSERT(lc->stats.outbound > 0); /* the intact ones were encrypted */
	CU_ASSERT_EQUAL(sg_dp_stats_drops(&lc->stats), frames);
	CU_ASSERT_EQUAL(lc->stats.tx, 0);
	lc->spd_out = NULL;
	sg_spd_free(spd);
	check_no_leak();
}
