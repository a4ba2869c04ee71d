/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "gateway.h"
#include "sg_common.h"
#include "sg_crypto.h"

int
gateway_check_conf(struct gateway *gw, char *err, size_t errlen)
{
	struct sg_conf *c = &gw->conf;
	const struct args *a = &gw->args;
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

		if (p->replay_win == SG_CONF_UNSET)
			p->replay_win = a->replay_win != SG_CONF_UNSET ? a->replay_win :
					SG_REPLAY_WIN_DEFAULT;
		if (a->esn)
			p->esn = true;
		if (p->dir == SG_SA_IN && p->esn && p->replay_win == 0) {
			snprintf(err, errlen, "%s:%u: sa in %u: ESN needs a replay window (-w 0 given)",
					c->file, c->sa[i].line, p->spi);
			return -1;
		}
	}
	if (c->nb_sa > a->sa_capacity) {
		snprintf(err, errlen, "%s: %u SAs exceed --max-sa %u", c->file, c->nb_sa,
				a->sa_capacity);
		return -1;
	}
	return 0;
}

/* Resolve each policy's SPI to its SA index and build one SPD per direction. */
static struct sg_spd *
build_spd(struct gateway *gw, enum sg_sa_dir dir, const char *name)
{
	const struct sg_conf *c = &gw->conf;
	struct sg_sp_rule *rules;
	struct sg_spd *spd;
	uint32_t i, n = 0;

	rules = calloc(c->nb_sp + 1, sizeof(*rules));
	if (rules == NULL)
		return NULL;
	for (i = 0; i < c->nb_sp; i++) {
		if (c->sp[i].dir != dir)
			continue;
		rules[n] = c->sp[i].rule;
		if (rules[n].action == SG_SP_PROTECT) {
			rules[n].sa_idx = sg_sa_table_find(gw->sat, dir, c->sp[i].spi);
			if (rules[n].sa_idx == SG_SA_NONE) {
				SG_LOG(ERR, "%s:%u: sp: no SA %u", c->file, c->sp[i].line, c->sp[i].spi);
				free(rules);
				rte_errno = EINVAL;
				return NULL;
			}
		}
		n++;
	}
	spd = sg_spd_create(name, (int)rte_socket_id(), rules, n);
	free(rules);
	return spd;
}

int
gateway_setup_rules(struct gateway *gw)
{
	const struct sg_conf *c = &gw->conf;
	uint32_t i;
	int ret;

	gw->ctl_mgr = sg_crypto_mgr_create((int)rte_socket_id());
	if (gw->ctl_mgr == NULL) {
		SG_LOG(ERR, "cannot create the ipsec-mb manager: %s", rte_strerror(rte_errno));
		return -1;
	}
	SG_LOG(INFO, "ipsec-mb %s, %s code path", imb_get_version_str(),
			sg_crypto_mgr_arch(gw->ctl_mgr));
	gw->sat = sg_sa_table_create("sg_sa", gw->args.sa_capacity, (int)rte_socket_id());
	if (gw->sat == NULL) {
		SG_LOG(ERR, "cannot create the SA table: %s", rte_strerror(rte_errno));
		return -1;
	}
	for (i = 0; i < c->nb_sa; i++) {
		/* Spread SAs over workers; each has exactly one owner. */
		const struct sg_dp_lcore *owner = gw->workers[i % gw->nb_workers];

		ret = sg_sa_table_add(gw->sat, &c->sa[i].prm, gw->ctl_mgr, owner->lcore_id,
				owner->socket);
		if (ret < 0) {
			SG_LOG(ERR, "%s:%u: sa %u: %s", c->file, c->sa[i].line, c->sa[i].prm.spi,
					strerror(-ret));
			return -1;
		}
	}
	gw->spd_in = build_spd(gw, SG_SA_IN, "sg_spd_in");
	gw->spd_out = build_spd(gw, SG_SA_OUT, "sg_spd_out");
	if (gw->spd_in == NULL || gw->spd_out == NULL) {
		SG_LOG(ERR, "cannot build the policy databases: %s", rte_strerror(rte_errno));
		return -1;
	}
	gw->ctx->sat = gw->sat;
	gw->ctx->spd_in = gw->spd_in;
	gw->ctx->spd_out = gw->spd_out;

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
		if (!gw->ctx->port[gw->ports[i]].has_neigh)
			SG_LOG(WARNING, "port %u has no neigh line: packets routed there are dropped"
					" (no_route)", gw->ports[i]);
	}
	return 0;
}
