/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Steering: where a NIC can match ESP, one rte_flow rule per inbound SA
 * sends the peer's packets to a queue its owner polls, so they never need
 * a handoff (drivers-config/README.md lists which PMDs can). Ports that
 * cannot are found once at start-up; there a packet that lands on another
 * worker is handed to its owner, and that is counted.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_errno.h>
#include <rte_flow.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>

#include "gateway.h"
#include "sg_common.h"

/* One rule: the ESP of one SA to one queue. */
static int
flow_rule(uint16_t port, uint16_t queue, uint32_t dst, uint32_t spi, int validate_only,
		struct rte_flow **out)
{
	struct rte_flow_attr attr = {.ingress = 1};
	struct rte_flow_item_ipv4 ip = {.hdr.dst_addr = rte_cpu_to_be_32(dst)};
	struct rte_flow_item_ipv4 ip_mask = {.hdr.dst_addr = RTE_BE32(UINT32_MAX)};
	struct rte_flow_item_esp esp = {.hdr.spi = rte_cpu_to_be_32(spi)};
	struct rte_flow_item_esp esp_mask = {.hdr.spi = RTE_BE32(UINT32_MAX)};
	struct rte_flow_item pattern[] = {
		{.type = RTE_FLOW_ITEM_TYPE_ETH},
		{.type = RTE_FLOW_ITEM_TYPE_IPV4, .spec = &ip, .mask = &ip_mask},
		{.type = RTE_FLOW_ITEM_TYPE_ESP, .spec = &esp, .mask = &esp_mask},
		{.type = RTE_FLOW_ITEM_TYPE_END},
	};
	struct rte_flow_action_queue q = {.index = queue};
	struct rte_flow_action actions[] = {
		{.type = RTE_FLOW_ACTION_TYPE_QUEUE, .conf = &q},
		{.type = RTE_FLOW_ACTION_TYPE_END},
	};
	struct rte_flow_error err;

	if (validate_only)
		return rte_flow_validate(port, &attr, pattern, actions, &err);
	*out = rte_flow_create(port, &attr, pattern, actions, &err);
	return *out == NULL ? -rte_errno : 0;
}

/* First queue of @p port that worker @p w polls, or -1. */
static int
owner_queue(const struct gateway *gw, uint16_t port, uint16_t w)
{
	const struct sg_dp_lcore *lc = gw->workers[w];
	uint16_t q;

	for (q = 0; q < lc->nb_rxq; q++)
		if (lc->rxq[q].port == port)
			return lc->rxq[q].queue;
	return -1;
}

int
gateway_steer_init(struct gateway *gw)
{
	struct rte_hash_parameters hp = {
		.name = "sg_flows",
		.entries = RTE_MAX(gw->args.sa_capacity, 8u),
		.key_len = sizeof(uint64_t),
		.hash_func = rte_hash_crc,
		.socket_id = (int)rte_socket_id(),
	};
	struct rte_eth_dev_info info;
	uint16_t p, port;

	for (p = 0; p < gw->nb_ports; p++) {
		port = gw->ports[p];
		if (!gw->ctx->port[port].unprotected || gw->nb_rxq[port] < 2)
			continue;
		/* One queue: every packet reaches the same worker anyway. */
		if (flow_rule(port, 0, 0, 1, 1, NULL) == 0) {
			gw->steer_ports |= UINT64_C(1) << port;
			continue;
		}
		rte_eth_dev_info_get(port, &info);
		SG_LOG(INFO, "port %u (%s): no rte_flow ESP steering; packets that reach"
				" another worker are handed to their owner", port, info.driver_name);
	}
	if (gw->steer_ports == 0)
		return 0;
	gw->flows = rte_hash_create(&hp);
	return gw->flows == NULL ? -rte_errno : 0;
}

static uint64_t
flow_key(uint16_t port, uint32_t spi)
{
	return ((uint64_t)port << 32) | spi;
}

void
gateway_steer_add(struct gateway *gw, uint32_t spi, uint32_t tun_dst, uint16_t w)
{
	struct rte_flow *flow;
	uint64_t key;
	uint16_t p, port;
	int q;

	for (p = 0; p < gw->nb_ports && gw->steer_ports != 0; p++) {
		port = gw->ports[p];
		if (!(gw->steer_ports & (UINT64_C(1) << port)))
			continue;
		q = owner_queue(gw, port, w);
		if (q < 0)
			continue;
		if (flow_rule(port, (uint16_t)q, tun_dst, spi, 0, &flow) != 0) {
			SG_LOG(WARNING, "port %u: no flow rule for SPI %u: %s; handoff instead",
					port, spi, rte_strerror(rte_errno));
			continue;
		}
		key = flow_key(port, spi);
		if (rte_hash_add_key_data(gw->flows, &key, flow) < 0) {
			struct rte_flow_error err;

			rte_flow_destroy(port, flow, &err);
		}
	}
}

void
gateway_steer_del(struct gateway *gw, uint32_t spi)
{
	struct rte_flow_error err;
	uint64_t key;
	void *flow;
	uint16_t p, port;

	for (p = 0; p < gw->nb_ports && gw->flows != NULL; p++) {
		port = gw->ports[p];
		key = flow_key(port, spi);
		if (rte_hash_lookup_data(gw->flows, &key, &flow) < 0)
			continue;
		rte_flow_destroy(port, flow, &err);
		rte_hash_del_key(gw->flows, &key);
	}
}

void
gateway_steer_fini(struct gateway *gw)
{
	uint16_t p;

	/* Ports are closed after this; their flow rules go with them. */
	for (p = 0; p < gw->nb_ports && gw->flows != NULL; p++) {
		struct rte_flow_error err;

		if (gw->steer_ports & (UINT64_C(1) << gw->ports[p]))
			rte_flow_flush(gw->ports[p], &err);
	}
	rte_hash_free(gw->flows);
	gw->flows = NULL;
	gw->steer_ports = 0;
}
