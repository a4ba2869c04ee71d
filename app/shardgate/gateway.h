/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef GATEWAY_H
#define GATEWAY_H

#include <stdint.h>

#include <intel-ipsec-mb.h>
#include <rte_mempool.h>

#include "args.h"
#include "sg_conf.h"
#include "sg_dp.h"
#include "sg_sa.h"
#include "sg_spd.h"

/* Everything the control core builds and tears down. */
struct gateway {
	struct args args;
	struct sg_conf conf;
	struct sg_dp_ctx *ctx;
	struct sg_sa_table *sat;
	struct sg_spd *spd_in;
	struct sg_spd *spd_out;
	IMB_MGR *ctl_mgr; /* key expansion on the control core */
	uint16_t nb_workers;
	struct sg_dp_lcore *workers[SG_DP_WORKERS_MAX];
	uint16_t nb_ports;
	uint16_t ports[RTE_MAX_ETHPORTS];
	uint16_t nb_rxq[RTE_MAX_ETHPORTS];
	struct rte_mempool *pool[RTE_MAX_NUMA_NODES];
	uint8_t ports_started;
};

/* Check the rule file against the options, before EAL touches a device.
 * Fills defaults (-w, -e) into the SAs. Returns 0, or -1 with err set. */
int gateway_check_conf(struct gateway *gw, char *err, size_t errlen);

/* Workers, queue map, NUMA checks, mempools and ports (ports.c). */
int gateway_setup_lcores(struct gateway *gw);
int gateway_setup_ports(struct gateway *gw);
void gateway_close_ports(struct gateway *gw);

/* SA table, SPDs, routes and neighbours from the rule file (rules.c). */
int gateway_setup_rules(struct gateway *gw);

#endif /* GATEWAY_H */
