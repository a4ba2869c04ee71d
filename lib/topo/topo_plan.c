/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hwloc.h>

#include <rte_common.h>

#include "sg_topo.h"
#include "topo_priv.h"

/* PUs per core the planner tracks (POWER has 8-way SMT). */
#define SMT_MAX 8
/* Node ids the planner handles; Linux allows 1024 but machines stop far below. */
#define NODES_MAX 64

struct core {
	int node;
	unsigned int n_pu;
	unsigned int pu[SMT_MAX]; /* ascending; pu[0] is the one a worker takes */
};

/* One try at placing workers around one control core. */
struct attempt {
	unsigned int ctl_core;
	unsigned int ctl_pu;           /* index in cores[ctl_core].pu */
	bool *used;                    /* per core: a worker or the control core is on it */
	bool ctl_pu_used[SMT_MAX];
	unsigned int queues[SG_TOPO_MAX_NICS];
	unsigned int wanted[SG_TOPO_MAX_NICS];
	unsigned int placed[SG_TOPO_MAX_NICS];
	unsigned int total;            /* queues over every NIC */
	unsigned int n_workers;
	unsigned int w_cpu[SG_TOPO_MAX_WORKERS];
	int w_node[SG_TOPO_MAX_WORKERS];
	uint16_t w_nic[SG_TOPO_MAX_WORKERS];
	uint16_t w_lcore[SG_TOPO_MAX_WORKERS]; /* set by emit() */
	bool w_smt[SG_TOPO_MAX_WORKERS];
	unsigned int n_remote;         /* workers placed away from their NIC */
	unsigned int n_smt;
	unsigned int n_short;
};

struct ctx {
	const struct sg_topo *t;
	const struct sg_topo_plan_prm *prm;
	struct sg_topo_plan *plan;
	int nic_node[SG_TOPO_MAX_NICS];
	struct core *cores;
	unsigned int n_cores;
};

static void __rte_format_printf(2, 3)
note(struct sg_topo_plan *p, const char *fmt, ...)
{
	size_t len = strlen(p->notes);
	va_list ap;
	int n;

	if (len + 1 >= sizeof(p->notes))
		return;
	va_start(ap, fmt);
	n = vsnprintf(p->notes + len, sizeof(p->notes) - len - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	len = strlen(p->notes);
	p->notes[len] = '\n';
	p->notes[len + 1] = '\0';
}

static int
cmp_core(const void *a, const void *b)
{
	const struct core *x = a, *y = b;

	return x->pu[0] < y->pu[0] ? -1 : x->pu[0] > y->pu[0];
}

/* Cores (or PUs where the topology has no cores), ordered by first PU. */
static int
build_cores(struct ctx *c)
{
	hwloc_obj_type_t type = hwloc_get_nbobjs_by_type(c->t->hw, HWLOC_OBJ_CORE) > 0 ?
			HWLOC_OBJ_CORE : HWLOC_OBJ_PU;
	int n = hwloc_get_nbobjs_by_type(c->t->hw, type);
	hwloc_obj_t o = NULL;

	if (n <= 0)
		return -ENOSPC;
	c->cores = calloc((size_t)n, sizeof(*c->cores));
	if (c->cores == NULL)
		return -ENOMEM;
	while ((o = hwloc_get_next_obj_by_type(c->t->hw, type, o)) != NULL) {
		struct core *k = &c->cores[c->n_cores];
		int i;

		hwloc_bitmap_foreach_begin(i, o->cpuset) {
			if (k->n_pu < SMT_MAX)
				k->pu[k->n_pu++] = (unsigned int)i;
		}
		hwloc_bitmap_foreach_end();
		if (k->n_pu == 0)
			continue; /* every PU of it disallowed */
		k->node = sg_topo_node_of_cpu(c->t, k->pu[0]);
		if (k->node < 0)
			k->node = SG_TOPO_NODE_UNKNOWN;
		c->n_cores++;
	}
	qsort(c->cores, c->n_cores, sizeof(*c->cores), cmp_core);
	return c->n_cores > 0 ? 0 : -ENOSPC;
}

/* First free core on @p node (any node when @p node < 0, other nodes when @p away). */
static int
free_core(const struct ctx *c, const struct attempt *a, int node, bool away)
{
	unsigned int i;

	for (i = 0; i < c->n_cores; i++) {
		if (a->used[i])
			continue;
		if (node < 0 || (away ? c->cores[i].node != node : c->cores[i].node == node))
			return (int)i;
	}
	return -1;
}

static void
add_worker(const struct ctx *c, struct attempt *a, unsigned int nic, unsigned int cpu, int node,
		bool smt)
{
	unsigned int w = a->n_workers++;

	a->w_cpu[w] = cpu;
	a->w_node[w] = node;
	a->w_nic[w] = (uint16_t)nic;
	a->w_smt[w] = smt;
	a->placed[nic]++;
	if (c->nic_node[nic] >= 0 && node >= 0 && node != c->nic_node[nic])
		a->n_remote++;
	if (smt)
		a->n_smt++;
}

/* Queue counts: explicit ones, and "0" as an equal share of the node's free cores. */
static void
resolve_queues(const struct ctx *c, struct attempt *a)
{
	const struct sg_topo_plan_prm *prm = c->prm;
	unsigned int i, k;

	for (i = 0; i < prm->n_nics; i++) {
		unsigned int free_n = 0, fixed = 0, autos = 0;
		int node = c->nic_node[i];

		if (prm->nics[i].queues > 0) {
			a->queues[i] = prm->nics[i].queues;
			continue;
		}
		for (k = 0; k < c->n_cores; k++)
			if (!a->used[k] && (node < 0 || c->cores[k].node == node))
				free_n++;
		for (k = 0; k < prm->n_nics; k++) {
			if (c->nic_node[k] != node)
				continue;
			if (prm->nics[k].queues > 0)
				fixed += prm->nics[k].queues;
			else
				autos++;
		}
		a->queues[i] = free_n > fixed ? RTE_MAX((free_n - fixed) / autos, 1u) : 1;
	}
}

/* Place workers for every NIC around the control core of @p a. */
static void
place(const struct ctx *c, struct attempt *a)
{
	const struct sg_topo_plan_prm *prm = c->prm;
	unsigned int i, k, budget, given;
	bool progress;
	int pass;

	a->used[a->ctl_core] = true;
	a->ctl_pu_used[a->ctl_pu] = true;
	resolve_queues(c, a);
	for (i = 0; i < prm->n_nics; i++)
		a->total += a->queues[i];
	budget = a->total;
	if (prm->workers > 0 && prm->workers < budget)
		budget = prm->workers;
	budget = RTE_MIN(budget, (unsigned int)SG_TOPO_MAX_WORKERS);

	/* Share the worker budget out one per NIC per round, so no NIC starves. */
	if (budget == a->total) {
		memcpy(a->wanted, a->queues, sizeof(a->wanted));
	} else {
		for (given = 0, progress = true; given < budget && progress;) {
			progress = false;
			for (i = 0; i < prm->n_nics && given < budget; i++)
				if (a->wanted[i] < a->queues[i]) {
					a->wanted[i]++;
					given++;
					progress = true;
				}
		}
	}

	/* Pass 0: local cores; 1: NICs of unknown node, anywhere; 2: remote cores. */
	for (pass = 0; pass < 3; pass++) {
		do {
			progress = false;
			for (i = 0; i < prm->n_nics; i++) {
				int node = c->nic_node[i], k2;

				if (a->placed[i] >= a->wanted[i] || (pass == 1) != (node < 0))
					continue;
				k2 = free_core(c, a, pass == 1 ? -1 : node, pass == 2);
				if (k2 < 0)
					continue;
				a->used[k2] = true;
				add_worker(c, a, i, c->cores[k2].pu[0], c->cores[k2].node, false);
				progress = true;
			}
		} while (progress);
	}

	/* Last resort: the control core's own SMT siblings. */
	do {
		progress = false;
		for (i = 0; i < prm->n_nics; i++) {
			const struct core *k3 = &c->cores[a->ctl_core];

			if (a->placed[i] >= a->wanted[i])
				continue;
			for (k = 0; k < k3->n_pu && a->ctl_pu_used[k]; k++)
				;
			if (k == k3->n_pu)
				break;
			a->ctl_pu_used[k] = true;
			add_worker(c, a, i, k3->pu[k], k3->node, true);
			progress = true;
		}
	} while (progress);

	for (i = 0; i < prm->n_nics; i++)
		a->n_short += a->wanted[i] - a->placed[i];
}

/* Lower is better: whole workers first, then locality, then SMT hygiene. */
static uint64_t
score(const struct attempt *a)
{
	return (uint64_t)a->n_short << 40 | (uint64_t)a->n_remote << 20 | a->n_smt;
}

/* Worker of NIC @p nic that takes queue @p q; spills to the least-loaded local worker. */
static unsigned int
pick_worker(const struct ctx *c, const struct attempt *a, unsigned int nic, unsigned int q,
		const unsigned int *load)
{
	unsigned int w, seen = 0, best = UINT32_MAX;
	bool local;

	if (a->placed[nic] > 0) {
		unsigned int want = q % a->placed[nic];

		for (w = 0; w < a->n_workers; w++)
			if (a->w_nic[w] == nic && seen++ == want)
				return w;
	}
	/* This NIC got no worker of its own: prefer one on its node. */
	for (local = true;; local = false) {
		for (w = 0; w < a->n_workers; w++) {
			if (local && a->w_node[w] != c->nic_node[nic])
				continue;
			if (best == UINT32_MAX || load[w] < load[best])
				best = w;
		}
		if (best != UINT32_MAX || !local)
			return best;
	}
}

static int
append(char *buf, size_t len, const char *fmt, unsigned int x, unsigned int y, unsigned int z)
{
	size_t used = strlen(buf);
	int n;

	n = snprintf(buf + used, len - used, fmt, x, y, z);
	return n < 0 || (size_t)n >= len - used ? -E2BIG : 0;
}

/* Turn the chosen attempt into the queue map, lcore ids and strings. */
static int
emit(const struct ctx *c, struct attempt *a)
{
	const struct sg_topo_plan_prm *prm = c->prm;
	struct sg_topo_plan *p = c->plan;
	unsigned int load[SG_TOPO_MAX_WORKERS] = {0};
	uint16_t *lcore_of = a->w_lcore;
	unsigned int order[SG_TOPO_MAX_NICS];
	unsigned int wq[SG_TOPO_MAX_QUEUES];
	unsigned int i, j, q, n = 0, next = 1;

	/* NICs in port order, so --config reads (port, queue) ascending. */
	for (i = 0; i < prm->n_nics; i++)
		order[i] = i;
	for (i = 1; i < prm->n_nics; i++)
		for (j = i; j > 0 && prm->nics[order[j - 1]].port > prm->nics[order[j]].port; j--)
			RTE_SWAP(order[j - 1], order[j]);

	for (i = 0; i < prm->n_nics; i++) {
		unsigned int nic = order[i];

		for (q = 0; q < a->queues[nic]; q++, n++) {
			unsigned int w = pick_worker(c, a, nic, q, load);
			struct sg_topo_qmap *m = &p->q[n];

			load[w]++;
			wq[n] = w;
			if (lcore_of[w] == 0)
				lcore_of[w] = (uint16_t)next++;
			m->port = prm->nics[nic].port;
			m->queue = (uint16_t)q;
			m->lcore = lcore_of[w];
			m->nic = (uint16_t)nic;
			m->cpu = a->w_cpu[w];
			m->cpu_node = a->w_node[w];
			m->nic_node = c->nic_node[nic];
			m->remote = m->nic_node >= 0 && m->cpu_node >= 0 && m->cpu_node != m->nic_node;
		}
	}
	p->n_queues = n;
	p->n_workers = a->n_workers;
	for (i = 0; i < n; i++) {
		p->q[i].shared = load[wq[i]] > 1;
		p->n_remote += p->q[i].remote;
		p->n_shared += p->q[i].shared;
	}
	for (i = 0; i < a->n_workers; i++) {
		p->worker_cpu[lcore_of[i] - 1] = a->w_cpu[i];
		p->worker_node[lcore_of[i] - 1] = a->w_node[i];
	}
	p->control_cpu = c->cores[a->ctl_core].pu[a->ctl_pu];
	p->control_node = c->cores[a->ctl_core].node;
	p->n_smt = a->n_smt;
	p->n_short = a->n_short;

	if (append(p->lcores, sizeof(p->lcores), "%u@%u", 0, p->control_cpu, 0) < 0)
		return -E2BIG;
	for (i = 0; i < p->n_workers; i++)
		if (append(p->lcores, sizeof(p->lcores), ",%u@%u", i + 1, p->worker_cpu[i], 0) < 0)
			return -E2BIG;
	for (i = 0; i < n; i++)
		if (append(p->config, sizeof(p->config), i == 0 ? "(%u,%u,%u)" : ",(%u,%u,%u)",
				p->q[i].port, p->q[i].queue, p->q[i].lcore) < 0)
			return -E2BIG;
	return 0;
}

/* What a user must know about the chosen placement. */
static void
explain(const struct ctx *c, const struct attempt *a, int moved_from)
{
	const struct sg_topo_plan_prm *prm = c->prm;
	struct sg_topo_plan *p = c->plan;
	unsigned int i;

	if (moved_from != p->control_node)
		note(p, "control core on CPU %u (node %d): node %d's cores are all needed by "
				"workers", p->control_cpu, p->control_node, moved_from);
	if (prm->workers > a->total)
		note(p, "--workers %u is more than the %u queues: one worker per queue",
				prm->workers, a->total);
	else if (prm->workers > 0 && prm->workers < a->total)
		note(p, "%u workers for %u queues: some lcores poll several queues",
				prm->workers, a->total);
	for (i = 0; i < prm->n_nics; i++)
		if (c->nic_node[i] < 0)
			note(p, "port %u (%s): NUMA node unknown, its workers go on any free core",
					prm->nics[i].port,
					prm->nics[i].pci[0] != '\0' ? prm->nics[i].pci : "no PCI address");
	for (i = 0; i < p->n_queues; i++) {
		const struct sg_topo_qmap *m = &p->q[i];

		if (m->remote)
			note(p, "remote: port %u queue %u (NIC on node %d) is polled by lcore %u on "
					"CPU %u, node %d: node %d has no free core",
					m->port, m->queue, m->nic_node, m->lcore, m->cpu, m->cpu_node,
					m->nic_node);
	}
	for (i = 0; i < a->n_workers; i++)
		if (a->w_smt[i])
			note(p, "lcore %u on CPU %u shares a core with the control core (CPU %u): "
					"no other core was free", a->w_lcore[i], a->w_cpu[i],
					p->control_cpu);
	if (a->n_short > 0)
		note(p, "not enough cores for one worker per queue: %u workers for %u queues "
				"(%u more cores wanted); some lcores poll several queues",
				a->n_workers, a->total, a->n_short);
}

/* "3b:00.0" and "0000:3b:00.0" are one device. */
static bool
same_pci(const char *a, const char *b)
{
	char na[SG_TOPO_PCI_LEN], nb[SG_TOPO_PCI_LEN];

	if (a[0] == '\0' || sg_topo_pci_parse(a, na, sizeof(na)) < 0 ||
			sg_topo_pci_parse(b, nb, sizeof(nb)) < 0)
		return false;
	return strcmp(na, nb) == 0;
}

static int
check_nics(struct ctx *c)
{
	const struct sg_topo_plan_prm *prm = c->prm;
	struct sg_topo_plan *p = c->plan;
	int nodes[NODES_MAX];
	unsigned int i, j;
	int n_nodes, k;

	n_nodes = sg_topo_nodes(c->t, nodes, NODES_MAX);
	if (n_nodes < 0)
		return n_nodes;
	for (i = 0; i < prm->n_nics; i++) {
		const struct sg_topo_nic *nic = &prm->nics[i];
		int node;

		for (j = 0; j < i; j++) {
			if (prm->nics[j].port == nic->port) {
				note(p, "port %u is listed twice", nic->port);
				return -EINVAL;
			}
			if (nic->pci[0] != '\0' && same_pci(prm->nics[j].pci, nic->pci)) {
				note(p, "NIC %s is listed twice", nic->pci);
				return -EINVAL;
			}
		}
		if (nic->pci[0] != '\0') {
			node = sg_topo_node_of_pci(c->t, nic->pci);
			if (node == -EINVAL) {
				note(p, "'%s' is not a PCI address (DDDD:BB:DD.F)", nic->pci);
				return -EINVAL;
			}
			if (node == -ENODEV) {
				note(p, "NIC %s is not in the topology", nic->pci);
				return -ENODEV;
			}
		} else {
			node = nic->node;
			for (k = 0; node >= 0 && k < n_nodes && nodes[k] != node; k++)
				;
			if (node < SG_TOPO_NODE_UNKNOWN || (node >= 0 && k == n_nodes)) {
				note(p, "port %u: NUMA node %d does not exist", nic->port, node);
				return -EINVAL;
			}
		}
		c->nic_node[i] = node;
	}
	return 0;
}

static struct attempt *
attempt_new(const struct ctx *c, unsigned int core, unsigned int pu)
{
	struct attempt *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	a->used = calloc(c->n_cores, sizeof(*a->used));
	if (a->used == NULL) {
		free(a);
		return NULL;
	}
	a->ctl_core = core;
	a->ctl_pu = pu;
	return a;
}

static void
attempt_free(struct attempt *a)
{
	if (a != NULL)
		free(a->used);
	free(a);
}

/* Control-core candidates: the given CPU, else the first core of each node, node 0 first. */
static int
candidates(struct ctx *c, unsigned int *core, unsigned int *pu, unsigned int max)
{
	const struct sg_topo_plan_prm *prm = c->prm;
	unsigned int i, k, n = 0;

	if (prm->control_cpu >= 0) {
		for (i = 0; i < c->n_cores; i++)
			for (k = 0; k < c->cores[i].n_pu; k++)
				if (c->cores[i].pu[k] == (unsigned int)prm->control_cpu) {
					core[0] = i;
					pu[0] = k;
					return 1;
				}
		note(c->plan, "control CPU %d is not in the topology", prm->control_cpu);
		return -EINVAL;
	}
	for (i = 0; i < c->n_cores && n < max; i++) {
		for (k = 0; k < n && c->cores[core[k]].node != c->cores[i].node; k++)
			;
		if (k == n) {
			core[n] = i;
			pu[n++] = 0;
		}
	}
	/* Cores are in CPU order; put node 0's (or the lowest node's) first. */
	for (i = 1; i < n; i++)
		for (k = i; k > 0 && c->cores[core[k - 1]].node > c->cores[core[k]].node &&
				c->cores[core[k]].node >= 0; k--) {
			RTE_SWAP(core[k - 1], core[k]);
			RTE_SWAP(pu[k - 1], pu[k]);
		}
	return (int)n;
}

int
sg_topo_plan(const struct sg_topo *t, const struct sg_topo_plan_prm *prm,
		struct sg_topo_plan *plan)
{
	unsigned int cand_core[NODES_MAX + 1], cand_pu[NODES_MAX + 1];
	struct attempt *best = NULL;
	struct ctx c = {.t = t, .prm = prm, .plan = plan};
	int n_cand, i, ret;

	if (plan == NULL)
		return -EINVAL;
	memset(plan, 0, sizeof(*plan));
	if (t == NULL || prm == NULL || prm->nics == NULL || prm->n_nics == 0) {
		note(plan, "no topology or no NIC to plan for");
		return -EINVAL;
	}
	if (prm->n_nics > SG_TOPO_MAX_NICS) {
		note(plan, "%u NICs: at most %u", prm->n_nics, SG_TOPO_MAX_NICS);
		return -E2BIG;
	}
	ret = check_nics(&c);
	if (ret < 0)
		return ret;
	ret = build_cores(&c);
	if (ret < 0)
		goto out;
	n_cand = candidates(&c, cand_core, cand_pu, RTE_DIM(cand_core));
	if (n_cand < 0) {
		ret = n_cand;
		goto out;
	}
	for (i = 0; i < n_cand; i++) {
		struct attempt *a = attempt_new(&c, cand_core[i], cand_pu[i]);

		if (a == NULL) {
			ret = -ENOMEM;
			goto out;
		}
		place(&c, a);
		if (best == NULL || score(a) < score(best)) {
			attempt_free(best);
			best = a;
		} else {
			attempt_free(a);
		}
	}
	if (best->total > SG_TOPO_MAX_QUEUES) {
		note(plan, "%u queues: at most %u", best->total, SG_TOPO_MAX_QUEUES);
		ret = -E2BIG;
		goto out;
	}
	if (best->n_workers == 0) {
		note(plan, "not enough CPUs: %u core(s); the control core takes CPU %u and "
				"leaves none for a worker", c.n_cores,
				c.cores[best->ctl_core].pu[best->ctl_pu]);
		ret = -ENOSPC;
		goto out;
	}
	ret = emit(&c, best);
	if (ret < 0) {
		note(plan, "the map does not fit in the plan's strings");
		goto out;
	}
	explain(&c, best, prm->control_cpu < 0 ? c.cores[cand_core[0]].node : plan->control_node);
out:
	attempt_free(best);
	free(c.cores);
	if (ret < 0) {
		plan->lcores[0] = '\0';
		plan->config[0] = '\0';
	}
	return ret;
}
