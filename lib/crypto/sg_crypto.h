/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SG_CRYPTO_H
#define SG_CRYPTO_H

/**
 * @file
 * ESP's ciphers and integrity on intel-ipsec-mb, called directly. Each worker owns one IMB_MGR.
 *
 * The per-packet path uses only the burst job API with NOCHECK submission:
 * ipsec-mb 1.3's checked entry points (and its direct GCM API) write a
 * process-global errno on every call, which bounces one cache line between
 * all workers. The burst API writes it once per burst, and errors are read
 * per burst from the job status.
 */

#include <stdbool.h>
#include <stdint.h>

#include <intel-ipsec-mb.h>
#include <rte_common.h>

/**
 * ESP ciphers. The AEADs take ESP's layout of RFC 4106: keying material is
 * the key then a 4-byte salt, the nonce is salt || 8-byte IV, the ICV is
 * 16 bytes, the AAD is SPI || (ESN high) || sequence number. AES-GMAC (RFC
 * 4543) is IKEv2's ENCR_NULL_AUTH_AES_GMAC: keyed and nonced like AES-GCM,
 * it encrypts nothing and authenticates the whole packet. AES-CBC (RFC
 * 3602) is paired with an HMAC (enum sg_auth). New values go at the end:
 * the number is part of a --seq-state key fingerprint.
 */
enum sg_cipher {
	SG_AEAD_AES128_GCM,
	SG_AEAD_AES256_GCM,
	SG_AEAD_AES192_GCM,        /**< RFC 4106 with a 24-byte key */
	SG_AEAD_CHACHA20_POLY1305, /**< RFC 7634 */
	SG_CIPHER_AES128_CBC,      /**< RFC 3602, with an HMAC */
	SG_CIPHER_AES192_CBC,
	SG_CIPHER_AES256_CBC,
	SG_AEAD_AES128_GMAC,       /**< RFC 4543, integrity only */
	SG_AEAD_AES192_GMAC,
	SG_AEAD_AES256_GMAC,
	SG_CIPHER_MAX
};

/**
 * ESP integrity for a cipher that has none of its own: HMAC-SHA-1-96 (RFC
 * 2404) and HMAC-SHA-2 truncated to half (RFC 4868). SG_AUTH_AEAD: the
 * cipher authenticates.
 */
enum sg_auth {
	SG_AUTH_AEAD,
	SG_AUTH_SHA1_96,
	SG_AUTH_SHA256_128,
	SG_AUTH_SHA384_192,
	SG_AUTH_SHA512_256,
	SG_AUTH_MAX
};

#define SG_CRYPTO_KEY_MAX 32
#define SG_CRYPTO_SALT_LEN 4
#define SG_CRYPTO_NONCE_LEN 12
#define SG_CRYPTO_TAG_LEN 16 /**< an AEAD's ICV */
#define SG_CRYPTO_ICV_MAX 32 /**< the longest ICV (HMAC-SHA-512-256) */
#define SG_CRYPTO_AUTH_KEY_MAX 64
#define SG_CRYPTO_AAD_MAX 12
#define SG_CRYPTO_IV_MAX 16
/** Largest burst one call takes (ipsec-mb's own limit is 128). */
#define SG_CRYPTO_BURST_MAX 64

/** Key length in bytes for @p cipher (without the salt), or 0 when unknown. */
unsigned int sg_crypto_key_len(enum sg_cipher cipher);

/** Whether @p cipher takes a 4-byte salt after its key (the AEADs and GMAC). */
bool sg_crypto_has_salt(enum sg_cipher cipher);

/** Name as used in ipsec-secgw config ("aes-128-gcm", "aes-128-cbc"), or NULL. */
const char *sg_crypto_cipher_name(enum sg_cipher cipher);

/** HMAC key length in bytes for @p auth, or 0 (SG_AUTH_AEAD, unknown). */
unsigned int sg_crypto_auth_key_len(enum sg_auth auth);

/** Name as in ipsec-secgw config ("sha1-hmac"), or NULL (SG_AUTH_AEAD, unknown). */
const char *sg_crypto_auth_name(enum sg_auth auth);

/**
 * What one cipher and integrity pair puts on the wire, by transform number
 * (sg_crypto_xform_id()). The data path reads sizes from this table, not
 * from branches: a burst of one transform runs the same code as before.
 */
struct sg_crypto_xform {
	uint8_t valid;
	uint8_t iv_len;   /**< explicit IV bytes behind the ESP header */
	uint8_t icv_len;  /**< ICV bytes at the end */
	uint8_t pad_mask; /**< outbound, payload + trailer align to pad_mask + 1 */
	uint8_t in_mask;  /**< inbound, ciphertext must be a multiple of in_mask + 1 */
	uint8_t min_len;  /**< shortest ESP packet (header to ICV) worth decrypting */
	uint8_t overhead; /**< ESP header, IV and ICV: what the payload is not */
};

#define SG_CRYPTO_XFORM_MAX (SG_CIPHER_MAX * SG_AUTH_MAX)

/** Transform table, indexed by sg_crypto_xform_id(). */
extern const struct sg_crypto_xform sg_crypto_xforms[SG_CRYPTO_XFORM_MAX];

/** Transform number of @p cipher with @p auth, or -1 when they do not pair. */
static inline int
sg_crypto_xform_id(enum sg_cipher cipher, enum sg_auth auth)
{
	unsigned int id = (unsigned int)cipher * SG_AUTH_MAX + (unsigned int)auth;

	if ((unsigned int)cipher >= SG_CIPHER_MAX || (unsigned int)auth >= SG_AUTH_MAX ||
			!sg_crypto_xforms[id].valid)
		return -1;
	return (int)id;
}

/** The cipher of transform @p xform. */
static inline enum sg_cipher
sg_crypto_xform_cipher(unsigned int xform)
{
	return (enum sg_cipher)(xform / SG_AUTH_MAX);
}

/** The integrity algorithm of transform @p xform. */
static inline enum sg_auth
sg_crypto_xform_auth(unsigned int xform)
{
	return (enum sg_auth)(xform % SG_AUTH_MAX);
}

/** How ipsec-mb is driven for a key (sg_crypto_key.kind). */
enum sg_crypto_kind {
	SG_CRYPTO_KIND_GCM,    /**< AES-GCM: cipher and GHASH, AAD apart */
	SG_CRYPTO_KIND_CHACHA, /**< ChaCha20-Poly1305 */
	SG_CRYPTO_KIND_CBC,    /**< AES-CBC, then HMAC over header, IV and ciphertext */
	SG_CRYPTO_KIND_GMAC,   /**< AES-GMAC: nothing encrypted, everything authenticated */
};

/**
 * Expanded key material for one SA. Cache-aligned because ipsec-mb reads
 * the round keys and GHASH powers with aligned vector loads. Wipe it with
 * sg_crypto_key_wipe() before freeing.
 */
struct sg_crypto_key {
	union {
		struct gcm_key_data gcm; /**< AES-GCM, AES-GMAC: round keys, GHASH powers */
		uint8_t raw[SG_CRYPTO_KEY_MAX]; /**< ChaCha20-Poly1305: the key */
		struct {
			/** AES round keys, encrypt and decrypt (15 of 16 bytes) */
			uint8_t enc[16 * 15] __rte_aligned(16);
			uint8_t dec[16 * 15] __rte_aligned(16);
			/** HMAC: hash state after the key xor ipad, opad blocks */
			uint8_t ipad[64] __rte_aligned(16);
			uint8_t opad[64] __rte_aligned(16);
		} cbc;
	};
	uint8_t salt[SG_CRYPTO_SALT_LEN];
	uint8_t cipher;  /**< enum sg_cipher */
	uint8_t auth;    /**< enum sg_auth */
	uint8_t xform;   /**< sg_crypto_xform_id() */
	uint8_t key_len;
	uint8_t icv_len;
	uint8_t iv_len;
	uint8_t kind;    /**< enum sg_crypto_kind */
	uint8_t hash;    /**< IMB_HASH_ALG for the kind */
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
 * Expand @p key (and keep @p salt) into @p k for an AEAD or GMAC, whose
 * integrity is its own.
 * @return 0, or -EINVAL on a bad algorithm or key length.
 */
int sg_crypto_key_init(struct sg_crypto_key *k, IMB_MGR *mgr, enum sg_cipher cipher,
		const uint8_t *key, unsigned int key_len, const uint8_t salt[SG_CRYPTO_SALT_LEN]);

/**
 * As sg_crypto_key_init(), with an integrity algorithm and its key: AES-CBC
 * takes an HMAC (and no salt: @p salt may be NULL), the rest SG_AUTH_AEAD
 * and no @p auth_key.
 * @return 0, or -EINVAL on a pair that does not go together or a bad length.
 */
int sg_crypto_key_init_auth(struct sg_crypto_key *k, IMB_MGR *mgr, enum sg_cipher cipher,
		const uint8_t *key, unsigned int key_len, const uint8_t *salt, enum sg_auth auth,
		const uint8_t *auth_key, unsigned int auth_key_len);

/** Wipe all key material in @p k. */
void sg_crypto_key_wipe(struct sg_crypto_key *k);

/** Result of one AEAD operation. */
enum sg_crypto_status {
	SG_CRYPTO_OK = 0,
	SG_CRYPTO_AUTH_FAILED = 1, /**< computed tag differs from the ICV */
	SG_CRYPTO_ERROR = 2,       /**< ipsec-mb refused the job */
};

/**
 * One ESP operation, in place. The caller fills key, data, len, icv, nonce
 * and aad; the burst call sets status.
 *
 * data is the ESP payload (behind the header and the key's iv_len bytes of
 * IV) in a packet laid out as RFC 4303 §2 has it: the ESP header and IV
 * right before data, the ICV at icv = data + len. The AEADs use nonce and
 * aad; AES-GMAC and the HMACs authenticate the header, IV and payload where
 * they are, with the ESN high half (from aad) where RFC 4303 §2.2.1 and RFC
 * 4543 §3.3 put it for the computation only. Outbound AES-CBC encrypts the
 * IV field too: the caller writes a number unique under the key there (the
 * sequence number), and its encryption under the key becomes the IV, which
 * is then unpredictable, as RFC 3602 §2.1 needs (NIST SP 800-38A, App. C).
 */
struct sg_crypto_op {
	const struct sg_crypto_key *key;
	uint8_t *data;  /**< plaintext/ciphertext, transformed in place */
	uint8_t *icv;   /**< encrypt: tag written here; decrypt: tag compared */
	uint32_t len;   /**< bytes at data; AES-CBC: a multiple of 16 */
	uint8_t aad_len; /**< 8, or 12 with ESN */
	uint8_t status; /**< enum sg_crypto_status */
	uint8_t aad[SG_CRYPTO_AAD_MAX]; /**< SPI || (seq_hi) || seq_lo */
	uint8_t nonce[SG_CRYPTO_NONCE_LEN];
	uint8_t tag[SG_CRYPTO_ICV_MAX]; /**< decrypt: tag computed by ipsec-mb */
};

/**
 * Encrypt @p n ops (n <= SG_CRYPTO_BURST_MAX) with one ipsec-mb burst.
 * @return number of ops with status SG_CRYPTO_OK.
 */
uint16_t sg_crypto_encrypt_burst(IMB_MGR *mgr, struct sg_crypto_op *ops, uint16_t n);

/**
 * Decrypt @p n ops with one ipsec-mb burst and compare each tag with its ICV
 * in constant time. The packet's ICV bytes are not kept.
 * @return number of ops with status SG_CRYPTO_OK.
 */
uint16_t sg_crypto_decrypt_burst(IMB_MGR *mgr, struct sg_crypto_op *ops, uint16_t n);

#endif /* SG_CRYPTO_H */
