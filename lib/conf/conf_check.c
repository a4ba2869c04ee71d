/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Checks that need the whole file: duplicate SPIs, policies naming an SA
 * the file does not have, duplicate neighbours and routes. Sorting keeps
 * them O(n log n), so rule counts have no practical cap. When several
 * rules are wrong, the one on the earliest line is reported.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <rte_common.h>

#include "parse.h"

/* Longest message a check writes before "file:line: " is added. */
#define CHECK_MSG_MAX 256
/* Bits below an rt key's address hold the prefix length. */
#define RT_DEPTH_BITS 8
/* Bits below an SA key's direction hold the SPI. */
#define SA_SPI_BITS 32

struct ref {
	uint64_t key;
	uint32_t line;
	uint32_t idx;
};

/* The earliest error found so far. */
struct first_err {
	uint32_t line;
	char msg[CHECK_MSG_MAX];
};

static void note(struct first_err *f, uint32_t line, const char *fmt, ...)
	__rte_format_printf(3, 4);

static void
note(struct first_err *f, uint32_t line, const char *fmt, ...)
{
	va_list ap;

	if (line >= f->line)
		return;
	f->line = line;
	va_start(ap, fmt);
	vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
	va_end(ap);
}

static int
cmp_ref(const void *a, const void *b)
{
	const struct ref *x = a;
	const struct ref *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->line < y->line ? -1 : (x->line > y->line);
}

static int
cmp_key(const void *a, const void *b)
{
	const struct ref *x = a;
	const struct ref *y = b;

	return x->key < y->key ? -1 : (x->key > y->key);
}

/*
 * In refs sorted by key then line, find the repeated key on the earliest
 * line. @return its position (the earlier twin is one run-start away), or n.
 */
static uint32_t
find_dup(const struct ref *r, uint32_t n, uint32_t *first)
{
	uint32_t i, run = 0, best = n;

	for (i = 1; i < n; i++) {
		if (r[i].key != r[run].key) {
			run = i;
			continue;
		}
		if (i == run + 1 && (best == n || r[i].line < r[best].line)) {
			best = i;
			*first = r[run].line;
		}
	}
	return best;
}

static uint64_t
sa_key(enum sg_sa_dir dir, uint32_t spi)
{
	return ((uint64_t)dir << SA_SPI_BITS) | spi;
}

static const char *
dir_name(enum sg_sa_dir dir)
{
	return dir == SG_SA_IN ? "in" : "out";
}

static void
check_sa_sp(const struct sg_conf *c, struct ref *r, struct first_err *f, bool open_refs)
{
	const struct sg_conf_sa *sa;
	const struct sg_conf_sp *sp;
	struct ref want;
	uint32_t i, d, first = 0;

	for (i = 0; i < c->nb_sa; i++) {
		r[i].key = sa_key(c->sa[i].prm.dir, c->sa[i].prm.spi);
		r[i].line = c->sa[i].line;
		r[i].idx = i;
	}
	if (c->nb_sa > 0)
		qsort(r, c->nb_sa, sizeof(*r), cmp_ref);
	d = find_dup(r, c->nb_sa, &first);
	if (d < c->nb_sa) {
		sa = &c->sa[r[d].idx];
		note(f, sa->line, "sa %s %" PRIu32 ": duplicate SPI (first at line %" PRIu32 ")",
			dir_name(sa->prm.dir), sa->prm.spi, first);
	}
	/* Policies are in file order, so the first dangling one is the earliest.
	 * A control request's policy may name an SA that is already running. */
	for (i = 0; i < c->nb_sp && !open_refs; i++) {
		sp = &c->sp[i];
		if (sp->rule.action != SG_SP_PROTECT)
			continue;
		want.key = sa_key(sp->dir, sp->spi);
		if (c->nb_sa > 0 && bsearch(&want, r, c->nb_sa, sizeof(*r), cmp_key) != NULL)
			continue;
		note(f, sp->line, "sp %s protect %" PRIu32 ": no 'sa %s %" PRIu32 "' in this file",
			dir_name(sp->dir), sp->spi, dir_name(sp->dir), sp->spi);
		break;
	}
}

static void
check_neigh(const struct sg_conf *c, struct ref *r, struct first_err *f)
{
	const struct sg_conf_neigh *nb;
	uint32_t i, d, first = 0;

	for (i = 0; i < c->nb_neigh; i++) {
		r[i].key = c->neigh[i].prm.port;
		r[i].line = c->neigh[i].line;
		r[i].idx = i;
	}
	if (c->nb_neigh > 0)
		qsort(r, c->nb_neigh, sizeof(*r), cmp_ref);
	d = find_dup(r, c->nb_neigh, &first);
	if (d == c->nb_neigh)
		return;
	nb = &c->neigh[r[d].idx];
	note(f, nb->line, "neigh port %u: duplicate (first at line %" PRIu32 ")", nb->prm.port,
		first);
}

static void
check_rt(const struct sg_conf *c, struct ref *r, struct first_err *f)
{
	const struct sg_conf_rt *rt;
	char ip[INET_ADDRSTRLEN];
	struct in_addr addr;
	uint32_t i, d, first = 0;

	for (i = 0; i < c->nb_rt; i++) {
		r[i].key = ((uint64_t)c->rt[i].prm.dst << RT_DEPTH_BITS) | c->rt[i].prm.depth;
		r[i].line = c->rt[i].line;
		r[i].idx = i;
	}
	if (c->nb_rt > 0)
		qsort(r, c->nb_rt, sizeof(*r), cmp_ref);
	d = find_dup(r, c->nb_rt, &first);
	if (d == c->nb_rt)
		return;
	rt = &c->rt[r[d].idx];
	addr.s_addr = htonl(rt->prm.dst);
	inet_ntop(AF_INET, &addr, ip, sizeof(ip));
	note(f, rt->line, "rt ipv4 dst %s/%u: duplicate route (first at line %" PRIu32 ")", ip,
		rt->prm.depth, first);
}

int
conf_check(struct parse *p)
{
	const struct sg_conf *c = p->conf;
	struct first_err f = {.line = UINT32_MAX};
	uint32_t most;
	struct ref *r;

	most = RTE_MAX(c->nb_sa, c->nb_neigh);
	most = RTE_MAX(most, c->nb_rt);
	if (most == 0 && c->nb_sp == 0)
		return 0;
	/* One scratch array serves every check; policies only read the SA part. */
	r = malloc((size_t)RTE_MAX(most, 1u) * sizeof(*r));
	if (r == NULL) {
		conf_err(p, 0, "out of memory");
		return -ENOMEM;
	}
	check_sa_sp(c, r, &f, p->open_refs);
	check_neigh(c, r, &f);
	check_rt(c, r, &f);
	free(r);
	if (f.line == UINT32_MAX)
		return 0;
	return conf_err(p, f.line, "%s", f.msg);
}
