/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What shardgate tells charon, read from its "events" every events_ms on
 * the plugin's second connection:
 *
 *   soft_expired         charon's expire, soft: it rekeys the CHILD_SA
 *   hard_expired, idle   charon's expire, hard: shardgate removed the SA
 *   peer_moved           a NAT rebinding shardgate followed on an authentic
 *                        packet: charon's mapping, as kernel-netlink raises
 *                        for XFRM_MSG_MAPPING, so the IKE SA moves along
 *   a new "instance"     shardgate restarted: resync() (resync.c)
 *
 * charon answers a mapping with update_sa for both SAs of the CHILD_SA,
 * as it does when it hears of a move over IKE (a NAT rebinding without
 * MOBIKE, or MOBIKE's UPDATE_SA_ADDRESSES): follow_peer() sends "move sa"
 * (a no-op for what shardgate followed itself), and the policies stay
 * (KERNEL_NO_POLICY_UPDATES, get_features()).
 */
#include "kernel_shardgate_priv.h"

/* "move sa": shardgate's SA @p sa has its peer at @p remote from now on
 * (address, and the UDP port for a UDP SA). Nothing changes in shardgate
 * if it is there already (a NAT rebinding it followed itself). */
static bool
move_peer(private_kernel_shardgate_ipsec_t *this, sa_entry_t *sa, host_t *remote)
{
	char req[96], addr[INET_ADDRSTRLEN], port[16] = "", what[48];

	if (!ipv4_text(remote, addr, sizeof(addr)))
	{
		return FALSE;
	}
	if (sa->encap)
	{
		snprintf(port, sizeof(port), " port %u", remote->get_port(remote));
	}
	snprintf(req, sizeof(req), "move sa %s %u peer %s%s", sa->inbound ? "in" : "out",
			 sa->spi, addr, port);
	snprintf(what, sizeof(what), "moving SA %s 0x%.8x", sa->inbound ? "in" : "out",
			 sa->spi);
	return ask(this, what, req, NULL);
}

/* Take @p remote as @p sa's peer in our own records. */
static void
set_peer(private_kernel_shardgate_ipsec_t *this, sa_entry_t *sa, host_t *remote)
{
	if (sa->inbound)
	{
		sa->src->destroy(sa->src);
		sa->src = remote->clone(remote);
		sa->sport = remote->get_port(remote);
	}
	else
	{	/* dst is half the table's key */
		this->sas->remove(this->sas, sa);
		sa->dst->destroy(sa->dst);
		sa->dst = remote->clone(remote);
		sa->dport = remote->get_port(remote);
		this->sas->put(this->sas, sa, sa);
	}
}

status_t
follow_peer(private_kernel_shardgate_ipsec_t *this, kernel_ipsec_sa_id_t *id,
			kernel_ipsec_update_sa_t *data)
{
	sa_entry_t *sa;
	host_t *remote, *local, *local_now;
	status_t status = NOT_SUPPORTED;

	this->mutex->lock(this->mutex);
	sa = sa_find(this, ntohl(id->spi), id->dst);
	if (!sa || sa->state == SA_REPLACED)
	{
		this->mutex->unlock(this->mutex);
		return NOT_FOUND;
	}
	local = sa->inbound ? id->dst : id->src;
	local_now = sa->inbound ? data->new_dst : data->new_src;
	remote = sa->inbound ? data->new_src : data->new_dst;
	/* The peer moved: a NAT rebinding (heard from shardgate's peer_moved,
	 * or over IKE first) or MOBIKE. shardgate moves the SA's far end; our
	 * own end, and whether ESP goes in UDP, stay: for those charon rekeys. */
	if (sa->encap == data->new_encap && local_now->ip_equals(local_now, local) &&
		(!sa->encap || local_now->get_port(local_now) == local->get_port(local)) &&
		(sa->state == SA_PENDING || move_peer(this, sa, remote)))
	{
		set_peer(this, sa, remote);
		DBG1(DBG_KNL, "kernel-shardgate: SA %s 0x%.8x: peer now at %#H",
			 sa->inbound ? "in" : "out", sa->spi, remote);
		status = SUCCESS;
	}
	else
	{
		DBG1(DBG_KNL, "kernel-shardgate: cannot update SA 0x%.8x (new endpoints "
			 "%#H..%#H): shardgate moves only the far end of a live SA",
			 ntohl(id->spi), data->new_src, data->new_dst);
	}
	this->mutex->unlock(this->mutex);
	return status;
}

typedef struct {
	uint32_t spi;
	host_t *dst;
	bool hard;
	/** a mapping (the peer's new address and port), or NULL: an expiry */
	host_t *remote;
} expiry_t;

/* Read shardgate's events since the last one and raise charon's expires:
 * soft starts a rekey, hard (or idle: shardgate has removed the SA) a
 * delete; and its mappings: a NAT rebinding shardgate followed (peer_moved)
 * moves the IKE SA along, as XFRM's mapping event does under kernel-netlink
 * (charon then calls update_sa, whose move sa finds shardgate already there). */
job_requeue_t
read_events(private_kernel_shardgate_ipsec_t *this)
{
	char req[48], *reply = NULL, *at, type[24], dir[8], peer[INET_ADDRSTRLEN];
	uint64_t id, spi, instance, port;
	array_t *due = array_create(sizeof(expiry_t), 0);
	expiry_t x;
	host_t *remote;
	sa_entry_t *sa;
	enumerator_t *e;

	snprintf(req, sizeof(req), "events %llu", (unsigned long long)this->last_event);
	if (this->ev_ctl->request(this->ev_ctl, req, &reply))
	{
		this->mutex->lock(this->mutex);
		if (shardgate_ctl_u64(reply, "instance", &instance) &&
			instance != this->instance)
		{
			/* a new shardgate run: it has none of our SAs, and its events
			 * are numbered above the last run's */
			if (this->instance)
			{
				resync(this);
			}
			this->instance = instance;
		}
		for (at = strstr(reply, "{\"id\":"); at; at = strstr(at + 1, "{\"id\":"))
		{
			if (!shardgate_ctl_u64(at, "id", &id) ||
				!shardgate_ctl_str(at, "type", type, sizeof(type)) ||
				!shardgate_ctl_str(at, "dir", dir, sizeof(dir)) ||
				!shardgate_ctl_u64(at, "spi", &spi))
			{
				continue;
			}
			this->last_event = max(this->last_event, id);
			remote = NULL;
			if (streq(type, "peer_moved"))
			{
				if (!streq(dir, "in") ||
					!shardgate_ctl_str(at, "peer", peer, sizeof(peer)) ||
					!shardgate_ctl_u64(at, "port", &port) || port > UINT16_MAX ||
					!(remote = host_create_from_string(peer, port)))
				{
					continue;
				}
			}
			else if (!streq(type, "soft_expired") && !streq(type, "hard_expired") &&
					 !streq(type, "idle"))
			{
				continue;
			}
			e = this->sas->create_enumerator(this->sas);
			while (e->enumerate(e, NULL, &sa))
			{
				if (sa->spi == spi && sa->inbound == streq(dir, "in") &&
					sa->state == SA_LIVE)
				{
					x.spi = sa->spi;
					x.dst = sa->dst->clone(sa->dst);
					x.hard = !streq(type, "soft_expired");
					x.remote = remote;
					remote = NULL;
					array_insert(due, ARRAY_TAIL, &x);
					DBG1(DBG_KNL, "kernel-shardgate: SA %s 0x%.8x: %s in shardgate",
						 dir, sa->spi, type);
					break;
				}
			}
			e->destroy(e);
			DESTROY_IF(remote);
		}
		this->mutex->unlock(this->mutex);
	}
	free(reply);
	/* outside our lock: charon may call back into us */
	while (array_remove(due, ARRAY_HEAD, &x))
	{
		if (x.remote)
		{
			charon->kernel->mapping(charon->kernel, IPPROTO_ESP, htonl(x.spi),
									x.dst, x.remote);
			x.remote->destroy(x.remote);
		}
		else
		{
			charon->kernel->expire(charon->kernel, IPPROTO_ESP, htonl(x.spi),
								   x.dst, x.hard);
		}
		x.dst->destroy(x.dst);
	}
	array_destroy(due);
	return JOB_RESCHEDULE_MS(this->events_ms);
}
