/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Value scanners and message helpers. The scanners are stricter than
 * ipsec-secgw's atoi()/strtol() based ones: a value must be consumed whole,
 * so "12x", "-1", "0x10" or a 3-digit key byte are errors, never a guess.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

/* IPv4 prefix lengths run 0..32. */
#define IPV4_BITS 32
/* Hex digits in one byte of a key or MAC. */
#define HEX_BYTE_DIGITS 2
/* Number bases. */
#define DEC_RADIX 10
#define HEX_RADIX 16
/* A run of hex this long without a ':' still looks like key material. */
#define SECRET_MIN_HEX 8

static const char not_number[] = "is not a decimal number";
static const char out_of_range[] = "is out of range";

static bool
hex_or_colon(char c)
{
	return c == ':' || isxdigit((unsigned char)c);
}

/* Mask, in place, each run of hex digits and ':' with a ':' between two hex digits. */
static void
mask_hex_runs(char *s)
{
	bool pair;
	char *run;

	while (*s != '\0') {
		if (!hex_or_colon(*s)) {
			s++;
			continue;
		}
		pair = false;
		for (run = s; hex_or_colon(*s); s++)
			if (*s == ':' && s > run && isxdigit((unsigned char)s[-1]) &&
					isxdigit((unsigned char)s[1]))
				pair = true;
		for (; pair && run < s; run++)
			if (*run != ':')
				*run = 'x';
	}
}

int
conf_err(const struct parse *p, uint32_t line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->err == NULL || p->errlen == 0)
		return -EINVAL;
	if (line != 0)
		n = snprintf(p->err, p->errlen, "%s:%" PRIu32 ": ", p->name, line);
	else
		n = snprintf(p->err, p->errlen, "%s: ", p->name);
	if (n < 0 || (size_t)n >= p->errlen)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	if (p->redact)
		mask_hex_runs(p->err + n);
	return -EINVAL;
}

const struct tok *
conf_value(const struct parse *p, const char *rule, const struct tok *t, uint32_t n, uint32_t *i)
{
	if (*i + 1 >= n) {
		conf_err(p, t[*i].line, "%s: missing value after '%s'", rule, t[*i].s);
		return NULL;
	}
	*i += 1;
	return &t[*i];
}

int
conf_num(const struct parse *p, const char *rule, const char *kw, const struct tok *v,
		uint64_t min, uint64_t max, uint64_t *out)
{
	const char *why;

	why = conf_scan_u64(v->s, max, out);
	if (why == NULL && *out < min)
		why = out_of_range;
	if (why == NULL)
		return 0;
	if (conf_looks_secret(v->s))
		return conf_err(p, v->line,
			"%s: %s value %s (expected %" PRIu64 "..%" PRIu64
			"; value not shown, it looks like key material)",
			rule, kw, why, min, max);
	return conf_err(p, v->line, "%s: %s '%s' %s (expected %" PRIu64 "..%" PRIu64 ")", rule,
		kw, v->s, why, min, max);
}

bool
conf_is_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

const char *
conf_scan_u64(const char *s, uint64_t max, uint64_t *v)
{
	unsigned long long x;
	char *end;

	/* strtoull() alone would take "-1", " 1" and "+1". */
	if (!conf_is_digits(s))
		return not_number;
	errno = 0;
	x = strtoull(s, &end, DEC_RADIX);
	if (errno == ERANGE || *end != '\0' || x > max)
		return out_of_range;
	*v = x;
	return NULL;
}

const char *
conf_scan_ipv4(const char *s, uint32_t *addr)
{
	struct in_addr in;

	if (strchr(s, '/') != NULL)
		return "is a prefix; an address A.B.C.D is expected here";
	if (strchr(s, ':') != NULL)
		return "is an IPv6 address; IPv6 is not supported yet";
	/* inet_pton() takes only full dotted quads without leading zeros. */
	if (inet_pton(AF_INET, s, &in) != 1)
		return "is not an IPv4 address (A.B.C.D)";
	*addr = ntohl(in.s_addr);
	return NULL;
}

const char *
conf_scan_prefix(const char *s, uint32_t *addr, uint8_t *depth)
{
	char ip[INET_ADDRSTRLEN];
	const char *slash;
	struct in_addr in;
	uint64_t d;
	uint32_t mask;

	if (strchr(s, ':') != NULL)
		return "is an IPv6 prefix; IPv6 is not supported yet";
	slash = strchr(s, '/');
	/* ipsec-secgw reads a bare address as /0 (match all): make the author say so. */
	if (slash == NULL)
		return "has no prefix length (write A.B.C.D/N, e.g. /32 for one host)";
	if ((size_t)(slash - s) >= sizeof(ip))
		return "is not an IPv4 prefix (A.B.C.D/N)";
	memcpy(ip, s, (size_t)(slash - s));
	ip[slash - s] = '\0';
	if (inet_pton(AF_INET, ip, &in) != 1)
		return "is not an IPv4 prefix (A.B.C.D/N)";
	if (conf_scan_u64(slash + 1, IPV4_BITS, &d) != NULL)
		return "has a bad prefix length (expected /0../32)";
	/* Host bits are cleared, as rte_acl and rte_lpm do with ipsec-secgw's rules. */
	mask = d == 0 ? 0 : UINT32_MAX << (IPV4_BITS - d);
	*addr = ntohl(in.s_addr) & mask;
	*depth = (uint8_t)d;
	return NULL;
}

const char *
conf_scan_ports(const char *s, uint16_t *lo, uint16_t *hi)
{
	char num[sizeof("18446744073709551615")];
	const char *colon;
	uint64_t a, b;
	const char *why_a, *why_b;

	colon = strchr(s, ':');
	if (colon == NULL || (size_t)(colon - s) >= sizeof(num))
		return "is not a range lo:hi";
	memcpy(num, s, (size_t)(colon - s));
	num[colon - s] = '\0';
	why_a = conf_scan_u64(num, UINT16_MAX, &a);
	why_b = conf_scan_u64(colon + 1, UINT16_MAX, &b);
	if (why_a == not_number || why_b == not_number)
		return "is not a range lo:hi";
	if (why_a != NULL || why_b != NULL)
		return "has a port above 65535";
	if (a > b)
		return "is empty (lo > hi)";
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return NULL;
}

const char *
conf_scan_hex(const char *s, uint8_t *out, size_t cap, size_t *n)
{
	unsigned int v, digits;
	int x;

	*n = 0;
	if (*s == '\0')
		return "is empty";
	for (;;) {
		v = 0;
		for (digits = 0; isxdigit((unsigned char)*s); digits++, s++) {
			x = tolower((unsigned char)*s);
			v = v * HEX_RADIX +
				(unsigned int)(isdigit(x) ? x - '0' : x - 'a' + DEC_RADIX);
		}
		if (digits == 0 || digits > HEX_BYTE_DIGITS)
			return "has a byte that is not 1 or 2 hex digits";
		if (*n < cap)
			out[*n] = (uint8_t)v;
		*n += 1;
		if (*s == '\0')
			break;
		if (*s != ':')
			return "has a character that is neither a hex digit nor ':'";
		s++;
	}
	return NULL;
}

const char *
conf_scan_mac(const char *s, struct rte_ether_addr *mac)
{
	size_t n;

	if (conf_scan_hex(s, mac->addr_bytes, RTE_ETHER_ADDR_LEN, &n) != NULL ||
			n != RTE_ETHER_ADDR_LEN)
		return "is not a MAC address XX:XX:XX:XX:XX:XX";
	return NULL;
}

bool
conf_looks_secret(const char *s)
{
	bool colon = false, letter = false;
	size_t len;

	for (len = 0; s[len] != '\0'; len++) {
		if (s[len] == ':')
			colon = true;
		else if (!isxdigit((unsigned char)s[len]))
			return false;
		else if (!isdigit((unsigned char)s[len]))
			letter = true;
	}
	/* A key split by a stray blank leaves "a0:a0:..." or "deadbeef..." words. */
	return (colon && len > HEX_BYTE_DIGITS) || (letter && len >= SECRET_MIN_HEX);
}
