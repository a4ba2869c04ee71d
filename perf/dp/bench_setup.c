/* SPDX-License-Identifier: BSD-3-Clause */
/* sg_bench_dp: gateway A's sessions, policies, routes and ports, and its frames. */
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "sg_pkt.h"
#include "sg_sa.h"
#include "dp_priv.h"
#include "bench.h"

struct rte_mempool *pool;
struct sg_dp_ctx *ctx;
struct sg_shard *shard, *peer_shard;
struct sg_shard_dir *sdir;
struct sg_dp_lcore *lc, *peer_lc;
struct sg_spd *spd_in, *spd_out;
uint32_t *out_gidx, *peer_gidx, *in_idx;
volatile uint64_t sink;

static uint64_t rng = 0x9e3779b97f4a7c15;

uint64_t
rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * UINT64_C(2685821657736338717);
}

/* Plaintext frame sizes (FCS included) of @p tag for packet k. */
uint16_t
frame_size(const char *tag, uint32_t k)
{
	static const uint16_t imix[IMIX_PERIOD] = {64, 570, 64, 64, 570, 64, 1420, 64, 570, 64,
		64, 570};

	if (strcmp(tag, "imix") == 0)
		return imix[k % IMIX_PERIOD];
	return (uint16_t)atoi(tag);
}

int
size_ok(const char *tag)
{
	int v;

	if (strcmp(tag, "imix") == 0)
		return 1;
	v = atoi(tag);
	return v >= 64 && v <= 1420;
}

/* Bytes the cipher covers for a plaintext frame of @p fs (FCS included):
 * the inner packet padded to the transform's alignment, and the trailer. */
uint32_t
crypto_len_of(uint16_t fs, const struct opts *o)
{
	const struct sg_crypto_xform *x =
			&sg_crypto_xforms[sg_crypto_xform_id(o->aead, o->auth)];
	uint32_t inner = fs - FCS_LEN - RTE_ETHER_HDR_LEN;

	return inner + sg_esp_pad_len_mask(inner, x->pad_mask) + SG_ESP_TRAILER_LEN;
}

static void
put_ipv4_udp(uint8_t *p, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
		uint16_t ip_len, uint16_t id)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)p;
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	uint16_t k;

	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16(ip_len);
	ip->packet_id = rte_cpu_to_be_16(id);
	ip->time_to_live = 64;
	ip->next_proto_id = SG_IPPROTO_UDP;
	ip->src_addr = rte_cpu_to_be_32(src);
	ip->dst_addr = rte_cpu_to_be_32(dst);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp->src_port = rte_cpu_to_be_16(sport);
	udp->dst_port = rte_cpu_to_be_16(dport);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(ip_len - sizeof(*ip)));
	udp->dgram_cksum = 0;
	for (k = sizeof(*ip) + sizeof(*udp); k < ip_len; k++)
		p[k] = (uint8_t)(id + k);
}

static void
put_eth(uint8_t *p, uint16_t port)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)p;

	memset(eth, 0, sizeof(*eth));
	eth->dst_addr.addr_bytes[0] = 0x02;
	eth->dst_addr.addr_bytes[5] = (uint8_t)port;
	eth->src_addr.addr_bytes[0] = 0x02;
	eth->src_addr.addr_bytes[4] = 0xbb;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
}

/* Session of packet k: every session in turn, in a fixed shuffled order. */
static uint32_t *
session_order(uint32_t packets, uint32_t sessions)
{
	uint32_t *o = malloc(packets * sizeof(*o));
	uint32_t k, j, t;

	if (o == NULL)
		rte_exit(EXIT_FAILURE, "out of memory\n");
	for (k = 0; k < packets; k++)
		o[k] = k % sessions;
	for (k = packets - 1; k > 0; k--) {
		j = (uint32_t)(rnd() % (k + 1));
		t = o[k];
		o[k] = o[j];
		o[j] = t;
	}
	return o;
}

/*
 * The frames one direction's gateway receives: plaintext site A -> site B
 * for "out"; for "in", ESP from each peer, made by shardgate's own encap on
 * the peer's SAs (the unit and integration suites check that encap against
 * Scapy; here it only has to be decryptable).
 */
void
make_frames(struct frames *f, const char *tag, enum dir d, const struct opts *o)
{
	uint32_t *order = session_order(o->packets, o->sessions);
	uint32_t k;

	f->n = o->packets;
	f->len = calloc(f->n, sizeof(*f->len));
	f->crypto_len = calloc(f->n, sizeof(*f->crypto_len));
	f->session = calloc(f->n, sizeof(*f->session));
	f->data = rte_malloc("frames", (size_t)f->n * SLOT, RTE_CACHE_LINE_SIZE);
	if (f->len == NULL || f->crypto_len == NULL || f->session == NULL || f->data == NULL)
		rte_exit(EXIT_FAILURE, "out of memory for %u frames\n", f->n);
	for (k = 0; k < f->n; k++) {
		uint32_t i = order[k], flow = k;
		uint16_t fs = frame_size(tag, k);
		uint16_t ip_len = (uint16_t)(fs - FCS_LEN - RTE_ETHER_HDR_LEN);
		uint8_t *slot = f->data + (size_t)k * SLOT;

		f->crypto_len[k] = crypto_len_of(fs, o);
		f->session[k] = i;
		if (d == DIR_OUT) {
			put_eth(slot, PORT_PROT);
			put_ipv4_udp(slot + RTE_ETHER_HDR_LEN, SITE_A + 1 + flow % 65000,
					SITE_B(i) + 1 + flow % 254, (uint16_t)(1024 + flow % 60000),
					5001, ip_len, (uint16_t)k);
			f->len[k] = (uint16_t)(fs - FCS_LEN);
		} else {
			struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
			uint32_t gidx = peer_gidx[i];
			uint16_t nbad, ok;
			uint8_t *p;

			if (m == NULL)
				rte_exit(EXIT_FAILURE, "mbuf pool empty\n");
			p = (uint8_t *)rte_pktmbuf_append(m, ip_len);
			if (p == NULL)
				rte_exit(EXIT_FAILURE, "frame of %u bytes does not fit\n", ip_len);
			put_ipv4_udp(p, SITE_B(i) + 1 + flow % 254, SITE_A + 1 + flow % 65000, 5001,
					(uint16_t)(1024 + flow % 60000), ip_len, (uint16_t)k);
			m->l2_len = 0;
			m->l3_len = sizeof(struct rte_ipv4_hdr);
			ok = dp_esp_outbound(peer_lc, &m, &gidx, 1, &nbad, 0);
			if (ok != 1)
				rte_exit(EXIT_FAILURE, "peer encap failed\n");
			put_eth(slot, PORT_UNPROT);
			memcpy(slot + RTE_ETHER_HDR_LEN, rte_pktmbuf_mtod(m, void *), m->pkt_len);
			f->len[k] = (uint16_t)(RTE_ETHER_HDR_LEN + m->pkt_len);
			rte_pktmbuf_free(m);
		}
	}
	free(order);
}

void
free_frames(struct frames *f)
{
	free(f->len);
	free(f->crypto_len);
	free(f->session);
	rte_free(f->data);
	memset(f, 0, sizeof(*f));
}

static uint16_t
null_port(const char *name)
{
	struct rte_eth_conf conf = {0};
	uint16_t port;

	/* EAL hot-plug: no link to the vdev bus library needed. */
	if (rte_eal_hotplug_add("vdev", name, "no-rx=1") != 0 ||
			rte_eth_dev_get_port_by_name(name, &port) != 0)
		rte_exit(EXIT_FAILURE, "cannot create %s\n", name);
	if (rte_eth_dev_configure(port, 1, 1, &conf) != 0 ||
			rte_eth_rx_queue_setup(port, 0, 512, 0, NULL, pool) != 0 ||
			rte_eth_tx_queue_setup(port, 0, 512, 0, NULL) != 0 ||
			rte_eth_dev_start(port) != 0)
		rte_exit(EXIT_FAILURE, "cannot start %s\n", name);
	return port;
}

static void
set_port(uint16_t port, int unprotected)
{
	struct sg_dp_port *p = &ctx->port[port];

	rte_eth_macaddr_get(port, &p->src_mac);
	p->dst_mac.addr_bytes[0] = 0x02;
	p->dst_mac.addr_bytes[5] = (uint8_t)(0x10 + port);
	p->mtu = 1500;
	p->enabled = 1;
	p->has_neigh = 1;
	p->unprotected = (uint8_t)unprotected;
}

static void
add_route(uint32_t dst, uint8_t depth, uint16_t port)
{
	struct sg_route_prm r = {.dst = dst, .depth = depth, .port = port};

	if (sg_dp_route_add(ctx, &r) != 0)
		rte_exit(EXIT_FAILURE, "route add failed\n");
}

/* An SA of the run's transform; @p key holds its key, salt and HMAC key. */
static int
add_sa(struct sg_shard *s, IMB_MGR *mgr, const struct opts *o, enum sg_sa_dir dir, uint32_t spi,
		const uint8_t *key, uint32_t src, uint32_t dst, bool esn)
{
	unsigned int kl = sg_crypto_key_len(o->aead);
	struct sg_sa_prm p;
	int idx;

	memset(&p, 0, sizeof(p));
	p.spi = spi;
	p.dir = dir;
	p.mode = SG_SA_TUNNEL4;
	p.cipher = o->aead;
	p.key_len = (uint8_t)kl;
	memcpy(p.key, key, kl);
	if (sg_crypto_has_salt(o->aead))
		memcpy(p.salt, key + kl, SG_CRYPTO_SALT_LEN);
	p.auth = o->auth;
	p.auth_key_len = (uint8_t)sg_crypto_auth_key_len(o->auth);
	memcpy(p.auth_key, key + kl + SG_CRYPTO_SALT_LEN, p.auth_key_len);
	p.tun_src = src;
	p.tun_dst = dst;
	p.replay_win = 0; /* the same ESP frames are decrypted again and again (-w 0) */
	p.esn = esn;
	idx = sg_sa_table_add(s->sat, &p, mgr, (uint16_t)rte_lcore_id(), 0);
	sg_sa_prm_wipe(&p);
	if (idx < 0)
		rte_exit(EXIT_FAILURE, "SA %u: %s\n", spi, strerror(-idx));
	return idx;
}

/* Gateway A's sessions, policies and routes, as perf/tools/gen_traffic.py writes them. */
void
setup(const struct opts *o)
{
	struct sg_sp_rule *rin, *rout;
	uint16_t p0, p1;
	uint32_t i;

	pool = rte_pktmbuf_pool_create("sgb_pool", NB_MBUFS, MBUF_CACHE, 0,
			RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	ctx = sg_dp_ctx_create((int)rte_socket_id(), 64);
	shard = sg_shard_create(0, 2 * o->sessions, (int)rte_socket_id());
	peer_shard = sg_shard_create(1, o->sessions, (int)rte_socket_id());
	sdir = sg_shard_dir_create("sgb_dir", o->sessions, (int)rte_socket_id());
	lc = rte_zmalloc("sgb_lc", sizeof(*lc), RTE_CACHE_LINE_SIZE);
	peer_lc = rte_zmalloc("sgb_peer", sizeof(*peer_lc), RTE_CACHE_LINE_SIZE);
	out_gidx = calloc(o->sessions, sizeof(*out_gidx));
	peer_gidx = calloc(o->sessions, sizeof(*peer_gidx));
	in_idx = calloc(o->sessions, sizeof(*in_idx));
	rin = calloc(o->sessions, sizeof(*rin));
	rout = calloc(o->sessions, sizeof(*rout));
	if (pool == NULL || ctx == NULL || shard == NULL || peer_shard == NULL || sdir == NULL ||
			lc == NULL || peer_lc == NULL || out_gidx == NULL || peer_gidx == NULL || in_idx == NULL ||
			rin == NULL || rout == NULL)
		rte_exit(EXIT_FAILURE, "set-up failed: %s\n", rte_strerror(rte_errno));
	if (sg_dp_lcore_init(lc, ctx, (uint16_t)rte_lcore_id(), 0) != 0 ||
			sg_dp_lcore_init(peer_lc, ctx, (uint16_t)rte_lcore_id(), 1) != 0)
		rte_exit(EXIT_FAILURE, "lcore init failed\n");
	lc->shard = shard;
	peer_lc->shard = peer_shard;
	ctx->dir = sdir;
	ctx->nb_workers = 1;
	ctx->burst = o->burst;

	p0 = null_port("net_null0");
	p1 = null_port("net_null1");
	if (p0 != PORT_UNPROT || p1 != PORT_PROT)
		rte_exit(EXIT_FAILURE, "null ports are %u and %u, want 0 and 1\n", p0, p1);
	set_port(p0, 1);
	set_port(p1, 0);
	add_route(SG_IPV4(172, 20, 0, 0), 16, PORT_UNPROT);
	add_route(SITE_A, 16, PORT_PROT);

	for (i = 0; i < o->sessions; i++) {
		uint8_t kab[SG_CRYPTO_KEY_MAX + SG_CRYPTO_SALT_LEN + SG_CRYPTO_AUTH_KEY_MAX];
		uint8_t kba[SG_CRYPTO_KEY_MAX + SG_CRYPTO_SALT_LEN + SG_CRYPTO_AUTH_KEY_MAX];
		struct sg_sa *sa;
		unsigned int b;
		int idx;

		for (b = 0; b < sizeof(kab); b++) {
			kab[b] = (uint8_t)rnd();
			kba[b] = (uint8_t)rnd();
		}
		/* --esn-mix: ESN on a scattered half of the outbound SAs, so that the
		 * SAs of one burst differ (inbound ESN needs a replay window, which
		 * the looping frames would trip). */
		idx = add_sa(shard, lc->mgr, o, SG_SA_OUT, SPI_AB + i, kab, GW_A, PEER(i),
				o->esn_mix && (i * UINT32_C(2654435761)) >> 31);
		out_gidx[i] = sg_shard_gidx(0, (uint32_t)idx);
		idx = add_sa(shard, lc->mgr, o, SG_SA_IN, SPI_BA + i, kba, PEER(i), GW_A,
				false);
		in_idx[i] = (uint32_t)idx;
		sa = sg_sa_table_get(shard->sat, (uint32_t)idx);
		sa->pol_tag = i + 1;
		if (sg_shard_dir_add(sdir, SPI_BA + i, 0) != 0)
			rte_exit(EXIT_FAILURE, "directory add failed\n");
		/* The peer's outbound twin of our inbound SA: same SPI, key and tunnel. */
		idx = add_sa(peer_shard, peer_lc->mgr, o, SG_SA_OUT, SPI_BA + i, kba, PEER(i),
				GW_A, false);
		peer_gidx[i] = sg_shard_gidx(1, (uint32_t)idx);
		memset(kab, 0, sizeof(kab));
		memset(kba, 0, sizeof(kba));

		rout[i] = (struct sg_sp_rule){.priority = 1, .action = SG_SP_PROTECT,
			.sa_idx = out_gidx[i], .src = SITE_A, .src_depth = 16, .dst = SITE_B(i),
			.dst_depth = 24, .sport_hi = 65535, .dport_hi = 65535};
		rin[i] = (struct sg_sp_rule){.priority = 1, .action = SG_SP_PROTECT,
			.sa_idx = i + 1, .src = SITE_B(i), .src_depth = 24, .dst = SITE_A,
			.dst_depth = 16, .sport_hi = 65535, .dport_hi = 65535};
	}
	spd_out = sg_spd_create("sgb_out", (int)rte_socket_id(), rout, o->sessions);
	spd_in = sg_spd_create_flags("sgb_in", (int)rte_socket_id(), rin, o->sessions,
			SG_SPD_F_SA_CHECK);
	if (spd_out == NULL || spd_in == NULL)
		rte_exit(EXIT_FAILURE, "SPD build failed: %s\n", rte_strerror(rte_errno));
	lc->spd_in = spd_in;
	lc->spd_out = spd_out;
	free(rin);
	free(rout);
}
