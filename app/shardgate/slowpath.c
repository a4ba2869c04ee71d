/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The slow path's control-core half: one net_tap kernel interface per punt
 * port, carrying the port's MAC and addresses; frames the workers punted go
 * to it, frames the kernel sends there go (within the port's rate) to
 * worker 0 to leave through the port. What it tells the kernel and learns
 * from it over rtnetlink is in slowpath_nl.c.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/socket.h>

#include <rte_cycles.h>
#include <rte_dev.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_ring.h>

#include "gateway.h"
#include "sg_common.h"
#include "slowpath.h"

/* Frames moved per ring and tick, in bursts: 256 a millisecond is well above
 * the default punt rate; the token buckets bound what comes anyway. */
#define SLOW_BURST 64
#define SLOW_BURSTS_PER_TICK 4
/* Descriptors of each tap queue. */
#define SLOW_TAP_DESC 256
/* Entries of each worker's ring of resolution requests. */
#define SLOW_RESOLVE_RING 256

int
slowpath_check_conf(const struct gateway *gw, char *err, size_t errlen)
{
	const struct sg_conf *c = &gw->conf;
	const struct args *a = &gw->args;
	uint32_t i;

	for (i = 0; i < c->nb_punt; i++) {
		uint16_t p = c->punt[i].prm.port;

		if (p >= 64 || !(a->portmask & a->unprot_mask & (UINT64_C(1) << p))) {
			snprintf(err, errlen, "%s:%u: punt: port %u is not an unprotected port"
					" (-p 0x%lx -u 0x%lx)", c->file, c->punt[i].line, p,
					(unsigned long)a->portmask, (unsigned long)a->unprot_mask);
			return -1;
		}
	}
	return 0;
}

static struct rte_mempool *
any_pool(const struct gateway *gw)
{
	int s = (int)rte_socket_id();
	unsigned int i;

	if (s >= 0 && s < RTE_MAX_NUMA_NODES && gw->pool[s] != NULL)
		return gw->pool[s];
	for (i = 0; i < RTE_MAX_NUMA_NODES; i++)
		if (gw->pool[i] != NULL)
			return gw->pool[i];
	return NULL;
}

/* Create, configure and start the net_tap of @p s; address it. */
static int
tap_start(struct gateway *gw, struct slow_port *s)
{
	struct sg_dp_port *dp = &gw->ctx->port[s->port];
	struct rte_eth_conf conf = {0};
	struct rte_mempool *pool = any_pool(gw);
	char args[128];
	uint16_t nrx = SLOW_TAP_DESC, ntx = SLOW_TAP_DESC;
	uint8_t a;
	int ret;

	if (s->prm.iface[0] == '\0')
		snprintf(s->prm.iface, sizeof(s->prm.iface), "sgpunt%u", s->port);
	snprintf(s->dev, sizeof(s->dev), "net_tap_sgpunt%u", s->port);
	snprintf(args, sizeof(args), "iface=%s,mac=" RTE_ETHER_ADDR_PRT_FMT, s->prm.iface,
			RTE_ETHER_ADDR_BYTES(&dp->src_mac));
	ret = rte_eal_hotplug_add("vdev", s->dev, args);
	if (ret != 0)
		return ret < 0 ? ret : -EIO;
	ret = rte_eth_dev_get_port_by_name(s->dev, &s->tap);
	if (ret != 0)
		return ret;
	if (pool == NULL)
		return -ENOMEM;
	ret = rte_eth_dev_configure(s->tap, 1, 1, &conf);
	if (ret == 0)
		ret = rte_eth_dev_adjust_nb_rx_tx_desc(s->tap, &nrx, &ntx);
	if (ret == 0)
		ret = rte_eth_rx_queue_setup(s->tap, 0, nrx, rte_socket_id(), NULL, pool);
	if (ret == 0)
		ret = rte_eth_tx_queue_setup(s->tap, 0, ntx, rte_socket_id(), NULL);
	if (ret != 0)
		return ret;
	/* The kernel must not send what the port cannot carry. */
	ret = rte_eth_dev_set_mtu(s->tap, dp->mtu);
	if (ret != 0)
		SG_LOG(WARNING, "%s: cannot set MTU %u: %s", s->prm.iface, dp->mtu, strerror(-ret));
	ret = rte_eth_dev_start(s->tap); /* also sets the kernel link up */
	if (ret != 0)
		return ret;
	s->started = 1;
	s->ifindex = (int)if_nametoindex(s->prm.iface);
	if (s->ifindex == 0)
		return -errno;
	for (a = 0; a < s->prm.nb_addr; a++) {
		uint32_t be = rte_cpu_to_be_32(s->prm.addr[a]);

		ret = slow_addr_add(s->ifindex, AF_INET, &be, s->prm.depth[a]);
		if (ret != 0) {
			SG_LOG(ERR, "%s: cannot add address: %s", s->prm.iface, strerror(-ret));
			return ret;
		}
	}
	/* IPv6 addresses go through duplicate address detection (RFC 4862 §5.4)
	 * over the port, as on any interface, before the kernel uses them. */
	for (a = 0; a < s->prm.nb_addr6; a++) {
		ret = slow_addr_add(s->ifindex, AF_INET6, s->prm.addr6[a], s->prm.depth6[a]);
		if (ret != 0) {
			SG_LOG(ERR, "%s: cannot add IPv6 address: %s", s->prm.iface, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

int
slowpath_setup(struct gateway *gw)
{
	const struct sg_conf *c = &gw->conf;
	struct sg_punt_prm prm[RTE_MAX_ETHPORTS];
	struct slowpath *sp;
	uint32_t i;
	uint8_t a;
	int ret;

	if (c->nb_punt == 0)
		return 0;
	sp = calloc(1, sizeof(*sp));
	if (sp == NULL)
		return -1;
	gw->slow = sp;
	sp->nl = sp->nl_req = -1;
	memset(sp->tap_of, 0xff, sizeof(sp->tap_of));
	gw->ctx->ctl_stats = &sp->stats;
	ret = slow_nl_open(sp);
	if (ret != 0) {
		SG_LOG(ERR, "slow path: rtnetlink: %s", strerror(-ret));
		return -1;
	}
	for (i = 0; i < c->nb_punt; i++) {
		struct slow_port *s = &sp->p[sp->n];
		struct sg_dp_port *dp = &gw->ctx->port[c->punt[i].prm.port];

		s->port = c->punt[i].prm.port;
		s->prm = c->punt[i].prm;
		prm[i] = s->prm;
		sp->tap_of[s->port] = (int16_t)sp->n++;
		ret = tap_start(gw, s);
		if (ret != 0) {
			SG_LOG(ERR, "%s:%u: punt port %u: kernel interface %s: %s", c->file,
					c->punt[i].line, s->port, s->prm.iface, strerror(-ret));
			return -1;
		}
		for (a = 0; a < s->prm.nb_addr; a++)
			dp->addr_be[a] = rte_cpu_to_be_32(s->prm.addr[a]);
		dp->nb_addr = s->prm.nb_addr;
		dp->via_be = rte_cpu_to_be_32(s->prm.via);
		dp->punt = 1;
		/* The control core alone reads the tap: the whole rate is its own. */
		sg_dp_tb_init(&s->tx_tb, s->prm.rate, s->prm.burst, rte_get_tsc_hz(), rte_rdtsc());
		SG_LOG(INFO, "port %u: slow path to %s (DPDK port %u), %u/s burst %u each way%s",
				s->port, s->prm.iface, s->tap, s->prm.rate, s->prm.burst,
				dp->has_neigh ? "; its neigh line wins over learned neighbours" : "");
	}
	ret = sg_dp_punt_create(gw->ctx, gw->workers, gw->nb_workers, prm, sp->n,
			SLOWPATH_RING);
	if (ret == 0)
		ret = sg_dp_resolve_create(gw->ctx, gw->nb_workers, SLOW_RESOLVE_RING);
	if (ret != 0) {
		SG_LOG(ERR, "slow path rings: %s", strerror(-ret));
		return -1;
	}
	return 0;
}

/* Kernel-bound frames to the tap of their port. */
static void
to_kernel(struct slowpath *sp, struct rte_mbuf *mb[], uint16_t n)
{
	uint16_t i, start, sent, len;

	for (i = 1, start = 0; i <= n; i++) {
		if (i < n && mb[i]->port == mb[start]->port)
			continue;
		len = i - start;
		sent = 0;
		if (mb[start]->port < RTE_MAX_ETHPORTS && sp->tap_of[mb[start]->port] >= 0)
			sent = rte_eth_tx_burst(sp->p[sp->tap_of[mb[start]->port]].tap, 0,
					&mb[start], len);
		if (sent < len) {
			sp->stats.drops[SG_DROP_PUNT_FULL] += len - sent;
			sp->stats.punt_drop += len - sent;
			rte_pktmbuf_free_bulk(&mb[start + sent], len - sent);
		}
		start = i;
	}
}

/* The kernel's frames on tap @p s, within the port's rate, to worker 0's ring. */
static void
from_kernel(struct slowpath *sp, struct slow_port *s, struct rte_ring *out)
{
	struct rte_mbuf *mb[SLOW_BURST], *drop[SLOW_BURST];
	uint16_t i, n, k = 0, nd = 0, sent;
	uint64_t now;

	n = rte_eth_rx_burst(s->tap, 0, mb, SLOW_BURST);
	if (n == 0)
		return;
	now = rte_rdtsc();
	for (i = 0; i < n; i++) {
		mb[i]->port = s->port;
		if (sg_dp_tb_take(&s->tx_tb, now))
			mb[k++] = mb[i];
		else
			drop[nd++] = mb[i];
	}
	if (nd > 0) {
		sp->stats.drops[SG_DROP_PUNT_TX_RATE] += nd;
		sp->stats.punt_drop += nd;
		rte_pktmbuf_free_bulk(drop, nd);
	}
	sent = (uint16_t)rte_ring_enqueue_burst(out, (void *const *)mb, k, NULL);
	if (sent < k) {
		sp->stats.drops[SG_DROP_PUNT_FULL] += k - sent;
		sp->stats.punt_drop += k - sent;
		rte_pktmbuf_free_bulk(&mb[sent], k - sent);
	}
}

void
slowpath_poll(struct gateway *gw)
{
	struct slowpath *sp = gw->slow;
	struct rte_mbuf *mb[SLOW_BURST];
	uint16_t w, n, k;

	if (sp == NULL)
		return;
	for (w = 0; w < gw->nb_workers; w++) {
		for (k = 0; k < SLOW_BURSTS_PER_TICK; k++) {
			n = (uint16_t)rte_ring_dequeue_burst(gw->ctx->punt[w], (void **)mb,
					SLOW_BURST, NULL);
			if (n == 0)
				break;
			to_kernel(sp, mb, n);
		}
	}
	for (k = 0; k < sp->n; k++)
		from_kernel(sp, &sp->p[k], gw->ctx->punt_out);
	slow_nl_poll(gw);
	slow_resolve_poll(gw);
}

int
slowpath_active(const struct gateway *gw)
{
	return gw->slow != NULL;
}

void
slowpath_fini(struct gateway *gw)
{
	struct slowpath *sp = gw->slow;
	uint16_t k;

	if (sp == NULL)
		return;
	/* The control core's counters stay readable until telemetry detaches. */
	if (gw->ctx != NULL)
		gw->ctx->ctl_stats = NULL;
	for (k = 0; k < sp->n; k++) {
		if (sp->p[k].started)
			rte_eth_dev_stop(sp->p[k].tap);
		if (sp->p[k].dev[0] != '\0' &&
				rte_eth_dev_get_port_by_name(sp->p[k].dev, &sp->p[k].tap) == 0) {
			rte_eth_dev_close(sp->p[k].tap);
			rte_eal_hotplug_remove("vdev", sp->p[k].dev);
		}
	}
	slow_nl_close(sp);
	free(sp);
	gw->slow = NULL;
}
