/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CONF_PARSE_H
#define CONF_PARSE_H

/*
 * Internal to lib/conf: the parse context shared by the line reader
 * (conf.c), the per-rule parsers (conf_sa.c, conf_rules.c), the value
 * scanners (conf_tok.c) and the whole-file checks (conf_check.c).
 *
 * Line numbers: an error about one word names the physical line that word
 * starts on; an error about a whole rule (a missing keyword, soft > hard, a
 * duplicate) names the physical line the rule's first word is on.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_ether.h>

#include "sg_conf.h"

/** One whitespace-separated word of a logical line. */
struct tok {
	const char *s;
	uint32_t line; /**< physical line the word starts on */
};

/** State of one sg_conf_parse_*() call. */
struct parse {
	struct sg_conf *conf;
	const char *name; /**< file name used in messages */
	char *err;
	size_t errlen;
	bool redact; /**< the current line may hold key text: mask hex:hex in messages */
	bool open_refs; /**< sp protect may name an SA outside this text (control requests) */
	uint32_t cap_sa;
	uint32_t cap_sp;
	uint32_t cap_rt;
	uint32_t cap_neigh;
};

/**
 * Write "name:line: reason" (or "name: reason" when line is 0). While
 * p->redact is set, every run like "a1:b2" in the reason is written as
 * "xx:xx", so key text glued to another word cannot leak. @return -EINVAL.
 */
int conf_err(const struct parse *p, uint32_t line, const char *fmt, ...)
	__rte_format_printf(3, 4);

/**
 * Step to the value of keyword t[*i]. On the last word, report
 * "<rule>: '<kw>' needs a value" and return NULL.
 */
const struct tok *conf_value(const struct parse *p, const char *rule, const struct tok *t,
		uint32_t n, uint32_t *i);

/**
 * Read a decimal number in [min, max] from @p v, the value of keyword @p kw.
 * @return 0, or -EINVAL after reporting why.
 */
int conf_num(const struct parse *p, const char *rule, const char *kw, const struct tok *v,
		uint64_t min, uint64_t max, uint64_t *out);

/* Scanners: NULL on success, else a static reason that never quotes @p s. */

/** Whether @p s is one or more decimal digits and nothing else. */
bool conf_is_digits(const char *s);

/** Whole string is decimal digits (no sign, no blanks) within [0, max]. */
const char *conf_scan_u64(const char *s, uint64_t max, uint64_t *v);

/** Dotted-quad IPv4 address, host byte order. */
const char *conf_scan_ipv4(const char *s, uint32_t *addr);

/** A.B.C.D/N; the address comes back masked to N bits (host byte order). */
const char *conf_scan_prefix(const char *s, uint32_t *addr, uint8_t *depth);

/** Port range lo:hi with lo <= hi. */
const char *conf_scan_ports(const char *s, uint16_t *lo, uint16_t *hi);

/**
 * Colon-separated hex bytes ("de:ad:be:ef") into @p out. *n is the byte
 * count even when it exceeds @p cap (then only @p cap bytes are stored).
 */
const char *conf_scan_hex(const char *s, uint8_t *out, size_t cap, size_t *n);

/** XX:XX:XX:XX:XX:XX. */
const char *conf_scan_mac(const char *s, struct rte_ether_addr *mac);

/** Whether @p s looks like key bytes, so that no message may quote it. */
bool conf_looks_secret(const char *s);

/* Rule parsers: t[0] is the rule's keyword. @return 0 or -errno (reported). */
int conf_parse_sa(struct parse *p, const struct tok *t, uint32_t n);
int conf_parse_sp(struct parse *p, const struct tok *t, uint32_t n);
int conf_parse_rt(struct parse *p, const struct tok *t, uint32_t n);
int conf_parse_neigh(struct parse *p, const struct tok *t, uint32_t n);
int conf_parse_punt(struct parse *p, const struct tok *t, uint32_t n);

/* Append a parsed rule; the array grows as needed. @return 0 or -ENOMEM (reported). */
int conf_add_sa(struct parse *p, const struct sg_conf_sa *sa);
int conf_add_sp(struct parse *p, const struct sg_conf_sp *sp);
int conf_add_rt(struct parse *p, const struct sg_conf_rt *rt);
int conf_add_neigh(struct parse *p, const struct sg_conf_neigh *nb);

/** Checks that need the whole file (duplicates, references). @return 0 or -errno. */
int conf_check(struct parse *p);

#endif /* CONF_PARSE_H */
