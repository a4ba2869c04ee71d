/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>

#include <rte_log.h>

#include "sg_common.h"

RTE_LOG_REGISTER(sg_logtype, shardgate, INFO);

int
sg_ct_memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *x = a;
	const uint8_t *y = b;
	uint64_t acc = 0, u, v;
	size_t i = 0;

	/* Eight bytes at a time, then the tail; no branch depends on the data. */
	for (; i + 8 <= n; i += 8) {
		__builtin_memcpy(&u, x + i, 8);
		__builtin_memcpy(&v, y + i, 8);
		acc |= u ^ v;
		__asm__ volatile("" : "+r"(acc));
	}
	for (; i < n; i++) {
		acc |= (uint64_t)(x[i] ^ y[i]);
		__asm__ volatile("" : "+r"(acc));
	}
	return acc != 0;
}

void
sg_wipe(void *p, size_t n)
{
	explicit_bzero(p, n);
}

int
sg_all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

static const char *const drop_names[SG_DROP_MAX] = {
	[SG_DROP_MALFORMED] = "malformed",
	[SG_DROP_NOT_IPV4] = "not_ipv4",
	[SG_DROP_FRAGMENT] = "fragment",
	[SG_DROP_NOT_FOR_US] = "not_for_us",
	[SG_DROP_ESP_SHORT] = "esp_short",
	[SG_DROP_UNKNOWN_SPI] = "unknown_spi",
	[SG_DROP_BAD_TUNNEL] = "bad_tunnel",
	[SG_DROP_REPLAY] = "replay",
	[SG_DROP_AUTH] = "auth",
	[SG_DROP_BAD_PAD] = "bad_pad",
	[SG_DROP_BAD_NEXT_HDR] = "bad_next_header",
	[SG_DROP_BAD_INNER] = "bad_inner",
	[SG_DROP_POLICY] = "policy",
	[SG_DROP_SP_DISCARD] = "sp_discard",
	[SG_DROP_NO_POLICY] = "no_policy",
	[SG_DROP_SEQ_OVERFLOW] = "seq_overflow",
	[SG_DROP_SEQ_RESERVE] = "seq_reserve",
	[SG_DROP_SA_EXPIRED] = "sa_expired",
	[SG_DROP_NO_ROUTE] = "no_route",
	[SG_DROP_MTU] = "mtu",
	[SG_DROP_NO_ROOM] = "no_room",
	[SG_DROP_CRYPTO] = "crypto",
	[SG_DROP_HANDOFF_FULL] = "handoff_full",
	[SG_DROP_TX_FULL] = "tx_full",
	[SG_DROP_PUNT_BAD] = "punt_bad",
	[SG_DROP_PUNT_RATE] = "punt_rate",
	[SG_DROP_PUNT_FULL] = "punt_full",
	[SG_DROP_NATT_KEEPALIVE] = "natt_keepalive",
	[SG_DROP_ENCAP] = "encap_mismatch",
	[SG_DROP_PUNT_TX_RATE] = "punt_tx_rate",
	[SG_DROP_TFC_DUMMY] = "tfc_dummy",
	[SG_DROP_FRAG_NEEDED] = "frag_needed",
	[SG_DROP_REASSEMBLY] = "reassembly",
	[SG_DROP_ESP_BLOCKS] = "esp_blocks",
};

const char *
sg_drop_name(enum sg_drop reason)
{
	if ((unsigned int)reason >= SG_DROP_MAX || drop_names[reason] == NULL)
		return "unknown";
	return drop_names[reason];
}
