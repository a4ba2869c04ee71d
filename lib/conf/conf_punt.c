/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * "punt" lines, shardgate's own, in the rule grammar: a slow path to the
 * kernel for one unprotected port.
 *
 *   punt port P addr A.B.C.D/N|X:X::X/N [addr ...] [iface NAME] [rate PPS] [burst N]
 *        [via A.B.C.D]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "sg_conf.h"

/* A.B.C.D/N with the host part kept (the gateway's own address). */
static int
parse_host_prefix(struct parse *p, const struct tok *v, uint32_t *addr, uint8_t *depth)
{
	char buf[32];
	const char *slash = strchr(v->s, '/'), *why;
	uint64_t d;

	if (slash == NULL || (size_t)(slash - v->s) >= sizeof(buf))
		return conf_err(p, v->line, "punt: addr '%s': expected A.B.C.D/N", v->s);
	memcpy(buf, v->s, (size_t)(slash - v->s));
	buf[slash - v->s] = '\0';
	why = conf_scan_ipv4(buf, addr);
	if (why == NULL)
		why = conf_scan_u64(slash + 1, 32, &d);
	if (why == NULL && (d == 0 || *addr == 0))
		why = "is not a host address";
	if (why != NULL)
		return conf_err(p, v->line, "punt: addr '%s' %s", v->s, why);
	*depth = (uint8_t)d;
	return 0;
}

/* IPv6 prefix lengths run 0..128. */
#define IPV6_BITS 128

/* X:X::X/N with the host part kept: a unicast address of the gateway's own. */
static int
parse_host_prefix6(struct parse *p, const struct tok *v, uint8_t *addr, uint8_t *depth)
{
	static const uint8_t loopback[SG_PUNT_IPV6_LEN] = {[SG_PUNT_IPV6_LEN - 1] = 1};
	static const uint8_t unspec[SG_PUNT_IPV6_LEN];
	char buf[INET6_ADDRSTRLEN];
	const char *slash = strchr(v->s, '/'), *why = NULL;
	uint64_t d;

	if (slash == NULL || (size_t)(slash - v->s) >= sizeof(buf))
		return conf_err(p, v->line, "punt: addr '%s': expected X:X::X/N", v->s);
	memcpy(buf, v->s, (size_t)(slash - v->s));
	buf[slash - v->s] = '\0';
	if (inet_pton(AF_INET6, buf, addr) != 1)
		why = "is not an IPv6 address (X:X::X/N)";
	else if (conf_scan_u64(slash + 1, IPV6_BITS, &d) != NULL || d == 0)
		why = "has a bad prefix length (expected /1../128)";
	/* RFC 4291 §2.5.2, §2.5.3, §2.7: none of these names one interface. */
	else if (memcmp(addr, unspec, sizeof(unspec)) == 0 ||
			memcmp(addr, loopback, sizeof(loopback)) == 0 || addr[0] == 0xff)
		why = "is not a unicast host address";
	if (why != NULL)
		return conf_err(p, v->line, "punt: addr '%s' %s", v->s, why);
	*depth = (uint8_t)d;
	return 0;
}

/* One addr word: IPv4 or IPv6, each family up to its own limit, no repeats. */
static int
parse_addr(struct parse *p, const struct tok *kw, const struct tok *v, struct sg_punt_prm *prm)
{
	uint8_t i;
	int rc;

	if (strchr(v->s, ':') == NULL) {
		if (prm->nb_addr == SG_DP_ADDRS_MAX)
			return conf_err(p, kw->line, "punt: more than %d IPv4 addresses",
				SG_DP_ADDRS_MAX);
		rc = parse_host_prefix(p, v, &prm->addr[prm->nb_addr], &prm->depth[prm->nb_addr]);
		for (i = 0; rc == 0 && i < prm->nb_addr; i++)
			if (prm->addr[i] == prm->addr[prm->nb_addr])
				return conf_err(p, v->line, "punt: addr '%s' given twice", v->s);
		if (rc == 0)
			prm->nb_addr++;
		return rc;
	}
	if (prm->nb_addr6 == SG_PUNT_ADDRS6_MAX)
		return conf_err(p, kw->line, "punt: more than %d IPv6 addresses", SG_PUNT_ADDRS6_MAX);
	rc = parse_host_prefix6(p, v, prm->addr6[prm->nb_addr6], &prm->depth6[prm->nb_addr6]);
	for (i = 0; rc == 0 && i < prm->nb_addr6; i++)
		if (memcmp(prm->addr6[i], prm->addr6[prm->nb_addr6], SG_PUNT_IPV6_LEN) == 0)
			return conf_err(p, v->line, "punt: addr '%s' given twice", v->s);
	if (rc == 0)
		prm->nb_addr6++;
	return rc;
}

static int
parse_iface(struct parse *p, const struct tok *v, char *out)
{
	size_t i, len = strlen(v->s);

	if (len == 0 || len >= SG_PUNT_IFNAME_LEN)
		return conf_err(p, v->line, "punt: iface '%s': 1 to %d characters", v->s,
			SG_PUNT_IFNAME_LEN - 1);
	/* Names the kernel accepts, and that cannot break a vdev argument. */
	for (i = 0; i < len; i++)
		if (!((v->s[i] >= 'a' && v->s[i] <= 'z') || (v->s[i] >= 'A' && v->s[i] <= 'Z') ||
				(v->s[i] >= '0' && v->s[i] <= '9') || strchr("_-.", v->s[i]) != NULL))
			return conf_err(p, v->line, "punt: iface '%s': letters, digits, '_', '-'"
				" and '.' only", v->s);
	memcpy(out, v->s, len + 1);
	return 0;
}

static int
add_punt(struct parse *p, const struct sg_conf_punt *pu)
{
	struct sg_conf *c = p->conf;
	struct sg_conf_punt *np;
	uint32_t i;

	for (i = 0; i < c->nb_punt; i++) {
		if (c->punt[i].prm.port == pu->prm.port)
			return conf_err(p, pu->line, "punt port %u: duplicate (first at line %u)",
				pu->prm.port, c->punt[i].line);
		if (pu->prm.iface[0] != '\0' && strcmp(c->punt[i].prm.iface, pu->prm.iface) == 0)
			return conf_err(p, pu->line, "punt: iface %s already used at line %u",
				pu->prm.iface, c->punt[i].line);
	}
	np = realloc(c->punt, (c->nb_punt + 1) * sizeof(*np));
	if (np == NULL)
		return conf_err(p, pu->line, "out of memory");
	c->punt = np;
	c->punt[c->nb_punt++] = *pu;
	return 0;
}

int
conf_parse_punt(struct parse *p, const struct tok *t, uint32_t n)
{
	struct sg_conf_punt pu;
	const struct tok *v;
	uint64_t x;
	uint32_t i;
	int rc = 0;
	bool rate_seen = false, burst_seen = false, iface_seen = false, via_seen = false;

	if (p->open_refs)
		return conf_err(p, t[0].line, "punt cannot change live; restart with the rule file");
	memset(&pu, 0, sizeof(pu));
	pu.line = t[0].line;
	pu.prm.rate = SG_PUNT_RATE_DEFAULT;
	pu.prm.burst = SG_PUNT_BURST_DEFAULT;
	if (n < 3 || strcmp(t[1].s, "port") != 0)
		return conf_err(p, t[n > 1 ? 1 : 0].line, "punt: expected 'punt port <P> addr "
			"<A.B.C.D/N> ...'");
	rc = conf_num(p, "punt", "port", &t[2], 0, RTE_MAX_ETHPORTS - 1, &x);
	if (rc != 0)
		return rc;
	pu.prm.port = (uint16_t)x;
	for (i = 3; i < n && rc == 0; i++) {
		const struct tok *kw = &t[i];
		bool *seen = NULL;

		if (strcmp(kw->s, "rate") == 0)
			seen = &rate_seen;
		else if (strcmp(kw->s, "burst") == 0)
			seen = &burst_seen;
		else if (strcmp(kw->s, "iface") == 0)
			seen = &iface_seen;
		else if (strcmp(kw->s, "via") == 0)
			seen = &via_seen;
		else if (strcmp(kw->s, "addr") != 0)
			return conf_err(p, kw->line, "punt: unknown keyword '%s' (expected addr,"
				" iface, rate, burst or via)", kw->s);
		if (seen != NULL && *seen)
			return conf_err(p, kw->line, "punt: '%s' given twice", kw->s);
		if (seen != NULL)
			*seen = true;
		v = conf_value(p, "punt", t, n, &i);
		if (v == NULL)
			return -EINVAL;
		if (strcmp(kw->s, "addr") == 0) {
			rc = parse_addr(p, kw, v, &pu.prm);
		} else if (strcmp(kw->s, "iface") == 0) {
			rc = parse_iface(p, v, pu.prm.iface);
		} else if (strcmp(kw->s, "via") == 0) {
			const char *why = conf_scan_ipv4(v->s, &pu.prm.via);

			if (why == NULL && pu.prm.via == 0)
				why = "is not a host address";
			if (why != NULL)
				rc = conf_err(p, v->line, "punt: via '%s' %s", v->s, why);
		} else {
			rc = conf_num(p, "punt", kw->s, v, 1, UINT32_MAX, &x);
			if (rc == 0 && strcmp(kw->s, "rate") == 0)
				pu.prm.rate = (uint32_t)x;
			else if (rc == 0)
				pu.prm.burst = (uint32_t)x;
		}
	}
	if (rc != 0)
		return rc;
	if (pu.prm.nb_addr + pu.prm.nb_addr6 == 0)
		return conf_err(p, t[0].line, "punt port %u: needs at least one 'addr A.B.C.D/N'"
			" or 'addr X:X::X/N'", pu.prm.port);
	return add_punt(p, &pu);
}
