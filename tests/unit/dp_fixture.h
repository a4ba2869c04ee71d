/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DP_FIXTURE_H
#define DP_FIXTURE_H

/*
 * The dp suite's fixture (test_dp.c: one worker, its shard and SA table, a
 * pool), shared with the suite's other files that run inside it (dp_fuzz.c).
 */

#include <stdbool.h>
#include <stdint.h>

#include "sg_crypto.h"
#include "sg_dp.h"
#include "sg_pkt.h"
#include "sg_sa.h"

#define TUN_A SG_IPV4(172, 16, 0, 1)
#define TUN_B SG_IPV4(172, 16, 0, 2)

/* The ESP known answer (Scapy, AES-128-GCM, SPI 0x1234, seq 1): see test_dp.c. */
#define KAT128_INNER_LEN 47
#define KAT128_ESP_LEN 84
extern const uint8_t kat128_key[16];
extern const uint8_t kat128_salt[4];
extern const uint8_t kat128_inner[KAT128_INNER_LEN];
extern const uint8_t kat128_esp[KAT128_ESP_LEN];

extern struct rte_mempool *pool;
extern struct sg_dp_lcore *lc;

/* Add an SA between TUN_A and TUN_B to the worker's table; its index. */
uint32_t add_sa(enum sg_sa_dir dir, uint32_t spi, enum sg_cipher aead, const uint8_t *key,
		const uint8_t *salt, bool esn, uint32_t win);
/* add_sa() with an integrity algorithm (AES-CBC's HMAC; SG_AUTH_AEAD for the rest). */
uint32_t add_sa_auth(enum sg_sa_dir dir, uint32_t spi, enum sg_cipher aead, enum sg_auth auth,
		const uint8_t *key, const uint8_t *salt, bool esn, uint32_t win);
/* Delete every SA and zero the worker's counters. */
void reset_all(void);
/* Every mbuf of the pool is back. */
void check_no_leak(void);

/* dp_fuzz.c */
void test_fuzz_inbound(void);
void test_fuzz_outbound(void);

#endif /* DP_FIXTURE_H */
