/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SG_SPD_H
#define SG_SPD_H

/**
 * @file
 * Security policy database on rte_acl (RFC 4301 §4.4.1). One SPD per
 * direction; it is built on the control core and read by every worker.
 * A lookup matches the highest-priority rule over source and destination
 * prefixes, protocol and port ranges, and yields a verdict: protect with an
 * SA, bypass, or discard.
 */

#include <stdint.h>

#include <rte_byteorder.h>
#include <rte_ip.h>

/** Policy actions. 0 is reserved for "no rule matched". */
enum sg_sp_action {
	SG_SP_NONE = 0,
	SG_SP_PROTECT = 1,
	SG_SP_BYPASS = 2,
	SG_SP_DISCARD = 3,
};

/** Checked parameters of one policy rule. Addresses in host byte order. */
struct sg_sp_rule {
	uint32_t priority; /**< higher wins, as in ipsec-secgw's "pri"; ties: earlier rule */
	enum sg_sp_action action;
	uint32_t sa_idx;   /**< protect: index in the SA table; ignored otherwise */
	uint32_t src;
	uint32_t dst;
	uint8_t src_depth; /**< prefix length 0..32 */
	uint8_t dst_depth;
	uint8_t proto;      /**< IP protocol, when proto_mask is 0xff */
	uint8_t proto_mask; /**< 0: any protocol */
	uint16_t sport_lo, sport_hi;
	uint16_t dport_lo, dport_hi;
};

/**
 * The 5-tuple a lookup reads, gathered from each packet so that IP options
 * and port-less protocols need no special case. Network byte order.
 * Layout follows rte_acl's rule: a 1-byte first field, then 4-byte groups.
 */
struct sg_spd_key {
	uint8_t proto;
	uint8_t pad[3];
	uint32_t src;
	uint32_t dst;
	uint16_t sport; /**< 0 for protocols without ports */
	uint16_t dport;
};

/**
 * Fill @p k from an IPv4 header of @p ihl bytes followed by @p l4_avail
 * payload bytes. Pass 0 for a non-initial fragment: its first bytes are not
 * ports (RFC 4301 §7).
 */
static inline void
sg_spd_key_ipv4(struct sg_spd_key *k, const struct rte_ipv4_hdr *ip, uint32_t ihl,
		uint32_t l4_avail)
{
	const uint16_t *ports = (const uint16_t *)((const uint8_t *)ip + ihl);

	k->proto = ip->next_proto_id;
	k->pad[0] = k->pad[1] = k->pad[2] = 0;
	k->src = ip->src_addr;
	k->dst = ip->dst_addr;
	/* TCP, UDP and SCTP share the port layout (RFC 793/768/4960). */
	if ((k->proto == 6 || k->proto == 17 || k->proto == 132) && l4_avail >= 4) {
		k->sport = ports[0];
		k->dport = ports[1];
	} else {
		k->sport = 0;
		k->dport = 0;
	}
}

/** Verdict bits: action in the top 4 bits, SA index below. */
#define SG_SPD_SA_BITS 28
#define SG_SPD_SA_MASK ((UINT32_C(1) << SG_SPD_SA_BITS) - 1)

static inline enum sg_sp_action
sg_spd_action(uint32_t verdict)
{
	return (enum sg_sp_action)(verdict >> SG_SPD_SA_BITS);
}

static inline uint32_t
sg_spd_sa(uint32_t verdict)
{
	return verdict & SG_SPD_SA_MASK;
}

struct sg_spd;

/**
 * Build an SPD from @p n rules (n may be 0: nothing matches).
 * @return the SPD, or NULL with rte_errno set (EINVAL for a bad rule,
 *         ENOMEM when rte_acl cannot allocate or build).
 */
struct sg_spd *sg_spd_create(const char *name, int socket, const struct sg_sp_rule *rules,
		uint32_t n);

/** sg_spd_create_flags(): prepare sg_spd_check_sa() (an inbound SPD). */
#define SG_SPD_F_SA_CHECK 1u

/**
 * sg_spd_create() with @p flags. With SG_SPD_F_SA_CHECK the build also
 * works out, for each SA a protect rule names, whether that rule alone
 * decides which packets the SA may carry: it is the only rule naming the
 * SA and no rule that outranks it overlaps it. Those SAs are then checked
 * by sg_spd_check_sa() against the rule's selector, without rte_acl.
 * The analysis gives up (everything goes through rte_acl, still correct)
 * on rule sets whose overlaps would make it slow to build. The table is
 * direct-mapped by SA number, at most half full: two SAs that land in one
 * slot are both left to rte_acl, so its size follows the rule count, not
 * how large SA numbers have grown.
 */
struct sg_spd *sg_spd_create_flags(const char *name, int socket, const struct sg_sp_rule *rules,
		uint32_t n, unsigned int flags);

/**
 * Inbound policy check (RFC 4301 §5.2) for @p n decrypted packets:
 * ok[i] = 1 when classifying keys[i] gives "protect with SA sa[i]", else 0.
 * Same answer as sg_spd_classify(); SAs whose own rule decides (see
 * sg_spd_create_flags()) are answered from that rule, the rest with one
 * rte_acl call per 64 keys.
 */
void sg_spd_check_sa(const struct sg_spd *spd, const struct sg_spd_key *const keys[],
		const uint32_t *sa, uint8_t *ok, uint32_t n);

/** SAs sg_spd_check_sa() answers without rte_acl (0 without SG_SPD_F_SA_CHECK). */
uint32_t sg_spd_sa_exact_count(const struct sg_spd *spd);

/** Free an SPD. NULL is a no-op. */
void sg_spd_free(struct sg_spd *spd);

/** Number of rules. */
uint32_t sg_spd_count(const struct sg_spd *spd);

/**
 * Classify @p n keys in one rte_acl call; verdict[i] is 0 (no rule) or a
 * value for sg_spd_action()/sg_spd_sa().
 */
void sg_spd_classify(const struct sg_spd *spd, const struct sg_spd_key *const keys[],
		uint32_t *verdict, uint32_t n);

#endif /* SG_SPD_H */
