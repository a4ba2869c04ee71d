/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "sg_crypto.h"
#include "sg_sa.h"
#include "sg_test.h"
#include "test_sa.h"

/* ------------------------------------------------------------------------ */
/* SA parameters and table.                                                  */

static IMB_MGR *mgr;
static int sock;

static void
prm_fill(struct sg_sa_prm *p, uint32_t spi, enum sg_sa_dir dir, enum sg_cipher aead, uint32_t win,
		bool esn)
{
	unsigned int i;

	*p = (struct sg_sa_prm){.spi = spi, .dir = dir, .mode = SG_SA_TUNNEL4, .cipher = aead,
		.key_len = (uint8_t)sg_crypto_key_len(aead), .replay_win = win, .esn = esn,
		.tun_src = 0xc0000201, .tun_dst = 0xc6336407, /* 192.0.2.1, 198.51.100.7 */
		.life = {.hard_bytes = 1000000 + spi, .hard_packets = 5000 + spi}};
	for (i = 0; i < p->key_len; i++)
		p->key[i] = (uint8_t)(spi * 31 + i);
	memcpy(p->salt, &spi, SG_CRYPTO_SALT_LEN);
}

/* Allocations on our heap: what add/del/free leave behind shows here. */
static unsigned int
heap_allocs(void)
{
	struct rte_malloc_socket_stats st;

	CU_ASSERT_FATAL(rte_malloc_get_socket_stats(sock, &st) == 0);
	return st.alloc_count;
}

#define ZERO32 "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"

/*
 * Known answers run through an SA's own key, so its expansion from the
 * parameters (key, length, salt) is checked end to end: draft-mcgrew-gcm-
 * test-01 (an ESP packet, AAD = SPI || seq) and GCM spec test case 14.
 */
static const struct sa_kat {
	enum sg_cipher aead;
	uint8_t len, aad_len;
	const char *key, *nonce, *aad, *pt, *ct, *tag;
} sa_kats[] = {
	{SG_AEAD_AES128_GCM, 4, 8,
		"\x7d\x77\x3d\x00\xc1\x44\xc5\x25\xac\x61\x9d\x18\xc8\x4a\x3f\x47",
		"\xd9\x66\x42\x67\x43\x45\x7e\x91\x82\x44\x3b\xc6",
		"\x33\x54\x67\xae\xff\xff\xff\xff", "\x01\x02\x02\x01", "\x43\x7f\x86\x6b",
		"\xcb\x3f\x69\x9f\xe9\xb0\x82\x2b\xac\x96\x1c\x45\x04\xbe\xf2\x70"},
	{SG_AEAD_AES256_GCM, 16, 0, ZERO32, ZERO32, "", ZERO32,
		"\xce\xa7\x40\x3d\x4d\x60\x6b\x6e\x07\x4e\xc5\xd3\xba\xf3\x9d\x18",
		"\xd0\xd1\xc8\xa7\x99\x99\x6b\xf0\x26\x5b\x98\xb5\xd4\x8a\xb9\x19"},
};

/* Parameters that give an SA the vector's key and salt. */
static struct sg_sa_prm *
kat_prm(struct sg_sa_prm *p, uint32_t spi, enum sg_sa_dir dir, const struct sa_kat *k)
{
	prm_fill(p, spi, dir, k->aead, 64, false);
	memcpy(p->key, k->key, p->key_len);
	memcpy(p->salt, k->nonce, SG_CRYPTO_SALT_LEN);
	return p;
}

/* Encrypt the vector with the SA's key; the nonce is its salt || IV. */
static int
sa_kat_ok(const struct sg_sa *sa, const struct sa_kat *k)
{
	uint8_t data[16], icv[SG_CRYPTO_TAG_LEN];
	struct sg_crypto_op op = {.key = sa->key, .data = data, .icv = icv, .len = k->len,
		.aad_len = k->aad_len};

	memcpy(data, k->pt, k->len);
	memcpy(op.aad, k->aad, k->aad_len);
	memcpy(op.nonce, sa->salt, SG_CRYPTO_SALT_LEN); /* the copy the data path uses */
	memcpy(op.nonce + SG_CRYPTO_SALT_LEN, k->nonce + SG_CRYPTO_SALT_LEN, 8);
	return sg_crypto_encrypt_burst(mgr, &op, 1) == 1 && memcmp(data, k->ct, k->len) == 0 &&
			memcmp(icv, k->tag, sizeof(icv)) == 0;
}

static void
test_table_create(void)
{
	static const struct {
		const char *name;
		uint32_t cap, err;
	} bad[] = {
		{"sa_create", 16, EEXIST}, /* names are global: one live table each */
		{"sixteen_chars_xx", 16, ENAMETOOLONG},
		{NULL, 16, EINVAL}, {"", 16, EINVAL}, {"sa_zero", 0, EINVAL},
	};
	unsigned int base = heap_allocs(), i;
	struct sg_sa_table *t, *t2;

	t = sg_sa_table_create("sa_create", 16, sock);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT(sg_sa_table_capacity(t) == 16 && sg_sa_table_count(t) == 0);
	CU_ASSERT(sg_sa_table_get(t, 0) == NULL && sg_sa_table_find(t, SG_SA_IN, 1) == SG_SA_NONE);
	for (i = 0; i < RTE_DIM(bad); i++) {
		rte_errno = 0;
		CU_ASSERT_PTR_NULL(sg_sa_table_create(bad[i].name, bad[i].cap, sock));
		CU_ASSERT_EQUAL(rte_errno, (int)bad[i].err);
	}
	/* The longest name, and a table of one (below one hash bucket). */
	t2 = sg_sa_table_create("fifteen_chars_x", 1, sock);
	CU_ASSERT(t2 != NULL && sg_sa_table_capacity(t2) == 1);
	sg_sa_table_free(t2);
	sg_sa_table_free(t);
	sg_sa_table_free(NULL);
	CU_ASSERT_EQUAL(sg_sa_table_count(NULL) + sg_sa_table_capacity(NULL), 0);
	CU_ASSERT_EQUAL(heap_allocs(), base);
	/* Freed names can be used again. */
	t = sg_sa_table_create("sa_create", 16, sock);
	CU_ASSERT_PTR_NOT_NULL(t);
	sg_sa_table_free(t);
}

static void
test_table_add(void)
{
	struct sg_sa_table *t = sg_sa_table_create("sa_add", 64, sock);
	int in, out, plain, esn_out, k;
	struct sg_sa_prm p;
	struct sg_sa *sa;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	prm_fill(&p, 0x1000, SG_SA_IN, SG_AEAD_AES256_GCM, 1024, true);
	in = sg_sa_table_add(t, &p, mgr, 3, sock);
	sa = sg_sa_table_get(t, (uint32_t)in);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sa);
	CU_ASSERT_EQUAL((uintptr_t)sa % RTE_CACHE_LINE_SIZE, 0);
	CU_ASSERT(sg_sa_spi(sa) == 0x1000 && sa->spi_be == rte_cpu_to_be_32(0x1000));
	CU_ASSERT_EQUAL(sa->tun_src_be, rte_cpu_to_be_32(0xc0000201));
	CU_ASSERT_EQUAL(sa->tun_dst_be, rte_cpu_to_be_32(0xc6336407));
	CU_ASSERT(sa->dir == SG_SA_IN && sa->mode == SG_SA_TUNNEL4);
	CU_ASSERT(sa->xform == sg_crypto_xform_id(SG_AEAD_AES256_GCM, SG_AUTH_AEAD) && sg_sa_table_owner(t) == 3 && sa->idx == (uint32_t)in);
	CU_ASSERT_EQUAL(sa->flags, SG_SA_F_ESN | SG_SA_F_REPLAY);
	CU_ASSERT(sa->life.hard_bytes == 1000000 + 0x1000 &&
			sa->life.hard_packets == 5000 + 0x1000);
	CU_ASSERT(sa->lim_bytes == 1000000 + 0x1000 && sa->lim_packets == 5000 + 0x1000);
	CU_ASSERT_EQUAL(sa->seq + sa->packets + sa->bytes + sa->auth_fail + sa->dead, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sa->key);
	CU_ASSERT_EQUAL((uintptr_t)sa->key % RTE_CACHE_LINE_SIZE, 0);
	CU_ASSERT(sa->key->cipher == SG_AEAD_AES256_GCM && sa->key->key_len == 32);
	CU_ASSERT(memcmp(sa->key->salt, p.salt, SG_CRYPTO_SALT_LEN) == 0);
	CU_ASSERT(memcmp(sa->salt, p.salt, SG_CRYPTO_SALT_LEN) == 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sa->replay);
	CU_ASSERT(sa->replay->win == 1024 && sa->replay->top == 0);
	CU_ASSERT_EQUAL(sa->replay->bucket_mask, 31);

	/* Same SPI, other direction: a separate SA, with no window. */
	prm_fill(&p, 0x1000, SG_SA_OUT, SG_AEAD_AES128_GCM, 1024, false);
	out = sg_sa_table_add(t, &p, mgr, 4, sock);
	CU_ASSERT_FATAL(out >= 0 && out != in);
	sa = sg_sa_table_get(t, (uint32_t)out);
	CU_ASSERT(sa->dir == SG_SA_OUT && sa->flags == 0 && sa->replay == NULL);
	CU_ASSERT_EQUAL(sa->seq, 0); /* first packet sends 1 (RFC 4303 §3.3.3) */
	/* Outbound ESN needs no window; inbound without a window has none. */
	prm_fill(&p, 0x2000, SG_SA_OUT, SG_AEAD_AES128_GCM, 0, true);
	esn_out = sg_sa_table_add(t, &p, mgr, 4, sock);
	CU_ASSERT_FATAL(esn_out >= 0);
	CU_ASSERT_EQUAL(sg_sa_table_get(t, (uint32_t)esn_out)->flags, SG_SA_F_ESN);
	prm_fill(&p, 0x2000, SG_SA_IN, SG_AEAD_AES128_GCM, 0, false);
	plain = sg_sa_table_add(t, &p, mgr, 4, sock);
	CU_ASSERT_FATAL(plain >= 0);
	sa = sg_sa_table_get(t, (uint32_t)plain);
	CU_ASSERT(sa->flags == 0 && sa->replay == NULL);
	/* The largest window is accepted. */
	prm_fill(&p, 0x3000, SG_SA_IN, SG_AEAD_AES128_GCM, SG_REPLAY_WIN_MAX, true);
	CU_ASSERT(sg_sa_table_add(t, &p, mgr, 4, sock) >= 0);
	CU_ASSERT_EQUAL(sg_sa_table_count(t), 5);

	/* Duplicates, in either direction, change nothing. */
	prm_fill(&p, 0x1000, SG_SA_IN, SG_AEAD_AES128_GCM, 64, false);
	CU_ASSERT_EQUAL(sg_sa_table_add(t, &p, mgr, 5, sock), -EEXIST);
	p.dir = SG_SA_OUT;
	CU_ASSERT_EQUAL(sg_sa_table_add(t, &p, mgr, 5, sock), -EEXIST);
	CU_ASSERT_EQUAL(sg_sa_table_count(t), 5);
	CU_ASSERT_EQUAL(sg_sa_table_owner(t), 4);

	CU_ASSERT(sg_sa_table_find(t, SG_SA_IN, 0x1000) == (uint32_t)in &&
			sg_sa_table_find(t, SG_SA_OUT, 0x1000) == (uint32_t)out);
	CU_ASSERT(sg_sa_table_find(t, SG_SA_IN, 0x2000) == (uint32_t)plain &&
			sg_sa_table_find(t, SG_SA_OUT, 0x2000) == (uint32_t)esn_out);
	CU_ASSERT_EQUAL(sg_sa_table_find(t, SG_SA_OUT, 0x3000), SG_SA_NONE);
	CU_ASSERT_EQUAL(sg_sa_table_find(t, SG_SA_IN, 0x00100000), SG_SA_NONE); /* swapped */
	CU_ASSERT_EQUAL(sg_sa_table_find(t, (enum sg_sa_dir)2, 0x1000), SG_SA_NONE);
	/* Out of range, in range but unused, no table. */
	CU_ASSERT(sg_sa_table_get(t, 64) == NULL && sg_sa_table_get(t, 60) == NULL &&
			sg_sa_table_get(NULL, 0) == NULL);

	/* Each SA encrypts with the key and salt it was given. */
	for (k = 0; k < (int)RTE_DIM(sa_kats); k++) {
		kat_prm(&p, 0x100 + k, k % 2 ? SG_SA_OUT : SG_SA_IN, &sa_kats[k]);
		in = sg_sa_table_add(t, &p, mgr, 0, sock);
		CU_ASSERT_FATAL(in >= 0);
		CU_ASSERT(sa_kat_ok(sg_sa_table_get(t, (uint32_t)in), &sa_kats[k]));
	}
	sg_sa_table_free(t);
}

/*
 * TFC padding (RFC 4303 §2.7): an outbound SA keeps its sizes where an
 * inbound one keeps its window; deleting it frees no window, and the sizes
 * pick the payload length.
 */
static void
test_table_tfc(void)
{
	static const uint16_t b[SG_SA_TFC_BUCKETS] = {128, 512, 1024, SG_SA_TFC_MTU};
	static const uint16_t one[SG_SA_TFC_BUCKETS] = {1000};
	static const uint16_t none[SG_SA_TFC_BUCKETS];
	struct sg_sa_table *t = sg_sa_table_create("sa_tfc", 4, sock);
	struct sg_sa_prm p;
	struct sg_sa *sa;
	unsigned int base;
	int idx;

	/* first size that holds it, capped at what fits; never shorter */
	CU_ASSERT_EQUAL(sg_sa_tfc_len(b, 20, 1446), 128);
	CU_ASSERT_EQUAL(sg_sa_tfc_len(b, 128, 1446), 128);
	CU_ASSERT_EQUAL(sg_sa_tfc_len(b, 129, 1446), 512);
	CU_ASSERT_EQUAL(sg_sa_tfc_len(b, 1025, 1446), 1446);
	CU_ASSERT_EQUAL(sg_sa_tfc_len(b, 1446, 1446), 1446);
	CU_ASSERT_EQUAL(sg_sa_tfc_len(b, 1500, 1446), 1500); /* past the cap: as it is */
	CU_ASSERT_EQUAL(sg_sa_tfc_len(b, 300, 400), 400);    /* the cap wins over 512 */
	CU_ASSERT_EQUAL(sg_sa_tfc_len(one, 999, 1446), 1000);
	CU_ASSERT_EQUAL(sg_sa_tfc_len(one, 1001, 1446), 1001); /* no size holds it */
	CU_ASSERT_EQUAL(sg_sa_tfc_len(none, 60, 1446), 60);

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	base = heap_allocs();
	prm_fill(&p, 0x700, SG_SA_OUT, SG_AEAD_AES128_GCM, 0, false);
	memcpy(p.tfc, b, sizeof(b));
	idx = sg_sa_table_add(t, &p, mgr, 0, sock);
	CU_ASSERT_FATAL(idx >= 0);
	sa = sg_sa_table_get(t, (uint32_t)idx);
	CU_ASSERT_EQUAL(sa->flags, SG_SA_F_TFC);
	CU_ASSERT(memcmp(sa->tfc, b, sizeof(b)) == 0);
	CU_ASSERT_PTR_NULL(sg_sa_replay(sa));
	/* a rekey takes the new parameters' sizes, or none */
	prm_fill(&p, 0x701, SG_SA_OUT, SG_AEAD_AES128_GCM, 0, false);
	memcpy(p.tfc, one, sizeof(one));
	CU_ASSERT_EQUAL(sg_sa_table_rekey(t, (uint32_t)idx, &p, mgr, sock), 0);
	CU_ASSERT(sa->flags == SG_SA_F_TFC && memcmp(sa->tfc, one, sizeof(one)) == 0);
	prm_fill(&p, 0x702, SG_SA_OUT, SG_AEAD_AES128_GCM, 0, false);
	CU_ASSERT_EQUAL(sg_sa_table_rekey(t, (uint32_t)idx, &p, mgr, sock), 0);
	CU_ASSERT(sa->flags == 0 && memcmp(sa->tfc, none, sizeof(none)) == 0);
	memcpy(p.tfc, b, sizeof(b));
	p.spi = 0x703;
	CU_ASSERT_EQUAL(sg_sa_table_rekey(t, (uint32_t)idx, &p, mgr, sock), 0);
	/* an inbound SA beside it keeps its window */
	prm_fill(&p, 0x700, SG_SA_IN, SG_AEAD_AES128_GCM, 64, false);
	CU_ASSERT_FATAL(sg_sa_table_add(t, &p, mgr, 0, sock) >= 0);
	CU_ASSERT_PTR_NOT_NULL(sg_sa_replay(sg_sa_table_get(t,
			sg_sa_table_find(t, SG_SA_IN, 0x700))));
	/* the sizes are not a window to free */
	CU_ASSERT_EQUAL(sg_sa_table_del(t, (uint32_t)idx), 0);
	CU_ASSERT_EQUAL(sg_sa_table_del(t, sg_sa_table_find(t, SG_SA_IN, 0x700)), 0);
	CU_ASSERT_EQUAL(heap_allocs(), base);
	sg_sa_table_free(t);
}

static void
test_table_bad_prm(void)
{
	struct sg_sa_table *t = sg_sa_table_create("sa_bad", 8, sock);
	unsigned int base, i;
	struct sg_sa_prm p;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	base = heap_allocs();
	for (i = 0;; i++) {
		prm_fill(&p, 0x500, SG_SA_IN, SG_AEAD_AES128_GCM, 64, false);
		switch (i) {
		case 0: p.cipher = SG_CIPHER_MAX; break;
		case 1: p.cipher = (enum sg_cipher)-1; break;
		case 2: p.key_len = 24; break;
		case 3: p.key_len = 32; break; /* AES-256 length for AES-128 */
		case 4: p.cipher = SG_AEAD_AES256_GCM; break; /* key_len still 16 */
		case 5: p.key_len = 0; break;
		case 6: p.dir = (enum sg_sa_dir)2; break;
		case 7: p.mode = (enum sg_sa_mode)2; break;
		case 8: p.replay_win = SG_REPLAY_WIN_MAX + 1; break;
		case 9: p.replay_win = UINT32_MAX; break;
		case 10: p.esn = true; p.replay_win = 0; break; /* ESN needs a window */
		case 11: p.spi = 0; break; /* reserved (RFC 4303 §2.1) */
		case 12: p.tfc[0] = 1000; break; /* TFC padding is the sender's */
		case 13: p.dir = SG_SA_OUT; p.replay_win = 0; p.tfc[0] = 512; p.tfc[1] = 512; break;
		case 14: p.dir = SG_SA_OUT; p.replay_win = 0; p.tfc[0] = 512; p.tfc[1] = 256; break;
		case 15: p.dir = SG_SA_OUT; p.replay_win = 0; p.tfc[1] = 512; break; /* a gap */
		case 16: p.dir = SG_SA_OUT; p.replay_win = 0; p.tfc[0] = 5; p.tfc[3] = 9; break;
		/* transport mode pads nothing and is not put in UDP */
		case 17: p.dir = SG_SA_OUT; p.replay_win = 0; p.mode = SG_SA_TRANSPORT4;
			p.tfc[0] = 512; break;
		case 18: p.mode = SG_SA_TRANSPORT4; p.udp_encap = true; p.udp_sport = 4500;
			p.udp_dport = 4500; break;
		case 19: p.cipher = SG_CIPHER_AES128_CBC; break; /* CBC without an HMAC */
		case 20: p.cipher = SG_CIPHER_AES128_CBC; p.auth = SG_AUTH_SHA1_96;
			p.auth_key_len = 16; break; /* HMAC-SHA-1's key is 20 bytes */
		case 21: p.auth = SG_AUTH_SHA256_128; p.auth_key_len = 32; break; /* GCM + HMAC */
		default: goto done;
		}
		if (sg_sa_table_add(t, &p, mgr, 0, sock) != -EINVAL)
			CU_FAIL("bad prm accepted");
	}
done:
	prm_fill(&p, 0x500, SG_SA_IN, SG_AEAD_AES128_GCM, 64, false);
	CU_ASSERT_EQUAL(sg_sa_table_add(NULL, &p, mgr, 0, sock), -EINVAL);
	CU_ASSERT_EQUAL(sg_sa_table_add(t, NULL, mgr, 0, sock), -EINVAL);
	CU_ASSERT_EQUAL(sg_sa_table_add(t, &p, NULL, 0, sock), -EINVAL);
	CU_ASSERT(sg_sa_table_count(t) == 0 && sg_sa_table_find(t, SG_SA_IN, 0x500) == SG_SA_NONE);
	CU_ASSERT_EQUAL(heap_allocs(), base);
	CU_ASSERT_EQUAL(sg_sa_table_add(t, &p, mgr, 0, sock), 0); /* the good one goes in */
	sg_sa_table_free(t);

	memset(&p, 0xaa, sizeof(p));
	sg_sa_prm_wipe(&p);
	CU_ASSERT(p.spi == 0 && p.key[0] == 0 && p.key[31] == 0 && p.salt[3] == 0);
	CU_ASSERT(p.key_len == 0 && p.tun_dst == 0 && p.life.idle_sec == 0);
	sg_sa_prm_wipe(NULL);
}

static void
test_table_full(void)
{
	struct sg_sa_table *t = sg_sa_table_create("sa_full", 4, sock);
	struct sg_sa_prm p;
	unsigned int base;
	uint32_t i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	for (i = 0; i < 4; i++) {
		prm_fill(&p, 0x10 + i, i % 2 ? SG_SA_OUT : SG_SA_IN, SG_AEAD_AES128_GCM, 64, false);
		CU_ASSERT_EQUAL(sg_sa_table_add(t, &p, mgr, 0, sock), (int)i);
	}
	base = heap_allocs();
	prm_fill(&p, 0x20, SG_SA_IN, SG_AEAD_AES128_GCM, 64, false);
	CU_ASSERT_EQUAL(sg_sa_table_add(t, &p, mgr, 0, sock), -ENOSPC);
	p.dir = SG_SA_OUT;
	CU_ASSERT_EQUAL(sg_sa_table_add(t, &p, mgr, 0, sock), -ENOSPC);
	/* A duplicate is still a duplicate when full. */
	prm_fill(&p, 0x10, SG_SA_IN, SG_AEAD_AES128_GCM, 64, false);
	CU_ASSERT_EQUAL(sg_sa_table_add(t, &p, mgr, 0, sock), -EEXIST);
	/* Unchanged: memory, count, contents. */
	CU_ASSERT(heap_allocs() == base && sg_sa_table_count(t) == 4);
	CU_ASSERT(sg_sa_table_find(t, SG_SA_IN, 0x20) == SG_SA_NONE &&
			sg_sa_table_find(t, SG_SA_OUT, 0x20) == SG_SA_NONE);
	for (i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(sg_sa_table_find(t, i % 2 ? SG_SA_OUT : SG_SA_IN, 0x10 + i), i);
	/* One out, one in. */
	CU_ASSERT_EQUAL(sg_sa_table_del(t, 2), 0);
	prm_fill(&p, 0x20, SG_SA_IN, SG_AEAD_AES128_GCM, 64, false);
	CU_ASSERT_EQUAL(sg_sa_table_add(t, &p, mgr, 0, sock), 2);
	CU_ASSERT_EQUAL(sg_sa_table_count(t), 4);
	sg_sa_table_free(t);
}

/* Bulk lookup must agree with one-by-one find, for any n. */
static void
check_bulk(const struct sg_sa_table *t, const uint32_t *spi_be, uint32_t n)
{
	static uint32_t idx[512];
	uint32_t i, bad = 0;

	CU_ASSERT_FATAL(n < RTE_DIM(idx));
	idx[n] = 0xdeadbeef;
	sg_sa_table_lookup_in_bulk(t, spi_be, n, idx);
	for (i = 0; i < n; i++)
		bad += idx[i] != sg_sa_table_find(t, SG_SA_IN, rte_be_to_cpu_32(spi_be[i]));
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(idx[n], 0xdeadbeef); /* nothing written past n */
}

static void
test_table_bulk(void)
{
	static const uint32_t ns[] = {0, 1, 7, 32, 63, 64, 65, 128, 150, 300};
	unsigned int base = heap_allocs();
	struct sg_sa_table *t = sg_sa_table_create("sa_bulk", 400, sock);
	uint32_t spi[300], idx[300], i;
	struct sg_sa_prm p;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	/* Inbound SPIs 0x100 + 7i; outbound ones must never be found. */
	for (i = 0; i < 200; i++) {
		prm_fill(&p, 0x100 + 7 * i, SG_SA_IN, SG_AEAD_AES128_GCM, 64 * (i % 3), false);
		CU_ASSERT_FATAL(sg_sa_table_add(t, &p, mgr, 0, sock) >= 0);
		prm_fill(&p, 0x90000 + i, SG_SA_OUT, SG_AEAD_AES128_GCM, 0, false);
		CU_ASSERT_FATAL(sg_sa_table_add(t, &p, mgr, 0, sock) >= 0);
	}
	/* Hits, misses, outbound-only SPIs and repeats, interleaved. */
	for (i = 0; i < RTE_DIM(spi); i++) {
		static const uint32_t first[4] = {0x100, 0x101, 0, 0x100};

		spi[i] = i % 4 == 2 ? 0x90000 + i % 200 :
				first[i % 4] + 7 * ((i % 4 == 3 ? i * 13 : i) % 200);
		spi[i] = rte_cpu_to_be_32(spi[i]);
	}
	for (i = 0; i < RTE_DIM(ns); i++)
		check_bulk(t, spi, ns[i]);
	sg_sa_table_lookup_in_bulk(t, spi, RTE_DIM(spi), idx);
	for (i = 0; i < RTE_DIM(spi); i++) {
		CU_ASSERT_EQUAL(idx[i] != SG_SA_NONE, i % 4 == 0 || i % 4 == 3);
		if (idx[i] != SG_SA_NONE)
			CU_ASSERT_EQUAL(sg_sa_table_get(t, idx[i])->spi_be, spi[i]);
	}
	/* Free with 400 SAs still in: keys, windows, hashes and name all go. */
	sg_sa_table_free(t);
	CU_ASSERT_EQUAL(heap_allocs(), base);
	t = sg_sa_table_create("sa_bulk", 400, sock);
	CU_ASSERT_PTR_NOT_NULL(t);
	sg_sa_table_free(t);
}

static void
test_table_del(void)
{
	struct sg_sa_table *t = sg_sa_table_create("sa_del", 8, sock);
	uint32_t spi_be = rte_cpu_to_be_32(0x4242), idx;
	struct sg_sa_prm p;
	unsigned int base;
	struct sg_sa *sa;
	int a, b, c;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	base = heap_allocs();
	prm_fill(&p, 0x4242, SG_SA_IN, SG_AEAD_AES256_GCM, 4096, true);
	a = sg_sa_table_add(t, &p, mgr, 1, sock);
	p.dir = SG_SA_OUT;
	b = sg_sa_table_add(t, &p, mgr, 1, sock);
	CU_ASSERT_FATAL(a >= 0 && b >= 0);
	/* Traffic leaves its marks on the per-packet line. */
	sa = sg_sa_table_get(t, (uint32_t)a);
	sa->packets = 10;
	sa->dead = 1;
	sg_replay_update(sa->replay, 77);

	CU_ASSERT_EQUAL(sg_sa_table_del(t, (uint32_t)a), 0);
	/* The slot keeps no key material: the salt copy is gone with the key. */
	{
		static const uint8_t zero[SG_CRYPTO_SALT_LEN];

		CU_ASSERT(memcmp(sa->salt, zero, sizeof(zero)) == 0 && sa->key == NULL);
	}
	/* Again, out of range, never used, no table. */
	CU_ASSERT(sg_sa_table_del(t, (uint32_t)a) == -ENOENT && sg_sa_table_del(t, 8) == -ENOENT);
	CU_ASSERT(sg_sa_table_del(t, 5) == -ENOENT && sg_sa_table_del(NULL, 0) == -ENOENT);
	CU_ASSERT_PTR_NULL(sg_sa_table_get(t, (uint32_t)a));
	CU_ASSERT_EQUAL(sg_sa_table_find(t, SG_SA_IN, 0x4242), SG_SA_NONE);
	sg_sa_table_lookup_in_bulk(t, &spi_be, 1, &idx);
	CU_ASSERT_EQUAL(idx, SG_SA_NONE);
	CU_ASSERT_EQUAL(sg_sa_table_count(t), 1);
	/* The outbound twin is untouched. */
	CU_ASSERT_EQUAL(sg_sa_table_find(t, SG_SA_OUT, 0x4242), (uint32_t)b);

	/* The slot comes back clean, window and counters included. */
	prm_fill(&p, 0x4242, SG_SA_IN, SG_AEAD_AES128_GCM, 64, false);
	CU_ASSERT_EQUAL(sg_sa_table_add(t, &p, mgr, 2, sock), a);
	sa = sg_sa_table_get(t, (uint32_t)a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sa);
	CU_ASSERT(sa->packets == 0 && sa->dead == 0 && sg_sa_table_owner(t) == 2);
	CU_ASSERT(sa->replay->top == 0 && sg_replay_check(sa->replay, 77) == 0);
	sg_sa_table_lookup_in_bulk(t, &spi_be, 1, &idx);
	CU_ASSERT_EQUAL(idx, (uint32_t)a);

	/* Outbound rekey in place; on any error the SA stays as it was. */
	prm_fill(&p, 0x99, SG_SA_OUT, SG_AEAD_AES128_GCM, 0, false);
	c = sg_sa_table_add(t, &p, mgr, 1, sock);
	sa = sg_sa_table_get(t, (uint32_t)b);
	sa->seq = 99;
	CU_ASSERT_EQUAL(sg_sa_table_rekey(t, (uint32_t)b, &p, mgr, sock), -EEXIST);
	kat_prm(&p, 0x77, SG_SA_OUT, &sa_kats[1]);
	CU_ASSERT_EQUAL(sg_sa_table_rekey(t, (uint32_t)a, &p, mgr, sock), -ENOENT); /* inbound */
	CU_ASSERT_EQUAL(sg_sa_table_rekey(t, 6, &p, mgr, sock), -ENOENT);
	p.dir = SG_SA_IN;
	CU_ASSERT_EQUAL(sg_sa_table_rekey(t, (uint32_t)b, &p, mgr, sock), -EINVAL);
	CU_ASSERT(sg_sa_spi(sa) == 0x4242 && sa->seq == 99 && sa->xform == sg_crypto_xform_id(SG_AEAD_AES256_GCM, SG_AUTH_AEAD));
	p.dir = SG_SA_OUT;
	CU_ASSERT_EQUAL(sg_sa_table_rekey(t, (uint32_t)b, &p, mgr, sock), 0);
	CU_ASSERT(sg_sa_spi(sa) == 0x77 && sa->seq == 0 && sa->idx == (uint32_t)b);
	CU_ASSERT(sa->flags == 0 && sa_kat_ok(sa, &sa_kats[1]));
	CU_ASSERT(sg_sa_table_find(t, SG_SA_OUT, 0x77) == (uint32_t)b &&
			sg_sa_table_find(t, SG_SA_OUT, 0x4242) == SG_SA_NONE);
	/* Same SPI, new key. */
	kat_prm(&p, 0x77, SG_SA_OUT, &sa_kats[0]);
	CU_ASSERT_EQUAL(sg_sa_table_rekey(t, (uint32_t)b, &p, mgr, sock), 0);
	CU_ASSERT(sa_kat_ok(sa, &sa_kats[0]));
	CU_ASSERT_EQUAL(sg_sa_table_find(t, SG_SA_OUT, 0x77), (uint32_t)b);

	/* Keys and windows go back to the heap with their SA. */
	CU_ASSERT(sg_sa_table_del(t, (uint32_t)a) == 0 && sg_sa_table_del(t, (uint32_t)b) == 0 &&
			sg_sa_table_del(t, (uint32_t)c) == 0);
	CU_ASSERT(sg_sa_table_count(t) == 0 && heap_allocs() == base);
	sg_sa_table_free(t);
}

#define CHURN_N 100000

/*
 * A full table of 100k SAs, and 100k add/del cycles on a small one: the
 * hash must hand back its slots (lock-free mode keeps them until freed).
 */
static void
test_table_churn(void)
{
	static uint32_t spi_be[CHURN_N], idx[CHURN_N];
	unsigned int base = heap_allocs();
	struct sg_sa_table *t;
	struct sg_sa_prm p;
	uint32_t i, bad = 0;
	int r;

	t = sg_sa_table_create("sa_churn", CHURN_N, sock);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	for (i = 0; i < CHURN_N; i++) {
		/* Spread SPIs over the whole space, as peers pick them. */
		prm_fill(&p, (i + 1) * 2654435761u, i % 2 ? SG_SA_OUT : SG_SA_IN,
				SG_AEAD_AES128_GCM, 64, false);
		bad += sg_sa_table_add(t, &p, mgr, 0, sock) != (int)i;
		spi_be[i] = rte_cpu_to_be_32(p.spi);
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(sg_sa_table_count(t), CHURN_N);
	prm_fill(&p, 7, SG_SA_IN, SG_AEAD_AES128_GCM, 64, false);
	CU_ASSERT_EQUAL(sg_sa_table_add(t, &p, mgr, 0, sock), -ENOSPC);

	/* Bursts of 32, as the data path does; odd indices are outbound. */
	for (i = 0; i < CHURN_N; i += 32)
		sg_sa_table_lookup_in_bulk(t, spi_be + i, RTE_MIN(32u, CHURN_N - i), idx + i);
	for (i = 0, bad = 0; i < CHURN_N; i++)
		bad += idx[i] != (i % 2 ? SG_SA_NONE : i);
	CU_ASSERT_EQUAL(bad, 0);
	/* Delete every other inbound SA; the rest are still found. */
	for (i = 0; i < CHURN_N; i += 4)
		CU_ASSERT_EQUAL_FATAL(sg_sa_table_del(t, i), 0);
	sg_sa_table_lookup_in_bulk(t, spi_be, CHURN_N, idx);
	for (i = 0, bad = 0; i < CHURN_N; i++)
		bad += idx[i] != (i % 2 || i % 4 == 0 ? SG_SA_NONE : i);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(sg_sa_table_count(t), CHURN_N - CHURN_N / 4);
	sg_sa_table_free(t);
	CU_ASSERT_EQUAL(heap_allocs(), base);

	t = sg_sa_table_create("sa_churn8", 8, sock);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	for (i = 0, bad = 0; i < CHURN_N; i++) {
		prm_fill(&p, 0x1000 + i % 1000, SG_SA_IN, SG_AEAD_AES128_GCM, 64, false);
		r = sg_sa_table_add(t, &p, mgr, 0, sock);
		bad += r < 0 || sg_sa_table_find(t, SG_SA_IN, p.spi) != (uint32_t)r ||
				sg_sa_table_del(t, (uint32_t)r) != 0;
	}
	CU_ASSERT_EQUAL(bad, 0);
	sg_sa_table_free(t);
	CU_ASSERT_EQUAL(heap_allocs(), base);
}

static int
suite_init(void)
{
	sock = (int)rte_socket_id();
	mgr = sg_crypto_mgr_create(sock);
	return mgr == NULL ? -1 : 0;
}

/* "esn N": inbound, the window's top starts at N; outbound, the start has
 * to lie within the reservation; without ESN there is no start. */
static void
test_table_esn_start(void)
{
	struct sg_sa_table *t = sg_sa_table_create("sa_esn_start", 16, sock);
	struct sg_sa_prm p;
	struct sg_sa *sa;
	int idx;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	prm_fill(&p, 0x10, SG_SA_IN, SG_AEAD_AES128_GCM, 64, true);
	p.esn_start = (UINT64_C(1) << 32) - 6;
	idx = sg_sa_table_add(t, &p, mgr, 0, sock);
	CU_ASSERT_FATAL(idx >= 0);
	sa = sg_sa_table_get(t, (uint32_t)idx);
	CU_ASSERT_EQUAL(sa->replay->top, (UINT64_C(1) << 32) - 6);
	/* the high half of low 5 is 1 now, of a low half just below N still 0 */
	CU_ASSERT_EQUAL(sg_replay_esn_infer(sa->replay, 5), (UINT64_C(1) << 32) + 5);
	CU_ASSERT_EQUAL(sg_replay_esn_infer(sa->replay, 0xfffffff0u), 0xfffffff0u);
	/* no ESN, no start */
	prm_fill(&p, 0x11, SG_SA_IN, SG_AEAD_AES128_GCM, 64, false);
	p.esn_start = 100;
	CU_ASSERT_EQUAL(sg_sa_table_add(t, &p, mgr, 0, sock), -EINVAL);
	/* outbound: the reservation must start at or above it */
	prm_fill(&p, 0x12, SG_SA_OUT, SG_AEAD_AES128_GCM, 0, true);
	p.esn_start = 1000;
	p.seq_start = 999;
	CU_ASSERT_EQUAL(sg_sa_table_add(t, &p, mgr, 0, sock), -EINVAL);
	p.seq_start = 1000;
	idx = sg_sa_table_add(t, &p, mgr, 0, sock);
	CU_ASSERT_FATAL(idx >= 0);
	CU_ASSERT_EQUAL(sg_sa_table_get(t, (uint32_t)idx)->seq, 1000);
	sg_sa_prm_wipe(&p);
	sg_sa_table_free(t);
}

static int
suite_fini(void)
{
	sg_crypto_mgr_free(mgr);
	return 0;
}

static const struct {
	const char *name;
	CU_TestFunc fn;
} replay_tests[] = {
	{"window sizes", test_replay_size},
	{"windows 64, 1024, 4096: numbered steps", test_replay_windows},
	{"ESN inference", test_esn_infer},
	{"ESN wrap with update", test_esn_wrap},
	{"cross-check vs reference", test_replay_cross},
}, table_tests[] = {
	{"create", test_table_create},
	{"add, find, keys", test_table_add},
	{"bad prm, prm wipe", test_table_bad_prm},
	{"full", test_table_full},
	{"bulk lookup, free", test_table_bulk},
	{"del, rekey", test_table_del},
	{"100k churn", test_table_churn},
	{"esn N start", test_table_esn_start},
	{"TFC padding sizes", test_table_tfc},
}, seqstore_tests[] = {
	{"missing file", test_seqstore_missing},
	{"resume above the mark, exact release", test_seqstore_resume},
	{"torn write, lost entry", test_seqstore_torn},
	{"truncated, foreign, locked files", test_seqstore_bad_files},
	{"grow and evict", test_seqstore_grow_evict},
};

int
main(void)
{
	CU_pSuite r, t, q;
	unsigned int i, err = 0;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return CU_get_error();
	r = CU_add_suite("replay", NULL, NULL);
	t = CU_add_suite("sa_table", suite_init, suite_fini);
	for (i = 0; i < RTE_DIM(replay_tests); i++)
		err |= CU_add_test(r, replay_tests[i].name, replay_tests[i].fn) == NULL;
	for (i = 0; i < RTE_DIM(table_tests); i++)
		err |= CU_add_test(t, table_tests[i].name, table_tests[i].fn) == NULL;
	q = CU_add_suite("seqstore", NULL, NULL);
	for (i = 0; q != NULL && i < RTE_DIM(seqstore_tests); i++)
		err |= CU_add_test(q, seqstore_tests[i].name, seqstore_tests[i].fn) == NULL;
	if (r == NULL || t == NULL || q == NULL || err || sg_test_eal_init("sa") != 0) {
		CU_cleanup_registry();
		return EXIT_FAILURE;
	}
	return sg_test_run("sa", 1);
}
