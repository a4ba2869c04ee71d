/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * kernel-shardgate: charon's kernel IPsec interface on shardgate's control
 * socket. SAs and policies go to a running shardgate; its counters and
 * lifetime events come back.
 */
#ifndef KERNEL_SHARDGATE_PLUGIN_H_
#define KERNEL_SHARDGATE_PLUGIN_H_

#include <library.h>
#include <plugins/plugin.h>

typedef struct kernel_shardgate_plugin_t kernel_shardgate_plugin_t;

struct kernel_shardgate_plugin_t {
	plugin_t plugin;
};

#endif /** KERNEL_SHARDGATE_PLUGIN_H_ */
