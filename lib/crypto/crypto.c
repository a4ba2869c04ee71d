/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_malloc.h>

#include "sg_common.h"
#include "sg_crypto.h"

_Static_assert(SG_CRYPTO_TAG_LEN == 16, "sg_ct_neq16() compares a 16-byte ICV");

/* How a burst is grouped: ops of one group share a job layout (and, for
 * GCM, the AAD length ipsec-mb branches on), so a burst of one group takes
 * no per-op branch at all. */
enum group {
	GRP_GCM8,   /* AES-GCM, 8-byte AAD */
	GRP_GCM12,  /* AES-GCM, 12-byte (ESN) AAD */
	GRP_CHACHA, /* ChaCha20-Poly1305, either AAD */
	GRP_MAX
};

struct aead_desc {
	const char *name;
	unsigned int key_len;
};

static const struct aead_desc aeads[SG_AEAD_MAX] = {
	[SG_AEAD_AES128_GCM] = {"aes-128-gcm", IMB_KEY_128_BYTES},
	[SG_AEAD_AES256_GCM] = {"aes-256-gcm", IMB_KEY_256_BYTES},
	[SG_AEAD_AES192_GCM] = {"aes-192-gcm", IMB_KEY_192_BYTES},
	[SG_AEAD_CHACHA20_POLY1305] = {"chacha20-poly1305", 32},
};

unsigned int
sg_crypto_key_len(enum sg_aead aead)
{
	return (unsigned int)aead < SG_AEAD_MAX ? aeads[aead].key_len : 0;
}

const char *
sg_crypto_aead_name(enum sg_aead aead)
{
	return (unsigned int)aead < SG_AEAD_MAX ? aeads[aead].name : NULL;
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

int
sg_crypto_key_init(struct sg_crypto_key *k, IMB_MGR *mgr, enum sg_aead aead,
		const uint8_t *key, unsigned int key_len, const uint8_t salt[SG_CRYPTO_SALT_LEN])
{
	if (k == NULL || mgr == NULL || key == NULL || salt == NULL ||
			sg_crypto_key_len(aead) == 0 || key_len != sg_crypto_key_len(aead))
		return -EINVAL;

	memset(k, 0, sizeof(*k));
	/* Control path: the checked pre-compute entry points are fine here. */
	switch (aead) {
	case SG_AEAD_AES128_GCM:
		IMB_AES128_GCM_PRE(mgr, key, &k->gcm);
		break;
	case SG_AEAD_AES192_GCM:
		IMB_AES192_GCM_PRE(mgr, key, &k->gcm);
		break;
	case SG_AEAD_AES256_GCM:
		IMB_AES256_GCM_PRE(mgr, key, &k->gcm);
		break;
	default: /* ChaCha20 has no key schedule: ipsec-mb reads the key */
		memcpy(k->raw, key, key_len);
		break;
	}
	if (imb_get_errno(mgr) != 0) {
		sg_crypto_key_wipe(k);
		return -EINVAL;
	}
	memcpy(k->salt, salt, SG_CRYPTO_SALT_LEN);
	k->aead = (uint8_t)aead;
	k->key_len = (uint8_t)key_len;
	return 0;
}

void
sg_crypto_key_wipe(struct sg_crypto_key *k)
{
	if (k != NULL)
		sg_wipe(k, sizeof(*k));
}

/* Fill one job of @p op's group; everything the manager reads is set,
 * since burst jobs come back from IMB_GET_NEXT_BURST with whatever the last
 * user left. */
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

static inline unsigned int
group_of(const struct sg_crypto_op *op)
{
	if (op->key->aead == SG_AEAD_CHACHA20_POLY1305)
		return GRP_CHACHA;
	return op->aad_len == 8 ? GRP_GCM8 : GRP_GCM12;
}

/* Fill jobs[at..] with the ops of group @p g, in order; returns the new at. */
static inline uint32_t
fill_group(IMB_JOB **jobs, uint32_t at, struct sg_crypto_op *ops, const uint8_t *grp,
		uint16_t n, unsigned int g, int enc)
{
	uint16_t i;

	for (i = 0; i < n; i++) {
		if (grp[i] != g)
			continue;
		if (g == GRP_CHACHA)
			fill_chacha(jobs[at++], &ops[i], enc);
		else
			fill_gcm(jobs[at++], &ops[i], enc);
	}
	return at;
}

static inline uint16_t
aead_burst(IMB_MGR *mgr, struct sg_crypto_op *ops, uint16_t n, int enc)
{
	IMB_JOB *jobs[SG_CRYPTO_BURST_MAX];
	uint8_t grp[SG_CRYPTO_BURST_MAX];
	uint32_t got, done, i, j;
	unsigned int g;
	uint16_t ok = 0;
	uint8_t mixed = 0;

	if (unlikely(n == 0))
		return 0;
	if (unlikely(n > SG_CRYPTO_BURST_MAX))
		n = SG_CRYPTO_BURST_MAX;
	for (i = 0; i < n; i++) {
		ops[i].status = SG_CRYPTO_ERROR;
		grp[i] = (uint8_t)group_of(&ops[i]);
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
	if (likely(!mixed)) {
		/* One group: one branch per burst, none per op. */
		if (grp[0] == GRP_CHACHA)
			for (i = 0; i < n; i++)
				fill_chacha(jobs[i], &ops[i], enc);
		else
			for (i = 0; i < n; i++)
				fill_gcm(jobs[i], &ops[i], enc);
	} else {
		/* ipsec-mb takes one path per algorithm and, for GCM, one for an
		 * 8-byte AAD and another for the 12-byte ESN one: jobs that
		 * alternate mispredict it on most ops (measured: ~8 cycles per
		 * 128 B op with ESN on half the SAs, sg_bench_dp --esn-mix).
		 * Submit group by group; each op keeps its own status. */
		for (g = 0, j = 0; g < GRP_MAX; g++)
			j = fill_group(jobs, j, ops, grp, n, g, enc);
	}

	done = IMB_SUBMIT_BURST_NOCHECK(mgr, n, jobs);
	if (done < n)
		done += IMB_FLUSH_BURST(mgr, n - done, jobs + done);

	for (i = 0; i < done; i++) {
		struct sg_crypto_op *op = jobs[i]->user_data;

		if (unlikely(jobs[i]->status != IMB_STATUS_COMPLETED))
			continue;
		if (!enc && sg_ct_neq16(op->tag, op->icv) != 0) {
			op->status = SG_CRYPTO_AUTH_FAILED;
			continue;
		}
		op->status = SG_CRYPTO_OK;
		ok++;
	}
	return ok;
}

uint16_t
sg_crypto_encrypt_burst(IMB_MGR *mgr, struct sg_crypto_op *ops, uint16_t n)
{
	return aead_burst(mgr, ops, n, 1);
}

uint16_t
sg_crypto_decrypt_burst(IMB_MGR *mgr, struct sg_crypto_op *ops, uint16_t n)
{
	return aead_burst(mgr, ops, n, 0);
}
