/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SG_CRYPTO_H
#define SG_CRYPTO_H

/**
 * @file
 * AEAD on intel-ipsec-mb, called directly. Each worker owns one IMB_MGR.
 *
 * The per-packet path uses only the burst job API with NOCHECK submission:
 * ipsec-mb 1.3's checked entry points (and its direct GCM API) write a
 * process-global errno on every call, which bounces one cache line between
 * all workers. The burst API writes it once per burst, and errors are read
 * per burst from the job status.
 */

#include <stdint.h>

#include <intel-ipsec-mb.h>
#include <rte_common.h>

/**
 * AEAD transforms. All four take ESP's layout of RFC 4106: keying material
 * is the key then a 4-byte salt, the nonce is salt || 8-byte IV, the ICV is
 * 16 bytes, the AAD is SPI || (ESN high) || sequence number. New values go
 * at the end: the number is part of a --seq-state key fingerprint.
 */
enum sg_aead {
	SG_AEAD_AES128_GCM,
	SG_AEAD_AES256_GCM,
	SG_AEAD_AES192_GCM,        /**< RFC 4106 with a 24-byte key */
	SG_AEAD_CHACHA20_POLY1305, /**< RFC 7634 */
	SG_AEAD_MAX
};

#define SG_CRYPTO_KEY_MAX 32
#define SG_CRYPTO_SALT_LEN 4
#define SG_CRYPTO_NONCE_LEN 12
#define SG_CRYPTO_TAG_LEN 16
#define SG_CRYPTO_AAD_MAX 12
/** Largest burst one call takes (ipsec-mb's own limit is 128). */
#define SG_CRYPTO_BURST_MAX 64

/** Key length in bytes for @p aead, or 0 when unknown. */
unsigned int sg_crypto_key_len(enum sg_aead aead);

/** Name as used in ipsec-secgw config ("aes-128-gcm"), or NULL. */
const char *sg_crypto_aead_name(enum sg_aead aead);

/**
 * Expanded key material for one SA. Cache-aligned because ipsec-mb reads
 * the round keys and GHASH powers with aligned vector loads. Wipe it with
 * sg_crypto_key_wipe() before freeing.
 */
struct sg_crypto_key {
	union {
		struct gcm_key_data gcm; /**< AES-GCM: round keys, GHASH powers */
		uint8_t raw[SG_CRYPTO_KEY_MAX]; /**< ChaCha20-Poly1305: the key */
	};
	uint8_t salt[SG_CRYPTO_SALT_LEN];
	uint8_t aead; /**< enum sg_aead */
	uint8_t key_len;
} __rte_cache_aligned;

/**
 * Allocate and initialise a manager for the best architecture this CPU has,
 * in memory on @p socket.
 * @return the manager, or NULL with rte_errno set.
 */
IMB_MGR *sg_crypto_mgr_create(int socket);

/** Free a manager from sg_crypto_mgr_create(). NULL is a no-op. */
void sg_crypto_mgr_free(IMB_MGR *mgr);

/** Architecture ipsec-mb chose for @p mgr ("avx512", "avx2", ...). */
const char *sg_crypto_mgr_arch(const IMB_MGR *mgr);

/**
 * Expand @p key (and keep @p salt) into @p k.
 * @return 0, or -EINVAL on a bad algorithm or key length.
 */
int sg_crypto_key_init(struct sg_crypto_key *k, IMB_MGR *mgr, enum sg_aead aead,
		const uint8_t *key, unsigned int key_len, const uint8_t salt[SG_CRYPTO_SALT_LEN]);

/** Wipe all key material in @p k. */
void sg_crypto_key_wipe(struct sg_crypto_key *k);

/** Result of one AEAD operation. */
enum sg_crypto_status {
	SG_CRYPTO_OK = 0,
	SG_CRYPTO_AUTH_FAILED = 1, /**< computed tag differs from the ICV */
	SG_CRYPTO_ERROR = 2,       /**< ipsec-mb refused the job */
};

/**
 * One AEAD operation, in place. The caller fills key, data, len, icv,
 * nonce and aad; the burst call sets status.
 */
struct sg_crypto_op {
	const struct sg_crypto_key *key;
	uint8_t *data;  /**< plaintext/ciphertext, transformed in place */
	uint8_t *icv;   /**< encrypt: tag written here; decrypt: tag compared */
	uint32_t len;   /**< bytes at data */
	uint8_t aad_len;
	uint8_t status; /**< enum sg_crypto_status */
	uint8_t aad[SG_CRYPTO_AAD_MAX];
	uint8_t nonce[SG_CRYPTO_NONCE_LEN];
	uint8_t tag[SG_CRYPTO_TAG_LEN]; /**< decrypt: tag computed by ipsec-mb */
};

/**
 * Encrypt @p n ops (n <= SG_CRYPTO_BURST_MAX) with one ipsec-mb burst.
 * @return number of ops with status SG_CRYPTO_OK.
 */
uint16_t sg_crypto_encrypt_burst(IMB_MGR *mgr, struct sg_crypto_op *ops, uint16_t n);

/**
 * Decrypt @p n ops with one ipsec-mb burst and compare each tag with its ICV
 * in constant time.
 * @return number of ops with status SG_CRYPTO_OK.
 */
uint16_t sg_crypto_decrypt_burst(IMB_MGR *mgr, struct sg_crypto_op *ops, uint16_t n);

#endif /* SG_CRYPTO_H */
