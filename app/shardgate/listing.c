/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control requests that only read: list sa [PAGE], list sp, list
 * sessions, events [SINCE_ID] (requests.c dispatches them; list neigh is
 * slowpath_nl.c's).
 */
#include <inttypes.h>
#include <stdio.h>

#include <arpa/inet.h>
#include <rte_common.h>
#include <rte_hash.h>

#include "control.h"
#include "gateway.h"
#include "sg_conf.h"

/* SAs per "list sa" page. */
#define LIST_PAGE 256

static const char *
dir_name(enum sg_sa_dir d)
{
	return d == SG_SA_IN ? "in" : "out";
}

const char *
gateway_origin_name(const struct gateway *gw, uint8_t o)
{
	return o < GATEWAY_ORIGINS && gw->origin[o][0] != '\0' ? gw->origin[o] : "?";
}

/* The SA's algorithms in ipsec-secgw's words: "aead", or "cipher" and "auth". */
static void
alg_json(struct reply *r, const struct sg_sa *sa)
{
	enum sg_auth a = sg_crypto_xform_auth(sa->xform);
	const char *c = sg_crypto_cipher_name(sg_crypto_xform_cipher(sa->xform));

	if (a == SG_AUTH_AEAD)
		reply_printf(r, ",\"aead\":\"%s\"", c);
	else
		reply_printf(r, ",\"cipher\":\"%s\",\"auth\":\"%s\"", c, sg_crypto_auth_name(a));
	reply_printf(r, ",\"mode\":\"%s\"", sa->mode == SG_SA_TRANSPORT4 ? "transport" :
			"ipv4-tunnel");
}

void
control_list_sa(struct gateway *gw, uint64_t page, struct reply *r)
{
	uint64_t seen = 0, first = page * LIST_PAGE, total = 0;
	uint32_t shown = 0, i;
	uint16_t w;

	for (w = 0; w < gw->nb_workers; w++)
		total += sg_sa_table_count(gw->shards[w]->sat);
	reply_printf(r, "{\"ok\":true,\"total\":%" PRIu64 ",\"page\":%" PRIu64 ",\"sa\":[",
			total, page);
	for (w = 0; w < gw->nb_workers && shown < LIST_PAGE; w++) {
		const struct sg_sa_table *t = gw->shards[w]->sat;

		for (i = 0; i < sg_sa_table_capacity(t) && shown < LIST_PAGE; i++) {
			const struct sg_sa *sa = sg_sa_table_get(t, i);

			if (sa == NULL || seen++ < first)
				continue;
			reply_printf(r, "%s{\"dir\":\"%s\",\"spi\":%u,\"lcore\":%u,\"origin\":\"%s\","
					"\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64, shown ? "," : "",
					dir_name(sa->dir), sg_sa_spi(sa), sg_sa_table_owner(t),
					gateway_origin_name(gw, sa->origin), sa->packets, sa->bytes);
			alg_json(r, sa);
			if (sa->dir == SG_SA_OUT)
				reply_printf(r, ",\"seq\":%" PRIu64 ",\"seq_reserved\":%" PRIu64 "}",
						sa->seq, sa->seq_limit);
			else
				reply_printf(r, ",\"seq\":%" PRIu64 ",\"auth_fail\":%" PRIu64
						",\"replay_drop\":%" PRIu64 "}",
						sa->replay != NULL ? sa->replay->top : 0, sa->auth_fail,
						sa->replay_drop);
			shown++;
		}
	}
	reply_printf(r, "]}");
}

void
control_list_events(struct gateway *gw, uint64_t since, struct reply *r)
{
	struct sg_event_rec rec[SG_EVENT_LOG_SIZE];
	unsigned int i, n;

	n = sg_event_log_read(&gw->events, since, rec, RTE_DIM(rec));
	/* instance: this run's first id, so a client sees a restart */
	reply_printf(r, "{\"ok\":true,\"instance\":%" PRIu64 ",\"events\":[",
			gw->events.first_id);
	for (i = 0; i < n; i++) {
		const struct sg_shard_event *ev = &rec[i].ev;

		reply_printf(r, "%s{\"id\":%" PRIu64 ",\"unix_ms\":%" PRIu64 ",\"type\":\"%s\","
				"\"dir\":\"%s\",\"spi\":%u,\"lcore\":%u", i ? "," : "", rec[i].id,
				rec[i].unix_ms, sg_shard_event_name(ev->type), dir_name(ev->dir),
				ev->spi, gw->workers[ev->shard]->lcore_id);
		if (ev->type == SG_SHARD_EV_PEER_MOVED) {
			/* where the peer went, and where it was (a NAT rebinding) */
			char to[INET_ADDRSTRLEN], from[INET_ADDRSTRLEN];

			inet_ntop(AF_INET, &ev->peer_be, to, sizeof(to));
			inet_ntop(AF_INET, &ev->old_peer_be, from, sizeof(from));
			reply_printf(r, ",\"peer\":\"%s\",\"port\":%u,\"old_peer\":\"%s\","
					"\"old_port\":%u", to, rte_be_to_cpu_16(ev->port_be), from,
					rte_be_to_cpu_16(ev->old_port_be));
		}
		reply_printf(r, "}");
	}
	reply_printf(r, "]}");
}

void
control_list_sp(struct gateway *gw, struct reply *r)
{
	static const char *const act[] = {"none", "protect", "bypass", "discard"};
	uint32_t i;

	reply_printf(r, "{\"ok\":true,\"sp\":[");
	for (i = 0; i < gw->nb_sp; i++) {
		const struct sg_conf_sp *sp = &gw->sp[i];
		struct in_addr s = {.s_addr = htonl(sp->rule.src)};
		struct in_addr d = {.s_addr = htonl(sp->rule.dst)};
		char sb[INET_ADDRSTRLEN], db[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &s, sb, sizeof(sb));
		inet_ntop(AF_INET, &d, db, sizeof(db));
		reply_printf(r, "%s{\"dir\":\"%s\",\"action\":\"%s\",\"spi\":%u,\"pri\":%u,"
				"\"src\":\"%s/%u\",\"dst\":\"%s/%u\",\"origin\":\"%s\"}", i ? "," : "",
				dir_name(sp->dir), act[sp->rule.action & 3], sp->spi, sp->rule.priority, sb,
				sp->rule.src_depth, db, sp->rule.dst_depth, gateway_origin_name(gw, sp->origin));
	}
	reply_printf(r, "]}");
}

void
control_list_sessions(struct gateway *gw, struct reply *r) /* data: SAs << 16 | worker */
{
	const void *key;
	void *data;
	uint32_t it = 0, n = 0;

	reply_printf(r, "{\"ok\":true,\"sessions\":[");
	while (rte_hash_iterate(gw->peers, &key, &data, &it) >= 0) {
		uint64_t k = *(const uint64_t *)key;
		struct in_addr l = {.s_addr = htonl((uint32_t)(k >> 32))};
		struct in_addr p = {.s_addr = htonl((uint32_t)k)};
		char lb[INET_ADDRSTRLEN], pb[INET_ADDRSTRLEN];
		uint16_t w = (uint16_t)((uintptr_t)data & 0xffff);

		inet_ntop(AF_INET, &l, lb, sizeof(lb));
		inet_ntop(AF_INET, &p, pb, sizeof(pb));
		reply_printf(r, "%s{\"local\":\"%s\",\"peer\":\"%s\",\"lcore\":%u,\"sa\":%lu}",
				n++ ? "," : "", lb, pb, gw->workers[w]->lcore_id,
				(unsigned long)((uintptr_t)data >> 16));
	}
	reply_printf(r, "]}");
}
