/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>

#include <rte_mbuf.h>
#include <rte_udp.h>

#include "sg_crypto.h"
#include "sg_dp.h"
#include "sg_pkt.h"
#include "sg_sa.h"
#include "sg_spd.h"
#include "dp_priv.h"

/* Per-packet facts carried from the pre-crypto pass to the post pass. */
struct in_meta {
	struct sg_sa *sa;
	uint64_t seq;
	uint16_t esp_off; /* offset of the ESP header from the frame start */
	uint8_t moved;    /* UDP SA: from a new peer address or port */
};

/*
 * ESN SAs seen in the crypto batch being built, with the highest number
 * inferred for each. RFC 4303 A2.2 infers a packet's high half from the
 * window as the packets before it left it; within one batch the window has
 * not moved yet, so where an earlier packet of the batch could change the
 * answer, the batch is cut and finished first.
 */
struct esn_batch {
	uint16_t n;
	struct sg_sa *sa[SG_DP_BURST_MAX];
	uint64_t top[SG_DP_BURST_MAX];
};

/* Returns 0 when @p seq (inferred from the window) stands whatever the
 * batch's earlier packets do to the window, else -1: cut the batch here. */
static int
esn_batch_check(struct esn_batch *b, struct sg_sa *sa, uint32_t seq_lo, uint64_t seq)
{
	uint16_t i;

	for (i = 0; i < b->n && b->sa[i] != sa; i++)
		;
	if (i == b->n) {
		b->sa[b->n] = sa;
		b->top[b->n++] = RTE_MAX(seq, sa->replay->top);
		return 0;
	}
	/* The inference is monotonic in the top: equal at both ends of the
	 * range the window can reach means equal everywhere in it. */
	if (sg_replay_esn_infer_at(b->top[i], sa->replay->win, seq_lo) != seq)
		return -1;
	b->top[i] = RTE_MAX(b->top[i], seq);
	return 0;
}

/* RFC 6040 §4.2 decapsulation: a CE mark on the outer header survives into
 * an ECN-capable inner header. Not-ECT inner stays as it is. */
static inline void
ecn_decap(const struct rte_ipv4_hdr *outer, struct rte_ipv4_hdr *inner)
{
	uint8_t in_ecn = inner->type_of_service & SG_ECN_MASK;

	if ((outer->type_of_service & SG_ECN_MASK) != SG_ECN_CE || in_ecn == SG_ECN_NOT_ECT ||
			in_ecn == SG_ECN_CE)
		return;
	inner->type_of_service |= SG_ECN_CE;
	inner->hdr_checksum = 0;
	inner->hdr_checksum = rte_ipv4_cksum(inner);
}

/*
 * The outer checks of a UDP SA, or of ESP in UDP: the encapsulation must be
 * the SA's, to its local address and port. The peer's address and port may
 * have moved (a NAT rebinding, RFC 3948 §3.1.4 / RFC 7296 §2.23): noted,
 * acted on only once the packet proved authentic.
 */
static int
in_pre_udp(const struct rte_mbuf *m, const struct rte_ipv4_hdr *ip, const struct sg_sa *sa,
		struct in_meta *meta)
{
	const struct rte_udp_hdr *udp;

	if (!(sa->flags & SG_SA_F_UDP) || m->l4_len == 0)
		return SG_DROP_ENCAP;
	udp = rte_pktmbuf_mtod_offset(m, const struct rte_udp_hdr *, m->l2_len + m->l3_len);
	if (udp->dst_port != sa->udp_dport_be)
		return SG_DROP_ENCAP;
	if (ip->dst_addr != sa->tun_dst_be)
		return SG_DROP_BAD_TUNNEL;
	meta->moved = ip->src_addr != sa->tun_src_be || udp->src_port != sa->udp_sport_be;
	return SG_DROP_MAX;
}

/* An authentic packet from a new NAT mapping: the SA takes from there now;
 * the control core hears of it and moves the SAs to that peer. */
static void
peer_moved(struct sg_dp_lcore *lc, const struct rte_mbuf *m, struct sg_sa *sa)
{
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *,
			m->l2_len);
	const struct rte_udp_hdr *udp = (const struct rte_udp_hdr *)((const uint8_t *)ip +
			m->l3_len);
	struct sg_shard_event ev = {
		.type = SG_SHARD_EV_PEER_MOVED,
		.dir = SG_SA_IN,
		.shard = lc->shard->id,
		.spi = sg_sa_spi(sa),
		.tsc = rte_rdtsc(),
		.idx = sa->idx,
	};

	if (ip->src_addr == sa->tun_src_be && udp->src_port == sa->udp_sport_be)
		return; /* an earlier packet of the burst moved it already */
	ev.peer_be = ip->src_addr;
	ev.port_be = udp->src_port;
	ev.old_peer_be = sa->tun_src_be;
	ev.old_port_be = sa->udp_sport_be;
	sa->tun_src_be = ip->src_addr;
	sa->udp_sport_be = udp->src_port;
	lc->stats.natt_float++;
	if (sg_shard_post(lc->shard, &ev) != 0)
		lc->stats.events_lost++;
}

/* Decide the fate of one packet of this worker's shard before crypto; @p sa
 * is its inbound SA, as spi_lookup() found it. Returns SG_DROP_MAX to
 * decrypt, else the drop reason. */
#define IN_PRE_CUT SG_DROP_MAX + 1
static inline int
in_pre(struct sg_dp_lcore *lc, struct rte_mbuf *m, struct sg_sa *sa, struct in_meta *meta,
		struct sg_crypto_op *op, struct esn_batch *eb)
{
	const struct sg_crypto_xform *x = &sg_crypto_xforms[sa->xform];
	const struct rte_ipv4_hdr *ip;
	const struct rte_esp_hdr *esp;
	uint32_t esp_len;
	uint64_t seq;

	ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, m->l2_len);
	meta->moved = 0;
	if (unlikely((sa->flags & SG_SA_F_UDP) || m->l4_len != 0)) {
		int r = in_pre_udp(m, ip, sa, meta);

		if (r != SG_DROP_MAX)
			return r;
	} else if (unlikely(ip->dst_addr != sa->tun_dst_be || ip->src_addr != sa->tun_src_be) &&
			!(sa->mode == SG_SA_TRANSPORT4 && sa->tun_src_be == 0)) {
		/* a transport SA that names no hosts takes any (ipsec-secgw's) */
		return SG_DROP_BAD_TUNNEL;
	}
	if (unlikely(!dp_sa_live(lc, sa))) {
		sa->other_drop++;
		return SG_DROP_SA_EXPIRED;
	}
	meta->esp_off = (uint16_t)(m->l2_len + m->l3_len + m->l4_len);
	esp = rte_pktmbuf_mtod_offset(m, const struct rte_esp_hdr *, meta->esp_off);
	esp_len = m->pkt_len - meta->esp_off;
	/* The transform's own bounds, where the burst's check (the AEADs'
	 * SG_ESP_MIN_PAYLOAD) is not enough: AES-CBC needs a whole block and
	 * whole blocks (RFC 3602 §2.4). */
	if (unlikely(sa->flags & SG_SA_F_LEN_CHECK) &&
			((esp_len < x->min_len) | ((esp_len - x->overhead) & x->in_mask)))
		return esp_len < x->min_len ? SG_DROP_ESP_SHORT : SG_DROP_ESP_BLOCKS;
	seq = rte_be_to_cpu_32(esp->seq);
	if (sa->replay != NULL) {
		if (sa->flags & SG_SA_F_ESN) {
			uint32_t lo = (uint32_t)seq;

			seq = sg_replay_esn_infer(sa->replay, lo);
			if (esn_batch_check(eb, sa, lo, seq) != 0)
				return IN_PRE_CUT;
		}
		/* Cheap reject before spending crypto on it (RFC 4303 §3.4.3). */
		if (sg_replay_check(sa->replay, seq) != 0) {
			sa->replay_drop++;
			return SG_DROP_REPLAY;
		}
	}
	op->key = sa->key;
	op->data = (uint8_t *)esp + SG_ESP_HDR_LEN + x->iv_len;
	op->len = esp_len - x->overhead;
	op->icv = op->data + op->len;
	dp_op_nonce_aad(op, sa, esp + 1, seq);
	meta->sa = sa;
	meta->seq = seq;
	return SG_DROP_MAX;
}

/*
 * Transport mode (RFC 4303 §3.1.1): the IPv4 header the packet came with
 * moves up to the payload, takes the trailer's protocol number and the
 * shorter length, and the ESP header, IV, trailer and ICV are gone. The
 * outer header was checked on receipt; there is no inner one to check.
 */
static __rte_noinline enum sg_drop
in_post_transport(struct sg_dp_lcore *lc, struct rte_mbuf *m, const struct in_meta *meta,
		const struct sg_crypto_op *op, const struct rte_esp_tail *tail)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, m->l2_len), *nip;
	uint32_t ihl = m->l3_len, payload_len = op->len - SG_ESP_TRAILER_LEN - tail->pad_len;
	struct sg_sa *sa = meta->sa;
	uint8_t proto = tail->next_proto;

	if (unlikely(proto == SG_IPPROTO_NONE))
		return SG_DROP_TFC_DUMMY;
	nip = (struct rte_ipv4_hdr *)(op->data - ihl);
	memmove(nip, ip, ihl);
	nip->next_proto_id = proto;
	nip->total_length = rte_cpu_to_be_16((uint16_t)(ihl + payload_len));
	nip->hdr_checksum = 0;
	nip->hdr_checksum = rte_ipv4_cksum(nip);
	dp_sa_count(lc, sa, ihl + payload_len);
	rte_pktmbuf_adj(m, (uint16_t)((uint8_t *)nip - rte_pktmbuf_mtod(m, uint8_t *)));
	rte_pktmbuf_trim(m, (uint16_t)(m->pkt_len - ihl - payload_len));
	m->l2_len = 0;
	m->l3_len = (uint16_t)ihl;
	return SG_DROP_MAX;
}

/* After the ICV passed: window, trailer, inner header, strip. */
static inline enum sg_drop
in_post(struct sg_dp_lcore *lc, struct rte_mbuf *m, const struct in_meta *meta,
		const struct sg_crypto_op *op)
{
	struct sg_sa *sa = meta->sa;
	const struct rte_esp_tail *tail;
	struct rte_ipv4_hdr *inner;
	uint32_t inner_len;
	int ihl;

	if (unlikely(op->status != SG_CRYPTO_OK)) {
		if (op->status == SG_CRYPTO_AUTH_FAILED) {
			sa->auth_fail++;
			return SG_DROP_AUTH;
		}
		return SG_DROP_CRYPTO;
	}
	/* The window moves only for authentic packets (RFC 4303 §3.4.3). */
	if (sa->replay != NULL && sg_replay_update(sa->replay, meta->seq) != 0) {
		sa->replay_drop++;
		return SG_DROP_REPLAY;
	}
	/* Limits again, now that earlier packets of this burst were counted;
	 * only authentic packets use up an SA's byte and packet budget. */
	if (unlikely(!dp_sa_live(lc, sa))) {
		sa->other_drop++;
		return SG_DROP_SA_EXPIRED;
	}
	tail = (const struct rte_esp_tail *)(op->icv - SG_ESP_TRAILER_LEN);
	if (unlikely((uint32_t)tail->pad_len + SG_ESP_TRAILER_LEN > op->len ||
			!sg_esp_pad_ok(op->icv - SG_ESP_TRAILER_LEN - tail->pad_len, tail->pad_len))) {
		sa->other_drop++;
		return SG_DROP_BAD_PAD;
	}
	if (unlikely(sa->mode != SG_SA_TUNNEL4))
		return in_post_transport(lc, m, meta, op, tail);
	if (unlikely(tail->next_proto != SG_IPPROTO_IPIP)) {
		/* A dummy packet (traffic flow confidentiality) carries nothing:
		 * it has moved the window, and is dropped as the sender meant. */
		if (tail->next_proto == SG_IPPROTO_NONE)
			return SG_DROP_TFC_DUMMY;
		sa->other_drop++;
		return SG_DROP_BAD_NEXT_HDR;
	}
	inner_len = op->len - SG_ESP_TRAILER_LEN - tail->pad_len;
	inner = (struct rte_ipv4_hdr *)op->data;
	/* The inner header's total length may be shorter than what was sent:
	 * the rest is TFC padding (RFC 4303 §2.7), removed with the trailer. */
	ihl = sg_pkt_ipv4_check(inner, inner_len);
	if (unlikely(ihl < 0 && ihl != SG_PKT_FRAGMENT)) {
		sa->other_drop++;
		return SG_DROP_BAD_INNER;
	}
	inner_len = rte_be_to_cpu_16(inner->total_length);
	/* Only the newest packet may move the peer: an older one, replayed
	 * from elsewhere, would otherwise steer the tunnel away. */
	if (unlikely(meta->moved) && (sa->replay == NULL || meta->seq == sa->replay->top))
		peer_moved(lc, m, sa);
	ecn_decap(rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, m->l2_len), inner);
	/* Only authentic traffic counts, and keeps an SA from going idle. */
	dp_sa_count(lc, sa, inner_len);
	rte_pktmbuf_adj(m, (uint16_t)(op->data - rte_pktmbuf_mtod(m, uint8_t *)));
	rte_pktmbuf_trim(m, (uint16_t)(m->pkt_len - inner_len));
	m->l2_len = 0;
	m->l3_len = (uint16_t)(ihl > 0 ? (uint32_t)ihl : sizeof(*inner));
	return SG_DROP_MAX;
}

/*
 * SPIs this shard does not hold: ask the directory which shard does.
 * Marks idx[i] SG_SA_NONE (unknown) or HANDOFF with the owner in to[i].
 */
#define HANDOFF (SG_SA_NONE - 1)
static void
find_owners(struct sg_dp_lcore *lc, const uint32_t *spi_be, uint32_t *idx, uint16_t *to,
		uint16_t n)
{
	uint32_t miss_spi[SG_DP_BURST_MAX];
	uint16_t pos[SG_DP_BURST_MAX], owner[SG_DP_BURST_MAX];
	uint16_t i, nm = 0;

	for (i = 0; i < n; i++) {
		if (idx[i] == SG_SA_NONE) {
			miss_spi[nm] = spi_be[i];
			pos[nm++] = i;
		}
	}
	if (nm == 0)
		return;
	sg_shard_dir_lookup_bulk(lc->ctx->dir, miss_spi, nm, owner);
	for (i = 0; i < nm; i++) {
		if (owner[i] != SG_SHARD_NONE && owner[i] != lc->idx) {
			idx[pos[i]] = HANDOFF;
			to[pos[i]] = owner[i];
		}
	}
}

static inline uint32_t
spi_slot(uint32_t spi_be)
{
	/* Multiplicative hashing: SPIs are often sequential. */
	return (spi_be * UINT32_C(2654435761)) >> (32 - 10);
}

/*
 * SPI -> SA index and SA for this shard: the worker's small cache first (it
 * is checked against the SA's own SPI, so a deleted or reused slot is just
 * a miss), then one bulk rte_hash lookup for the misses. idx[i] is
 * SG_SA_NONE where no inbound SA has the SPI; sa[i] is set where it is not.
 */
static void
spi_lookup(struct sg_dp_lcore *lc, const uint32_t *spi_be, uint32_t *idx, struct sg_sa **sa_out,
		uint16_t n)
{
	const struct sg_sa_table *sat = lc->shard->sat;
	uint32_t miss_spi[SG_DP_BURST_MAX], miss_idx[SG_DP_BURST_MAX];
	uint16_t pos[SG_DP_BURST_MAX];
	uint16_t i, nm = 0;

	RTE_BUILD_BUG_ON(SG_DP_SPI_CACHE != 1 << 10);
	for (i = 0; i < n; i++) {
		uint32_t s = spi_slot(spi_be[i]);
		struct sg_sa *sa;

		if (lc->spi_cache[s].spi_be == spi_be[i]) {
			sa = sg_sa_table_get(sat, lc->spi_cache[s].idx);
			if (likely(sa != NULL && sa->spi_be == spi_be[i] && sa->dir == SG_SA_IN)) {
				idx[i] = lc->spi_cache[s].idx;
				sa_out[i] = sa;
				continue;
			}
		}
		miss_spi[nm] = spi_be[i];
		pos[nm++] = i;
	}
	if (nm == 0)
		return;
	sg_sa_table_lookup_in_bulk(sat, miss_spi, nm, miss_idx);
	for (i = 0; i < nm; i++) {
		struct sg_sa *sa = miss_idx[i] != SG_SA_NONE ? sg_sa_table_get(sat, miss_idx[i]) : NULL;

		if (unlikely(sa == NULL || sa->dir != SG_SA_IN))
			miss_idx[i] = SG_SA_NONE;
		idx[pos[i]] = miss_idx[i];
		sa_out[pos[i]] = sa;
		if (miss_idx[i] != SG_SA_NONE) {
			uint32_t s = spi_slot(miss_spi[i]);

			lc->spi_cache[s].spi_be = miss_spi[i];
			lc->spi_cache[s].idx = miss_idx[i];
		}
	}
}

uint16_t
dp_esp_inbound(struct sg_dp_lcore *lc, struct rte_mbuf *mb[], uint16_t n, uint32_t *sa_idx,
		uint16_t *nb_bad, int from_handoff)
{
	struct rte_mbuf *cand[SG_DP_BURST_MAX], *bad[SG_DP_BURST_MAX];
	struct rte_mbuf *cm[SG_DP_BURST_MAX];
	struct in_meta meta[SG_DP_BURST_MAX];
	struct sg_sa *sa[SG_DP_BURST_MAX];
	uint32_t spi_be[SG_DP_BURST_MAX], idx[SG_DP_BURST_MAX];
	uint16_t to[SG_DP_BURST_MAX];
	struct sg_crypto_op *ops = lc->ops;
	uint16_t i, nc = 0, nbad = 0, k = 0;
	uint64_t t = dp_stage_start(lc);
	enum sg_drop why;

	/* Pass 1: length check and SPI gather for one bulk lookup. */
	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = mb[i];
		const struct rte_esp_hdr *esp;

		dp_prefetch_ahead(mb, i, n);
		if (unlikely(m->pkt_len < m->l2_len + m->l3_len + m->l4_len + SG_ESP_MIN_PAYLOAD)) {
			dp_count_drop(lc, SG_DROP_ESP_SHORT);
			bad[nbad++] = m;
			continue;
		}
		esp = rte_pktmbuf_mtod_offset(m, const struct rte_esp_hdr *,
				m->l2_len + m->l3_len + m->l4_len);
		spi_be[nc] = esp->spi;
		cand[nc++] = m;
	}
	if (nc == 0)
		goto out;
	/* The common case: the NIC steered the SA's packets to its owner. */
	spi_lookup(lc, spi_be, idx, sa, nc);
	if (!from_handoff)
		find_owners(lc, spi_be, idx, to, nc);
	dp_stage(lc, SG_STAGE_LOOKUP, &t);

	/* Pass 2: SA checks, replay pre-check, crypto op set-up; then one
	 * ipsec-mb call for the batch. Only an ESN wrap inside the burst
	 * makes a second batch. */
	i = 0;
	while (i < nc) {
		struct esn_batch eb;
		uint16_t no = 0, j;
		int r;

		eb.n = 0;
		for (; i < nc; i++) {
			if (unlikely(idx[i] == SG_SA_NONE)) {
				dp_count_drop(lc, SG_DROP_UNKNOWN_SPI);
				bad[nbad++] = cand[i];
				continue;
			}
			if (idx[i] == HANDOFF) {
				dp_handoff(lc, cand[i], to[i], 0);
				continue;
			}
			r = in_pre(lc, cand[i], sa[i], &meta[no], &ops[no], &eb);
			if (unlikely(r == IN_PRE_CUT))
				break;
			if (r == SG_DROP_MAX) {
				cm[no++] = cand[i];
			} else {
				dp_count_drop(lc, (enum sg_drop)r);
				bad[nbad++] = cand[i];
			}
		}
		dp_stage(lc, SG_STAGE_ENCAP, &t);
		if (no > 0)
			sg_crypto_decrypt_burst(lc->mgr, ops, no);
		dp_stage(lc, SG_STAGE_CRYPTO, &t);
		for (j = 0; j < no; j++) {
			why = in_post(lc, cm[j], &meta[j], &ops[j]);
			if (likely(why == SG_DROP_MAX)) {
				sa_idx[k] = meta[j].sa->pol_tag;
				mb[k++] = cm[j];
			} else {
				dp_count_drop(lc, why);
				bad[nbad++] = cm[j];
			}
		}
		dp_stage(lc, SG_STAGE_ENCAP, &t);
	}
out:
	memcpy(&mb[k], bad, nbad * sizeof(bad[0]));
	*nb_bad = nbad;
	return k;
}

uint16_t
dp_policy_inbound(struct sg_dp_lcore *lc, struct rte_mbuf *mb[], const uint32_t *sa_idx,
		uint16_t n)
{
	struct sg_spd_key keys[SG_DP_BURST_MAX];
	const struct sg_spd_key *kp[SG_DP_BURST_MAX] = {NULL}; /* gcc 12 cannot see the fill loop */
	uint32_t verdict[SG_DP_BURST_MAX];
	uint8_t ok[SG_DP_BURST_MAX];
	struct rte_mbuf *bad[SG_DP_BURST_MAX];
	uint16_t i, k = 0, nbad = 0;
	uint64_t t;

	if (n == 0)
		return 0;
	t = dp_stage_start(lc);
	for (i = 0; i < n; i++) {
		const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(mb[i],
				const struct rte_ipv4_hdr *, mb[i]->l2_len);
		uint32_t l4 = ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_OFFSET_MASK) ?
				0 : mb[i]->pkt_len - mb[i]->l2_len - mb[i]->l3_len;

		sg_spd_key_ipv4(&keys[i], ip, mb[i]->l3_len, l4);
		kp[i] = &keys[i];
	}
	/* Decrypted: the policy must name its SA (by tag; a rekeyed SA keeps
	 * it), mostly answered from the SA's own rule. Plaintext: classify. */
	if (sa_idx != NULL)
		sg_spd_check_sa(lc->spd_in, kp, sa_idx, ok, n);
	else
		sg_spd_classify(lc->spd_in, kp, verdict, n);

	for (i = 0; i < n; i++) {
		enum sg_drop why = SG_DROP_MAX;

		if (sa_idx != NULL) {
			if (!ok[i])
				why = SG_DROP_POLICY;
		} else {
			enum sg_sp_action act = sg_spd_action(verdict[i]);

			if (act == SG_SP_DISCARD)
				why = SG_DROP_SP_DISCARD;
			else if (act == SG_SP_PROTECT)
				why = SG_DROP_POLICY; /* plaintext where protection is required */
			else if (act != SG_SP_BYPASS)
				why = SG_DROP_NOT_FOR_US;
		}
		if (likely(why == SG_DROP_MAX)) {
			mb[k++] = mb[i];
		} else {
			dp_count_drop(lc, why);
			bad[nbad++] = mb[i];
		}
	}
	if (sa_idx == NULL)
		lc->stats.bypass += k;
	dp_stage(lc, SG_STAGE_LOOKUP, &t);
	memcpy(&mb[k], bad, nbad * sizeof(bad[0]));
	return k;
}

/* What a UDP datagram to one of our ESP-in-UDP endpoints carries. */
enum natt_kind {
	NATT_NOT_OURS, /* no endpoint of ours: forwarded or punted as before */
	NATT_ESP,      /* ESP in UDP: m->l4_len covers the UDP header */
	NATT_IKE,      /* behind the non-ESP marker: IKE, for the host */
	NATT_DROP,     /* counted under *why */
};

/*
 * RFC 3948 §2: at an (address, port) an inbound UDP SA names, a datagram is
 * a NAT keepalive (one 0xFF byte), IKE (four zero bytes first) or ESP.
 * One load and a compare per packet while no UDP SA exists.
 */
static inline enum natt_kind
natt_sort(struct sg_dp_lcore *lc, struct rte_mbuf *m, const struct rte_ipv4_hdr *ip,
		enum sg_drop *why)
{
	const struct sg_dp_ctx *ctx = lc->ctx;
	uint32_t n = __atomic_load_n(&ctx->nb_udp_ep, __ATOMIC_ACQUIRE), i, len;
	const struct rte_udp_hdr *udp;
	const uint8_t *pl;
	uint64_t ep;

	if (likely(n == 0) || m->pkt_len < m->l2_len + m->l3_len + sizeof(*udp))
		return NATT_NOT_OURS;
	udp = rte_pktmbuf_mtod_offset(m, const struct rte_udp_hdr *, m->l2_len + m->l3_len);
	ep = SG_DP_UDP_EP(ip->dst_addr, udp->dst_port);
	for (i = 0; i < n; i++)
		if (__atomic_load_n(&ctx->udp_ep[i], __ATOMIC_RELAXED) == ep)
			break;
	if (i == n)
		return NATT_NOT_OURS;
	lc->stats.natt_rx++;
	len = m->pkt_len - m->l2_len - m->l3_len;
	if (unlikely(rte_be_to_cpu_16(udp->dgram_len) != len)) {
		*why = SG_DROP_MALFORMED;
		return NATT_DROP;
	}
	pl = (const uint8_t *)(udp + 1);
	len -= sizeof(*udp);
	if (len == 1 && pl[0] == 0xff) {
		*why = SG_DROP_NATT_KEEPALIVE;
		return NATT_DROP;
	}
	if (len >= 4 && (pl[0] | pl[1] | pl[2] | pl[3]) == 0)
		return NATT_IKE;
	if (unlikely(len < SG_ESP_MIN_PAYLOAD)) {
		*why = SG_DROP_ESP_SHORT;
		return NATT_DROP;
	}
	m->l4_len = sizeof(*udp);
	return NATT_ESP;
}

/* The port @p m came in on, if it has a slow path; NULL otherwise. */
static inline const struct sg_dp_port *
punt_port(const struct sg_dp_ctx *ctx, const struct rte_mbuf *m)
{
	if (m->port < RTE_MAX_ETHPORTS && ctx->port[m->port].punt)
		return &ctx->port[m->port];
	return NULL;
}

static inline int
is_fragment(const struct rte_ipv4_hdr *ip)
{
	return (ip->fragment_offset &
			rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) != 0;
}

/*
 * A frame the ESP path does not take, on a port with a slow path: where
 * the classifier sends it. Returns SG_DROP_MAX when it went to host[] or
 * polhost[] (or stays plaintext: *plain set), else the drop reason.
 */
static inline enum sg_drop
punt_sort(struct sg_dp_lcore *lc, struct rte_mbuf *m, const struct sg_dp_port *pp,
		enum sg_drop parsed, struct rte_mbuf **host, uint16_t *nh, struct rte_mbuf **polhost,
		uint16_t *npol, int *plain)
{
	const struct rte_ipv4_hdr *ip;

	*plain = 0;
	switch (sg_dp_punt_classify(rte_pktmbuf_mtod(m, const uint8_t *), m->data_len, pp)) {
	case SG_PUNT_YES:
		host[(*nh)++] = m;
		return SG_DROP_MAX;
	case SG_PUNT_POLICY:
		if (parsed != SG_DROP_MAX)
			return parsed;
		polhost[(*npol)++] = m;
		return SG_DROP_MAX;
	case SG_PUNT_BAD:
		lc->stats.punt_drop++;
		return SG_DROP_PUNT_BAD;
	default:
		break;
	}
	if (parsed != SG_DROP_MAX)
		return parsed;
	ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, m->l2_len);
	if (is_fragment(ip))
		return SG_DROP_FRAGMENT; /* only the host's own fragments are let in */
	*plain = 1;
	return SG_DROP_MAX;
}

/* Instantiated twice: packets from the wire, and packets handed to us. */
static __rte_always_inline void
inbound(struct sg_dp_lcore *lc, struct rte_mbuf *mb[], uint16_t n, int from_handoff)
{
	struct rte_mbuf *esp[SG_DP_BURST_MAX], *plain[SG_DP_BURST_MAX], *fwd[SG_DP_BURST_MAX];
	struct rte_mbuf *host[SG_DP_BURST_MAX], *polhost[SG_DP_BURST_MAX];
	uint32_t sa_idx[SG_DP_BURST_MAX];
	uint16_t i, ne = 0, np = 0, nh = 0, npol = 0, k, nbad, nf;
	uint64_t t = dp_stage_start(lc);
	enum sg_drop why;

	for (i = 0; i < n; i++) {
		const struct sg_dp_port *pp = NULL;
		const struct rte_ipv4_hdr *ip;
		enum natt_kind nk;
		int is_plain;

		dp_prefetch_ahead(mb, i, n);
		if (!from_handoff) {
			pp = punt_port(lc->ctx, mb[i]);
			/* With a slow path, the host's own fragments may go to the
			 * kernel; ESP's are put together first. */
			why = dp_parse_l3(mb[i], pp != NULL || lc->frag_tbl != NULL);
			if (unlikely(why != SG_DROP_MAX)) {
				if (pp != NULL && why == SG_DROP_NOT_IPV4)
					why = punt_sort(lc, mb[i], pp, why, host, &nh, polhost, &npol,
							&is_plain);
				if (why != SG_DROP_MAX) {
					dp_count_drop(lc, why);
					rte_pktmbuf_free(mb[i]);
				}
				continue;
			}
		}
		ip = rte_pktmbuf_mtod_offset(mb[i], const struct rte_ipv4_hdr *, mb[i]->l2_len);
		if (unlikely(is_fragment(ip)) && !from_handoff) {
			if (dp_reasm_wanted(lc, ip)) {
				mb[i] = dp_reasm(lc, mb[i]);
				if (mb[i] == NULL)
					continue; /* waits for the rest, or counted */
				ip = rte_pktmbuf_mtod_offset(mb[i], const struct rte_ipv4_hdr *,
						mb[i]->l2_len);
			} else if (pp == NULL) {
				dp_count_drop(lc, SG_DROP_FRAGMENT);
				rte_pktmbuf_free(mb[i]);
				continue;
			}
		}
		if ((ip->next_proto_id == SG_IPPROTO_ESP && (pp == NULL || !is_fragment(ip))) ||
				(from_handoff && mb[i]->l4_len != 0)) {
			esp[ne++] = mb[i]; /* handed over: ESP, or ESP in UDP (l4_len) */
		} else if (ip->next_proto_id == SG_IPPROTO_UDP && !from_handoff && !is_fragment(ip) &&
				(nk = natt_sort(lc, mb[i], ip, &why)) != NATT_NOT_OURS) {
			if (nk == NATT_ESP) {
				esp[ne++] = mb[i];
			} else if (nk == NATT_IKE && pp != NULL) {
				host[nh++] = mb[i];
			} else {
				dp_count_drop(lc, nk == NATT_IKE ? SG_DROP_NOT_FOR_US : why);
				rte_pktmbuf_free(mb[i]);
			}
		} else if (pp == NULL) {
			plain[np++] = mb[i];
		} else {
			why = punt_sort(lc, mb[i], pp, SG_DROP_MAX, host, &nh, polhost, &npol,
					&is_plain);
			if (unlikely(why != SG_DROP_MAX)) {
				dp_count_drop(lc, why);
				rte_pktmbuf_free(mb[i]);
			} else if (is_plain) {
				plain[np++] = mb[i];
			}
		}
	}
	dp_stage(lc, SG_STAGE_PARSE, &t);

	k = dp_esp_inbound(lc, esp, ne, sa_idx, &nbad, from_handoff);
	rte_pktmbuf_free_bulk(&esp[k], nbad);
	nf = dp_policy_inbound(lc, esp, sa_idx, k);
	rte_pktmbuf_free_bulk(&esp[nf], k - nf);
	lc->stats.inbound += nf; /* decrypted and let through by policy */
	memcpy(fwd, esp, nf * sizeof(fwd[0]));

	if (np > 0) {
		/* Plaintext on the unprotected side: strip L2 for the policy key. */
		for (i = 0; i < np; i++) {
			rte_pktmbuf_adj(plain[i], plain[i]->l2_len);
			plain[i]->l2_len = 0;
		}
		k = dp_policy_inbound(lc, plain, NULL, np);
		rte_pktmbuf_free_bulk(&plain[k], np - k);
		memcpy(&fwd[nf], plain, k * sizeof(fwd[0]));
		nf += k;
	}
	dp_route_tx(lc, fwd, nf);

	if (unlikely(npol > 0)) {
		/* To our address and neither IKE nor ICMP: the host's if bypass. */
		k = dp_policy_inbound(lc, polhost, NULL, npol);
		rte_pktmbuf_free_bulk(&polhost[k], npol - k);
		memcpy(&host[nh], polhost, k * sizeof(host[0]));
		nh += k;
	}
	if (unlikely(nh > 0))
		dp_punt(lc, host, nh);
}

void
sg_dp_process_inbound(struct sg_dp_lcore *lc, struct rte_mbuf *mb[], uint16_t n)
{
	while (n > 0) {
		uint16_t b = RTE_MIN(n, (uint16_t)SG_DP_BURST_MAX);

		inbound(lc, mb, b, 0);
		mb += b;
		n -= b;
	}
}

void
dp_inbound_handoff(struct sg_dp_lcore *lc, struct rte_mbuf *mb[], uint16_t n)
{
	inbound(lc, mb, n, 1);
}
