/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "gateway.h"
#include "sg_common.h"
#include "sg_topo.h"

/* Per-lcore mempool cache (mbufs). */
#define POOL_CACHE 256

static struct sg_dp_lcore *
worker_of(struct gateway *gw, uint16_t lcore)
{
	uint16_t w;

	for (w = 0; w < gw->nb_workers; w++)
		if (gw->workers[w]->lcore_id == lcore)
			return gw->workers[w];
	return NULL;
}

static int
add_rxq(struct gateway *gw, uint16_t port, uint16_t queue, uint16_t lcore)
{
	struct sg_dp_lcore *lc = worker_of(gw, lcore);

	if (lc == NULL) {
		SG_LOG(ERR, "--config: lcore %u is %s", lcore, lcore == rte_get_main_lcore() ?
				"the control core (EAL main lcore), which never polls" :
				"not an enabled EAL lcore");
		return -1;
	}
	if (lc->nb_rxq == SG_DP_RXQ_MAX) {
		SG_LOG(ERR, "--config: lcore %u polls more than %d queues", lcore, SG_DP_RXQ_MAX);
		return -1;
	}
	lc->rxq[lc->nb_rxq].port = port;
	lc->rxq[lc->nb_rxq].queue = queue;
	lc->nb_rxq++;
	return 0;
}

/* Explicit --config: ports in -p, queues 0..n-1 per port, each once. */
static int
map_from_config(struct gateway *gw)
{
	const struct args *a = &gw->args;
	uint64_t seen[RTE_MAX_ETHPORTS] = {0};
	uint16_t i, p;

	for (i = 0; i < a->nb_map; i++) {
		const struct args_map *m = &a->map[i];

		if (!(a->portmask & (UINT64_C(1) << m->port))) {
			SG_LOG(ERR, "--config: port %u is not in -p", m->port);
			return -1;
		}
		if (m->queue >= 64 || (seen[m->port] & (UINT64_C(1) << m->queue))) {
			SG_LOG(ERR, "--config: (%u,%u,%u): queue out of range or given twice",
					m->port, m->queue, m->lcore);
			return -1;
		}
		seen[m->port] |= UINT64_C(1) << m->queue;
		if (add_rxq(gw, m->port, m->queue, m->lcore) != 0)
			return -1;
	}
	for (p = 0; p < gw->nb_ports; p++) {
		uint16_t port = gw->ports[p];
		uint64_t s = seen[port];

		if (s == 0 || (s & (s + 1)) != 0) {
			SG_LOG(ERR, "--config: port %u needs rx queues numbered 0..n-1", port);
			return -1;
		}
		gw->nb_rxq[port] = (uint16_t)__builtin_popcountll(s);
	}
	return 0;
}

/* No --config: each port gets one rx queue per worker (as far as the device
 * allows), dealt round-robin so every worker polls every port. */
static int
map_auto(struct gateway *gw)
{
	uint16_t p, q, next = 0;

	for (p = 0; p < gw->nb_ports; p++) {
		uint16_t port = gw->ports[p];
		struct rte_eth_dev_info info;
		uint16_t n;

		if (rte_eth_dev_info_get(port, &info) != 0)
			return -1;
		n = RTE_MIN(gw->nb_workers, info.max_rx_queues);
		gw->nb_rxq[port] = n;
		for (q = 0; q < n; q++) {
			if (add_rxq(gw, port, q, gw->workers[next % gw->nb_workers]->lcore_id) != 0)
				return -1;
			next++;
		}
	}
	return 0;
}

/* Where each port and lcore lives: hwloc for PCI devices and CPUs, libnuma
 * and sysfs where hwloc knows nothing, EAL for virtual devices. */
static void
find_nodes(struct gateway *gw, struct sg_topo *topo)
{
	uint16_t p;

	for (p = 0; p < gw->nb_ports; p++) {
		uint16_t port = gw->ports[p];
		int n = sg_topo_node_of_port(topo, port);

		gw->port_node[port] = n >= 0 ? n : SG_TOPO_NODE_UNKNOWN;
	}
}

int
gateway_setup_ctx(struct gateway *gw)
{
	gw->ctx = sg_dp_ctx_create((int)rte_socket_id(), RTE_MAX(gw->conf.nb_rt, 1u));
	if (gw->ctx == NULL) {
		SG_LOG(ERR, "cannot allocate the data-path context: %s", rte_strerror(rte_errno));
		return -1;
	}
	gw->ctx->burst = gw->args.burst;
	gw->ctx->poll_sleep_us = gw->args.poll_sleep_us;
	gw->ctx->icmp_rate = gw->args.icmp_rate;
	gw->ctx->reasm_flows = gw->args.reasm_flows;
	gw->ctx->reasm_timeout_ms = gw->args.reasm_timeout_ms;
	return 0;
}

int
gateway_setup_lcores(struct gateway *gw)
{
	const struct args *a = &gw->args;
	struct sg_topo *topo;
	unsigned int lcore;
	uint16_t p, w;
	int ret;

	topo = sg_topo_load();
	if (topo == NULL)
		SG_LOG(WARNING, "hwloc: %s; NUMA nodes from libnuma and sysfs",
				rte_strerror(rte_errno));

	RTE_ETH_FOREACH_DEV(p) {
		if (p < 64 && (a->portmask & (UINT64_C(1) << p)))
			gw->ports[gw->nb_ports++] = p;
	}
	for (p = 0; p < 64; p++) {
		if ((a->portmask & (UINT64_C(1) << p)) && !rte_eth_dev_is_valid_port(p)) {
			SG_LOG(ERR, "-p: port %u does not exist (%u ports available)", p,
					rte_eth_dev_count_avail());
			goto fail;
		}
	}
	find_nodes(gw, topo);
	RTE_LCORE_FOREACH_WORKER(lcore) {
		struct sg_dp_lcore *lc;
		int socket = sg_topo_node_of_lcore(topo, lcore);

		if (socket < 0)
			socket = (int)rte_lcore_to_socket_id(lcore);

		if (gw->nb_workers == SG_DP_WORKERS_MAX) {
			SG_LOG(ERR, "more than %d worker lcores", SG_DP_WORKERS_MAX);
			goto fail;
		}
		/* Worker state lives on the worker's own node. */
		lc = rte_zmalloc_socket("sg_lcore", sizeof(*lc), RTE_CACHE_LINE_SIZE, socket);
		if (lc == NULL)
			goto fail;
		/* Counted at once so that teardown frees it whatever happens next. */
		gw->workers[gw->nb_workers++] = lc;
		ret = sg_dp_lcore_init(lc, gw->ctx, (uint16_t)lcore, gw->nb_workers - 1);
		if (ret < 0) {
			SG_LOG(ERR, "lcore %u: %s", lcore, strerror(-ret));
			goto fail;
		}
		/* Its shard and everything else it owns go on the node it runs on. */
		lc->socket = socket;
	}
	sg_topo_free(topo);
	topo = NULL;
	if (gw->nb_workers == 0) {
		SG_LOG(ERR, "no worker lcore: give EAL at least two lcores (-l 0,1); the main"
				" lcore is the control core");
		return -1;
	}
	gw->ctx->nb_workers = gw->nb_workers;
	ret = a->nb_map > 0 ? map_from_config(gw) : map_auto(gw);
	if (ret != 0)
		return -1;

	for (w = 0; w < gw->nb_workers; w++) {
		const struct sg_dp_lcore *lc = gw->workers[w];
		uint16_t q;

		for (q = 0; q < lc->nb_rxq; q++) {
			int ps = gw->port_node[lc->rxq[q].port];

			SG_LOG(INFO, "lcore %u (socket %d) polls port %u queue %u (socket %d)",
					lc->lcore_id, lc->socket, lc->rxq[q].port, lc->rxq[q].queue, ps);
			if (ps >= 0 && ps != lc->socket) {
				SG_LOG(WARNING, "port %u queue %u is polled from a remote NUMA node",
						lc->rxq[q].port, lc->rxq[q].queue);
				if (a->strict_numa) {
					SG_LOG(ERR, "--strict-numa: refusing a remote-node queue");
					return -1;
				}
			}
		}
		if (lc->nb_rxq == 0)
			SG_LOG(WARNING, "lcore %u polls no queue (it still serves handoffs)",
					lc->lcore_id);
	}
	return 0;
fail:
	sg_topo_free(topo);
	return -1;
}

/* Pool for @p socket, sized for every queue and cache that can hold mbufs. */
static struct rte_mempool *
pool_for(struct gateway *gw, int socket)
{
	const struct args *a = &gw->args;
	uint32_t n = a->nb_mbufs;
	uint16_t data_room = args_data_room(a);
	char name[RTE_MEMPOOL_NAMESIZE];
	uint16_t p;

	if (socket < 0)
		socket = 0;
	if (gw->pool[socket] != NULL)
		return gw->pool[socket];
	if (n == 0) {
		for (p = 0; p < gw->nb_ports; p++)
			n += gw->nb_rxq[gw->ports[p]] * a->nb_rxd + gw->nb_workers * a->nb_txd;
		n += gw->nb_workers * (POOL_CACHE + 2 * SG_DP_BURST_MAX);
		if (gw->nb_workers > 1)
			n += gw->nb_workers * (gw->nb_workers - 1) * a->handoff_ring;
		/* Slow path: tap queues and the rings to and from the kernel. */
		if (gw->conf.nb_punt > 0)
			n += gw->conf.nb_punt * 2 * 256u + (gw->nb_workers + 1u) * SLOWPATH_RING;
		n = RTE_MAX(n + 1024, 8192u);
	}
	snprintf(name, sizeof(name), "sg_mbuf_s%d", socket);
	gw->pool[socket] = rte_pktmbuf_pool_create(name, n, POOL_CACHE, 0,
			(uint16_t)(data_room + RTE_PKTMBUF_HEADROOM), socket);
	if (gw->pool[socket] == NULL)
		SG_LOG(ERR, "cannot create %u mbufs on socket %d: %s", n, socket,
				rte_strerror(rte_errno));
	else
		SG_LOG(INFO, "mbuf pool %s: %u mbufs", name, n);
	return gw->pool[socket];
}

static int
port_start(struct gateway *gw, uint16_t port)
{
	const struct args *a = &gw->args;
	struct rte_eth_conf conf = {0};
	struct rte_eth_dev_info info;
	struct rte_mempool *pool;
	struct sg_dp_port *dp = &gw->ctx->port[port];
	uint16_t q, nb_rxd = a->nb_rxd, nb_txd = a->nb_txd;
	int ret, socket = gw->port_node[port];

	ret = rte_eth_dev_info_get(port, &info);
	if (ret != 0)
		return ret;
	if (gw->nb_rxq[port] > info.max_rx_queues || gw->nb_workers > info.max_tx_queues) {
		SG_LOG(ERR, "port %u (%s): needs %u rx and %u tx queues, has %u and %u", port,
				info.driver_name, gw->nb_rxq[port], gw->nb_workers,
				info.max_rx_queues, info.max_tx_queues);
		return -EINVAL;
	}
	if (gw->nb_rxq[port] > 1) {
		/* Spread flows; an ESP flow's SPI sits where the L4 ports would. */
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf = info.flow_type_rss_offloads &
				(RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP | RTE_ETH_RSS_TCP);
	}
	ret = rte_eth_dev_configure(port, gw->nb_rxq[port], gw->nb_workers, &conf);
	if (ret != 0)
		return ret;
	ret = rte_eth_dev_adjust_nb_rx_tx_desc(port, &nb_rxd, &nb_txd);
	if (ret != 0)
		return ret;
	pool = pool_for(gw, socket);
	if (pool == NULL)
		return -ENOMEM;
	for (q = 0; q < gw->nb_rxq[port]; q++) {
		ret = rte_eth_rx_queue_setup(port, q, nb_rxd, socket, NULL, pool);
		if (ret != 0)
			return ret;
	}
	for (q = 0; q < gw->nb_workers; q++) {
		ret = rte_eth_tx_queue_setup(port, q, nb_txd, socket, NULL);
		if (ret != 0)
			return ret;
	}
	ret = rte_eth_dev_set_mtu(port, a->mtu);
	if (ret != 0 && ret != -ENOTSUP)
		SG_LOG(WARNING, "port %u: cannot set MTU %u: %s", port, a->mtu, strerror(-ret));
	ret = rte_eth_dev_start(port);
	if (ret != 0)
		return ret;
	if (a->promisc) {
		ret = rte_eth_promiscuous_enable(port);
		if (ret != 0 && ret != -ENOTSUP)
			SG_LOG(WARNING, "port %u: promiscuous mode: %s", port, strerror(-ret));
	}
	ret = rte_eth_macaddr_get(port, &dp->src_mac);
	if (ret != 0)
		return ret;
	dp->mtu = a->mtu;
	dp->enabled = 1;
	dp->unprotected = (a->unprot_mask >> port) & 1;
	SG_LOG(INFO, "port %u (%s, socket %d): %s, %u rx / %u tx queues, MAC " RTE_ETHER_ADDR_PRT_FMT,
			port, info.driver_name, socket, dp->unprotected ? "unprotected" : "protected",
			gw->nb_rxq[port], gw->nb_workers, RTE_ETHER_ADDR_BYTES(&dp->src_mac));
	return 0;
}

int
gateway_setup_ports(struct gateway *gw)
{
	uint16_t p, mtu;
	int ret;

	for (p = 0; p < gw->nb_ports; p++) {
		ret = port_start(gw, gw->ports[p]);
		if (ret != 0) {
			SG_LOG(ERR, "port %u: set-up failed: %s", gw->ports[p], strerror(-ret));
			return -1;
		}
		gw->ports_started++;
	}
	/* The MTU ESP leaves by: the smallest of the unprotected ports'. */
	mtu = UINT16_MAX;
	for (p = 0; p < gw->nb_ports; p++) {
		const struct sg_dp_port *dp = &gw->ctx->port[gw->ports[p]];

		if (dp->unprotected)
			mtu = RTE_MIN(mtu, dp->mtu);
	}
	if (mtu != UINT16_MAX)
		gw->ctx->esp_mtu = mtu;
	if (gw->nb_workers > 1) {
		ret = sg_dp_handoff_create(gw->ctx, (const struct sg_dp_lcore *const *)gw->workers,
				gw->nb_workers, gw->args.handoff_ring);
		if (ret != 0) {
			SG_LOG(ERR, "handoff rings: %s", strerror(-ret));
			return -1;
		}
	}
	return 0;
}

void
gateway_close_ports(struct gateway *gw)
{
	uint16_t p;

	for (p = 0; p < gw->nb_ports; p++) {
		uint16_t port = gw->ports[p];

		/* Stop then close: pcap vdevs flush their output files on close. */
		if (p < gw->ports_started)
			rte_eth_dev_stop(port);
		rte_eth_dev_close(port);
	}
	gw->ports_started = 0;
}
