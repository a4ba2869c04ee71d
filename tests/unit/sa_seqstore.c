/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The sequence-number state file (lib/sa/sa_seqstore.c): resume above every
 * number a run may have used, survive a torn write, refuse a lost entry, a
 * truncated or missing file, and a second gateway on the same file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include "sg_crypto.h"
#include "sg_sa.h"
#include "test_sa.h"

/* Offsets of the file layout, restated: the test checks the format. */
#define HDR_AREA 128
#define SLOT_SIZE 64
#define REC_SIZE 32

static char dir[64];
static char path[96];
static IMB_MGR *smgr;

static void
fresh_path(void)
{
	if (dir[0] == '\0') {
		snprintf(dir, sizeof(dir), "/tmp/sgtest_seq_XXXXXX");
		CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	}
	snprintf(path, sizeof(path), "%s/state", dir);
	unlink(path);
}

static struct sg_seqstore *
open_st(unsigned int flags, uint32_t max, char *err, size_t errlen)
{
	struct sg_seqstore *st = sg_seqstore_open(path, max, flags, err, errlen);

	if (st != NULL && sg_seqstore_index(st, (int)rte_socket_id()) != 0) {
		sg_seqstore_close(st);
		return NULL;
	}
	return st;
}

static void
key_prm(struct sg_sa_prm *p, uint8_t k)
{
	memset(p, 0, sizeof(*p));
	p->dir = SG_SA_OUT;
	p->cipher = SG_AEAD_AES128_GCM;
	p->key_len = 16;
	memset(p->key, k, 16);
	memset(p->salt, 0xa5, sizeof(p->salt));
}

static void
fp_of(const struct sg_seqstore *st, uint8_t k, uint8_t fp[SG_SEQSTORE_FP_LEN])
{
	struct sg_sa_prm p;

	if (smgr == NULL)
		smgr = sg_crypto_mgr_create((int)rte_socket_id());
	CU_ASSERT_FATAL(smgr != NULL);
	key_prm(&p, k);
	sg_seqstore_fingerprint(st, smgr, &p, fp);
}

static off_t
file_size(void)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? sb.st_size : -1;
}

static void
poke(off_t off, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(pwrite(fd, p, n, off) == (ssize_t)n);
	close(fd);
}

/* Missing: refused without INIT; INIT makes a new one. */
void
test_seqstore_missing(void)
{
	struct sg_seqstore *st;
	char err[256] = "";

	fresh_path();
	st = open_st(0, 0, err, sizeof(err));
	CU_ASSERT(st == NULL);
	CU_ASSERT(rte_errno == ENOENT);
	CU_ASSERT(strstr(err, "missing") != NULL);
	CU_ASSERT(strstr(err, path) != NULL);
	CU_ASSERT(file_size() == -1); /* nothing made behind the caller's back */
	st = open_st(SG_SEQSTORE_F_INIT, 0, err, sizeof(err));
	CU_ASSERT_FATAL(st != NULL);
	CU_ASSERT(sg_seqstore_count(st, NULL) == 0);
	sg_seqstore_close(st);
	CU_ASSERT(file_size() == HDR_AREA + 1024 * SLOT_SIZE);
	/* Now it is there, intact, and opens without INIT. */
	st = open_st(0, 0, err, sizeof(err));
	CU_ASSERT(st != NULL);
	sg_seqstore_close(st);
}

/* Claim, extend, crash (no release), reopen: resume above the mark. */
void
test_seqstore_resume(void)
{
	uint64_t start, limit, lim2;
	uint8_t fa[SG_SEQSTORE_FP_LEN], fb[SG_SEQSTORE_FP_LEN];
	struct sg_seqstore *st;
	uint32_t slot, sb, live;
	char err[256];

	fresh_path();
	st = open_st(SG_SEQSTORE_F_INIT, 0, err, sizeof(err));
	CU_ASSERT_FATAL(st != NULL);
	fp_of(st, 1, fa);
	fp_of(st, 2, fb);
	CU_ASSERT(memcmp(fa, fb, sizeof(fa)) != 0);
	CU_ASSERT_EQUAL(sg_seqstore_claim(st, fa, 1000, &start, &limit, &slot), 0);
	CU_ASSERT_EQUAL(start, 0);
	CU_ASSERT_EQUAL(limit, 1000);
	/* The same key twice at once would repeat nonces. */
	CU_ASSERT_EQUAL(sg_seqstore_claim(st, fa, 1000, &start, &lim2, &sb), -EBUSY);
	CU_ASSERT_EQUAL(sg_seqstore_extend(st, slot, 600, 1000, &limit), 0);
	CU_ASSERT_EQUAL(limit, 2000);
	CU_ASSERT_EQUAL(sg_seqstore_extend(st, slot, 2500, 1000, &limit), 0);
	CU_ASSERT_EQUAL(limit, 3500); /* never below what was used */
	CU_ASSERT_EQUAL(sg_seqstore_claim(st, fb, 10, &start, &lim2, &sb), 0);
	CU_ASSERT(sb != slot);
	CU_ASSERT_EQUAL(sg_seqstore_sync(st), 0);
	CU_ASSERT_EQUAL(sg_seqstore_count(st, &live), 2);
	CU_ASSERT_EQUAL(live, 2);
	/* A crash: the lock goes with the process; closing without release
	 * is the same as far as the file is concerned. */
	sg_seqstore_close(st);

	st = open_st(0, 0, err, sizeof(err));
	CU_ASSERT_FATAL(st != NULL);
	CU_ASSERT_EQUAL(sg_seqstore_count(st, &live), 2);
	CU_ASSERT_EQUAL(live, 0);
	fp_of(st, 1, fa); /* the file's salt made it: the same fingerprint */
	CU_ASSERT_EQUAL(sg_seqstore_claim(st, fa, 1000, &start, &limit, &slot), 0);
	CU_ASSERT_EQUAL(start, 3500);
	CU_ASSERT_EQUAL(limit, 4500);
	/* A clean end gives back what the reservation held. */
	CU_ASSERT_EQUAL(sg_seqstore_release(st, slot, 3777), 0);
	CU_ASSERT_EQUAL(sg_seqstore_release(st, slot, 3777), -ENOENT);
	CU_ASSERT_EQUAL(sg_seqstore_mark(st, slot), 3777);
	/* A key claimed again in the same run resumes too. */
	CU_ASSERT_EQUAL(sg_seqstore_claim(st, fa, 1000, &start, &limit, &slot), 0);
	CU_ASSERT_EQUAL(start, 3777);
	/* Release with the last number unknown keeps the reservation's mark. */
	CU_ASSERT_EQUAL(sg_seqstore_release(st, slot, UINT64_MAX), 0);
	CU_ASSERT_EQUAL(sg_seqstore_mark(st, slot), 4777);
	sg_seqstore_close(st);
}

/* A torn write of one copy falls back to the other; both bad is a loss. */
void
test_seqstore_torn(void)
{
	uint8_t fa[SG_SEQSTORE_FP_LEN], junk[REC_SIZE];
	uint64_t start, limit;
	struct sg_seqstore *st;
	uint32_t slot;
	char err[256];

	fresh_path();
	st = open_st(SG_SEQSTORE_F_INIT, 0, err, sizeof(err));
	CU_ASSERT_FATAL(st != NULL);
	fp_of(st, 7, fa);
	CU_ASSERT_EQUAL(sg_seqstore_claim(st, fa, 100, &start, &limit, &slot), 0); /* gen 1 */
	CU_ASSERT_EQUAL(sg_seqstore_extend(st, slot, 0, 100, &limit), 0);      /* gen 2 */
	CU_ASSERT_EQUAL(limit, 200);
	sg_seqstore_close(st);
	/* Tear the newest copy (gen 2, copy 0): the run never went past 100
	 * before that write was durable, so 100 is a safe place to resume. */
	memset(junk, 0x5c, sizeof(junk));
	poke(HDR_AREA + (off_t)slot * SLOT_SIZE, junk, 7);
	st = open_st(0, 0, err, sizeof(err));
	CU_ASSERT_FATAL(st != NULL);
	fp_of(st, 7, fa);
	CU_ASSERT_EQUAL(sg_seqstore_claim(st, fa, 100, &start, &limit, &slot), 0);
	CU_ASSERT_EQUAL(start, 100);
	sg_seqstore_close(st);
	/* Both copies bad: refused, naming the slot, unless told to start anew. */
	poke(HDR_AREA + (off_t)slot * SLOT_SIZE, junk, REC_SIZE);
	poke(HDR_AREA + (off_t)slot * SLOT_SIZE + REC_SIZE, junk, REC_SIZE);
	st = open_st(0, 0, err, sizeof(err));
	CU_ASSERT(st == NULL);
	CU_ASSERT(strstr(err, "corrupt") != NULL);
	CU_ASSERT(strstr(err, "slot 0") != NULL);
	st = open_st(SG_SEQSTORE_F_INIT, 0, err, sizeof(err));
	CU_ASSERT_FATAL(st != NULL);
	CU_ASSERT_EQUAL(sg_seqstore_count(st, NULL), 0);
	sg_seqstore_close(st);
}

/* Truncated file, garbage header, a second opener. */
void
test_seqstore_bad_files(void)
{
	struct sg_seqstore *st, *st2;
	char err[256];
	int fd;

	fresh_path();
	st = open_st(SG_SEQSTORE_F_INIT, 0, err, sizeof(err));
	CU_ASSERT_FATAL(st != NULL);
	/* One gateway per file. */
	st2 = open_st(0, 0, err, sizeof(err));
	CU_ASSERT(st2 == NULL);
	CU_ASSERT(strstr(err, "in use") != NULL);
	sg_seqstore_close(st);

	CU_ASSERT(truncate(path, HDR_AREA + 5 * SLOT_SIZE) == 0);
	st = open_st(0, 0, err, sizeof(err));
	CU_ASSERT(st == NULL);
	CU_ASSERT(strstr(err, "truncated") != NULL);
	CU_ASSERT(truncate(path, 10) == 0);
	st = open_st(0, 0, err, sizeof(err));
	CU_ASSERT(st == NULL);
	CU_ASSERT(strstr(err, "truncated") != NULL);
	/* An empty file is no state file, unless told to make one. */
	CU_ASSERT(truncate(path, 0) == 0);
	st = open_st(0, 0, err, sizeof(err));
	CU_ASSERT(st == NULL);

	fd = open(path, O_WRONLY | O_TRUNC);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(write(fd, "not a state file at all, but some text a user put here\n", 56) ==
			56);
	CU_ASSERT(ftruncate(fd, 70000) == 0);
	close(fd);
	st = open_st(0, 0, err, sizeof(err));
	CU_ASSERT(st == NULL);
	CU_ASSERT(strstr(err, "not a shardgate state file") != NULL);
	st = open_st(SG_SEQSTORE_F_INIT, 0, err, sizeof(err));
	CU_ASSERT(st != NULL);
	sg_seqstore_close(st);
	/* One header copy lost: the other serves. */
	poke(0, "XXXXXXXX", 8);
	st = open_st(0, 0, err, sizeof(err));
	CU_ASSERT(st != NULL);
	sg_seqstore_close(st);
}

/* Growing past the first 1024 slots, and eviction at the limit. */
void
test_seqstore_grow_evict(void)
{
	uint8_t fp[SG_SEQSTORE_FP_LEN];
	uint64_t start, limit;
	struct sg_seqstore *st;
	uint32_t i, slot, live;
	char err[256];
	int ret = 0;

	fresh_path();
	st = open_st(SG_SEQSTORE_F_INIT, 4096, err, sizeof(err));
	CU_ASSERT_FATAL(st != NULL);
	for (i = 0; i < 3000 && ret == 0; i++) {
		memset(fp, 0, sizeof(fp));
		memcpy(fp, &i, sizeof(i));
		ret = sg_seqstore_claim(st, fp, 10 + i, &start, &limit, &slot);
	}
	CU_ASSERT_EQUAL(ret, 0);
	CU_ASSERT(file_size() == HDR_AREA + 4096 * SLOT_SIZE);
	sg_seqstore_close(st);
	st = open_st(0, 4096, err, sizeof(err));
	CU_ASSERT_FATAL(st != NULL);
	CU_ASSERT_EQUAL(sg_seqstore_count(st, &live), 3000);
	/* Every entry came back with its own mark. */
	for (i = 0, ret = 0; i < 3000; i++) {
		memset(fp, 0, sizeof(fp));
		memcpy(fp, &i, sizeof(i));
		if (sg_seqstore_claim(st, fp, 1, &start, &limit, &slot) != 0 || start != 10 + i)
			ret++;
		else if (sg_seqstore_release(st, slot, start) != 0)
			ret++;
	}
	CU_ASSERT_EQUAL(ret, 0);
	/* 1096 new keys fit; the next one forgets the entry released first,
	 * and every new entry from then on starts above its mark. */
	for (i = 3000, ret = 0; i < 4097 && ret == 0; i++) {
		memset(fp, 0, sizeof(fp));
		memcpy(fp, &i, sizeof(i));
		ret = sg_seqstore_claim(st, fp, 5, &start, &limit, &slot);
	}
	CU_ASSERT_EQUAL(ret, 0);
	CU_ASSERT_EQUAL(sg_seqstore_count(st, &live), 4096);
	CU_ASSERT_EQUAL(live, 1097);
	i = 0;
	memset(fp, 0, sizeof(fp));
	memcpy(fp, &i, sizeof(i));
	CU_ASSERT_EQUAL(sg_seqstore_claim(st, fp, 5, &start, &limit, &slot), 0);
	CU_ASSERT_EQUAL(start, 11); /* above key 0's 10 and key 1's 11 */
	i = 1;
	memcpy(fp, &i, sizeof(i));
	CU_ASSERT_EQUAL(sg_seqstore_claim(st, fp, 5, &start, &limit, &slot), 0);
	CU_ASSERT_EQUAL(start, 12); /* key 2 (mark 12) made room for key 1 */
	sg_seqstore_close(st);
	/* The floor is in the file: a new key after a restart starts above it. */
	st = open_st(0, 4096, err, sizeof(err));
	CU_ASSERT_FATAL(st != NULL);
	i = 5000;
	memcpy(fp, &i, sizeof(i));
	CU_ASSERT_EQUAL(sg_seqstore_claim(st, fp, 5, &start, &limit, &slot), 0);
	CU_ASSERT_EQUAL(start, 13); /* key 3 forgotten, not a key held at the end */
	sg_seqstore_close(st);
	unlink(path);
	/* Full of keys held by this run: the next is refused, none forgotten. */
	st = open_st(SG_SEQSTORE_F_INIT, 1024, err, sizeof(err));
	CU_ASSERT_FATAL(st != NULL);
	for (i = 0, ret = 0; i < 1024 && ret == 0; i++) {
		memset(fp, 0, sizeof(fp));
		memcpy(fp, &i, sizeof(i));
		ret = sg_seqstore_claim(st, fp, 5, &start, &limit, &slot);
	}
	CU_ASSERT_EQUAL(ret, 0);
	memcpy(fp, &i, sizeof(i));
	CU_ASSERT_EQUAL(sg_seqstore_claim(st, fp, 5, &start, &limit, &slot), -ENOSPC);
	CU_ASSERT_EQUAL(sg_seqstore_count(st, &live), 1024);
	CU_ASSERT_EQUAL(live, 1024);
	sg_seqstore_close(st);
	unlink(path);
	rmdir(dir);
	sg_crypto_mgr_free(smgr);
	smgr = NULL;
}
