/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SLOWPATH_H
#define SLOWPATH_H

/*
 * Internal to the slow path: slowpath.c (taps, rings, rates) and
 * slowpath_nl.c (what it says to the kernel over rtnetlink: addresses,
 * neighbours learned, neighbours to resolve).
 */

#include <stdint.h>

#include <rte_dev.h>
#include <rte_ether.h>

#include "gateway.h"
#include "sg_dp.h"

struct reply;

/* Next hops whose last resolution request the control core remembers (the
 * once-a-second limit); when full, the oldest is forgotten. */
#define SLOW_RESOLVE_MAX 64
/* Resolution requests taken from each worker's ring per tick. */
#define SLOW_RESOLVE_PER_TICK 16

/*
 * An IPv6 neighbour the kernel resolved on a tap. Kept here, not in
 * sg_dp_port: routing is IPv4 only (rte_lpm, dp_route.c), so the data path
 * has no use for them yet; `list neigh` shows them.
 */
struct slow_neigh6 {
	uint8_t ip[SG_PUNT_IPV6_LEN];
	struct rte_ether_addr mac;
	uint8_t used;
};

struct slow_port {
	uint16_t port;     /* the unprotected DPDK port */
	uint16_t tap;      /* its net_tap's DPDK port */
	int ifindex;
	uint8_t started;
	struct sg_punt_prm prm;
	char dev[RTE_DEV_NAME_MAX_LEN];
	struct sg_dp_tb tx_tb; /* what the kernel sends to the port: rate, burst */
	uint16_t nb_neigh6;    /* entries of neigh6[] in use (only grows) */
	struct slow_neigh6 neigh6[SG_DP_NEIGH_MAX];
};

/* The last time the kernel was asked to resolve one next hop. */
struct slow_resolve {
	uint64_t last; /* TSC; 0: free */
	uint32_t ip_be;
	uint16_t port;
};

struct slowpath {
	uint16_t n;
	struct slow_port p[RTE_MAX_ETHPORTS];
	int16_t tap_of[RTE_MAX_ETHPORTS]; /* port -> index in p[], -1: none */
	int nl;       /* rtnetlink, neighbour group, non-blocking */
	uint32_t nl_seq;
	int nl_req;   /* rtnetlink requests (resolution), acked, with a receive timeout */
	uint32_t req_seq;
	uint8_t warned_resolve;
	struct slow_resolve res[SLOW_RESOLVE_MAX];
	struct sg_dp_stats stats; /* the control core's punt counters */
};

/* Open both rtnetlink sockets and read what the kernel already knows. 0 or -errno. */
int slow_nl_open(struct slowpath *sp);
void slow_nl_close(struct slowpath *sp);

/* ip addr add ADDR/DEPTH dev IFINDEX; @p addr: 4 (AF_INET) or 16 bytes,
 * network byte order. 0 or -errno. */
int slow_addr_add(int ifindex, int family, const void *addr, uint8_t depth);

/* Neighbour events from the kernel: learned, changed, forgotten. */
void slow_nl_poll(struct gateway *gw);

/* Workers' resolution requests: each next hop at most once a second. */
void slow_resolve_poll(struct gateway *gw);

#endif /* SLOWPATH_H */
