/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TEST_SPD_H
#define TEST_SPD_H

/* Shared by the spd suite's files (test_spd.c, spd_sa_check.c). */

#include <stdint.h>

#include "sg_pkt.h"
#include "sg_spd.h"

/* SG_IPV4() shifts an int into the sign bit for a >= 128; this does not. */
#define IP4(a, b, c, d) \
	((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))
#define P_ICMP 1
#define P_TCP 6
#define P_UDP 17
#define P_ESP 50
#define P_SCTP 132
/* Keys per randomized comparison. */
#define BULK_KEYS 10000

/* The suite's NUMA socket. */
extern int sock;

/* A rule that matches everything; tests narrow the fields they care about. */
struct sg_sp_rule any_rule(uint32_t pri, enum sg_sp_action a, uint32_t sa);

/* A key from a 5-tuple in host order. */
struct sg_spd_key mk_key(uint8_t proto, uint32_t src, uint32_t dst, uint16_t sport,
		uint16_t dport);

/* The obvious O(n) SPD: highest priority wins, the earlier rule on a tie. */
uint32_t ref_classify(const struct sg_sp_rule *rules, uint32_t n, const struct sg_spd_key *k);

/* xorshift64* with a seed in rng_state: every failure is reproducible. */
extern uint64_t rng_state;
uint32_t rnd(void);
uint32_t rnd_below(uint32_t n);

/* A random rule over a small address space, so that rules overlap a lot. */
void random_rule(struct sg_sp_rule *r);

/* Half the keys aim at one of @p rules (on or near its edges), half are background. */
void random_key(struct sg_spd_key *k, const struct sg_sp_rule *rules, uint32_t n);

/* sg_spd_check_sa() tests (spd_sa_check.c). */
void test_sa_check_own_rule(void);
void test_sa_check_shadowed(void);
void test_sa_check_ties(void);
void test_sa_check_two_rules(void);
void test_sa_check_sparse(void);
void test_sa_check_random(void);
void test_sa_check_scale(void);

#endif /* TEST_SPD_H */
