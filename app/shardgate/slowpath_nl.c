/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the slow path says to the kernel over rtnetlink: the taps' addresses
 * and the neighbours the kernel resolves on them, for the data path.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "gateway.h"
#include "sg_common.h"
#include "slowpath.h"

/* netlink request buffer. */
#define NL_BUF 8192

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
	uint16_t len = sizeof(uint32_t);
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

int
slow_nl_open(struct slowpath *sp)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_NEIGH };

	sp->nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	if (sp->nl < 0)
		return -errno;
	if (bind(sp->nl, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		return -errno;
	return nl_dump(sp);
}

void
slow_nl_close(struct slowpath *sp)
{
	if (sp->nl >= 0)
		close(sp->nl);
	sp->nl = -1;
}

static void
nl_neigh(struct gateway *gw, const struct nlmsghdr *h)
{
	struct slowpath *sp = gw->slow;
	const struct ndmsg *nd = NLMSG_DATA(h);
	const struct rtattr *rta;
	const uint8_t *lladdr = NULL, *dst = NULL;
	uint16_t dst_len = sizeof(uint32_t);
	int len = (int)RTM_PAYLOAD(h);
	struct rte_ether_addr mac, *macp = NULL;
	struct slow_port *s;
	uint32_t dst_be;
	uint16_t i;

	/* A multicast or broadcast entry is never a next hop. */
	if (nd->ndm_family != AF_INET || nd->ndm_type == RTN_MULTICAST ||
			nd->ndm_type == RTN_BROADCAST)
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
	memcpy(&dst_be, dst, sizeof(dst_be));
	if (sg_dp_neigh_learn(&gw->ctx->port[s->port], dst_be, macp) != 0)
		SG_LOG(WARNING, "port %u: more than %d neighbours; not learning more",
				s->port, SG_DP_NEIGH_MAX);
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
