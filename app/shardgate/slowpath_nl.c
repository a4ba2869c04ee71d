/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the slow path says to the kernel over rtnetlink: the taps' IPv4 and
 * IPv6 addresses, the neighbours the kernel resolves on them (IPv4 ones for
 * the data path, IPv6 ones for `list neigh`), and the next hops the workers
 * found no neighbour for, which the kernel is asked to resolve
 * (RTM_NEWNEIGH with NTF_USE: it sends ARP out of the tap at once).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <rte_cycles.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "control.h"
#include "gateway.h"
#include "sg_common.h"
#include "slowpath.h"

/* netlink request buffer. */
#define NL_BUF 8192
/* How long the control core waits for the kernel's ack of a request. */
#define NL_ACK_TIMEOUT_US 100000

/* States in which the kernel's entry holds a usable MAC. */
#define NUD_USABLE (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT | \
		NUD_NOARP)

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
int
slow_addr_add(int ifindex, int family, const void *addr, uint8_t depth)
{
	struct {
		struct nlmsghdr h;
		struct ifaddrmsg ifa;
		char attrs[128];
	} req;
	uint16_t len = family == AF_INET6 ? SG_PUNT_IPV6_LEN : sizeof(uint32_t);
	int fd, ret;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	memset(&req, 0, sizeof(req));
	req.h.nlmsg_len = NLMSG_LENGTH(sizeof(req.ifa));
	req.h.nlmsg_type = RTM_NEWADDR;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
	req.h.nlmsg_seq = 1;
	req.ifa.ifa_family = (uint8_t)family;
	req.ifa.ifa_prefixlen = depth;
	req.ifa.ifa_index = (unsigned int)ifindex;
	nl_attr(&req.h, IFA_LOCAL, addr, len);
	nl_attr(&req.h, IFA_ADDRESS, addr, len);
	ret = nl_talk(fd, &req.h);
	close(fd);
	return ret;
}

/* Ask for every neighbour the kernel knows, IPv4 and IPv6 (answered on sp->nl). */
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
	req.nd.ndm_family = AF_UNSPEC;
	if (sendto(sp->nl, &req, req.h.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	return 0;
}

int
slow_nl_open(struct slowpath *sp)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_NEIGH };
	struct timeval tv = { .tv_usec = NL_ACK_TIMEOUT_US };

	sp->nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	if (sp->nl < 0)
		return -errno;
	if (bind(sp->nl, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		return -errno;
	/* Requests wait for their ack, which the kernel queues before sendto()
	 * returns; the timeout only bounds a kernel that does not answer. */
	sp->nl_req = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (sp->nl_req < 0)
		return -errno;
	if (setsockopt(sp->nl_req, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0)
		return -errno;
	return nl_dump(sp);
}

void
slow_nl_close(struct slowpath *sp)
{
	if (sp->nl >= 0)
		close(sp->nl);
	if (sp->nl_req >= 0)
		close(sp->nl_req);
	sp->nl = sp->nl_req = -1;
}

/* Set (or, with @p mac NULL, forget) IPv6 neighbour @p ip of tap @p s. */
static int
neigh6_learn(struct slow_port *s, const uint8_t *ip, const struct rte_ether_addr *mac)
{
	uint16_t i, free_slot = SG_DP_NEIGH_MAX;

	for (i = 0; i < s->nb_neigh6; i++) {
		struct slow_neigh6 *e = &s->neigh6[i];

		if (e->used && memcmp(e->ip, ip, SG_PUNT_IPV6_LEN) == 0) {
			if (mac != NULL)
				e->mac = *mac;
			e->used = mac != NULL;
			return 0;
		}
		if (!e->used && free_slot == SG_DP_NEIGH_MAX)
			free_slot = i;
	}
	if (mac == NULL)
		return 0;
	if (free_slot == SG_DP_NEIGH_MAX) {
		if (s->nb_neigh6 == SG_DP_NEIGH_MAX)
			return -ENOSPC;
		free_slot = s->nb_neigh6++;
	}
	memcpy(s->neigh6[free_slot].ip, ip, SG_PUNT_IPV6_LEN);
	s->neigh6[free_slot].mac = *mac;
	s->neigh6[free_slot].used = 1;
	return 0;
}

static void
nl_neigh(struct gateway *gw, const struct nlmsghdr *h)
{
	struct slowpath *sp = gw->slow;
	const struct ndmsg *nd = NLMSG_DATA(h);
	const struct rtattr *rta;
	const uint8_t *lladdr = NULL, *dst = NULL;
	uint16_t dst_len = nd->ndm_family == AF_INET6 ? SG_PUNT_IPV6_LEN : sizeof(uint32_t);
	int len = (int)RTM_PAYLOAD(h), ret;
	struct rte_ether_addr mac, *macp = NULL;
	struct slow_port *s;
	uint16_t i;

	/* A multicast or broadcast entry is never a next hop. */
	if ((nd->ndm_family != AF_INET && nd->ndm_family != AF_INET6) ||
			nd->ndm_type == RTN_MULTICAST || nd->ndm_type == RTN_BROADCAST)
		return;
	for (i = 0; i < sp->n && sp->p[i].ifindex != nd->ndm_ifindex; i++)
		;
	if (i == sp->n)
		return;
	s = &sp->p[i];
	for (rta = RTM_RTA(nd); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		if (rta->rta_type == NDA_DST && RTA_PAYLOAD(rta) == dst_len)
			dst = RTA_DATA(rta);
		else if (rta->rta_type == NDA_LLADDR && RTA_PAYLOAD(rta) == RTE_ETHER_ADDR_LEN)
			lladdr = RTA_DATA(rta);
	}
	if (dst == NULL)
		return;
	if (h->nlmsg_type == RTM_NEWNEIGH && lladdr != NULL && (nd->ndm_state & NUD_USABLE)) {
		memcpy(mac.addr_bytes, lladdr, RTE_ETHER_ADDR_LEN);
		macp = &mac;
	} else if (h->nlmsg_type != RTM_DELNEIGH && !(nd->ndm_state & NUD_FAILED)) {
		return; /* still resolving: keep what we have */
	}
	if (nd->ndm_family == AF_INET) {
		uint32_t dst_be;

		memcpy(&dst_be, dst, sizeof(dst_be));
		ret = sg_dp_neigh_learn(&gw->ctx->port[s->port], dst_be, macp);
	} else {
		ret = neigh6_learn(s, dst, macp);
	}
	if (ret != 0)
		SG_LOG(WARNING, "port %u: more than %d IPv%c neighbours; not learning more",
				s->port, SG_DP_NEIGH_MAX, nd->ndm_family == AF_INET ? '4' : '6');
}

void
slow_nl_poll(struct gateway *gw)
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

/*
 * ip neigh replace IP dev TAP use: create the entry if needed and have the
 * kernel resolve it now (neigh_event_send), as if it had a packet for it.
 */
static int
resolve_send(struct slowpath *sp, int ifindex, uint32_t ip_be)
{
	struct {
		struct nlmsghdr h;
		struct ndmsg nd;
		char attrs[32];
	} req;

	memset(&req, 0, sizeof(req));
	req.h.nlmsg_len = NLMSG_LENGTH(sizeof(req.nd));
	req.h.nlmsg_type = RTM_NEWNEIGH;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE;
	req.h.nlmsg_seq = ++sp->req_seq;
	req.nd.ndm_family = AF_INET;
	req.nd.ndm_ifindex = ifindex;
	req.nd.ndm_state = NUD_NONE;
	req.nd.ndm_flags = NTF_USE;
	nl_attr(&req.h, NDA_DST, &ip_be, sizeof(ip_be));
	return nl_talk(sp->nl_req, &req.h);
}

/* Whether @p q may go to the kernel now (at most once per SG_PUNT_RESOLVE_MS
 * per next hop); marks it asked if so. */
static int
resolve_due(struct slowpath *sp, const struct sg_dp_resolve_req *q, uint64_t now)
{
	uint64_t gap = rte_get_tsc_hz() / 1000 * SG_PUNT_RESOLVE_MS;
	unsigned int i, pick = 0;

	for (i = 0; i < SLOW_RESOLVE_MAX; i++) {
		struct slow_resolve *e = &sp->res[i];

		if (e->last != 0 && e->ip_be == q->ip_be && e->port == q->port) {
			if (now - e->last < gap)
				return 0;
			e->last = now;
			return 1;
		}
		if (e->last < sp->res[pick].last)
			pick = i; /* free (0) or the oldest */
	}
	sp->res[pick].ip_be = q->ip_be;
	sp->res[pick].port = q->port;
	sp->res[pick].last = now;
	return 1;
}

void
slow_resolve_poll(struct gateway *gw)
{
	struct slowpath *sp = gw->slow;
	struct sg_dp_resolve_req q[SLOW_RESOLVE_PER_TICK];
	unsigned int n, i;
	uint16_t w;
	int ret;

	for (w = 0; w < gw->nb_workers; w++) {
		if (gw->ctx->resolve[w] == NULL)
			continue;
		n = rte_ring_dequeue_burst_elem(gw->ctx->resolve[w], q, sizeof(q[0]),
				SLOW_RESOLVE_PER_TICK, NULL);
		for (i = 0; i < n; i++) {
			struct rte_ether_addr mac;
			const struct slow_port *s;

			if (q[i].port >= RTE_MAX_ETHPORTS || sp->tap_of[q[i].port] < 0)
				continue;
			s = &sp->p[sp->tap_of[q[i].port]];
			/* Learned while the request waited: nothing to ask. */
			if (sg_dp_neigh_lookup(&gw->ctx->port[q[i].port], q[i].ip_be, &mac) == 0 ||
					!resolve_due(sp, &q[i], rte_rdtsc()))
				continue;
			ret = resolve_send(sp, s->ifindex, q[i].ip_be);
			if (ret == 0) {
				sp->stats.neigh_resolve++;
				continue;
			}
			sp->stats.neigh_resolve_fail++;
			if (!sp->warned_resolve) {
				char a[INET_ADDRSTRLEN];

				inet_ntop(AF_INET, &q[i].ip_be, a, sizeof(a));
				SG_LOG(WARNING, "%s: the kernel will not resolve %s: %s (counted as"
						" neigh_resolve_fail from now on)", s->prm.iface, a,
						strerror(-ret));
				sp->warned_resolve = 1;
			}
		}
	}
}

void
slowpath_list_neigh(struct gateway *gw, struct reply *r)
{
	const struct slowpath *sp = gw->slow;
	char a[INET6_ADDRSTRLEN];
	unsigned int shown = 0;
	uint16_t k, i;

	reply_printf(r, "{\"ok\":true,\"neigh\":[");
	for (k = 0; sp != NULL && k < sp->n; k++) {
		const struct slow_port *s = &sp->p[k];
		const struct sg_dp_port *dp = &gw->ctx->port[s->port];

		/* IPv4: what the workers use (unless a neigh line wins). */
		for (i = 0; i < dp->nb_learned; i++) {
			struct rte_ether_addr mac;
			uint32_t ip_be = dp->learned[i].ip_be;

			if (sg_dp_neigh_lookup(dp, ip_be, &mac) != 0)
				continue;
			inet_ntop(AF_INET, &ip_be, a, sizeof(a));
			reply_printf(r, "%s{\"port\":%u,\"iface\":\"%s\",\"family\":\"ipv4\","
					"\"addr\":\"%s\",\"mac\":\"" RTE_ETHER_ADDR_PRT_FMT "\","
					"\"routed\":%s}", shown++ ? "," : "", s->port, s->prm.iface, a,
					RTE_ETHER_ADDR_BYTES(&mac), dp->has_neigh ? "false" : "true");
		}
		/* IPv6: learned and shown; routing is IPv4 only, so none is routed. */
		for (i = 0; i < s->nb_neigh6; i++) {
			if (!s->neigh6[i].used)
				continue;
			inet_ntop(AF_INET6, s->neigh6[i].ip, a, sizeof(a));
			reply_printf(r, "%s{\"port\":%u,\"iface\":\"%s\",\"family\":\"ipv6\","
					"\"addr\":\"%s\",\"mac\":\"" RTE_ETHER_ADDR_PRT_FMT "\","
					"\"routed\":false}", shown++ ? "," : "", s->port, s->prm.iface, a,
					RTE_ETHER_ADDR_BYTES(&s->neigh6[i].mac));
		}
	}
	reply_printf(r, "]}");
}
