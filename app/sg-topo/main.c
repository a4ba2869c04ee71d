/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sg-topo: print a machine's NUMA/core/SMT layout and its network PCI
 * devices, and recommend a shardgate core map (EAL --lcores and --config)
 * for the NICs given: control core apart, one worker per queue on its NIC's
 * node, no two workers on SMT siblings. Exit 2 on bad input.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_string_fns.h>

#include "sg_topo.h"

#define EXIT_BAD_INPUT 2
/* CPUs and nodes printed; larger machines are summarised. */
#define CPUS_MAX 4096
#define NODES_MAX 64
#define NICS_SHOWN 256

struct opts {
	const char *xml;
	const char *synthetic;
	const char *write;
	struct sg_topo_nic nics[SG_TOPO_MAX_NICS];
	unsigned int n_nics;
	unsigned int workers;
	int control_cpu;
};

static void
usage(FILE *f, const char *prog)
{
	fprintf(f,
		"Usage: %s [--input FILE.xml | --synthetic DESC] [--nic NIC]... [--workers N]\n"
		"       [--control CPU] [--write FILE] [--help]\n"
		"\n"
		"Print the NUMA nodes, cores, SMT siblings and network PCI devices of this\n"
		"machine (or of a saved or synthetic hwloc topology) and a recommended\n"
		"shardgate core map: the control core (lcore 0) apart from the workers, one\n"
		"worker per queue on its NIC's NUMA node, no two workers on SMT siblings.\n"
		"\n"
		"  --input FILE.xml   topology saved with `lstopo FILE.xml` (on the target host)\n"
		"  --synthetic DESC   hwloc synthetic topology, e.g. \"pack:2 [numa] core:4 pu:2\"\n"
		"  --nic PCI[:QUEUES] a NIC by PCI address (0000:3b:00.0 or 3b:00.0) and its rx\n"
		"                     queues; without QUEUES, one per free core of its node\n"
		"  --nic NODE:QUEUES  a NIC on NUMA node NODE (synthetic topologies have no PCI)\n"
		"  --workers N        at most N workers (queues then share lcores)\n"
		"  --control CPU      put the control core on CPU (default: first core of node 0)\n"
		"  --write FILE       write the map as shell variables: lcores, config, portmask,\n"
		"                     allow; `. FILE` then\n"
		"                     shardgate --lcores \"$lcores\" $allow -- -p \"$portmask\" ...\n"
		"                     --config \"$config\"\n"
		"  --help             this text\n"
		"\n"
		"Without --nic, the map covers the NICs bound to vfio-pci, uio_pci_generic or\n"
		"igb_uio. DPDK numbers PCI ports in address order, so ports here are numbered\n"
		"the same way. Exit status: 0 map printed, 2 bad input (unknown NIC, bad XML or\n"
		"synthetic description, not enough CPUs).\n",
		prog);
}

static int
parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* "0000:3b:00.0", "3b:00.0:4", "0000:3b:00.0:4" or "1:4". */
static int
parse_nic(const char *spec, struct sg_topo_nic *nic)
{
	char buf[64];
	char *colon;
	unsigned long v;

	memset(nic, 0, sizeof(*nic));
	nic->node = SG_TOPO_NODE_UNKNOWN;
	if (rte_strscpy(buf, spec, sizeof(buf)) < 0)
		return -EINVAL;
	if (strchr(buf, '.') == NULL) {
		colon = strchr(buf, ':');
		if (colon == NULL)
			return -EINVAL;
		*colon = '\0';
		if (parse_uint(buf, 65535, &v) < 0)
			return -EINVAL;
		nic->node = (int)v;
		if (parse_uint(colon + 1, UINT16_MAX, &v) < 0 || v == 0)
			return -EINVAL;
		nic->queues = (uint16_t)v;
		return 0;
	}
	colon = strrchr(buf, ':');
	if (colon != NULL && strchr(colon, '.') == NULL) {
		*colon = '\0';
		if (parse_uint(colon + 1, UINT16_MAX, &v) < 0 || v == 0)
			return -EINVAL;
		nic->queues = (uint16_t)v;
	}
	return sg_topo_pci_parse(buf, nic->pci, sizeof(nic->pci));
}

static int
parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{"input", required_argument, NULL, 'i'},
		{"synthetic", required_argument, NULL, 's'},
		{"nic", required_argument, NULL, 'n'},
		{"workers", required_argument, NULL, 'w'},
		{"control", required_argument, NULL, 'c'},
		{"write", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	unsigned long v;
	int c;

	o->control_cpu = -1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			o->xml = optarg;
			break;
		case 's':
			o->synthetic = optarg;
			break;
		case 'n':
			if (o->n_nics == SG_TOPO_MAX_NICS) {
				fprintf(stderr, "sg-topo: at most %d --nic\n", SG_TOPO_MAX_NICS);
				return -EINVAL;
			}
			if (parse_nic(optarg, &o->nics[o->n_nics]) < 0) {
				fprintf(stderr, "sg-topo: --nic %s: expected PCI[:QUEUES] "
						"(0000:3b:00.0:4) or NODE:QUEUES (1:4)\n", optarg);
				return -EINVAL;
			}
			o->n_nics++;
			break;
		case 'w':
			if (parse_uint(optarg, SG_TOPO_MAX_WORKERS, &v) < 0 || v == 0) {
				fprintf(stderr, "sg-topo: --workers %s: expected 1..%d\n", optarg,
						SG_TOPO_MAX_WORKERS);
				return -EINVAL;
			}
			o->workers = (unsigned int)v;
			break;
		case 'c':
			if (parse_uint(optarg, 1u << 20, &v) < 0) {
				fprintf(stderr, "sg-topo: --control %s: expected a CPU number\n",
						optarg);
				return -EINVAL;
			}
			o->control_cpu = (int)v;
			break;
		case 'o':
			o->write = optarg;
			break;
		case 'h':
			usage(stdout, argv[0]);
			exit(EXIT_SUCCESS);
		default:
			usage(stderr, argv[0]);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "sg-topo: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (o->xml != NULL && o->synthetic != NULL) {
		fprintf(stderr, "sg-topo: --input and --synthetic exclude each other\n");
		return -EINVAL;
	}
	return 0;
}

/* "0-3,8,10-11" for an ascending list. */
static void
print_ranges(const unsigned int *v, int n)
{
	int i = 0;

	while (i < n) {
		int j = i;

		while (j + 1 < n && v[j + 1] == v[j] + 1)
			j++;
		printf("%s%u", i == 0 ? "" : ",", v[i]);
		if (j > i)
			printf("-%u", v[j]);
		i = j + 1;
	}
}

static void
print_machine(const struct sg_topo *t)
{
	static unsigned int cpus[CPUS_MAX], sib[CPUS_MAX];
	int nodes[NODES_MAX];
	int n_nodes, n_cpus, n_cores, i, j, smt = 1;

	n_nodes = RTE_MIN(sg_topo_nodes(t, nodes, NODES_MAX), NODES_MAX);
	n_cpus = sg_topo_cpus(t, cpus, CPUS_MAX);
	n_cores = sg_topo_core_count(t, SG_TOPO_NODE_UNKNOWN);
	for (i = 0; i < RTE_MIN(n_cpus, CPUS_MAX); i++)
		smt = RTE_MAX(smt, sg_topo_cpu_siblings(t, cpus[i], NULL, 0));
	printf("machine: %d NUMA node(s), %d core(s), %d CPU(s), SMT %d\n", n_nodes, n_cores,
			n_cpus, smt);
	for (i = 0; i < n_nodes; i++) {
		int n = RTE_MIN(sg_topo_node_cpus(t, nodes[i], cpus, CPUS_MAX), CPUS_MAX);

		if (n <= 0) {
			printf("node %d: no CPU (memory only)\n", nodes[i]);
			continue;
		}
		printf("node %d: %d core(s), CPUs ", nodes[i], sg_topo_core_count(t, nodes[i]));
		print_ranges(cpus, n);
		printf("\n");
		for (j = 0; j < n; j++) {
			int ns = RTE_MIN(sg_topo_cpu_siblings(t, cpus[j], sib, CPUS_MAX), CPUS_MAX);

			if (ns <= 0 || sib[0] != cpus[j])
				continue; /* print each core once, at its first PU */
			printf("  core: CPU%s ", ns > 1 ? "s" : "");
			print_ranges(sib, ns);
			printf("%s\n", ns > 1 ? " (SMT siblings)" : "");
		}
	}
}

static int
print_nics(const struct sg_topo *t, struct sg_topo_nic_info *nics)
{
	int n = sg_topo_nics(t, nics, NICS_SHOWN), i;

	printf("network PCI devices:%s\n", n <= 0 ? " none" : "");
	for (i = 0; i < RTE_MIN(n, NICS_SHOWN); i++) {
		const struct sg_topo_nic_info *e = &nics[i];
		char hw[16] = "?", sys[16] = "?";

		if (e->hwloc_node >= 0)
			snprintf(hw, sizeof(hw), "%d", e->hwloc_node);
		if (e->sysfs_node >= 0)
			snprintf(sys, sizeof(sys), "%d", e->sysfs_node);
		printf("  %s  node %s (hwloc %s, sysfs %s)  %04x:%04x", e->pci,
				e->node >= 0 ? (e->node == e->hwloc_node ? hw : sys) : "?", hw, sys,
				e->vendor, e->device);
		if (e->driver[0] != '\0')
			printf("  driver %s%s", e->driver, e->dpdk_bound ? " (DPDK)" : "");
		if (e->ifname[0] != '\0')
			printf("  %s", e->ifname);
		printf("\n");
	}
	return RTE_MIN(n, NICS_SHOWN);
}

static int
cmp_pci(const void *a, const void *b)
{
	return strcmp(((const struct sg_topo_nic *)a)->pci, ((const struct sg_topo_nic *)b)->pci);
}

/* Number ports as DPDK will: PCI NICs in address order, then node-declared ones. */
static void
number_ports(struct sg_topo_nic *nics, unsigned int n)
{
	unsigned int i, k = 0;

	for (i = 0; i < n; i++)
		if (nics[i].pci[0] != '\0') {
			RTE_SWAP(nics[k], nics[i]);
			k++;
		}
	qsort(nics, k, sizeof(*nics), cmp_pci);
	for (i = 0; i < n; i++)
		nics[i].port = (uint16_t)i;
}

static void
allow_list(const struct sg_topo_plan_prm *prm, char *buf, size_t len)
{
	size_t used = 0;
	unsigned int i;

	buf[0] = '\0';
	for (i = 0; i < prm->n_nics && used < len; i++)
		if (prm->nics[i].pci[0] != '\0')
			used += (size_t)snprintf(buf + used, len - used, "%s-a %s",
					used == 0 ? "" : " ", prm->nics[i].pci);
}

static uint64_t
portmask(const struct sg_topo_plan_prm *prm)
{
	uint64_t m = 0;
	unsigned int i;

	for (i = 0; i < prm->n_nics; i++)
		if (prm->nics[i].port < 64)
			m |= UINT64_C(1) << prm->nics[i].port;
	return m;
}

static void
print_plan(const struct sg_topo_plan_prm *prm, const struct sg_topo_plan *p, const char *allow)
{
	unsigned int i, l;

	printf("ports (DPDK numbers PCI ports in address order):\n");
	for (i = 0; i < prm->n_nics; i++) {
		const struct sg_topo_nic *n = &prm->nics[i];
		int node = SG_TOPO_NODE_UNKNOWN;
		unsigned int q = 0, k;

		for (k = 0; k < p->n_queues; k++)
			if (p->q[k].port == n->port) {
				node = p->q[k].nic_node;
				q++;
			}
		printf("  port %u: %s, node %d, %u rx queue(s)\n", n->port,
				n->pci[0] != '\0' ? n->pci : "(declared by node)", node, q);
	}
	printf("map:\n  lcore 0 -> CPU %u (node %d): control core\n", p->control_cpu,
			p->control_node);
	for (l = 1; l <= p->n_workers; l++) {
		printf("  lcore %u -> CPU %u (node %d): polls", l, p->worker_cpu[l - 1],
				p->worker_node[l - 1]);
		for (i = 0; i < p->n_queues; i++)
			if (p->q[i].lcore == l)
				printf(" port %u queue %u%s", p->q[i].port, p->q[i].queue,
						p->q[i].remote ? " (remote)" : "");
		printf("\n");
	}
	printf("lcores: %s\n", p->lcores);
	printf("config: %s\n", p->config);
	printf("run: shardgate --lcores \"%s\"%s%s -- -p 0x%" PRIx64 " ... --config \"%s\"\n",
			p->lcores, allow[0] != '\0' ? " " : "", allow, portmask(prm), p->config);
}

static int
write_map(const char *path, const char *source, const struct sg_topo_plan_prm *prm,
		const struct sg_topo_plan *p, const char *allow)
{
	char tmp[4096], safe[512];
	FILE *f;
	size_t i;

	/* The source goes in a comment: no newline may end it early. */
	rte_strscpy(safe, source, sizeof(safe));
	for (i = 0; safe[i] != '\0'; i++)
		if ((unsigned char)safe[i] < 0x20 || safe[i] == 0x7f)
			safe[i] = '?';
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	f = fopen(tmp, "w");
	if (f == NULL)
		return -errno;
	fprintf(f, "# shardgate core/NUMA map written by sg-topo from %s\n"
		"# . this file; shardgate --lcores \"$lcores\" $allow -- -p \"$portmask\" ... "
		"--config \"$config\"\n"
		"lcores=\"%s\"\nconfig=\"%s\"\nportmask=\"0x%" PRIx64 "\"\nallow=\"%s\"\n",
		safe, p->lcores, p->config, portmask(prm), allow);
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		int err = -errno;

		unlink(tmp);
		return err;
	}
	return 0;
}

/* Without --nic: every DPDK-bound NIC, queues from its node's free cores. */
static unsigned int
default_nics(const struct sg_topo_nic_info *found, int n_found, struct sg_topo_nic *nics)
{
	unsigned int n = 0;
	int i;

	for (i = 0; i < n_found && n < SG_TOPO_MAX_NICS; i++)
		if (found[i].dpdk_bound) {
			memset(&nics[n], 0, sizeof(nics[n]));
			rte_strscpy(nics[n].pci, found[i].pci, sizeof(nics[n].pci));
			nics[n].node = SG_TOPO_NODE_UNKNOWN;
			n++;
		}
	return n;
}

int
main(int argc, char **argv)
{
	static struct sg_topo_nic_info found[NICS_SHOWN];
	struct sg_topo_plan_prm prm = {0};
	struct sg_topo_plan *plan = NULL;
	struct opts o = {0};
	char source[512], allow[SG_TOPO_MAX_NICS * 20];
	struct sg_topo *t;
	int n_found, ret, rc = EXIT_BAD_INPUT;

	if (parse_args(argc, argv, &o) < 0)
		return EXIT_BAD_INPUT;
	if (o.xml != NULL) {
		t = sg_topo_load_xml(o.xml);
		snprintf(source, sizeof(source), "XML file %s", o.xml);
	} else if (o.synthetic != NULL) {
		t = sg_topo_load_synthetic(o.synthetic);
		snprintf(source, sizeof(source), "synthetic \"%s\"", o.synthetic);
	} else {
		t = sg_topo_load();
		snprintf(source, sizeof(source), "this machine");
	}
	if (t == NULL) {
		fprintf(stderr, "sg-topo: cannot load the topology of %s: %s\n", source,
				strerror(rte_errno));
		return EXIT_BAD_INPUT;
	}
	printf("topology: %s\n", source);
	print_machine(t);
	n_found = print_nics(t, found);

	if (o.n_nics == 0) {
		o.n_nics = default_nics(found, n_found, o.nics);
		if (o.n_nics == 0) {
			printf("no --nic given and no NIC bound to a DPDK driver: no map\n");
			rc = EXIT_SUCCESS;
			goto out;
		}
	}
	number_ports(o.nics, o.n_nics);
	prm.nics = o.nics;
	prm.n_nics = o.n_nics;
	prm.workers = o.workers;
	prm.control_cpu = o.control_cpu;
	plan = malloc(sizeof(*plan));
	if (plan == NULL) {
		fprintf(stderr, "sg-topo: out of memory\n");
		rc = EXIT_FAILURE;
		goto out;
	}
	ret = sg_topo_plan(t, &prm, plan);
	if (ret < 0) {
		fprintf(stderr, "sg-topo: no map: %s%s", plan->notes,
				plan->notes[0] == '\0' ? strerror(-ret) : "");
		if (plan->notes[0] == '\0')
			fprintf(stderr, "\n");
		goto out;
	}
	allow_list(&prm, allow, sizeof(allow));
	print_plan(&prm, plan, allow);
	if (plan->notes[0] != '\0') {
		const char *line = plan->notes;

		while (*line != '\0') {
			const char *nl = strchr(line, '\n');
			int len = nl != NULL ? (int)(nl - line) : (int)strlen(line);

			printf("warning: %.*s\n", len, line);
			fprintf(stderr, "sg-topo: warning: %.*s\n", len, line);
			line += len + (nl != NULL);
		}
	}
	if (o.write != NULL) {
		ret = write_map(o.write, source, &prm, plan, allow);
		if (ret < 0) {
			fprintf(stderr, "sg-topo: cannot write %s: %s\n", o.write, strerror(-ret));
			rc = EXIT_FAILURE;
			goto out;
		}
		printf("wrote %s\n", o.write);
	}
	rc = EXIT_SUCCESS;
out:
	free(plan);
	sg_topo_free(t);
	return rc;
}
