/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <CUnit/Basic.h>
#include <rte_byteorder.h>
#include <rte_errno.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_vect.h>

#include "sg_spd.h"
#include "sg_test.h"
#include "test_spd.h"

int sock;

static uint32_t
verdict_of(enum sg_sp_action a, uint32_t sa)
{
	return ((uint32_t)a << SG_SPD_SA_BITS) | sa;
}

/* A rule that matches everything; tests narrow the fields they care about. */
struct sg_sp_rule
any_rule(uint32_t pri, enum sg_sp_action a, uint32_t sa)
{
	struct sg_sp_rule r = {
		.priority = pri,
		.action = a,
		.sa_idx = sa,
		.sport_hi = UINT16_MAX,
		.dport_hi = UINT16_MAX,
	};
	return r;
}

struct sg_spd_key
mk_key(uint8_t proto, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport)
{
	struct sg_spd_key k = {
		.proto = proto,
		.src = rte_cpu_to_be_32(src),
		.dst = rte_cpu_to_be_32(dst),
		.sport = rte_cpu_to_be_16(sport),
		.dport = rte_cpu_to_be_16(dport),
	};
	return k;
}

static uint32_t
classify1(const struct sg_spd *spd, const struct sg_spd_key *k)
{
	const struct sg_spd_key *keys[1] = {k};
	uint32_t v = 0xdeadbeef;

	sg_spd_classify(spd, keys, &v, 1);
	return v;
}

/* Shorthand for "classify one 5-tuple given in host order". */
static uint32_t
lookup(const struct sg_spd *spd, uint8_t proto, uint32_t src, uint32_t dst, uint16_t sport,
		uint16_t dport)
{
	struct sg_spd_key k = mk_key(proto, src, dst, sport, dport);

	return classify1(spd, &k);
}

/* The obvious O(n) SPD: highest priority wins, the earlier rule on a tie. */
uint32_t
ref_classify(const struct sg_sp_rule *rules, uint32_t n, const struct sg_spd_key *k)
{
	uint32_t src = rte_be_to_cpu_32(k->src), dst = rte_be_to_cpu_32(k->dst);
	uint16_t sport = rte_be_to_cpu_16(k->sport), dport = rte_be_to_cpu_16(k->dport);
	const struct sg_sp_rule *best = NULL;
	uint32_t i, sm, dm;

	for (i = 0; i < n; i++) {
		const struct sg_sp_rule *r = &rules[i];

		sm = r->src_depth == 0 ? 0 : UINT32_MAX << (32 - r->src_depth);
		dm = r->dst_depth == 0 ? 0 : UINT32_MAX << (32 - r->dst_depth);
		if (((src ^ r->src) & sm) != 0 || ((dst ^ r->dst) & dm) != 0)
			continue;
		if (((k->proto ^ r->proto) & r->proto_mask) != 0)
			continue;
		if (sport < r->sport_lo || sport > r->sport_hi || dport < r->dport_lo ||
				dport > r->dport_hi)
			continue;
		if (best == NULL || r->priority > best->priority)
			best = r;
	}
	if (best == NULL)
		return 0;
	return verdict_of(best->action, best->action == SG_SP_PROTECT ? best->sa_idx : 0);
}

/* xorshift64*: a fixed seed makes every failure reproducible. */
uint64_t rng_state;

uint32_t
rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * UINT64_C(2685821657736338717)) >> 32);
}

uint32_t
rnd_below(uint32_t n)
{
	return (uint32_t)(((uint64_t)rnd() * n) >> 32);
}

static void
test_actions(void)
{
	struct sg_sp_rule rules[4];
	struct sg_spd *spd;
	uint32_t v;

	rules[0] = any_rule(1, SG_SP_PROTECT, 7);
	rules[0].dst = IP4(192, 0, 2, 1);
	rules[0].dst_depth = 32;
	rules[1] = any_rule(1, SG_SP_BYPASS, 99); /* sa_idx ignored off protect */
	rules[1].dst = IP4(192, 0, 2, 2);
	rules[1].dst_depth = 32;
	rules[2] = any_rule(1, SG_SP_DISCARD, 0);
	rules[2].dst = IP4(192, 0, 2, 3);
	rules[2].dst_depth = 32;
	rules[3] = any_rule(1, SG_SP_PROTECT, SG_SPD_SA_MASK);
	rules[3].dst = IP4(192, 0, 2, 4);
	rules[3].dst_depth = 32;

	spd = sg_spd_create("actions", sock, rules, RTE_DIM(rules));
	CU_ASSERT_PTR_NOT_NULL_FATAL(spd);
	CU_ASSERT_EQUAL(sg_spd_count(spd), 4);

	v = lookup(spd, P_UDP, IP4(10, 0, 0, 1), IP4(192, 0, 2, 1), 1, 2);
	CU_ASSERT_EQUAL(sg_spd_action(v), SG_SP_PROTECT);
	CU_ASSERT_EQUAL(sg_spd_sa(v), 7);
	v = lookup(spd, P_UDP, IP4(10, 0, 0, 1), IP4(192, 0, 2, 2), 1, 2);
	CU_ASSERT_EQUAL(sg_spd_action(v), SG_SP_BYPASS);
	CU_ASSERT_EQUAL(sg_spd_sa(v), 0);
	v = lookup(spd, P_UDP, IP4(10, 0, 0, 1), IP4(192, 0, 2, 3), 1, 2);
	CU_ASSERT_EQUAL(sg_spd_action(v), SG_SP_DISCARD);
	CU_ASSERT_EQUAL(sg_spd_sa(v), 0);
	v = lookup(spd, P_UDP, IP4(10, 0, 0, 1), IP4(192, 0, 2, 4), 1, 2);
	CU_ASSERT_EQUAL(sg_spd_action(v), SG_SP_PROTECT);
	CU_ASSERT_EQUAL(sg_spd_sa(v), SG_SPD_SA_MASK);
	v = lookup(spd, P_UDP, IP4(10, 0, 0, 1), IP4(192, 0, 2, 5), 1, 2);
	CU_ASSERT_EQUAL(v, 0);
	CU_ASSERT_EQUAL(sg_spd_action(v), SG_SP_NONE);
	sg_spd_free(spd);
}

/* Build a two-rule SPD in the given order and classify one key against it. */
static uint32_t
pair_lookup(const struct sg_sp_rule *a, const struct sg_sp_rule *b, uint32_t dst)
{
	struct sg_sp_rule rules[2] = {*a, *b};
	struct sg_spd *spd;
	uint32_t v;

	spd = sg_spd_create("pair", sock, rules, 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(spd);
	v = lookup(spd, P_TCP, IP4(172, 16, 0, 1), dst, 1234, 443);
	sg_spd_free(spd);
	return v;
}

static void
test_priority(void)
{
	struct sg_sp_rule wide, narrow;
	const uint32_t in_both = IP4(10, 1, 2, 3), in_wide = IP4(10, 9, 0, 1);
	const uint32_t v_wide = verdict_of(SG_SP_BYPASS, 0);
	const uint32_t v_narrow = verdict_of(SG_SP_PROTECT, 5);

	wide = any_rule(10, SG_SP_BYPASS, 0);
	wide.dst = IP4(10, 0, 0, 0);
	wide.dst_depth = 8;
	narrow = any_rule(20, SG_SP_PROTECT, 5);
	narrow.dst = IP4(10, 1, 0, 0);
	narrow.dst_depth = 16;

	/* Narrow rule has the higher priority: it wins in both insertion orders. */
	CU_ASSERT_EQUAL(pair_lookup(&wide, &narrow, in_both), v_narrow);
	CU_ASSERT_EQUAL(pair_lookup(&narrow, &wide, in_both), v_narrow);
	CU_ASSERT_EQUAL(pair_lookup(&wide, &narrow, in_wide), v_wide);
	CU_ASSERT_EQUAL(pair_lookup(&narrow, &wide, in_wide), v_wide);

	/* Priority, not prefix length, decides: the wide rule can shadow the narrow. */
	wide.priority = 30;
	CU_ASSERT_EQUAL(pair_lookup(&wide, &narrow, in_both), v_wide);
	CU_ASSERT_EQUAL(pair_lookup(&narrow, &wide, in_both), v_wide);

	/* Equal priorities: the earlier rule wins, deterministically. */
	wide.priority = narrow.priority = 20;
	CU_ASSERT_EQUAL(pair_lookup(&wide, &narrow, in_both), v_wide);
	CU_ASSERT_EQUAL(pair_lookup(&narrow, &wide, in_both), v_narrow);

	/* The whole uint32 range is usable, beyond rte_acl's 29-bit priorities. */
	wide.priority = UINT32_MAX;
	narrow.priority = UINT32_MAX - 1;
	CU_ASSERT_EQUAL(pair_lookup(&wide, &narrow, in_both), v_wide);
	CU_ASSERT_EQUAL(pair_lookup(&narrow, &wide, in_both), v_wide);
	wide.priority = 0;
	narrow.priority = 1;
	CU_ASSERT_EQUAL(pair_lookup(&wide, &narrow, in_both), v_narrow);
	CU_ASSERT_EQUAL(pair_lookup(&narrow, &wide, in_both), v_narrow);
	wide.priority = narrow.priority = 0;
	CU_ASSERT_EQUAL(pair_lookup(&narrow, &wide, in_both), v_narrow);
}

static void
test_prefix_edges(void)
{
	struct sg_sp_rule rules[4];
	struct sg_spd *spd;
	const uint32_t p = verdict_of(SG_SP_PROTECT, 1), b = verdict_of(SG_SP_BYPASS, 0);
	const uint32_t d = verdict_of(SG_SP_DISCARD, 0), s = verdict_of(SG_SP_PROTECT, 2);

	/* src 10.1.2.0/24 (given with host bits set), dst 192.0.2.7/32, src /0 dst /0. */
	rules[0] = any_rule(40, SG_SP_PROTECT, 1);
	rules[0].src = IP4(10, 1, 2, 77);
	rules[0].src_depth = 24;
	rules[1] = any_rule(30, SG_SP_BYPASS, 0);
	rules[1].dst = IP4(192, 0, 2, 7);
	rules[1].dst_depth = 32;
	rules[2] = any_rule(20, SG_SP_PROTECT, 2);
	rules[2].src = IP4(198, 51, 100, 9);
	rules[2].src_depth = 32;
	rules[2].dst = IP4(203, 0, 113, 0);
	rules[2].dst_depth = 24;
	rules[3] = any_rule(1, SG_SP_DISCARD, 0);
	rules[3].src = IP4(1, 2, 3, 4); /* host bits of a /0 are ignored */

	spd = sg_spd_create("prefix", sock, rules, RTE_DIM(rules));
	CU_ASSERT_PTR_NOT_NULL_FATAL(spd);

	/* /24 on src: first and last address in, neighbours out (fall to /0). */
	CU_ASSERT_EQUAL(lookup(spd, P_UDP, IP4(10, 1, 2, 0), IP4(8, 8, 8, 8), 1, 1), p);
	CU_ASSERT_EQUAL(lookup(spd, P_UDP, IP4(10, 1, 2, 255), IP4(8, 8, 8, 8), 1, 1), p);
	CU_ASSERT_EQUAL(lookup(spd, P_UDP, IP4(10, 1, 1, 255), IP4(8, 8, 8, 8), 1, 1), d);
	CU_ASSERT_EQUAL(lookup(spd, P_UDP, IP4(10, 1, 3, 0), IP4(8, 8, 8, 8), 1, 1), d);
	/* /32 on dst: only the exact address. */
	CU_ASSERT_EQUAL(lookup(spd, P_UDP, IP4(8, 8, 8, 8), IP4(192, 0, 2, 7), 1, 1), b);
	CU_ASSERT_EQUAL(lookup(spd, P_UDP, IP4(8, 8, 8, 8), IP4(192, 0, 2, 6), 1, 1), d);
	CU_ASSERT_EQUAL(lookup(spd, P_UDP, IP4(8, 8, 8, 8), IP4(192, 0, 2, 8), 1, 1), d);
	/* /32 src and /24 dst together: both must hold. */
	CU_ASSERT_EQUAL(lookup(spd, P_UDP, IP4(198, 51, 100, 9), IP4(203, 0, 113, 0), 1, 1), s);
	CU_ASSERT_EQUAL(lookup(spd, P_UDP, IP4(198, 51, 100, 9), IP4(203, 0, 113, 255), 1, 1), s);
	CU_ASSERT_EQUAL(lookup(spd, P_UDP, IP4(198, 51, 100, 9), IP4(203, 0, 114, 0), 1, 1), d);
	CU_ASSERT_EQUAL(lookup(spd, P_UDP, IP4(198, 51, 100, 8), IP4(203, 0, 113, 5), 1, 1), d);
	CU_ASSERT_EQUAL(lookup(spd, P_UDP, IP4(198, 51, 100, 10), IP4(203, 0, 113, 5), 1, 1), d);
	/* /0 covers the extremes of the address space. */
	CU_ASSERT_EQUAL(lookup(spd, P_UDP, 0, 0, 1, 1), d);
	CU_ASSERT_EQUAL(lookup(spd, P_UDP, UINT32_MAX, UINT32_MAX, 1, 1), d);
	sg_spd_free(spd);
}

static void
test_proto(void)
{
	struct sg_sp_rule rules[3];
	struct sg_spd *spd;
	const uint32_t u = verdict_of(SG_SP_PROTECT, 17), t = verdict_of(SG_SP_DISCARD, 0);
	const uint32_t any = verdict_of(SG_SP_BYPASS, 0);
	const uint32_t a = IP4(10, 0, 0, 1), b = IP4(10, 0, 0, 2);

	rules[0] = any_rule(5, SG_SP_PROTECT, 17);
	rules[0].proto = P_UDP;
	rules[0].proto_mask = 0xff;
	rules[1] = any_rule(5, SG_SP_DISCARD, 0);
	rules[1].proto = P_TCP;
	rules[1].proto_mask = 0xff;
	rules[2] = any_rule(1, SG_SP_BYPASS, 0);
	rules[2].proto = P_TCP; /* mask 0: the value does not matter */

	spd = sg_spd_create("proto", sock, rules, RTE_DIM(rules));
	CU_ASSERT_PTR_NOT_NULL_FATAL(spd);
	CU_ASSERT_EQUAL(lookup(spd, P_UDP, a, b, 500, 500), u);
	CU_ASSERT_EQUAL(lookup(spd, P_TCP, a, b, 500, 500), t);
	CU_ASSERT_EQUAL(lookup(spd, P_ICMP, a, b, 0, 0), any);
	CU_ASSERT_EQUAL(lookup(spd, P_ESP, a, b, 0, 0), any);
	CU_ASSERT_EQUAL(lookup(spd, 0, a, b, 0, 0), any);
	CU_ASSERT_EQUAL(lookup(spd, 255, a, b, 0, 0), any);
	CU_ASSERT_EQUAL(lookup(spd, P_UDP ^ 0x80, a, b, 500, 500), any);
	sg_spd_free(spd);

	/* Only the specific rules: other protocols match nothing. */
	spd = sg_spd_create("proto2", sock, rules, 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(spd);
	CU_ASSERT_EQUAL(lookup(spd, P_UDP, a, b, 1, 1), u);
	CU_ASSERT_EQUAL(lookup(spd, P_SCTP, a, b, 1, 1), 0);
	CU_ASSERT_EQUAL(lookup(spd, P_ICMP, a, b, 0, 0), 0);
	sg_spd_free(spd);
}

static void
test_port_edges(void)
{
	struct sg_sp_rule rules[4];
	struct sg_spd *spd;
	const uint32_t a = IP4(10, 0, 0, 1), b = IP4(10, 0, 0, 2), c = IP4(10, 0, 0, 3);
	const uint32_t vs = verdict_of(SG_SP_PROTECT, 1), vd = verdict_of(SG_SP_PROTECT, 2);
	const uint32_t v1 = verdict_of(SG_SP_PROTECT, 3), vf = verdict_of(SG_SP_BYPASS, 0);

	/* sport 1000-2000 to a, dport 1000-2000 to b, dport 500 only to c. */
	rules[0] = any_rule(3, SG_SP_PROTECT, 1);
	rules[0].dst = a;
	rules[0].dst_depth = 32;
	rules[0].sport_lo = 1000;
	rules[0].sport_hi = 2000;
	rules[1] = any_rule(3, SG_SP_PROTECT, 2);
	rules[1].dst = b;
	rules[1].dst_depth = 32;
	rules[1].dport_lo = 1000;
	rules[1].dport_hi = 2000;
	rules[2] = any_rule(3, SG_SP_PROTECT, 3);
	rules[2].dst = c;
	rules[2].dst_depth = 32;
	rules[2].dport_lo = 500;
	rules[2].dport_hi = 500;
	/* Full range: catches everything else, including ports 0 and 65535. */
	rules[3] = any_rule(1, SG_SP_BYPASS, 0);
	rules[3].proto = P_UDP;
	rules[3].proto_mask = 0xff;

	spd = sg_spd_create("ports", sock, rules, RTE_DIM(rules));
	CU_ASSERT_PTR_NOT_NULL_FATAL(spd);
	CU_ASSERT_EQUAL(lookup(spd, P_UDP, c, a, 999, 7), vf);
	CU_ASSERT_EQUAL(lookup(spd, P_UDP, c, a, 1000, 7), vs);
	CU_ASSERT_EQUAL(lookup(spd, P_UDP, c, a, 2000, 7), vs);
	CU_ASSERT_EQUAL(lookup(spd, P_UDP, c, a, 2001, 7), vf);
	CU_ASSERT_EQUAL(lookup(spd, P_UDP, c, b, 7, 999), vf);
	CU_ASSERT_EQUAL(lookup(spd, P_UDP, c, b, 7, 1000), vd);
	CU_ASSERT_EQUAL(lookup(spd, P_UDP, c, b, 7, 2000), vd);
	CU_ASSERT_EQUAL(lookup(spd, P_UDP, c, b, 7, 2001), vf);
	/* The source range must not leak into the destination port or back. */
	CU_ASSERT_EQUAL(lookup(spd, P_UDP, c, a, 7, 1500), vf);
	CU_ASSERT_EQUAL(lookup(spd, P_UDP, c, b, 1500, 7), vf);
	CU_ASSERT_EQUAL(lookup(spd, P_UDP, a, c, 9, 499), vf);
	CU_ASSERT_EQUAL(lookup(spd, P_UDP, a, c, 9, 500), v1);
	CU_ASSERT_EQUAL(lookup(spd, P_UDP, a, c, 9, 501), vf);
	CU_ASSERT_EQUAL(lookup(spd, P_UDP, a, c, 0, 0), vf);
	CU_ASSERT_EQUAL(lookup(spd, P_UDP, a, c, UINT16_MAX, UINT16_MAX), vf);
	/* Port 0 is what port-less protocols carry; 256 catches a byte-order slip. */
	CU_ASSERT_EQUAL(lookup(spd, P_TCP, c, a, 0, 0), 0);
	CU_ASSERT_EQUAL(lookup(spd, P_TCP, c, b, 7, 1000 + 256), vd);
	CU_ASSERT_EQUAL(lookup(spd, P_TCP, c, b, 7, rte_bswap16(1000)), 0);
	sg_spd_free(spd);
}

static void
test_no_match(void)
{
	struct sg_sp_rule r = any_rule(1, SG_SP_PROTECT, 1);
	const struct sg_spd_key *keys[3];
	struct sg_spd_key k[3];
	uint32_t v[3] = {1, 2, 3};
	struct sg_spd *spd;

	r.src = IP4(10, 0, 0, 0);
	r.src_depth = 8;
	r.proto = P_UDP;
	r.proto_mask = 0xff;
	r.dport_lo = r.dport_hi = 4500;
	spd = sg_spd_create("nomatch", sock, &r, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(spd);
	k[0] = mk_key(P_UDP, IP4(11, 0, 0, 1), IP4(1, 1, 1, 1), 4500, 4500); /* src out */
	k[1] = mk_key(P_TCP, IP4(10, 0, 0, 1), IP4(1, 1, 1, 1), 4500, 4500); /* proto out */
	k[2] = mk_key(P_UDP, IP4(10, 0, 0, 1), IP4(1, 1, 1, 1), 4500, 4501); /* port out */
	keys[0] = &k[0];
	keys[1] = &k[1];
	keys[2] = &k[2];
	sg_spd_classify(spd, keys, v, 3);
	CU_ASSERT_EQUAL(v[0], 0);
	CU_ASSERT_EQUAL(v[1], 0);
	CU_ASSERT_EQUAL(v[2], 0);
	k[2].dport = rte_cpu_to_be_16(4500);
	CU_ASSERT_EQUAL(classify1(spd, &k[2]), verdict_of(SG_SP_PROTECT, 1));
	sg_spd_free(spd);
}

static void
test_empty(void)
{
	const struct sg_spd_key *keys[40];
	struct sg_spd_key k[40];
	uint32_t v[41];
	struct sg_spd *spd;
	unsigned int i;

	spd = sg_spd_create("empty", sock, NULL, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(spd);
	CU_ASSERT_EQUAL(sg_spd_count(spd), 0);
	for (i = 0; i < RTE_DIM(k); i++) {
		k[i] = mk_key((uint8_t)i, i, ~i, (uint16_t)i, (uint16_t)~i);
		keys[i] = &k[i];
	}
	memset(v, 0xab, sizeof(v));
	sg_spd_classify(spd, keys, v, RTE_DIM(k));
	for (i = 0; i < RTE_DIM(k); i++)
		CU_ASSERT_EQUAL(v[i], 0);
	CU_ASSERT_EQUAL(v[RTE_DIM(k)], 0xabababab); /* nothing written past n */
	/* n == 0 writes nothing. */
	v[0] = 7;
	sg_spd_classify(spd, keys, v, 0);
	CU_ASSERT_EQUAL(v[0], 7);
	sg_spd_free(spd);
	sg_spd_free(NULL);
	CU_ASSERT_EQUAL(sg_spd_count(NULL), 0);
}

/* Mostly the usual prefix lengths, a third of the time any of 0..32. */
static uint8_t
rnd_depth(void)
{
	static const uint8_t depths[] = {0, 8, 12, 16, 20, 23, 24, 25, 28, 30, 31, 32};

	if (rnd_below(3) == 0)
		return (uint8_t)rnd_below(33);
	return depths[rnd_below(RTE_DIM(depths))];
}

void
random_rule(struct sg_sp_rule *r)
{
	static const uint8_t protos[] = {P_ICMP, P_TCP, P_UDP, P_ESP, P_SCTP};
	uint32_t span;

	memset(r, 0, sizeof(*r));
	/* Few priorities so ties are common; now and then one beyond 29 bits. */
	r->priority = rnd_below(10) == 0 ? rnd() : rnd_below(8);
	r->action = (enum sg_sp_action)(1 + rnd_below(3));
	r->sa_idx = rnd_below(4) == 0 ? SG_SPD_SA_MASK - rnd_below(4) : rnd_below(1000);
	/* Addresses from a small space (10.0-3.0-3.x) so prefixes overlap a lot. */
	r->src = IP4(10, rnd_below(4), rnd_below(4), 0) | rnd_below(256);
	r->dst = IP4(10, rnd_below(4), rnd_below(4), 0) | rnd_below(256);
	r->src_depth = rnd_depth();
	r->dst_depth = rnd_depth();
	switch (rnd_below(8)) {
	case 0:
	case 1:
	case 2:
		break; /* any protocol */
	case 3:
		r->proto = (uint8_t)rnd(); /* partial bitmask */
		r->proto_mask = (uint8_t)rnd();
		break;
	default:
		r->proto = protos[rnd_below(RTE_DIM(protos))];
		r->proto_mask = 0xff;
	}
	r->sport_hi = r->dport_hi = UINT16_MAX;
	if (rnd_below(2) != 0) {
		r->sport_lo = (uint16_t)(rnd_below(3) == 0 ? rnd() : rnd_below(64));
		span = rnd_below(3) == 0 ? rnd_below(UINT16_MAX) : rnd_below(16);
		r->sport_hi = (uint16_t)RTE_MIN((uint32_t)UINT16_MAX, r->sport_lo + span);
	}
	if (rnd_below(2) != 0) {
		r->dport_lo = (uint16_t)(rnd_below(3) == 0 ? rnd() : rnd_below(64));
		span = rnd_below(3) == 0 ? rnd_below(UINT16_MAX) : rnd_below(16);
		r->dport_hi = (uint16_t)RTE_MIN((uint32_t)UINT16_MAX, r->dport_lo + span);
	}
}

static uint32_t
rnd_in(uint32_t base, uint8_t depth)
{
	uint32_t m = depth == 0 ? 0 : UINT32_MAX << (32 - depth);

	return (base & m) | (rnd() & ~m);
}

static uint16_t
rnd_port(uint16_t lo, uint16_t hi)
{
	/* Half the time an edge: lo-1, lo, hi, hi+1. */
	switch (rnd_below(8)) {
	case 0:
		return (uint16_t)(lo - 1);
	case 1:
		return lo;
	case 2:
		return hi;
	case 3:
		return (uint16_t)(hi + 1);
	default:
		return (uint16_t)(lo + rnd_below((uint32_t)hi - lo + 1));
	}
}

/* Half the keys aim at a rule (on or near its edges), half are background. */
void
random_key(struct sg_spd_key *k, const struct sg_sp_rule *rules, uint32_t n)
{
	static const uint8_t protos[] = {0, P_ICMP, P_TCP, P_UDP, P_ESP, P_SCTP, 255};
	const struct sg_sp_rule *r = &rules[rnd_below(n)];
	uint32_t src, dst;
	uint16_t sp, dp;
	uint8_t proto;

	if (rnd_below(2) == 0) {
		src = rnd_in(r->src, r->src_depth);
		dst = rnd_in(r->dst, r->dst_depth);
		/* Flip the last prefix bit sometimes: just outside the rule. */
		if (r->src_depth > 0 && rnd_below(8) == 0)
			src ^= UINT32_C(1) << (32 - r->src_depth);
		if (r->dst_depth > 0 && rnd_below(8) == 0)
			dst ^= UINT32_C(1) << (32 - r->dst_depth);
		proto = (uint8_t)((r->proto & r->proto_mask) | (rnd() & ~r->proto_mask));
		sp = rnd_port(r->sport_lo, r->sport_hi);
		dp = rnd_port(r->dport_lo, r->dport_hi);
	} else {
		src = IP4(10, rnd_below(4), rnd_below(4), rnd_below(256));
		dst = IP4(10, rnd_below(4), rnd_below(4), rnd_below(256));
		if (rnd_below(16) == 0)
			dst = rnd();
		proto = protos[rnd_below(RTE_DIM(protos))];
		sp = (uint16_t)(rnd_below(2) == 0 ? rnd_below(80) : rnd());
		dp = (uint16_t)(rnd_below(2) == 0 ? rnd_below(80) : rnd());
	}
	*k = mk_key(proto, src, dst, sp, dp);
}


/* Classify BULK_KEYS random keys in chunks of @p chunk; count disagreements. */
static uint32_t
bulk_compare(const struct sg_spd *spd, const struct sg_sp_rule *rules, uint32_t n,
		uint32_t chunk, uint32_t *hits)
{
	static struct sg_spd_key k[BULK_KEYS];
	static const struct sg_spd_key *keys[BULK_KEYS];
	static uint32_t v[BULK_KEYS];
	uint32_t i, off, want, bad = 0;

	for (i = 0; i < BULK_KEYS; i++) {
		random_key(&k[i], rules, n);
		keys[i] = &k[i];
	}
	for (off = 0; off < BULK_KEYS; off += chunk)
		sg_spd_classify(spd, &keys[off], &v[off], RTE_MIN(chunk, BULK_KEYS - off));
	for (i = 0; i < BULK_KEYS; i++) {
		want = ref_classify(rules, n, &k[i]);
		*hits += want != 0;
		if (v[i] == want)
			continue;
		if (bad++ < 5)
			printf("\n  key %u: proto %u %08x -> %08x %u -> %u: got %08x want %08x", i,
					k[i].proto, rte_be_to_cpu_32(k[i].src),
					rte_be_to_cpu_32(k[i].dst), rte_be_to_cpu_16(k[i].sport),
					rte_be_to_cpu_16(k[i].dport), v[i], want);
	}
	return bad;
}

/* Random SPDs of several sizes, with rte_acl limited to @p simd_bits. */
static void
bulk_round(uint16_t simd_bits)
{
	static const uint32_t sizes[] = {1, 2, 5, 17, 64, 200, 500};
	static const uint32_t chunks[] = {BULK_KEYS, 1, 3, 8, 33, 100, 256, 1000};
	struct sg_sp_rule *rules;
	struct sg_spd *spd;
	uint32_t s, i, n, bad, hits = 0, total = 0;

	/* rte_acl picks its classify method when the context is created. */
	if (rte_vect_set_max_simd_bitwidth(simd_bits) != 0)
		return;
	rng_state = UINT64_C(0x5eed5bd0c0ffee01);
	for (s = 0; s < RTE_DIM(sizes); s++) {
		n = sizes[s];
		rules = calloc(n, sizeof(*rules));
		CU_ASSERT_PTR_NOT_NULL_FATAL(rules);
		for (i = 0; i < n; i++)
			random_rule(&rules[i]);
		spd = sg_spd_create("bulk", sock, rules, n);
		CU_ASSERT_PTR_NOT_NULL_FATAL(spd);
		/* Whole batch in one call, then odd chunk sizes for the SIMD tails. */
		for (i = 0; i < RTE_DIM(chunks); i++) {
			bad = bulk_compare(spd, rules, n, chunks[i], &hits);
			total += BULK_KEYS;
			if (bad != 0)
				printf("\n  simd %u, %u rules, chunk %u: %u bad", simd_bits, n,
						chunks[i], bad);
			CU_ASSERT_EQUAL(bad, 0);
		}
		sg_spd_free(spd);
		free(rules);
	}
	printf("(simd %u: %u/%u hit) ", simd_bits, hits, total);
	/* The key generator must actually exercise matches and misses. */
	CU_ASSERT(hits > total / 4);
	CU_ASSERT(hits < total - total / 10);
}

/* Every classify method the CPU has at 64/128/256/512 bits must agree with the reference. */
static void
test_bulk_random(void)
{
	static const uint16_t widths[] = {RTE_VECT_SIMD_DISABLED, RTE_VECT_SIMD_128,
		RTE_VECT_SIMD_256, RTE_VECT_SIMD_512};
	uint16_t saved = rte_vect_get_max_simd_bitwidth();
	unsigned int i;

	for (i = 0; i < RTE_DIM(widths); i++)
		bulk_round(widths[i]);
	rte_vect_set_max_simd_bitwidth(saved);
}

static void
expect_einval(const char *what, const struct sg_sp_rule *rules, uint32_t n)
{
	struct sg_spd *spd;

	rte_errno = 0;
	spd = sg_spd_create(what, sock, rules, n);
	if (spd != NULL || rte_errno != EINVAL)
		printf("\n  %s: accepted or wrong errno %d", what, rte_errno);
	CU_ASSERT_PTR_NULL(spd);
	CU_ASSERT_EQUAL(rte_errno, EINVAL);
	sg_spd_free(spd);
}

static void
test_invalid(void)
{
	struct sg_sp_rule good = any_rule(1, SG_SP_PROTECT, 1), r[3];
	struct sg_spd *spd;

	r[0] = r[1] = r[2] = good;
	r[1].src_depth = 33;
	expect_einval("src_depth", r, 3);
	r[1] = good;
	r[1].dst_depth = 255;
	expect_einval("dst_depth", r, 3);
	r[1] = good;
	r[1].sport_lo = 2;
	r[1].sport_hi = 1;
	expect_einval("sport", r, 3);
	r[1] = good;
	r[1].dport_lo = UINT16_MAX;
	r[1].dport_hi = 0;
	expect_einval("dport", r, 3);
	r[1] = good;
	r[1].action = SG_SP_NONE;
	expect_einval("action none", r, 3);
	r[1].action = (enum sg_sp_action)4;
	expect_einval("action 4", r, 3);
	r[1] = good;
	r[1].sa_idx = SG_SPD_SA_MASK + 1;
	expect_einval("sa_idx", r, 3);
	/* The last rule is checked too. */
	r[1] = good;
	r[2].action = (enum sg_sp_action)0xff;
	expect_einval("last rule", r, 3);
	expect_einval("rules NULL", NULL, 1);
	rte_errno = 0;
	CU_ASSERT_PTR_NULL(sg_spd_create(NULL, sock, &good, 1));
	CU_ASSERT_EQUAL(rte_errno, EINVAL);

	/* Boundaries that are valid. */
	r[2] = good;
	r[0].src_depth = r[0].dst_depth = 32;
	r[1].sport_lo = r[1].sport_hi = UINT16_MAX;
	r[1].dport_lo = r[1].dport_hi = 0;
	r[2].sa_idx = SG_SPD_SA_MASK;
	spd = sg_spd_create("valid_edges", sock, r, 3);
	CU_ASSERT_PTR_NOT_NULL(spd);
	sg_spd_free(spd);
	/* A huge sa_idx is fine where it is ignored. */
	good.action = SG_SP_DISCARD;
	good.sa_idx = UINT32_MAX;
	spd = sg_spd_create("discard_sa", sock, &good, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(spd);
	CU_ASSERT_EQUAL(lookup(spd, P_UDP, 1, 2, 3, 4), verdict_of(SG_SP_DISCARD, 0));
	sg_spd_free(spd);
}

static size_t
heap_used(void)
{
	struct rte_malloc_socket_stats st;

	if (rte_malloc_get_socket_stats(sock, &st) != 0)
		return 0;
	return st.heap_allocsz_bytes;
}

#define MANY 200

static void
test_create_free_many(void)
{
	static struct sg_spd *spd[MANY];
	struct sg_sp_rule r, two[2];
	unsigned int i, bad = 0;
	size_t before;

	before = heap_used();
	/* Same name, all alive at once: each must be its own context. */
	for (i = 0; i < MANY; i++) {
		r = any_rule(1, SG_SP_PROTECT, i);
		spd[i] = sg_spd_create("a-name-long-enough-to-be-truncated-by-rte-acl", sock, &r,
				1);
		CU_ASSERT_PTR_NOT_NULL_FATAL(spd[i]);
	}
	for (i = 0; i < MANY; i++)
		bad += lookup(spd[i], P_UDP, 1, 2, 3, 4) != verdict_of(SG_SP_PROTECT, i);
	CU_ASSERT_EQUAL(bad, 0);
	for (i = 0; i < MANY; i++)
		sg_spd_free(spd[i]);
	/* Create/free cycles, with and without rules, give every byte back. */
	for (i = 0; i < 5 * MANY; i++) {
		two[0] = two[1] = any_rule(i, SG_SP_BYPASS, 0);
		spd[0] = sg_spd_create("cycle", sock, two, i % 3);
		CU_ASSERT_PTR_NOT_NULL_FATAL(spd[0]);
		sg_spd_free(spd[0]);
	}
	CU_ASSERT_EQUAL(heap_used(), before);
}

#define BIG 10000

static void
test_10k_rules(void)
{
	struct sg_sp_rule *rules;
	struct sg_spd *spd;
	struct timespec t0, t1;
	uint32_t i, hits = 0;

	rules = calloc(BIG, sizeof(*rules));
	CU_ASSERT_PTR_NOT_NULL_FATAL(rules);
	/* Site-to-site shape: one /24 pair per tunnel, some with a UDP port range. */
	for (i = 0; i < BIG; i++) {
		rules[i] = any_rule(i % 100, (enum sg_sp_action)(1 + i % 3), i);
		rules[i].src = IP4(10, 0, 0, 0) | (i << 8);
		rules[i].src_depth = 24;
		rules[i].dst = IP4(172, 16, 0, 0) | ((i * 7) % BIG) << 8;
		rules[i].dst_depth = 24;
		if (i % 4 == 0) {
			rules[i].proto = P_UDP;
			rules[i].proto_mask = 0xff;
			rules[i].dport_lo = (uint16_t)(1000 + i % 50);
			rules[i].dport_hi = (uint16_t)(rules[i].dport_lo + 10);
		}
	}
	/* A catch-all below everything, as real SPDs end with. */
	rules[BIG - 1] = any_rule(0, SG_SP_DISCARD, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	spd = sg_spd_create("big", sock, rules, BIG);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(spd);
	printf("(build %.2fs) ", (double)(t1.tv_sec - t0.tv_sec) +
			(double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	CU_ASSERT_EQUAL(sg_spd_count(spd), BIG);
	rng_state = UINT64_C(0x10000b16);
	CU_ASSERT_EQUAL(bulk_compare(spd, rules, BIG, 64, &hits), 0);
	sg_spd_free(spd);
	free(rules);
}

/* An IPv4 header with @p opt_words 32-bit option words, then @p l4 bytes. */
static const struct rte_ipv4_hdr *
mk_ip(uint8_t *buf, uint8_t proto, uint32_t opt_words, const uint8_t *l4, uint32_t l4_len)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)buf;
	uint32_t ihl = sizeof(*ip) + 4 * opt_words;

	memset(buf, 0, ihl);
	ip->version_ihl = (uint8_t)(0x40 | (ihl / 4));
	ip->next_proto_id = proto;
	ip->src_addr = rte_cpu_to_be_32(IP4(192, 0, 2, 1));
	ip->dst_addr = rte_cpu_to_be_32(IP4(198, 51, 100, 2));
	memset(buf + sizeof(*ip), 0x01, 4 * opt_words); /* NOP options */
	memcpy(buf + ihl, l4, l4_len);
	return ip;
}

static void
test_key_ipv4(void)
{
	static const uint8_t l4[8] = {0x12, 0x34, 0x01, 0xbb, 0xde, 0xad, 0xbe, 0xef};
	static const uint8_t with_ports[] = {P_TCP, P_UDP, P_SCTP};
	static const uint8_t no_ports[] = {P_ICMP, P_ESP, 0, 51, 255};
	const struct rte_ipv4_hdr *ip;
	alignas(8) uint8_t buf[128];
	struct sg_spd_key k;
	unsigned int i;

	for (i = 0; i < RTE_DIM(with_ports); i++) {
		memset(&k, 0xff, sizeof(k));
		ip = mk_ip(buf, with_ports[i], 0, l4, sizeof(l4));
		sg_spd_key_ipv4(&k, ip, sizeof(*ip), sizeof(l4));
		CU_ASSERT_EQUAL(k.proto, with_ports[i]);
		CU_ASSERT(k.pad[0] == 0 && k.pad[1] == 0 && k.pad[2] == 0);
		CU_ASSERT_EQUAL(rte_be_to_cpu_32(k.src), IP4(192, 0, 2, 1));
		CU_ASSERT_EQUAL(rte_be_to_cpu_32(k.dst), IP4(198, 51, 100, 2));
		CU_ASSERT_EQUAL(rte_be_to_cpu_16(k.sport), 0x1234);
		CU_ASSERT_EQUAL(rte_be_to_cpu_16(k.dport), 443);
		/* Exactly the two port fields are enough. */
		sg_spd_key_ipv4(&k, ip, sizeof(*ip), 4);
		CU_ASSERT_EQUAL(rte_be_to_cpu_16(k.dport), 443);
		/* Truncated L4: no ports rather than bytes past the packet. */
		sg_spd_key_ipv4(&k, ip, sizeof(*ip), 3);
		CU_ASSERT_EQUAL(k.sport, 0);
		CU_ASSERT_EQUAL(k.dport, 0);
		sg_spd_key_ipv4(&k, ip, sizeof(*ip), 0);
		CU_ASSERT_EQUAL(k.sport, 0);
		CU_ASSERT_EQUAL(k.dport, 0);
	}
	for (i = 0; i < RTE_DIM(no_ports); i++) {
		memset(&k, 0xff, sizeof(k));
		ip = mk_ip(buf, no_ports[i], 0, l4, sizeof(l4));
		sg_spd_key_ipv4(&k, ip, sizeof(*ip), sizeof(l4));
		CU_ASSERT_EQUAL(k.proto, no_ports[i]);
		CU_ASSERT_EQUAL(k.sport, 0);
		CU_ASSERT_EQUAL(k.dport, 0);
	}
	/* IP options: ports come from after the options (ihl), not offset 20. */
	for (i = 1; i <= 10; i++) {
		ip = mk_ip(buf, P_UDP, i, l4, sizeof(l4));
		sg_spd_key_ipv4(&k, ip, (uint32_t)sizeof(*ip) + 4 * i, sizeof(l4));
		CU_ASSERT_EQUAL(rte_be_to_cpu_16(k.sport), 0x1234);
		CU_ASSERT_EQUAL(rte_be_to_cpu_16(k.dport), 443);
	}
}

/* A key gathered from a packet classifies as the matching rule says. */
static void
test_key_to_verdict(void)
{
	static const uint8_t l4[4] = {0x11, 0x94, 0x11, 0x94}; /* 4500 -> 4500 */
	struct sg_sp_rule r[2];
	const struct rte_ipv4_hdr *ip;
	alignas(8) uint8_t buf[64];
	struct sg_spd_key k;
	struct sg_spd *spd;

	r[0] = any_rule(2, SG_SP_PROTECT, 42);
	r[0].src = IP4(192, 0, 2, 0);
	r[0].src_depth = 24;
	r[0].dst = IP4(198, 51, 100, 2);
	r[0].dst_depth = 32;
	r[0].proto = P_UDP;
	r[0].proto_mask = 0xff;
	r[0].sport_lo = r[0].sport_hi = 4500;
	r[0].dport_lo = 4000;
	r[0].dport_hi = 5000;
	r[1] = any_rule(1, SG_SP_DISCARD, 0);
	spd = sg_spd_create("pkt", sock, r, 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(spd);

	ip = mk_ip(buf, P_UDP, 2, l4, sizeof(l4));
	sg_spd_key_ipv4(&k, ip, sizeof(*ip) + 8, sizeof(l4));
	CU_ASSERT_EQUAL(classify1(spd, &k), verdict_of(SG_SP_PROTECT, 42));
	/* Same packet, truncated before the ports: ports 0, falls to discard. */
	sg_spd_key_ipv4(&k, ip, sizeof(*ip) + 8, 2);
	CU_ASSERT_EQUAL(classify1(spd, &k), verdict_of(SG_SP_DISCARD, 0));
	sg_spd_free(spd);
}

int
main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return CU_get_error();
	if (sg_test_eal_init("spd") != 0) {
		CU_cleanup_registry();
		return EXIT_FAILURE;
	}
	sock = (int)rte_socket_id();
	s = CU_add_suite("spd", NULL, NULL);
	if (s == NULL || CU_add_test(s, "each action", test_actions) == NULL ||
			CU_add_test(s, "priority order", test_priority) == NULL ||
			CU_add_test(s, "prefix edges", test_prefix_edges) == NULL ||
			CU_add_test(s, "protocol any vs specific", test_proto) == NULL ||
			CU_add_test(s, "port range edges", test_port_edges) == NULL ||
			CU_add_test(s, "no match", test_no_match) == NULL ||
			CU_add_test(s, "empty spd", test_empty) == NULL ||
			CU_add_test(s, "bulk vs reference", test_bulk_random) == NULL ||
			CU_add_test(s, "invalid rules", test_invalid) == NULL ||
			CU_add_test(s, "create/free many", test_create_free_many) == NULL ||
			CU_add_test(s, "10k rules", test_10k_rules) == NULL ||
			CU_add_test(s, "SA check: own rule", test_sa_check_own_rule) == NULL ||
			CU_add_test(s, "SA check: shadowed", test_sa_check_shadowed) == NULL ||
			CU_add_test(s, "SA check: ties", test_sa_check_ties) == NULL ||
			CU_add_test(s, "SA check: two rules", test_sa_check_two_rules) == NULL ||
			CU_add_test(s, "SA check: sparse SA numbers", test_sa_check_sparse) == NULL ||
			CU_add_test(s, "SA check vs reference", test_sa_check_random) == NULL ||
			CU_add_test(s, "SA check at scale", test_sa_check_scale) == NULL ||
			CU_add_test(s, "key from ipv4", test_key_ipv4) == NULL ||
			CU_add_test(s, "key to verdict", test_key_to_verdict) == NULL) {
		CU_cleanup_registry();
		rte_eal_cleanup();
		return CU_get_error();
	}
	return sg_test_run("spd", 1);
}
