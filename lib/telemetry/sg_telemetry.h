/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SG_TELEMETRY_H
#define SG_TELEMETRY_H

/**
 * @file
 * shardgate's commands on the DPDK telemetry socket, answered by the stock
 * dpdk-telemetry.py client:
 *  - /shardgate/stats   totals over all workers, drops by reason
 *  - /shardgate/lcores  per worker: rx, tx, drops by reason, cycles/packet
 *  - /shardgate/sa      per SA, a page at a time: "/shardgate/sa,PAGE" or
 *                       "/shardgate/sa,spi=N"; with remaining lifetimes
 *  - /shardgate/events  recent soft/hard/idle expiries: "/shardgate/events[,SINCE]"
 */

#include <stdint.h>

#include "sg_dp.h"

/** Largest number of SAs one /shardgate/sa page holds (fits 16 KiB replies). */
#define SG_TELEMETRY_SA_PAGE 48

/** What the commands read. Counters are read while workers write them. */
struct sg_telemetry_src {
	const struct sg_dp_ctx *ctx;
	struct sg_dp_lcore *const *workers; /**< workers[i]->shard holds its SAs */
	uint16_t nb_workers;
	struct sg_event_log *events; /**< lifetime and idle events, may be NULL */
};

/**
 * Register the commands (once per process) and point them at @p src.
 * @return 0 or -errno.
 */
int sg_telemetry_register(const struct sg_telemetry_src *src);

/** Detach the commands from their source before it is freed. */
void sg_telemetry_detach(void);

#endif /* SG_TELEMETRY_H */
