/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SG_TOPO_H
#define SG_TOPO_H

/**
 * @file
 * Where NICs and lcores live: NUMA nodes, cores and SMT siblings from hwloc
 * (live machine, saved XML or synthetic description), with libnuma and sysfs
 * as fall-backs on the live machine, and a planner that turns a list of NICs
 * into an EAL --lcores map and a shardgate --config map.
 *
 * Everything here runs on the control path. Functions return 0 (or a count
 * or a node id) on success and -errno on failure; constructors return NULL
 * and set rte_errno. A node id is a Linux NUMA node number (hwloc's os_index);
 * SG_TOPO_NODE_UNKNOWN means the platform does not say.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_config.h>

/** Node returned when the firmware or the topology does not tell. */
#define SG_TOPO_NODE_UNKNOWN (-1)

/** Room for a PCI address "DDDD:BB:DD.F" and its NUL. */
#define SG_TOPO_PCI_LEN 16
/** NICs one plan can place. */
#define SG_TOPO_MAX_NICS 32
/** (port, queue) pairs one plan can place. */
#define SG_TOPO_MAX_QUEUES 512
/** Workers one plan can place: every EAL lcore but the control core. */
#define SG_TOPO_MAX_WORKERS (RTE_MAX_LCORE - 1)
/** Size of the plan's --lcores string: "LLL@CCCC," per lcore. */
#define SG_TOPO_LCORES_LEN (RTE_MAX_LCORE * 12)
/** Size of the plan's --config string: "(PPPPP,QQQQQ,LLL)," per queue. */
#define SG_TOPO_CONFIG_LEN (SG_TOPO_MAX_QUEUES * 20)
/** Size of the plan's notes (warnings and reasons, one per line). */
#define SG_TOPO_NOTES_LEN 4096

/** A loaded topology (opaque). */
struct sg_topo;

/**
 * Load the topology of this machine, with PCI devices.
 * @return the topology, or NULL with rte_errno set.
 */
struct sg_topo *sg_topo_load(void);

/**
 * Load a topology saved by `lstopo file.xml` (hwloc 1.x or 2.x XML).
 * @return the topology, or NULL with rte_errno set (ENOENT, EINVAL for a
 *         file hwloc cannot parse).
 */
struct sg_topo *sg_topo_load_xml(const char *path);

/**
 * Build a topology from an hwloc synthetic description, for tests and
 * planning, e.g. "pack:2 [numa] core:4 pu:2" (two packages with a NUMA node
 * each, four cores of two PUs per package). Synthetic topologies have no PCI.
 * @return the topology, or NULL with rte_errno set (EINVAL for bad grammar).
 */
struct sg_topo *sg_topo_load_synthetic(const char *desc);

/** Release a topology; NULL is a no-op. */
void sg_topo_free(struct sg_topo *t);

/** True for sg_topo_load(): libnuma and sysfs describe the same machine. */
bool sg_topo_is_live(const struct sg_topo *t);

/**
 * Read PCI fall-backs (numa_node, drivers, net devices) under @p root
 * instead of "/sys", and consult them even for a loaded XML or synthetic
 * topology. For tests; NULL restores "/sys" and the live-only rule.
 * @return 0, or -EINVAL, -ENAMETOOLONG.
 */
int sg_topo_set_sysfs_root(struct sg_topo *t, const char *root);

/**
 * List the CPUs (hwloc PUs, Linux CPU numbers) in ascending order.
 * Writes at most @p max; @p cpus may be NULL when @p max is 0.
 * @return how many CPUs there are (may exceed @p max), or -EINVAL.
 */
int sg_topo_cpus(const struct sg_topo *t, unsigned int *cpus, unsigned int max);

/**
 * List the NUMA node ids in ascending order, memory-only nodes included.
 * @return how many nodes there are (may exceed @p max), or -EINVAL.
 */
int sg_topo_nodes(const struct sg_topo *t, int *nodes, unsigned int max);

/**
 * List the CPUs of NUMA node @p node in ascending order.
 * @return how many (0 for a memory-only node), -EINVAL, or -ENOENT when the
 *         node does not exist.
 */
int sg_topo_node_cpus(const struct sg_topo *t, int node, unsigned int *cpus, unsigned int max);

/**
 * Count the cores (not PUs) that have at least one CPU on @p node; -1 counts
 * every core of the machine.
 * @return the count, -EINVAL or -ENOENT.
 */
int sg_topo_core_count(const struct sg_topo *t, int node);

/**
 * List the PUs of the core that holds @p cpu, @p cpu included, ascending.
 * One entry means no SMT on that core.
 * @return how many, -EINVAL, or -ENOENT when @p cpu is not in the topology.
 */
int sg_topo_cpu_siblings(const struct sg_topo *t, unsigned int cpu, unsigned int *cpus,
		unsigned int max);

/**
 * NUMA node of @p cpu: libnuma on the live machine, hwloc for a loaded
 * topology. @p t may be NULL: the live machine through libnuma (or sysfs).
 * @return the node, SG_TOPO_NODE_UNKNOWN, or -ENOENT when @p cpu is not in
 *         the topology.
 */
int sg_topo_node_of_cpu(const struct sg_topo *t, unsigned int cpu);

/**
 * Normalise a PCI address: "3b:00.0" or "0000:3B:00.0" become "0000:3b:00.0".
 * @return 0, or -EINVAL when @p in is not a PCI address, -ENOSPC when
 *         @p len is too small.
 */
int sg_topo_pci_parse(const char *in, char *out, size_t len);

/**
 * NUMA node of the PCI device @p addr: hwloc's locality (the device's first
 * non-I/O ancestor, when its nodeset is one node), else sysfs numa_node on
 * the live machine. @p t may be NULL: sysfs only.
 * @return the node, SG_TOPO_NODE_UNKNOWN when the device exists but nothing
 *         says where, -EINVAL for a malformed address, -ENODEV when no such
 *         device is known.
 */
int sg_topo_node_of_pci(const struct sg_topo *t, const char *addr);

/**
 * NUMA node of DPDK port @p port_id: from its PCI address when it is a PCI
 * device (through sg_topo_node_of_pci()), else rte_eth_dev_socket_id().
 * Vdevs usually answer SG_TOPO_NODE_UNKNOWN. Needs EAL; @p t may be NULL.
 * @return the node, SG_TOPO_NODE_UNKNOWN, or -ENODEV for an invalid port.
 */
int sg_topo_node_of_port(const struct sg_topo *t, uint16_t port_id);

/**
 * NUMA node of EAL lcore @p lcore_id: the node of the CPUs in its cpuset
 * (through sg_topo_node_of_cpu()), unknown when they span several nodes.
 * Needs EAL; @p t may be NULL.
 * @return the node, SG_TOPO_NODE_UNKNOWN, or -EINVAL when the lcore is not
 *         enabled.
 */
int sg_topo_node_of_lcore(const struct sg_topo *t, unsigned int lcore_id);

/** A network PCI device found in the topology or in sysfs. */
struct sg_topo_nic_info {
	char pci[SG_TOPO_PCI_LEN]; /**< "0000:3b:00.0" */
	int node;                  /**< best answer: hwloc, else sysfs */
	int hwloc_node;            /**< from hwloc, SG_TOPO_NODE_UNKNOWN if not seen there */
	int sysfs_node;            /**< from sysfs numa_node, unknown if not read */
	uint16_t vendor;           /**< PCI ids, 0 when unknown */
	uint16_t device;
	char ifname[32];           /**< kernel net device, "" when none */
	char driver[32];           /**< bound driver from sysfs, "" when not read */
	bool dpdk_bound;           /**< bound to vfio-pci, uio_pci_generic or igb_uio */
};

/**
 * List network PCI devices (class 02xx) from hwloc, merged on the live
 * machine with sysfs: /sys/class/net/X/device for kernel NICs and
 * /sys/bus/pci/drivers/{vfio-pci,uio_pci_generic,igb_uio} for DPDK-bound
 * ones (which have no net device). Sorted by PCI address.
 * @return how many (may exceed @p max), or -EINVAL.
 */
int sg_topo_nics(const struct sg_topo *t, struct sg_topo_nic_info *out, unsigned int max);

/** One NIC the planner places workers for. */
struct sg_topo_nic {
	char pci[SG_TOPO_PCI_LEN]; /**< PCI address, or "" to use @p node */
	int node;         /**< NUMA node when @p pci is ""; SG_TOPO_NODE_UNKNOWN: anywhere */
	uint16_t port;    /**< DPDK port id the gateway will see for it */
	uint16_t queues;  /**< RX queues, one worker each; 0: one per free core of its node */
};

/** What to plan. */
struct sg_topo_plan_prm {
	const struct sg_topo_nic *nics;
	unsigned int n_nics;    /**< 1..SG_TOPO_MAX_NICS */
	unsigned int workers;   /**< at most this many workers; 0: one per queue */
	int control_cpu;        /**< CPU of the control core; -1: choose one */
};

/** Where one (port, queue) is polled. */
struct sg_topo_qmap {
	uint16_t port;
	uint16_t queue;
	uint16_t lcore;   /**< EAL lcore id, 1.. (0 is the control core) */
	uint16_t nic;     /**< index in sg_topo_plan_prm.nics */
	unsigned int cpu; /**< CPU the lcore runs on */
	int cpu_node;     /**< node of that CPU */
	int nic_node;     /**< node of the NIC, SG_TOPO_NODE_UNKNOWN if not known */
	bool remote;      /**< polled from another node than the NIC's */
	bool shared;      /**< its lcore polls more than one queue */
};

/** A placement: control core, workers and queue map, and the EAL strings. */
struct sg_topo_plan {
	unsigned int control_cpu;       /**< CPU of lcore 0 */
	int control_node;
	unsigned int n_workers;         /**< lcores 1..n_workers */
	unsigned int worker_cpu[SG_TOPO_MAX_WORKERS]; /**< [i] is the CPU of lcore i + 1 */
	int worker_node[SG_TOPO_MAX_WORKERS];
	unsigned int n_queues;
	struct sg_topo_qmap q[SG_TOPO_MAX_QUEUES]; /**< in (port, queue) order */
	unsigned int n_remote;  /**< queues polled from a remote node */
	unsigned int n_shared;  /**< queues whose lcore polls others too */
	unsigned int n_smt;     /**< workers on an SMT sibling of the control core */
	unsigned int n_short;   /**< workers wanted but not placed for lack of cores */
	char lcores[SG_TOPO_LCORES_LEN];  /**< EAL --lcores value: "0@C0,1@C1,..." */
	char config[SG_TOPO_CONFIG_LEN];  /**< shardgate --config value: "(p,q,l),..." */
	char notes[SG_TOPO_NOTES_LEN];    /**< warnings, or why planning failed */
};

/**
 * Place a control core and workers for @p prm->nics on @p t:
 * - the control core (lcore 0) on a core of its own, preferably the first
 *   core of node 0, unless another node's core lets every worker be local;
 * - one worker per queue on a core of the NIC's node, one PU per core, so
 *   no two workers share SMT siblings;
 * - where the NIC's node has no free core, a core of another node (the
 *   queue is marked remote and a note says so); then an SMT sibling of the
 *   control core (counted in n_smt); then fewer workers, each polling
 *   several queues (n_short, n_shared).
 * Lcore ids follow (port, queue) order; NICs are told apart by @p port, which
 * must be unique. @p plan is large (tens of KiB): allocate it, do not put it
 * on a worker's stack.
 * @return 0 (read plan->notes for warnings), -EINVAL for bad parameters,
 *         -ENODEV for a NIC not in the topology, -E2BIG for too many queues
 *         or NICs, -ENOSPC when no CPU is left for any worker. On failure
 *         plan->notes says why.
 */
int sg_topo_plan(const struct sg_topo *t, const struct sg_topo_plan_prm *prm,
		struct sg_topo_plan *plan);

#endif /* SG_TOPO_H */
