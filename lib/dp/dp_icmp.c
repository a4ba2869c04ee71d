/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>

#include <rte_cycles.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "sg_dp.h"
#include "sg_pkt.h"
#include "dp_priv.h"

/* RFC 1812 §4.3.2.3: an ICMP error quotes as much of the packet as keeps it
 * within 576 bytes. */
#define ICMP_ERR_MAX 576
#define ICMP_HDR_LEN ((uint16_t)sizeof(struct rte_icmp_hdr))
/* DSCP CS6, network control, as Linux sends its ICMP errors. */
#define ICMP_TOS 0xc0
#define ICMP_TTL 64
/* ICMP types (RFC 792; rte_icmp.h names only the echo ones in DPDK 22.11). */
#define ICMP_DEST_UNREACH 3
#define ICMP_SOURCE_QUENCH 4
#define ICMP_REDIRECT 5
#define ICMP_TIME_EXCEEDED 11
#define ICMP_PARAMETER_PROBLEM 12
#define ICMP_FRAG_NEEDED 4 /* code of ICMP_DEST_UNREACH: fragmentation needed and DF set */

/* Whether the packet is an ICMP error (or too short to say it is not). */
static bool
icmp_is_error(const struct rte_ipv4_hdr *ip, uint32_t len)
{
	uint32_t ihl = rte_ipv4_hdr_len(ip);
	uint8_t type;

	if (ip->next_proto_id != IPPROTO_ICMP)
		return false;
	if (len < ihl + 1)
		return true; /* too short to tell: stay quiet */
	type = ((const uint8_t *)ip)[ihl];
	return type == ICMP_DEST_UNREACH || type == ICMP_SOURCE_QUENCH || type == ICMP_REDIRECT ||
			type == ICMP_TIME_EXCEEDED || type == ICMP_PARAMETER_PROBLEM;
}

/* RFC 1122 §3.2.2: never about ICMP errors, later fragments, or packets
 * whose source names no single host. */
static bool
may_answer(const struct rte_ipv4_hdr *ip, uint32_t len)
{
	uint32_t src = rte_be_to_cpu_32(ip->src_addr);

	if (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_OFFSET_MASK))
		return false;
	if (src == 0 || src == UINT32_MAX || (src >> 28) == 0xe || (src >> 24) == 127)
		return false;
	return !icmp_is_error(ip, len);
}

struct rte_mbuf *
dp_icmp_frag_needed(struct sg_dp_lcore *lc, const struct rte_mbuf *m, rte_be32_t src_be,
		uint16_t mtu)
{
	const struct rte_ipv4_hdr *in = rte_pktmbuf_mtod(m, const struct rte_ipv4_hdr *);
	uint32_t quote = RTE_MIN(m->pkt_len, (uint32_t)(ICMP_ERR_MAX - sizeof(*in) - ICMP_HDR_LEN));
	uint16_t total = (uint16_t)(sizeof(*in) + ICMP_HDR_LEN + quote);
	struct rte_icmp_hdr *icmp;
	struct rte_ipv4_hdr *ip;
	struct rte_mbuf *n;
	uint16_t mtu_be;

	if (!may_answer(in, m->pkt_len))
		return NULL;
	if (!sg_dp_tb_take(&lc->icmp_tb, rte_rdtsc())) {
		lc->stats.icmp_limited++;
		return NULL;
	}
	n = rte_pktmbuf_alloc(m->pool);
	if (n == NULL)
		return NULL;
	ip = (struct rte_ipv4_hdr *)rte_pktmbuf_append(n, total);
	if (ip == NULL) {
		rte_pktmbuf_free(n);
		return NULL;
	}
	sg_ipv4_hdr_write(ip, ICMP_TOS, rte_cpu_to_be_16(total), rte_cpu_to_be_16(lc->ip_id++), 0,
			ICMP_TTL, IPPROTO_ICMP, src_be, in->src_addr);
	icmp = (struct rte_icmp_hdr *)(ip + 1);
	icmp->icmp_type = ICMP_DEST_UNREACH;
	icmp->icmp_code = ICMP_FRAG_NEEDED;
	icmp->icmp_cksum = 0;
	/* RFC 1191 §4: the unused half of the second word carries the MTU. */
	icmp->icmp_ident = 0;
	mtu_be = rte_cpu_to_be_16(mtu);
	memcpy(&icmp->icmp_seq_nb, &mtu_be, sizeof(mtu_be));
	memcpy(icmp + 1, in, quote);
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, ICMP_HDR_LEN + quote);
	n->l2_len = 0;
	n->l3_len = sizeof(*ip);
	n->port = m->port;
	lc->stats.icmp_tx++;
	lc->stats.tx_made++;
	return n;
}
