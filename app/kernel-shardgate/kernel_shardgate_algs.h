/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * Which strongSwan algorithms shardgate carries, and their names in its
 * SA grammar: one table row per algorithm (kernel_shardgate_algs.c).
 */
#ifndef KERNEL_SHARDGATE_ALGS_H_
#define KERNEL_SHARDGATE_ALGS_H_

#include <crypto/crypters/crypter.h>
#include <crypto/signers/signer.h>

typedef struct shardgate_alg_t shardgate_alg_t;

struct shardgate_alg_t {
	/** strongSwan's encryption algorithm */
	encryption_algorithm_t enc_alg;
	/** key bits, without the salt */
	u_int key_bits;
	/** salt bytes at the end of charon's key (RFC 4106 §8.1: 4) */
	u_int salt_len;
	/** strongSwan's integrity algorithm, AUTH_UNDEFINED for an AEAD */
	integrity_algorithm_t int_alg;
	/** shardgate's "aead_algo" value (auth_algo NULL), or its
	 * "cipher_algo" (NULL: "null") */
	const char *cipher_algo;
	/** shardgate's "auth_algo", NULL for an AEAD */
	const char *auth_algo;
};

/**
 * The row for an SA charon wants, or NULL if shardgate lacks it.
 *
 * @param enc_key_len	charon's key length in bytes, salt included
 */
const shardgate_alg_t *shardgate_alg_find(uint16_t enc_alg, size_t enc_key_len,
										  uint16_t int_alg);

/**
 * The SA's algorithm words in shardgate's grammar, keys included: "aead_algo
 * A aead_key K", or "cipher_algo C cipher_key K auth_algo H auth_key K2",
 * or "cipher_algo null auth_algo aes-gmac auth_key K". The caller wipes
 * @p buf.
 *
 * @return		FALSE if it does not fit in @p len
 */
bool shardgate_alg_words(const shardgate_alg_t *alg, chunk_t enc_key, chunk_t int_key,
						 char *buf, size_t len);

#endif /** KERNEL_SHARDGATE_ALGS_H_ */
