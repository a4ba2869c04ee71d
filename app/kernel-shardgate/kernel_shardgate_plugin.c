/* SPDX-License-Identifier: BSD-3-Clause */
#include "kernel_shardgate_plugin.h"
#include "kernel_shardgate_ipsec.h"

#include <daemon.h>

typedef struct private_kernel_shardgate_plugin_t private_kernel_shardgate_plugin_t;

struct private_kernel_shardgate_plugin_t {
	kernel_shardgate_plugin_t public;
};

METHOD(plugin_t, get_name, char*,
	private_kernel_shardgate_plugin_t *this)
{
	return "kernel-shardgate";
}

METHOD(plugin_t, get_features, int,
	private_kernel_shardgate_plugin_t *this, plugin_feature_t *features[])
{
	/* Load it before kernel-netlink: the first kernel-ipsec wins, and
	 * kernel-netlink still provides kernel-net (addresses, routes). */
	static plugin_feature_t f[] = {
		PLUGIN_CALLBACK(kernel_ipsec_register, kernel_shardgate_ipsec_create),
			PLUGIN_PROVIDE(CUSTOM, "kernel-ipsec"),
	};
	*features = f;
	return countof(f);
}

METHOD(plugin_t, destroy, void,
	private_kernel_shardgate_plugin_t *this)
{
	free(this);
}

plugin_t *kernel_shardgate_plugin_create()
{
	private_kernel_shardgate_plugin_t *this;

	INIT(this,
		.public = {
			.plugin = {
				.get_name = _get_name,
				.get_features = _get_features,
				.destroy = _destroy,
			},
		},
	);
	return &this->public.plugin;
}
