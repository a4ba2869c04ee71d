/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SG_TEST_H
#define SG_TEST_H

/*
 * Shared main() plumbing for the CUnit suites: optional EAL start-up with
 * --no-huge/--no-pci and a per-process --file-prefix (cleaned up on exit),
 * CUnit basic-mode run, and one machine-readable closing line
 * "SGTEST <suite>: N passed, N failed" that scripts/test.sh adds up.
 */

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <rte_eal.h>

/* Start EAL for suites that need DPDK memory (rte_hash, rte_acl, rte_malloc). */
static inline int
sg_test_eal_init(const char *suite)
{
	char prefix[64];
	char *argv[] = {
		(char *)suite, "--no-huge", "--no-pci", "-m", "512", "--log-level=lib.eal:error",
		"--no-telemetry", "-l", "0", prefix, NULL,
	};

	snprintf(prefix, sizeof(prefix), "--file-prefix=sgtest_%s_%d", suite, (int)getpid());
	if (rte_eal_init((int)RTE_DIM(argv) - 1, argv) < 0) {
		fprintf(stderr, "%s: EAL init failed\n", suite);
		return -1;
	}
	return 0;
}

/* EAL leaves its runtime directory behind; a test leaves nothing. */
static inline void
sg_test_rm_runtime_dir(const char *dir)
{
	char path[PATH_MAX + 256];
	struct dirent *e;
	DIR *d;

	if (strstr(dir, "/sgtest_") == NULL || strlen(dir) >= PATH_MAX)
		return; /* only ever our own, per-process prefixes */
	d = opendir(dir);
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

/* Run the registered suites; print CUnit's summary and the SGTEST line. */
static inline int
sg_test_run(const char *suite, int with_eal)
{
	unsigned int ran, failed;

	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	ran = CU_get_number_of_tests_run();
	failed = CU_get_number_of_tests_failed();
	if (CU_get_error() != CUE_SUCCESS)
		failed++;
	printf("\nSGTEST %s: %u passed, %u failed\n", suite, ran - failed, failed);
	CU_cleanup_registry();
	if (with_eal) {
		char dir[PATH_MAX];

		snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
		rte_eal_cleanup();
		sg_test_rm_runtime_dir(dir);
	}
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif /* SG_TEST_H */
