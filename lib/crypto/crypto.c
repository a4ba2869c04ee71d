/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_malloc.h>

#include "sg_common.h"
#include "sg_crypto.h"

_Static_assert(SG_CRYPTO_ICV_MAX <= 32 && SG_CRYPTO_ICV_MAX % 4 == 0, "sg_ct_neq() takes the ICV");
_Static_assert(SG_CRYPTO_XFORM_MAX <= 128, "a transform and its ESN bit make a uint8_t group");

struct cipher_desc {
	const char *name;
	unsigned int key_len;
	uint8_t kind;
	uint8_t iv_len;
	uint8_t pad_mask;
	uint8_t in_mask;
};

static const struct cipher_desc ciphers[SG_CIPHER_MAX] = {
	[SG_AEAD_AES128_GCM] = {"aes-128-gcm", IMB_KEY_128_BYTES, SG_CRYPTO_KIND_GCM, 8, 3, 0},
	[SG_AEAD_AES256_GCM] = {"aes-256-gcm", IMB_KEY_256_BYTES, SG_CRYPTO_KIND_GCM, 8, 3, 0},
	[SG_AEAD_AES192_GCM] = {"aes-192-gcm", IMB_KEY_192_BYTES, SG_CRYPTO_KIND_GCM, 8, 3, 0},
	[SG_AEAD_CHACHA20_POLY1305] = {"chacha20-poly1305", 32, SG_CRYPTO_KIND_CHACHA, 8, 3, 0},
	/* RFC 3602 §2.4: payload, padding and trailer fill whole blocks. */
	[SG_CIPHER_AES128_CBC] = {"aes-128-cbc", IMB_KEY_128_BYTES, SG_CRYPTO_KIND_CBC, 16, 15, 15},
	[SG_CIPHER_AES192_CBC] = {"aes-192-cbc", IMB_KEY_192_BYTES, SG_CRYPTO_KIND_CBC, 16, 15, 15},
	[SG_CIPHER_AES256_CBC] = {"aes-256-cbc", IMB_KEY_256_BYTES, SG_CRYPTO_KIND_CBC, 16, 15, 15},
	[SG_AEAD_AES128_GMAC] = {"aes-128-gmac", IMB_KEY_128_BYTES, SG_CRYPTO_KIND_GMAC, 8, 3, 0},
	[SG_AEAD_AES192_GMAC] = {"aes-192-gmac", IMB_KEY_192_BYTES, SG_CRYPTO_KIND_GMAC, 8, 3, 0},
	[SG_AEAD_AES256_GMAC] = {"aes-256-gmac", IMB_KEY_256_BYTES, SG_CRYPTO_KIND_GMAC, 8, 3, 0},
};

struct auth_desc {
	const char *name;
	unsigned int key_len; /* RFC 2404 §3, RFC 4868 §2.1.1 */
	unsigned int icv_len; /* truncated to half (RFC 4868 §2.3), 96 bits for SHA-1 */
	unsigned int block;   /* the hash's block, which HMAC pads the key to */
	IMB_HASH_ALG hash;
};

static const struct auth_desc auths[SG_AUTH_MAX] = {
	[SG_AUTH_AEAD] = {NULL, 0, SG_CRYPTO_TAG_LEN, 0, IMB_AUTH_NULL},
	[SG_AUTH_SHA1_96] = {"sha1-hmac", 20, 12, 64, IMB_AUTH_HMAC_SHA_1},
	[SG_AUTH_SHA256_128] = {"sha256-hmac", 32, 16, 64, IMB_AUTH_HMAC_SHA_256},
	[SG_AUTH_SHA384_192] = {"sha384-hmac", 48, 24, 128, IMB_AUTH_HMAC_SHA_384},
	[SG_AUTH_SHA512_256] = {"sha512-hmac", 64, 32, 128, IMB_AUTH_HMAC_SHA_512},
};

#define XF(c, a) ((c) * SG_AUTH_MAX + (a))
/* ESP header, IV, at least the trailer (a whole block for CBC), ICV. */
#define XF_AEAD(c) [XF(c, SG_AUTH_AEAD)] = {1, 8, 16, 3, 0, 8 + 8 + 2 + 16, 8 + 8 + 16}
#define XF_CBC(c, a, icv) [XF(c, a)] = {1, 16, icv, 15, 15, 8 + 16 + 16 + icv, 8 + 16 + icv}
#define XF_CBC_ALL(c) XF_CBC(c, SG_AUTH_SHA1_96, 12), XF_CBC(c, SG_AUTH_SHA256_128, 16), \
	XF_CBC(c, SG_AUTH_SHA384_192, 24), XF_CBC(c, SG_AUTH_SHA512_256, 32)

const struct sg_crypto_xform sg_crypto_xforms[SG_CRYPTO_XFORM_MAX] = {
	XF_AEAD(SG_AEAD_AES128_GCM),
	XF_AEAD(SG_AEAD_AES256_GCM),
	XF_AEAD(SG_AEAD_AES192_GCM),
	XF_AEAD(SG_AEAD_CHACHA20_POLY1305),
	XF_AEAD(SG_AEAD_AES128_GMAC),
	XF_AEAD(SG_AEAD_AES192_GMAC),
	XF_AEAD(SG_AEAD_AES256_GMAC),
	XF_CBC_ALL(SG_CIPHER_AES128_CBC),
	XF_CBC_ALL(SG_CIPHER_AES192_CBC),
	XF_CBC_ALL(SG_CIPHER_AES256_CBC),
};

unsigned int
sg_crypto_key_len(enum sg_cipher cipher)
{
	return (unsigned int)cipher < SG_CIPHER_MAX ? ciphers[cipher].key_len : 0;
}

bool
sg_crypto_has_salt(enum sg_cipher cipher)
{
	return (unsigned int)cipher < SG_CIPHER_MAX && ciphers[cipher].kind != SG_CRYPTO_KIND_CBC;
}

const char *
sg_crypto_cipher_name(enum sg_cipher cipher)
{
	return (unsigned int)cipher < SG_CIPHER_MAX ? ciphers[cipher].name : NULL;
}

unsigned int
sg_crypto_auth_key_len(enum sg_auth auth)
{
	return (unsigned int)auth < SG_AUTH_MAX ? auths[auth].key_len : 0;
}

const char *
sg_crypto_auth_name(enum sg_auth auth)
{
	return (unsigned int)auth < SG_AUTH_MAX ? auths[auth].name : NULL;
}

IMB_MGR *
sg_crypto_mgr_create(int socket)
{
	IMB_MGR *mgr;
	void *mem;

	mem = rte_zmalloc_socket("imb_mgr", imb_get_mb_mgr_size(), RTE_CACHE_LINE_SIZE, socket);
	if (mem == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	mgr = imb_set_pointers_mb_mgr(mem, 0, 1);
	if (mgr == NULL) {
		rte_free(mem);
		rte_errno = EINVAL;
		return NULL;
	}
	init_mb_mgr_auto(mgr, NULL);
	if (imb_get_errno(mgr) != 0 || mgr->used_arch == IMB_ARCH_NONE) {
		rte_free(mem);
		rte_errno = ENOTSUP;
		return NULL;
	}
	return mgr;
}

void
sg_crypto_mgr_free(IMB_MGR *mgr)
{
	rte_free(mgr);
}

const char *
sg_crypto_mgr_arch(const IMB_MGR *mgr)
{
	static const char *const names[IMB_ARCH_NUM] = {
		[IMB_ARCH_NONE] = "none",
		[IMB_ARCH_NOAESNI] = "no-aesni",
		[IMB_ARCH_SSE] = "sse",
		[IMB_ARCH_AVX] = "avx",
		[IMB_ARCH_AVX2] = "avx2",
		[IMB_ARCH_AVX512] = "avx512",
	};

	if ((unsigned int)mgr->used_arch >= IMB_ARCH_NUM)
		return "unknown";
	return names[mgr->used_arch];
}

/* RFC 2104: the hash states after one block of key ^ ipad and key ^ opad,
 * which ipsec-mb continues from for every packet. */
static void
hmac_precompute(IMB_MGR *mgr, const struct auth_desc *a, const uint8_t *key, unsigned int len,
		uint8_t *ipad, uint8_t *opad)
{
	uint8_t block[128];
	unsigned int i, pass;

	for (pass = 0; pass < 2; pass++) {
		uint8_t x = pass == 0 ? 0x36 : 0x5c;
		uint8_t *out = pass == 0 ? ipad : opad;

		memset(block, x, a->block);
		for (i = 0; i < len; i++)
			block[i] = (uint8_t)(key[i] ^ x);
		switch (a->hash) {
		case IMB_AUTH_HMAC_SHA_1:
			IMB_SHA1_ONE_BLOCK(mgr, block, out);
			break;
		case IMB_AUTH_HMAC_SHA_256:
			IMB_SHA256_ONE_BLOCK(mgr, block, out);
			break;
		case IMB_AUTH_HMAC_SHA_384:
			IMB_SHA384_ONE_BLOCK(mgr, block, out);
			break;
		default:
			IMB_SHA512_ONE_BLOCK(mgr, block, out);
			break;
		}
	}
	sg_wipe(block, sizeof(block));
}

int
sg_crypto_key_init_auth(struct sg_crypto_key *k, IMB_MGR *mgr, enum sg_cipher cipher,
		const uint8_t *key, unsigned int key_len, const uint8_t *salt, enum sg_auth auth,
		const uint8_t *auth_key, unsigned int auth_key_len)
{
	const struct cipher_desc *c;
	int xf = sg_crypto_xform_id(cipher, auth);

	if (k == NULL || mgr == NULL || key == NULL || xf < 0 ||
			key_len != sg_crypto_key_len(cipher) ||
			(salt == NULL && sg_crypto_has_salt(cipher)) ||
			auth_key_len != sg_crypto_auth_key_len(auth) ||
			(auth_key == NULL && auth_key_len != 0))
		return -EINVAL;
	c = &ciphers[cipher];

	memset(k, 0, sizeof(*k));
	/* Control path: the checked pre-compute entry points are fine here. */
	switch (cipher) {
	case SG_AEAD_AES128_GCM:
	case SG_AEAD_AES128_GMAC:
		IMB_AES128_GCM_PRE(mgr, key, &k->gcm);
		break;
	case SG_AEAD_AES192_GCM:
	case SG_AEAD_AES192_GMAC:
		IMB_AES192_GCM_PRE(mgr, key, &k->gcm);
		break;
	case SG_AEAD_AES256_GCM:
	case SG_AEAD_AES256_GMAC:
		IMB_AES256_GCM_PRE(mgr, key, &k->gcm);
		break;
	case SG_CIPHER_AES128_CBC:
		IMB_AES_KEYEXP_128(mgr, key, k->cbc.enc, k->cbc.dec);
		break;
	case SG_CIPHER_AES192_CBC:
		IMB_AES_KEYEXP_192(mgr, key, k->cbc.enc, k->cbc.dec);
		break;
	case SG_CIPHER_AES256_CBC:
		IMB_AES_KEYEXP_256(mgr, key, k->cbc.enc, k->cbc.dec);
		break;
	default: /* ChaCha20 has no key schedule: ipsec-mb reads the key */
		memcpy(k->raw, key, key_len);
		break;
	}
	if (c->kind == SG_CRYPTO_KIND_CBC)
		hmac_precompute(mgr, &auths[auth], auth_key, auth_key_len, k->cbc.ipad,
				k->cbc.opad);
	if (imb_get_errno(mgr) != 0) {
		sg_crypto_key_wipe(k);
		return -EINVAL;
	}
	if (salt != NULL && c->kind != SG_CRYPTO_KIND_CBC)
		memcpy(k->salt, salt, SG_CRYPTO_SALT_LEN);
	k->cipher = (uint8_t)cipher;
	k->auth = (uint8_t)auth;
	k->xform = (uint8_t)xf;
	k->key_len = (uint8_t)key_len;
	k->icv_len = sg_crypto_xforms[xf].icv_len;
	k->iv_len = sg_crypto_xforms[xf].iv_len;
	k->kind = c->kind;
	k->hash = (uint8_t)auths[auth].hash;
	return 0;
}

int
sg_crypto_key_init(struct sg_crypto_key *k, IMB_MGR *mgr, enum sg_cipher cipher,
		const uint8_t *key, unsigned int key_len, const uint8_t salt[SG_CRYPTO_SALT_LEN])
{
	if (salt == NULL)
		return -EINVAL;
	return sg_crypto_key_init_auth(k, mgr, cipher, key, key_len, salt, SG_AUTH_AEAD, NULL, 0);
}

void
sg_crypto_key_wipe(struct sg_crypto_key *k)
{
	if (k != NULL)
		sg_wipe(k, sizeof(*k));
}

/* Per-burst scratch: what a kind keeps aside while ipsec-mb works. */
struct burst_aside {
	/* HMAC decrypt: the ICV as received (ESN puts seq_hi where it was);
	 * GMAC with ESN: the 4 bytes in front of the ESP header. */
	uint8_t icv[SG_CRYPTO_BURST_MAX][SG_CRYPTO_ICV_MAX];
};

/* Fill one job of @p op's group; everything the manager reads is set,
 * since burst jobs come back from IMB_GET_NEXT_BURST with whatever the last
 * user left. user_data2 is what the computed tag is compared with. */
static inline void
fill_common(IMB_JOB *job, struct sg_crypto_op *op, int enc)
{
	job->cipher_direction = enc ? IMB_DIR_ENCRYPT : IMB_DIR_DECRYPT;
	job->chain_order = enc ? IMB_ORDER_CIPHER_HASH : IMB_ORDER_HASH_CIPHER;
	job->key_len_in_bytes = op->key->key_len;
	job->src = op->data;
	job->dst = op->data;
	job->cipher_start_src_offset_in_bytes = 0;
	job->msg_len_to_cipher_in_bytes = op->len;
	job->hash_start_src_offset_in_bytes = 0;
	job->msg_len_to_hash_in_bytes = op->len;
	job->iv = op->nonce;
	job->iv_len_in_bytes = SG_CRYPTO_NONCE_LEN;
	job->auth_tag_output = enc ? op->icv : op->tag;
	job->auth_tag_output_len_in_bytes = SG_CRYPTO_TAG_LEN;
	job->user_data = op;
	job->user_data2 = op->icv;
}

static inline void
fill_gcm(IMB_JOB *job, struct sg_crypto_op *op, int enc)
{
	fill_common(job, op, enc);
	job->cipher_mode = IMB_CIPHER_GCM;
	job->hash_alg = IMB_AUTH_AES_GMAC;
	job->enc_keys = &op->key->gcm;
	job->dec_keys = &op->key->gcm;
	job->u.GCM.aad = op->aad;
	job->u.GCM.aad_len_in_bytes = op->aad_len;
}

static inline void
fill_chacha(IMB_JOB *job, struct sg_crypto_op *op, int enc)
{
	fill_common(job, op, enc);
	job->cipher_mode = IMB_CIPHER_CHACHA20_POLY1305;
	job->hash_alg = IMB_AUTH_CHACHA20_POLY1305;
	job->enc_keys = op->key->raw;
	job->dec_keys = op->key->raw;
	job->u.CHACHA20_POLY1305.aad = op->aad;
	job->u.CHACHA20_POLY1305.aad_len_in_bytes = op->aad_len;
	job->u.CHACHA20_POLY1305.ctx = NULL;
}

static const uint8_t zero_iv[16] __rte_aligned(16);

/*
 * AES-CBC and HMAC (RFC 3602, RFC 2404, RFC 4868). The ICV covers ESP
 * header, IV and ciphertext, then with ESN the sequence number's high half
 * (RFC 4303 §2.2.1), placed where the ICV goes: outbound the tag is written
 * over it, inbound the ICV as received is kept aside first. Outbound, the
 * IV field holds the sequence number: encrypting it under a zero IV as the
 * first block makes E_K(seq) the IV of the rest (NIST SP 800-38A, App. C).
 */
static inline void
fill_cbc(IMB_JOB *job, struct sg_crypto_op *op, int enc, uint8_t *aside)
{
	const struct sg_crypto_key *k = op->key;
	uint8_t *esp = op->data - SG_CRYPTO_IV_MAX - 8;
	uint32_t esn = op->aad_len == 12 ? 4 : 0;

	job->cipher_direction = enc ? IMB_DIR_ENCRYPT : IMB_DIR_DECRYPT;
	job->cipher_mode = IMB_CIPHER_CBC;
	job->key_len_in_bytes = k->key_len;
	job->enc_keys = k->cbc.enc;
	job->dec_keys = k->cbc.dec;
	job->iv_len_in_bytes = SG_CRYPTO_IV_MAX;
	job->src = esp;
	job->hash_alg = (IMB_HASH_ALG)k->hash;
	job->u.HMAC._hashed_auth_key_xor_ipad = k->cbc.ipad;
	job->u.HMAC._hashed_auth_key_xor_opad = k->cbc.opad;
	job->hash_start_src_offset_in_bytes = 0;
	job->msg_len_to_hash_in_bytes = 8 + SG_CRYPTO_IV_MAX + op->len + esn;
	job->auth_tag_output_len_in_bytes = k->icv_len;
	job->user_data = op;
	if (enc) {
		job->chain_order = IMB_ORDER_CIPHER_HASH;
		job->iv = zero_iv;
		job->dst = esp + 8;
		job->cipher_start_src_offset_in_bytes = 8;
		job->msg_len_to_cipher_in_bytes = SG_CRYPTO_IV_MAX + op->len;
		job->auth_tag_output = op->icv;
		job->user_data2 = op->icv;
	} else {
		job->chain_order = IMB_ORDER_HASH_CIPHER;
		job->iv = esp + 8;
		job->dst = op->data;
		job->cipher_start_src_offset_in_bytes = 8 + SG_CRYPTO_IV_MAX;
		job->msg_len_to_cipher_in_bytes = op->len;
		job->auth_tag_output = op->tag;
		memcpy(aside, op->icv, k->icv_len);
		job->user_data2 = aside;
	}
	if (esn)
		memcpy(op->icv, op->aad + 4, 4);
}

/*
 * AES-GMAC (RFC 4543 §3.3): the AAD is SPI, sequence number (64 bits with
 * ESN), IV and payload, in one piece. Without ESN that is the packet as it
 * is; with ESN the SPI moves 4 bytes forward and seq_hi takes its place, as
 * Linux's esp_output_set_extra() does, and gmac_restore() puts them back.
 */
static inline void
fill_gmac(IMB_JOB *job, struct sg_crypto_op *op, int enc, uint8_t *aside)
{
	const struct sg_crypto_key *k = op->key;
	uint8_t *esp = op->data - 8 - 8;
	uint32_t esn = op->aad_len == 12 ? 4 : 0;

	job->cipher_direction = enc ? IMB_DIR_ENCRYPT : IMB_DIR_DECRYPT;
	job->chain_order = enc ? IMB_ORDER_CIPHER_HASH : IMB_ORDER_HASH_CIPHER;
	job->cipher_mode = IMB_CIPHER_NULL;
	job->key_len_in_bytes = k->key_len;
	job->src = esp - esn;
	job->dst = esp - esn;
	job->cipher_start_src_offset_in_bytes = 0;
	job->msg_len_to_cipher_in_bytes = 0;
	job->iv = op->nonce;
	job->iv_len_in_bytes = SG_CRYPTO_NONCE_LEN;
	job->hash_alg = (IMB_HASH_ALG)(IMB_AUTH_AES_GMAC_128 +
			(k->cipher - SG_AEAD_AES128_GMAC));
	job->u.GMAC._key = &k->gcm;
	job->u.GMAC._iv = op->nonce;
	job->u.GMAC.iv_len_in_bytes = SG_CRYPTO_NONCE_LEN;
	job->hash_start_src_offset_in_bytes = 0;
	job->msg_len_to_hash_in_bytes = 8 + 8 + op->len + esn;
	job->auth_tag_output = enc ? op->icv : op->tag;
	job->auth_tag_output_len_in_bytes = SG_CRYPTO_TAG_LEN;
	job->user_data = op;
	job->user_data2 = op->icv;
	if (esn) {
		memcpy(aside, esp - 4, 4);
		memcpy(esp - 4, op->aad, 4);     /* SPI */
		memcpy(esp, op->aad + 4, 4);     /* seq_hi */
	}
}

/* Undo fill_gmac()'s ESN layout: the SPI back in place, and what was before it. */
static inline void
gmac_restore(struct sg_crypto_op *op, const uint8_t *aside)
{
	uint8_t *esp = op->data - 8 - 8;

	memcpy(esp, op->aad, 4);
	memcpy(esp - 4, aside, 4);
}

/* A burst's group: the transform, and for the AEADs the ESN bit too (GCM
 * takes one path for an 8-byte AAD and another for a 12-byte one). */
static inline uint8_t
group_of(const struct sg_crypto_op *op)
{
	return (uint8_t)(op->key->xform * 2 + (op->aad_len == 12));
}

static inline void
fill_one(IMB_JOB *job, struct sg_crypto_op *op, int enc, uint8_t *aside)
{
	switch (op->key->kind) {
	case SG_CRYPTO_KIND_GCM:
		fill_gcm(job, op, enc);
		break;
	case SG_CRYPTO_KIND_CHACHA:
		fill_chacha(job, op, enc);
		break;
	case SG_CRYPTO_KIND_CBC:
		fill_cbc(job, op, enc, aside);
		break;
	default:
		fill_gmac(job, op, enc, aside);
		break;
	}
}

/*
 * Statuses of @p done finished jobs; decrypting (@p enc 0), their tags are
 * compared in constant time: with @p any 0, 16 bytes against the ICV in
 * the packet (an AEAD or GMAC burst), else the key's icv_len bytes against
 * what user_data2 points at. Called with constants, so each use compiles
 * to its own loop.
 */
static inline uint16_t
complete(IMB_JOB **jobs, uint32_t done, int enc, int any)
{
	uint16_t ok = 0;
	uint32_t i;

	for (i = 0; i < done; i++) {
		struct sg_crypto_op *op = jobs[i]->user_data;

		if (unlikely(jobs[i]->status != IMB_STATUS_COMPLETED))
			continue;
		if (!enc && (any ? sg_ct_neq(op->tag, jobs[i]->user_data2, op->key->icv_len) :
				sg_ct_neq16(op->tag, op->icv)) != 0) {
			op->status = SG_CRYPTO_AUTH_FAILED;
			continue;
		}
		op->status = SG_CRYPTO_OK;
		ok++;
	}
	return ok;
}

static inline uint16_t
esp_burst(IMB_MGR *mgr, struct sg_crypto_op *ops, uint16_t n, int enc)
{
	IMB_JOB *jobs[SG_CRYPTO_BURST_MAX];
	struct burst_aside aside;
	uint8_t grp[SG_CRYPTO_BURST_MAX];
	uint32_t got, done, i, j;
	uint16_t ok;
	uint8_t mixed = 0, kind;
	bool restore; /* GMAC with ESN moved header bytes (fill_gmac()) */

	if (unlikely(n == 0))
		return 0;
	if (unlikely(n > SG_CRYPTO_BURST_MAX))
		n = SG_CRYPTO_BURST_MAX;
	for (i = 0; i < n; i++) {
		ops[i].status = SG_CRYPTO_ERROR;
		grp[i] = group_of(&ops[i]);
		mixed |= grp[i] ^ grp[0];
	}

	got = IMB_GET_NEXT_BURST(mgr, n, jobs);
	if (unlikely(got < n)) {
		/* Jobs left over from an earlier short burst: drain, then retry.
		 * jobs[] holds SG_CRYPTO_BURST_MAX, not IMB_MAX_JOBS, pointers. */
		IMB_FLUSH_BURST(mgr, RTE_DIM(jobs), jobs);
		got = IMB_GET_NEXT_BURST(mgr, n, jobs);
		if (got < n)
			return 0;
	}
	kind = ops[0].key->kind;
	restore = kind == SG_CRYPTO_KIND_GMAC && ops[0].aad_len == 12;
	if (likely(!mixed)) {
		/* One group: one branch per burst, none per op. */
		if (kind == SG_CRYPTO_KIND_GCM)
			for (i = 0; i < n; i++)
				fill_gcm(jobs[i], &ops[i], enc);
		else if (kind == SG_CRYPTO_KIND_CHACHA)
			for (i = 0; i < n; i++)
				fill_chacha(jobs[i], &ops[i], enc);
		else if (kind == SG_CRYPTO_KIND_CBC)
			for (i = 0; i < n; i++)
				fill_cbc(jobs[i], &ops[i], enc, aside.icv[i]);
		else
			for (i = 0; i < n; i++)
				fill_gmac(jobs[i], &ops[i], enc, aside.icv[i]);
	} else {
		/* ipsec-mb takes one path per algorithm and, for GCM, one for an
		 * 8-byte AAD and another for the 12-byte ESN one: jobs that
		 * alternate mispredict it on most ops (measured: ~8 cycles per
		 * 128 B op with ESN on half the SAs, sg_bench_dp --esn-mix).
		 * Submit group by group, in the order groups first appear; each
		 * op keeps its own status. */
		uint64_t left[SG_CRYPTO_BURST_MAX / 64] = {0};

		RTE_BUILD_BUG_ON(SG_CRYPTO_BURST_MAX % 64 != 0);
		for (i = 0; i < n; i++)
			left[i / 64] |= UINT64_C(1) << (i % 64);
		for (i = 0, j = 0; i < n; i++) {
			uint32_t k;

			if (!(left[i / 64] & (UINT64_C(1) << (i % 64))))
				continue;
			for (k = i; k < n; k++) {
				if (grp[k] != grp[i])
					continue;
				left[k / 64] &= ~(UINT64_C(1) << (k % 64));
				fill_one(jobs[j++], &ops[k], enc, aside.icv[k]);
				restore |= ops[k].key->kind == SG_CRYPTO_KIND_GMAC &&
						ops[k].aad_len == 12;
			}
		}
		kind = UINT8_MAX; /* tags of any length */
	}

	done = IMB_SUBMIT_BURST_NOCHECK(mgr, n, jobs);
	if (done < n)
		done += IMB_FLUSH_BURST(mgr, n - done, jobs + done);

	/* A burst of AEADs or GMAC compares 16-byte tags with the packets'
	 * ICVs, straight-line; the rest compare with user_data2, icv_len long. */
	if (enc || kind == SG_CRYPTO_KIND_GCM || kind == SG_CRYPTO_KIND_CHACHA ||
			kind == SG_CRYPTO_KIND_GMAC)
		ok = complete(jobs, done, enc, 0);
	else
		ok = complete(jobs, done, 0, 1);
	if (unlikely(restore))
		for (i = 0; i < n; i++)
			if (ops[i].key->kind == SG_CRYPTO_KIND_GMAC && ops[i].aad_len == 12)
				gmac_restore(&ops[i], aside.icv[i]);
	return ok;
}

uint16_t
sg_crypto_encrypt_burst(IMB_MGR *mgr, struct sg_crypto_op *ops, uint16_t n)
{
	return esp_burst(mgr, ops, n, 1);
}

uint16_t
sg_crypto_decrypt_burst(IMB_MGR *mgr, struct sg_crypto_op *ops, uint16_t n)
{
	return esp_burst(mgr, ops, n, 0);
}
