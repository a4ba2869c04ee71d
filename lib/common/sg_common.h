/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SG_COMMON_H
#define SG_COMMON_H

/**
 * @file
 * Small helpers every module uses: constant-time compare, secret wiping,
 * the log type and the drop reasons every counter is indexed by.
 */

#include <stddef.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_log.h>

/** Log type of the whole application ("shardgate"). */
extern int sg_logtype;

#define SG_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, sg_logtype, "shardgate: " fmt "\n", ##__VA_ARGS__)

/**
 * Compare two buffers in time that depends only on @p n.
 * @return 0 when equal, non-zero otherwise.
 */
int sg_ct_memcmp(const void *a, const void *b, size_t n);

/**
 * Compare two 16-byte values (an ICV) in constant time, per packet: two
 * 64-bit XORs, no branch on the data. The empty asm keeps the compiler from
 * turning the OR into an early exit.
 * @return 0 when equal, non-zero otherwise.
 */
static inline uint64_t
sg_ct_neq16(const void *a, const void *b)
{
	uint64_t a0, a1, b0, b1, d;

	__builtin_memcpy(&a0, a, 8);
	__builtin_memcpy(&a1, (const uint8_t *)a + 8, 8);
	__builtin_memcpy(&b0, b, 8);
	__builtin_memcpy(&b1, (const uint8_t *)b + 8, 8);
	d = (a0 ^ b0) | (a1 ^ b1);
	__asm__ volatile("" : "+r"(d));
	return d;
}

/**
 * Compare two ICVs of @p len bytes (a multiple of 4, at most 32: 12, 16, 24
 * or 32 in ESP) in constant time: 64-bit XORs ORed together, with no branch
 * on the data; the loop's only branches are on the length, which is public.
 * @return 0 when equal, non-zero otherwise.
 */
static inline uint64_t
sg_ct_neq(const void *a, const void *b, unsigned int len)
{
	const uint8_t *x = (const uint8_t *)a, *y = (const uint8_t *)b;
	uint64_t d = 0, u, v;
	uint32_t p, q;
	unsigned int i;

	for (i = 0; i + 8 <= len; i += 8) {
		__builtin_memcpy(&u, x + i, 8);
		__builtin_memcpy(&v, y + i, 8);
		d |= u ^ v;
	}
	if (len & 4) {
		__builtin_memcpy(&p, x + i, 4);
		__builtin_memcpy(&q, y + i, 4);
		d |= p ^ q;
	}
	__asm__ volatile("" : "+r"(d));
	return d;
}

/** Overwrite @p n bytes of secret material so the compiler cannot elide it. */
void sg_wipe(void *p, size_t n);

/** Whether all @p n bytes at @p p are zero (a wiped key, an unused record). */
int sg_all_zero(const void *p, size_t n);

/**
 * Why a packet was dropped. Every drop on the data path is counted under
 * exactly one of these; telemetry names them with sg_drop_name().
 */
enum sg_drop {
	SG_DROP_MALFORMED,      /**< truncated or inconsistent L2/L3 headers */
	SG_DROP_NOT_IPV4,       /**< an ethertype we do not route */
	SG_DROP_FRAGMENT,       /**< outer IP fragment (no reassembly) */
	SG_DROP_NOT_FOR_US,     /**< plaintext on the unprotected side, no bypass */
	SG_DROP_ESP_SHORT,      /**< ESP too short for header, IV, trailer and ICV */
	SG_DROP_UNKNOWN_SPI,    /**< no inbound SA for this SPI */
	SG_DROP_BAD_TUNNEL,     /**< outer addresses do not match the SA */
	SG_DROP_REPLAY,         /**< outside or seen in the replay window */
	SG_DROP_AUTH,           /**< ICV check failed */
	SG_DROP_BAD_PAD,        /**< pad length or padding bytes wrong */
	SG_DROP_BAD_NEXT_HDR,   /**< next header is not the inner IP version */
	SG_DROP_BAD_INNER,      /**< decrypted inner packet is malformed */
	SG_DROP_POLICY,         /**< inbound policy check failed after decrypt */
	SG_DROP_SP_DISCARD,     /**< matched a discard policy */
	SG_DROP_NO_POLICY,      /**< outbound packet matched no policy */
	SG_DROP_SEQ_OVERFLOW,   /**< SA sequence number would cycle (RFC 4303 3.3.3) */
	SG_DROP_SEQ_RESERVE,    /**< the SA's persisted sequence numbers are used up */
	SG_DROP_SA_EXPIRED,     /**< SA hard lifetime reached */
	SG_DROP_NO_ROUTE,       /**< no route or no neighbour for the destination */
	SG_DROP_MTU,            /**< encapsulated packet exceeds the port MTU */
	SG_DROP_NO_ROOM,        /**< no head- or tailroom, or a chained mbuf */
	SG_DROP_CRYPTO,         /**< ipsec-mb refused the job */
	SG_DROP_HANDOFF_FULL,   /**< handoff ring to the owning worker was full */
	SG_DROP_TX_FULL,        /**< tx queue did not take the packet */
	SG_DROP_PUNT_BAD,       /**< for the host (slow path) but truncated or malformed */
	SG_DROP_PUNT_RATE,      /**< for the host, over the port's punt rate */
	SG_DROP_PUNT_FULL,      /**< a ring or queue to or from the kernel interface was full */
	SG_DROP_NATT_KEEPALIVE, /**< a NAT keepalive (RFC 3948 §2.3): counted, not an error */
	SG_DROP_ENCAP,          /**< ESP in UDP for a plain SA, plain ESP for a UDP one, or
	                         *   the wrong local UDP port */
	SG_DROP_PUNT_TX_RATE,   /**< sent by the kernel interface, over the port's punt rate */
	SG_DROP_TFC_DUMMY,      /**< an authentic dummy packet, next header 59 (RFC 4303
	                         *   §2.6): counted, not an error */
	SG_DROP_FRAG_NEEDED,    /**< outbound, DF set and too big once in ESP: the sender
	                         *   gets ICMP "fragmentation needed" (RFC 1191) */
	SG_DROP_REASSEMBLY,     /**< an ESP fragment that made no packet: timed out,
	                         *   overlapping, table full, or too big for one mbuf */
	SG_DROP_ESP_BLOCKS,     /**< AES-CBC ciphertext that is not whole blocks */
	SG_DROP_MAX
};

/** Stable, telemetry-friendly name of a drop reason. */
const char *sg_drop_name(enum sg_drop reason);

#endif /* SG_COMMON_H */
