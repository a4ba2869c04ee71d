/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Requests a key manager (an IKE daemon) needs beyond the rule grammar:
 *
 *   spi alloc [MIN MAX]     reserve an inbound SPI nobody uses or holds
 *   spi free SPI            give a reservation back
 *   query sa in|out SPI     one SA's counters and tunnel ends, without paging "list sa"
 *   move sa in|out SPI peer ADDR [port PORT]
 *                           the SA's peer is now at ADDR (and UDP PORT): an IKE
 *                           daemon's update_sa (MOBIKE, a NAT mapping it heard
 *                           over IKE first)
 *
 * An IKE daemon picks its inbound SPI before the SA exists (RFC 7296
 * §1.3.1: it goes in the CREATE_CHILD_SA exchange), so the gateway holds
 * it until "add sa in SPI" takes it, "spi free" returns it, or
 * RESERVE_TTL_S passes (an exchange that never finished), as XFRM's
 * larval SAs do.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_random.h>

#include "control.h"
#include "gateway.h"
#include "keymgr.h"

/* How long an unused reservation is held. */
#define RESERVE_TTL_S 180
/* Reservations at once: more means a key manager is leaking them. */
#define RESERVE_MAX 4096
/* Random draws before "spi alloc" gives up on a crowded range. */
#define ALLOC_TRIES 64

struct reservation {
	uint32_t spi;
	uint64_t due; /* TSC */
};

static struct reservation res[RESERVE_MAX];
static uint32_t nb_res;

static void
expire_reservations(void)
{
	uint64_t now = rte_get_tsc_cycles();
	uint32_t i = 0;

	while (i < nb_res) {
		if (res[i].due <= now)
			res[i] = res[--nb_res];
		else
			i++;
	}
}

static int
reserved(uint32_t spi)
{
	uint32_t i;

	for (i = 0; i < nb_res; i++)
		if (res[i].spi == spi)
			return 1;
	return 0;
}

void
keymgr_spi_taken(uint32_t spi)
{
	uint32_t i;

	for (i = 0; i < nb_res; i++) {
		if (res[i].spi == spi) {
			res[i] = res[--nb_res];
			return;
		}
	}
}

static void
spi_alloc(struct gateway *gw, uint32_t lo, uint32_t hi, struct reply *r)
{
	uint64_t span = (uint64_t)hi - lo + 1;
	uint32_t spi;
	int i;

	expire_reservations();
	if (nb_res == RESERVE_MAX) {
		keymgr_fail(r, "spi alloc: %u SPIs reserved already; free some (spi free SPI)",
				RESERVE_MAX);
		return;
	}
	for (i = 0; i < ALLOC_TRIES; i++) {
		spi = (uint32_t)(lo + rte_rand_max(span));
		if (gateway_find_sa(gw, SG_SA_IN, spi) == SG_SA_NONE && !reserved(spi))
			break;
	}
	if (i == ALLOC_TRIES) {
		keymgr_fail(r, "spi alloc: no free SPI found in %u..%u", lo, hi);
		return;
	}
	res[nb_res].spi = spi;
	res[nb_res].due = rte_get_tsc_cycles() + (uint64_t)RESERVE_TTL_S * rte_get_tsc_hz();
	nb_res++;
	reply_printf(r, "{\"ok\":true,\"spi\":%u,\"reserved_s\":%u}", spi, RESERVE_TTL_S);
}

static void
query_sa(struct gateway *gw, enum sg_sa_dir dir, uint32_t spi, struct reply *r)
{
	uint32_t g = gateway_find_sa(gw, dir, spi);
	const struct sg_sa_table *t;
	const struct sg_sa *sa;

	if (g == SG_SA_NONE) {
		keymgr_fail(r, "query sa %s %u: no such SA", dir == SG_SA_IN ? "in" : "out", spi);
		return;
	}
	t = gw->shards[sg_shard_of(g)]->sat;
	sa = sg_sa_table_get(t, sg_shard_local(g));
	/* Counters are the owner's, read without a lock as "list sa" does:
	 * each is one aligned 64-bit word, so never torn on x86-64. */
	reply_printf(r, "{\"ok\":true,\"sa\":{\"dir\":\"%s\",\"spi\":%u,\"lcore\":%u,"
			"\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"auth_fail\":%" PRIu64
			",\"replay_drop\":%" PRIu64, dir == SG_SA_IN ? "in" : "out", spi,
			sg_sa_table_owner(t), sa->packets, sa->bytes, sa->auth_fail, sa->replay_drop);
	/* The tunnel's ends as they stand now: a NAT rebinding moves the peer's
	 * (an IKE daemon checks its own view against this). */
	if (sa->mode == SG_SA_TUNNEL4) {
		char src[INET_ADDRSTRLEN], dst[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &sa->tun_src_be, src, sizeof(src));
		inet_ntop(AF_INET, &sa->tun_dst_be, dst, sizeof(dst));
		reply_printf(r, ",\"src\":\"%s\",\"dst\":\"%s\"", src, dst);
	}
	if (sa->flags & SG_SA_F_UDP)
		reply_printf(r, ",\"sport\":%u,\"dport\":%u", rte_be_to_cpu_16(sa->udp_sport_be),
				rte_be_to_cpu_16(sa->udp_dport_be));
	reply_printf(r, "}}");
}

static int u32(const char *s, uint32_t *v);

/*
 * "move sa DIR SPI peer ADDR [port PORT]". Checked whole before the worker
 * is asked, so a bad request changes nothing; the session (local, peer)
 * moves with the SA, as a NAT rebinding moves it (events.c).
 */
static void
move_sa(struct gateway *gw, enum sg_sa_dir dir, uint32_t spi, const char *addr,
		const char *port, struct reply *r)
{
	const char *d = dir == SG_SA_IN ? "in" : "out";
	uint32_t g = gateway_find_sa(gw, dir, spi), local, old, now, p = 0;
	const struct sg_sa *sa;
	struct sg_shard_cmd *c;
	struct in_addr a;
	int udp, ret;

	if (g == SG_SA_NONE) {
		keymgr_fail(r, "move sa %s %u: no such SA", d, spi);
		return;
	}
	sa = sg_sa_table_get(gw->shards[sg_shard_of(g)]->sat, sg_shard_local(g));
	udp = (sa->flags & SG_SA_F_UDP) != 0;
	now = inet_pton(AF_INET, addr, &a) == 1 ? rte_be_to_cpu_32(a.s_addr) : 0;
	if (now == 0 || now == UINT32_MAX || (now >> 28) == 0xe || (now >> 24) == 0x7f) {
		keymgr_fail(r, "move sa %s %u: peer %.40s is not a unicast IPv4 address", d, spi,
				addr);
		return;
	}
	if (port != NULL && (!udp || u32(port, &p) != 0 || p == 0 || p > UINT16_MAX)) {
		keymgr_fail(r, udp ? "move sa %s %u: port must be 1..65535" :
				"move sa %s %u: port for an SA without udp_encap", d, spi);
		return;
	}
	local = rte_be_to_cpu_32(dir == SG_SA_IN ? sa->tun_dst_be : sa->tun_src_be);
	old = rte_be_to_cpu_32(dir == SG_SA_IN ? sa->tun_src_be : sa->tun_dst_be);
	if (port == NULL)
		p = rte_be_to_cpu_16(dir == SG_SA_IN ? sa->udp_sport_be : sa->udp_dport_be);
	c = sg_shard_cmd_alloc(SG_SHARD_SA_PEER);
	if (c == NULL) {
		keymgr_fail(r, "move sa %s %u: out of memory", d, spi);
		return;
	}
	c->idx = sg_shard_local(g);
	c->prm.dir = dir;
	c->prm.spi = spi;
	c->prm.tun_src = now;
	c->prm.tun_dst = now;
	c->prm.udp_sport = (uint16_t)p;
	c->prm.udp_dport = (uint16_t)p;
	ret = sg_shard_call(gw->shards[sg_shard_of(g)], c, GATEWAY_CALL_TIMEOUT_US);
	if (ret == -ETIMEDOUT) {
		/* the worker still owns the command; it frees nothing of ours */
		keymgr_fail(r, "move sa %s %u: the worker did not answer", d, spi);
		return;
	}
	if (ret != 0 || c->result != 0) {
		keymgr_fail(r, "move sa %s %u: %s", d, spi, strerror(-(ret != 0 ? ret : c->result)));
		sg_shard_cmd_free(c);
		return;
	}
	sg_shard_cmd_free(c);
	if (old != now) {
		gateway_session_unbind(gw, local, old);
		gateway_session_bind(gw, local, now, sg_shard_of(g));
	}
	SG_LOG(INFO, "sa %s %u: peer moved to %s:%u (move sa)", d, spi, addr, p);
	reply_printf(r, "{\"ok\":true,\"dir\":\"%s\",\"spi\":%u,\"peer\":\"%s\"", d, spi,
			addr);
	if (udp)
		reply_printf(r, ",\"port\":%u", p);
	reply_printf(r, "}");
}

/* Whole-word number in 0..UINT32_MAX; -1 if not. */
static int
u32(const char *s, uint32_t *v)
{
	unsigned long long x;
	char *end;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	x = strtoull(s, &end, 0);
	if (errno != 0 || *end != '\0' || x > UINT32_MAX)
		return -1;
	*v = (uint32_t)x;
	return 0;
}

void
keymgr_request(struct gateway *gw, const char *cmd, char *rest, struct reply *r)
{
	char *save = NULL, *a = strtok_r(rest, " \t", &save);
	char *b = strtok_r(NULL, " \t", &save), *c = strtok_r(NULL, " \t", &save);
	char *extra = strtok_r(NULL, " \t", &save);
	char *e2 = strtok_r(NULL, " \t", &save), *e3 = strtok_r(NULL, " \t", &save);
	char *e4 = strtok_r(NULL, " \t", &save), *e5 = strtok_r(NULL, " \t", &save);
	uint32_t x, y;

	if (strcmp(cmd, "spi") == 0 && a != NULL && strcmp(a, "alloc") == 0) {
		x = 256; /* RFC 4303 §2.1: 1..255 are reserved by IANA */
		y = UINT32_MAX;
		if (extra != NULL || (b != NULL && (c == NULL || u32(b, &x) != 0 ||
				u32(c, &y) != 0 || x < 256 || x > y))) {
			keymgr_fail(r, "usage: spi alloc [MIN MAX] (256 <= MIN <= MAX)");
			return;
		}
		spi_alloc(gw, x, y, r);
	} else if (strcmp(cmd, "spi") == 0 && a != NULL && strcmp(a, "free") == 0) {
		if (u32(b, &x) != 0 || c != NULL) {
			keymgr_fail(r, "usage: spi free SPI");
			return;
		}
		expire_reservations();
		if (!reserved(x)) {
			keymgr_fail(r, "spi free %u: not reserved", x);
			return;
		}
		keymgr_spi_taken(x);
		reply_printf(r, "{\"ok\":true}");
	} else if (strcmp(cmd, "query") == 0 && a != NULL && strcmp(a, "sa") == 0 &&
			b != NULL && (strcmp(b, "in") == 0 || strcmp(b, "out") == 0) &&
			u32(c, &x) == 0 && extra == NULL) {
		query_sa(gw, b[0] == 'i' ? SG_SA_IN : SG_SA_OUT, x, r);
	} else if (strcmp(cmd, "move") == 0 && a != NULL && strcmp(a, "sa") == 0 &&
			b != NULL && (strcmp(b, "in") == 0 || strcmp(b, "out") == 0) &&
			u32(c, &x) == 0 && extra != NULL && strcmp(extra, "peer") == 0 && e2 != NULL &&
			((e3 == NULL && e4 == NULL) || (e3 != NULL && strcmp(e3, "port") == 0 &&
			e4 != NULL && e5 == NULL))) {
		move_sa(gw, b[0] == 'i' ? SG_SA_IN : SG_SA_OUT, x, e2, e4, r);
	} else if (strcmp(cmd, "move") == 0) {
		keymgr_fail(r, "usage: move sa in|out SPI peer ADDR [port PORT]");
	} else if (strcmp(cmd, "spi") == 0) {
		keymgr_fail(r, "usage: spi alloc [MIN MAX] | spi free SPI");
	} else {
		keymgr_fail(r, "usage: query sa in|out SPI");
	}
}
