/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SG_DP_H
#define SG_DP_H

/**
 * @file
 * The burst pipeline: rx, classify, SA lookup, crypto, encap/decap, route,
 * tx. One struct sg_dp_lcore per worker holds everything that worker writes.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>

/** One route (ipsec-secgw "rt ipv4 dst A.B.C.D/N port P"). Host byte order. */
struct sg_route_prm {
	uint32_t dst;
	uint8_t depth;
	uint16_t port;
};

/** Next-hop MAC of a port (ipsec-secgw "neigh port P MAC"). */
struct sg_neigh_prm {
	uint16_t port;
	struct rte_ether_addr mac;
};

#endif /* SG_DP_H */
