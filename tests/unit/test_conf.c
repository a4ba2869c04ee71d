/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/conf: every rule type field by field, an ipsec-secgw style GCM
 * config read unchanged (continuations, comments, CRLF), files on disk,
 * and a numbered table of bad inputs, each checked for its exact
 * "file:line: " and reason, for a zeroed result, and for key text that
 * must never reach the message.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "sg_conf.h"
#include "sg_test.h"

#include "test_conf.h"

/* Any of these in a message means key text leaked. */
static const char *const key_bits[] = {"a1:a2", "a5:a6", "ae:af", "c2:c3", "d1:d2", "e5:e6"};

char err[ERR_LEN];

int
parse(const char *text, struct sg_conf *c)
{
	memset(err, 0, sizeof(err));
	return sg_conf_parse_string(NAME, text, c, err, sizeof(err));
}

int
conf_is_zero(const struct sg_conf *c)
{
	static const struct sg_conf zero;

	return memcmp(c, &zero, sizeof(zero)) == 0;
}

int
no_key_in(const char *msg)
{
	size_t i;

	for (i = 0; i < RTE_DIM(key_bits); i++)
		if (strstr(msg, key_bits[i]) != NULL)
			return 0;
	return 1;
}

static void
test_sa_fields(void)
{
	static const uint8_t k128[] = {0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa,
		0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0};
	static const uint8_t s128[] = {0xc1, 0xc2, 0xc3, 0xc4};
	static const uint8_t k256[] = {0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda,
		0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8,
		0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef, 0xf0};
	static const uint8_t s256[] = {0xf1, 0xf2, 0xf3, 0xf4};
	const char *text =
		"# extensions and every accepted ipsec-secgw keyword\n"
		"sa in 300 aead_algo aes-128-gcm aead_key " K20 " mode ipv4-tunnel\t"
		"src 192.0.2.1 dst 198.51.100.7 type cpu-crypto port_id 3 esn replay_win 4096 "
		"lifetime_soft_sec 3000 lifetime_hard_sec 3600 lifetime_soft_bytes 1000000 "
		"lifetime_hard_bytes 18446744073709551615 lifetime_soft_packets 10 "
		"lifetime_hard_packets 20 idle_timeout 90\n"
		"\n"
		"sa out 4294967295 dst 203.0.113.9 src 203.0.113.8 mode ipv4-tunnel "
		"aead_algo aes-256-gcm aead_key " K36 "\n"
		"sa out 7 " GCM128 TUN " type lookaside-none esn 0\n"
		"sa in 8 " GCM128 TUN " type no-offload replay_win 0 udp_encap 4501 4500\n"
		"sa out 9 " GCM128 TUN " udp-encap\n";
	struct sg_conf c;
	const struct sg_conf_sa *a;

	CU_ASSERT_EQUAL_FATAL(parse(text, &c), 0);
	CU_ASSERT_STRING_EQUAL(err, "");
	CU_ASSERT_STRING_EQUAL(c.file, NAME);
	CU_ASSERT_EQUAL_FATAL(c.nb_sa, 5);
	CU_ASSERT_EQUAL(c.nb_sp + c.nb_rt + c.nb_neigh, 0);

	a = &c.sa[0];
	CU_ASSERT_EQUAL(a->line, 2);
	CU_ASSERT_EQUAL(a->prm.spi, 300);
	CU_ASSERT_EQUAL(a->prm.dir, SG_SA_IN);
	CU_ASSERT_EQUAL(a->prm.mode, SG_SA_TUNNEL4);
	CU_ASSERT_EQUAL(a->prm.cipher, SG_AEAD_AES128_GCM);
	CU_ASSERT_EQUAL(a->prm.key_len, sizeof(k128));
	CU_ASSERT(memcmp(a->prm.key, k128, sizeof(k128)) == 0);
	CU_ASSERT(memcmp(a->prm.salt, s128, sizeof(s128)) == 0);
	CU_ASSERT_EQUAL(a->prm.tun_src, 0xc0000201u);
	CU_ASSERT_EQUAL(a->prm.tun_dst, 0xc6336407u);
	CU_ASSERT_EQUAL(a->port_id, 3);
	CU_ASSERT(a->prm.esn);
	CU_ASSERT(a->esn_set);
	CU_ASSERT_EQUAL(a->prm.replay_win, 4096);
	CU_ASSERT_EQUAL(a->prm.life.soft_sec, 3000);
	CU_ASSERT_EQUAL(a->prm.life.hard_sec, 3600);
	CU_ASSERT_EQUAL(a->prm.life.soft_bytes, 1000000);
	CU_ASSERT_EQUAL(a->prm.life.hard_bytes, UINT64_MAX);
	CU_ASSERT_EQUAL(a->prm.life.soft_packets, 10);
	CU_ASSERT_EQUAL(a->prm.life.hard_packets, 20);
	CU_ASSERT_EQUAL(a->prm.life.idle_sec, 90);

	a = &c.sa[1];
	CU_ASSERT_EQUAL(a->line, 4);
	CU_ASSERT_EQUAL(a->prm.spi, UINT32_MAX);
	CU_ASSERT_EQUAL(a->prm.dir, SG_SA_OUT);
	CU_ASSERT_EQUAL(a->prm.cipher, SG_AEAD_AES256_GCM);
	CU_ASSERT_EQUAL(a->prm.key_len, sizeof(k256));
	CU_ASSERT(memcmp(a->prm.key, k256, sizeof(k256)) == 0);
	CU_ASSERT(memcmp(a->prm.salt, s256, sizeof(s256)) == 0);
	CU_ASSERT_EQUAL(a->prm.tun_src, 0xcb007108u);
	CU_ASSERT_EQUAL(a->prm.tun_dst, 0xcb007109u);
	CU_ASSERT_EQUAL(a->port_id, -1);
	CU_ASSERT(!a->prm.esn);
	CU_ASSERT(!a->esn_set);
	CU_ASSERT(!a->prm.udp_encap);
	CU_ASSERT_EQUAL(a->prm.replay_win, SG_CONF_UNSET);
	CU_ASSERT_EQUAL(a->prm.life.soft_sec + a->prm.life.hard_sec + a->prm.life.idle_sec, 0);
	CU_ASSERT_EQUAL(a->prm.life.soft_bytes + a->prm.life.hard_bytes, 0);
	CU_ASSERT_EQUAL(a->prm.life.soft_packets + a->prm.life.hard_packets, 0);

	/* ipsec-secgw's "esn 0" leaves ESN to the command line. */
	a = &c.sa[2];
	CU_ASSERT_EQUAL(a->prm.spi, 7);
	CU_ASSERT(!a->prm.esn);
	CU_ASSERT(!a->esn_set);

	/* ESP in UDP: SPORT DPORT as on this SA's packets; ipsec-secgw's
	 * bare udp-encap is 4500 both ways. */
	a = &c.sa[3];
	CU_ASSERT_EQUAL(a->prm.replay_win, 0);
	CU_ASSERT(a->prm.udp_encap && a->prm.udp_sport == 4501 && a->prm.udp_dport == 4500);
	a = &c.sa[4];
	CU_ASSERT(a->prm.udp_encap && a->prm.udp_sport == 4500 && a->prm.udp_dport == 4500);
	sg_conf_free(&c);
	CU_ASSERT(conf_is_zero(&c));
}

static void
test_sp_fields(void)
{
	const char *text =
		"sa in 9 " GCM128 TUN "\n"
		"sa out 10 " GCM128 TUN "\n"
		"sp ipv4 in esp protect 9 pri 7 src 10.1.2.3/24 dst 192.168.1.77/32 "
		"proto 17 sport 1000:2000 dport 53:53\n"
		"sp ipv4 out esp bypass\n"
		"sp ipv4 out discard pri 4294967295 esp src 0.0.0.0/0 proto 6:255\n"
		"sp ipv4 out esp protect 10 proto 0:0 dst 172.16.0.0/12\n"
		"sp ipv4 in esp bypass proto 16:240\n";
	struct sg_conf c;
	const struct sg_conf_sp *s;

	CU_ASSERT_EQUAL_FATAL(parse(text, &c), 0);
	CU_ASSERT_EQUAL_FATAL(c.nb_sp, 5);

	s = &c.sp[0];
	CU_ASSERT_EQUAL(s->line, 3);
	CU_ASSERT_EQUAL(s->dir, SG_SA_IN);
	CU_ASSERT_EQUAL(s->spi, 9);
	CU_ASSERT_EQUAL(s->rule.action, SG_SP_PROTECT);
	CU_ASSERT_EQUAL(s->rule.priority, 7);
	CU_ASSERT_EQUAL(s->rule.sa_idx, 0);
	/* Host bits are masked off, as rte_acl does for ipsec-secgw. */
	CU_ASSERT_EQUAL(s->rule.src, 0x0a010200u);
	CU_ASSERT_EQUAL(s->rule.src_depth, 24);
	CU_ASSERT_EQUAL(s->rule.dst, 0xc0a8014du);
	CU_ASSERT_EQUAL(s->rule.dst_depth, 32);
	CU_ASSERT_EQUAL(s->rule.proto, 17);
	CU_ASSERT_EQUAL(s->rule.proto_mask, 0xff);
	CU_ASSERT_EQUAL(s->rule.sport_lo, 1000);
	CU_ASSERT_EQUAL(s->rule.sport_hi, 2000);
	CU_ASSERT_EQUAL(s->rule.dport_lo, 53);
	CU_ASSERT_EQUAL(s->rule.dport_hi, 53);

	/* Defaults: any address, any protocol, any port. */
	s = &c.sp[1];
	CU_ASSERT_EQUAL(s->dir, SG_SA_OUT);
	CU_ASSERT_EQUAL(s->rule.action, SG_SP_BYPASS);
	CU_ASSERT_EQUAL(s->spi, 0);
	CU_ASSERT_EQUAL(s->rule.priority, 0);
	CU_ASSERT_EQUAL(s->rule.src_depth + s->rule.dst_depth, 0);
	CU_ASSERT_EQUAL(s->rule.src | s->rule.dst, 0);
	CU_ASSERT_EQUAL(s->rule.proto_mask, 0);
	CU_ASSERT_EQUAL(s->rule.sport_lo, 0);
	CU_ASSERT_EQUAL(s->rule.sport_hi, 65535);
	CU_ASSERT_EQUAL(s->rule.dport_lo, 0);
	CU_ASSERT_EQUAL(s->rule.dport_hi, 65535);

	s = &c.sp[2];
	CU_ASSERT_EQUAL(s->rule.action, SG_SP_DISCARD);
	CU_ASSERT_EQUAL(s->rule.priority, UINT32_MAX);
	CU_ASSERT_EQUAL(s->rule.proto, 6);
	CU_ASSERT_EQUAL(s->rule.proto_mask, 0xff);

	s = &c.sp[3];
	CU_ASSERT_EQUAL(s->spi, 10);
	CU_ASSERT_EQUAL(s->rule.proto_mask, 0);
	CU_ASSERT_EQUAL(s->rule.dst, 0xac100000u);
	CU_ASSERT_EQUAL(s->rule.dst_depth, 12);

	/* ipsec-secgw's proto V:M is an rte_acl bitmask. */
	s = &c.sp[4];
	CU_ASSERT_EQUAL(s->rule.proto, 16);
	CU_ASSERT_EQUAL(s->rule.proto_mask, 240);
	sg_conf_free(&c);
}

static void
test_punt_fields(void)
{
	const char *text =
		"punt port 0 addr 172.16.0.2/24\n"
		"# comment\n"
		"punt port 2 addr 192.0.2.1/32 addr 198.51.100.7/25 iface wan-k0 rate 500 \\\n"
		"    burst 16 via 192.0.2.254\n"
		"punt port 3 addr 2001:db8::2/64 addr 192.0.2.9/24 addr fe80::1:2/64\n";
	static const uint8_t v6a[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};
	static const uint8_t v6b[16] = {0xfe, 0x80, [13] = 1, [15] = 2};
	struct sg_conf c;

	CU_ASSERT_EQUAL_FATAL(parse(text, &c), 0);
	CU_ASSERT_EQUAL_FATAL(c.nb_punt, 3);
	CU_ASSERT_EQUAL(c.punt[0].line, 1);
	CU_ASSERT_EQUAL(c.punt[0].prm.port, 0);
	CU_ASSERT_EQUAL(c.punt[0].prm.nb_addr, 1);
	CU_ASSERT_EQUAL(c.punt[0].prm.addr[0], 0xac100002u); /* host part kept */
	CU_ASSERT_EQUAL(c.punt[0].prm.depth[0], 24);
	CU_ASSERT_EQUAL(c.punt[0].prm.rate, SG_PUNT_RATE_DEFAULT);
	CU_ASSERT_EQUAL(c.punt[0].prm.burst, SG_PUNT_BURST_DEFAULT);
	CU_ASSERT_EQUAL(c.punt[0].prm.iface[0], '\0');
	CU_ASSERT_EQUAL(c.punt[0].prm.via, 0);
	CU_ASSERT_EQUAL(c.punt[1].line, 3);
	CU_ASSERT_EQUAL(c.punt[1].prm.port, 2);
	CU_ASSERT_EQUAL(c.punt[1].prm.nb_addr, 2);
	CU_ASSERT_EQUAL(c.punt[1].prm.addr[1], 0xc6336407u);
	CU_ASSERT_EQUAL(c.punt[1].prm.depth[1], 25);
	CU_ASSERT_STRING_EQUAL(c.punt[1].prm.iface, "wan-k0");
	CU_ASSERT_EQUAL(c.punt[1].prm.rate, 500);
	CU_ASSERT_EQUAL(c.punt[1].prm.burst, 16);
	CU_ASSERT_EQUAL(c.punt[1].prm.via, 0xc00002feu);
	CU_ASSERT_EQUAL(c.punt[1].prm.nb_addr6, 0);
	/* IPv6 and IPv4 words mixed: each family in its own list, in order. */
	CU_ASSERT_EQUAL(c.punt[2].line, 5);
	CU_ASSERT_EQUAL(c.punt[2].prm.nb_addr, 1);
	CU_ASSERT_EQUAL(c.punt[2].prm.addr[0], 0xc0000209u);
	CU_ASSERT_EQUAL_FATAL(c.punt[2].prm.nb_addr6, 2);
	CU_ASSERT(memcmp(c.punt[2].prm.addr6[0], v6a, 16) == 0); /* host part kept */
	CU_ASSERT_EQUAL(c.punt[2].prm.depth6[0], 64);
	CU_ASSERT(memcmp(c.punt[2].prm.addr6[1], v6b, 16) == 0);
	CU_ASSERT_EQUAL(c.punt[2].prm.depth6[1], 64);
	sg_conf_free(&c);
	/* An IPv6 address alone is enough. */
	CU_ASSERT_EQUAL_FATAL(parse("punt port 1 addr 2001:db8::7/128\n", &c), 0);
	CU_ASSERT_EQUAL(c.punt[0].prm.nb_addr, 0);
	CU_ASSERT_EQUAL(c.punt[0].prm.nb_addr6, 1);
	CU_ASSERT_EQUAL(c.punt[0].prm.depth6[0], 128);
	sg_conf_free(&c);
}

static void
test_rt_neigh_fields(void)
{
	const char *text =
		"rt ipv4 dst 172.16.2.5/32 port 0\n"
		"rt ipv4 port 3 dst 192.168.115.9/24\n"
		"rt ipv4 dst 192.168.0.0/16\n"
		"rt ipv4 port 1\n"
		"neigh port 0 DE:AD:BE:EF:01:02\n"
		"neigh  port 31  0:1:2:a:b:c \n";
	struct sg_conf c;

	CU_ASSERT_EQUAL_FATAL(parse(text, &c), 0);
	CU_ASSERT_EQUAL_FATAL(c.nb_rt, 4);
	CU_ASSERT_EQUAL_FATAL(c.nb_neigh, 2);
	CU_ASSERT_EQUAL(c.rt[0].prm.dst, 0xac100205u);
	CU_ASSERT_EQUAL(c.rt[0].prm.depth, 32);
	CU_ASSERT_EQUAL(c.rt[0].prm.port, 0);
	CU_ASSERT_EQUAL(c.rt[0].line, 1);
	CU_ASSERT_EQUAL(c.rt[1].prm.dst, 0xc0a87300u);
	CU_ASSERT_EQUAL(c.rt[1].prm.depth, 24);
	CU_ASSERT_EQUAL(c.rt[1].prm.port, 3);
	/* ipsec-secgw's defaults: port 0, dst 0.0.0.0/0. */
	CU_ASSERT_EQUAL(c.rt[2].prm.port, 0);
	CU_ASSERT_EQUAL(c.rt[2].prm.depth, 16);
	CU_ASSERT_EQUAL(c.rt[3].prm.dst, 0);
	CU_ASSERT_EQUAL(c.rt[3].prm.depth, 0);
	CU_ASSERT_EQUAL(c.rt[3].prm.port, 1);

	CU_ASSERT_EQUAL(c.neigh[0].line, 5);
	CU_ASSERT_EQUAL(c.neigh[0].prm.port, 0);
	CU_ASSERT_EQUAL(c.neigh[0].prm.mac.addr_bytes[0], 0xde);
	CU_ASSERT_EQUAL(c.neigh[0].prm.mac.addr_bytes[3], 0xef);
	CU_ASSERT_EQUAL(c.neigh[0].prm.mac.addr_bytes[5], 0x02);
	CU_ASSERT_EQUAL(c.neigh[1].prm.port, 31);
	CU_ASSERT_EQUAL(c.neigh[1].prm.mac.addr_bytes[0], 0x00);
	CU_ASSERT_EQUAL(c.neigh[1].prm.mac.addr_bytes[3], 0x0a);
	CU_ASSERT_EQUAL(c.neigh[1].prm.mac.addr_bytes[5], 0x0c);
	sg_conf_free(&c);
}

/*
 * ep0.cfg's shape with GCM SAs: keys split across lines with no blank, as
 * ep0.cfg does, a '#' line inside a continued rule (ipsec-secgw skips it),
 * trailing comments, duplicate policies as ep0.cfg has them.
 */
static const char gcm_cfg[] =
	"###########################################################################\n"
	"#   IPSEC-SECGW Endpoint sample configuration, GCM edition\n"
	"###########################################################################\n"
	"\n"
	"#SP IPv4 rules\n"
	"sp ipv4 out esp protect 5 pri 1 dst 192.168.105.0/24 sport 0:65535 dport 0:65535\n"
	"sp ipv4 out esp protect 6 pri 1 dst 192.168.106.0/24 sport 0:65535 dport 0:65535\n"
	"sp ipv4 out esp bypass pri 1 dst 192.168.240.0/24 sport 0:65535 dport 0:65535\n"
	"\n"
	"sp ipv4 in esp protect 105 pri 1 dst 192.168.115.0/24 sport 0:65535 dport 0:65535\n"
	"sp ipv4 in esp protect 106 pri 1 dst 192.168.116.0/24 sport 0:65535 dport 0:65535\n"
	"sp ipv4 in esp protect 105 pri 1 dst 192.168.115.0/24 sport 0:65535 dport 0:65535\n"
	"sp ipv4 in esp bypass pri 1 dst 192.168.245.0/24 sport 0:65535 \\\n"
	"dport 0:65535\n"
	"\n"
	"#SA rules\n"
	"sa out 5 aead_algo aes-128-gcm aead_key de:ad:be:ef:de:ad:be:ef:de:ad:be:\\\n"
	"ef:de:ad:be:ef:ca:fe:ba:be mode ipv4-tunnel src 172.16.1.5 dst 172.16.2.5\n"
	"\n"
	"sa out 6 aead_algo aes-256-gcm aead_key \\\n"
	"a0:a0:a0:a0:a0:a0:a0:a0:a0:a0:a0:a0:a0:a0:a0:a0:a0:a0:a0:a0:a0:a0:a0:a0:\\\n"
	"a0:a0:a0:a0:a0:a0:a0:a0:01:02:03:04 \\\n"
	"mode ipv4-tunnel src 172.16.1.6 dst 172.16.2.6 type no-offload # trailing comment\n"
	"\n"
	"sa in 105 aead_algo aes-128-gcm \\\n"
	"aead_key de:ad:be:ef:de:ad:be:ef:de:ad:be:ef:de:ad:be:ef:de:ad:be:ef \\\n"
	"# type inline-crypto-offload port_id 0 \\\n"
	"mode ipv4-tunnel src 172.16.2.5 dst 172.16.1.5\n"
	"\n"
	"sa in 106 aead_algo aes-256-gcm aead_key 4d:4d:4d:4d:4d:4d:4d:4d:4d:4d:4d:\\\n"
	"4d:4d:4d:4d:4d:4d:4d:4d:4d:4d:4d:4d:4d:4d:4d:4d:4d:4d:4d:4d:4d:4d:4d:4d:4d \\\n"
	"mode ipv4-tunnel src 172.16.2.6 dst 172.16.1.6 port_id 1\n"
	"\n"
	"#Routing rules\n"
	"rt ipv4 dst 172.16.2.5/32 port 0\n"
	"rt ipv4 dst 172.16.2.6/32 port 1\n"
	"rt ipv4 dst 192.168.175.0/24 port 0\n"
	"rt ipv4 dst 192.168.115.0/24 port 2\n"
	"rt ipv4 dst 192.168.116.0/24 port 3\n"
	"\n"
	"neigh port 0 de:ad:be:ef:00:00\n"
	"neigh port 1 de:ad:be:ef:00:01\n";

static void
check_gcm_cfg(const struct sg_conf *c)
{
	static const uint8_t k5[] = {0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef, 0xde, 0xad,
		0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef};
	static const uint8_t s5[] = {0xca, 0xfe, 0xba, 0xbe};
	static const uint8_t s6[] = {1, 2, 3, 4};

	CU_ASSERT_EQUAL_FATAL(c->nb_sp, 7);
	CU_ASSERT_EQUAL_FATAL(c->nb_sa, 4);
	CU_ASSERT_EQUAL_FATAL(c->nb_rt, 5);
	CU_ASSERT_EQUAL_FATAL(c->nb_neigh, 2);
	CU_ASSERT_EQUAL(c->sp[6].line, 13);
	CU_ASSERT_EQUAL(c->sp[6].rule.dport_hi, 65535);
	CU_ASSERT_EQUAL(c->sa[0].line, 17);
	CU_ASSERT_EQUAL(c->sa[0].prm.key_len, 16);
	CU_ASSERT(memcmp(c->sa[0].prm.key, k5, sizeof(k5)) == 0);
	CU_ASSERT(memcmp(c->sa[0].prm.salt, s5, sizeof(s5)) == 0);
	CU_ASSERT_EQUAL(c->sa[0].prm.tun_dst, 0xac100205u);
	CU_ASSERT_EQUAL(c->sa[1].line, 20);
	CU_ASSERT_EQUAL(c->sa[1].prm.cipher, SG_AEAD_AES256_GCM);
	CU_ASSERT_EQUAL(c->sa[1].prm.key[31], 0xa0);
	CU_ASSERT(memcmp(c->sa[1].prm.salt, s6, sizeof(s6)) == 0);
	CU_ASSERT_EQUAL(c->sa[2].line, 25);
	CU_ASSERT_EQUAL(c->sa[2].prm.dir, SG_SA_IN);
	CU_ASSERT_EQUAL(c->sa[2].port_id, -1);
	CU_ASSERT_EQUAL(c->sa[2].prm.tun_src, 0xac100205u);
	CU_ASSERT_EQUAL(c->sa[3].line, 30);
	CU_ASSERT_EQUAL(c->sa[3].port_id, 1);
	CU_ASSERT_EQUAL(c->sa[3].prm.salt[3], 0x4d);
	CU_ASSERT_EQUAL(c->rt[4].line, 39);
	CU_ASSERT_EQUAL(c->neigh[1].line, 42);
	CU_ASSERT_EQUAL(c->neigh[1].prm.mac.addr_bytes[5], 1);
}

static char *
to_crlf(const char *s)
{
	size_t n = 0, i;
	char *out, *o;

	for (i = 0; s[i] != '\0'; i++)
		n += s[i] == '\n' ? 2 : 1;
	out = malloc(n + 1);
	if (out == NULL)
		return NULL;
	for (o = out; *s != '\0'; s++) {
		if (*s == '\n')
			*o++ = '\r';
		*o++ = *s;
	}
	*o = '\0';
	return out;
}

static void
test_secgw_gcm_config(void)
{
	struct sg_conf c;
	char *crlf;

	CU_ASSERT_EQUAL_FATAL(parse(gcm_cfg, &c), 0);
	check_gcm_cfg(&c);
	sg_conf_free(&c);

	crlf = to_crlf(gcm_cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(crlf);
	CU_ASSERT_EQUAL_FATAL(parse(crlf, &c), 0);
	check_gcm_cfg(&c);
	sg_conf_free(&c);
	free(crlf);
}

static int
write_tmp_n(char *path, const char *text, size_t len)
{
	int fd = mkstemp(path);

	if (fd < 0)
		return -1;
	if (write(fd, text, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	return close(fd);
}

static int
write_tmp(char *path, const char *text)
{
	return write_tmp_n(path, text, strlen(text));
}

static void
test_file(void)
{
	static const char nul_text[] =
		"rt ipv4 dst 10.0.0.0/8 port 0\nrt ipv4 dst 10.1.0.0/16\0 port 1\n";
	char path[] = "/tmp/sg_test_conf_XXXXXX";
	char expect[ERR_LEN];
	struct sg_conf c;
	int rc;

	CU_ASSERT_EQUAL_FATAL(write_tmp(path, gcm_cfg), 0);
	rc = sg_conf_parse_file(path, &c, err, sizeof(err));
	CU_ASSERT_EQUAL(rc, 0);
	if (rc == 0) {
		CU_ASSERT_STRING_EQUAL(c.file, path);
		check_gcm_cfg(&c);
		sg_conf_free(&c);
	}
	unlink(path);

	/* Errors name the path given. */
	strcpy(path, "/tmp/sg_test_conf_XXXXXX");
	CU_ASSERT_EQUAL_FATAL(write_tmp(path, "\n\nsa in 5 bogus\n"), 0);
	memset(&c, 0xa5, sizeof(c));
	CU_ASSERT_EQUAL(sg_conf_parse_file(path, &c, err, sizeof(err)), -EINVAL);
	snprintf(expect, sizeof(expect), "%s:3: sa: unknown keyword 'bogus'", path);
	CU_ASSERT_STRING_EQUAL(err, expect);
	CU_ASSERT(conf_is_zero(&c));
	unlink(path);

	/* Only a file can hold a NUL byte; it is refused, not read as an end of line. */
	strcpy(path, "/tmp/sg_test_conf_XXXXXX");
	CU_ASSERT_EQUAL_FATAL(write_tmp_n(path, nul_text, sizeof(nul_text) - 1), 0);
	CU_ASSERT_EQUAL(sg_conf_parse_file(path, &c, err, sizeof(err)), -EINVAL);
	snprintf(expect, sizeof(expect), "%s:2: NUL byte in the line", path);
	CU_ASSERT_STRING_EQUAL(err, expect);
	CU_ASSERT(conf_is_zero(&c));
	unlink(path);

	memset(&c, 0xa5, sizeof(c));
	rc = sg_conf_parse_file("/nonexistent/dir/rules.cfg", &c, err, sizeof(err));
	CU_ASSERT_EQUAL(rc, -ENOENT);
	CU_ASSERT_STRING_EQUAL(err, "/nonexistent/dir/rules.cfg: cannot open: "
		"No such file or directory");
	CU_ASSERT(conf_is_zero(&c));

	/* A directory opens but cannot be read. */
	rc = sg_conf_parse_file("/tmp", &c, err, sizeof(err));
	CU_ASSERT_EQUAL(rc, -EISDIR);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "/tmp: cannot read: "));
	CU_ASSERT(conf_is_zero(&c));
}

/*
 * ipsec-secgw's own sample (Debian's dpdk-doc, which scripts/setup.sh
 * installs): read as far as its first unsupported rule, an IPv6 policy.
 * With its IPv6 rules blanked (line numbers kept), its AES-CBC/HMAC-SHA-1
 * SAs, tunnel and transport mode (lines 69-84), load, and the first
 * refusal is line 85's SA without integrity (cipher and auth null).
 */
static void
test_secgw_sample(void)
{
	static const char ep0[] = "/usr/share/dpdk/examples/ipsec-secgw/ep0.cfg";
	static char text[64 * 1024];
	struct sg_conf c;
	char expect[ERR_LEN];
	int in_v6 = 0;
	size_t n, i;
	FILE *f;

	f = fopen(ep0, "r");
	if (f == NULL)
		CU_FAIL_FATAL("ipsec-secgw's ep0.cfg is missing: install dpdk-doc (scripts/setup.sh)");
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	CU_ASSERT_FATAL(n > 0 && n < sizeof(text) - 1);
	text[n] = '\0';
	CU_ASSERT_EQUAL(sg_conf_parse_file(ep0, &c, err, sizeof(err)), -EINVAL);
	snprintf(expect, sizeof(expect), "%s:40: sp: ipv6 policies are not supported yet", ep0);
	CU_ASSERT_NSTRING_EQUAL(err, expect, strlen(expect));
	CU_ASSERT(conf_is_zero(&c));

	/* blank each "sp ipv6" or "rt ipv6" rule, continuation lines too */
	for (i = 0; i < n; i++) {
		size_t end = i;

		while (end < n && text[end] != '\n')
			end++;
		if (strncmp(text + i, "sp ipv6", 7) == 0 || strncmp(text + i, "rt ipv6", 7) == 0)
			in_v6 = 1;
		if (in_v6) {
			int cont = end > i && text[end - 1] == '\\';

			memset(text + i, ' ', end - i);
			in_v6 = cont;
		}
		i = end;
	}
	CU_ASSERT_EQUAL(sg_conf_parse_string(ep0, text, &c, err, sizeof(err)), -EINVAL);
	snprintf(expect, sizeof(expect), "%s:85: sa: auth_algo null is refused", ep0);
	if (strncmp(err, expect, strlen(expect)) != 0)
		printf("\n  ep0.cfg without IPv6: %s\n", err);
	CU_ASSERT_NSTRING_EQUAL(err, expect, strlen(expect));
	CU_ASSERT(conf_is_zero(&c));
}

static void
test_empty_and_args(void)
{
	struct sg_conf c;

	CU_ASSERT_EQUAL(parse("", &c), 0);
	CU_ASSERT_EQUAL(c.nb_sa + c.nb_sp + c.nb_rt + c.nb_neigh, 0);
	CU_ASSERT_PTR_NULL(c.sa);
	sg_conf_free(&c);
	CU_ASSERT_EQUAL(parse("# only comments\n\n   \n\t# more\n", &c), 0);
	sg_conf_free(&c);
	/* No trailing newline on the last rule. */
	CU_ASSERT_EQUAL(parse("rt ipv4 dst 10.0.0.0/8 port 1", &c), 0);
	CU_ASSERT_EQUAL(c.nb_rt, 1);
	sg_conf_free(&c);
	sg_conf_free(&c);
	sg_conf_free(NULL);
	CU_ASSERT_EQUAL(sg_conf_parse_string(NAME, "", NULL, err, sizeof(err)), -EINVAL);
	CU_ASSERT_EQUAL(sg_conf_parse_string(NAME, "sa", &c, NULL, 0), -EINVAL);
	CU_ASSERT(conf_is_zero(&c));
	/* A short buffer still gets a terminated, truncated message. */
	memset(err, 'x', sizeof(err));
	CU_ASSERT_EQUAL(sg_conf_parse_string(NAME, "bogus", &c, err, 8), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "rules.c");
}

/* Many rules and very long lines: arrays grow, nothing has a fixed cap. */
static void
test_scale(void)
{
	enum { N = 3000, PAD = 10000 };
	size_t cap = (size_t)N * 256 + PAD + 256, len = 0;
	char *text = malloc(cap);
	struct sg_conf c;
	uint32_t i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	for (i = 0; i < N; i++) {
		len += (size_t)snprintf(text + len, cap - len,
			"sa in %u " GCM128 TUN "\nsp ipv4 in esp protect %u dst 10.%u.%u.0/24\n",
			1000 + i, 1000 + i, i / 256, i % 256);
	}
	len += (size_t)snprintf(text + len, cap - len, "rt ipv4 dst 10.0.0.0/8");
	memset(text + len, ' ', PAD);
	len += PAD;
	snprintf(text + len, cap - len, "port 2 # a long line\n");
	CU_ASSERT_EQUAL_FATAL(parse(text, &c), 0);
	CU_ASSERT_EQUAL(c.nb_sa, N);
	CU_ASSERT_EQUAL(c.nb_sp, N);
	CU_ASSERT_EQUAL(c.sa[N - 1].prm.spi, 1000 + N - 1);
	CU_ASSERT_EQUAL(c.sa[N - 1].line, 2 * N - 1);
	CU_ASSERT_EQUAL(c.rt[0].prm.port, 2);
	sg_conf_free(&c);

	/* The duplicate on the earliest line is named, however many rules. */
	len = 0;
	for (i = 0; i < N; i++)
		len += (size_t)snprintf(text + len, cap - len, "sa out %u " GCM128 TUN "\n",
			i == N - 1 ? 1500u : i == N - 2 ? 7u : 1 + i);
	CU_ASSERT_EQUAL(parse(text, &c), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "rules.cfg:2999: sa out 7: duplicate SPI (first at line 7)");
	CU_ASSERT(conf_is_zero(&c));
	free(text);
}

struct bad {
	const char *text;
	unsigned int line; /* 0: "name: " with no line */
	const char *why;   /* distinctive part of the reason */
};

/* Every entry must fail with exactly "rules.cfg:<line>: " and contain why. */
static const struct bad bad[] = {
	/* bad[0]: grammar */
	{SA("in", "5") " foo 1\n", 1, "sa: unknown keyword 'foo'"},
	{"\n" SA("in", "5") " src 10.0.0.3\n", 2, "sa: 'src' given twice"},
	{"route ipv4 dst 10.0.0.0/8 port 0\n", 1, "unknown rule 'route' (expected sp, sa, rt"},
	{"flow ipv4 dst 10.0.0.0/8 port 0 queue 0\n", 1, "flow: rte_flow rules are not supported"},
	{"sa inbound 5 " GCM128 TUN "\n", 1, "sa: direction 'inbound' is neither 'in' nor 'out'"},
	{"sa in\n", 1, "sa: missing SPI after 'in'"},
	{"sa in 5x " GCM128 TUN "\n", 1, "sa: SPI '5x' is not a decimal number"},
	{"sa in 0 " GCM128 TUN "\n", 1, "sa: SPI 0 is reserved (RFC 4303 §2.1)"},
	{"sa in 4294967296 " GCM128 TUN "\n", 1, "sa: SPI '4294967296' is out of range"},
	{"sa in 5 " GCM128 " mode ipv4-tunnel src 10.0.0.1 dst\n", 1,
		"sa: missing value after 'dst'"},
	{"sa in 5 " GCM128 " mode ipv4-tunnel src 10.0.0.1\n", 1, "needs both src and dst"},
	{"sa in 5 mode ipv4-tunnel src 10.0.0.1 dst 10.0.0.2\n", 1,
		"sa in 5: missing aead_algo (supported: aes-128-gcm, aes-256-gcm, aes-192-gcm, "
		"chacha20-poly1305), or cipher_algo and auth_algo"},
	{"sa out 6 " GCM128 " src 10.0.0.1 dst 10.0.0.2\n", 1, "sa out 6: missing 'mode"},
	/* bad[13]: what ipsec-secgw has and shardgate has not yet */
	{"sa out 5 cipher_algo 3des-cbc cipher_key 0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0 "
		"auth_algo sha1-hmac auth_key 0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0" TUN "\n",
		1, "sa: cipher_algo 3des-cbc is not supported yet (only aes-128-cbc, aes-192-cbc, "
		"aes-256-cbc, null (with aes-gmac))"},
	{SA("out", "5") " auth_algo null\n", 1, "sa: auth_algo null is refused: ESP without "
		"integrity"},
	{"sa in 5 aead_algo aes-192-gcm aead_key " K20 TUN "\n", 1,
		"aead_key for aes-192-gcm must be 28 bytes (24-byte key + 4-byte salt), got 20"},
	{"sa in 5 aead_algo chacha20-poly1305 aead_key " K20 TUN "\n", 1,
		"aead_key for chacha20-poly1305 must be 36 bytes (32-byte key + 4-byte salt), got 20"},
	{"sa in 5 aead_algo aes-128-ccm aead_key " K20 TUN "\n", 1,
		"aead_algo aes-128-ccm is not supported yet"},
	{"sa in 5 aead_algo aes-999-gcm aead_key " K20 TUN "\n", 1,
		"sa: unknown aead_algo 'aes-999-gcm'"},
	{"sa in 5 " GCM128 " mode ipv6-tunnel\n", 1, "sa: mode ipv6-tunnel is not supported yet"},
	{"sa in 5 " GCM128 " mode transport src 10.0.0.1\n", 1,
		"sa in 5: mode transport takes both src and dst (the two hosts) or neither"},
	{"sa out 5 " GCM128 " mode transport udp-encap\n", 1,
		"sa out 5: mode transport with udp_encap is not supported yet"},
	{"sa out 5 " GCM128 " mode transport tfc_pad 500\n", 1,
		"sa out 5: mode transport with tfc_pad is not supported yet"},
	{"sa in 5 " GCM128 " mode tunnel\n", 1, "sa: unknown mode 'tunnel'"},
	{SA("in", "5") " type inline-crypto-offload port_id 0\n", 1,
		"sa: type inline-crypto-offload is not supported yet"},
	{SA("in", "5") " type inline-protocol-offload\n", 1,
		"type inline-protocol-offload is not supported yet"},
	{SA("in", "5") " type lookaside-protocol-offload\n", 1,
		"type lookaside-protocol-offload is not supported yet"},
	{SA("in", "5") " udp_encap\n", 1, "sa: missing value after 'udp_encap'"},
	{SA("in", "5") " udp_encap 4500\n", 1, "sa: missing value after '4500'"},
	{SA("in", "5") " udp_encap 0 4500\n", 1, "sa: udp_encap SPORT '0' is out of range"},
	{SA("in", "5") " udp_encap 4500 65536\n", 1, "sa: udp_encap DPORT '65536' is out of range"},
	{SA("in", "5") " udp_encap 4500 x\n", 1, "sa: udp_encap DPORT 'x' is not a decimal number"},
	{SA("in", "5") " udp_encap 1 2 udp-encap\n", 1, "sa: udp_encap and udp-encap: give one"},
	{SA("in", "5") " udp-encap udp-encap\n", 1, "sa: 'udp-encap' given twice"},
	{SA("in", "5") " tfc_pad 1000\n", 1, "sa: tfc_pad applies to outbound SAs only"},
	{SA("out", "5") " tfc_pad\n", 1, "sa: missing size after 'tfc_pad' (bytes, or 'mtu')"},
	{SA("out", "5") " tfc_pad esn\n", 1, "sa: missing size after 'tfc_pad'"},
	{SA("out", "5") " tfc_pad 0\n", 1, "sa: tfc_pad '0' is out of range"},
	{SA("out", "5") " tfc_pad 65535\n", 1, "sa: tfc_pad '65535' is out of range"},
	{SA("out", "5") " tfc_pad 512 256\n", 1, "sa: tfc_pad sizes must ascend, but 256 follows 512"},
	{SA("out", "5") " tfc_pad 512 512\n", 1, "sa: tfc_pad sizes must ascend, but 512 follows 512"},
	{SA("out", "5") " tfc_pad mtu 1400\n", 1, "sa: tfc_pad: 'mtu' must be the last size"},
	{SA("out", "5") " tfc_pad mtu mtu\n", 1, "sa: tfc_pad: 'mtu' must be the last size"},
	{SA("out", "5") " tfc_pad 1 2 3 4 5\n", 1, "sa: tfc_pad takes at most 4 sizes"},
	{SA("out", "5") " tfc_pad 1 tfc_pad 2\n", 1, "sa: 'tfc_pad' given twice"},
	{SA("in", "5") " fallback lookaside-none\n", 1, "sa: fallback (inline-crypto fallback"},
	{SA("in", "5") " flow-direction 0 2\n", 1, "sa: flow-direction (rte_flow queue steering)"},
	{SA("in", "5") " reassembly_en\n", 1, "sa: reassembly_en (inline IP reassembly"},
	{SA("out", "5") " mss 1400\n", 1, "sa: mss (TSO segment size) is not supported yet"},
	{SA("out", "5") " telemetry\n", 1, "sa: telemetry (per-SA telemetry switch)"},
	{SA("out", "5") " esn 18446744073709551615\n", 1, "esn"},
	{SA("in", "5") " esn 4294967296 replay_win 0\n", 1, "esn needs a replay window"},
	{"sp ipv6 out esp protect 5 pri 1 dst 0000:0000:0000:0000:5555:5555:0000:0000/96\n", 1,
		"sp: ipv6 policies are not supported yet"},
	{"rt ipv6 dst 2222:2222:2222:2222:2222:2222:2222:5555/116 port 0\n", 1,
		"rt: ipv6 routes are not supported yet"},
	{"rt ipv4 src 10.0.0.0/8 dst 10.0.0.0/8 port 0\n", 1, "rt: src is not supported yet"},
	/* bad[35]: keys */
	{"sa in 5 aead_algo aes-128-gcm aead_key a1:a2:0g" TUN "\n", 1,
		"sa: aead_key has a character that is neither a hex digit nor ':' (key not shown)"},
	{"sa in 5 aead_algo aes-128-gcm aead_key a1:a2:a3a" TUN "\n", 1,
		"sa: aead_key has a byte that is not 1 or 2 hex digits"},
	{"sa in 5 aead_algo aes-128-gcm aead_key a1::a2" TUN "\n", 1, "not 1 or 2 hex digits"},
	{"sa in 5 aead_algo aes-128-gcm aead_key " K19 TUN "\n", 1,
		"sa: aead_key for aes-128-gcm must be 20 bytes (16-byte key + 4-byte salt), "
		"got 19"},
	{"sa in 5 aead_algo aes-256-gcm aead_key " K20 TUN "\n", 1,
		"aead_key for aes-256-gcm must be 36 bytes (32-byte key + 4-byte salt), got 20"},
	{"sa in 5 aead_algo aes-128-gcm aead_key " K36 TUN "\n", 1, "must be 20 bytes"},
	{"sa in 5 aead_algo aes-128-gcm " K20 TUN "\n", 1,
		"sa: expected 'aead_key' after 'aead_algo aes-128-gcm' (found a word that looks"},
	{"sa in 5 aead_algo aes-128-gcm\n", 1, "sa: missing 'aead_key' after 'aead_algo"},
	{"sa in 5 aead_algo aes-128-gcm aead_key\n", 1, "sa: missing value after 'aead_key'"},
	{"sa in 5 aead_key " K20 TUN "\n", 1, "sa: 'aead_key' must follow 'aead_algo"},
	/* A blank before '\' splits the key: the rest must not be echoed. */
	{"sa in 5 aead_algo aes-128-gcm aead_key a1:a2:a3:a4:a5:a6:a7:a8:a9:aa \\\n"
		"ab:ac:ad:ae:af:b0:c1:c2:c3:c4" TUN "\n", 1, "got 10"},
	{"sa in 5 " GCM128 " \\\nae:af:c2:c3" TUN "\n", 2,
		"sa: unexpected word that looks like key material (not shown)"},
	/* Key text glued to a neighbour by a continuation is masked wherever it lands. */
	{"sa in 5 aead_algo aes-128-gcm aead_key\\\n" K20 TUN "\n", 1,
		"sa: expected 'aead_key' after 'aead_algo aes-128-gcm', got 'aead_keyxx:xx:xx:"},
	{"sa in 5 " GCM128 " mode ipv4-tunnel src " K20 " dst 10.0.0.2\n", 1,
		"sa: src 'xx:xx:xx:xx:xx:xx:xx:xx:xx:xx:xx:xx:xx:xx:xx:xx:xx:xx:xx:xx' is an IPv6"},
	{"\nqa1:a2:a3 mode ipv4-tunnel\n", 2, "unknown rule 'qxx:xx:xx'"},
	/* bad[50]: addresses and numbers */
	{"sa in 5 " GCM128 " mode ipv4-tunnel src 10.0.0.256 dst 10.0.0.2\n", 1,
		"sa: src '10.0.0.256' is not an IPv4 address"},
	{"sa in 5 " GCM128 " mode ipv4-tunnel src 10.0.0.1 dst 10.0.0.2/32\n", 1,
		"sa: dst '10.0.0.2/32' is a prefix"},
	{"sa in 5 " GCM128 " mode ipv4-tunnel src 2001:db8::1 dst 10.0.0.2\n", 1,
		"is an IPv6 address; IPv6 is not supported yet"},
	{SA("in", "5") " replay_win 12x\n", 1, "sa: replay_win '12x' is not a decimal number"},
	{SA("in", "5") " replay_win 65537\n", 1,
		"sa: replay_win '65537' is out of range (expected 0..65536)"},
	{SA("in", "5") " lifetime_soft_sec -1\n", 1,
		"sa: lifetime_soft_sec '-1' is not a decimal number"},
	{SA("in", "5") " lifetime_hard_sec 4294967296\n", 1,
		"lifetime_hard_sec '4294967296' is out of range"},
	{SA("in", "5") " lifetime_hard_bytes 18446744073709551616\n", 1,
		"lifetime_hard_bytes '18446744073709551616' is out of range"},
	{SA("in", "5") " idle_timeout +5\n", 1, "idle_timeout '+5' is not a decimal number"},
	{SA("in", "5") " lifetime_soft_packets 0x10\n", 1, "'0x10' is not a decimal number"},
	{SA("in", "5") " port_id 32\n", 1, "sa: port_id '32' is out of range (expected 0..31)"},
	{SA("out", "5") " replay_win 64\n", 1, "sa: replay_win applies to inbound SAs only"},
	/* bad[62]: whole-rule checks name the rule's first line */
	{"\n" SA("in", "5") " lifetime_soft_sec 100 \\\nlifetime_hard_sec 50\n", 2,
		"sa in 5: lifetime_soft_sec 100 is above lifetime_hard_sec 50"},
	{SA("in", "5") " lifetime_hard_bytes 10 lifetime_soft_bytes 11\n", 1,
		"lifetime_soft_bytes 11 is above lifetime_hard_bytes 10"},
	{SA("in", "5") " lifetime_soft_packets 2 lifetime_hard_packets 1\n", 1,
		"lifetime_soft_packets 2 is above lifetime_hard_packets 1"},
	{SA("in", "5") " esn replay_win 0\n", 1,
		"sa in 5: esn needs a replay window, but replay_win is 0"},
	/* bad[66]: policies */
	{"sp ipv4 in esp bypass dst 10.0.0.0/33\n", 1,
		"sp: dst '10.0.0.0/33' has a bad prefix length"},
	{"sp ipv4 in esp bypass src 10.0.0.0/x\n", 1, "has a bad prefix length"},
	{"sp ipv4 in esp bypass dst 10.0.0.1\n", 1, "sp: dst '10.0.0.1' has no prefix length"},
	{"sp ipv4 in esp bypass dst 10.0.0/24\n", 1, "is not an IPv4 prefix"},
	{"sp ipv4 in esp bypass sport 1-2\n", 1, "sp: sport '1-2' is not a range lo:hi"},
	{"sp ipv4 in esp bypass dport 100:50\n", 1, "sp: dport '100:50' is empty (lo > hi)"},
	{"sp ipv4 in esp bypass dport 0:65536\n", 1, "has a port above 65535"},
	{"sp ipv4 in esp bypass sport 5:\n", 1, "is not a range lo:hi"},
	{"sp ipv4 in esp bypass proto 6:17\n", 1, "the value has bits outside the mask"},
	{"sp ipv4 in esp bypass proto 256\n", 1, "sp: proto '256' is out of range"},
	{"sp ipv4 in esp bypass proto 1:2:3\n", 1, "is not value:mask"},
	{"sp ipv4 in esp protect 5 bypass\n", 1, "sp: 'bypass' conflicts with 'protect'"},
	{"sp ipv4 in esp discard protect 5\n", 1, "sp: 'protect' conflicts with 'discard'"},
	{"sp ipv4 in bypass\n", 1, "sp: missing 'esp'"},
	{"sp ipv4 in esp pri 3\n", 1, "sp: missing action"},
	{"sp ipv4 in esp protect 0\n", 1, "sp: protect 0: SPI 0 is reserved"},
	{"sp ipv4 in esp bypass pri -1\n", 1, "sp: pri '-1' is not a decimal number"},
	{"sp ipv4 sideways esp bypass\n", 1, "sp: direction 'sideways'"},
	{"sp ipv5 in esp bypass\n", 1, "sp: unknown IP version 'ipv5'"},
	{"sp ipv4 in esp bypass mark 3\n", 1, "sp: unknown keyword 'mark'"},
	{"sp ipv4 in esp bypass pri\n", 1, "sp: missing value after 'pri'"},
	/* bad[87]: routes and neighbours */
	{"rt ipv4 dst 10.0.0.0/8 port 32\n", 1, "rt: port '32' is out of range"},
	{"rt ipv4 dst 10.0.0.0/8 port 1 port 2\n", 1, "rt: 'port' given twice"},
	{"rt ipv4 dst 10.1.0.0/16 via 10.0.0.1\n", 1, "rt: unknown keyword 'via'"},
	{"rt ipv4 dst 10.0.0.1 port 0\n", 1, "rt: dst '10.0.0.1' has no prefix length"},
	{"neigh port 0 de:ad:be:ef:00\n", 1, "neigh: 'de:ad:be:ef:00' is not a MAC address"},
	{"neigh port 0 de:ad:be:ef:00:100\n", 1, "is not a MAC address"},
	{"neigh port 0 de-ad-be-ef-00-01\n", 1, "is not a MAC address"},
	{"neigh port 0\n", 1, "neigh: missing MAC address after 'port 0'"},
	{"neigh 0 de:ad:be:ef:00:01\n", 1, "neigh: expected 'port' after 'neigh', got '0'"},
	{"neigh port 0 de:ad:be:ef:00:01 extra\n", 1, "neigh: unexpected 'extra' after the MAC"},
	{"neigh port 99 de:ad:be:ef:00:01\n", 1, "neigh: port '99' is out of range"},
	/* bad[98]: whole-file checks name the later rule and the first one */
	{SA("in", "5") "\n" SA("out", "5") "\n\n" SA("in", "5") "\n", 4,
		"sa in 5: duplicate SPI (first at line 1)"},
	{SA("in", "5") "\n" SA("out", "7") "\nsp ipv4 in esp protect 7\n", 3,
		"sp in protect 7: no 'sa in 7' in this file"},
	{"sp ipv4 out esp protect 9\n", 1, "sp out protect 9: no 'sa out 9'"},
	{"\nneigh port 1 de:ad:be:ef:00:01\nneigh port 2 de:ad:be:ef:00:02\n"
		"neigh port 1 de:ad:be:ef:00:03\n", 4, "neigh port 1: duplicate (first at line 2)"},
	{"rt ipv4 dst 10.0.0.0/24 port 0\nrt ipv4 dst 10.0.0.0/16 port 0\n"
		"rt ipv4 dst 10.0.0.5/24 port 1\n", 3,
		"rt ipv4 dst 10.0.0.0/24: duplicate route (first at line 1)"},
	/* The earliest of several problems is the one reported. */
	{"rt ipv4 dst 10.0.0.0/24 port 0\nsp ipv4 in esp protect 77\n"
		"rt ipv4 dst 10.0.0.0/24 port 0\n", 2, "no 'sa in 77'"},
	/* bad[104]: physical lines */
	{"# c\n\nsa in 5 aead_algo aes-128-gcm \\\n  aead_key " K20 " \\\n"
		"  mode ipv4-tunnel src 10.0.0.1 dst 10.0.0.2 bogus\n", 5,
		"sa: unknown keyword 'bogus'"},
	{"sa in 5 aead_algo aes-128-gcm \\\n# skipped, as ipsec-secgw does \\\n"
		"aead_key " K20 " \\\n\n mode ipv4-tunnel\n", 1, "sa in 5: missing 'mode"},
	{"sa in 5 " GCM128 " \\\r\nmode ipv4-tunnel src 10.0.0.1 \\\r\n  dst 10.0.0.2 \\\r\n"
		"  type gpu\r\n", 4, "sa: unknown type 'gpu'"},
	{"\n\nrt ipv4 dst 10.0.0.0/8 \\\n", 3, "the file ends inside a rule continued with"},
	{"rt ipv4 dst 10.0.0.0/8 \\ port 0\n", 1, "stray '\\'"},
	{"rt ipv4 \\\n\\\ndst 10.0.0.0/8 \\\nport x\n", 4, "rt: port 'x' is not a decimal"},
	{"neigh port 0 de:ad:be:ef:00:01\nneigh port 1 de:ad:be:ef:00:02 # ok\n\t\tbogus\n",
		3, "unknown rule 'bogus'"},
	/* punt lines (shardgate's slow path) */
	{"punt port 0\n", 1, "punt port 0: needs at least one 'addr A.B.C.D/N'"},
	{"punt 0 addr 10.0.0.1/24\n", 1, "punt: expected 'punt port <P> addr"},
	{"punt port 0 addr 10.0.0.1\n", 1, "punt: addr '10.0.0.1': expected A.B.C.D/N"},
	{"punt port 0 addr 10.0.0.1/33\n", 1, "punt: addr '10.0.0.1/33'"},
	{"punt port 0 addr 0.0.0.0/8\n", 1, "is not a host address"},
	{"punt port 0 addr 10.0.0.1/24 rate 0\n", 1, "punt: rate '0' is out of range"},
	{"punt port 0 addr 10.0.0.1/24 rate 5 rate 6\n", 1, "punt: 'rate' given twice"},
	{"punt port 0 addr 10.0.0.1/24 burst\n", 1, "punt: missing value after 'burst'"},
	{"punt port 0 addr 10.0.0.1/24 iface a,b\n", 1, "punt: iface 'a,b': letters"},
	{"punt port 0 addr 10.0.0.1/24 iface abcdefghijklmnopq\n", 1, "1 to 15 characters"},
	{"punt port 0 addr 10.0.0.1/24 via 10.0.0\n", 1, "punt: via '10.0.0'"},
	{"punt port 0 addr 10.0.0.1/24 queue 3\n", 1, "punt: unknown keyword 'queue'"},
	{"punt port 99 addr 10.0.0.1/24\n", 1, "punt: port '99' is out of range"},
	{"\npunt port 1 addr 10.0.0.1/24\npunt port 1 addr 10.0.0.2/24\n", 3,
		"punt port 1: duplicate (first at line 2)"},
	{"punt port 1 addr 10.0.0.1/24 iface k\npunt port 2 addr 10.0.0.2/24 iface k\n", 2,
		"punt: iface k already used at line 1"},
	{"punt port 1 addr 1.0.0.1/8 addr 1.0.0.2/8 addr 1.0.0.3/8 addr 1.0.0.4/8 addr 1.0.0.5/8"
		" addr 1.0.0.6/8 addr 1.0.0.7/8 addr 1.0.0.8/8 addr 1.0.0.9/8\n", 1,
		"punt: more than 8 IPv4 addresses"},
	/* IPv6 addresses on the kernel interface, bad next to good (test_punt_fields) */
	{"punt port 0 addr 2001:db8::1\n", 1, "punt: addr '2001:db8::1': expected X:X::X/N"},
	{"punt port 0 addr 2001:db8::zz/64\n", 1,
		"punt: addr '2001:db8::zz/64' is not an IPv6 address"},
	{"punt port 0 addr 2001:db8::1/129\n", 1, "punt: addr '2001:db8::1/129' has a bad prefix"},
	{"punt port 0 addr 2001:db8::1/0\n", 1, "punt: addr '2001:db8::1/0' has a bad prefix"},
	{"punt port 0 addr ::/64\n", 1, "punt: addr '::/64' is not a unicast host address"},
	{"punt port 0 addr ::1/128\n", 1, "punt: addr '::1/128' is not a unicast host address"},
	{"punt port 0 addr ff02::1/64\n", 1, "punt: addr 'ff02::1/64' is not a unicast host"},
	{"punt port 0 addr 10.0.0.1/24 \\\n addr 2001:db8::1/64 addr 2001:db8:0::1/48\n", 2,
		"punt: addr '2001:db8:0::1/48' given twice"},
	{"punt port 0 addr 10.0.0.1/24 addr 10.0.0.1/16\n", 1, "punt: addr '10.0.0.1/16' given"},
	{"punt port 1 addr 1::1/64 addr 1::2/64 addr 1::3/64 addr 1::4/64 addr 1::5/64"
		" addr 1::6/64 addr 1::7/64 addr 1::8/64 addr 1::9/64\n", 1,
		"punt: more than 8 IPv6 addresses"},
};

static void
test_errors(void)
{
	unsigned int i;

	for (i = 0; i < RTE_DIM(bad); i++)
		conf_check_bad("bad", i, bad[i].text, bad[i].line, bad[i].why);
}

void
conf_check_bad(const char *table, unsigned int i, const char *text, unsigned int line,
		const char *why)
{
	char prefix[64];
	struct sg_conf c;
	int rc;

	memset(&c, 0xa5, sizeof(c));
	rc = parse(text, &c);
	snprintf(prefix, sizeof(prefix), NAME ":%u: ", line);
	if (rc != -EINVAL || strncmp(err, prefix, strlen(prefix)) != 0 ||
			strstr(err, why) == NULL || !conf_is_zero(&c) || !no_key_in(err))
		fprintf(stderr, "\n  %s[%u]: rc %d, got \"%s\"\n  want \"%s...%s\"\n", table, i,
			rc, err, prefix, why);
	CU_ASSERT_EQUAL(rc, -EINVAL);
	CU_ASSERT_NSTRING_EQUAL(err, prefix, strlen(prefix));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, why));
	CU_ASSERT(conf_is_zero(&c));
	CU_ASSERT(no_key_in(err));
}

int
main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return EXIT_FAILURE;
	s = CU_add_suite("conf", NULL, NULL);
	if (s == NULL || CU_add_test(s, "sa fields", test_sa_fields) == NULL ||
			CU_add_test(s, "sp fields", test_sp_fields) == NULL ||
			CU_add_test(s, "rt and neigh fields", test_rt_neigh_fields) == NULL ||
			CU_add_test(s, "punt fields", test_punt_fields) == NULL ||
			CU_add_test(s, "ipsec-secgw GCM config", test_secgw_gcm_config) == NULL ||
			CU_add_test(s, "aes-192-gcm and chacha20-poly1305", test_more_aeads) == NULL ||
			CU_add_test(s, "esn N", test_esn_start) == NULL ||
			CU_add_test(s, "tfc_pad", test_tfc_pad) == NULL ||
			CU_add_test(s, "mode transport", test_transport) == NULL ||
			CU_add_test(s, "AES-CBC with HMACs, AES-GMAC", test_cbc_gmac) == NULL ||
			CU_add_test(s, "cipher_algo/auth_algo errors", test_alg_errors) == NULL ||
			CU_add_test(s, "file on disk", test_file) == NULL ||
			CU_add_test(s, "ipsec-secgw ep0.cfg", test_secgw_sample) == NULL ||
			CU_add_test(s, "empty input and arguments", test_empty_and_args) == NULL ||
			CU_add_test(s, "scale and long lines", test_scale) == NULL ||
			CU_add_test(s, "bad inputs", test_errors) == NULL) {
		CU_cleanup_registry();
		return EXIT_FAILURE;
	}
	return sg_test_run("conf", 0);
}
