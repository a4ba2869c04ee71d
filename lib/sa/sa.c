/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdio.h>
#include <string.h>

#include <rte_common.h>

#include "sg_common.h"
#include "sg_sa.h"

void
sg_sa_prm_wipe(struct sg_sa_prm *prm)
{
	if (prm != NULL)
		sg_wipe(prm, sizeof(*prm));
}

const char *
sg_sa_tfc_format(const uint16_t tfc[SG_SA_TFC_BUCKETS], char *buf, size_t len)
{
	size_t used = 0;
	unsigned int i;
	int n;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	for (i = 0; i < SG_SA_TFC_BUCKETS && tfc[i] != 0 && used < len; i++) {
		if (tfc[i] == SG_SA_TFC_MTU)
			n = snprintf(buf + used, len - used, "%smtu", i ? " " : "");
		else
			n = snprintf(buf + used, len - used, "%s%u", i ? " " : "", tfc[i]);
		if (n < 0)
			break;
		used += (size_t)n;
	}
	return buf;
}

/*
 * Buckets for a window of win packets: sliding clears whole buckets, so the
 * partly used oldest bucket needs a slot of its own and the bitmap holds
 * win + 64 bits (RFC 6479 §2); a power of two lets the data path mask.
 */
static uint32_t
replay_buckets(uint32_t win)
{
	uint64_t n = ((uint64_t)win + SG_REPLAY_BUCKET_BITS - 1) / SG_REPLAY_BUCKET_BITS + 1;

	return RTE_MAX(rte_align32pow2((uint32_t)n), UINT32_C(2));
}

size_t
sg_replay_size(uint32_t win)
{
	return sizeof(struct sg_replay) + (size_t)replay_buckets(win) * sizeof(uint64_t);
}

void
sg_replay_init(struct sg_replay *rw, uint32_t win)
{
	memset(rw, 0, sg_replay_size(win));
	rw->win = win;
	rw->bucket_mask = replay_buckets(win) - 1;
}
