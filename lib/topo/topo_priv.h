/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TOPO_PRIV_H
#define TOPO_PRIV_H

#include <limits.h>
#include <stdbool.h>

#include <hwloc.h>

#include "sg_topo.h"

struct sg_topo {
	hwloc_topology_t hw;
	bool live;          /* this machine: libnuma and sysfs apply */
	bool sysfs_forced;  /* a test pointed sysfs elsewhere: consult it anyway */
	char sysfs[PATH_MAX];
};

/* Where sysfs lives for @p t, or NULL when it does not describe @p t. */
static inline const char *
topo_sysfs(const struct sg_topo *t)
{
	if (t == NULL)
		return "/sys";
	return t->live || t->sysfs_forced ? t->sysfs : NULL;
}

/* The single node in @p set, or SG_TOPO_NODE_UNKNOWN. */
static inline int
topo_one_node(hwloc_const_nodeset_t set)
{
	if (set == NULL || hwloc_bitmap_weight(set) != 1)
		return SG_TOPO_NODE_UNKNOWN;
	return hwloc_bitmap_first(set);
}

/* Read a small text file into @p buf; 0 or -errno. */
int topo_read_file(const char *path, char *buf, size_t len);

#endif /* TOPO_PRIV_H */
