/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdio.h>

#include "kernel_shardgate_algs.h"

/*
 * charon hands an AEAD key as key || salt (RFC 4106 §8.1), the same order
 * as shardgate's aead_key, so the bytes go across unchanged; RFC 7634 keys
 * ChaCha20-Poly1305 the same way (32-byte key, 4-byte salt), and RFC 4543
 * AES-GMAC too (ENCR_NULL_AUTH_AES_GMAC: an encryption transform in IKEv2
 * that encrypts nothing). AES-CBC's key has no salt, and its HMAC's key
 * comes apart (int_key).
 */
#define CBC(bits, integ, name) { ENCR_AES_CBC, bits, 0, integ, "aes-" #bits "-cbc", name }
#define CBC_ALL(bits) CBC(bits, AUTH_HMAC_SHA1_96, "sha1-hmac"), \
	CBC(bits, AUTH_HMAC_SHA2_256_128, "sha256-hmac"), \
	CBC(bits, AUTH_HMAC_SHA2_384_192, "sha384-hmac"), \
	CBC(bits, AUTH_HMAC_SHA2_512_256, "sha512-hmac")

static const shardgate_alg_t algs[] = {
	{ ENCR_AES_GCM_ICV16, 128, 4, AUTH_UNDEFINED, "aes-128-gcm", NULL },
	{ ENCR_AES_GCM_ICV16, 192, 4, AUTH_UNDEFINED, "aes-192-gcm", NULL },
	{ ENCR_AES_GCM_ICV16, 256, 4, AUTH_UNDEFINED, "aes-256-gcm", NULL },
	{ ENCR_CHACHA20_POLY1305, 256, 4, AUTH_UNDEFINED, "chacha20-poly1305", NULL },
	{ ENCR_NULL_AUTH_AES_GMAC, 128, 4, AUTH_UNDEFINED, NULL, "aes-gmac" },
	{ ENCR_NULL_AUTH_AES_GMAC, 192, 4, AUTH_UNDEFINED, NULL, "aes-gmac" },
	{ ENCR_NULL_AUTH_AES_GMAC, 256, 4, AUTH_UNDEFINED, NULL, "aes-gmac" },
	CBC_ALL(128),
	CBC_ALL(192),
	CBC_ALL(256),
};

const shardgate_alg_t *
shardgate_alg_find(uint16_t enc_alg, size_t enc_key_len, uint16_t int_alg)
{
	u_int i;

	for (i = 0; i < countof(algs); i++)
	{
		if (algs[i].enc_alg == enc_alg && algs[i].int_alg == int_alg &&
			enc_key_len == algs[i].key_bits / 8 + algs[i].salt_len)
		{
			return &algs[i];
		}
	}
	return NULL;
}

/* "aa:bb:...", or FALSE if it does not fit */
static bool
hex_colon(chunk_t key, char *buf, size_t len)
{
	size_t i, at = 0;

	for (i = 0; i < key.len; i++)
	{
		if (at + 3 >= len)
		{
			return FALSE;
		}
		at += snprintf(buf + at, len - at, "%s%02x", i ? ":" : "", key.ptr[i]);
	}
	if (at >= len)
	{
		return FALSE;
	}
	buf[at] = '\0';
	return TRUE;
}

bool
shardgate_alg_words(const shardgate_alg_t *alg, chunk_t enc_key, chunk_t int_key,
					char *buf, size_t len)
{
	char ek[3 * 64], ik[3 * 64];
	bool ok;
	int n;

	ok = hex_colon(enc_key, ek, sizeof(ek)) && hex_colon(int_key, ik, sizeof(ik));
	if (!alg->auth_algo)
	{
		n = snprintf(buf, len, "aead_algo %s aead_key %s", alg->cipher_algo, ek);
	}
	else if (!alg->cipher_algo)
	{
		n = snprintf(buf, len, "cipher_algo null auth_algo %s auth_key %s",
					 alg->auth_algo, ek);
	}
	else
	{
		n = snprintf(buf, len, "cipher_algo %s cipher_key %s auth_algo %s auth_key %s",
					 alg->cipher_algo, ek, alg->auth_algo, ik);
	}
	memwipe(ek, sizeof(ek));
	memwipe(ik, sizeof(ik));
	return ok && n > 0 && (size_t)n < len;
}
