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

struct sg_spd {
	struct rte_acl_ctx *acx; /* NULL when there are no rules */
	uint32_t count;
};

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

/* Add the rules with rte_acl priorities that encode the full order, then build. */
static int
acl_load(struct rte_acl_ctx *acx, const char *name, const struct sg_sp_rule *rules, uint32_t n)
{
	struct rte_acl_config cfg;
	struct spd_acl_rule ar;
	struct spd_rank *rank;
	uint32_t i;
	int ret;

	rank = malloc(sizeof(*rank) * n);
	if (rank == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		rank[i].priority = rules[i].priority;
		rank[i].idx = i;
	}
	qsort(rank, n, sizeof(*rank), cmp_rank);

	/* rte_acl leaves equal priorities undefined, so each rule gets its own: n..1. */
	for (i = 0; i < n; i++) {
		fill_acl_rule(&ar, &rules[rank[i].idx], n - i);
		ret = rte_acl_add_rules(acx, (const struct rte_acl_rule *)&ar, 1);
		if (ret != 0) {
			SG_LOG(ERR, "spd %s: rule %u: rte_acl refused it (%d)", name, rank[i].idx,
					ret);
			goto out;
		}
	}

	memset(&cfg, 0, sizeof(cfg));
	cfg.num_categories = 1;
	cfg.num_fields = FLD_NUM;
	memcpy(cfg.defs, spd_defs, sizeof(spd_defs));
	ret = rte_acl_build(acx, &cfg);
	if (ret != 0)
		SG_LOG(ERR, "spd %s: building %u rules failed (%d)", name, n, ret);
out:
	free(rank);
	return ret;
}

struct sg_spd *
sg_spd_create(const char *name, int socket, const struct sg_sp_rule *rules, uint32_t n)
{
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
	ret = acl_load(spd->acx, name, rules, n);
	if (ret != 0)
		goto err_acl;
	return spd;

err_acl:
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
