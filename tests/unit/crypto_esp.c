/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The crypto suite's ESP transforms beyond the AEADs' own vectors: AES-CBC
 * with each HMAC and AES-GMAC, sealed and opened in ESP packets as the data
 * path lays them out, against answers from Python's hmac and pyca
 * (crypto_esp_kat.py writes crypto_esp_kats.h), ESN included; tampering
 * with any part fails; one burst mixes every kind; keys are checked and
 * wiped.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_malloc.h>

#include "sg_common.h"
#include "sg_crypto.h"
#include "test_crypto.h"

struct esp_kat {
	const char *name;
	enum sg_cipher cipher;
	enum sg_auth auth;
	int esn;
	uint64_t seq;
	unsigned int pt_len;
	const char *key, *akey, *salt, *pt, *wire;
};

#include "crypto_esp_kats.h"

#define NK RTE_DIM(esp_kats)
#define SPI 0x0a0b0c0dU
#define GUARD 4     /* bytes before the ESP header: GMAC with ESN borrows them */
#define PKT_MAX 1600

struct esp_buf {
	uint8_t key[SG_CRYPTO_KEY_MAX], akey[SG_CRYPTO_AUTH_KEY_MAX], salt[SG_CRYPTO_SALT_LEN];
	uint8_t pt[PKT_MAX], wire[PKT_MAX];
	size_t key_len, akey_len, wire_len;
};

static struct esp_buf eb[NK];
static struct sg_crypto_key *ekeys;
static uint8_t pkt[SG_CRYPTO_BURST_MAX][GUARD + PKT_MAX];
static struct sg_crypto_op eops[SG_CRYPTO_BURST_MAX];
static const uint8_t guard[GUARD] = {0x5a, 0xa5, 0x3c, 0xc3};

static void
esp_load(void)
{
	unsigned int i;

	if (ekeys == NULL) {
		ekeys = rte_zmalloc("esp_keys", NK * sizeof(*ekeys), RTE_CACHE_LINE_SIZE);
		CU_ASSERT_PTR_NOT_NULL_FATAL(ekeys);
	}
	for (i = 0; i < NK; i++) {
		const struct esp_kat *v = &esp_kats[i];
		struct esp_buf *b = &eb[i];

		b->key_len = unhex(v->key, b->key, sizeof(b->key));
		b->akey_len = unhex(v->akey, b->akey, sizeof(b->akey));
		unhex(v->salt, b->salt, sizeof(b->salt));
		CU_ASSERT_FATAL(unhex(v->pt, b->pt, sizeof(b->pt)) == v->pt_len);
		b->wire_len = unhex(v->wire, b->wire, sizeof(b->wire));
		CU_ASSERT_FATAL(sg_crypto_key_init_auth(&ekeys[i], test_crypto_mgr(), v->cipher,
				b->key, (unsigned int)b->key_len, b->salt, v->auth, b->akey,
				(unsigned int)b->akey_len) == 0);
	}
}

/*
 * Op j for vector i, in pkt[j] as the data path leaves it: outbound, the
 * ESP header, the IV field holding the sequence number (and zeros to 16
 * bytes for CBC), the padded plaintext; inbound, the packet as received,
 * with byte @p flip of it changed (-1: none). AAD and nonce come from the
 * packet's header and IV, as the data path takes them.
 */
static void
esp_op_flip(unsigned int i, unsigned int j, int enc, int flip)
{
	const struct esp_kat *v = &esp_kats[i];
	const struct sg_crypto_key *k = &ekeys[i];
	const struct sg_crypto_xform *x = &sg_crypto_xforms[k->xform];
	struct sg_crypto_op *op = &eops[j];
	uint8_t *esp = pkt[j] + GUARD;
	uint32_t spi = rte_cpu_to_be_32(SPI), hi = rte_cpu_to_be_32((uint32_t)(v->seq >> 32));
	uint32_t lo = rte_cpu_to_be_32((uint32_t)v->seq);
	uint64_t iv = rte_cpu_to_be_64(v->seq);

	memcpy(pkt[j], guard, GUARD);
	if (enc) {
		memset(esp, 0, 8 + x->iv_len);
		memcpy(esp, &spi, 4);
		memcpy(esp + 4, &lo, 4);
		memcpy(esp + 8, &iv, 8);
		memcpy(esp + 8 + x->iv_len, eb[i].pt, v->pt_len);
		memset(esp + 8 + x->iv_len + v->pt_len, 0xee, x->icv_len);
	} else {
		memcpy(esp, eb[i].wire, eb[i].wire_len);
		if (flip >= 0)
			esp[flip] ^= 0x20;
		memcpy(&spi, esp, 4);
		memcpy(&lo, esp + 4, 4);
	}
	memset(op, 0, sizeof(*op));
	op->key = k;
	op->data = esp + 8 + x->iv_len;
	op->len = v->pt_len;
	op->icv = op->data + op->len;
	memcpy(op->aad, &spi, 4);
	memcpy(op->aad + 4, v->esn ? &hi : &lo, 4);
	memcpy(op->aad + 8, &lo, 4);
	op->aad_len = v->esn ? 12 : 8;
	memcpy(op->nonce, k->salt, SG_CRYPTO_SALT_LEN);
	memcpy(op->nonce + SG_CRYPTO_SALT_LEN, esp + 8, 8);
	op->status = 0xff;
}

static void
esp_op(unsigned int i, unsigned int j, int enc)
{
	esp_op_flip(i, j, enc, -1);
}

/* The packet of op j is vector i's wire bytes (sealed) or plaintext
 * (opened), with header and guard as they were. */
static int
esp_check(unsigned int i, unsigned int j, int enc)
{
	const struct sg_crypto_xform *x = &sg_crypto_xforms[ekeys[i].xform];
	const uint8_t *esp = pkt[j] + GUARD;
	int ok = eops[j].status == SG_CRYPTO_OK && memcmp(pkt[j], guard, GUARD) == 0;

	if (enc)
		ok = ok && memcmp(esp, eb[i].wire, eb[i].wire_len) == 0;
	else
		ok = ok && memcmp(esp, eb[i].wire, 8) == 0 &&
				memcmp(esp + 8 + x->iv_len, eb[i].pt, esp_kats[i].pt_len) == 0;
	if (!ok)
		printf("\n  %s %s (op %u): status %u, wrong answer\n", enc ? "seal" : "open",
			esp_kats[i].name, j, eops[j].status);
	return ok;
}

static uint16_t
burst(int enc, uint16_t n)
{
	return enc ? sg_crypto_encrypt_burst(test_crypto_mgr(), eops, n) :
			sg_crypto_decrypt_burst(test_crypto_mgr(), eops, n);
}

void
test_esp_kat(void)
{
	unsigned int i;
	int enc;

	esp_load();
	for (enc = 1; enc >= 0; enc--)
		for (i = 0; i < NK; i++) {
			esp_op(i, 0, enc);
			CU_ASSERT_EQUAL(burst(enc, 1), 1);
			CU_ASSERT(esp_check(i, 0, enc));
		}
}

/* One burst with every transform, each six times, sealed then opened. */
void
test_esp_mixed(void)
{
	unsigned int j, n = (unsigned int)RTE_MIN(NK * 6, (size_t)SG_CRYPTO_BURST_MAX);
	int enc;

	esp_load();
	for (enc = 1; enc >= 0; enc--) {
		for (j = 0; j < n; j++)
			esp_op(j % NK, j, enc);
		CU_ASSERT_EQUAL(burst(enc, (uint16_t)n), n);
		for (j = 0; j < n; j++)
			CU_ASSERT(esp_check(j % NK, j, enc));
	}
}

/*
 * Any change to what the ICV covers fails it: SPI, sequence number, IV,
 * first and last byte of the payload, ICV, and the ESN high half the
 * packet does not carry. The guard bytes come back either way.
 */
void
test_esp_tampered(void)
{
	unsigned int i, t;

	esp_load();
	for (i = 0; i < NK; i++) {
		const struct sg_crypto_xform *x = &sg_crypto_xforms[ekeys[i].xform];
		unsigned int len = esp_kats[i].pt_len;
		const unsigned int at[] = {0, 5, 8 + x->iv_len - 1, 8 + x->iv_len,
			8 + x->iv_len + len - 1, 8 + x->iv_len + len, (unsigned int)eb[i].wire_len - 1};

		for (t = 0; t <= RTE_DIM(at); t++) {
			esp_op_flip(i, 0, 0, t < RTE_DIM(at) ? (int)at[t] : -1);
			if (t == RTE_DIM(at)) {
				if (!esp_kats[i].esn)
					continue;
				eops[0].aad[7] ^= 1; /* seq_hi */
			}
			CU_ASSERT_EQUAL(sg_crypto_decrypt_burst(test_crypto_mgr(), eops, 1), 0);
			CU_ASSERT_EQUAL(eops[0].status, SG_CRYPTO_AUTH_FAILED);
			CU_ASSERT(memcmp(pkt[0], guard, GUARD) == 0);
			if (eops[0].status != SG_CRYPTO_AUTH_FAILED)
				printf("\n  %s: change %u passed\n", esp_kats[i].name, t);
		}
	}
}

void
test_esp_keys(void)
{
	static const uint8_t key[32] = {1, 2, 3}, akey[64] = {4, 5, 6}, salt[4] = {7, 8, 9, 10};
	struct sg_crypto_key *k = rte_zmalloc("k", sizeof(*k), RTE_CACHE_LINE_SIZE);
	IMB_MGR *m = test_crypto_mgr();

	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	/* pairs that do not go together, and bad lengths */
	CU_ASSERT_EQUAL(sg_crypto_key_init_auth(k, m, SG_CIPHER_AES128_CBC, key, 16, NULL,
			SG_AUTH_AEAD, NULL, 0), -EINVAL);
	CU_ASSERT_EQUAL(sg_crypto_key_init_auth(k, m, SG_AEAD_AES128_GCM, key, 16, salt,
			SG_AUTH_SHA1_96, akey, 20), -EINVAL);
	CU_ASSERT_EQUAL(sg_crypto_key_init_auth(k, m, SG_AEAD_AES128_GMAC, key, 16, salt,
			SG_AUTH_SHA256_128, akey, 32), -EINVAL);
	CU_ASSERT_EQUAL(sg_crypto_key_init_auth(k, m, SG_CIPHER_AES128_CBC, key, 24, NULL,
			SG_AUTH_SHA1_96, akey, 20), -EINVAL);
	CU_ASSERT_EQUAL(sg_crypto_key_init_auth(k, m, SG_CIPHER_AES128_CBC, key, 16, NULL,
			SG_AUTH_SHA1_96, akey, 32), -EINVAL);
	CU_ASSERT_EQUAL(sg_crypto_key_init_auth(k, m, SG_CIPHER_AES128_CBC, key, 16, NULL,
			SG_AUTH_SHA1_96, NULL, 20), -EINVAL);
	CU_ASSERT_EQUAL(sg_crypto_key_init_auth(k, m, SG_CIPHER_AES128_CBC, key, 16, NULL,
			SG_AUTH_MAX, akey, 20), -EINVAL);
	CU_ASSERT_EQUAL(sg_crypto_key_init_auth(k, m, SG_AEAD_AES256_GMAC, key, 32, NULL,
			SG_AUTH_AEAD, NULL, 0), -EINVAL); /* GMAC needs its salt */
	CU_ASSERT_EQUAL(sg_crypto_key_init(k, m, SG_CIPHER_AES256_CBC, key, 32, salt), -EINVAL);
	/* a CBC key: round keys and HMAC states, all gone after the wipe */
	CU_ASSERT_FATAL(sg_crypto_key_init_auth(k, m, SG_CIPHER_AES256_CBC, key, 32, NULL,
			SG_AUTH_SHA512_256, akey, 64) == 0);
	CU_ASSERT(!sg_all_zero(k->cbc.enc, sizeof(k->cbc.enc)));
	CU_ASSERT(!sg_all_zero(k->cbc.dec, sizeof(k->cbc.dec)));
	CU_ASSERT(!sg_all_zero(k->cbc.ipad, sizeof(k->cbc.ipad)));
	CU_ASSERT(!sg_all_zero(k->cbc.opad, sizeof(k->cbc.opad)));
	CU_ASSERT(k->icv_len == 32 && k->iv_len == 16 && k->key_len == 32);
	CU_ASSERT(sg_all_zero(k->salt, sizeof(k->salt)));
	sg_crypto_key_wipe(k);
	CU_ASSERT(sg_all_zero(k, sizeof(*k)));
	CU_ASSERT_FATAL(sg_crypto_key_init(k, m, SG_AEAD_AES192_GMAC, key, 24, salt) == 0);
	CU_ASSERT(k->icv_len == 16 && k->iv_len == 8 && memcmp(k->salt, salt, 4) == 0);
	sg_crypto_key_wipe(k);
	CU_ASSERT(sg_all_zero(k, sizeof(*k)));
	rte_free(k);
}

void
test_esp_names(void)
{
	static const struct {
		enum sg_cipher c;
		enum sg_auth a;
		uint8_t iv, icv, pad_mask, in_mask, min, overhead;
	} xf[] = {
		{SG_AEAD_AES128_GCM, SG_AUTH_AEAD, 8, 16, 3, 0, 34, 32},
		{SG_AEAD_AES256_GMAC, SG_AUTH_AEAD, 8, 16, 3, 0, 34, 32},
		{SG_CIPHER_AES128_CBC, SG_AUTH_SHA1_96, 16, 12, 15, 15, 52, 36},
		{SG_CIPHER_AES192_CBC, SG_AUTH_SHA256_128, 16, 16, 15, 15, 56, 40},
		{SG_CIPHER_AES256_CBC, SG_AUTH_SHA384_192, 16, 24, 15, 15, 64, 48},
		{SG_CIPHER_AES256_CBC, SG_AUTH_SHA512_256, 16, 32, 15, 15, 72, 56},
	};
	unsigned int i;

	CU_ASSERT_STRING_EQUAL(sg_crypto_cipher_name(SG_CIPHER_AES128_CBC), "aes-128-cbc");
	CU_ASSERT_STRING_EQUAL(sg_crypto_cipher_name(SG_CIPHER_AES256_CBC), "aes-256-cbc");
	CU_ASSERT_STRING_EQUAL(sg_crypto_cipher_name(SG_AEAD_AES192_GMAC), "aes-192-gmac");
	CU_ASSERT_STRING_EQUAL(sg_crypto_auth_name(SG_AUTH_SHA1_96), "sha1-hmac");
	CU_ASSERT_STRING_EQUAL(sg_crypto_auth_name(SG_AUTH_SHA512_256), "sha512-hmac");
	CU_ASSERT_PTR_NULL(sg_crypto_auth_name(SG_AUTH_AEAD));
	CU_ASSERT_PTR_NULL(sg_crypto_auth_name(SG_AUTH_MAX));
	CU_ASSERT_EQUAL(sg_crypto_auth_key_len(SG_AUTH_SHA384_192), 48);
	CU_ASSERT_EQUAL(sg_crypto_auth_key_len(SG_AUTH_AEAD), 0);
	CU_ASSERT(!sg_crypto_has_salt(SG_CIPHER_AES192_CBC) && sg_crypto_has_salt(SG_AEAD_AES128_GMAC));
	CU_ASSERT_EQUAL(sg_crypto_xform_id(SG_CIPHER_AES128_CBC, SG_AUTH_AEAD), -1);
	CU_ASSERT_EQUAL(sg_crypto_xform_id(SG_AEAD_AES128_GCM, SG_AUTH_SHA1_96), -1);
	CU_ASSERT_EQUAL(sg_crypto_xform_id(SG_CIPHER_MAX, SG_AUTH_AEAD), -1);
	for (i = 0; i < RTE_DIM(xf); i++) {
		int id = sg_crypto_xform_id(xf[i].c, xf[i].a);
		const struct sg_crypto_xform *x;

		CU_ASSERT_FATAL(id >= 0);
		x = &sg_crypto_xforms[id];
		CU_ASSERT(x->iv_len == xf[i].iv && x->icv_len == xf[i].icv &&
				x->pad_mask == xf[i].pad_mask && x->in_mask == xf[i].in_mask &&
				x->min_len == xf[i].min && x->overhead == xf[i].overhead);
		CU_ASSERT(sg_crypto_xform_cipher((unsigned int)id) == xf[i].c &&
				sg_crypto_xform_auth((unsigned int)id) == xf[i].a);
	}
}

void
test_esp_fini(void)
{
	unsigned int i;

	if (ekeys == NULL)
		return;
	for (i = 0; i < NK; i++)
		sg_crypto_key_wipe(&ekeys[i]);
	rte_free(ekeys);
	ekeys = NULL;
}
