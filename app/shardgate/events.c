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
			act(gw, &ev);
		}
	}
	gateway_seq_flush(gw);
}
