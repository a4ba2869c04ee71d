/* SPDX-License-Identifier: BSD-3-Clause */
#include "kernel_shardgate_algs.h"

/*
 * charon hands an AEAD key as key || salt (RFC 4106 §8.1), the same order
 * as shardgate's aead_key, so the bytes go across unchanged; RFC 7634 keys
 * ChaCha20-Poly1305 the same way (32-byte key, 4-byte salt). CBC + HMAC
 * rows come as shardgate learns them.
 */
static const shardgate_alg_t algs[] = {
	{ ENCR_AES_GCM_ICV16, 128, 4, AUTH_UNDEFINED, "aes-128-gcm" },
	{ ENCR_AES_GCM_ICV16, 192, 4, AUTH_UNDEFINED, "aes-192-gcm" },
	{ ENCR_AES_GCM_ICV16, 256, 4, AUTH_UNDEFINED, "aes-256-gcm" },
	{ ENCR_CHACHA20_POLY1305, 256, 4, AUTH_UNDEFINED, "chacha20-poly1305" },
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
