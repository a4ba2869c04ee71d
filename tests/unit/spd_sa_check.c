/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sg_spd_check_sa(): the inbound policy check that answers an SA from its
 * own rule when nothing outranking that rule overlaps it, and from rte_acl
 * otherwise. Every case is also checked against the reference classifier.
 */
#include <stdio.h>
#include <stdlib.h>

#include <CUnit/Basic.h>
#include <rte_byteorder.h>
#include <rte_common.h>

#include "sg_spd.h"
#include "test_spd.h"

/* sg_spd_check_sa() for one key and SA. */
static uint8_t
check1(const struct sg_spd *spd, uint8_t proto, uint32_t src, uint32_t dst, uint16_t sport,
		uint16_t dport, uint32_t sa)
{
	struct sg_spd_key k = mk_key(proto, src, dst, sport, dport);
	const struct sg_spd_key *keys[1] = {&k};
	uint8_t ok = 0xee;

	sg_spd_check_sa(spd, keys, &sa, &ok, 1);
	return ok;
}

/* SA 5's rule: 10.1/16 -> 10.2/16, UDP, destination ports 500..600. */
static struct sg_sp_rule
sa5_rule(uint32_t pri)
{
	struct sg_sp_rule r = any_rule(pri, SG_SP_PROTECT, 5);

	r.src = IP4(10, 1, 0, 0);
	r.src_depth = 16;
	r.dst = IP4(10, 2, 0, 0);
	r.dst_depth = 16;
	r.proto = P_UDP;
	r.proto_mask = 0xff;
	r.dport_lo = 500;
	r.dport_hi = 600;
	return r;
}

static struct sg_spd *
sa_spd(const struct sg_sp_rule *rules, uint32_t n)
{
	struct sg_spd *spd = sg_spd_create_flags("sacheck", sock, rules, n, SG_SPD_F_SA_CHECK);

	CU_ASSERT_PTR_NOT_NULL_FATAL(spd);
	return spd;
}

/* The SA's own rule decides when nothing outranking it overlaps it. */
void
test_sa_check_own_rule(void)
{
	const uint32_t a = IP4(10, 1, 7, 7), b = IP4(10, 2, 8, 8);
	struct sg_sp_rule r[2] = {sa5_rule(10), any_rule(1, SG_SP_BYPASS, 0)};
	struct sg_spd *spd = sa_spd(r, 2);

	/* The bypass below it overlaps, but is outranked: SA 5 is exact. */
	CU_ASSERT_EQUAL(sg_spd_sa_exact_count(spd), 1);
	CU_ASSERT_EQUAL(check1(spd, P_UDP, a, b, 9, 500, 5), 1);
	CU_ASSERT_EQUAL(check1(spd, P_UDP, a, b, 9, 600, 5), 1);
	CU_ASSERT_EQUAL(check1(spd, P_UDP, a, b, 9, 601, 5), 0);
	CU_ASSERT_EQUAL(check1(spd, P_UDP, a, b, 9, 499, 5), 0);
	CU_ASSERT_EQUAL(check1(spd, P_TCP, a, b, 9, 550, 5), 0);
	CU_ASSERT_EQUAL(check1(spd, P_UDP, IP4(10, 0, 255, 255), b, 9, 550, 5), 0);
	CU_ASSERT_EQUAL(check1(spd, P_UDP, a, IP4(10, 3, 0, 0), 9, 550, 5), 0);
	/* The right packet on another SA, or on an SA no rule names. */
	CU_ASSERT_EQUAL(check1(spd, P_UDP, a, b, 9, 550, 4), 0);
	CU_ASSERT_EQUAL(check1(spd, P_UDP, a, b, 9, 550, 6), 0);
	CU_ASSERT_EQUAL(check1(spd, P_UDP, a, b, 9, 550, SG_SPD_SA_MASK), 0);
	sg_spd_free(spd);

	/* Without the flag: same answers, all from rte_acl. */
	spd = sg_spd_create("sacheck", sock, r, 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(spd);
	CU_ASSERT_EQUAL(sg_spd_sa_exact_count(spd), 0);
	CU_ASSERT_EQUAL(check1(spd, P_UDP, a, b, 9, 550, 5), 1);
	CU_ASSERT_EQUAL(check1(spd, P_UDP, a, b, 9, 601, 5), 0);
	sg_spd_free(spd);
	/* No SPD: nothing is protected by anything. */
	CU_ASSERT_EQUAL(check1(NULL, P_UDP, a, b, 9, 550, 5), 0);
}

/* A rule that outranks the SA's and overlaps it takes part of its traffic. */
void
test_sa_check_shadowed(void)
{
	const uint32_t b = IP4(10, 2, 8, 8);
	struct sg_sp_rule r[3] = {sa5_rule(10), any_rule(20, SG_SP_DISCARD, 0), any_rule(1,
			SG_SP_BYPASS, 0)};
	struct sg_spd *spd;

	r[1].src = IP4(10, 1, 5, 0);
	r[1].src_depth = 24;
	spd = sa_spd(r, 3);
	CU_ASSERT_EQUAL(sg_spd_sa_exact_count(spd), 0);
	CU_ASSERT_EQUAL(check1(spd, P_UDP, IP4(10, 1, 5, 1), b, 9, 550, 5), 0);
	CU_ASSERT_EQUAL(check1(spd, P_UDP, IP4(10, 1, 6, 1), b, 9, 550, 5), 1);
	sg_spd_free(spd);

	/* The same discard on another source prefix does not touch SA 5. */
	r[1].src = IP4(10, 9, 5, 0);
	spd = sa_spd(r, 3);
	CU_ASSERT_EQUAL(sg_spd_sa_exact_count(spd), 1);
	CU_ASSERT_EQUAL(check1(spd, P_UDP, IP4(10, 1, 5, 1), b, 9, 550, 5), 1);
	sg_spd_free(spd);

	/* Disjoint on protocol or ports is no overlap either. */
	r[1] = any_rule(20, SG_SP_DISCARD, 0);
	r[1].proto = P_TCP;
	r[1].proto_mask = 0xff;
	spd = sa_spd(r, 3);
	CU_ASSERT_EQUAL(sg_spd_sa_exact_count(spd), 1);
	sg_spd_free(spd);
	r[1].proto_mask = 0;
	r[1].dport_lo = 601;
	spd = sa_spd(r, 3);
	CU_ASSERT_EQUAL(sg_spd_sa_exact_count(spd), 1);
	CU_ASSERT_EQUAL(check1(spd, P_UDP, IP4(10, 1, 5, 1), b, 9, 600, 5), 1);
	sg_spd_free(spd);
	/* ... one port in common is. */
	r[1].dport_lo = 600;
	spd = sa_spd(r, 3);
	CU_ASSERT_EQUAL(sg_spd_sa_exact_count(spd), 0);
	CU_ASSERT_EQUAL(check1(spd, P_UDP, IP4(10, 1, 5, 1), b, 9, 600, 5), 0);
	CU_ASSERT_EQUAL(check1(spd, P_UDP, IP4(10, 1, 5, 1), b, 9, 599, 5), 1);
	sg_spd_free(spd);
}

/* Equal priorities: the earlier rule outranks the later one. */
void
test_sa_check_ties(void)
{
	const uint32_t a = IP4(10, 1, 7, 7), b = IP4(10, 2, 8, 8);
	struct sg_sp_rule r[2];
	struct sg_spd *spd;

	r[0] = any_rule(10, SG_SP_BYPASS, 0);
	r[1] = sa5_rule(10);
	spd = sa_spd(r, 2);
	CU_ASSERT_EQUAL(sg_spd_sa_exact_count(spd), 0);
	CU_ASSERT_EQUAL(check1(spd, P_UDP, a, b, 9, 550, 5), 0);
	sg_spd_free(spd);

	r[0] = sa5_rule(10);
	r[1] = any_rule(10, SG_SP_BYPASS, 0);
	spd = sa_spd(r, 2);
	CU_ASSERT_EQUAL(sg_spd_sa_exact_count(spd), 1);
	CU_ASSERT_EQUAL(check1(spd, P_UDP, a, b, 9, 550, 5), 1);
	sg_spd_free(spd);
}

/* Two rules naming one SA: neither alone decides; rte_acl does. */
void
test_sa_check_two_rules(void)
{
	struct sg_sp_rule r[3] = {sa5_rule(10), sa5_rule(10), any_rule(1, SG_SP_PROTECT, 6)};
	struct sg_spd *spd;

	r[1].dst = IP4(10, 3, 0, 0);
	r[2].dst = IP4(10, 4, 0, 0);
	r[2].dst_depth = 16;
	spd = sa_spd(r, 3);
	CU_ASSERT_EQUAL(sg_spd_sa_exact_count(spd), 1); /* SA 6 only */
	CU_ASSERT_EQUAL(check1(spd, P_UDP, IP4(10, 1, 0, 1), IP4(10, 2, 0, 1), 9, 550, 5), 1);
	CU_ASSERT_EQUAL(check1(spd, P_UDP, IP4(10, 1, 0, 1), IP4(10, 3, 0, 1), 9, 550, 5), 1);
	CU_ASSERT_EQUAL(check1(spd, P_UDP, IP4(10, 1, 0, 1), IP4(10, 4, 0, 1), 9, 550, 5), 0);
	CU_ASSERT_EQUAL(check1(spd, P_UDP, IP4(10, 1, 0, 1), IP4(10, 4, 0, 1), 9, 550, 6), 1);
	CU_ASSERT_EQUAL(check1(spd, P_ICMP, IP4(1, 1, 1, 1), IP4(10, 4, 9, 9), 0, 0, 6), 1);
	sg_spd_free(spd);
}

/* SA numbers far apart, or landing in one slot of the table: answers stay
 * right (colliding SAs go through rte_acl), and the table does not grow
 * with the numbers. */
void
test_sa_check_sparse(void)
{
	/* Few rules: 64 slots, so 7, 7 + 64 and 7 + 2^20 share one. */
	static const uint32_t sas[] = {7, 7 + 64, 7 + (UINT32_C(1) << 20), 8, SG_SPD_SA_MASK};
	struct sg_sp_rule r[RTE_DIM(sas)];
	struct sg_spd *spd;
	unsigned int i, j;

	for (i = 0; i < RTE_DIM(sas); i++) {
		r[i] = any_rule(10, SG_SP_PROTECT, sas[i]);
		r[i].dst = IP4(10, 2, i, 0);
		r[i].dst_depth = 24;
	}
	spd = sa_spd(r, RTE_DIM(sas));
	/* 8 and the largest SA number have slots of their own. */
	CU_ASSERT_EQUAL(sg_spd_sa_exact_count(spd), 2);
	for (i = 0; i < RTE_DIM(sas); i++)
		for (j = 0; j < RTE_DIM(sas); j++)
			CU_ASSERT_EQUAL(check1(spd, P_UDP, IP4(1, 1, 1, 1), IP4(10, 2, j, 9), 1, 2,
					sas[i]), i == j);
	sg_spd_free(spd);
}

/* Random SPDs: sg_spd_check_sa() must give the reference's answer, whether
 * the SA is answered from its rule or by rte_acl. */
void
test_sa_check_random(void)
{
	static const uint32_t sizes[] = {1, 2, 3, 5, 17, 64, 200, 500};
	static struct sg_spd_key k[BULK_KEYS];
	static const struct sg_spd_key *keys[BULK_KEYS];
	static uint32_t sa[BULK_KEYS];
	static uint8_t ok[BULK_KEYS];
	uint32_t s, i, n, want, bad = 0, yes = 0, exact = 0, total = 0;
	struct sg_sp_rule *rules;
	struct sg_spd *spd;

	rng_state = UINT64_C(0x5acec4ec0ffee002);
	for (s = 0; s < RTE_DIM(sizes) * 4; s++) {
		n = sizes[s % RTE_DIM(sizes)];
		rules = calloc(n, sizeof(*rules));
		CU_ASSERT_PTR_NOT_NULL_FATAL(rules);
		for (i = 0; i < n; i++) {
			random_rule(&rules[i]);
			/* SA numbers from a small range: shared and unshared both. */
			rules[i].sa_idx = rnd_below(n + 2);
			if (s >= RTE_DIM(sizes) && rnd_below(2) == 0)
				rules[i].dst_depth = (uint8_t)(24 + rnd_below(9)); /* fewer overlaps */
		}
		spd = sa_spd(rules, n);
		exact += sg_spd_sa_exact_count(spd);
		for (i = 0; i < BULK_KEYS; i++) {
			random_key(&k[i], rules, n);
			keys[i] = &k[i];
			want = ref_classify(rules, n, &k[i]);
			/* Mostly the SA the reference picks, else any SA. */
			sa[i] = sg_spd_action(want) == SG_SP_PROTECT && rnd_below(4) != 0 ?
				sg_spd_sa(want) : rnd_below(n + 3);
		}
		sg_spd_check_sa(spd, keys, sa, ok, BULK_KEYS);
		for (i = 0; i < BULK_KEYS; i++) {
			want = ref_classify(rules, n, &k[i]);
			want = sg_spd_action(want) == SG_SP_PROTECT && sg_spd_sa(want) == sa[i];
			yes += ok[i] == 1;
			total++;
			if (ok[i] != want && bad++ < 5)
				printf("\n  %u rules, key %u, sa %u: got %u want %u", n, i, sa[i],
						ok[i], want);
		}
		sg_spd_free(spd);
		free(rules);
	}
	printf("(%u SAs exact, %u/%u pass) ", exact, yes, total);
	CU_ASSERT_EQUAL(bad, 0);
	/* Both paths and both answers must really have been exercised. */
	CU_ASSERT(exact > 50);
	CU_ASSERT(yes > total / 10);
	CU_ASSERT(yes < total - total / 10);
}

/* Site-to-site at scale: one /24 pair per SA over a catch-all, all exact; and
 * a rule set whose overlap analysis would be slow is left to rte_acl. */
void
test_sa_check_scale(void)
{
	const uint32_t n = 8300; /* n^2/2 pairs under one prefix exceed the budget */
	struct sg_sp_rule *rules;
	struct sg_spd *spd;
	uint32_t i;

	rules = calloc(n, sizeof(*rules));
	CU_ASSERT_PTR_NOT_NULL_FATAL(rules);
	for (i = 0; i < n - 1; i++) {
		rules[i] = any_rule(10, SG_SP_PROTECT, i);
		rules[i].src = IP4(10, 0, 0, 0) | (i << 8);
		rules[i].src_depth = 24;
		rules[i].dst = IP4(172, 16, 0, 0) | (i << 8);
		rules[i].dst_depth = 24;
	}
	rules[n - 1] = any_rule(0, SG_SP_DISCARD, 0);
	spd = sa_spd(rules, n);
	CU_ASSERT_EQUAL(sg_spd_sa_exact_count(spd), n - 1);
	CU_ASSERT_EQUAL(check1(spd, P_UDP, IP4(10, 0, 7, 1), IP4(172, 16, 7, 9), 1, 2, 7), 1);
	CU_ASSERT_EQUAL(check1(spd, P_UDP, IP4(10, 0, 7, 1), IP4(172, 16, 8, 9), 1, 2, 7), 0);
	sg_spd_free(spd);

	/* Every rule under 0.0.0.0/0: disjoint by source, but too many pairs. */
	for (i = 0; i < n; i++) {
		rules[i].dst = 0;
		rules[i].dst_depth = 0;
	}
	spd = sa_spd(rules, n);
	CU_ASSERT_EQUAL(sg_spd_sa_exact_count(spd), 0);
	CU_ASSERT_EQUAL(check1(spd, P_UDP, IP4(10, 0, 7, 1), IP4(1, 2, 3, 4), 1, 2, 7), 1);
	CU_ASSERT_EQUAL(check1(spd, P_UDP, IP4(10, 0, 8, 1), IP4(1, 2, 3, 4), 1, 2, 7), 0);
	sg_spd_free(spd);
	free(rules);
}
