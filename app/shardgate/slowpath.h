/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SLOWPATH_H
#define SLOWPATH_H

/*
 * Internal to the slow path: slowpath.c (taps, rings, rates) and
 * slowpath_nl.c (what it says to the kernel over rtnetlink: addresses,
 * neighbours learned).
 */

#include <stdint.h>

#include <rte_dev.h>

#include "gateway.h"
#include "sg_dp.h"

struct slow_port {
	uint16_t port;     /* the unprotected DPDK port */
	uint16_t tap;      /* its net_tap's DPDK port */
	int ifindex;
	uint8_t started;
	struct sg_punt_prm prm;
	char dev[RTE_DEV_NAME_MAX_LEN];
	struct sg_dp_tb tx_tb; /* what the kernel sends to the port: rate, burst */
};

struct slowpath {
	uint16_t n;
	struct slow_port p[RTE_MAX_ETHPORTS];
	int16_t tap_of[RTE_MAX_ETHPORTS]; /* port -> index in p[], -1: none */
	int nl;       /* rtnetlink, neighbour group, non-blocking */
	uint32_t nl_seq;
	struct sg_dp_stats stats; /* the control core's punt counters */
};

/* Open the rtnetlink socket and read what the kernel already knows. 0 or -errno. */
int slow_nl_open(struct slowpath *sp);
void slow_nl_close(struct slowpath *sp);

/* ip addr add ADDR/DEPTH dev IFINDEX; @p addr: 4 bytes (AF_INET), network
 * byte order. 0 or -errno. */
int slow_addr_add(int ifindex, int family, const void *addr, uint8_t depth);

/* Neighbour events from the kernel: learned, changed, forgotten. */
void slow_nl_poll(struct gateway *gw);

#endif /* SLOWPATH_H */
