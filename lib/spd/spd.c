/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_acl.h>
#include <rte_common.h>
#include <rte_errno.h>
#include <rte_malloc.h>

#include "sg_common.h"
#include "sg_spd.h"

/* rte_acl reads the key as 1 byte, then 4-byte groups at these offsets. */
_Static_assert(offsetof(struct sg_spd_key, proto) == 0, "proto must be the 1-byte first field");
_Static_assert(offsetof(struct sg_spd_key, src) == 4, "src must start the first 4-byte group");
_Static_assert(offsetof(struct sg_spd_key, dst) == 8, "dst must start the second 4-byte group");
_Static_assert(offsetof(struct sg_spd_key, sport) == 12, "ports must share the third group");
_Static_assert(offsetof(struct sg_spd_key, dport) == 14, "ports must share the third group");
_Static_assert(sizeof(struct sg_spd_key) == 16, "rte_acl reads exactly 16 key bytes");
_Static_assert(SG_SP_DISCARD <= (UINT32_MAX >> SG_SPD_SA_BITS), "action must fit the verdict");

enum {
	FLD_PROTO,
	FLD_SRC,
	FLD_DST,
	FLD_SPORT,
	FLD_DPORT,
	FLD_NUM
};

static const struct rte_acl_field_def spd_defs[FLD_NUM] = {
	[FLD_PROTO] = {
		.type = RTE_ACL_FIELD_TYPE_BITMASK,
		.size = sizeof(uint8_t),
		.field_index = FLD_PROTO,
		.input_index = 0,
		.offset = offsetof(struct sg_spd_key, proto),
	},
	[FLD_SRC] = {
		.type = RTE_ACL_FIELD_TYPE_MASK,
		.size = sizeof(uint32_t),
		.field_index = FLD_SRC,
		.input_index = 1,
		.offset = offsetof(struct sg_spd_key, src),
	},
	[FLD_DST] = {
		.type = RTE_ACL_FIELD_TYPE_MASK,
		.size = sizeof(uint32_t),
		.field_index = FLD_DST,
		.input_index = 2,
		.offset = offsetof(struct sg_spd_key, dst),
	},
	[FLD_SPORT] = {
		.type = RTE_ACL_FIELD_TYPE_RANGE,
		.size = sizeof(uint16_t),
		.field_index = FLD_SPORT,
		.input_index = 3,
		.offset = offsetof(struct sg_spd_key, sport),
	},
	[FLD_DPORT] = {
		.type = RTE_ACL_FIELD_TYPE_RANGE,
		.size = sizeof(uint16_t),
		.field_index = FLD_DPORT,
		.input_index = 3,
		.offset = offsetof(struct sg_spd_key, dport),
	},
};

RTE_ACL_RULE_DEF(spd_acl_rule, FLD_NUM);

/*
 * An inbound SA's own rule, in host byte order, for sg_spd_check_sa(), in
 * a direct-mapped table: slot sa & sel_mask. Only an entry with exact set
 * and the SA's own number answers: the rule is the only one naming the SA
 * and nothing that outranks it overlaps it. SAs that share a slot with
 * another are left to rte_acl, so the table stays a few entries per rule
 * however far apart the SA numbers drift as SAs come and go.
 */
struct spd_sel {
	uint32_t sa;
	uint32_t src, src_mask;
	uint32_t dst, dst_mask;
	uint16_t sport_lo, sport_hi;
	uint16_t dport_lo, dport_hi;
	uint8_t proto, proto_mask;
	uint8_t exact;
	uint8_t state; /* build only: SEL_FREE, SEL_ONE (one rule) or SEL_SHARED */
};

enum { SEL_FREE, SEL_ONE, SEL_SHARED };

struct sg_spd {
	struct rte_acl_ctx *acx; /* NULL when there are no rules */
	uint32_t count;
	uint32_t sel_mask; /* slots - 1; sel is NULL when there is no table */
	uint32_t nb_exact; /* entries with exact set */
	struct spd_sel *sel;
};

/* The most rule pairs the overlap analysis looks at before it leaves every
 * SA to rte_acl. */
#define SPD_PAIR_BUDGET (UINT32_C(1) << 25)
/* Keys per rte_acl call in sg_spd_check_sa(). */
#define SPD_CHECK_CHUNK 64

/* Position of a rule in the SPD's total order: priority, then config order. */
struct spd_rank {
	uint32_t priority;
	uint32_t idx;
};

/* rte_acl_create() hands back an existing context of the same name: never reuse one. */
static uint32_t spd_seq;

static uint32_t
prefix_mask(uint8_t depth)
{
	return depth == 0 ? 0 : UINT32_MAX << (32 - depth);
}

static int
check_rule(const char *name, uint32_t i, const struct sg_sp_rule *r)
{
	const char *why = NULL;

	if (r->src_depth > 32 || r->dst_depth > 32)
		why = "prefix length above 32";
	else if (r->sport_lo > r->sport_hi || r->dport_lo > r->dport_hi)
		why = "empty port range";
	else if (r->action != SG_SP_PROTECT && r->action != SG_SP_BYPASS &&
			r->action != SG_SP_DISCARD)
		why = "unknown action";
	else if (r->action == SG_SP_PROTECT && r->sa_idx > SG_SPD_SA_MASK)
		why = "SA index does not fit the verdict";
	if (why == NULL)
		return 0;
	SG_LOG(ERR, "spd %s: rule %u: %s", name, i, why);
	return -EINVAL;
}

static int
cmp_rank(const void *a, const void *b)
{
	const struct spd_rank *x = a;
	const struct spd_rank *y = b;

	/* Higher priority first; among equals, the earlier rule (RFC 4301 §4.4.1 ordering). */
	if (x->priority != y->priority)
		return x->priority > y->priority ? -1 : 1;
	return x->idx < y->idx ? -1 : (x->idx > y->idx);
}

static void
fill_acl_rule(struct spd_acl_rule *ar, const struct sg_sp_rule *r, uint32_t acl_pri)
{
	uint32_t sa = r->action == SG_SP_PROTECT ? r->sa_idx : 0;

	memset(ar, 0, sizeof(*ar));
	ar->data.category_mask = 1;
	ar->data.priority = (int32_t)acl_pri;
	/* Never 0 (rte_acl's "no match") because every valid action is >= 1. */
	ar->data.userdata = ((uint32_t)r->action << SG_SPD_SA_BITS) | sa;
	ar->field[FLD_PROTO].value.u8 = r->proto & r->proto_mask;
	ar->field[FLD_PROTO].mask_range.u8 = r->proto_mask;
	/* Clear host bits so a sloppy 10.1.2.3/24 means 10.1.2.0/24. */
	ar->field[FLD_SRC].value.u32 = r->src & prefix_mask(r->src_depth);
	ar->field[FLD_SRC].mask_range.u32 = r->src_depth;
	ar->field[FLD_DST].value.u32 = r->dst & prefix_mask(r->dst_depth);
	ar->field[FLD_DST].mask_range.u32 = r->dst_depth;
	ar->field[FLD_SPORT].value.u16 = r->sport_lo;
	ar->field[FLD_SPORT].mask_range.u16 = r->sport_hi;
	ar->field[FLD_DPORT].value.u16 = r->dport_lo;
	ar->field[FLD_DPORT].mask_range.u16 = r->dport_hi;
}

/* Create the rte_acl context under a name no other live context has. */
static struct rte_acl_ctx *
acl_ctx_create(const char *name, int socket, uint32_t n)
{
	char acl_name[RTE_ACL_NAMESIZE];
	struct rte_acl_param prm = {
		.name = acl_name,
		.socket_id = socket,
		.rule_size = RTE_ACL_RULE_SZ(FLD_NUM),
		.max_rule_num = n,
	};

	/* The counter leads so truncating a long name cannot make two equal. */
	do {
		snprintf(acl_name, sizeof(acl_name), "sgspd%u_%s",
				__atomic_fetch_add(&spd_seq, 1, __ATOMIC_RELAXED), name);
	} while (rte_acl_find_existing(acl_name) != NULL);
	return rte_acl_create(&prm);
}

/* Add the rules, in @p rank order, with rte_acl priorities that encode that
 * order, then build. */
static int
acl_load(struct rte_acl_ctx *acx, const char *name, const struct sg_sp_rule *rules,
		const struct spd_rank *rank, uint32_t n)
{
	struct rte_acl_config cfg;
	struct spd_acl_rule ar;
	uint32_t i;
	int ret;

	/* rte_acl leaves equal priorities undefined, so each rule gets its own: n..1. */
	for (i = 0; i < n; i++) {
		fill_acl_rule(&ar, &rules[rank[i].idx], n - i);
		ret = rte_acl_add_rules(acx, (const struct rte_acl_rule *)&ar, 1);
		if (ret != 0) {
			SG_LOG(ERR, "spd %s: rule %u: rte_acl refused it (%d)", name, rank[i].idx,
					ret);
			return ret;
		}
	}

	memset(&cfg, 0, sizeof(cfg));
	cfg.num_categories = 1;
	cfg.num_fields = FLD_NUM;
	memcpy(cfg.defs, spd_defs, sizeof(spd_defs));
	ret = rte_acl_build(acx, &cfg);
	if (ret != 0)
		SG_LOG(ERR, "spd %s: building %u rules failed (%d)", name, n, ret);
	return ret;
}

/* Could one key match both rules? Field by field, as rte_acl compares them. */
static int
rules_overlap(const struct sg_sp_rule *a, const struct sg_sp_rule *b)
{
	uint32_t sm = prefix_mask(RTE_MIN(a->src_depth, b->src_depth));
	uint32_t dm = prefix_mask(RTE_MIN(a->dst_depth, b->dst_depth));

	return ((a->src ^ b->src) & sm) == 0 && ((a->dst ^ b->dst) & dm) == 0 &&
		((a->proto ^ b->proto) & a->proto_mask & b->proto_mask) == 0 &&
		a->sport_lo <= b->sport_hi && b->sport_lo <= a->sport_hi &&
		a->dport_lo <= b->dport_hi && b->dport_lo <= a->dport_hi;
}

/* A rule's destination range, for the overlap sweep. */
struct spd_span {
	uint32_t lo, hi;
	uint32_t idx;
};

static int
cmp_span(const void *a, const void *b)
{
	const struct spd_span *x = a;
	const struct spd_span *y = b;

	/* Start ascending; at one start the wider prefix first. */
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->hi != y->hi)
		return x->hi > y->hi ? -1 : 1;
	return x->idx < y->idx ? -1 : (x->idx > y->idx);
}

/*
 * Mark in @p beaten every rule that some rule outranking it overlaps.
 * Destination prefixes are nested or disjoint, so a sweep in start order
 * keeps the prefixes enclosing the current rule on a stack, and every pair
 * that overlaps at all meets there once. Returns -1 when the pairs would
 * exceed SPD_PAIR_BUDGET (many rules under one wide destination).
 */
static int
find_beaten(const struct sg_sp_rule *rules, const uint32_t *pos, uint32_t n, uint8_t *beaten)
{
	struct spd_span *span;
	uint32_t *stack;
	uint32_t i, j, top = 0, pairs = 0;
	int ret = 0;

	span = malloc(sizeof(*span) * n);
	stack = malloc(sizeof(*stack) * n);
	if (span == NULL || stack == NULL) {
		ret = -1;
		goto out;
	}
	for (i = 0; i < n; i++) {
		uint32_t m = prefix_mask(rules[i].dst_depth);

		span[i].lo = rules[i].dst & m;
		span[i].hi = span[i].lo | ~m;
		span[i].idx = i;
	}
	qsort(span, n, sizeof(*span), cmp_span);
	for (i = 0; i < n; i++) {
		uint32_t x = span[i].idx;

		while (top > 0 && span[stack[top - 1]].hi < span[i].lo)
			top--;
		pairs += top;
		if (pairs > SPD_PAIR_BUDGET) {
			ret = -1;
			goto out;
		}
		for (j = 0; j < top; j++) {
			uint32_t y = span[stack[j]].idx;

			if (!rules_overlap(&rules[x], &rules[y]))
				continue;
			if (pos[y] < pos[x])
				beaten[x] = 1;
			else
				beaten[y] = 1;
		}
		stack[top++] = i;
	}
out:
	free(span);
	free(stack);
	return ret;
}

/* Build spd->sel for sg_spd_check_sa(). Failing leaves it empty: rte_acl answers. */
static void
sel_build(struct sg_spd *spd, const char *name, int socket, const struct sg_sp_rule *rules,
		const struct spd_rank *rank, uint32_t n)
{
	uint32_t i, nb_protect = 0, slots, *pos = NULL;
	uint8_t *beaten = NULL;
	struct spd_sel *sel;

	for (i = 0; i < n; i++)
		nb_protect += rules[i].action == SG_SP_PROTECT;
	if (nb_protect == 0)
		return;
	/* At most half full: SA numbers handed out in order never collide. */
	slots = rte_align32pow2(RTE_MAX(2 * nb_protect, UINT32_C(64)));
	sel = rte_zmalloc_socket("sg_spd_sel", sizeof(*sel) * slots, RTE_CACHE_LINE_SIZE, socket);
	pos = malloc(sizeof(*pos) * n);
	beaten = calloc(n, 1);
	if (sel == NULL || pos == NULL || beaten == NULL)
		goto fail;
	for (i = 0; i < n; i++)
		pos[rank[i].idx] = i;
	if (find_beaten(rules, pos, n, beaten) != 0) {
		SG_LOG(INFO, "spd %s: %u rules overlap too much to check SAs by their own rule;"
				" rte_acl checks them", name, n);
		goto fail;
	}
	for (i = 0; i < n; i++) {
		const struct sg_sp_rule *r = &rules[i];
		struct spd_sel *e;

		if (r->action != SG_SP_PROTECT)
			continue;
		e = &sel[r->sa_idx & (slots - 1)];
		if (e->state != SEL_FREE) {
			/* A second rule for this SA, or another SA in the slot. */
			e->state = SEL_SHARED;
			e->exact = 0;
			continue;
		}
		e->state = SEL_ONE;
		e->sa = r->sa_idx;
		e->src_mask = prefix_mask(r->src_depth);
		e->src = r->src & e->src_mask;
		e->dst_mask = prefix_mask(r->dst_depth);
		e->dst = r->dst & e->dst_mask;
		e->proto = r->proto & r->proto_mask;
		e->proto_mask = r->proto_mask;
		e->sport_lo = r->sport_lo;
		e->sport_hi = r->sport_hi;
		e->dport_lo = r->dport_lo;
		e->dport_hi = r->dport_hi;
		e->exact = !beaten[i];
	}
	for (i = 0; i < slots; i++)
		spd->nb_exact += sel[i].exact;
	spd->sel = sel;
	spd->sel_mask = slots - 1;
	free(pos);
	free(beaten);
	return;
fail:
	rte_free(sel);
	free(pos);
	free(beaten);
}

struct sg_spd *
sg_spd_create(const char *name, int socket, const struct sg_sp_rule *rules, uint32_t n)
{
	return sg_spd_create_flags(name, socket, rules, n, 0);
}

struct sg_spd *
sg_spd_create_flags(const char *name, int socket, const struct sg_sp_rule *rules, uint32_t n,
		unsigned int flags)
{
	struct spd_rank *rank = NULL;
	struct sg_spd *spd;
	uint32_t i;
	int ret;

	if (name == NULL || (rules == NULL && n != 0)) {
		rte_errno = EINVAL;
		return NULL;
	}
	/* Ranks n..1 must be valid rte_acl priorities. */
	if (n > RTE_ACL_MAX_PRIORITY) {
		rte_errno = E2BIG;
		return NULL;
	}
	for (i = 0; i < n; i++) {
		if (check_rule(name, i, &rules[i]) != 0) {
			rte_errno = EINVAL;
			return NULL;
		}
	}

	/* Every worker reads it: keep it on the caller's node. */
	spd = rte_zmalloc_socket("sg_spd", sizeof(*spd), RTE_CACHE_LINE_SIZE, socket);
	if (spd == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	spd->count = n;
	if (n == 0)
		return spd;

	spd->acx = acl_ctx_create(name, socket, n);
	if (spd->acx == NULL) {
		/* rte_acl_create() does not set rte_errno when allocation fails. */
		ret = -ENOMEM;
		goto err_spd;
	}
	rank = malloc(sizeof(*rank) * n);
	if (rank == NULL) {
		ret = -ENOMEM;
		goto err_acl;
	}
	for (i = 0; i < n; i++) {
		rank[i].priority = rules[i].priority;
		rank[i].idx = i;
	}
	qsort(rank, n, sizeof(*rank), cmp_rank);
	ret = acl_load(spd->acx, name, rules, rank, n);
	if (ret != 0)
		goto err_acl;
	if (flags & SG_SPD_F_SA_CHECK)
		sel_build(spd, name, socket, rules, rank, n);
	free(rank);
	return spd;

err_acl:
	free(rank);
	rte_acl_free(spd->acx);
err_spd:
	rte_free(spd);
	rte_errno = -ret;
	return NULL;
}

void
sg_spd_free(struct sg_spd *spd)
{
	if (spd == NULL)
		return;
	rte_acl_free(spd->acx);
	rte_free(spd->sel);
	rte_free(spd);
}

uint32_t
sg_spd_count(const struct sg_spd *spd)
{
	return spd == NULL ? 0 : spd->count;
}

void
sg_spd_classify(const struct sg_spd *spd, const struct sg_spd_key *const keys[],
		uint32_t *verdict, uint32_t n)
{
	if (n == 0)
		return;
	if (spd == NULL || spd->acx == NULL) {
		memset(verdict, 0, sizeof(*verdict) * n);
		return;
	}
	/*
	 * One call whatever n is: rte_acl walks any count in its own SIMD-sized
	 * groups. It fails only on a NULL context or a bad category count.
	 */
	rte_acl_classify(spd->acx, (const uint8_t **)(uintptr_t)keys, verdict, n, 1);
}

uint32_t
sg_spd_sa_exact_count(const struct sg_spd *spd)
{
	return spd == NULL ? 0 : spd->nb_exact;
}

/* Does @p k match @p e? The same comparisons rte_acl makes for the rule. */
static inline int
sel_match(const struct spd_sel *e, const struct sg_spd_key *k)
{
	uint16_t sp = rte_be_to_cpu_16(k->sport), dp = rte_be_to_cpu_16(k->dport);

	uint32_t diff = ((rte_be_to_cpu_32(k->src) ^ e->src) & e->src_mask) |
		((rte_be_to_cpu_32(k->dst) ^ e->dst) & e->dst_mask) |
		((uint32_t)(k->proto ^ e->proto) & e->proto_mask);

	/* Bitwise &: no branch per field. */
	return (diff == 0) & (sp >= e->sport_lo) & (sp <= e->sport_hi) &
		(dp >= e->dport_lo) & (dp <= e->dport_hi);
}

void
sg_spd_check_sa(const struct sg_spd *spd, const struct sg_spd_key *const keys[],
		const uint32_t *sa, uint8_t *ok, uint32_t n)
{
	const struct sg_spd_key *slow_key[SPD_CHECK_CHUNK];
	uint32_t slow[SPD_CHECK_CHUNK], v[SPD_CHECK_CHUNK];
	const struct spd_sel *sel = spd == NULL ? NULL : spd->sel;
	uint32_t off, i, m, ns;

	for (off = 0; off < n; off += m) {
		m = RTE_MIN(n - off, (uint32_t)SPD_CHECK_CHUNK);
		ns = 0;
		for (i = off; i < off + m; i++) {
			const struct spd_sel *e = sel == NULL ? NULL : &sel[sa[i] & spd->sel_mask];

			if (e != NULL && e->exact && e->sa == sa[i]) {
				ok[i] = (uint8_t)sel_match(e, keys[i]);
			} else {
				slow_key[ns] = keys[i];
				slow[ns++] = i;
			}
		}
		if (ns == 0)
			continue;
		sg_spd_classify(spd, slow_key, v, ns);
		for (i = 0; i < ns; i++)
			ok[slow[i]] = sg_spd_action(v[i]) == SG_SP_PROTECT &&
				sg_spd_sa(v[i]) == sa[slow[i]];
	}
}
