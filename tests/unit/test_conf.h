/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TEST_CONF_H
#define TEST_CONF_H

/* Shared by the conf suite's files (test_conf.c, conf_sa_opts.c, conf_algs.c). */

#include "sg_conf.h"

#define NAME "rules.cfg"
#define ERR_LEN 512

/* 16-byte key + 4-byte salt, and 32 + 4: distinctive so leaks are easy to spot. */
#define K20 "a1:a2:a3:a4:a5:a6:a7:a8:a9:aa:ab:ac:ad:ae:af:b0:c1:c2:c3:c4"
#define K36 "d1:d2:d3:d4:d5:d6:d7:d8:d9:da:db:dc:dd:de:df:e0:" \
	"e1:e2:e3:e4:e5:e6:e7:e8:e9:ea:eb:ec:ed:ee:ef:f0:f1:f2:f3:f4"
#define K19 "a1:a2:a3:a4:a5:a6:a7:a8:a9:aa:ab:ac:ad:ae:af:b0:c1:c2:c3"

#define GCM128 "aead_algo aes-128-gcm aead_key " K20
#define TUN " mode ipv4-tunnel src 10.0.0.1 dst 10.0.0.2"
#define SA(dir, spi) "sa " dir " " spi " " GCM128 TUN

/* The last parse's error message. */
extern char err[ERR_LEN];

/* Parse @p text as the file NAME into @p c (err gets the message). */
int parse(const char *text, struct sg_conf *c);

/* Whether @p c is all zeros (a failed parse leaves nothing behind). */
int conf_is_zero(const struct sg_conf *c);

/* Whether @p msg shows none of the test keys' bytes. */
int no_key_in(const char *msg);

/*
 * Check that @p text fails to parse with "NAME:@p line: ...@p why", leaves
 * the conf zeroed and shows no key; @p table and @p i name it in a message.
 */
void conf_check_bad(const char *table, unsigned int i, const char *text, unsigned int line,
		const char *why);

/* AES-CBC with HMACs and AES-GMAC, good and bad (conf_algs.c). */
void test_cbc_gmac(void);
void test_alg_errors(void);

/* Per-SA options beyond the basics (conf_sa_opts.c). */
void test_more_aeads(void);
void test_esn_start(void);
void test_tfc_pad(void);
void test_transport(void);

#endif /* TEST_CONF_H */
