/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <rte_dev.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>

#include "sg_topo.h"
#include "sg_test.h"

/* Two packages, a NUMA node each, four cores of two PUs: CPUs 2k and 2k+1 are siblings. */
#define TWO_SOCKET_SMT "pack:2 [numa] core:4 pu:2"
#define FOUR_NODE_SMT "pack:2 group:2 [numa] core:2 pu:2"

static char data_dir[PATH_MAX];
static bool have_eal;

/* tests/unit/data/topo: $SG_TOPO_DATA, or found from this file's path. */
static int
find_data_dir(void)
{
	char exe[PATH_MAX], src[PATH_MAX], probe[PATH_MAX + 32];
	const char *env = getenv("SG_TOPO_DATA");
	ssize_t n;

	if (env != NULL) {
		snprintf(data_dir, sizeof(data_dir), "%s", env);
		return 0;
	}
	snprintf(src, sizeof(src), "%s", __FILE__);
	if (src[0] == '/') {
		snprintf(data_dir, sizeof(data_dir), "%s/data/topo", dirname(src));
	} else {
		/* Relative to the build root, where ninja runs the compiler: tests/ is one below. */
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n <= 0)
			return -1;
		exe[n] = '\0';
		snprintf(data_dir, sizeof(data_dir), "%s/../%s/data/topo", dirname(exe),
				dirname(src));
	}
	snprintf(probe, sizeof(probe), "%s/2s-smt.xml", data_dir);
	return access(probe, R_OK);
}

static const char *
fixture(const char *name)
{
	static char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", data_dir, name);
	return path;
}

static bool
has_line(const char *notes, const char *needle)
{
	return strstr(notes, needle) != NULL;
}

/* The facts every two-socket SMT topology must show, synthetic or from XML. */
static void
check_two_socket(struct sg_topo *t)
{
	unsigned int cpus[32], sib[8];
	int nodes[4];
	int n, i;

	CU_ASSERT_FATAL(t != NULL);
	CU_ASSERT(!sg_topo_is_live(t));
	CU_ASSERT_EQUAL(sg_topo_cpus(t, cpus, 32), 16);
	for (i = 0; i < 16; i++)
		CU_ASSERT_EQUAL(cpus[i], (unsigned int)i);
	CU_ASSERT_EQUAL(sg_topo_cpus(t, NULL, 0), 16);
	CU_ASSERT_EQUAL(sg_topo_nodes(t, nodes, 4), 2);
	CU_ASSERT(nodes[0] == 0 && nodes[1] == 1);
	n = sg_topo_node_cpus(t, 1, cpus, 32);
	CU_ASSERT_EQUAL(n, 8);
	CU_ASSERT(cpus[0] == 8 && cpus[7] == 15);
	CU_ASSERT_EQUAL(sg_topo_node_cpus(t, 2, cpus, 32), -ENOENT);
	CU_ASSERT_EQUAL(sg_topo_node_cpus(t, -1, cpus, 32), -EINVAL);
	CU_ASSERT_EQUAL(sg_topo_core_count(t, SG_TOPO_NODE_UNKNOWN), 8);
	CU_ASSERT_EQUAL(sg_topo_core_count(t, 0), 4);
	CU_ASSERT_EQUAL(sg_topo_core_count(t, 1), 4);
	CU_ASSERT_EQUAL(sg_topo_core_count(t, 3), -ENOENT);
	CU_ASSERT_EQUAL(sg_topo_cpu_siblings(t, 5, sib, 8), 2);
	CU_ASSERT(sib[0] == 4 && sib[1] == 5);
	CU_ASSERT_EQUAL(sg_topo_cpu_siblings(t, 14, sib, 1), 2); /* count beyond max */
	CU_ASSERT_EQUAL(sib[0], 14);
	CU_ASSERT_EQUAL(sg_topo_cpu_siblings(t, 16, sib, 8), -ENOENT);
	for (i = 0; i < 16; i++)
		CU_ASSERT_EQUAL(sg_topo_node_of_cpu(t, (unsigned int)i), i < 8 ? 0 : 1);
	CU_ASSERT_EQUAL(sg_topo_node_of_cpu(t, 99), -ENOENT);
}

static void
test_synthetic_two_socket(void)
{
	struct sg_topo *t = sg_topo_load_synthetic(TWO_SOCKET_SMT);
	struct sg_topo_nic_info nics[4];

	check_two_socket(t);
	/* Synthetic topologies have no PCI, and sysfs is not consulted for them. */
	CU_ASSERT_EQUAL(sg_topo_nics(t, nics, 4), 0);
	CU_ASSERT_EQUAL(sg_topo_node_of_pci(t, "0000:00:03.0"), -ENODEV);
	sg_topo_free(t);
}

static void
test_synthetic_shapes(void)
{
	struct sg_topo *t;
	unsigned int sib[4];
	int nodes[8];

	/* No [numa]: hwloc gives the machine one node, 0. No SMT: each PU is alone. */
	t = sg_topo_load_synthetic("pack:2 core:2 pu:1");
	CU_ASSERT_FATAL(t != NULL);
	CU_ASSERT_EQUAL(sg_topo_nodes(t, nodes, 8), 1);
	CU_ASSERT_EQUAL(nodes[0], 0);
	CU_ASSERT_EQUAL(sg_topo_cpu_siblings(t, 3, sib, 4), 1);
	CU_ASSERT_EQUAL(sib[0], 3);
	CU_ASSERT_EQUAL(sg_topo_node_of_cpu(t, 3), 0);
	sg_topo_free(t);

	/* Sub-NUMA clustering: two nodes per package. */
	t = sg_topo_load_synthetic(FOUR_NODE_SMT);
	CU_ASSERT_FATAL(t != NULL);
	CU_ASSERT_EQUAL(sg_topo_nodes(t, nodes, 8), 4);
	CU_ASSERT_EQUAL(sg_topo_node_of_cpu(t, 5), 1);
	CU_ASSERT_EQUAL(sg_topo_node_of_cpu(t, 15), 3);
	CU_ASSERT_EQUAL(sg_topo_core_count(t, 2), 2);
	sg_topo_free(t);
}

static void
test_load_errors(void)
{
	char junk[] = "/tmp/sg_topo_junk_XXXXXX";
	int fd;

	rte_errno = 0;
	CU_ASSERT_PTR_NULL(sg_topo_load_synthetic("pack:2 [numa] core:four"));
	CU_ASSERT_EQUAL(rte_errno, EINVAL);
	CU_ASSERT_PTR_NULL(sg_topo_load_synthetic(""));
	CU_ASSERT_PTR_NULL(sg_topo_load_synthetic(NULL));
	CU_ASSERT_PTR_NULL(sg_topo_load_xml(NULL));
	rte_errno = 0;
	CU_ASSERT_PTR_NULL(sg_topo_load_xml("/nonexistent/topo.xml"));
	CU_ASSERT_EQUAL(rte_errno, ENOENT);

	fd = mkstemp(junk);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(write(fd, "<not a topology/>\n", 18) == 18);
	close(fd);
	rte_errno = 0;
	CU_ASSERT_PTR_NULL(sg_topo_load_xml(junk));
	CU_ASSERT_NOT_EQUAL(rte_errno, 0);
	unlink(junk);

	sg_topo_free(NULL);
	CU_ASSERT_EQUAL(sg_topo_cpus(NULL, NULL, 0), -EINVAL);
	CU_ASSERT_EQUAL(sg_topo_set_sysfs_root(NULL, "/x"), -EINVAL);
}

static void
test_xml_roundtrip(void)
{
	struct sg_topo *t = sg_topo_load_xml(fixture("2s-smt.xml"));

	check_two_socket(t);
	sg_topo_free(t);
}

/* 2s-smt-pci.xml: 3b:00.{0,1} (E810) and an NVMe under package 0, af:00.{0,1}
 * (ConnectX-5) under package 1, and 00:03.0 (virtio) under the machine. */
static void
test_xml_pci(void)
{
	struct sg_topo *t = sg_topo_load_xml(fixture("2s-smt-pci.xml"));
	struct sg_topo_nic_info nics[8];
	int n;

	check_two_socket(t);
	CU_ASSERT_EQUAL(sg_topo_node_of_pci(t, "0000:3b:00.0"), 0);
	CU_ASSERT_EQUAL(sg_topo_node_of_pci(t, "3b:00.1"), 0);
	CU_ASSERT_EQUAL(sg_topo_node_of_pci(t, "0000:AF:00.0"), 1);
	CU_ASSERT_EQUAL(sg_topo_node_of_pci(t, "af:00.1"), 1);
	CU_ASSERT_EQUAL(sg_topo_node_of_pci(t, "0000:3b:00.2"), 0); /* NVMe: any PCI works */
	/* Attached to the whole machine: both nodes, so unknown. */
	CU_ASSERT_EQUAL(sg_topo_node_of_pci(t, "00:03.0"), SG_TOPO_NODE_UNKNOWN);
	CU_ASSERT_EQUAL(sg_topo_node_of_pci(t, "0000:3b:00.7"), -ENODEV);
	CU_ASSERT_EQUAL(sg_topo_node_of_pci(t, "eth0"), -EINVAL);

	n = sg_topo_nics(t, nics, 8);
	CU_ASSERT_EQUAL_FATAL(n, 5); /* the NVMe is not a NIC */
	CU_ASSERT_STRING_EQUAL(nics[0].pci, "0000:00:03.0");
	CU_ASSERT_EQUAL(nics[0].node, SG_TOPO_NODE_UNKNOWN);
	CU_ASSERT_STRING_EQUAL(nics[0].ifname, "eth0");
	CU_ASSERT_STRING_EQUAL(nics[1].pci, "0000:3b:00.0");
	CU_ASSERT_EQUAL(nics[1].node, 0);
	CU_ASSERT_EQUAL(nics[1].hwloc_node, 0);
	CU_ASSERT_EQUAL(nics[1].sysfs_node, SG_TOPO_NODE_UNKNOWN);
	CU_ASSERT_EQUAL(nics[1].vendor, 0x8086);
	CU_ASSERT_EQUAL(nics[1].device, 0x1592);
	CU_ASSERT_STRING_EQUAL(nics[1].ifname, "ens1f0");
	CU_ASSERT_STRING_EQUAL(nics[3].pci, "0000:af:00.0");
	CU_ASSERT_EQUAL(nics[3].node, 1);
	CU_ASSERT_STRING_EQUAL(nics[4].pci, "0000:af:00.1");
	CU_ASSERT_STRING_EQUAL(nics[4].ifname, "");
	CU_ASSERT_FALSE(nics[4].dpdk_bound);
	CU_ASSERT_EQUAL(sg_topo_nics(t, NULL, 0), 5);
	sg_topo_free(t);
}

static void
test_pci_parse(void)
{
	static const struct {
		const char *in;
		const char *out; /* NULL: rejected */
	} v[] = {
		{"0000:3b:00.0", "0000:3b:00.0"},
		{"3B:00.1", "0000:3b:00.1"},
		{"0001:af:1f.7", "0001:af:1f.7"},
		{"10000:00:01.0", "10000:00:01.0"}, /* VMD domain */
		{"3b:00", NULL},
		{"3b:20.0", NULL},   /* device is 5 bits */
		{"3b:00.8", NULL},   /* function is 3 bits */
		{"100:00.0", NULL},  /* bus is 8 bits */
		{"-3b:00.0", NULL},
		{"0x3b:00.0", NULL},
		{"3b:00.0x", NULL},
		{"3b:00.0 ", NULL},
		{"", NULL},
		{"eth0", NULL},
	};
	char out[SG_TOPO_PCI_LEN];
	unsigned int i;

	for (i = 0; i < RTE_DIM(v); i++) {
		int ret = sg_topo_pci_parse(v[i].in, out, sizeof(out));

		if (v[i].out == NULL) {
			CU_ASSERT_EQUAL(ret, -EINVAL);
		} else {
			CU_ASSERT_EQUAL(ret, 0);
			CU_ASSERT_STRING_EQUAL(out, v[i].out);
		}
	}
	CU_ASSERT_EQUAL(sg_topo_pci_parse("3b:00.0", out, 8), -ENOSPC);
	CU_ASSERT_EQUAL(sg_topo_pci_parse(NULL, out, sizeof(out)), -EINVAL);
}

static struct sg_topo_nic
nic_node(uint16_t port, int node, uint16_t queues)
{
	struct sg_topo_nic n = {.node = node, .port = port, .queues = queues};

	return n;
}

static struct sg_topo_nic
nic_pci(uint16_t port, const char *pci, uint16_t queues)
{
	struct sg_topo_nic n = {.node = SG_TOPO_NODE_UNKNOWN, .port = port, .queues = queues};

	snprintf(n.pci, sizeof(n.pci), "%s", pci);
	return n;
}

static int
plan_with(struct sg_topo *t, struct sg_topo_plan *p, const struct sg_topo_nic *nics,
		unsigned int n, unsigned int workers, int control)
{
	struct sg_topo_plan_prm prm = {
		.nics = nics, .n_nics = n, .workers = workers, .control_cpu = control,
	};

	return sg_topo_plan(t, &prm, p);
}

/* No worker shares a core with another worker or with the control core. */
static void
check_no_shared_core(struct sg_topo *t, const struct sg_topo_plan *p)
{
	unsigned int sib[8], i, j, k;
	int n;

	for (i = 0; i < p->n_workers; i++) {
		n = sg_topo_cpu_siblings(t, p->worker_cpu[i], sib, 8);
		CU_ASSERT(n >= 1);
		for (k = 0; k < (unsigned int)n; k++) {
			CU_ASSERT_NOT_EQUAL(sib[k], p->control_cpu);
			for (j = 0; j < p->n_workers; j++)
				if (j != i)
					CU_ASSERT_NOT_EQUAL(sib[k], p->worker_cpu[j]);
		}
	}
}

static struct sg_topo_plan plan;

static void
test_plan_local(void)
{
	struct sg_topo *t = sg_topo_load_synthetic(TWO_SOCKET_SMT);
	struct sg_topo_nic nics[] = {nic_node(0, 0, 3), nic_node(1, 1, 2)};
	unsigned int i;

	CU_ASSERT_FATAL(t != NULL);
	CU_ASSERT_EQUAL_FATAL(plan_with(t, &plan, nics, 2, 0, -1), 0);
	CU_ASSERT_EQUAL(plan.control_cpu, 0);
	CU_ASSERT_EQUAL(plan.control_node, 0);
	CU_ASSERT_EQUAL(plan.n_workers, 5);
	CU_ASSERT_EQUAL(plan.n_queues, 5);
	CU_ASSERT_EQUAL(plan.n_remote, 0);
	CU_ASSERT_EQUAL(plan.n_shared, 0);
	CU_ASSERT_EQUAL(plan.n_smt, 0);
	CU_ASSERT_EQUAL(plan.n_short, 0);
	for (i = 0; i < plan.n_queues; i++) {
		CU_ASSERT_EQUAL(plan.q[i].cpu_node, plan.q[i].nic_node);
		CU_ASSERT_EQUAL(plan.q[i].lcore, i + 1); /* one worker per queue */
		CU_ASSERT_FALSE(plan.q[i].remote);
	}
	CU_ASSERT_STRING_EQUAL(plan.lcores, "0@0,1@2,2@4,3@6,4@8,5@10");
	CU_ASSERT_STRING_EQUAL(plan.config, "(0,0,1),(0,1,2),(0,2,3),(1,0,4),(1,1,5)");
	CU_ASSERT_STRING_EQUAL(plan.notes, "");
	check_no_shared_core(t, &plan);

	/* Ports are reported in port order whatever the NIC order. */
	nics[0] = nic_node(1, 0, 1);
	nics[1] = nic_node(0, 1, 1);
	CU_ASSERT_EQUAL_FATAL(plan_with(t, &plan, nics, 2, 0, -1), 0);
	CU_ASSERT_STRING_EQUAL(plan.config, "(0,0,1),(1,0,2)");
	CU_ASSERT_STRING_EQUAL(plan.lcores, "0@0,1@8,2@2");
	sg_topo_free(t);
}

static void
test_plan_full_machine(void)
{
	struct sg_topo *t = sg_topo_load_synthetic(TWO_SOCKET_SMT);
	struct sg_topo_nic nics[] = {nic_node(0, 0, 3), nic_node(1, 1, 4)};

	CU_ASSERT_FATAL(t != NULL);
	/* 7 workers + control = all 8 cores, one PU each. */
	CU_ASSERT_EQUAL_FATAL(plan_with(t, &plan, nics, 2, 0, -1), 0);
	CU_ASSERT_EQUAL(plan.n_workers, 7);
	CU_ASSERT_EQUAL(plan.n_remote + plan.n_smt + plan.n_short, 0);
	check_no_shared_core(t, &plan);

	/* Node 0's NIC wants all of node 0: the control core moves to node 1. */
	nics[0] = nic_node(0, 0, 4);
	nics[1] = nic_node(1, 1, 2);
	CU_ASSERT_EQUAL_FATAL(plan_with(t, &plan, nics, 2, 0, -1), 0);
	CU_ASSERT_EQUAL(plan.control_node, 1);
	CU_ASSERT_EQUAL(plan.control_cpu, 8);
	CU_ASSERT_EQUAL(plan.n_remote, 0);
	CU_ASSERT_STRING_EQUAL(plan.lcores, "0@8,1@0,2@2,3@4,4@6,5@10,6@12");
	CU_ASSERT(has_line(plan.notes, "control core on CPU 8"));
	check_no_shared_core(t, &plan);

	/* An explicit control CPU is kept, and its sibling is left alone. */
	CU_ASSERT_EQUAL_FATAL(plan_with(t, &plan, nics, 2, 0, 9), 0);
	CU_ASSERT_EQUAL(plan.control_cpu, 9);
	check_no_shared_core(t, &plan);
	sg_topo_free(t);
}

static void
test_plan_remote(void)
{
	struct sg_topo *t = sg_topo_load_synthetic(TWO_SOCKET_SMT);
	struct sg_topo_nic nics[] = {nic_node(0, 0, 1), nic_node(1, 1, 6)};
	unsigned int i, remote = 0;

	CU_ASSERT_FATAL(t != NULL);
	CU_ASSERT_EQUAL_FATAL(plan_with(t, &plan, nics, 2, 0, -1), 0);
	CU_ASSERT_EQUAL(plan.n_workers, 7);
	CU_ASSERT_EQUAL(plan.n_remote, 2);
	CU_ASSERT_EQUAL(plan.n_short, 0);
	for (i = 0; i < plan.n_queues; i++) {
		if (!plan.q[i].remote)
			continue;
		remote++;
		CU_ASSERT_EQUAL(plan.q[i].port, 1);
		CU_ASSERT(plan.q[i].queue >= 4); /* the first four are local */
		CU_ASSERT_EQUAL(plan.q[i].cpu_node, 0);
		CU_ASSERT_EQUAL(plan.q[i].nic_node, 1);
	}
	CU_ASSERT_EQUAL(remote, 2);
	CU_ASSERT(has_line(plan.notes, "remote: port 1 queue 4"));
	CU_ASSERT(has_line(plan.notes, "node 1 has no free core"));
	check_no_shared_core(t, &plan);
	sg_topo_free(t);
}

static void
test_plan_short(void)
{
	struct sg_topo *t;
	struct sg_topo_nic nics[] = {nic_node(0, 0, 3), nic_node(1, 0, 1)};

	/* One core of one PU: nothing left after the control core. */
	t = sg_topo_load_synthetic("pack:1 core:1 pu:1");
	CU_ASSERT_FATAL(t != NULL);
	CU_ASSERT_EQUAL(plan_with(t, &plan, nics, 1, 0, -1), -ENOSPC);
	CU_ASSERT(has_line(plan.notes, "not enough CPUs"));
	CU_ASSERT_STRING_EQUAL(plan.lcores, "");
	sg_topo_free(t);

	/* Two cores, no SMT, three queues: one worker polls all three. */
	t = sg_topo_load_synthetic("pack:1 core:2 pu:1");
	CU_ASSERT_FATAL(t != NULL);
	CU_ASSERT_EQUAL_FATAL(plan_with(t, &plan, nics, 1, 0, -1), 0);
	CU_ASSERT_EQUAL(plan.n_workers, 1);
	CU_ASSERT_EQUAL(plan.n_short, 2);
	CU_ASSERT_EQUAL(plan.n_shared, 3);
	CU_ASSERT_STRING_EQUAL(plan.lcores, "0@0,1@1");
	CU_ASSERT_STRING_EQUAL(plan.config, "(0,0,1),(0,1,1),(0,2,1)");
	CU_ASSERT(has_line(plan.notes, "not enough cores"));
	sg_topo_free(t);

	/* Two cores of two PUs, two queues: the second worker takes the control core's sibling. */
	t = sg_topo_load_synthetic("pack:1 core:2 pu:2");
	CU_ASSERT_FATAL(t != NULL);
	nics[0] = nic_node(0, 0, 2);
	CU_ASSERT_EQUAL_FATAL(plan_with(t, &plan, nics, 1, 0, -1), 0);
	CU_ASSERT_EQUAL(plan.n_workers, 2);
	CU_ASSERT_EQUAL(plan.n_smt, 1);
	CU_ASSERT_EQUAL(plan.n_short, 0);
	CU_ASSERT_STRING_EQUAL(plan.lcores, "0@0,1@2,2@1");
	CU_ASSERT(has_line(plan.notes, "shares a core with the control core"));
	sg_topo_free(t);
}

static void
test_plan_workers_cap(void)
{
	struct sg_topo *t = sg_topo_load_synthetic(TWO_SOCKET_SMT);
	struct sg_topo_nic nics[] = {nic_node(0, 0, 3), nic_node(1, 1, 3)};
	unsigned int i;

	CU_ASSERT_FATAL(t != NULL);
	CU_ASSERT_EQUAL_FATAL(plan_with(t, &plan, nics, 2, 2, -1), 0);
	CU_ASSERT_EQUAL(plan.n_workers, 2); /* one per NIC, each on its node */
	CU_ASSERT_EQUAL(plan.n_remote, 0);
	CU_ASSERT_EQUAL(plan.n_shared, 6);
	CU_ASSERT_STRING_EQUAL(plan.config, "(0,0,1),(0,1,1),(0,2,1),(1,0,2),(1,1,2),(1,2,2)");
	CU_ASSERT(has_line(plan.notes, "2 workers for 6 queues"));

	/* More workers than queues: one per queue. */
	CU_ASSERT_EQUAL_FATAL(plan_with(t, &plan, nics, 2, 50, -1), 0);
	CU_ASSERT_EQUAL(plan.n_workers, 6);

	/* Fewer workers than NICs: the NIC without one is polled by a worker elsewhere. */
	CU_ASSERT_EQUAL_FATAL(plan_with(t, &plan, nics, 2, 1, -1), 0);
	CU_ASSERT_EQUAL(plan.n_workers, 1);
	CU_ASSERT_EQUAL(plan.n_queues, 6);
	for (i = 0; i < plan.n_queues; i++)
		CU_ASSERT_EQUAL(plan.q[i].lcore, 1);
	CU_ASSERT_EQUAL(plan.n_remote, 3);
	sg_topo_free(t);
}

static void
test_plan_auto_and_pci(void)
{
	struct sg_topo *t = sg_topo_load_synthetic(TWO_SOCKET_SMT);
	struct sg_topo_nic nics[3];

	CU_ASSERT_FATAL(t != NULL);
	/* queues 0: one per free core of the node (node 0 lost one to the control core). */
	nics[0] = nic_node(0, 0, 0);
	nics[1] = nic_node(1, 1, 0);
	CU_ASSERT_EQUAL_FATAL(plan_with(t, &plan, nics, 2, 0, -1), 0);
	CU_ASSERT_EQUAL(plan.n_queues, 7);
	CU_ASSERT_EQUAL(plan.n_remote, 0);
	check_no_shared_core(t, &plan);
	sg_topo_free(t);

	t = sg_topo_load_xml(fixture("2s-smt-pci.xml"));
	CU_ASSERT_FATAL(t != NULL);
	nics[0] = nic_pci(0, "0000:3b:00.0", 2);
	nics[1] = nic_pci(1, "af:00.0", 2);
	nics[2] = nic_pci(2, "00:03.0", 1);
	CU_ASSERT_EQUAL_FATAL(plan_with(t, &plan, nics, 3, 0, -1), 0);
	CU_ASSERT_EQUAL(plan.q[0].nic_node, 0);
	CU_ASSERT_EQUAL(plan.q[2].nic_node, 1);
	CU_ASSERT_EQUAL(plan.q[2].cpu_node, 1);
	CU_ASSERT_EQUAL(plan.q[4].nic_node, SG_TOPO_NODE_UNKNOWN);
	CU_ASSERT_FALSE(plan.q[4].remote);
	CU_ASSERT_EQUAL(plan.n_remote, 0);
	CU_ASSERT(has_line(plan.notes, "NUMA node unknown"));
	CU_ASSERT_STRING_EQUAL(plan.lcores, "0@0,1@2,2@4,3@8,4@10,5@6");
	CU_ASSERT_STRING_EQUAL(plan.config, "(0,0,1),(0,1,2),(1,0,3),(1,1,4),(2,0,5)");
	sg_topo_free(t);
}

static void
test_plan_bad_input(void)
{
	struct sg_topo *t = sg_topo_load_xml(fixture("2s-smt-pci.xml"));
	struct sg_topo_nic nics[2];
	struct sg_topo_plan_prm prm = {.n_nics = 1, .control_cpu = -1};

	CU_ASSERT_FATAL(t != NULL);
	nics[0] = nic_pci(0, "0000:3b:00.7", 1);
	CU_ASSERT_EQUAL(plan_with(t, &plan, nics, 1, 0, -1), -ENODEV);
	CU_ASSERT(has_line(plan.notes, "0000:3b:00.7 is not in the topology"));
	nics[0] = nic_pci(0, "3b:00", 1);
	CU_ASSERT_EQUAL(plan_with(t, &plan, nics, 1, 0, -1), -EINVAL);
	nics[0] = nic_node(0, 5, 1);
	CU_ASSERT_EQUAL(plan_with(t, &plan, nics, 1, 0, -1), -EINVAL);
	CU_ASSERT(has_line(plan.notes, "node 5 does not exist"));
	nics[0] = nic_node(0, 0, 1);
	nics[1] = nic_node(0, 1, 1);
	CU_ASSERT_EQUAL(plan_with(t, &plan, nics, 2, 0, -1), -EINVAL);
	CU_ASSERT(has_line(plan.notes, "port 0 is listed twice"));
	nics[0] = nic_pci(0, "3b:00.0", 1);
	nics[1] = nic_pci(1, "0000:3B:00.0", 1);
	CU_ASSERT_EQUAL(plan_with(t, &plan, nics, 2, 0, -1), -EINVAL);
	CU_ASSERT(has_line(plan.notes, "is listed twice"));
	CU_ASSERT_EQUAL(plan_with(t, &plan, nics, 1, 0, 99), -EINVAL);
	CU_ASSERT(has_line(plan.notes, "control CPU 99"));
	nics[0] = nic_node(0, 0, 600);
	CU_ASSERT_EQUAL(plan_with(t, &plan, nics, 1, 0, -1), -E2BIG);
	CU_ASSERT_EQUAL(plan_with(t, &plan, nics, 0, 0, -1), -EINVAL);
	CU_ASSERT_EQUAL(plan_with(t, &plan, nics, SG_TOPO_MAX_NICS + 1, 0, -1), -E2BIG);
	CU_ASSERT_EQUAL(sg_topo_plan(t, &prm, &plan), -EINVAL); /* nics NULL */
	prm.nics = nics;
	CU_ASSERT_EQUAL(sg_topo_plan(t, &prm, NULL), -EINVAL);
	CU_ASSERT_EQUAL(sg_topo_plan(NULL, &prm, &plan), -EINVAL);
	sg_topo_free(t);
}

/* Build the few sysfs entries the library reads, under @p root. */
static int
mkpath(const char *root, const char *rel)
{
	char path[PATH_MAX + 256], *p;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (p = path + strlen(root) + 1; *p != '\0'; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(path, 0755) < 0 && errno != EEXIST)
				return -1;
			*p = '/';
		}
	return mkdir(path, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

static int
put(const char *root, const char *rel, const char *text)
{
	char path[PATH_MAX + 256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "w");
	if (f == NULL)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static int
link_to(const char *root, const char *rel, const char *target)
{
	char path[PATH_MAX + 256];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	return symlink(target, path);
}

static int
fake_pci(const char *root, const char *addr, const char *node, const char *cls)
{
	char rel[256], tgt[256];
	int err = 0;

	snprintf(rel, sizeof(rel), "devices/pci0000:00/%s", addr);
	err |= mkpath(root, rel);
	snprintf(rel, sizeof(rel), "devices/pci0000:00/%s/numa_node", addr);
	err |= put(root, rel, node);
	snprintf(rel, sizeof(rel), "devices/pci0000:00/%s/class", addr);
	err |= put(root, rel, cls);
	snprintf(rel, sizeof(rel), "devices/pci0000:00/%s/vendor", addr);
	err |= put(root, rel, "0x8086\n");
	snprintf(rel, sizeof(rel), "devices/pci0000:00/%s/device", addr);
	err |= put(root, rel, "0x1572\n");
	snprintf(rel, sizeof(rel), "bus/pci/devices/%s", addr);
	snprintf(tgt, sizeof(tgt), "../../../devices/pci0000:00/%s", addr);
	err |= link_to(root, rel, tgt);
	return err;
}

/* A kernel NIC (i40e, eth5), a vfio-pci NIC and a vfio-pci GPU, in a fake sysfs. */
static void
test_sysfs_fallback(void)
{
	char root[] = "/tmp/sg_topo_sysfs_XXXXXX";
	struct sg_topo_nic_info nics[4];
	struct sg_topo_nic pci_nic = nic_pci(0, "d8:00.0", 1);
	struct sg_topo *t;
	char cmd[PATH_MAX + 16];
	int err = 0, n;

	CU_ASSERT_FATAL(mkdtemp(root) != NULL);
	err |= mkpath(root, "class/net");
	err |= mkpath(root, "bus/pci/devices");
	err |= mkpath(root, "bus/pci/drivers/vfio-pci");
	err |= mkpath(root, "bus/pci/drivers/i40e");
	err |= fake_pci(root, "0000:00:05.0", "1\n", "0x020000\n");
	err |= fake_pci(root, "0000:d8:00.0", "1\n", "0x020000\n");
	err |= fake_pci(root, "0000:d9:00.0", "0\n", "0x030000\n");
	err |= mkpath(root, "devices/pci0000:00/0000:00:05.0/net/eth5");
	err |= mkpath(root, "devices/virtual/net/lo");
	err |= link_to(root, "class/net/eth5", "../../devices/pci0000:00/0000:00:05.0/net/eth5");
	err |= link_to(root, "class/net/lo", "../../devices/virtual/net/lo");
	err |= link_to(root, "devices/pci0000:00/0000:00:05.0/driver",
			"../../../bus/pci/drivers/i40e");
	err |= link_to(root, "bus/pci/drivers/vfio-pci/0000:d8:00.0",
			"../../../../devices/pci0000:00/0000:d8:00.0");
	err |= link_to(root, "bus/pci/drivers/vfio-pci/0000:d9:00.0",
			"../../../../devices/pci0000:00/0000:d9:00.0");
	CU_ASSERT_FATAL(err == 0);

	t = sg_topo_load_synthetic(TWO_SOCKET_SMT);
	CU_ASSERT_FATAL(t != NULL);
	CU_ASSERT_EQUAL(sg_topo_node_of_pci(t, "d8:00.0"), -ENODEV); /* not consulted yet */
	CU_ASSERT_EQUAL(sg_topo_set_sysfs_root(t, root), 0);
	CU_ASSERT_EQUAL(sg_topo_node_of_pci(t, "d8:00.0"), 1);
	CU_ASSERT_EQUAL(sg_topo_node_of_pci(t, "0000:00:05.0"), 1);
	CU_ASSERT_EQUAL(sg_topo_node_of_pci(t, "0000:00:06.0"), -ENODEV);

	n = sg_topo_nics(t, nics, 4);
	CU_ASSERT_EQUAL_FATAL(n, 2); /* lo is virtual, the GPU is not a NIC */
	CU_ASSERT_STRING_EQUAL(nics[0].pci, "0000:00:05.0");
	CU_ASSERT_STRING_EQUAL(nics[0].ifname, "eth5");
	CU_ASSERT_STRING_EQUAL(nics[0].driver, "i40e");
	CU_ASSERT_FALSE(nics[0].dpdk_bound);
	CU_ASSERT_EQUAL(nics[0].sysfs_node, 1);
	CU_ASSERT_EQUAL(nics[0].node, 1);
	CU_ASSERT_EQUAL(nics[0].hwloc_node, SG_TOPO_NODE_UNKNOWN);
	CU_ASSERT_EQUAL(nics[0].vendor, 0x8086);
	CU_ASSERT_STRING_EQUAL(nics[1].pci, "0000:d8:00.0");
	CU_ASSERT_STRING_EQUAL(nics[1].driver, "vfio-pci");
	CU_ASSERT_TRUE(nics[1].dpdk_bound);
	CU_ASSERT_STRING_EQUAL(nics[1].ifname, "");
	CU_ASSERT_EQUAL(nics[1].node, 1);

	CU_ASSERT_EQUAL_FATAL(plan_with(t, &plan, &pci_nic, 1, 0, -1), 0);
	CU_ASSERT_EQUAL(plan.q[0].nic_node, 1);
	CU_ASSERT_EQUAL(plan.q[0].cpu_node, 1);

	CU_ASSERT_EQUAL(sg_topo_set_sysfs_root(t, NULL), 0);
	CU_ASSERT_EQUAL(sg_topo_node_of_pci(t, "d8:00.0"), -ENODEV);
	CU_ASSERT_EQUAL(sg_topo_set_sysfs_root(t, ""), -EINVAL);
	sg_topo_free(t);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	CU_ASSERT_EQUAL(system(cmd), 0);
}

static void
test_live(void)
{
	struct sg_topo *t = sg_topo_load();
	struct sg_topo_nic_info nics[64];
	struct sg_topo_nic nic = nic_node(0, 0, 1);
	unsigned int cpus[1024];
	int nodes[64];
	int n_nodes, n, i, k, cores;

	CU_ASSERT_FATAL(t != NULL);
	CU_ASSERT_TRUE(sg_topo_is_live(t));
	n = sg_topo_cpus(t, cpus, 1024);
	CU_ASSERT(n >= 1);
	n_nodes = sg_topo_nodes(t, nodes, 64);
	CU_ASSERT(n_nodes >= 1);
	CU_ASSERT_EQUAL(nodes[0], 0);
	/* CPU 0 is on node 0 here, through libnuma, sysfs and hwloc alike. */
	CU_ASSERT_EQUAL(sg_topo_node_of_cpu(t, 0), 0);
	CU_ASSERT_EQUAL(sg_topo_node_of_cpu(NULL, 0), 0);
	CU_ASSERT(sg_topo_cpu_siblings(t, cpus[0], NULL, 0) >= 1);

	/* Every NIC found has a node that exists, or says it does not know. */
	n = sg_topo_nics(t, nics, 64);
	CU_ASSERT(n >= 0);
	for (i = 0; i < RTE_MIN(n, 64); i++) {
		for (k = 0; k < n_nodes && nodes[k] != nics[i].node; k++)
			;
		CU_ASSERT(nics[i].node == SG_TOPO_NODE_UNKNOWN || k < n_nodes);
		CU_ASSERT_EQUAL(sg_topo_node_of_pci(t, nics[i].pci), nics[i].node);
		CU_ASSERT(sg_topo_node_of_pci(NULL, nics[i].pci) >= SG_TOPO_NODE_UNKNOWN);
	}
	CU_ASSERT_EQUAL(sg_topo_node_of_pci(t, "00ff:ff:1f.7"), -ENODEV);

	cores = sg_topo_core_count(t, 0);
	CU_ASSERT(cores >= 1);
	if (cores >= 2) {
		CU_ASSERT_EQUAL(plan_with(t, &plan, &nic, 1, 0, -1), 0);
		CU_ASSERT_NOT_EQUAL(plan.worker_cpu[0], plan.control_cpu);
	} else {
		CU_ASSERT_EQUAL(plan_with(t, &plan, &nic, 1, 0, -1), -ENOSPC);
	}
	sg_topo_free(t);
}

/* Ports and lcores through EAL: a net_null vdev and the main lcore on CPU 0. */
static void
test_eal_port_lcore(void)
{
	struct sg_topo *t = sg_topo_load();
	uint16_t port;
	int node;

	CU_ASSERT_FATAL(t != NULL);
	if (!have_eal) {
		CU_FAIL("EAL did not start");
		sg_topo_free(t);
		return;
	}
	CU_ASSERT_EQUAL_FATAL(rte_dev_probe("net_null0"), 0);
	CU_ASSERT_EQUAL_FATAL(rte_eth_dev_get_port_by_name("net_null0", &port), 0);
	/* A vdev has no PCI address: its socket, or unknown. */
	node = sg_topo_node_of_port(t, port);
	CU_ASSERT(node == SG_TOPO_NODE_UNKNOWN || node == rte_eth_dev_socket_id(port));
	CU_ASSERT_EQUAL(sg_topo_node_of_port(NULL, port), node);
	CU_ASSERT_EQUAL(sg_topo_node_of_port(t, RTE_MAX_ETHPORTS - 1), -ENODEV);
	/* sg_test_eal_init() runs the main lcore with "-l 0". */
	CU_ASSERT_EQUAL(sg_topo_node_of_lcore(t, rte_get_main_lcore()), 0);
	CU_ASSERT_EQUAL(sg_topo_node_of_lcore(NULL, rte_get_main_lcore()), 0);
	CU_ASSERT_EQUAL(sg_topo_node_of_lcore(t, RTE_MAX_LCORE - 1), -EINVAL);
	CU_ASSERT_EQUAL(sg_topo_node_of_lcore(t, RTE_MAX_LCORE), -EINVAL);
	CU_ASSERT_EQUAL(rte_eal_hotplug_remove("vdev", "net_null0"), 0);
	sg_topo_free(t);
}

int
main(void)
{
	CU_pSuite s;

	if (find_data_dir() != 0) {
		fprintf(stderr, "test_topo: no fixtures at %s (set SG_TOPO_DATA)\n", data_dir);
		printf("\nSGTEST topo: 0 passed, 1 failed\n");
		return EXIT_FAILURE;
	}
	if (CU_initialize_registry() != CUE_SUCCESS)
		return EXIT_FAILURE;
	have_eal = sg_test_eal_init("topo") == 0;
	s = CU_add_suite("topo", NULL, NULL);
	CU_add_test(s, "synthetic two-socket SMT", test_synthetic_two_socket);
	CU_add_test(s, "synthetic shapes (no NUMA, no SMT, sub-NUMA)", test_synthetic_shapes);
	CU_add_test(s, "load errors", test_load_errors);
	CU_add_test(s, "saved XML matches synthetic", test_xml_roundtrip);
	CU_add_test(s, "saved XML with PCI devices", test_xml_pci);
	CU_add_test(s, "PCI address parsing", test_pci_parse);
	CU_add_test(s, "plan: control apart, workers local", test_plan_local);
	CU_add_test(s, "plan: full machine, control moves", test_plan_full_machine);
	CU_add_test(s, "plan: remote fallback flagged", test_plan_remote);
	CU_add_test(s, "plan: not enough CPUs", test_plan_short);
	CU_add_test(s, "plan: --workers cap", test_plan_workers_cap);
	CU_add_test(s, "plan: auto queues and PCI NICs", test_plan_auto_and_pci);
	CU_add_test(s, "plan: bad input", test_plan_bad_input);
	CU_add_test(s, "sysfs fall-back (fake tree)", test_sysfs_fallback);
	CU_add_test(s, "live machine", test_live);
	CU_add_test(s, "EAL port and lcore nodes", test_eal_port_lcore);
	return sg_test_run("topo", have_eal);
}
