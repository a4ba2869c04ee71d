/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The conf suite's per-SA options beyond the basics: more AEADs, the ESN
 * start value and TFC padding sizes (their bad inputs are in test_conf.c's
 * table with the rest).
 */
#include <stdint.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "sg_conf.h"
#include "sg_sa.h"
#include "test_conf.h"

/* aes-192-gcm (RFC 4106) and chacha20-poly1305 (RFC 7634), as
 * ipsec-secgw spells them: key, then the 4-byte salt. */
void
test_more_aeads(void)
{
	static const uint8_t k192[24] = {0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa,
		0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0, 0xc1, 0xc2, 0xc3, 0xc4, 0xd1, 0xd2, 0xd3, 0xd4};
	static const uint8_t s192[4] = {0xd5, 0xd6, 0xd7, 0xd8};
	static const uint8_t s_cc[4] = {0xf1, 0xf2, 0xf3, 0xf4};
	const char *text =
		"sa in 10 aead_algo aes-192-gcm aead_key " K20 ":d1:d2:d3:d4:d5:d6:d7:d8" TUN "\n"
		"sa out 11 aead_algo chacha20-poly1305 aead_key " K36 TUN " esn\n";
	struct sg_conf c;

	CU_ASSERT_EQUAL_FATAL(parse(text, &c), 0);
	CU_ASSERT_EQUAL_FATAL(c.nb_sa, 2);
	CU_ASSERT_EQUAL(c.sa[0].prm.cipher, SG_AEAD_AES192_GCM);
	CU_ASSERT_EQUAL(c.sa[0].prm.key_len, 24);
	CU_ASSERT(memcmp(c.sa[0].prm.key, k192, sizeof(k192)) == 0);
	CU_ASSERT(memcmp(c.sa[0].prm.salt, s192, sizeof(s192)) == 0);
	CU_ASSERT_EQUAL(c.sa[1].prm.cipher, SG_AEAD_CHACHA20_POLY1305);
	CU_ASSERT_EQUAL(c.sa[1].prm.key_len, 32);
	CU_ASSERT_EQUAL(c.sa[1].prm.key[0], 0xd1);
	CU_ASSERT_EQUAL(c.sa[1].prm.key[31], 0xf0);
	CU_ASSERT(memcmp(c.sa[1].prm.salt, s_cc, sizeof(s_cc)) == 0);
	CU_ASSERT(c.sa[1].prm.esn);
	CU_ASSERT_EQUAL(c.sa[1].prm.esn_start, 0);
	sg_conf_free(&c);
}

/* "mode transport", as ipsec-secgw writes it (no hosts) and with both hosts. */
void
test_transport(void)
{
	const char *text =
		"sa out 40 " GCM128 " mode transport\n"
		"sa in 41 " GCM128 " mode transport src 10.1.0.9 dst 10.2.0.9 esn\n";
	struct sg_conf c;

	CU_ASSERT_EQUAL_FATAL(parse(text, &c), 0);
	CU_ASSERT_EQUAL_FATAL(c.nb_sa, 2);
	CU_ASSERT(c.sa[0].prm.mode == SG_SA_TRANSPORT4 && c.sa[0].prm.tun_src == 0 &&
			c.sa[0].prm.tun_dst == 0);
	CU_ASSERT(c.sa[1].prm.mode == SG_SA_TRANSPORT4 && c.sa[1].prm.tun_src == 0x0a010009 &&
			c.sa[1].prm.tun_dst == 0x0a020009 && c.sa[1].prm.esn);
	sg_conf_free(&c);
}

/* ipsec-secgw's "esn N": ESN on, starting at N; "esn 0" leaves it off. */
void
test_esn_start(void)
{
	const char *text =
		SA("out", "20") " esn 4294967296\n"
		SA("in", "21") " esn 18446744073709551614 replay_win 64\n"
		SA("in", "22") " esn 0\n";
	struct sg_conf c;

	CU_ASSERT_EQUAL_FATAL(parse(text, &c), 0);
	CU_ASSERT_EQUAL_FATAL(c.nb_sa, 3);
	CU_ASSERT(c.sa[0].prm.esn && c.sa[0].esn_set);
	CU_ASSERT_EQUAL(c.sa[0].prm.esn_start, UINT64_C(1) << 32);
	CU_ASSERT(c.sa[1].prm.esn);
	CU_ASSERT_EQUAL(c.sa[1].prm.esn_start, UINT64_MAX - 1);
	CU_ASSERT(!c.sa[2].prm.esn && !c.sa[2].esn_set);
	CU_ASSERT_EQUAL(c.sa[2].prm.esn_start, 0);
	sg_conf_free(&c);
}

/* "tfc_pad SIZE...": ascending sizes, "mtu" last; the list ends at the next keyword. */
void
test_tfc_pad(void)
{
	static const uint16_t want[][SG_SA_TFC_BUCKETS] = {
		{1000}, {128, 512, 1024, SG_SA_TFC_MTU}, {SG_SA_TFC_MTU}, {1, 65534}, {0},
	};
	const char *text =
		SA("out", "30") " tfc_pad 1000\n"
		SA("out", "31") " tfc_pad 128 512 1024 mtu esn\n"
		SA("out", "32") " tfc_pad mtu udp-encap\n"
		SA("out", "33") " tfc_pad 1 65534\n"
		SA("out", "34") "\n";
	char buf[SG_SA_TFC_TEXT_LEN];
	struct sg_conf c;
	unsigned int i;

	CU_ASSERT_EQUAL_FATAL(parse(text, &c), 0);
	CU_ASSERT_EQUAL_FATAL(c.nb_sa, RTE_DIM(want));
	for (i = 0; i < RTE_DIM(want); i++)
		CU_ASSERT(memcmp(c.sa[i].prm.tfc, want[i], sizeof(want[i])) == 0);
	/* the keyword after each list is read as one */
	CU_ASSERT(c.sa[1].prm.esn);
	CU_ASSERT(c.sa[2].prm.udp_encap);
	CU_ASSERT_STRING_EQUAL(sg_sa_tfc_format(c.sa[1].prm.tfc, buf, sizeof(buf)),
			"128 512 1024 mtu");
	CU_ASSERT_STRING_EQUAL(sg_sa_tfc_format(c.sa[3].prm.tfc, buf, sizeof(buf)), "1 65534");
	CU_ASSERT_STRING_EQUAL(sg_sa_tfc_format(c.sa[4].prm.tfc, buf, sizeof(buf)), "");
	/* a short buffer is cut, never overrun */
	CU_ASSERT_STRING_EQUAL(sg_sa_tfc_format(c.sa[1].prm.tfc, buf, 6), "128 5");
	sg_conf_free(&c);
}
