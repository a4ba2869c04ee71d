/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>

#include "sg_common.h"
#include "sg_test.h"

#define BUF_LEN 64

static void
test_ct_memcmp_equal(void)
{
	uint8_t a[BUF_LEN], b[BUF_LEN];
	size_t n;

	for (n = 0; n < BUF_LEN; n++)
		a[n] = b[n] = (uint8_t)(n * 37 + 11);
	for (n = 0; n <= BUF_LEN; n++)
		CU_ASSERT_EQUAL(sg_ct_memcmp(a, b, n), 0);
	/* n = 0 compares nothing, whatever the buffers hold. */
	a[0] ^= 0xff;
	CU_ASSERT_EQUAL(sg_ct_memcmp(a, b, 0), 0);
	CU_ASSERT_EQUAL(sg_ct_memcmp(NULL, NULL, 0), 0);
}

static void
test_ct_memcmp_each_position(void)
{
	static const uint8_t flips[] = {0x01, 0x80, 0xff};
	uint8_t a[BUF_LEN], b[BUF_LEN];
	size_t i, f;

	for (i = 0; i < BUF_LEN; i++)
		a[i] = b[i] = (uint8_t)i;
	for (i = 0; i < BUF_LEN; i++) {
		for (f = 0; f < RTE_DIM(flips); f++) {
			b[i] ^= flips[f];
			CU_ASSERT_NOT_EQUAL(sg_ct_memcmp(a, b, BUF_LEN), 0);
			CU_ASSERT_NOT_EQUAL(sg_ct_memcmp(b, a, BUF_LEN), 0);
			/* A difference past n does not count. */
			CU_ASSERT_EQUAL(sg_ct_memcmp(a, b, i), 0);
			CU_ASSERT_NOT_EQUAL(sg_ct_memcmp(a, b, i + 1), 0);
			b[i] ^= flips[f];
		}
	}
	CU_ASSERT_EQUAL(sg_ct_memcmp(a, b, BUF_LEN), 0);
}

/* The per-packet ICV compare: every bit of either operand, unaligned too. */
static void
test_ct_neq16(void)
{
	uint8_t buf[2][17 + 16];
	unsigned int off, i, bit;

	for (off = 0; off <= 17; off += 17) {
		uint8_t *a = buf[0] + off, *b = buf[1] + off;

		for (i = 0; i < 16; i++)
			a[i] = b[i] = (uint8_t)(i * 13 + 5);
		CU_ASSERT_EQUAL(sg_ct_neq16(a, b), 0);
		for (i = 0; i < 16; i++) {
			for (bit = 0; bit < 8; bit++) {
				b[i] ^= (uint8_t)(1u << bit);
				CU_ASSERT_NOT_EQUAL(sg_ct_neq16(a, b), 0);
				CU_ASSERT_NOT_EQUAL(sg_ct_neq16(b, a), 0);
				b[i] ^= (uint8_t)(1u << bit);
			}
		}
		CU_ASSERT_EQUAL(sg_ct_neq16(a, b), 0);
	}
}

static void
test_wipe(void)
{
	uint8_t buf[BUF_LEN + 2];
	size_t i, n;

	for (n = 0; n <= BUF_LEN; n++) {
		memset(buf, 0xa5, sizeof(buf));
		sg_wipe(buf + 1, n);
		CU_ASSERT_EQUAL(buf[0], 0xa5);
		for (i = 0; i < n; i++)
			CU_ASSERT_EQUAL_FATAL(buf[1 + i], 0);
		/* Nothing past n is touched. */
		CU_ASSERT_EQUAL(buf[1 + n], 0xa5);
	}
}

static void
test_all_zero(void)
{
	uint8_t b[64] = {0};
	unsigned int i, bad = 0;

	CU_ASSERT(sg_all_zero(b, 0));
	CU_ASSERT(sg_all_zero(b, sizeof(b)));
	/* A set byte anywhere is seen; one past the length is not looked at. */
	for (i = 0; i < sizeof(b); i++) {
		b[i] = 0x80;
		bad += sg_all_zero(b, sizeof(b)) || !sg_all_zero(b, i);
		b[i] = 0;
	}
	CU_ASSERT_EQUAL(bad, 0);
}

static void
test_drop_names(void)
{
	unsigned int i, j;

	for (i = 0; i < SG_DROP_MAX; i++) {
		const char *ni = sg_drop_name((enum sg_drop)i);

		CU_ASSERT_PTR_NOT_NULL_FATAL(ni);
		CU_ASSERT(ni[0] != '\0');
		CU_ASSERT(strcmp(ni, "unknown") != 0);
		for (j = 0; j < i; j++)
			CU_ASSERT(strcmp(ni, sg_drop_name((enum sg_drop)j)) != 0);
	}
	CU_ASSERT_STRING_EQUAL(sg_drop_name(SG_DROP_MAX), "unknown");
	CU_ASSERT_STRING_EQUAL(sg_drop_name((enum sg_drop)(SG_DROP_MAX + 1)), "unknown");
	CU_ASSERT_STRING_EQUAL(sg_drop_name((enum sg_drop)-1), "unknown");
}

int
main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return CU_get_error();
	s = CU_add_suite("common", NULL, NULL);
	if (s == NULL ||
			CU_add_test(s, "ct_memcmp equal, n = 0", test_ct_memcmp_equal) == NULL ||
			CU_add_test(s, "ct_memcmp differs at every byte",
					test_ct_memcmp_each_position) == NULL ||
			CU_add_test(s, "ct_neq16 catches every bit", test_ct_neq16) == NULL ||
			CU_add_test(s, "wipe", test_wipe) == NULL ||
			CU_add_test(s, "all zero", test_all_zero) == NULL ||
			CU_add_test(s, "drop names", test_drop_names) == NULL) {
		CU_cleanup_registry();
		return CU_get_error();
	}
	return sg_test_run("common", 0);
}
