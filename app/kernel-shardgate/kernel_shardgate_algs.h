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
	/** strongSwan's encryption algorithm (an AEAD here) */
	encryption_algorithm_t enc_alg;
	/** key bits, without the salt */
	u_int key_bits;
	/** salt bytes at the end of charon's key (RFC 4106 §8.1: 4) */
	u_int salt_len;
	/** strongSwan's integrity algorithm, AUTH_UNDEFINED for an AEAD */
	integrity_algorithm_t int_alg;
	/** shardgate's "aead_algo" value */
	const char *aead_algo;
};

/**
 * The row for an SA charon wants, or NULL if shardgate lacks it.
 *
 * @param enc_key_len	charon's key length in bytes, salt included
 */
const shardgate_alg_t *shardgate_alg_find(uint16_t enc_alg, size_t enc_key_len,
										  uint16_t int_alg);

#endif /** KERNEL_SHARDGATE_ALGS_H_ */
