/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The conf suite's cipher_algo/auth_algo grammar, as ipsec-secgw's sa.c
 * has it: AES-CBC (RFC 3602) with HMAC-SHA-1-96 or HMAC-SHA-2 (RFC 2404,
 * RFC 4868), and "cipher_algo null auth_algo aes-gmac" (RFC 4543).
 */
#include <stdint.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <rte_common.h>

#include "sg_conf.h"
#include "sg_sa.h"
#include "test_conf.h"

#define K16 "a1:a2:a3:a4:a5:a6:a7:a8:a9:aa:ab:ac:ad:ae:af:b0"
#define K24 K16 ":c1:c2:c3:c4:c5:c6:c7:c8"
#define K32 K16 ":d1:d2:d3:d4:d5:d6:d7:d8:d9:da:db:dc:dd:de:df:e0"
#define K48 K32 ":e1:e2:e3:e4:e5:e6:e7:e8:e9:ea:eb:ec:ed:ee:ef:f0"
#define K64 K48 ":c1:c2:c3:c4:c5:c6:c7:c8:c9:ca:cb:cc:cd:ce:cf:b1"
#define CBC128 "cipher_algo aes-128-cbc cipher_key " K16
#define HMAC1 "auth_algo sha1-hmac auth_key " K16 ":c1:c2:c3:c4"

void
test_cbc_gmac(void)
{
	static const struct {
		enum sg_cipher cipher;
		enum sg_auth auth;
		uint8_t key_len, auth_key_len;
	} want[] = {
		{SG_CIPHER_AES128_CBC, SG_AUTH_SHA1_96, 16, 20},
		{SG_CIPHER_AES192_CBC, SG_AUTH_SHA256_128, 24, 32},
		{SG_CIPHER_AES256_CBC, SG_AUTH_SHA384_192, 32, 48},
		{SG_CIPHER_AES128_CBC, SG_AUTH_SHA512_256, 16, 64},
		{SG_AEAD_AES128_GMAC, SG_AUTH_AEAD, 16, 0},
		{SG_AEAD_AES192_GMAC, SG_AUTH_AEAD, 24, 0},
		{SG_AEAD_AES256_GMAC, SG_AUTH_AEAD, 32, 0},
	};
	static const uint8_t salt[4] = {0xc1, 0xc2, 0xc3, 0xc4};
	/* auth before cipher, and continued lines: ipsec-secgw takes any order */
	const char *text =
		"sa out 1 " CBC128 " " HMAC1 TUN "\n"
		"sa in 2 auth_algo sha256-hmac auth_key " K32 " cipher_algo aes-192-cbc "
		"cipher_key " K24 TUN " esn\n"
		"sa out 3 cipher_algo aes-256-cbc cipher_key " K32 " \\\n"
		"  auth_algo sha384-hmac auth_key " K48 TUN "\n"
		"sa in 4 " CBC128 " auth_algo sha512-hmac auth_key " K64 TUN "\n"
		"sa in 5 cipher_algo null auth_algo aes-gmac auth_key " K16 ":c1:c2:c3:c4" TUN "\n"
		"sa out 6 auth_algo aes-gmac auth_key " K24 ":c1:c2:c3:c4 cipher_algo null" TUN "\n"
		"sa in 7 cipher_algo null auth_algo aes-gmac auth_key " K32 ":c1:c2:c3:c4" TUN "\n";
	struct sg_conf c;
	unsigned int i;

	CU_ASSERT_EQUAL_FATAL(parse(text, &c), 0);
	CU_ASSERT_EQUAL_FATAL(c.nb_sa, RTE_DIM(want));
	for (i = 0; i < RTE_DIM(want); i++) {
		const struct sg_sa_prm *p = &c.sa[i].prm;

		CU_ASSERT_EQUAL(p->cipher, want[i].cipher);
		CU_ASSERT_EQUAL(p->auth, want[i].auth);
		CU_ASSERT_EQUAL(p->key_len, want[i].key_len);
		CU_ASSERT_EQUAL(p->auth_key_len, want[i].auth_key_len);
		CU_ASSERT(sg_crypto_xform_id(p->cipher, p->auth) >= 0);
		/* every key starts a1..b0; the cipher key is never the HMAC's */
		CU_ASSERT(p->key[0] == 0xa1 && p->key[15] == 0xb0);
		if (want[i].auth_key_len > 0) {
			CU_ASSERT(p->auth_key[0] == 0xa1);
			CU_ASSERT_EQUAL(p->auth_key[want[i].auth_key_len - 1],
					want[i].auth_key_len == 20 ? 0xc4 : want[i].auth_key_len == 32 ?
					0xe0 : want[i].auth_key_len == 48 ? 0xf0 : 0xb1);
			CU_ASSERT(p->salt[0] == 0 && p->salt[3] == 0); /* CBC has no salt */
		} else {
			/* GMAC: the key, then the salt (RFC 4543 §3.2) */
			CU_ASSERT(memcmp(p->salt, salt, sizeof(salt)) == 0);
		}
	}
	CU_ASSERT(c.sa[1].prm.esn);
	CU_ASSERT_EQUAL(c.sa[1].prm.key[23], 0xc8);
	CU_ASSERT_EQUAL(c.sa[2].prm.key[31], 0xe0);
	sg_conf_free(&c);
}

void
test_alg_errors(void)
{
	static const struct {
		const char *text;
		const char *why;
	} bad[] = {
		{"sa in 5 " CBC128 TUN "\n", "sa: cipher_algo aes-128-cbc needs an auth_algo "
			"(sha1-hmac, sha256-hmac, sha384-hmac, sha512-hmac, aes-gmac"},
		{"sa in 5 " HMAC1 TUN "\n", "sa: auth_algo needs a cipher_algo (aes-128-cbc, "
			"aes-192-cbc, aes-256-cbc, null (with aes-gmac))"},
		{"sa in 5 " GCM128 " " HMAC1 TUN "\n", "sa: aead_algo and auth_algo: an AEAD "
			"authenticates itself"},
		{"sa in 5 " CBC128 " " GCM128 TUN "\n", "sa: aead_algo and cipher_algo"},
		{"sa in 5 cipher_algo aes-128-cbc cipher_key " K24 " " HMAC1 TUN "\n",
			"sa: cipher_key for aes-128-cbc must be 16 bytes, got 24"},
		{"sa in 5 " CBC128 " auth_algo sha256-hmac auth_key " K16 TUN "\n",
			"sa: auth_key for sha256-hmac must be 32 bytes, got 16"},
		{"sa in 5 " CBC128 " auth_algo sha1-hmac auth_key a1:a2:0g" TUN "\n",
			"sa: auth_key has a character that is neither a hex digit nor ':' (key not shown)"},
		{"sa in 5 " CBC128 " auth_algo sha1-hmac " K16 TUN "\n",
			"sa: expected 'auth_key' after 'auth_algo sha1-hmac' (found a word that looks "
			"like key material, not shown)"},
		{"sa in 5 " CBC128 " auth_algo sha1-hmac\n", "sa: missing 'auth_key' after "
			"'auth_algo sha1-hmac'"},
		{"sa in 5 cipher_algo aes-128-cbc mode ipv4-tunnel\n",
			"sa: expected 'cipher_key' after 'cipher_algo aes-128-cbc', got 'mode'"},
		{"sa in 5 cipher_key " K16 " " HMAC1 TUN "\n",
			"sa: 'cipher_key' must follow 'cipher_algo <algorithm>'"},
		{"sa in 5 " CBC128 " auth_key " K16 TUN "\n",
			"sa: 'auth_key' must follow 'auth_algo <algorithm>'"},
		{"sa in 5 cipher_algo aes-128-ctr cipher_key " K16 " " HMAC1 TUN "\n",
			"sa: cipher_algo aes-128-ctr is not supported yet"},
		{"sa in 5 cipher_algo aes-512-cbc cipher_key " K16 " " HMAC1 TUN "\n",
			"sa: unknown cipher_algo 'aes-512-cbc'"},
		{"sa in 5 " CBC128 " auth_algo aes-xcbc-mac auth_key " K16 TUN "\n",
			"sa: auth_algo aes-xcbc-mac is not supported yet"},
		{"sa in 5 " CBC128 " auth_algo md5-hmac auth_key " K16 TUN "\n",
			"sa: unknown auth_algo 'md5-hmac'"},
		{"sa in 5 " CBC128 " auth_algo aes-gmac auth_key " K16 ":c1:c2:c3:c4" TUN "\n",
			"sa: auth_algo aes-gmac authenticates alone: it goes with cipher_algo null"},
		{"sa in 5 cipher_algo null " HMAC1 TUN "\n", "sa: cipher_algo null with sha1-hmac "
			"is not supported yet"},
		{"sa in 5 cipher_algo null auth_algo aes-gmac auth_key " K16 TUN "\n",
			"sa: auth_key for aes-gmac must be 20, 28 or 36 bytes"},
		{"sa in 5 cipher_algo null" TUN "\n", "sa: cipher_algo null needs an auth_algo"},
		{"sa in 5 " CBC128 " " HMAC1 " " HMAC1 TUN "\n", "sa: 'auth_algo' given twice"},
	};
	unsigned int i;

	for (i = 0; i < RTE_DIM(bad); i++)
		conf_check_bad("alg bad", i, bad[i].text, 1, bad[i].why);
}
