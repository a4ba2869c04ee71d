/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * kernel_ipsec_t over shardgate's control socket.
 *
 * strongswan.conf:
 *   charon.plugins.kernel-shardgate.socket      the control socket
 *       (default /var/run/dpdk/rte/shardgate.sock; or file_prefix = PREFIX)
 *   charon.plugins.kernel-shardgate.timeout_ms  reply timeout (10000)
 *   charon.plugins.kernel-shardgate.events_ms   how often shardgate's
 *       lifetime events are read for charon's expire (500)
 */
#ifndef KERNEL_SHARDGATE_IPSEC_H_
#define KERNEL_SHARDGATE_IPSEC_H_

#include <library.h>
#include <kernel/kernel_ipsec.h>

typedef struct kernel_shardgate_ipsec_t kernel_shardgate_ipsec_t;

struct kernel_shardgate_ipsec_t {
	kernel_ipsec_t interface;
};

kernel_shardgate_ipsec_t *kernel_shardgate_ipsec_create();

#endif /** KERNEL_SHARDGATE_IPSEC_H_ */
