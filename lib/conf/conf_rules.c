/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * "sp", "rt" and "neigh" lines, as ipsec-secgw's parse_sp4_tokens(),
 * parse_rt_tokens() and cfg_parse_neigh() read them. Deliberate
 * differences: a missing sport/dport means 0:65535 (ipsec-secgw's 0:0
 * matches port 0 only); an address without /N is an error (ipsec-secgw
 * reads it as /0, which matches everything); words ipsec-secgw skips
 * silently (rt src, unknown rt words) are errors.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <rte_common.h>

#include "parse.h"

enum sp_kw {
	SP_ESP,
	SP_PROTECT,
	SP_BYPASS,
	SP_DISCARD,
	SP_PRI,
	SP_SRC,
	SP_DST,
	SP_PROTO,
	SP_SPORT,
	SP_DPORT,
	SP_KW_MAX
};

static const char *const sp_kws[SP_KW_MAX] = {
	[SP_ESP] = "esp",
	[SP_PROTECT] = "protect",
	[SP_BYPASS] = "bypass",
	[SP_DISCARD] = "discard",
	[SP_PRI] = "pri",
	[SP_SRC] = "src",
	[SP_DST] = "dst",
	[SP_PROTO] = "proto",
	[SP_SPORT] = "sport",
	[SP_DPORT] = "dport",
};

#define BIT(k) (UINT32_C(1) << (k))
#define SP_ACTIONS (BIT(SP_PROTECT) | BIT(SP_BYPASS) | BIT(SP_DISCARD))

static int
parse_dir(struct parse *p, const char *rule, const struct tok *v, enum sg_sa_dir *dir)
{
	if (strcmp(v->s, "in") == 0)
		*dir = SG_SA_IN;
	else if (strcmp(v->s, "out") == 0)
		*dir = SG_SA_OUT;
	else
		return conf_err(p, v->line, "%s: direction '%s' is neither 'in' nor 'out'", rule,
			v->s);
	return 0;
}

static int
parse_ipver(struct parse *p, const char *rule, const char *what, const struct tok *t,
		uint32_t n)
{
	if (n < 2)
		return conf_err(p, t[0].line, "%s: missing IP version (ipv4)", rule);
	if (strcmp(t[1].s, "ipv4") == 0)
		return 0;
	if (strcmp(t[1].s, "ipv6") == 0)
		return conf_err(p, t[1].line, "%s: ipv6 %s are not supported yet (only ipv4)", rule,
			what);
	return conf_err(p, t[1].line, "%s: unknown IP version '%s' (expected ipv4)", rule,
		t[1].s);
}

static int
parse_prefix(struct parse *p, const char *rule, const struct tok *kw, const struct tok *v,
		uint32_t *addr, uint8_t *depth)
{
	const char *why = conf_scan_prefix(v->s, addr, depth);

	if (why == NULL)
		return 0;
	return conf_err(p, v->line, "%s: %s '%s' %s", rule, kw->s, v->s, why);
}

#define BAD_PROTO "sp: proto '%s' is not value:mask (0..255 each)"

/*
 * ipsec-secgw's "proto V:M" is an rte_acl bitmask (sp4.c), not the range
 * its guide describes. Bits of V outside M would mean something different
 * under either reading, so they are refused. "proto V" means V:255.
 */
static int
parse_proto(struct parse *p, const struct tok *v, struct sg_sp_rule *r)
{
	char num[sizeof("255")];
	const char *colon = strchr(v->s, ':');
	uint64_t val, mask;
	size_t len;

	if (colon == NULL) {
		if (conf_num(p, "sp", "proto", v, 0, UINT8_MAX, &val) != 0)
			return -EINVAL;
		mask = UINT8_MAX;
	} else {
		len = (size_t)(colon - v->s);
		if (len >= sizeof(num))
			return conf_err(p, v->line, BAD_PROTO, v->s);
		memcpy(num, v->s, len);
		num[len] = '\0';
		if (conf_scan_u64(num, UINT8_MAX, &val) != NULL ||
				conf_scan_u64(colon + 1, UINT8_MAX, &mask) != NULL)
			return conf_err(p, v->line, BAD_PROTO, v->s);
	}
	if ((val & ~mask) != 0)
		return conf_err(p, v->line, "sp: proto '%s': the value has bits outside the mask "
			"(proto is value:mask, not a range; write %" PRIu64 ":255 for protocol %"
			PRIu64 " alone)", v->s, val, val);
	r->proto = (uint8_t)val;
	r->proto_mask = (uint8_t)mask;
	return 0;
}

static int
parse_ports(struct parse *p, const struct tok *kw, const struct tok *v, uint16_t *lo,
		uint16_t *hi)
{
	const char *why = conf_scan_ports(v->s, lo, hi);

	if (why == NULL)
		return 0;
	return conf_err(p, v->line, "sp: %s '%s' %s", kw->s, v->s, why);
}

static int
parse_sp_word(struct parse *p, const struct tok *t, uint32_t n, uint32_t *i, enum sp_kw kw,
		struct sg_conf_sp *sp)
{
	struct sg_sp_rule *r = &sp->rule;
	const struct tok *v;
	uint64_t x;
	int rc;

	switch (kw) {
	case SP_ESP:
		return 0;
	case SP_BYPASS:
		r->action = SG_SP_BYPASS;
		return 0;
	case SP_DISCARD:
		r->action = SG_SP_DISCARD;
		return 0;
	default:
		break;
	}
	v = conf_value(p, "sp", t, n, i);
	if (v == NULL)
		return -EINVAL;
	switch (kw) {
	case SP_PROTECT:
		rc = conf_num(p, "sp", "protect", v, 0, UINT32_MAX, &x);
		if (rc != 0)
			return rc;
		if (x == 0)
			return conf_err(p, v->line,
				"sp: protect 0: SPI 0 is reserved (RFC 4303 §2.1)");
		r->action = SG_SP_PROTECT;
		sp->spi = (uint32_t)x;
		return 0;
	case SP_PRI:
		rc = conf_num(p, "sp", "pri", v, 0, UINT32_MAX, &x);
		if (rc == 0)
			r->priority = (uint32_t)x;
		return rc;
	case SP_SRC:
		return parse_prefix(p, "sp", &t[*i - 1], v, &r->src, &r->src_depth);
	case SP_DST:
		return parse_prefix(p, "sp", &t[*i - 1], v, &r->dst, &r->dst_depth);
	case SP_PROTO:
		return parse_proto(p, v, r);
	case SP_SPORT:
		return parse_ports(p, &t[*i - 1], v, &r->sport_lo, &r->sport_hi);
	default:
		return parse_ports(p, &t[*i - 1], v, &r->dport_lo, &r->dport_hi);
	}
}

int
conf_parse_sp(struct parse *p, const struct tok *t, uint32_t n)
{
	struct sg_conf_sp sp;
	uint32_t seen = 0, i;
	unsigned int k, action = SP_KW_MAX;
	int rc;

	memset(&sp, 0, sizeof(sp));
	sp.line = t[0].line;
	sp.rule.sport_hi = UINT16_MAX;
	sp.rule.dport_hi = UINT16_MAX;
	rc = parse_ipver(p, "sp", "policies", t, n);
	if (rc != 0)
		return rc;
	if (n < 3)
		return conf_err(p, t[1].line, "sp: missing direction ('in' or 'out')");
	rc = parse_dir(p, "sp", &t[2], &sp.dir);
	if (rc != 0)
		return rc;
	for (i = 3; i < n; i++) {
		for (k = 0; k < SP_KW_MAX; k++)
			if (strcmp(t[i].s, sp_kws[k]) == 0)
				break;
		if (k == SP_KW_MAX)
			return conf_err(p, t[i].line, "sp: unknown keyword '%s'", t[i].s);
		if ((seen & BIT(k)) != 0)
			return conf_err(p, t[i].line, "sp: '%s' given twice", t[i].s);
		if ((BIT(k) & SP_ACTIONS) != 0) {
			if (action != SP_KW_MAX)
				return conf_err(p, t[i].line, "sp: '%s' conflicts with '%s'",
					t[i].s, sp_kws[action]);
			action = k;
		}
		seen |= BIT(k);
		rc = parse_sp_word(p, t, n, &i, (enum sp_kw)k, &sp);
		if (rc != 0)
			return rc;
	}
	if ((seen & BIT(SP_ESP)) == 0)
		return conf_err(p, sp.line, "sp: missing 'esp'");
	if (action == SP_KW_MAX)
		return conf_err(p, sp.line,
			"sp: missing action (protect <SPI>, bypass or discard)");
	return conf_add_sp(p, &sp);
}

int
conf_parse_rt(struct parse *p, const struct tok *t, uint32_t n)
{
	struct sg_conf_rt rt;
	const struct tok *v;
	bool dst_seen = false, port_seen = false, is_dst;
	uint64_t x;
	uint32_t i;
	int rc;

	/* ipsec-secgw's defaults: dst 0.0.0.0/0, port 0. */
	memset(&rt, 0, sizeof(rt));
	rt.line = t[0].line;
	rc = parse_ipver(p, "rt", "routes", t, n);
	if (rc != 0)
		return rc;
	for (i = 2; i < n; i++) {
		is_dst = strcmp(t[i].s, "dst") == 0;
		if (strcmp(t[i].s, "src") == 0)
			return conf_err(p, t[i].line, "rt: src is not supported yet (routes match "
				"the destination only; ipsec-secgw ignores src too)");
		if (!is_dst && strcmp(t[i].s, "port") != 0)
			return conf_err(p, t[i].line, "rt: unknown keyword '%s'", t[i].s);
		if (is_dst ? dst_seen : port_seen)
			return conf_err(p, t[i].line, "rt: '%s' given twice", t[i].s);
		v = conf_value(p, "rt", t, n, &i);
		if (v == NULL)
			return -EINVAL;
		if (is_dst) {
			dst_seen = true;
			rc = parse_prefix(p, "rt", &t[i - 1], v, &rt.prm.dst, &rt.prm.depth);
		} else {
			port_seen = true;
			rc = conf_num(p, "rt", "port", v, 0, RTE_MAX_ETHPORTS - 1, &x);
			if (rc == 0)
				rt.prm.port = (uint16_t)x;
		}
		if (rc != 0)
			return rc;
	}
	return conf_add_rt(p, &rt);
}

int
conf_parse_neigh(struct parse *p, const struct tok *t, uint32_t n)
{
	struct sg_conf_neigh nb;
	const char *why;
	uint64_t x;
	int rc;

	memset(&nb, 0, sizeof(nb));
	nb.line = t[0].line;
	if (n < 2)
		return conf_err(p, t[0].line, "neigh: missing 'port <P> <MAC>'");
	if (strcmp(t[1].s, "port") != 0)
		return conf_err(p, t[1].line, "neigh: expected 'port' after 'neigh', got '%s'",
			t[1].s);
	if (n < 3)
		return conf_err(p, t[1].line, "neigh: missing value after 'port'");
	rc = conf_num(p, "neigh", "port", &t[2], 0, RTE_MAX_ETHPORTS - 1, &x);
	if (rc != 0)
		return rc;
	nb.prm.port = (uint16_t)x;
	if (n < 4)
		return conf_err(p, t[2].line, "neigh: missing MAC address after 'port %s'", t[2].s);
	why = conf_scan_mac(t[3].s, &nb.prm.mac);
	if (why != NULL)
		return conf_err(p, t[3].line, "neigh: '%s' %s", t[3].s, why);
	if (n > 4)
		return conf_err(p, t[4].line, "neigh: unexpected '%s' after the MAC address",
			t[4].s);
	return conf_add_neigh(p, &nb);
}
