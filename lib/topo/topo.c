/* SPDX-License-Identifier: BSD-3-Clause */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hwloc.h>
#include <numa.h>

#include <rte_errno.h>

#include "sg_topo.h"
#include "topo_priv.h"

enum topo_src {
	SRC_LIVE,
	SRC_XML,
	SRC_SYNTHETIC,
};

static struct sg_topo *
load(enum topo_src src, const char *arg)
{
	struct sg_topo *t;
	int err;

	t = calloc(1, sizeof(*t));
	if (t == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	strcpy(t->sysfs, "/sys");
	t->live = src == SRC_LIVE;
	if (hwloc_topology_init(&t->hw) < 0) {
		err = errno != 0 ? errno : ENOMEM;
		goto free_t;
	}
	/* NICs, storage and GPUs, with the bridges above them: enough for locality. */
	if (hwloc_topology_set_io_types_filter(t->hw, HWLOC_TYPE_FILTER_KEEP_IMPORTANT) < 0) {
		err = errno != 0 ? errno : EINVAL;
		goto destroy;
	}
	errno = 0;
	if (src == SRC_XML) {
		if (access(arg, R_OK) < 0) {
			err = errno;
			goto destroy;
		}
		if (hwloc_topology_set_xml(t->hw, arg) < 0) {
			err = errno != 0 ? errno : EINVAL;
			goto destroy;
		}
	} else if (src == SRC_SYNTHETIC) {
		if (hwloc_topology_set_synthetic(t->hw, arg) < 0) {
			err = errno != 0 ? errno : EINVAL;
			goto destroy;
		}
	}
	if (hwloc_topology_load(t->hw) < 0) {
		err = errno != 0 ? errno : EINVAL;
		goto destroy;
	}
	/* A file that parses but describes no CPU is as useless as a bad one. */
	if (hwloc_get_nbobjs_by_type(t->hw, HWLOC_OBJ_PU) <= 0) {
		err = EINVAL;
		goto destroy;
	}
	return t;

destroy:
	hwloc_topology_destroy(t->hw);
free_t:
	free(t);
	rte_errno = err;
	return NULL;
}

struct sg_topo *
sg_topo_load(void)
{
	return load(SRC_LIVE, NULL);
}

struct sg_topo *
sg_topo_load_xml(const char *path)
{
	if (path == NULL || path[0] == '\0') {
		rte_errno = EINVAL;
		return NULL;
	}
	return load(SRC_XML, path);
}

struct sg_topo *
sg_topo_load_synthetic(const char *desc)
{
	if (desc == NULL || desc[0] == '\0') {
		rte_errno = EINVAL;
		return NULL;
	}
	return load(SRC_SYNTHETIC, desc);
}

void
sg_topo_free(struct sg_topo *t)
{
	if (t == NULL)
		return;
	hwloc_topology_destroy(t->hw);
	free(t);
}

bool
sg_topo_is_live(const struct sg_topo *t)
{
	return t != NULL && t->live;
}

int
sg_topo_set_sysfs_root(struct sg_topo *t, const char *root)
{
	if (t == NULL)
		return -EINVAL;
	if (root == NULL) {
		strcpy(t->sysfs, "/sys");
		t->sysfs_forced = false;
		return 0;
	}
	if (root[0] == '\0')
		return -EINVAL;
	if (strlen(root) >= sizeof(t->sysfs) - 64)
		return -ENAMETOOLONG;
	strcpy(t->sysfs, root);
	t->sysfs_forced = true;
	return 0;
}

int
topo_read_file(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		n = -errno;
		close(fd);
		return (int)n;
	}
	close(fd);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return 0;
}

/* Write the set bits of @p set, ascending, into @p out; return how many. */
static int
list_bits(hwloc_const_bitmap_t set, unsigned int *out, unsigned int max)
{
	unsigned int n = 0;
	int i;

	if (set == NULL)
		return 0;
	hwloc_bitmap_foreach_begin(i, set) {
		if (n < max)
			out[n] = (unsigned int)i;
		n++;
	}
	hwloc_bitmap_foreach_end();
	return (int)n;
}

int
sg_topo_cpus(const struct sg_topo *t, unsigned int *cpus, unsigned int max)
{
	if (t == NULL || (cpus == NULL && max > 0))
		return -EINVAL;
	return list_bits(hwloc_topology_get_topology_cpuset(t->hw), cpus, max);
}

int
sg_topo_nodes(const struct sg_topo *t, int *nodes, unsigned int max)
{
	hwloc_const_nodeset_t set;
	unsigned int n = 0;
	int i;

	if (t == NULL || (nodes == NULL && max > 0))
		return -EINVAL;
	set = hwloc_topology_get_topology_nodeset(t->hw);
	hwloc_bitmap_foreach_begin(i, set) {
		if (n < max)
			nodes[n] = i;
		n++;
	}
	hwloc_bitmap_foreach_end();
	return (int)n;
}

int
sg_topo_node_cpus(const struct sg_topo *t, int node, unsigned int *cpus, unsigned int max)
{
	hwloc_obj_t o;

	if (t == NULL || node < 0 || (cpus == NULL && max > 0))
		return -EINVAL;
	o = hwloc_get_numanode_obj_by_os_index(t->hw, (unsigned int)node);
	if (o == NULL)
		return -ENOENT;
	return list_bits(o->cpuset, cpus, max);
}

/* Cores if the topology has them, else PUs (each PU is then its own core). */
static hwloc_obj_type_t
core_type(const struct sg_topo *t)
{
	return hwloc_get_nbobjs_by_type(t->hw, HWLOC_OBJ_CORE) > 0 ? HWLOC_OBJ_CORE :
			HWLOC_OBJ_PU;
}

int
sg_topo_core_count(const struct sg_topo *t, int node)
{
	hwloc_obj_type_t type;
	hwloc_obj_t o = NULL, n = NULL;
	int count = 0;

	if (t == NULL || node < SG_TOPO_NODE_UNKNOWN)
		return -EINVAL;
	if (node >= 0) {
		n = hwloc_get_numanode_obj_by_os_index(t->hw, (unsigned int)node);
		if (n == NULL)
			return -ENOENT;
	}
	type = core_type(t);
	while ((o = hwloc_get_next_obj_by_type(t->hw, type, o)) != NULL)
		if (n == NULL || hwloc_bitmap_intersects(o->cpuset, n->cpuset))
			count++;
	return count;
}

int
sg_topo_cpu_siblings(const struct sg_topo *t, unsigned int cpu, unsigned int *cpus,
		unsigned int max)
{
	hwloc_obj_t pu, core;

	if (t == NULL || (cpus == NULL && max > 0))
		return -EINVAL;
	pu = hwloc_get_pu_obj_by_os_index(t->hw, cpu);
	if (pu == NULL)
		return -ENOENT;
	core = hwloc_get_ancestor_obj_by_type(t->hw, HWLOC_OBJ_CORE, pu);
	return list_bits(core != NULL ? core->cpuset : pu->cpuset, cpus, max);
}

/* Without libnuma: the nodeN link in /sys/devices/system/cpu/cpuC/. */
static int
sysfs_node_of_cpu(unsigned int cpu)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int node = -ENOENT;

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%u", cpu);
	d = opendir(path);
	if (d == NULL)
		return -ENOENT;
	node = SG_TOPO_NODE_UNKNOWN;
	while ((de = readdir(d)) != NULL) {
		char *end;
		long v;

		if (strncmp(de->d_name, "node", 4) != 0)
			continue;
		v = strtol(de->d_name + 4, &end, 10);
		if (end != de->d_name + 4 && *end == '\0' && v >= 0 && v < 65536) {
			node = (int)v;
			break;
		}
	}
	closedir(d);
	return node;
}

int
sg_topo_node_of_cpu(const struct sg_topo *t, unsigned int cpu)
{
	hwloc_obj_t pu;

	if (t == NULL || t->live) {
		if (numa_available() >= 0) {
			int n = numa_node_of_cpu((int)cpu);

			if (n >= 0)
				return n;
		}
		if (t == NULL)
			return sysfs_node_of_cpu(cpu);
	}
	pu = hwloc_get_pu_obj_by_os_index(t->hw, cpu);
	if (pu == NULL)
		return -ENOENT;
	/* Memory-only nodes (HBM, CXL) also list the PU; the first is the DRAM one. */
	if (hwloc_bitmap_iszero(pu->nodeset))
		return SG_TOPO_NODE_UNKNOWN;
	return hwloc_bitmap_first(pu->nodeset);
}
