/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TEST_CRYPTO_H
#define TEST_CRYPTO_H

/* Shared by the crypto suite's files (test_crypto.c, crypto_esp.c). */

#include <stddef.h>
#include <stdint.h>

#include <intel-ipsec-mb.h>

/* The suite's ipsec-mb manager. */
IMB_MGR *test_crypto_mgr(void);

/* Decode hex @p s into @p out (at most @p max bytes); returns the length. */
size_t unhex(const char *s, uint8_t *out, size_t max);

/* ESP transforms beyond the AEADs (crypto_esp.c). */
void test_esp_kat(void);
void test_esp_mixed(void);
void test_esp_tampered(void);
void test_esp_keys(void);
void test_esp_names(void);
void test_esp_fini(void);

#endif /* TEST_CRYPTO_H */
