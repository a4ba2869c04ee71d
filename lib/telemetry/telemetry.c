/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_spinlock.h>
#include <rte_telemetry.h>

#include "sg_common.h"
#include "sg_dp.h"
#include "sg_sa.h"
#include "sg_shard.h"
#include "sg_telemetry.h"

/* The telemetry thread reads src under this lock; detach takes it too. */
static rte_spinlock_t lock = RTE_SPINLOCK_INITIALIZER;
static struct sg_telemetry_src src;
static int attached;
static int registered;

/* Sum of every worker's counters (read racily: each is a plain u64). */
static void
sum_stats(struct sg_dp_stats *t)
{
	uint16_t w;

	memset(t, 0, sizeof(*t));
	for (w = 0; w < src.nb_workers; w++)
		sg_dp_stats_add(t, &src.workers[w]->stats);
	if (src.ctx != NULL && src.ctx->ctl_stats != NULL)
		sg_dp_stats_add(t, src.ctx->ctl_stats); /* the slow path's, on the control core */
}

static uint32_t
sa_count(void)
{
	uint32_t n = 0;
	uint16_t w;

	for (w = 0; w < src.nb_workers; w++)
		n += sg_sa_table_count(src.workers[w]->shard->sat);
	return n;
}

static void
add_drops(struct rte_tel_data *d, const struct sg_dp_stats *s)
{
	char key[RTE_TEL_MAX_STRING_LEN];
	unsigned int r;

	rte_tel_data_add_dict_u64(d, "drops", sg_dp_stats_drops(s));
	for (r = 0; r < SG_DROP_MAX; r++) {
		snprintf(key, sizeof(key), "drop_%s", sg_drop_name(r));
		rte_tel_data_add_dict_u64(d, key, s->drops[r]);
	}
}

static void
add_counters(struct rte_tel_data *d, const struct sg_dp_stats *s)
{
	rte_tel_data_add_dict_u64(d, "rx", s->rx);
	rte_tel_data_add_dict_u64(d, "tx", s->tx);
	rte_tel_data_add_dict_u64(d, "inbound", s->inbound);
	rte_tel_data_add_dict_u64(d, "outbound", s->outbound);
	rte_tel_data_add_dict_u64(d, "bypass", s->bypass);
	rte_tel_data_add_dict_u64(d, "handoff_tx", s->handoff_tx);
	rte_tel_data_add_dict_u64(d, "handoff_rx", s->handoff_rx);
	rte_tel_data_add_dict_u64(d, "expired", s->expired);
	rte_tel_data_add_dict_u64(d, "events_lost", s->events_lost);
	rte_tel_data_add_dict_u64(d, "punt_rx", s->punt_rx);
	rte_tel_data_add_dict_u64(d, "punt_tx", s->punt_tx);
	rte_tel_data_add_dict_u64(d, "punt_drop", s->punt_drop);
	rte_tel_data_add_dict_u64(d, "natt_rx", s->natt_rx);
	rte_tel_data_add_dict_u64(d, "natt_float", s->natt_float);
	rte_tel_data_add_dict_u64(d, "neigh_resolve", s->neigh_resolve);
	rte_tel_data_add_dict_u64(d, "neigh_resolve_fail", s->neigh_resolve_fail);
	rte_tel_data_add_dict_u64(d, "tx_made", s->tx_made);
	rte_tel_data_add_dict_u64(d, "frag_out", s->frag_out);
	rte_tel_data_add_dict_u64(d, "icmp_tx", s->icmp_tx);
	rte_tel_data_add_dict_u64(d, "icmp_limited", s->icmp_limited);
	rte_tel_data_add_dict_u64(d, "reasm_out", s->reasm_out);
	rte_tel_data_add_dict_u64(d, "frag_merged", s->frag_merged);
	rte_tel_data_add_dict_u64(d, "frag_held", s->frag_held);
	add_drops(d, s);
}

static int
cmd_stats(const char *cmd __rte_unused, const char *params __rte_unused, struct rte_tel_data *d)
{
	struct sg_dp_stats t;

	rte_spinlock_lock(&lock);
	if (!attached) {
		rte_spinlock_unlock(&lock);
		return -ENODEV;
	}
	sum_stats(&t);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_int(d, "workers", src.nb_workers);
	rte_tel_data_add_dict_u64(d, "sa_count", sa_count());
	add_counters(d, &t);
	rte_spinlock_unlock(&lock);
	return 0;
}

static int
cmd_lcores(const char *cmd __rte_unused, const char *params __rte_unused, struct rte_tel_data *d)
{
	char key[RTE_TEL_MAX_STRING_LEN];
	unsigned int st;
	uint16_t w;

	rte_spinlock_lock(&lock);
	if (!attached) {
		rte_spinlock_unlock(&lock);
		return -ENODEV;
	}
	rte_tel_data_start_dict(d);
	for (w = 0; w < src.nb_workers; w++) {
		const struct sg_dp_lcore *lc = src.workers[w];
		struct sg_dp_stats s;
		struct rte_tel_data *c = rte_tel_data_alloc();

		if (c == NULL)
			break;
		memcpy(&s, &lc->stats, sizeof(s));
		rte_tel_data_start_dict(c);
		rte_tel_data_add_dict_int(c, "lcore", lc->lcore_id);
		rte_tel_data_add_dict_int(c, "socket", lc->socket);
		rte_tel_data_add_dict_u64(c, "sa_count", sg_sa_table_count(lc->shard->sat));
		add_counters(c, &s);
		rte_tel_data_add_dict_u64(c, "polls", s.polls);
		rte_tel_data_add_dict_u64(c, "busy_cycles", s.busy_cycles);
		for (st = 0; st < SG_STAGE_MAX; st++) {
			snprintf(key, sizeof(key), "cycles_%s", sg_dp_stage_name(st));
			/* Sampled: one burst in 2^shift was timed. */
			rte_tel_data_add_dict_u64(c, key,
					s.stage_cycles[st] << lc->stage_sample_shift);
		}
		/* Handed-off packets cost their owner cycles too: divide by all work. */
		rte_tel_data_add_dict_u64(c, "cycles_per_packet",
				s.rx + s.handoff_rx ? s.busy_cycles / (s.rx + s.handoff_rx) : 0);
		snprintf(key, sizeof(key), "%u", lc->lcore_id);
		rte_tel_data_add_dict_container(d, key, c, 0);
	}
	rte_tel_data_add_dict_u64(d, "tsc_hz", rte_get_tsc_hz());
	rte_spinlock_unlock(&lock);
	return 0;
}

/* Milliseconds until @p tsc, 0 when past; UINT64_MAX (reported -1) when unset. */
static int64_t
ms_until(uint64_t tsc, uint64_t now)
{
	if (tsc == 0)
		return -1;
	return tsc > now ? (int64_t)((tsc - now) * 1000 / rte_get_tsc_hz()) : 0;
}

static int
add_sa(struct rte_tel_data *d, const struct sg_sa *sa, const struct sg_shard *sh)
{
	uint64_t now = rte_rdtsc();
	uint32_t idle;
	char key[RTE_TEL_MAX_STRING_LEN];
	struct rte_tel_data *c = rte_tel_data_alloc();

	if (c == NULL)
		return -ENOMEM;
	rte_tel_data_start_dict(c);
	rte_tel_data_add_dict_u64(c, "spi", sg_sa_spi(sa));
	rte_tel_data_add_dict_string(c, "dir", sa->dir == SG_SA_IN ? "in" : "out");
	rte_tel_data_add_dict_string(c, "mode", sa->mode == SG_SA_TRANSPORT4 ? "transport" :
			"ipv4-tunnel");
	/* ipsec-secgw's words: an AEAD's "aead", else "cipher" and "auth". */
	if (sg_crypto_xform_auth(sa->xform) == SG_AUTH_AEAD) {
		rte_tel_data_add_dict_string(c, "aead",
				sg_crypto_cipher_name(sg_crypto_xform_cipher(sa->xform)));
	} else {
		rte_tel_data_add_dict_string(c, "cipher",
				sg_crypto_cipher_name(sg_crypto_xform_cipher(sa->xform)));
		rte_tel_data_add_dict_string(c, "auth",
				sg_crypto_auth_name(sg_crypto_xform_auth(sa->xform)));
	}
	rte_tel_data_add_dict_int(c, "owner_lcore", sg_sa_table_owner(sh->sat));
	rte_tel_data_add_dict_u64(c, "packets", sa->packets);
	rte_tel_data_add_dict_u64(c, "bytes", sa->bytes);
	if (sa->dir == SG_SA_IN) {
		rte_tel_data_add_dict_u64(c, "auth_fail", sa->auth_fail);
		rte_tel_data_add_dict_u64(c, "replay_drop", sa->replay_drop);
	} else {
		/* The last number the state file covers: none above it goes out. */
		rte_tel_data_add_dict_u64(c, "seq_reserved", sa->seq_limit);
	}
	rte_tel_data_add_dict_u64(c, "other_drop", sa->other_drop);
	/* Outbound: last sequence number sent; inbound: highest authenticated. */
	rte_tel_data_add_dict_u64(c, "seq", sa->dir == SG_SA_OUT ? sa->seq :
			(sg_sa_replay(sa) != NULL ? sa->replay->top : 0));
	rte_tel_data_add_dict_int(c, "esn", (sa->flags & SG_SA_F_ESN) != 0);
	if (sa->flags & SG_SA_F_UDP) {
		/* ESP in UDP: the tunnel as it stands, after any NAT rebinding */
		char a[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &sa->tun_src_be, a, sizeof(a));
		rte_tel_data_add_dict_string(c, "tun_src", a);
		inet_ntop(AF_INET, &sa->tun_dst_be, a, sizeof(a));
		rte_tel_data_add_dict_string(c, "tun_dst", a);
		rte_tel_data_add_dict_int(c, "udp_sport", rte_be_to_cpu_16(sa->udp_sport_be));
		rte_tel_data_add_dict_int(c, "udp_dport", rte_be_to_cpu_16(sa->udp_dport_be));
	}
	if (sa->flags & SG_SA_F_TFC) {
		char tfc[SG_SA_TFC_TEXT_LEN];

		rte_tel_data_add_dict_string(c, "tfc_pad", sg_sa_tfc_format(sa->tfc, tfc,
				sizeof(tfc)));
	}
	rte_tel_data_add_dict_u64(c, "replay_window", sg_sa_replay(sa) != NULL ?
			sa->replay->win : 0);
	rte_tel_data_add_dict_int(c, "dead", sa->dead);
	rte_tel_data_add_dict_int(c, "soft_expired", sa->soft_fired);
	/* Remaining lifetime (RFC 4301 §4.4.2.1); -1 where none is set. */
	rte_tel_data_add_dict_int(c, "soft_ms_left", (int)RTE_MIN(ms_until(sa->soft_tsc, now),
			(int64_t)INT32_MAX));
	rte_tel_data_add_dict_int(c, "hard_ms_left", (int)RTE_MIN(ms_until(sa->hard_tsc, now),
			(int64_t)INT32_MAX));
	idle = sa->idle_ticks ? sg_timer_get(sh->timer, sa->idx, SG_TIMER_IDLE) : SG_TIMER_NEVER;
	rte_tel_data_add_dict_int(c, "idle_ms_left", idle == SG_TIMER_NEVER ? -1 :
			(int)((idle > sh->timer->now ? idle - sh->timer->now : 0) *
			(uint64_t)sh->timer->tick_us / 1000));
	if (sa->life.soft_bytes)
		rte_tel_data_add_dict_u64(c, "soft_bytes_left", sa->life.soft_bytes > sa->bytes ?
				sa->life.soft_bytes - sa->bytes : 0);
	if (sa->life.hard_bytes)
		rte_tel_data_add_dict_u64(c, "hard_bytes_left", sa->life.hard_bytes > sa->bytes ?
				sa->life.hard_bytes - sa->bytes : 0);
	if (sa->life.soft_packets)
		rte_tel_data_add_dict_u64(c, "soft_packets_left",
				sa->life.soft_packets > sa->packets ?
				sa->life.soft_packets - sa->packets : 0);
	if (sa->life.hard_packets)
		rte_tel_data_add_dict_u64(c, "hard_packets_left",
				sa->life.hard_packets > sa->packets ?
				sa->life.hard_packets - sa->packets : 0);
	snprintf(key, sizeof(key), "%s_%u", sa->dir == SG_SA_IN ? "in" : "out", sg_sa_spi(sa));
	return rte_tel_data_add_dict_container(d, key, c, 0);
}

/* "/shardgate/sa[,PAGE]" or "/shardgate/sa,spi=N". */
static int
cmd_sa(const char *cmd __rte_unused, const char *params, struct rte_tel_data *d)
{
	uint64_t page = 0, spi = UINT64_MAX;
	uint32_t i, cap, seen = 0, first, shown = 0, total;
	uint16_t w;
	char *end;

	if (params != NULL && *params != '\0') {
		int by_spi = strncmp(params, "spi=", 4) == 0;
		const char *p = by_spi ? params + 4 : params;
		uint64_t v;

		if (*p < '0' || *p > '9')
			return -EINVAL;
		errno = 0;
		v = strtoull(p, &end, by_spi ? 0 : 10);
		if (errno != 0 || *end != '\0' || (by_spi && v > UINT32_MAX))
			return -EINVAL;
		if (by_spi)
			spi = v;
		else
			page = v;
	}
	rte_spinlock_lock(&lock);
	if (!attached) {
		rte_spinlock_unlock(&lock);
		return -ENODEV;
	}
	total = sa_count();
	first = (uint32_t)RTE_MIN(page * SG_TELEMETRY_SA_PAGE, (uint64_t)UINT32_MAX);
	rte_tel_data_start_dict(d);
	for (w = 0; w < src.nb_workers && shown < SG_TELEMETRY_SA_PAGE; w++) {
		const struct sg_sa_table *sat = src.workers[w]->shard->sat;

		cap = sg_sa_table_capacity(sat);
		if (spi == UINT64_MAX && seen + sg_sa_table_count(sat) <= first) {
			seen += sg_sa_table_count(sat); /* skip whole shards before the page */
			continue;
		}
		for (i = 0; i < cap && shown < SG_TELEMETRY_SA_PAGE; i++) {
			const struct sg_sa *sa = sg_sa_table_get(sat, i);

			if (sa == NULL)
				continue;
			if (spi != UINT64_MAX) {
				if (sg_sa_spi(sa) == spi && add_sa(d, sa, src.workers[w]->shard) == 0)
					shown++;
				continue;
			}
			if (seen++ < first)
				continue;
			if (add_sa(d, sa, src.workers[w]->shard) == 0)
				shown++;
		}
	}
	if (spi == UINT64_MAX) {
		rte_tel_data_add_dict_u64(d, "page", page);
		rte_tel_data_add_dict_u64(d, "pages",
				(total + SG_TELEMETRY_SA_PAGE - 1) / SG_TELEMETRY_SA_PAGE);
		rte_tel_data_add_dict_u64(d, "total", total);
	}
	rte_spinlock_unlock(&lock);
	return 0;
}

/* "/shardgate/events[,SINCE]": the events after id SINCE, oldest first. */
static int
cmd_events(const char *cmd __rte_unused, const char *params, struct rte_tel_data *d)
{
	static struct sg_event_rec rec[SG_EVENT_LOG_SIZE];
	char key[RTE_TEL_MAX_STRING_LEN];
	uint64_t since = 0;
	unsigned int i, n, t;
	char *end;

	if (params != NULL && *params != '\0') {
		if (*params < '0' || *params > '9')
			return -EINVAL;
		errno = 0;
		since = strtoull(params, &end, 10);
		if (errno != 0 || *end != '\0')
			return -EINVAL;
	}
	rte_spinlock_lock(&lock);
	if (!attached || src.events == NULL) {
		rte_spinlock_unlock(&lock);
		return -ENODEV;
	}
	rte_tel_data_start_dict(d);
	for (t = 0; t <= SG_SHARD_EV_IDLE; t++)
		rte_tel_data_add_dict_u64(d, sg_shard_event_name(t), src.events->count[t]);
	/* One reply holds 16 KiB: the newest ~40 events fit; page with SINCE. */
	n = sg_event_log_read(src.events, since, rec, RTE_DIM(rec));
	for (i = n > 40 ? n - 40 : 0; i < n; i++) {
		struct rte_tel_data *c = rte_tel_data_alloc();

		if (c == NULL)
			break;
		rte_tel_data_start_dict(c);
		rte_tel_data_add_dict_string(c, "type", sg_shard_event_name(rec[i].ev.type));
		rte_tel_data_add_dict_string(c, "dir", rec[i].ev.dir == SG_SA_IN ? "in" : "out");
		rte_tel_data_add_dict_u64(c, "spi", rec[i].ev.spi);
		rte_tel_data_add_dict_u64(c, "unix_ms", rec[i].unix_ms);
		if (rec[i].ev.type == SG_SHARD_EV_PEER_MOVED) {
			char a[INET_ADDRSTRLEN];

			inet_ntop(AF_INET, &rec[i].ev.peer_be, a, sizeof(a));
			rte_tel_data_add_dict_string(c, "peer", a);
			rte_tel_data_add_dict_int(c, "port", rte_be_to_cpu_16(rec[i].ev.port_be));
		}
		snprintf(key, sizeof(key), "%" PRIu64, rec[i].id);
		rte_tel_data_add_dict_container(d, key, c, 0);
	}
	rte_spinlock_unlock(&lock);
	return 0;
}

int
sg_telemetry_register(const struct sg_telemetry_src *s)
{
	int ret;

	rte_spinlock_lock(&lock);
	src = *s;
	attached = 1;
	rte_spinlock_unlock(&lock);
	if (registered)
		return 0;
	ret = rte_telemetry_register_cmd("/shardgate/stats", cmd_stats,
			"Totals over all workers, drops by reason. No parameters");
	if (ret == 0)
		ret = rte_telemetry_register_cmd("/shardgate/lcores", cmd_lcores,
				"Per worker lcore: rx, tx, drops by reason, cycles per packet");
	if (ret == 0)
		ret = rte_telemetry_register_cmd("/shardgate/sa", cmd_sa,
				"Per SA counters. Parameters: page number (48 SAs a page) or spi=N");
	if (ret == 0)
		ret = rte_telemetry_register_cmd("/shardgate/events", cmd_events,
				"Soft/hard lifetime and idle events. Parameter: events after this id");
	if (ret == 0)
		registered = 1;
	return ret;
}

void
sg_telemetry_detach(void)
{
	rte_spinlock_lock(&lock);
	attached = 0;
	memset(&src, 0, sizeof(src));
	rte_spinlock_unlock(&lock);
}
