/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TEST_DP_H
#define TEST_DP_H

/* Shared by the dp suite's files (test_dp.c, dp_punt.c, dp_mtu.c; dp_fuzz.c uses
 * dp_fixture.h, the main suite's fixture). */

/* Add the slow-path suite (classifier, token bucket, punt rings, learned
 * neighbours). @return 0, or -1 if CUnit refused. */
int test_dp_punt_add(void);

/* Add the path-MTU suite (largest ESP payload, ICMP fragmentation needed,
 * its rate). @return 0, or -1 if CUnit refused. */
int test_dp_mtu_add(void);

#endif /* TEST_DP_H */
