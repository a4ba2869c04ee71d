/* SPDX-License-Identifier: BSD-3-Clause */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hwloc.h>

#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_string_fns.h>

#include "sg_topo.h"
#include "topo_priv.h"

/* PCI class 02xx: network controllers (Ethernet, InfiniBand, other). */
#define PCI_BASE_CLASS_NETWORK 0x02
/* Linux domains are 16 bits, or 20 with Intel VMD. */
#define PCI_DOMAIN_MAX 0xfffff
#define PCI_BUS_MAX 0xff
#define PCI_DEV_MAX 0x1f
#define PCI_FUNC_MAX 0x7
/* Internal bound on NICs gathered before sorting. */
#define NICS_MAX 256

/* Kernel drivers that hand a PCI NIC to DPDK (the EAL's own list). */
static const char *const dpdk_drivers[] = {"vfio-pci", "uio_pci_generic", "igb_uio"};

static int
pci_split(const char *in, unsigned int *dom, unsigned int *bus, unsigned int *dev,
		unsigned int *fn)
{
	int end = -1;

	if (in == NULL)
		return -EINVAL;
	*dom = 0;
	if (sscanf(in, "%x:%x:%x.%x%n", dom, bus, dev, fn, &end) != 4 || in[end] != '\0') {
		end = -1;
		*dom = 0;
		if (sscanf(in, "%x:%x.%x%n", bus, dev, fn, &end) != 3 || in[end] != '\0')
			return -EINVAL;
	}
	/* sscanf's %x takes a sign and "0x": neither belongs in a PCI address. */
	if (strpbrk(in, "+-xX ") != NULL)
		return -EINVAL;
	if (*dom > PCI_DOMAIN_MAX || *bus > PCI_BUS_MAX || *dev > PCI_DEV_MAX ||
			*fn > PCI_FUNC_MAX)
		return -EINVAL;
	return 0;
}

int
sg_topo_pci_parse(const char *in, char *out, size_t len)
{
	unsigned int dom, bus, dev, fn;
	int n;

	if (out == NULL || pci_split(in, &dom, &bus, &dev, &fn) < 0)
		return -EINVAL;
	n = snprintf(out, len, "%04x:%02x:%02x.%x", dom, bus, dev, fn);
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

/* Sort key of a normalised address. */
static uint64_t
pci_key(const char *addr)
{
	unsigned int dom = 0, bus = 0, dev = 0, fn = 0;

	pci_split(addr, &dom, &bus, &dev, &fn);
	return (uint64_t)dom << 16 | bus << 8 | dev << 3 | fn;
}

/* numa_node of a PCI device from sysfs: node, unknown, or -ENODEV. */
static int
sysfs_pci_node(const char *sys, const char *addr)
{
	char path[PATH_MAX + 64], buf[32];
	char *end;
	long v;

	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/numa_node", sys, addr);
	if (topo_read_file(path, buf, sizeof(buf)) < 0) {
		/* Old kernels without NUMA have no numa_node: the device still exists. */
		snprintf(path, sizeof(path), "%s/bus/pci/devices/%s", sys, addr);
		return access(path, F_OK) == 0 ? SG_TOPO_NODE_UNKNOWN : -ENODEV;
	}
	v = strtol(buf, &end, 10);
	if (end == buf || *end != '\0' || v < 0 || v > INT_MAX)
		return SG_TOPO_NODE_UNKNOWN;
	return (int)v;
}

/* Node of a hwloc PCI object: the nodeset of its first non-I/O ancestor. */
static int
hwloc_pci_node(const struct sg_topo *t, hwloc_obj_t pci)
{
	hwloc_obj_t anc = hwloc_get_non_io_ancestor_obj(t->hw, pci);

	return anc != NULL ? topo_one_node(anc->nodeset) : SG_TOPO_NODE_UNKNOWN;
}

int
sg_topo_node_of_pci(const struct sg_topo *t, const char *addr)
{
	char norm[SG_TOPO_PCI_LEN];
	const char *sys;
	bool found = false;
	int node;

	if (sg_topo_pci_parse(addr, norm, sizeof(norm)) < 0)
		return -EINVAL;
	if (t != NULL) {
		hwloc_obj_t o = hwloc_get_pcidev_by_busidstring(t->hw, norm);

		if (o != NULL) {
			found = true;
			node = hwloc_pci_node(t, o);
			if (node >= 0)
				return node;
		}
	}
	sys = topo_sysfs(t);
	if (sys != NULL) {
		node = sysfs_pci_node(sys, norm);
		if (node != -ENODEV)
			return node;
	}
	return found ? SG_TOPO_NODE_UNKNOWN : -ENODEV;
}

int
sg_topo_node_of_port(const struct sg_topo *t, uint16_t port_id)
{
	struct rte_eth_dev_info info;
	int node;

	if (!rte_eth_dev_is_valid_port(port_id))
		return -ENODEV;
	if (rte_eth_dev_info_get(port_id, &info) == 0 && info.device != NULL) {
		const struct rte_bus *bus = rte_dev_bus(info.device);

		if (bus != NULL && strcmp(rte_bus_name(bus), "pci") == 0) {
			node = sg_topo_node_of_pci(t, rte_dev_name(info.device));
			if (node >= 0)
				return node;
		}
	}
	node = rte_eth_dev_socket_id(port_id);
	return node >= 0 ? node : SG_TOPO_NODE_UNKNOWN;
}

int
sg_topo_node_of_lcore(const struct sg_topo *t, unsigned int lcore_id)
{
	rte_cpuset_t set;
	int node = SG_TOPO_NODE_UNKNOWN;
	unsigned int cpu;

	if (lcore_id >= RTE_MAX_LCORE || !rte_lcore_is_enabled(lcore_id))
		return -EINVAL;
	set = rte_lcore_cpuset(lcore_id);
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		int n;

		if (!CPU_ISSET(cpu, &set))
			continue;
		n = sg_topo_node_of_cpu(t, cpu);
		if (n < 0 || (node >= 0 && n != node))
			return SG_TOPO_NODE_UNKNOWN;
		node = n;
	}
	return node;
}

/* Find or add @p addr in @p v. */
static struct sg_topo_nic_info *
nic_slot(struct sg_topo_nic_info *v, unsigned int *n, const char *addr)
{
	struct sg_topo_nic_info *e;
	unsigned int i;

	for (i = 0; i < *n; i++)
		if (strcmp(v[i].pci, addr) == 0)
			return &v[i];
	if (*n == NICS_MAX)
		return NULL;
	e = &v[(*n)++];
	memset(e, 0, sizeof(*e));
	rte_strscpy(e->pci, addr, sizeof(e->pci));
	e->node = SG_TOPO_NODE_UNKNOWN;
	e->hwloc_node = SG_TOPO_NODE_UNKNOWN;
	e->sysfs_node = SG_TOPO_NODE_UNKNOWN;
	return e;
}

static void
from_hwloc(const struct sg_topo *t, struct sg_topo_nic_info *v, unsigned int *n)
{
	hwloc_obj_t o = NULL;

	while ((o = hwloc_get_next_pcidev(t->hw, o)) != NULL) {
		const struct hwloc_pcidev_attr_s *a = &o->attr->pcidev;
		struct sg_topo_nic_info *e;
		char addr[SG_TOPO_PCI_LEN];
		hwloc_obj_t c;

		if ((a->class_id >> 8) != PCI_BASE_CLASS_NETWORK)
			continue;
		snprintf(addr, sizeof(addr), "%04x:%02x:%02x.%x", a->domain, a->bus, a->dev,
				a->func);
		e = nic_slot(v, n, addr);
		if (e == NULL)
			return;
		e->hwloc_node = hwloc_pci_node(t, o);
		e->vendor = a->vendor_id;
		e->device = a->device_id;
		for (c = o->io_first_child; c != NULL; c = c->next_sibling)
			if (c->type == HWLOC_OBJ_OS_DEVICE &&
					c->attr->osdev.type == HWLOC_OBJ_OSDEV_NETWORK &&
					c->name != NULL) {
				rte_strscpy(e->ifname, c->name, sizeof(e->ifname));
				break;
			}
	}
}

/* The last "DDDD:BB:DD.F" component of a sysfs device path, if any. */
static bool
pci_in_path(const char *path, char *out, size_t len)
{
	char copy[PATH_MAX];
	char *tok, *save = NULL;
	bool found = false;

	rte_strscpy(copy, path, sizeof(copy));
	for (tok = strtok_r(copy, "/", &save); tok != NULL; tok = strtok_r(NULL, "/", &save))
		if (strchr(tok, ':') != NULL && strchr(tok, '.') != NULL &&
				sg_topo_pci_parse(tok, out, len) == 0)
			found = true;
	return found;
}

static bool
pci_is_network(const char *sys, const char *addr)
{
	char path[PATH_MAX + 64], buf[32];
	unsigned long cls;

	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/class", sys, addr);
	if (topo_read_file(path, buf, sizeof(buf)) < 0)
		return true; /* cannot tell: keep it */
	cls = strtoul(buf, NULL, 16);
	return (cls >> 16) == PCI_BASE_CLASS_NETWORK;
}

/* Kernel NICs: /sys/class/net/X resolves to .../DDDD:BB:DD.F/[virtioN/]net/X. */
static void
from_sysfs_net(const char *sys, struct sg_topo_nic_info *v, unsigned int *n)
{
	char path[PATH_MAX + 64], real[PATH_MAX], addr[SG_TOPO_PCI_LEN];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%s/class/net", sys);
	d = opendir(path);
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		struct sg_topo_nic_info *e;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/class/net/%s", sys, de->d_name);
		if (realpath(path, real) == NULL || !pci_in_path(real, addr, sizeof(addr)))
			continue; /* virtual: lo, bridges, tunnels */
		e = nic_slot(v, n, addr);
		if (e == NULL)
			break;
		if (e->ifname[0] == '\0')
			rte_strscpy(e->ifname, de->d_name, sizeof(e->ifname));
	}
	closedir(d);
}

/* DPDK-bound NICs have no net device: list what each UIO/VFIO driver holds. */
static void
from_sysfs_drivers(const char *sys, struct sg_topo_nic_info *v, unsigned int *n)
{
	char path[PATH_MAX + 64], addr[SG_TOPO_PCI_LEN];
	unsigned int i;

	for (i = 0; i < RTE_DIM(dpdk_drivers); i++) {
		struct dirent *de;
		DIR *d;

		snprintf(path, sizeof(path), "%s/bus/pci/drivers/%s", sys, dpdk_drivers[i]);
		d = opendir(path);
		if (d == NULL)
			continue;
		while ((de = readdir(d)) != NULL) {
			struct sg_topo_nic_info *e;

			if (strchr(de->d_name, '.') == NULL ||
					sg_topo_pci_parse(de->d_name, addr, sizeof(addr)) < 0 ||
					!pci_is_network(sys, addr))
				continue;
			e = nic_slot(v, n, addr);
			if (e == NULL)
				break;
			rte_strscpy(e->driver, dpdk_drivers[i], sizeof(e->driver));
			e->dpdk_bound = true;
		}
		closedir(d);
	}
}

/* Fill what sysfs knows of an entry: numa_node, driver, ids. */
static void
sysfs_details(const char *sys, struct sg_topo_nic_info *e)
{
	char path[PATH_MAX + 64], link[PATH_MAX], buf[32];
	ssize_t len;
	unsigned int i;

	e->sysfs_node = sysfs_pci_node(sys, e->pci);
	if (e->sysfs_node < 0)
		e->sysfs_node = SG_TOPO_NODE_UNKNOWN;
	if (e->driver[0] == '\0') {
		snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/driver", sys, e->pci);
		len = readlink(path, link, sizeof(link) - 1);
		if (len > 0) {
			const char *base;

			link[len] = '\0';
			base = strrchr(link, '/');
			base = base != NULL ? base + 1 : link;
			rte_strscpy(e->driver, base, sizeof(e->driver));
			for (i = 0; i < RTE_DIM(dpdk_drivers); i++)
				if (strcmp(base, dpdk_drivers[i]) == 0)
					e->dpdk_bound = true;
		}
	}
	if (e->vendor == 0) {
		snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/vendor", sys, e->pci);
		if (topo_read_file(path, buf, sizeof(buf)) == 0)
			e->vendor = (uint16_t)strtoul(buf, NULL, 16);
		snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/device", sys, e->pci);
		if (topo_read_file(path, buf, sizeof(buf)) == 0)
			e->device = (uint16_t)strtoul(buf, NULL, 16);
	}
}

static int
cmp_nic(const void *a, const void *b)
{
	uint64_t ka = pci_key(((const struct sg_topo_nic_info *)a)->pci);
	uint64_t kb = pci_key(((const struct sg_topo_nic_info *)b)->pci);

	return ka < kb ? -1 : ka > kb;
}

int
sg_topo_nics(const struct sg_topo *t, struct sg_topo_nic_info *out, unsigned int max)
{
	struct sg_topo_nic_info *v;
	const char *sys;
	unsigned int n = 0, i;

	if (t == NULL || (out == NULL && max > 0))
		return -EINVAL;
	v = calloc(NICS_MAX, sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	from_hwloc(t, v, &n);
	sys = topo_sysfs(t);
	if (sys != NULL) {
		from_sysfs_net(sys, v, &n);
		from_sysfs_drivers(sys, v, &n);
		for (i = 0; i < n; i++)
			sysfs_details(sys, &v[i]);
	}
	for (i = 0; i < n; i++)
		v[i].node = v[i].hwloc_node >= 0 ? v[i].hwloc_node : v[i].sysfs_node;
	qsort(v, n, sizeof(*v), cmp_nic);
	if (max > 0)
		memcpy(out, v, sizeof(*v) * RTE_MIN(n, max));
	free(v);
	return (int)n;
}
