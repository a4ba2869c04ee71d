/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "gateway.h"
#include "sg_common.h"
#include "sg_crypto.h"

/* Order outbound SAs by what makes their nonces: algorithm, key, salt. */
static const struct sg_conf *key_order_conf;

static int
key_order(const void *x, const void *y)
{
	const struct sg_sa_prm *a = &key_order_conf->sa[*(const uint32_t *)x].prm;
	const struct sg_sa_prm *b = &key_order_conf->sa[*(const uint32_t *)y].prm;
	int d;

	if (a->cipher != b->cipher)
		return a->cipher < b->cipher ? -1 : 1;
	if (a->key_len != b->key_len)
		return a->key_len < b->key_len ? -1 : 1;
	d = memcmp(a->key, b->key, a->key_len);
	if (d == 0)
		d = memcmp(a->salt, b->salt, sizeof(a->salt));
	if (d == 0) /* the later line is the one named */
		d = *(const uint32_t *)x < *(const uint32_t *)y ? -1 : 1;
	return d;
}

/* Two outbound SAs under one key and salt would send the same nonces
 * (RFC 4106 §3: salt and sequence number), each starting at 1. */
static int
check_out_keys(const struct sg_conf *c, char *err, size_t errlen)
{
	uint32_t *ix = malloc((c->nb_sa + 1) * sizeof(*ix));
	uint32_t i, n = 0;
	int ret = 0;

	if (ix == NULL) {
		snprintf(err, errlen, "%s: out of memory", c->file);
		return -1;
	}
	for (i = 0; i < c->nb_sa; i++)
		if (c->sa[i].prm.dir == SG_SA_OUT)
			ix[n++] = i;
	key_order_conf = c;
	qsort(ix, n, sizeof(*ix), key_order);
	for (i = 1; i < n && ret == 0; i++) {
		const struct sg_conf_sa *a = &c->sa[ix[i - 1]], *b = &c->sa[ix[i]];

		if (a->prm.cipher == b->prm.cipher && a->prm.key_len == b->prm.key_len &&
				memcmp(a->prm.key, b->prm.key, a->prm.key_len) == 0 &&
				memcmp(a->prm.salt, b->prm.salt, sizeof(a->prm.salt)) == 0) {
			snprintf(err, errlen, "%s:%u: sa out %u: the same key and salt as sa out %u"
					" (line %u): their nonces would repeat", c->file, b->line,
					b->prm.spi, a->prm.spi, a->line);
			ret = -1;
		}
	}
	free(ix);
	return ret;
}

int
gateway_check_conf(struct gateway *gw, char *err, size_t errlen)
{
	struct sg_conf *c = &gw->conf;
	const struct args *a = &gw->args;
	char why[160];
	uint32_t i;

	for (i = 0; i < c->nb_rt; i++) {
		if (c->rt[i].prm.port >= 64 || !(a->portmask & (UINT64_C(1) << c->rt[i].prm.port))) {
			snprintf(err, errlen, "%s:%u: rt: port %u is not in -p 0x%lx", c->file,
					c->rt[i].line, c->rt[i].prm.port, (unsigned long)a->portmask);
			return -1;
		}
	}
	for (i = 0; i < c->nb_neigh; i++) {
		uint16_t p = c->neigh[i].prm.port;

		if (p >= 64 || !(a->portmask & (UINT64_C(1) << p))) {
			snprintf(err, errlen, "%s:%u: neigh: port %u is not in -p 0x%lx", c->file,
					c->neigh[i].line, p, (unsigned long)a->portmask);
			return -1;
		}
	}
	for (i = 0; i < c->nb_sa; i++) {
		struct sg_sa_prm *p = &c->sa[i].prm;

		if (gateway_sa_defaults(a, p, why, sizeof(why)) != 0) {
			snprintf(err, errlen, "%s:%u: sa %s %u: %s", c->file, c->sa[i].line,
					p->dir == SG_SA_IN ? "in" : "out", p->spi, why);
			return -1;
		}
	}
	if (c->nb_sa > a->sa_capacity) {
		snprintf(err, errlen, "%s: %u SAs exceed --max-sa %u", c->file, c->nb_sa,
				a->sa_capacity);
		return -1;
	}
	return check_out_keys(c, err, errlen);
}

static int
lifetime_defaults(const struct args *a, struct sg_sa_lifetime *l, char *err, size_t errlen)
{
	/* A hard limit below the SA's own soft one would never let soft fire. */
	if (l->hard_sec == 0 && a->hard_sec != 0 && l->soft_sec > a->hard_sec) {
		snprintf(err, errlen, "lifetime_soft_sec %u is above --lifetime-hard %u",
				l->soft_sec, a->hard_sec);
		return -1;
	}
	if (l->soft_sec == 0 && a->soft_sec != 0 && l->hard_sec != 0 && a->soft_sec > l->hard_sec) {
		snprintf(err, errlen, "--lifetime-soft %u is above lifetime_hard_sec %u",
				a->soft_sec, l->hard_sec);
		return -1;
	}
	if (l->soft_sec == 0)
		l->soft_sec = a->soft_sec;
	if (l->hard_sec == 0)
		l->hard_sec = a->hard_sec;
	if (l->idle_sec == 0)
		l->idle_sec = a->idle_sec;
	return 0;
}

int
gateway_sa_defaults(const struct args *a, struct sg_sa_prm *p, char *err, size_t errlen)
{
	if (p->replay_win == SG_CONF_UNSET)
		p->replay_win = a->replay_win != SG_CONF_UNSET ? a->replay_win :
				SG_REPLAY_WIN_DEFAULT;
	if (p->dir == SG_SA_OUT)
		p->replay_win = 0; /* the sender keeps no window */
	if (a->esn)
		p->esn = true;
	/* ESN high bits are inferred from the window (RFC 4303 Appendix A2.2). */
	if (p->dir == SG_SA_IN && p->esn && p->replay_win == 0) {
		snprintf(err, errlen, "ESN needs a replay window (-w 0 given)");
		return -1;
	}
	return lifetime_defaults(a, &p->life, err, errlen);
}

/* A session is one tunnel peer: every SA between the same two endpoints. */
static inline uint64_t
peer_key(uint32_t local, uint32_t peer)
{
	return ((uint64_t)local << 32) | peer;
}

/* Session map data: the owning worker in the low 16 bits, SAs above. */
#define SESSION_W(d) ((uint16_t)((uintptr_t)(d) & 0xffff))
#define SESSION_N(d) ((uintptr_t)(d) >> 16)

int
gateway_session_owner(const struct gateway *gw, uint32_t local, uint32_t peer)
{
	uint64_t key = peer_key(local, peer);
	uint16_t w, best = 0;
	void *data;

	if (rte_hash_lookup_data(gw->peers, &key, &data) >= 0)
		return SESSION_W(data);
	/* A new peer goes to the worker with the fewest sessions. */
	for (w = 1; w < gw->nb_workers; w++)
		if (gw->peer_sessions[w] < gw->peer_sessions[best])
			best = w;
	return best;
}

int
gateway_session_bind(struct gateway *gw, uint32_t local, uint32_t peer, uint16_t w)
{
	uint64_t key = peer_key(local, peer);
	uintptr_t n = 0;
	void *data;
	int ret;

	if (rte_hash_lookup_data(gw->peers, &key, &data) >= 0)
		n = SESSION_N(data);
	else
		gw->peer_sessions[w]++;
	ret = rte_hash_add_key_data(gw->peers, &key, (void *)(((n + 1) << 16) | w));
	if (ret < 0 && n == 0)
		gw->peer_sessions[w]--;
	return ret;
}

void
gateway_session_unbind(struct gateway *gw, uint32_t local, uint32_t peer)
{
	uint64_t key = peer_key(local, peer);
	uintptr_t n;
	void *data;

	if (rte_hash_lookup_data(gw->peers, &key, &data) < 0)
		return;
	n = SESSION_N(data);
	/* The session ends with its last SA. */
	if (n <= 1) {
		rte_hash_del_key(gw->peers, &key);
		gw->peer_sessions[SESSION_W(data)]--;
		return;
	}
	rte_hash_add_key_data(gw->peers, &key, (void *)(((n - 1) << 16) | SESSION_W(data)));
}

int
gateway_policy_names(const struct gateway *gw, enum sg_sa_dir dir, uint32_t spi)
{
	uint32_t i;

	for (i = 0; i < gw->nb_sp; i++)
		if (gw->sp[i].dir == dir && gw->sp[i].rule.action == SG_SP_PROTECT &&
				gw->sp[i].spi == spi)
			return 1;
	return 0;
}

uint32_t
gateway_find_sa(const struct gateway *gw, enum sg_sa_dir dir, uint32_t spi)
{
	uint32_t idx;
	uint16_t w;

	if (dir == SG_SA_IN) {
		w = sg_shard_dir_find(gw->dir, spi);
		if (w == SG_SHARD_NONE)
			return SG_SA_NONE;
		idx = sg_sa_table_find(gw->shards[w]->sat, SG_SA_IN, spi);
		return idx == SG_SA_NONE ? SG_SA_NONE : sg_shard_gidx(w, idx);
	}
	for (w = 0; w < gw->nb_workers; w++) {
		idx = sg_sa_table_find(gw->shards[w]->sat, SG_SA_OUT, spi);
		if (idx != SG_SA_NONE)
			return sg_shard_gidx(w, idx);
	}
	return SG_SA_NONE;
}

/* What a protect rule's verdict carries: outbound, the SA's global index;
 * inbound, the tag its SA (and any SA that rekeys it) carries. */
static int
resolve(const struct gateway *gw, const struct sg_conf_sp *sp, uint32_t *out)
{
	uint32_t g = gateway_find_sa(gw, sp->dir, sp->spi);
	const struct sg_sa *sa;

	if (g == SG_SA_NONE)
		return -ENOENT;
	if (sp->dir == SG_SA_OUT) {
		*out = g;
		return 0;
	}
	sa = sg_sa_table_get(gw->shards[sg_shard_of(g)]->sat, sg_shard_local(g));
	*out = sa->pol_tag;
	return 0;
}

int
gateway_build_spds(struct gateway *gw, struct sg_spd **in, struct sg_spd **out, char *err,
		size_t errlen)
{
	static unsigned int gen;
	struct sg_sp_rule *rules[2];
	uint32_t i, n[2] = {0, 0};
	char name[32];
	int d, ret = -1;

	*in = *out = NULL;
	rules[0] = calloc(gw->nb_sp + 1, sizeof(*rules[0]));
	rules[1] = calloc(gw->nb_sp + 1, sizeof(*rules[1]));
	if (rules[0] == NULL || rules[1] == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (i = 0; i < gw->nb_sp; i++) {
		const struct sg_conf_sp *sp = &gw->sp[i];
		struct sg_sp_rule *r = &rules[sp->dir][n[sp->dir]++];

		*r = sp->rule;
		if (r->action == SG_SP_PROTECT && resolve(gw, sp, &r->sa_idx) != 0) {
			snprintf(err, errlen, "sp %s protect %u: no such SA",
					sp->dir == SG_SA_IN ? "in" : "out", sp->spi);
			goto out;
		}
	}
	gen++;
	for (d = 0; d < 2; d++) {
		struct sg_spd *spd;

		snprintf(name, sizeof(name), "%s%u", d == SG_SA_IN ? "in" : "out", gen);
		spd = sg_spd_create_flags(name, (int)rte_socket_id(), rules[d], n[d],
				d == SG_SA_IN ? SG_SPD_F_SA_CHECK : 0);
		if (spd == NULL) {
			snprintf(err, errlen, "cannot build the %s policy database: %s",
					d == SG_SA_IN ? "inbound" : "outbound", rte_strerror(rte_errno));
			sg_spd_free(*in);
			*in = NULL;
			goto out;
		}
		if (d == SG_SA_IN) {
			SG_LOG(DEBUG, "inbound policy: %u of its SAs checked by their own rule",
					sg_spd_sa_exact_count(spd));
			*in = spd;
		} else {
			*out = spd;
		}
	}
	ret = 0;
out:
	free(rules[0]);
	free(rules[1]);
	return ret;
}

static int
load_sa(struct gateway *gw, struct sg_conf_sa *csa, char *why, size_t whylen)
{
	struct sg_sa_prm *p = &csa->prm;
	const struct sg_dp_lcore *owner;
	struct sg_sa *sa;
	uint64_t tsc;
	int w, ret;

	w = p->dir == SG_SA_IN ? gateway_session_owner(gw, p->tun_dst, p->tun_src) :
			gateway_session_owner(gw, p->tun_src, p->tun_dst);
	owner = gw->workers[w];
	ret = gateway_seq_claim(gw, p, why, whylen);
	if (ret < 0)
		return ret;
	/* Workers are not running yet: the control core may fill their shards. */
	ret = sg_sa_table_add(gw->shards[w]->sat, p, gw->ctl_mgr, owner->lcore_id, owner->socket);
	if (ret < 0) {
		gateway_seq_release(gw, p, p->seq_start);
		snprintf(why, whylen, "sa %s %u: %s", p->dir == SG_SA_IN ? "in" : "out", p->spi,
				strerror(-ret));
		return ret;
	}
	sa = sg_sa_table_get(gw->shards[w]->sat, (uint32_t)ret);
	tsc = rte_rdtsc();
	sg_shard_arm_sa(gw->shards[w], sa, sg_timer_tick(gw->shards[w]->timer, tsc), tsc);
	if (p->dir == SG_SA_IN) {
		sa->pol_tag = gw->next_tag++;
		ret = sg_shard_dir_add(gw->dir, p->spi, (uint16_t)w);
		if (ret < 0)
			return ret;
		if (p->udp_encap && sg_dp_udp_ep_add(gw->ctx, rte_cpu_to_be_32(p->tun_dst),
				rte_cpu_to_be_16(p->udp_dport)) != 0) {
			snprintf(why, whylen, "sa in %u: more than %u local ESP-in-UDP endpoints",
					p->spi, SG_DP_UDP_EP_MAX);
			return -ENOSPC;
		}
		gateway_steer_add(gw, p->spi, p->tun_dst, (uint16_t)w);
	} else if (gateway_find_sa(gw, SG_SA_OUT, p->spi) != sg_shard_gidx((uint16_t)w,
			(uint32_t)ret)) {
		/* The same outbound SPI in another shard; teardown releases it. */
		snprintf(why, whylen, "sa out %u: %s", p->spi, strerror(EEXIST));
		return -EEXIST;
	}
	return p->dir == SG_SA_IN ? gateway_session_bind(gw, p->tun_dst, p->tun_src, (uint16_t)w) :
			gateway_session_bind(gw, p->tun_src, p->tun_dst, (uint16_t)w);
}

int
gateway_setup_rules(struct gateway *gw)
{
	struct sg_conf *c = &gw->conf;
	struct rte_hash_parameters hp = {
		.name = "sg_peers",
		.entries = RTE_MAX(gw->args.sa_capacity, 8u),
		.key_len = sizeof(uint64_t),
		.hash_func = rte_hash_crc,
		.socket_id = (int)rte_socket_id(),
	};
	char err[256], why[320];
	uint32_t i;
	uint16_t w;
	int ret;

	gw->ctl_mgr = sg_crypto_mgr_create((int)rte_socket_id());
	if (gw->ctl_mgr == NULL) {
		SG_LOG(ERR, "cannot create the ipsec-mb manager: %s", rte_strerror(rte_errno));
		return -1;
	}
	SG_LOG(INFO, "ipsec-mb %s, %s code path", imb_get_version_str(),
			sg_crypto_mgr_arch(gw->ctl_mgr));
	gw->peers = rte_hash_create(&hp);
	gw->peer_sessions = calloc(gw->nb_workers, sizeof(*gw->peer_sessions));
	gw->dir = sg_shard_dir_create("sg_dir", gw->args.sa_capacity * gw->nb_workers,
			(int)rte_socket_id());
	if (gw->peers == NULL || gw->peer_sessions == NULL || gw->dir == NULL) {
		SG_LOG(ERR, "cannot create the session maps: %s", rte_strerror(rte_errno));
		return -1;
	}
	gw->ctx->dir = gw->dir;
	/* One shard per worker, on the worker's own NUMA node. */
	for (w = 0; w < gw->nb_workers; w++) {
		gw->shards[w] = sg_shard_create(w, gw->args.sa_capacity, gw->workers[w]->socket);
		if (gw->shards[w] == NULL) {
			SG_LOG(ERR, "cannot create shard %u (%u SAs): %s", w, gw->args.sa_capacity,
					rte_strerror(rte_errno));
			return -1;
		}
		gw->workers[w]->shard = gw->shards[w];
	}
	gw->next_tag = 1;
	ret = gateway_steer_init(gw);
	if (ret != 0) {
		SG_LOG(ERR, "flow steering: %s", strerror(-ret));
		return -1;
	}
	for (i = 0; i < c->nb_sa; i++) {
		why[0] = '\0';
		ret = load_sa(gw, &c->sa[i], why, sizeof(why));
		if (ret < 0) {
			if (why[0] == '\0')
				snprintf(why, sizeof(why), "sa %s %u: %s",
						c->sa[i].prm.dir == SG_SA_IN ? "in" : "out",
						c->sa[i].prm.spi, strerror(-ret));
			SG_LOG(ERR, "%s:%u: %s", c->file, c->sa[i].line, why);
			return -1;
		}
	}
	/* Durable before the first packet may use a reserved number. */
	if (gateway_seq_sync(gw, why, sizeof(why)) != 0) {
		SG_LOG(ERR, "%s", why);
		return -1;
	}
	gw->sp = calloc(c->nb_sp + 1, sizeof(*gw->sp));
	if (gw->sp == NULL)
		return -1;
	if (c->nb_sp > 0) /* a file with no sp lines has no array: memcpy wants one */
		memcpy(gw->sp, c->sp, c->nb_sp * sizeof(*gw->sp));
	gw->nb_sp = c->nb_sp;
	if (gateway_build_spds(gw, &gw->spd_in, &gw->spd_out, err, sizeof(err)) != 0) {
		SG_LOG(ERR, "%s: %s", c->file, err);
		return -1;
	}
	for (w = 0; w < gw->nb_workers; w++) {
		gw->workers[w]->spd_in = gw->spd_in;
		gw->workers[w]->spd_out = gw->spd_out;
	}

	for (i = 0; i < c->nb_neigh; i++) {
		struct sg_dp_port *p = &gw->ctx->port[c->neigh[i].prm.port];

		p->dst_mac = c->neigh[i].prm.mac;
		p->has_neigh = 1;
	}
	for (i = 0; i < c->nb_rt; i++) {
		ret = sg_dp_route_add(gw->ctx, &c->rt[i].prm);
		if (ret < 0) {
			SG_LOG(ERR, "%s:%u: rt: %s", c->file, c->rt[i].line, strerror(-ret));
			return -1;
		}
	}
	for (i = 0; i < gw->nb_ports; i++) {
		uint32_t k;

		for (k = 0; k < c->nb_punt && c->punt[k].prm.port != gw->ports[i]; k++)
			;
		if (k < c->nb_punt && !gw->ctx->port[gw->ports[i]].has_neigh)
			SG_LOG(INFO, "port %u has no neigh line: next hops are learned from the"
					" kernel (punt)", gw->ports[i]);
		else if (!gw->ctx->port[gw->ports[i]].has_neigh)
			SG_LOG(WARNING, "port %u has no neigh line: packets routed there are dropped"
					" (no_route)", gw->ports[i]);
	}
	return 0;
}

void
gateway_free_rules(struct gateway *gw)
{
	uint16_t w;

	gateway_steer_fini(gw);
	sg_spd_free(gw->spd_in);
	sg_spd_free(gw->spd_out);
	gw->spd_in = gw->spd_out = NULL;
	for (w = 0; w < SG_SHARD_MAX; w++) {
		sg_shard_free(gw->shards[w]); /* wipes every key */
		gw->shards[w] = NULL;
	}
	sg_shard_dir_free(gw->dir);
	gw->dir = NULL;
	rte_hash_free(gw->peers);
	gw->peers = NULL;
	free(gw->peer_sessions);
	gw->peer_sessions = NULL;
	free(gw->sp);
	gw->sp = NULL;
	gw->nb_sp = 0;
	sg_crypto_mgr_free(gw->ctl_mgr);
	gw->ctl_mgr = NULL;
}
