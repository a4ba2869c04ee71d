/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Control requests: one line in, one JSON line out. Lines reuse the rule
 * file's grammar, so what a rule file can say, a request can say live:
 *
 *   add sa in 5000 aead_algo aes-128-gcm aead_key ... mode ipv4-tunnel src A dst B
 *   add sp ipv4 out esp protect 5000 pri 1 dst 10.2.0.0/24
 *   del sa in 5000 | del sp <the sp rule as added>
 *   rekey in OLD NEW aead_algo ALG aead_key KEY [grace_ms N]
 *   rekey out OLD NEW aead_algo ALG aead_key KEY
 *     (or, for AES-CBC, cipher_algo ALG cipher_key KEY auth_algo ALG auth_key KEY;
 *     for AES-GMAC, cipher_algo null auth_algo aes-gmac auth_key KEY)
 *   list sa [PAGE] | list sp | list sessions | list neigh | events [SINCE_ID] | help
 *   spi alloc [MIN MAX] | spi free SPI | query sa in|out SPI   (keymgr.c)
 *   move sa in|out SPI peer ADDR [port PORT]                   (keymgr.c)
 *   client NAME          what this connection adds is NAME's (list sa/sp)
 *   flush origin NAME    remove every SA and policy NAME's clients added
 *
 * A request that fails changes nothing.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <rte_cycles.h>
#include <rte_hash.h>

#include "control.h"
#include "gateway.h"
#include "keymgr.h"
#include "sg_common.h"
#include "sg_conf.h"

/* How long the control core waits for a worker to answer. */
/* Default time the old inbound SA keeps working after a rekey. */
#define REKEY_GRACE_MS_DEFAULT 5000

struct pending_del {
	uint32_t spi;      /* old inbound SA */
	uint32_t new_spi;  /* its successor, which policies move to */
	uint64_t due;      /* TSC */
};

static struct pending_del *pending;
static uint32_t nb_pending, cap_pending;

/* A reply's first buffer; most fit, "list sa" grows it. */
#define REPLY_FIRST 256

void
reply_printf(struct reply *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (r->failed)
		return;
	/* A reply may start with no buffer (control.c's serve() allocates one
	 * first, fuzz_ctl does not): NULL + 0 is undefined, which clang's UBSan
	 * reports, so the first write allocates. */
	if (r->buf == NULL) {
		r->buf = malloc(REPLY_FIRST);
		if (r->buf == NULL) {
			r->failed = 1;
			return;
		}
		r->cap = REPLY_FIRST;
		r->len = 0;
	}
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(r->buf + r->len, r->cap - r->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			r->failed = 1;
			return;
		}
		if ((size_t)n < r->cap - r->len) {
			r->len += (size_t)n;
			return;
		}
		char *nb = realloc(r->buf, r->cap * 2 + (size_t)n);

		if (nb == NULL) {
			r->failed = 1;
			return;
		}
		r->buf = nb;
		r->cap = r->cap * 2 + (size_t)n;
	}
}

static void
fail(struct reply *r, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	size_t i;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Messages are ours or the parser's: keep them valid JSON strings. */
	for (i = 0; msg[i] != '\0'; i++)
		if (msg[i] == '"' || msg[i] == '\\' || (unsigned char)msg[i] < 0x20)
			msg[i] = '\'';
	r->len = 0;
	reply_printf(r, "{\"ok\":false,\"error\":\"%s\"}", msg);
}

void
keymgr_fail(struct reply *r, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fail(r, "%s", msg);
}

static const char *
dir_name(enum sg_sa_dir d)
{
	return d == SG_SA_IN ? "in" : "out";
}

static struct sg_sa *
sa_at(struct gateway *gw, uint32_t g)
{
	return sg_sa_table_get(gw->shards[sg_shard_of(g)]->sat, sg_shard_local(g));
}

/* The number of origin @p name, or -1. */
static int
origin_find(const struct gateway *gw, const char *name)
{
	int o;

	for (o = 0; o < GATEWAY_ORIGINS; o++)
		if (strcmp(gw->origin[o], name) == 0)
			return o;
	return -1;
}

/* Send @p c to worker @p w and wait. On -ETIMEDOUT the worker still holds
 * c, which must not be freed here: its late answer is freed by a later call. */
static int
call(struct gateway *gw, uint16_t w, struct sg_shard_cmd *c)
{
	return sg_shard_call(gw->shards[w], c, GATEWAY_CALL_TIMEOUT_US);
}

/* A barrier: every worker has finished the burst it was in. */
static int
sync_all(struct gateway *gw)
{
	uint16_t w;
	int ret;

	for (w = 0; w < gw->nb_workers; w++) {
		struct sg_shard_cmd *c = sg_shard_cmd_alloc(SG_SHARD_SYNC);

		if (c == NULL)
			return -ENOMEM;
		ret = call(gw, w, c);
		if (ret == -ETIMEDOUT)
			return ret;
		sg_shard_cmd_free(c);
		if (ret != 0)
			return ret;
	}
	return 0;
}

/* Parse rule text from a request into @p conf; on error the reply says why. */
static int
parse(const char *text, struct sg_conf *conf, struct reply *r)
{
	char err[512];

	if (sg_conf_parse_request("request", text, conf, err, sizeof(err)) != 0) {
		/* "request:1: sa: ..." reads better without the pseudo file name. */
		fail(r, "%s", strncmp(err, "request:1: ", 11) == 0 ? err + 11 : err);
		return -1;
	}
	return 0;
}

/* Publish new SPDs from gw->sp to every worker, then free the old ones. */
static int
publish_spds(struct gateway *gw, struct reply *r)
{
	struct sg_spd *in, *out;
	char err[256];
	uint16_t w;
	int ret;

	if (gateway_build_spds(gw, &in, &out, err, sizeof(err)) != 0) {
		fail(r, "%s", err);
		return -1;
	}
	for (w = 0; w < gw->nb_workers; w++) {
		struct sg_shard_cmd *c = sg_shard_cmd_alloc(SG_SHARD_SPD_SET);

		if (c == NULL) {
			ret = -ENOMEM;
		} else {
			c->spd_in = in;
			c->spd_out = out;
			ret = call(gw, w, c);
			if (ret != -ETIMEDOUT)
				sg_shard_cmd_free(c);
		}
		if (ret != 0) {
			/* Some workers may use the new SPDs already: keep both alive. */
			SG_LOG(ERR, "worker %u did not take the new policies: %s", w,
					strerror(-ret));
			fail(r, "worker %u did not answer; policies may be inconsistent", w);
			return -1;
		}
	}
	sg_spd_free(gw->spd_in);
	sg_spd_free(gw->spd_out);
	gw->spd_in = in;
	gw->spd_out = out;
	return 0;
}

/* Take back an SA the owner has just added and nobody else can see yet. */
static void
undo_add(struct gateway *gw, uint16_t w, uint32_t idx)
{
	struct sg_shard_cmd *c = sg_shard_cmd_alloc(SG_SHARD_SA_DEL);

	if (c == NULL)
		return;
	c->idx = idx;
	if (call(gw, w, c) != -ETIMEDOUT)
		sg_shard_cmd_free(c);
}

static void
add_sa(struct gateway *gw, struct sg_conf_sa *csa, struct reply *r, uint32_t tag)
{
	struct sg_sa_prm *p = &csa->prm;
	struct sg_shard_cmd *c;
	char why[160];
	uint32_t idx;
	int w, ret;

	if (gateway_sa_defaults(&gw->args, p, why, sizeof(why)) != 0) {
		fail(r, "sa %s %u: %s", dir_name(p->dir), p->spi, why);
		return;
	}
	if (gateway_find_sa(gw, p->dir, p->spi) != SG_SA_NONE) {
		fail(r, "sa %s %u: SPI already in use", dir_name(p->dir), p->spi);
		return;
	}
	/* Nothing is recorded until the owner has taken the SA. */
	w = p->dir == SG_SA_IN ? gateway_session_owner(gw, p->tun_dst, p->tun_src) :
			gateway_session_owner(gw, p->tun_src, p->tun_dst);
	/* Outbound: its numbers are durable before the owner may send one. */
	if (gateway_seq_claim(gw, p, why, sizeof(why)) != 0) {
		fail(r, "%s", why);
		return;
	}
	if (gateway_seq_sync(gw, why, sizeof(why)) != 0) {
		gateway_seq_release(gw, p, p->seq_start);
		fail(r, "sa %s %u: %s", dir_name(p->dir), p->spi, why);
		return;
	}
	c = sg_shard_cmd_alloc(SG_SHARD_SA_ADD);
	if (c == NULL) {
		gateway_seq_release(gw, p, p->seq_start);
		fail(r, "out of memory");
		return;
	}
	c->prm = *p;
	c->pol_tag = tag != 0 ? tag : gw->next_tag;
	ret = call(gw, (uint16_t)w, c);
	if (ret == -ETIMEDOUT) {
		/* It may yet be added: its entry stays held, never reused. */
		fail(r, "worker %u did not answer", w);
		return;
	}
	ret = ret != 0 ? ret : c->result;
	sg_shard_cmd_free(c);
	if (ret < 0)
		gateway_seq_release(gw, p, p->seq_start);
	if (ret == -ENOSPC) {
		fail(r, "sa %s %u: the shard of lcore %u is full (%u SAs)", dir_name(p->dir), p->spi,
				gw->workers[w]->lcore_id, gw->args.sa_capacity);
		return;
	}
	if (ret < 0) {
		fail(r, "sa %s %u: %s", dir_name(p->dir), p->spi, strerror(-ret));
		return;
	}
	idx = (uint32_t)ret;
	if (p->dir == SG_SA_IN) {
		/* Its ESP in UDP is taken from now; then other workers may find
		 * the owner of this SPI. */
		ret = p->udp_encap ? sg_dp_udp_ep_add(gw->ctx, rte_cpu_to_be_32(p->tun_dst),
				rte_cpu_to_be_16(p->udp_dport)) : 0;
		if (ret != 0) {
			undo_add(gw, (uint16_t)w, idx);
			fail(r, "sa in %u: more than %u local ESP-in-UDP endpoints", p->spi,
					SG_DP_UDP_EP_MAX);
			return;
		}
		ret = sg_shard_dir_add(gw->dir, p->spi, (uint16_t)w);
		if (ret == 0)
			ret = gateway_session_bind(gw, p->tun_dst, p->tun_src, (uint16_t)w);
		if (ret != 0) {
			sg_shard_dir_del(gw->dir, p->spi);
			if (p->udp_encap)
				sg_dp_udp_ep_del(gw->ctx, rte_cpu_to_be_32(p->tun_dst),
						rte_cpu_to_be_16(p->udp_dport));
			undo_add(gw, (uint16_t)w, idx);
			fail(r, "sa in %u: cannot publish it: %s", p->spi, strerror(-ret));
			return;
		}
		if (tag == 0)
			gw->next_tag++;
		gateway_steer_add(gw, p->spi, p->tun_dst, (uint16_t)w);
		keymgr_spi_taken(p->spi);
	} else if (gateway_session_bind(gw, p->tun_src, p->tun_dst, (uint16_t)w) != 0) {
		undo_add(gw, (uint16_t)w, idx);
		gateway_seq_release(gw, p, p->seq_start); /* it sent nothing */
		fail(r, "sa out %u: out of memory", p->spi);
		return;
	}
	reply_printf(r, "{\"ok\":true,\"sa\":{\"dir\":\"%s\",\"spi\":%u,\"lcore\":%u,\"shard\":%d}}",
			dir_name(p->dir), p->spi, gw->workers[w]->lcore_id, w);
}

static int
sp_same(const struct sg_conf_sp *a, const struct sg_conf_sp *b)
{
	return a->dir == b->dir && a->spi == b->spi && a->rule.action == b->rule.action &&
			a->rule.priority == b->rule.priority && a->rule.src == b->rule.src &&
			a->rule.dst == b->rule.dst && a->rule.src_depth == b->rule.src_depth &&
			a->rule.dst_depth == b->rule.dst_depth && a->rule.proto == b->rule.proto &&
			a->rule.proto_mask == b->rule.proto_mask &&
			a->rule.sport_lo == b->rule.sport_lo && a->rule.sport_hi == b->rule.sport_hi &&
			a->rule.dport_lo == b->rule.dport_lo && a->rule.dport_hi == b->rule.dport_hi;
}

static void
add_sp(struct gateway *gw, const struct sg_conf_sp *sp, struct reply *r)
{
	struct sg_conf_sp *grown;
	uint32_t i;

	for (i = 0; i < gw->nb_sp; i++) {
		if (sp_same(&gw->sp[i], sp)) {
			fail(r, "sp: the same policy is already there");
			return;
		}
	}
	if (sp->rule.action == SG_SP_PROTECT &&
			gateway_find_sa(gw, sp->dir, sp->spi) == SG_SA_NONE) {
		fail(r, "sp %s protect %u: no such SA", dir_name(sp->dir), sp->spi);
		return;
	}
	grown = realloc(gw->sp, (gw->nb_sp + 1) * sizeof(*grown));
	if (grown == NULL) {
		fail(r, "out of memory");
		return;
	}
	gw->sp = grown;
	gw->sp[gw->nb_sp++] = *sp;
	if (publish_spds(gw, r) != 0) {
		gw->nb_sp--;
		return;
	}
	reply_printf(r, "{\"ok\":true,\"sp\":%u}", gw->nb_sp);
}

static void
del_sp(struct gateway *gw, const struct sg_conf_sp *sp, struct reply *r)
{
	struct sg_conf_sp saved;
	uint32_t i;

	for (i = 0; i < gw->nb_sp; i++)
		if (sp_same(&gw->sp[i], sp))
			break;
	if (i == gw->nb_sp) {
		fail(r, "sp: no such policy");
		return;
	}
	saved = gw->sp[i];
	memmove(&gw->sp[i], &gw->sp[i + 1], (gw->nb_sp - i - 1) * sizeof(gw->sp[0]));
	gw->nb_sp--;
	if (publish_spds(gw, r) != 0) {
		memmove(&gw->sp[i + 1], &gw->sp[i], (gw->nb_sp - i) * sizeof(gw->sp[0]));
		gw->sp[i] = saved;
		gw->nb_sp++;
		return;
	}
	reply_printf(r, "{\"ok\":true,\"sp\":%u}", gw->nb_sp);
}

/* Remove an SA no lookup can reach any more. Inbound: directory first. */
int
control_remove_sa(struct gateway *gw, enum sg_sa_dir dir, uint32_t spi, char *why, size_t whylen)
{
	uint32_t g = gateway_find_sa(gw, dir, spi);
	struct sg_shard_cmd *c;
	const struct sg_sa *sa;
	uint32_t src, dst, slot;
	uint16_t w, udp_dport_be;
	uint64_t last;
	int ret, udp;

	if (g == SG_SA_NONE) {
		snprintf(why, whylen, "sa %s %u: no such SA", dir_name(dir), spi);
		return -ENOENT;
	}
	w = sg_shard_of(g);
	if (dir == SG_SA_IN) {
		gateway_steer_del(gw, spi);
		sg_shard_dir_del(gw->dir, spi);
		/* Every lookup that found the SPI before has finished its burst. */
		ret = sync_all(gw);
		if (ret != 0) {
			sg_shard_dir_add(gw->dir, spi, w);
			snprintf(why, whylen, "workers did not answer: %s", strerror(-ret));
			return ret;
		}
		sg_shard_dir_reclaim(gw->dir);
	}
	sa = sa_at(gw, g);
	src = rte_be_to_cpu_32(sa->tun_src_be);
	dst = rte_be_to_cpu_32(sa->tun_dst_be);
	slot = sa->seq_slot;
	udp = (sa->flags & SG_SA_F_UDP) != 0;
	udp_dport_be = sa->udp_dport_be;
	c = sg_shard_cmd_alloc(SG_SHARD_SA_DEL);
	if (c == NULL) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	c->idx = sg_shard_local(g);
	ret = call(gw, w, c);
	if (ret == -ETIMEDOUT) {
		snprintf(why, whylen, "worker %u did not answer", w);
		return ret;
	}
	ret = ret != 0 ? ret : c->result;
	last = c->seq;
	sg_shard_cmd_free(c);
	if (ret != 0) {
		snprintf(why, whylen, "sa %s %u: %s", dir_name(dir), spi, strerror(-ret));
		return ret;
	}
	if (dir == SG_SA_IN) {
		gateway_session_unbind(gw, dst, src);
		if (udp)
			sg_dp_udp_ep_del(gw->ctx, rte_cpu_to_be_32(dst), udp_dport_be);
	} else {
		gateway_session_unbind(gw, src, dst);
		/* The owner answered its last number: the rest of the reservation
		 * goes back (the key may return, and resumes above it). */
		gateway_seq_release_slot(gw, spi, slot, last);
	}
	return 0;
}

static void
del_sa(struct gateway *gw, enum sg_sa_dir dir, uint32_t spi, struct reply *r)
{
	char why[256];
	uint32_t i;

	for (i = 0; i < nb_pending; i++) {
		if (dir == SG_SA_IN && pending[i].spi == spi) {
			/* The key manager says the old SA is done before the grace
			 * period is: finish the rekey now (policies move on). */
			pending[i].due = 0;
			control_run_timers(gw);
			if (gateway_find_sa(gw, SG_SA_IN, spi) != SG_SA_NONE)
				fail(r, "sa in %u: could not remove it (see the log)", spi);
			else
				reply_printf(r, "{\"ok\":true,\"rekey_done\":true}");
			return;
		}
		if (dir == SG_SA_IN && pending[i].new_spi == spi) {
			/* The rekey is called off (an IKE rekey collision lost, a
			 * tunnel torn down): the old SA, which the policies still
			 * name, stays; only the new one goes. */
			pending[i] = pending[--nb_pending];
			break;
		}
	}
	if (gateway_policy_names(gw, dir, spi)) {
		fail(r, "sa %s %u: a policy protects with it; delete the policy first",
				dir_name(dir), spi);
		return;
	}
	if (control_remove_sa(gw, dir, spi, why, sizeof(why)) != 0) {
		fail(r, "%s", why);
		return;
	}
	reply_printf(r, "{\"ok\":true}");
}

/* Build the new SA's parameters from the running one plus new SPI and key. */
static int
rekey_prm(struct gateway *gw, enum sg_sa_dir dir, const struct sg_sa *old, uint32_t new_spi,
		const char *crypto, struct sg_conf *conf, struct reply *r)
{
	char src[INET_ADDRSTRLEN], dst[INET_ADDRSTRLEN], *text, why[160], udp[32];
	char tfc[SG_SA_TFC_TEXT_LEN + 16], mode[96];
	struct in_addr a;
	int n, ret;

	a.s_addr = old->tun_src_be;
	inet_ntop(AF_INET, &a, src, sizeof(src));
	a.s_addr = old->tun_dst_be;
	inet_ntop(AF_INET, &a, dst, sizeof(dst));
	udp[0] = '\0';
	if (old->flags & SG_SA_F_UDP)
		snprintf(udp, sizeof(udp), " udp_encap %u %u", rte_be_to_cpu_16(old->udp_sport_be),
				rte_be_to_cpu_16(old->udp_dport_be));
	tfc[0] = '\0';
	if (old->flags & SG_SA_F_TFC) {
		char sizes[SG_SA_TFC_TEXT_LEN];

		snprintf(tfc, sizeof(tfc), " tfc_pad %s", sg_sa_tfc_format(old->tfc, sizes,
				sizeof(sizes)));
	}
	/* the new SA keeps the old one's mode and ends (a transport SA may name none) */
	if (old->mode == SG_SA_TRANSPORT4 && old->tun_src_be == 0)
		snprintf(mode, sizeof(mode), "mode transport");
	else
		snprintf(mode, sizeof(mode), "mode %s src %s dst %s",
				old->mode == SG_SA_TRANSPORT4 ? "transport" : "ipv4-tunnel", src, dst);
	n = snprintf(NULL, 0, "sa %s %u %s %s%s%s%s", dir_name(dir), new_spi, crypto, mode,
			(old->flags & SG_SA_F_ESN) ? " esn" : "", udp, tfc);
	text = malloc((size_t)n + 1);
	if (text == NULL) {
		fail(r, "out of memory");
		return -1;
	}
	snprintf(text, (size_t)n + 1, "sa %s %u %s %s%s%s%s", dir_name(dir), new_spi, crypto, mode,
			(old->flags & SG_SA_F_ESN) ? " esn" : "", udp, tfc);
	ret = parse(text, conf, r);
	sg_wipe(text, (size_t)n);
	free(text);
	if (ret != 0)
		return -1;
	if (conf->nb_sa != 1 || conf->nb_sp + conf->nb_rt + conf->nb_neigh != 0) {
		sg_conf_free(conf);
		fail(r, "rekey: expected aead_algo ALG aead_key KEY, or cipher_algo ALG cipher_key KEY "
				"auth_algo ALG auth_key KEY");
		return -1;
	}
	/* The new SA keeps the old one's window (outbound SAs have none) and
	 * its lifetimes, unless the request gives its own. */
	conf->sa[0].prm.replay_win = dir == SG_SA_IN && old->replay != NULL ? old->replay->win : 0;
	conf->sa[0].prm.origin = old->origin;
	if (conf->sa[0].prm.life.soft_sec == 0 && conf->sa[0].prm.life.hard_sec == 0 &&
			conf->sa[0].prm.life.soft_bytes == 0 && conf->sa[0].prm.life.hard_bytes == 0 &&
			conf->sa[0].prm.life.soft_packets == 0 &&
			conf->sa[0].prm.life.hard_packets == 0 && conf->sa[0].prm.life.idle_sec == 0)
		conf->sa[0].prm.life = old->life;
	if (gateway_sa_defaults(&gw->args, &conf->sa[0].prm, why, sizeof(why)) != 0) {
		sg_conf_free(conf);
		fail(r, "rekey: %s", why);
		return -1;
	}
	return 0;
}

/* rekey in OLD NEW <crypto>: the new inbound SA is accepted at once; the old
 * one keeps working for grace_ms, then goes (RFC 4301 §4.4.2.1). */
static void
rekey_in(struct gateway *gw, uint32_t old_spi, uint32_t new_spi, const char *crypto,
		uint32_t grace_ms, struct reply *r)
{
	struct sg_conf conf;
	struct sg_sa *old;
	uint32_t g = gateway_find_sa(gw, SG_SA_IN, old_spi);
	struct pending_del *grown;
	size_t mark;

	if (g == SG_SA_NONE) {
		fail(r, "rekey in %u: no such SA", old_spi);
		return;
	}
	old = sa_at(gw, g);
	if (rekey_prm(gw, SG_SA_IN, old, new_spi, crypto, &conf, r) != 0)
		return;
	if (nb_pending == cap_pending) {
		grown = realloc(pending, (cap_pending * 2 + 8) * sizeof(*grown));
		if (grown == NULL) {
			sg_conf_free(&conf);
			fail(r, "out of memory");
			return;
		}
		pending = grown;
		cap_pending = cap_pending * 2 + 8;
	}
	mark = r->len;
	/* Same session, so the same owner; same tag, so policy accepts it. */
	add_sa(gw, &conf.sa[0], r, old->pol_tag);
	sg_conf_free(&conf);
	if (strncmp(r->buf + mark, "{\"ok\":true", 10) != 0)
		return;
	pending[nb_pending].spi = old_spi;
	pending[nb_pending].new_spi = new_spi;
	pending[nb_pending].due = rte_get_tsc_cycles() + (uint64_t)grace_ms * rte_get_tsc_hz() / 1000;
	nb_pending++;
	r->len = mark;
	reply_printf(r, "{\"ok\":true,\"rekey\":{\"dir\":\"in\",\"old\":%u,\"new\":%u,"
			"\"old_removed_in_ms\":%u}}", old_spi, new_spi, grace_ms);
}

/* rekey out OLD NEW <crypto>: the owner swaps SPI and key between bursts. */
static void
rekey_out(struct gateway *gw, uint32_t old_spi, uint32_t new_spi, const char *crypto,
		struct reply *r)
{
	uint32_t g = gateway_find_sa(gw, SG_SA_OUT, old_spi);
	struct sg_shard_cmd *c;
	struct sg_conf conf;
	uint32_t i, old_slot, new_slot;
	uint64_t new_start;
	char why[320];
	int ret;

	if (g == SG_SA_NONE) {
		fail(r, "rekey out %u: no such SA", old_spi);
		return;
	}
	if (new_spi != old_spi && gateway_find_sa(gw, SG_SA_OUT, new_spi) != SG_SA_NONE) {
		fail(r, "rekey out %u: SPI %u already in use", old_spi, new_spi);
		return;
	}
	if (rekey_prm(gw, SG_SA_OUT, sa_at(gw, g), new_spi, crypto, &conf, r) != 0)
		return;
	old_slot = sa_at(gw, g)->seq_slot;
	/* The new key's numbers are durable before the switch. */
	if (gateway_seq_claim(gw, &conf.sa[0].prm, why, sizeof(why)) != 0 ||
			gateway_seq_sync(gw, why, sizeof(why)) != 0) {
		if (conf.sa[0].prm.seq_limit != 0)
			gateway_seq_release(gw, &conf.sa[0].prm, conf.sa[0].prm.seq_start);
		sg_conf_free(&conf);
		fail(r, "rekey out %u: %s", old_spi, why);
		return;
	}
	new_slot = conf.sa[0].prm.seq_slot;
	new_start = conf.sa[0].prm.seq_start;
	c = sg_shard_cmd_alloc(SG_SHARD_SA_REKEY);
	if (c == NULL) {
		gateway_seq_release_slot(gw, new_spi, new_slot, new_start);
		sg_conf_free(&conf);
		fail(r, "out of memory");
		return;
	}
	c->prm = conf.sa[0].prm;
	c->idx = sg_shard_local(g);
	sg_conf_free(&conf);
	ret = call(gw, sg_shard_of(g), c);
	if (ret == -ETIMEDOUT) {
		fail(r, "worker %u did not answer", sg_shard_of(g));
		return;
	}
	ret = ret != 0 ? ret : c->result;
	/* Whichever key the SA no longer holds goes back at its exact count. */
	if (ret == 0)
		gateway_seq_release_slot(gw, old_spi, old_slot, c->seq);
	else
		gateway_seq_release_slot(gw, new_spi, new_slot, new_start);
	sg_shard_cmd_free(c);
	if (ret != 0) {
		fail(r, "rekey out %u: %s", old_spi, strerror(-ret));
		return;
	}
	/* The SA kept its slot: policies follow it; only their SPI text moves. */
	for (i = 0; i < gw->nb_sp; i++)
		if (gw->sp[i].dir == SG_SA_OUT && gw->sp[i].spi == old_spi)
			gw->sp[i].spi = new_spi;
	reply_printf(r, "{\"ok\":true,\"rekey\":{\"dir\":\"out\",\"old\":%u,\"new\":%u}}",
			old_spi, new_spi);
}

void
control_run_timers(struct gateway *gw)
{
	uint64_t now = rte_get_tsc_cycles();
	char why[256];
	uint32_t i = 0, j;

	while (i < nb_pending) {
		if (pending[i].due > now) {
			i++;
			continue;
		}
		/* Policies that named the old SA now name its successor. */
		for (j = 0; j < gw->nb_sp; j++)
			if (gw->sp[j].dir == SG_SA_IN && gw->sp[j].spi == pending[i].spi)
				gw->sp[j].spi = pending[i].new_spi;
		if (control_remove_sa(gw, SG_SA_IN, pending[i].spi, why, sizeof(why)) != 0)
			SG_LOG(ERR, "rekey: removing the old inbound SA: %s", why);
		else
			SG_LOG(INFO, "rekey: old inbound SA %u removed", pending[i].spi);
		pending[i] = pending[--nb_pending];
	}
}

/* Whole-word unsigned number. */
static int
number(const char *s, uint64_t max, uint64_t *v)
{
	char *end;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno == 0 && *end == '\0' && *v <= max ? 0 : -1;
}

/* "rekey DIR OLD NEW aead_algo A aead_key K [grace_ms N]" */
static void
rekey(struct gateway *gw, char *args, struct reply *r)
{
	char *save = NULL, *dir = strtok_r(args, " \t", &save);
	char *o = strtok_r(NULL, " \t", &save), *n = strtok_r(NULL, " \t", &save);
	char *rest = strtok_r(NULL, "", &save), *g;
	uint64_t old_spi, new_spi, grace = REKEY_GRACE_MS_DEFAULT;

	if (dir == NULL || (strcmp(dir, "in") != 0 && strcmp(dir, "out") != 0) ||
			number(o, UINT32_MAX, &old_spi) != 0 || number(n, UINT32_MAX, &new_spi) != 0 ||
			rest == NULL) {
		fail(r, "usage: rekey in|out OLD_SPI NEW_SPI aead_algo ALG aead_key KEY"
				" [grace_ms N]");
		return;
	}
	g = strstr(rest, " grace_ms ");
	if (g != NULL) {
		if (dir[0] != 'i' || number(g + 10, 3600000, &grace) != 0) {
			fail(r, "rekey: grace_ms takes 0..3600000, inbound only");
			return;
		}
		*g = '\0';
	}
	if (new_spi == old_spi && dir[0] == 'i') {
		fail(r, "rekey in: the new SPI must differ from the old one");
		return;
	}
	if (dir[0] == 'i')
		rekey_in(gw, (uint32_t)old_spi, (uint32_t)new_spi, rest, (uint32_t)grace, r);
	else
		rekey_out(gw, (uint32_t)old_spi, (uint32_t)new_spi, rest, r);
}

static void
add_or_del(struct gateway *gw, char *rest, int add, struct reply *r, uint8_t origin)
{
	struct sg_conf conf;
	uint64_t spi;

	if (!add && strncmp(rest, "sa ", 3) == 0) {
		char *save = NULL, *d = strtok_r(rest + 3, " \t", &save);
		char *s = strtok_r(NULL, " \t", &save);

		if (d == NULL || (strcmp(d, "in") != 0 && strcmp(d, "out") != 0) ||
				number(s, UINT32_MAX, &spi) != 0 || strtok_r(NULL, " \t", &save)) {
			fail(r, "usage: del sa in|out SPI");
			return;
		}
		del_sa(gw, d[0] == 'i' ? SG_SA_IN : SG_SA_OUT, (uint32_t)spi, r);
		return;
	}
	if (parse(rest, &conf, r) != 0)
		return;
	if (conf.nb_rt + conf.nb_neigh > 0) {
		fail(r, "rt and neigh cannot change live yet; restart with the rule file");
	} else if (conf.nb_sa + conf.nb_sp != 1) {
		fail(r, "one sa or sp rule per request");
	} else if (conf.nb_sa == 1) {
		conf.sa[0].prm.origin = origin;
		if (add)
			add_sa(gw, &conf.sa[0], r, 0);
		else
			fail(r, "usage: del sa in|out SPI");
	} else if (add) {
		conf.sp[0].origin = origin;
		add_sp(gw, &conf.sp[0], r);
	} else {
		del_sp(gw, &conf.sp[0], r);
	}
	sg_conf_free(&conf);
}

/* "client NAME": what this connection adds from now on is NAME's. */
static void
client(struct gateway *gw, const char *name, struct reply *r, uint8_t *origin)
{
	size_t i, n = strlen(name);
	int o;

	for (i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
				name[i] == '-' || name[i] == '_' || name[i] == '.'))
			break;
	if (n == 0 || n >= GATEWAY_ORIGIN_NAME || i < n) {
		fail(r, "usage: client NAME (1..%d of a-z 0-9 - _ .)", GATEWAY_ORIGIN_NAME - 1);
		return;
	}
	o = origin_find(gw, name);
	if (o == GATEWAY_ORIGIN_RULES) {
		fail(r, "client: 'rules' is the rule file's");
		return;
	}
	for (i = 0; o < 0 && i < GATEWAY_ORIGINS; i++) {
		if (gw->origin[i][0] == '\0') {
			snprintf(gw->origin[i], GATEWAY_ORIGIN_NAME, "%s", name);
			o = (int)i;
		}
	}
	if (o < 0) {
		fail(r, "client: %d client names in use already", GATEWAY_ORIGINS);
		return;
	}
	*origin = (uint8_t)o;
	reply_printf(r, "{\"ok\":true,\"client\":\"%s\"}", name);
}

/* "flush origin NAME": the policies NAME's clients added go in one SPD
 * swap (or none do); then their SAs, except one a policy of another origin
 * still names, which stays (counted as kept). What a client left behind
 * when it died (a killed charon) goes this way, when it starts again. */
static void
flush_origin(struct gateway *gw, const char *name, struct reply *r)
{
	int o = origin_find(gw, name);
	struct sg_conf_sp *kept_sp;
	uint32_t i, n = 0, nb_sa = 0, kept = 0, failed = 0, nb_old = gw->nb_sp;
	uint32_t (*doomed)[2] = NULL, nb_doomed = 0, j;
	char why[256];
	uint16_t w;

	if (o < 0 || o == GATEWAY_ORIGIN_RULES) {
		fail(r, "flush origin %.32s: %s", name, o < 0 ? "no client gave that name" :
				"the rule file's SAs and policies stay (restart without them)");
		return;
	}
	kept_sp = malloc((gw->nb_sp + 1) * sizeof(*kept_sp));
	for (w = 0; w < gw->nb_workers; w++)
		nb_sa += sg_sa_table_count(gw->shards[w]->sat);
	doomed = malloc((nb_sa + 1) * sizeof(*doomed));
	if (kept_sp == NULL || doomed == NULL) {
		free(kept_sp);
		free(doomed);
		fail(r, "out of memory");
		return;
	}
	for (i = 0; i < gw->nb_sp; i++)
		if (gw->sp[i].origin != o)
			kept_sp[n++] = gw->sp[i];
	if (n != gw->nb_sp) {
		struct sg_conf_sp *old = gw->sp;

		gw->sp = kept_sp;
		gw->nb_sp = n;
		if (publish_spds(gw, r) != 0) {
			gw->sp = old;
			gw->nb_sp = nb_old;
			free(kept_sp);
			free(doomed);
			return;
		}
		kept_sp = old;
	}
	free(kept_sp);
	for (w = 0; w < gw->nb_workers; w++) {
		const struct sg_sa_table *t = gw->shards[w]->sat;

		for (i = 0; i < sg_sa_table_capacity(t); i++) {
			const struct sg_sa *sa = sg_sa_table_get(t, i);

			if (sa != NULL && sa->origin == o && nb_doomed < nb_sa) {
				doomed[nb_doomed][0] = sa->dir;
				doomed[nb_doomed++][1] = sg_sa_spi(sa);
			}
		}
	}
	for (j = 0; j < nb_doomed; j++) {
		enum sg_sa_dir dir = (enum sg_sa_dir)doomed[j][0];
		uint32_t spi = doomed[j][1];

		/* a rekey in grace that involves it is over */
		i = 0;
		while (dir == SG_SA_IN && i < nb_pending) {
			if (pending[i].spi == spi || pending[i].new_spi == spi)
				pending[i] = pending[--nb_pending];
			else
				i++;
		}
		if (gateway_policy_names(gw, dir, spi)) {
			kept++;
		} else if (control_remove_sa(gw, dir, spi, why, sizeof(why)) != 0) {
			SG_LOG(ERR, "flush origin %s: %s", name, why);
			failed++;
		}
	}
	free(doomed);
	SG_LOG(INFO, "flush origin %s: %u policies, %u SAs removed, %u SAs kept", name,
			nb_old - n, nb_doomed - kept - failed, kept);
	if (failed != 0) {
		fail(r, "flush origin %s: %u SAs could not be removed (see the log)", name, failed);
		return;
	}
	reply_printf(r, "{\"ok\":true,\"sp\":%u,\"sa\":%u,\"kept\":%u}", nb_old - n,
			nb_doomed - kept, kept);
}

void
control_request(struct gateway *gw, char *line, struct reply *r, uint8_t *origin)
{
	char *cmd = line, *rest;
	uint64_t page = 0;

	while (*cmd == ' ' || *cmd == '\t')
		cmd++;
	rest = strpbrk(cmd, " \t");
	if (rest != NULL) {
		*rest++ = '\0';
		while (*rest == ' ' || *rest == '\t')
			rest++;
	} else {
		rest = cmd + strlen(cmd);
	}
	if (strcmp(cmd, "add") == 0 || strcmp(cmd, "del") == 0) {
		add_or_del(gw, rest, cmd[0] == 'a', r, *origin);
	} else if (strcmp(cmd, "rekey") == 0) {
		rekey(gw, rest, r);
	} else if (strcmp(cmd, "list") == 0 && strncmp(rest, "sa", 2) == 0 &&
			(rest[2] == '\0' || (rest[2] == ' ' && number(rest + 3, UINT32_MAX, &page) == 0))) {
		control_list_sa(gw, page, r);
	} else if (strcmp(cmd, "list") == 0 && strcmp(rest, "sp") == 0) {
		control_list_sp(gw, r);
	} else if (strcmp(cmd, "list") == 0 && strcmp(rest, "sessions") == 0) {
		control_list_sessions(gw, r);
	} else if (strcmp(cmd, "list") == 0 && strcmp(rest, "neigh") == 0) {
		slowpath_list_neigh(gw, r);
	} else if (strcmp(cmd, "events") == 0 &&
			(rest[0] == '\0' || number(rest, UINT64_MAX, &page) == 0)) {
		control_list_events(gw, page, r);
	} else if (strcmp(cmd, "spi") == 0 || strcmp(cmd, "query") == 0 ||
			strcmp(cmd, "move") == 0) {
		keymgr_request(gw, cmd, rest, r);
	} else if (strcmp(cmd, "client") == 0) {
		client(gw, rest, r, origin);
	} else if (strcmp(cmd, "flush") == 0 && strncmp(rest, "origin ", 7) == 0) {
		flush_origin(gw, rest + 7, r);
	} else if (strcmp(cmd, "help") == 0) {
		reply_printf(r, "{\"ok\":true,\"commands\":[\"add sa|sp RULE\",\"del sa in|out SPI\","
				"\"del sp RULE\",\"rekey in|out OLD NEW CRYPTO [grace_ms N]\","
				"\"list sa [PAGE]\",\"list sp\",\"list sessions\",\"list neigh\","
				"\"events [SINCE_ID]\",\"spi alloc [MIN MAX]\",\"spi free SPI\","
				"\"query sa in|out SPI\",\"move sa in|out SPI peer ADDR [port PORT]\","
				"\"client NAME\",\"flush origin NAME\"]}");
	} else {
		fail(r, "unknown request '%.32s' (try help)", cmd);
	}
	if (r->failed) {
		r->failed = 0;
		fail(r, "out of memory");
	}
}
