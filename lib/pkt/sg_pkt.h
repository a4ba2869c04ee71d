/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SG_PKT_H
#define SG_PKT_H

/**
 * @file
 * Wire formats and protocol constants, in one place (RFC 4303, RFC 4106,
 * RFC 791). Structs come from DPDK's rte_ether.h/rte_ip.h/rte_esp.h; this
 * header adds the constants and the few checks every path shares.
 */

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_esp.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_udp.h>

/** IP protocol numbers used by ESP tunnel mode (IANA). */
enum sg_ipproto {
	SG_IPPROTO_IPIP = 4,  /**< next header of an IPv4 inner packet */
	SG_IPPROTO_UDP = 17,
	SG_IPPROTO_IPV6 = 41, /**< next header of an IPv6 inner packet */
	SG_IPPROTO_ESP = 50,
	SG_IPPROTO_NONE = 59, /**< no next header: an ESP dummy packet (RFC 4303 §2.6) */
};

/** ESP sizes for AES-GCM (RFC 4106 §3, §6). */
enum sg_esp_size {
	SG_ESP_HDR_LEN = sizeof(struct rte_esp_hdr), /**< SPI + sequence */
	SG_ESP_IV_LEN = 8,                           /**< explicit IV */
	SG_ESP_ICV_LEN = 16,                         /**< full GCM tag */
	SG_ESP_TRAILER_LEN = sizeof(struct rte_esp_tail),
	SG_GCM_SALT_LEN = 4,  /**< implicit nonce part, from the key material */
	SG_GCM_NONCE_LEN = 12, /**< salt || IV */
	SG_ESP_ALIGN = 4,     /**< ICV must start 4-byte aligned (RFC 4303 §2.4) */
	SG_ESP_AAD_LEN = 8,   /**< SPI || seq */
	SG_ESP_AAD_ESN_LEN = 12, /**< SPI || seq_hi || seq_lo (RFC 4106 §5) */
};

/** Outer IPv4 + ESP header + IV, as added in front of the inner packet. */
#define SG_ESP4_OVERHEAD_HEAD                                                                      \
	(sizeof(struct rte_ipv4_hdr) + SG_ESP_HDR_LEN + SG_ESP_IV_LEN)

/** Smallest ESP payload we can decrypt: IV, trailer and ICV, no data. */
#define SG_ESP_MIN_PAYLOAD \
	((uint32_t)(SG_ESP_HDR_LEN + SG_ESP_IV_LEN + SG_ESP_TRAILER_LEN + SG_ESP_ICV_LEN))

/** Outer IPv4 TTL on encapsulation (RFC 4301 §5.1.2.1 leaves it to policy). */
#define SG_OUTER_TTL 64

/** IPv4 flag bits in fragment_offset (host order). */
#define SG_IPV4_MF RTE_IPV4_HDR_MF_FLAG
#define SG_IPV4_DF RTE_IPV4_HDR_DF_FLAG
#define SG_IPV4_FRAG_MASK (RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)

/* An IPv4 address in host order. DPDK 22.11's RTE_IPV4 shifts an int into
 * its sign bit for a first octet of 128 and up (undefined behaviour, which
 * UBSan reports); this one shifts unsigned. */
#define SG_IPV4(a, b, c, d) ((((uint32_t)(a) & 0xff) << 24) | (((uint32_t)(b) & 0xff) << 16) | \
		(((uint32_t)(c) & 0xff) << 8) | ((uint32_t)(d) & 0xff))

/** ECN codepoints (RFC 3168 §5). */
enum sg_ecn {
	SG_ECN_NOT_ECT = 0,
	SG_ECN_ECT1 = 1,
	SG_ECN_ECT0 = 2,
	SG_ECN_CE = 3,
	SG_ECN_MASK = 3,
};

/** Why an IPv4 header failed sg_pkt_ipv4_check(). */
enum sg_pkt_err {
	SG_PKT_OK = 0,
	SG_PKT_SHORT = -1,    /**< shorter than its header or total length */
	SG_PKT_BAD_HDR = -2,  /**< wrong version, IHL or total length */
	SG_PKT_FRAGMENT = -3, /**< MF set or a non-zero offset */
};

/**
 * Check an IPv4 header that starts @p avail bytes before the end of the data.
 * Options are allowed; the header checksum is not verified (the ICV covers
 * inner packets, and outer ones are looked up by SPI and then authenticated).
 *
 * @return header length in bytes (>= 20), or a negative enum sg_pkt_err.
 */
static inline int
sg_pkt_ipv4_check(const struct rte_ipv4_hdr *ip, uint32_t avail)
{
	uint32_t ihl, tot;

	if (avail < sizeof(*ip))
		return SG_PKT_SHORT;
	ihl = (uint32_t)(ip->version_ihl & RTE_IPV4_HDR_IHL_MASK) * RTE_IPV4_IHL_MULTIPLIER;
	tot = rte_be_to_cpu_16(ip->total_length);
	if ((ip->version_ihl >> 4) != 4 || ihl < sizeof(*ip) || tot < ihl)
		return SG_PKT_BAD_HDR;
	if (tot > avail)
		return SG_PKT_SHORT;
	if (ip->fragment_offset & rte_cpu_to_be_16(SG_IPV4_FRAG_MASK))
		return SG_PKT_FRAGMENT;
	return (int)ihl;
}

/** ESP padding needed so that payload + trailer ends 4-byte aligned. */
static inline uint32_t
sg_esp_pad_len(uint32_t payload_len)
{
	return (SG_ESP_ALIGN - ((payload_len + SG_ESP_TRAILER_LEN) % SG_ESP_ALIGN)) % SG_ESP_ALIGN;
}

/**
 * ESP padding needed so that payload + trailer ends aligned to @p mask + 1
 * (a power of two: 4, or a cipher's 16-byte block, RFC 4303 §2.4).
 */
static inline uint32_t
sg_esp_pad_len_mask(uint32_t payload_len, uint32_t mask)
{
	return (0U - (payload_len + SG_ESP_TRAILER_LEN)) & mask;
}

/**
 * Check RFC 4303 §2.4 default padding: bytes 1, 2, 3, ... pad_len.
 * @return true when the padding is the monotonic sequence.
 */
static inline bool
sg_esp_pad_ok(const uint8_t *pad, uint8_t pad_len)
{
	uint8_t bad = 0;
	uint8_t i;

	for (i = 0; i < pad_len; i++)
		bad |= pad[i] ^ (uint8_t)(i + 1);
	return bad == 0;
}

/** Write RFC 4303 §2.4 default padding. */
static inline void
sg_esp_pad_fill(uint8_t *pad, uint8_t pad_len)
{
	uint8_t i;

	for (i = 0; i < pad_len; i++)
		pad[i] = (uint8_t)(i + 1);
}

/**
 * Write an option-less IPv4 header (RFC 791) with its checksum. Fields in
 * network order where they are 16 or 32 bits wide. The checksum (RFC 1071,
 * summed in host-order words, which gives the same bytes) is taken from
 * the values in registers: reading a just-written header back, as
 * rte_ipv4_cksum() must, makes 2-byte loads over 1-byte stores that store
 * forwarding cannot serve.
 */
static inline void
sg_ipv4_hdr_write(struct rte_ipv4_hdr *h, uint8_t tos, rte_be16_t total_length,
		rte_be16_t packet_id, rte_be16_t fragment_offset, uint8_t ttl, uint8_t proto,
		rte_be32_t src, rte_be32_t dst)
{
	const uint8_t w0[2] = {RTE_IPV4_VHL_DEF, tos};
	const uint8_t w4[2] = {ttl, proto};
	uint16_t v0, v4;
	uint32_t sum;

	memcpy(&v0, w0, 2);
	memcpy(&v4, w4, 2);
	sum = (uint32_t)v0 + total_length + packet_id + fragment_offset + v4 + (src & 0xffff) +
		(src >> 16) + (dst & 0xffff) + (dst >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	h->version_ihl = RTE_IPV4_VHL_DEF;
	h->type_of_service = tos;
	h->total_length = total_length;
	h->packet_id = packet_id;
	h->fragment_offset = fragment_offset;
	h->time_to_live = ttl;
	h->next_proto_id = proto;
	h->hdr_checksum = (uint16_t)~sum;
	h->src_addr = src;
	h->dst_addr = dst;
}

#endif /* SG_PKT_H */
