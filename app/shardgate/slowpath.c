/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The slow path's control-core half: one net_tap kernel interface per punt
 * port, carrying the port's MAC and addresses; frames the workers punted go
 * to it, frames the kernel sends there go to worker 0 to leave through the
 * port; neighbours the kernel resolves on it are learned over rtnetlink.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <rte_dev.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_ring.h>

#include "gateway.h"
#include "sg_common.h"

/* Frames moved per ring and tick, in bursts: 256 a millisecond is well above
 * the default punt rate; the token buckets bound what comes anyway. */
#define SLOW_BURST 64
#define SLOW_BURSTS_PER_TICK 4
/* Descriptors of each tap queue. */
#define SLOW_TAP_DESC 256
/* netlink request buffer. */
#define NL_BUF 8192

struct slow_port {
	uint16_t port;     /* the unprotected DPDK port */
	uint16_t tap;      /* its net_tap's DPDK port */
	int ifindex;
	uint8_t started;
	struct sg_punt_prm prm;
	char dev[RTE_DEV_NAME_MAX_LEN];
};

struct slowpath {
	uint16_t n;
	struct slow_port p[RTE_MAX_ETHPORTS];
	int16_t tap_of[RTE_MAX_ETHPORTS]; /* port -> index in p[], -1: none */
	int nl;       /* rtnetlink, neighbour group, non-blocking */
	uint32_t nl_seq;
	struct sg_dp_stats stats; /* the control core's punt counters */
};

int
slowpath_check_conf(const struct gateway *gw, char *err, size_t errlen)
{
	const struct sg_conf *c = &gw->conf;
	const struct args *a = &gw->args;
	uint32_t i;

	for (i = 0; i < c->nb_punt; i++) {
		uint16_t p = c->punt[i].prm.port;

		if (p >= 64 || !(a->portmask & a->unprot_mask & (UINT64_C(1) << p))) {
			snprintf(err, errlen, "%s:%u: punt: port %u is not an unprotected port"
					" (-p 0x%lx -u 0x%lx)", c->file, c->punt[i].line, p,
					(unsigned long)a->portmask, (unsigned long)a->unprot_mask);
			return -1;
		}
	}
	return 0;
}

/* One request, then wait for its ack. Returns 0 or -errno. */
static int
nl_talk(int fd, struct nlmsghdr *req)
{
	char buf[NL_BUF];
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	ssize_t got;

	if (sendto(fd, req, req->nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	for (;;) {
		struct nlmsghdr *h;

		got = recv(fd, buf, sizeof(buf), 0);
		if (got < 0)
			return -errno;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)got); h = NLMSG_NEXT(h, got)) {
			if (h->nlmsg_seq != req->nlmsg_seq || h->nlmsg_type != NLMSG_ERROR)
				continue;
			return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
		}
	}
}

static void
nl_attr(struct nlmsghdr *h, uint16_t type, const void *data, uint16_t len)
{
	struct rtattr *rta = (struct rtattr *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));

	rta->rta_type = type;
	rta->rta_len = RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

/* ip addr add A/N dev IFINDEX, on a socket of its own (acks, not events). */
static int
addr_add(int ifindex, uint32_t addr, uint8_t depth)
{
	struct {
		struct nlmsghdr h;
		struct ifaddrmsg ifa;
		char attrs[64];
	} req;
	uint32_t be = rte_cpu_to_be_32(addr);
	int fd, ret;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	memset(&req, 0, sizeof(req));
	req.h.nlmsg_len = NLMSG_LENGTH(sizeof(req.ifa));
	req.h.nlmsg_type = RTM_NEWADDR;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
	req.h.nlmsg_seq = 1;
	req.ifa.ifa_family = AF_INET;
	req.ifa.ifa_prefixlen = depth;
	req.ifa.ifa_index = (unsigned int)ifindex;
	nl_attr(&req.h, IFA_LOCAL, &be, sizeof(be));
	nl_attr(&req.h, IFA_ADDRESS, &be, sizeof(be));
	ret = nl_talk(fd, &req.h);
	close(fd);
	return ret;
}

/* Ask for every IPv4 neighbour the kernel knows (answered on sp->nl). */
static int
nl_dump(struct slowpath *sp)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct {
		struct nlmsghdr h;
		struct ndmsg nd;
	} req;

	memset(&req, 0, sizeof(req));
	req.h.nlmsg_len = NLMSG_LENGTH(sizeof(req.nd));
	req.h.nlmsg_type = RTM_GETNEIGH;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.h.nlmsg_seq = ++sp->nl_seq;
	req.nd.ndm_family = AF_INET;
	if (sendto(sp->nl, &req, req.h.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	return 0;
}

/* The neighbour group, and a dump of what the kernel already knows. */
static int
nl_open(struct slowpath *sp)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_NEIGH };

	sp->nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	if (sp->nl < 0)
		return -errno;
	if (bind(sp->nl, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		return -errno;
	return nl_dump(sp);
}

/* States in which the kernel's entry holds a usable MAC. */
#define NUD_USABLE (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT | \
		NUD_NOARP)

static void
nl_neigh(struct gateway *gw, const struct nlmsghdr *h)
{
	struct slowpath *sp = gw->slow;
	const struct ndmsg *nd = NLMSG_DATA(h);
	const struct rtattr *rta;
	const uint8_t *lladdr = NULL;
	uint32_t dst_be = 0;
	int len = (int)RTM_PAYLOAD(h), have_dst = 0;
	struct sg_dp_port *dp;
	uint16_t i;

	if (nd->ndm_family != AF_INET)
		return;
	for (i = 0; i < sp->n && sp->p[i].ifindex != nd->ndm_ifindex; i++)
		;
	if (i == sp->n)
		return;
	for (rta = RTM_RTA(nd); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		if (rta->rta_type == NDA_DST && RTA_PAYLOAD(rta) == sizeof(dst_be)) {
			memcpy(&dst_be, RTA_DATA(rta), sizeof(dst_be));
			have_dst = 1;
		} else if (rta->rta_type == NDA_LLADDR && RTA_PAYLOAD(rta) == RTE_ETHER_ADDR_LEN) {
			lladdr = RTA_DATA(rta);
		}
	}
	if (!have_dst)
		return;
	dp = &gw->ctx->port[sp->p[i].port];
	if (h->nlmsg_type == RTM_NEWNEIGH && lladdr != NULL && (nd->ndm_state & NUD_USABLE)) {
		struct rte_ether_addr mac;

		memcpy(mac.addr_bytes, lladdr, RTE_ETHER_ADDR_LEN);
		if (sg_dp_neigh_learn(dp, dst_be, &mac) != 0)
			SG_LOG(WARNING, "port %u: more than %d neighbours; not learning more",
					sp->p[i].port, SG_DP_NEIGH_MAX);
	} else if (h->nlmsg_type == RTM_DELNEIGH || (nd->ndm_state & NUD_FAILED)) {
		sg_dp_neigh_learn(dp, dst_be, NULL);
	}
}

static void
nl_poll(struct gateway *gw)
{
	char buf[NL_BUF];
	ssize_t got;
	int rounds;

	/* Bounded: a storm of neighbour events must not starve the rings. */
	for (rounds = 0; rounds < 16; rounds++) {
		struct nlmsghdr *h;

		got = recv(gw->slow->nl, buf, sizeof(buf), MSG_DONTWAIT);
		if (got < 0 && errno == ENOBUFS) {
			/* Events were lost: read the whole table again. */
			SG_LOG(WARNING, "slow path: neighbour events lost; reading them again");
			nl_dump(gw->slow);
			continue;
		}
		if (got <= 0)
			return;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)got); h = NLMSG_NEXT(h, got))
			if (h->nlmsg_type == RTM_NEWNEIGH || h->nlmsg_type == RTM_DELNEIGH)
				nl_neigh(gw, h);
	}
}

static struct rte_mempool *
any_pool(const struct gateway *gw)
{
	int s = (int)rte_socket_id();
	unsigned int i;

	if (s >= 0 && s < RTE_MAX_NUMA_NODES && gw->pool[s] != NULL)
		return gw->pool[s];
	for (i = 0; i < RTE_MAX_NUMA_NODES; i++)
		if (gw->pool[i] != NULL)
			return gw->pool[i];
	return NULL;
}

/* Create, configure and start the net_tap of @p s; address it. */
static int
tap_start(struct gateway *gw, struct slow_port *s)
{
	struct sg_dp_port *dp = &gw->ctx->port[s->port];
	struct rte_eth_conf conf = {0};
	struct rte_mempool *pool = any_pool(gw);
	char args[128];
	uint16_t nrx = SLOW_TAP_DESC, ntx = SLOW_TAP_DESC;
	uint8_t a;
	int ret;

	if (s->prm.iface[0] == '\0')
		snprintf(s->prm.iface, sizeof(s->prm.iface), "sgpunt%u", s->port);
	snprintf(s->dev, sizeof(s->dev), "net_tap_sgpunt%u", s->port);
	snprintf(args, sizeof(args), "iface=%s,mac=" RTE_ETHER_ADDR_PRT_FMT, s->prm.iface,
			RTE_ETHER_ADDR_BYTES(&dp->src_mac));
	ret = rte_eal_hotplug_add("vdev", s->dev, args);
	if (ret != 0)
		return ret < 0 ? ret : -EIO;
	ret = rte_eth_dev_get_port_by_name(s->dev, &s->tap);
	if (ret != 0)
		return ret;
	if (pool == NULL)
		return -ENOMEM;
	ret = rte_eth_dev_configure(s->tap, 1, 1, &conf);
	if (ret == 0)
		ret = rte_eth_dev_adjust_nb_rx_tx_desc(s->tap, &nrx, &ntx);
	if (ret == 0)
		ret = rte_eth_rx_queue_setup(s->tap, 0, nrx, rte_socket_id(), NULL, pool);
	if (ret == 0)
		ret = rte_eth_tx_queue_setup(s->tap, 0, ntx, rte_socket_id(), NULL);
	if (ret != 0)
		return ret;
	/* The kernel must not send what the port cannot carry. */
	ret = rte_eth_dev_set_mtu(s->tap, dp->mtu);
	if (ret != 0)
		SG_LOG(WARNING, "%s: cannot set MTU %u: %s", s->prm.iface, dp->mtu, strerror(-ret));
	ret = rte_eth_dev_start(s->tap); /* also sets the kernel link up */
	if (ret != 0)
		return ret;
	s->started = 1;
	s->ifindex = (int)if_nametoindex(s->prm.iface);
	if (s->ifindex == 0)
		return -errno;
	for (a = 0; a < s->prm.nb_addr; a++) {
		ret = addr_add(s->ifindex, s->prm.addr[a], s->prm.depth[a]);
		if (ret != 0) {
			SG_LOG(ERR, "%s: cannot add address: %s", s->prm.iface, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

int
slowpath_setup(struct gateway *gw)
{
	const struct sg_conf *c = &gw->conf;
	struct sg_punt_prm prm[RTE_MAX_ETHPORTS];
	struct slowpath *sp;
	uint32_t i;
	uint8_t a;
	int ret;

	if (c->nb_punt == 0)
		return 0;
	sp = calloc(1, sizeof(*sp));
	if (sp == NULL)
		return -1;
	gw->slow = sp;
	sp->nl = -1;
	memset(sp->tap_of, 0xff, sizeof(sp->tap_of));
	gw->ctx->ctl_stats = &sp->stats;
	ret = nl_open(sp);
	if (ret != 0) {
		SG_LOG(ERR, "slow path: rtnetlink: %s", strerror(-ret));
		return -1;
	}
	for (i = 0; i < c->nb_punt; i++) {
		struct slow_port *s = &sp->p[sp->n];
		struct sg_dp_port *dp = &gw->ctx->port[c->punt[i].prm.port];

		s->port = c->punt[i].prm.port;
		s->prm = c->punt[i].prm;
		prm[i] = s->prm;
		sp->tap_of[s->port] = (int16_t)sp->n++;
		ret = tap_start(gw, s);
		if (ret != 0) {
			SG_LOG(ERR, "%s:%u: punt port %u: kernel interface %s: %s", c->file,
					c->punt[i].line, s->port, s->prm.iface, strerror(-ret));
			return -1;
		}
		for (a = 0; a < s->prm.nb_addr; a++)
			dp->addr_be[a] = rte_cpu_to_be_32(s->prm.addr[a]);
		dp->nb_addr = s->prm.nb_addr;
		dp->via_be = rte_cpu_to_be_32(s->prm.via);
		dp->punt = 1;
		SG_LOG(INFO, "port %u: slow path to %s (DPDK port %u), %u/s burst %u%s",
				s->port, s->prm.iface, s->tap, s->prm.rate, s->prm.burst,
				dp->has_neigh ? "; its neigh line wins over learned neighbours" : "");
	}
	ret = sg_dp_punt_create(gw->ctx, gw->workers, gw->nb_workers, prm, sp->n,
			SLOWPATH_RING);
	if (ret != 0) {
		SG_LOG(ERR, "slow path rings: %s", strerror(-ret));
		return -1;
	}
	return 0;
}

/* Kernel-bound frames to the tap of their port. */
static void
to_kernel(struct slowpath *sp, struct rte_mbuf *mb[], uint16_t n)
{
	uint16_t i, start, sent, len;

	for (i = 1, start = 0; i <= n; i++) {
		if (i < n && mb[i]->port == mb[start]->port)
			continue;
		len = i - start;
		sent = 0;
		if (mb[start]->port < RTE_MAX_ETHPORTS && sp->tap_of[mb[start]->port] >= 0)
			sent = rte_eth_tx_burst(sp->p[sp->tap_of[mb[start]->port]].tap, 0,
					&mb[start], len);
		if (sent < len) {
			sp->stats.drops[SG_DROP_PUNT_FULL] += len - sent;
			sp->stats.punt_drop += len - sent;
			rte_pktmbuf_free_bulk(&mb[start + sent], len - sent);
		}
		start = i;
	}
}

void
slowpath_poll(struct gateway *gw)
{
	struct slowpath *sp = gw->slow;
	struct rte_mbuf *mb[SLOW_BURST];
	uint16_t w, i, n, k, sent;

	if (sp == NULL)
		return;
	for (w = 0; w < gw->nb_workers; w++) {
		for (k = 0; k < SLOW_BURSTS_PER_TICK; k++) {
			n = (uint16_t)rte_ring_dequeue_burst(gw->ctx->punt[w], (void **)mb,
					SLOW_BURST, NULL);
			if (n == 0)
				break;
			to_kernel(sp, mb, n);
		}
	}
	for (k = 0; k < sp->n; k++) {
		n = rte_eth_rx_burst(sp->p[k].tap, 0, mb, SLOW_BURST);
		if (n == 0)
			continue;
		for (i = 0; i < n; i++)
			mb[i]->port = sp->p[k].port;
		sent = (uint16_t)rte_ring_enqueue_burst(gw->ctx->punt_out, (void *const *)mb, n,
				NULL);
		if (sent < n) {
			sp->stats.drops[SG_DROP_PUNT_FULL] += n - sent;
			sp->stats.punt_drop += n - sent;
			rte_pktmbuf_free_bulk(&mb[sent], n - sent);
		}
	}
	nl_poll(gw);
}

int
slowpath_active(const struct gateway *gw)
{
	return gw->slow != NULL;
}

void
slowpath_fini(struct gateway *gw)
{
	struct slowpath *sp = gw->slow;
	uint16_t k;

	if (sp == NULL)
		return;
	/* The control core's counters stay readable until telemetry detaches. */
	if (gw->ctx != NULL)
		gw->ctx->ctl_stats = NULL;
	for (k = 0; k < sp->n; k++) {
		if (sp->p[k].started)
			rte_eth_dev_stop(sp->p[k].tap);
		if (sp->p[k].dev[0] != '\0' &&
				rte_eth_dev_get_port_by_name(sp->p[k].dev, &sp->p[k].tap) == 0) {
			rte_eth_dev_close(sp->p[k].tap);
			rte_eal_hotplug_remove("vdev", sp->p[k].dev);
		}
	}
	if (sp->nl >= 0)
		close(sp->nl);
	free(sp);
	gw->slow = NULL;
}
