/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TEST_SA_H
#define TEST_SA_H

/* Shared by the sa suite's files (test_sa.c, sa_replay.c, sa_seqstore.c). */

/* Anti-replay window and ESN tests (sa_replay.c). */
void test_replay_size(void);
void test_replay_windows(void);
void test_esn_infer(void);
void test_esn_wrap(void);
void test_replay_cross(void);

/* Sequence-number state file (sa_seqstore.c). */
void test_seqstore_missing(void);
void test_seqstore_resume(void);
void test_seqstore_torn(void);
void test_seqstore_bad_files(void);
void test_seqstore_grow_evict(void);

#endif /* TEST_SA_H */
