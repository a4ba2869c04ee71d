/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Events from the workers' timer sweeps and byte/packet limits. Soft
 * lifetime: logged for a key manager (telemetry /shardgate/events, control
 * "events"). Hard lifetime or idle timeout: the worker has already stopped
 * the SA; the control core removes it. An outbound SA that a policy still
 * names stays in place, dead, so its traffic is dropped and counted
 * (sa_expired) rather than sent in the clear, until a rekey revives it or
 * the policy goes. Requests for more reserved sequence numbers are the
 * gateway's own business: persisted in one batch per poll (seq.c), not
 * logged.
 */
#include <stdio.h>

#include <arpa/inet.h>

#include "control.h"
#include "gateway.h"
#include "sg_common.h"

static void
act(struct gateway *gw, const struct sg_shard_event *ev)
{
	const char *dir = ev->dir == SG_SA_IN ? "in" : "out";
	char why[256];

	if (ev->type == SG_SHARD_EV_SOFT_EXPIRED) {
		SG_LOG(INFO, "sa %s %u: soft lifetime reached, rekey needed", dir, ev->spi);
		return;
	}
	SG_LOG(INFO, "sa %s %u: %s", dir, ev->spi, ev->type == SG_SHARD_EV_IDLE ?
			"idle timeout, removing it" : "hard lifetime reached, removing it");
	if (ev->dir == SG_SA_OUT && gateway_policy_names(gw, SG_SA_OUT, ev->spi)) {
		SG_LOG(INFO, "sa out %u: a policy names it: kept, dead, until rekeyed", ev->spi);
		return;
	}
	/* Inbound policy names a tag, not the SA: removing it is safe. */
	if (control_remove_sa(gw, (enum sg_sa_dir)ev->dir, ev->spi, why, sizeof(why)) != 0)
		SG_LOG(WARNING, "%s", why);
}

/*
 * A NAT rebinding (RFC 3948, RFC 7296 §2.23): an authentic packet of inbound
 * UDP SA ev->spi came from a new address or port, and its worker already
 * takes from there. The outbound UDP SAs to the old mapping, from the same
 * local address, now send to the new one; sessions follow.
 */
static void
peer_moved(struct gateway *gw, const struct sg_shard_event *ev)
{
	const struct sg_sa *in = sg_sa_table_get(gw->shards[ev->shard]->sat, ev->idx);
	uint32_t local, old = rte_be_to_cpu_32(ev->old_peer_be), now = rte_be_to_cpu_32(ev->peer_be);
	char from[INET_ADDRSTRLEN], to[INET_ADDRSTRLEN];
	unsigned int moved = 0, i;
	uint16_t w;

	inet_ntop(AF_INET, &ev->old_peer_be, from, sizeof(from));
	inet_ntop(AF_INET, &ev->peer_be, to, sizeof(to));
	SG_LOG(INFO, "sa in %u: peer moved from %s:%u to %s:%u (NAT rebinding)", ev->spi, from,
			rte_be_to_cpu_16(ev->old_port_be), to, rte_be_to_cpu_16(ev->port_be));
	if (in == NULL || sg_sa_spi(in) != ev->spi)
		return; /* gone since */
	local = rte_be_to_cpu_32(in->tun_dst_be);
	if (old != now) {
		gateway_session_unbind(gw, local, old);
		gateway_session_bind(gw, local, now, ev->shard);
	}
	for (w = 0; w < gw->nb_workers; w++) {
		const struct sg_sa_table *t = gw->shards[w]->sat;

		for (i = 0; i < sg_sa_table_capacity(t); i++) {
			const struct sg_sa *sa = sg_sa_table_get(t, i);
			struct sg_shard_cmd *c;
			int ret;

			if (sa == NULL || sa->dir != SG_SA_OUT || !(sa->flags & SG_SA_F_UDP) ||
					sa->tun_src_be != in->tun_dst_be || sa->tun_dst_be != ev->old_peer_be ||
					sa->udp_dport_be != ev->old_port_be)
				continue;
			c = sg_shard_cmd_alloc(SG_SHARD_SA_PEER);
			if (c == NULL)
				break;
			c->idx = i;
			c->prm.dir = SG_SA_OUT;
			c->prm.spi = sg_sa_spi(sa);
			c->prm.tun_dst = now;
			c->prm.udp_dport = rte_be_to_cpu_16(ev->port_be);
			ret = sg_shard_call(gw->shards[w], c, GATEWAY_CALL_TIMEOUT_US);
			if (ret == -ETIMEDOUT) {
				SG_LOG(WARNING, "sa out %u: worker %u did not answer the move",
						sg_sa_spi(sa), w);
				continue;
			}
			if (ret == 0 && c->result == 0) {
				moved++;
				if (old != now) {
					gateway_session_unbind(gw, local, old);
					gateway_session_bind(gw, local, now, w);
				}
			}
			sg_shard_cmd_free(c);
		}
	}
	SG_LOG(INFO, "sa in %u: %u outbound SA(s) follow the peer to %s:%u", ev->spi, moved, to,
			rte_be_to_cpu_16(ev->port_be));
}

void
gateway_poll_events(struct gateway *gw)
{
	struct sg_shard_event ev;
	uint16_t w;

	for (w = 0; w < gw->nb_workers; w++) {
		while (sg_shard_poll_event(gw->shards[w], &ev)) {
			if (ev.type == SG_SHARD_EV_SEQ_LOW) {
				gateway_seq_ask(gw, w, &ev);
				continue;
			}
			sg_event_log_add(&gw->events, &ev);
			if (ev.type == SG_SHARD_EV_PEER_MOVED)
				peer_moved(gw, &ev);
			else
				act(gw, &ev);
		}
	}
	gateway_seq_flush(gw);
}
