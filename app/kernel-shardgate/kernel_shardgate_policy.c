/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * kernel-shardgate's policies: charon's add/query/del/flush_policy as
 * shardgate's "add sp" / "del sp" / "rekey out" (see kernel_shardgate_ipsec.c
 * for the mapping as a whole). One shardgate rule per selector, whatever
 * number of charon installs share it.
 */
#include "kernel_shardgate_priv.h"

/* A selector as shardgate's "src/dst/proto/sport/dport", or why not. */
static const char *
selector(kernel_ipsec_policy_id_t *id, policy_entry_t *p)
{
	traffic_selector_t *ts[2] = { id->src_ts, id->dst_ts };
	char *prefix[2] = { p->src, p->dst };
	uint16_t *ports[2] = { p->sport, p->dport };
	host_t *net;
	uint8_t len;
	char a[16];
	int i;
	bool exact;

	if (id->mark.value || id->if_id)
	{
		return "marks and interface IDs are not supported";
	}
	if (id->interface)
	{
		return "policies bound to an interface are not supported";
	}
	if (id->label)
	{
		return "security labels are not supported";
	}
	if (ts[0]->get_protocol(ts[0]) != ts[1]->get_protocol(ts[1]))
	{
		return "selectors with two protocols";
	}
	p->proto = ts[0]->get_protocol(ts[0]);
	for (i = 0; i < 2; i++)
	{
		if (ts[i]->get_type(ts[i]) != TS_IPV4_ADDR_RANGE)
		{
			return "IPv6 traffic selectors are not supported";
		}
		exact = ts[i]->to_subnet(ts[i], &net, &len);
		ipv4_text(net, a, sizeof(a));
		net->destroy(net);
		if (!exact)
		{
			return "an address range that is not one subnet";
		}
		snprintf(prefix[i], 24, "%s/%u", a, len);
		ports[i][0] = ts[i]->get_from_port(ts[i]);
		ports[i][1] = ts[i]->get_to_port(ts[i]);
		/* ICMP types/codes travel in the port fields (RFC 4301 §4.4.1.1) */
		if ((p->proto == IPPROTO_ICMP || p->proto == 0) &&
			(ports[i][0] != 0 || ports[i][1] != 0xffff))
		{
			return "ICMP type/code selectors are not supported";
		}
	}
	return NULL;
}

static bool
same_selector(policy_entry_t *a, policy_entry_t *b)
{
	return a->out == b->out && streq(a->src, b->src) && streq(a->dst, b->dst) &&
		   a->proto == b->proto && a->sport[0] == b->sport[0] &&
		   a->sport[1] == b->sport[1] && a->dport[0] == b->dport[0] &&
		   a->dport[1] == b->dport[1];
}

/* shardgate's "pri" (higher wins) from charon's priority class (lower
 * wins) and the selector's size: the more specific, the higher, as
 * kernel-netlink ranks XFRM policies. A manual priority (lower wins)
 * stands above every computed one. */
static uint32_t
priority(policy_entry_t *p, policy_priority_t prio, uint32_t manual)
{
	u_int slen = atoi(strchr(p->src, '/') + 1), dlen = atoi(strchr(p->dst, '/') + 1);

	if (manual)
	{
		return manual >= 0x40000000 ? 1 << 20 : 0x40000000 - manual + (1 << 20);
	}
	return ((POLICY_PRIORITY_FALLBACK + 1 - prio) << 16) + (slen + dlen) * 4 +
		   (p->proto ? 2 : 0) +
		   (p->sport[0] || p->sport[1] != 0xffff ||
			p->dport[0] || p->dport[1] != 0xffff ? 1 : 0);
}

static void
sp_text(policy_entry_t *p, uint32_t spi, char *buf, size_t len)
{
	char act[32], proto[16] = "";

	switch (p->type)
	{
		case POLICY_IPSEC:
			snprintf(act, sizeof(act), "protect %u", spi);
			break;
		case POLICY_PASS:
			snprintf(act, sizeof(act), "bypass");
			break;
		default:
			snprintf(act, sizeof(act), "discard");
			break;
	}
	if (p->proto)
	{
		snprintf(proto, sizeof(proto), " proto %u", p->proto);
	}
	snprintf(buf, len, "sp ipv4 %s esp %s pri %u src %s dst %s%s sport %u:%u "
			 "dport %u:%u", p->out ? "out" : "in", act, p->pri, p->src, p->dst,
			 proto, p->sport[0], p->sport[1], p->dport[0], p->dport[1]);
}

static bool
sp_request(private_kernel_shardgate_ipsec_t *this, const char *verb,
		   policy_entry_t *p, uint32_t spi)
{
	char req[REQ_MAX], rule[REQ_MAX - 8], what[64];

	sp_text(p, spi, rule, sizeof(rule));
	snprintf(req, sizeof(req), "%s %s", verb, rule);
	snprintf(what, sizeof(what), "%s policy %s %s..%s", verb,
			 p->out ? "out" : "in", p->src, p->dst);
	return ask(this, what, req, NULL);
}

bool
policy_install(private_kernel_shardgate_ipsec_t *this, policy_entry_t *p)
{
	return sp_request(this, "add", p, p->sg_spi);
}

/* Make shardgate's rule for @p p name @p spi instead of p->sg_spi: a new
 * rule, then the old one goes; the new one is added second and ties lose
 * to the earlier rule (sg_spd.h), so it is added one priority higher. */
static bool
retarget(private_kernel_shardgate_ipsec_t *this, policy_entry_t *p, uint32_t spi)
{
	policy_entry_t next = *p;

	next.pri = p->pri + 1;
	if (!sp_request(this, "add", &next, spi))
	{
		return FALSE;
	}
	if (!sp_request(this, "del", p, p->sg_spi))
	{
		DBG1(DBG_KNL, "kernel-shardgate: the old rule stays, outranked");
	}
	p->pri = next.pri;
	p->sg_spi = spi;
	return TRUE;
}

/* "rekey out": the policy's live outbound SA takes @p new's SPI and key in
 * place, between two bursts, so no packet is lost and every policy naming
 * it follows. */
static bool
rekey_out(private_kernel_shardgate_ipsec_t *this, sa_entry_t *old,
		  sa_entry_t *new)
{
	char req[REQ_MAX], alg[ALG_WORDS_MAX], life[200];
	bool ok;

	/* its counters start again: keep the old SA's last ones for charon */
	refresh(this, old);
	life_left(new, life, sizeof(life));
	if (!shardgate_alg_words(new->alg, new->key, new->int_key, alg, sizeof(alg)))
	{
		memwipe(alg, sizeof(alg));
		return FALSE;
	}
	snprintf(req, sizeof(req), "rekey out %u %u %s%s", old->spi, new->spi, alg, life);
	ok = ask(this, "rekeying outbound SA", req, NULL);
	memwipe(req, sizeof(req));
	memwipe(alg, sizeof(alg));
	if (!ok)
	{
		return FALSE;
	}
	DBG2(DBG_KNL, "kernel-shardgate: outbound SA 0x%.8x replaced 0x%.8x",
		 new->spi, old->spi);
	new->state = SA_LIVE;
	old->state = SA_REPLACED;
	chunk_clear(&old->key);
	chunk_clear(&old->int_key);
	rename_policies(this, TRUE, old->spi, new->spi);
	return TRUE;
}

/* The SA charon's policy names, in the direction the policy protects. */
static sa_entry_t *
policy_sa(private_kernel_shardgate_ipsec_t *this, kernel_ipsec_policy_id_t *id,
		  kernel_ipsec_manage_policy_t *data)
{
	return sa_find(this, ntohl(data->sa->esp.spi), data->dst);
}

static policy_entry_t *
policy_find(private_kernel_shardgate_ipsec_t *this, policy_entry_t *key)
{
	enumerator_t *e;
	policy_entry_t *p, *found = NULL;

	e = this->policies->create_enumerator(this->policies);
	while (e->enumerate(e, &p))
	{
		if (same_selector(p, key))
		{
			found = p;
			break;
		}
	}
	e->destroy(e);
	return found;
}

static void
add_user(policy_entry_t *p, uint32_t spi, uint32_t reqid)
{
	policy_user_t *u;
	int i;

	for (i = 0; i < array_count(p->users); i++)
	{
		array_get(p->users, i, &u);
		if (u->spi == spi && u->reqid == reqid)
		{
			u->refs++;
			return;
		}
	}
	INIT(u, .spi = spi, .reqid = reqid, .refs = 1);
	array_insert(p->users, ARRAY_TAIL, u);
}

/* Whether shardgate's rule already accepts @p sa's traffic. */
static bool
rule_covers(private_kernel_shardgate_ipsec_t *this, policy_entry_t *p,
			sa_entry_t *sa)
{
	sa_entry_t *named;

	if (p->sg_spi == sa->spi)
	{
		return TRUE;
	}
	if (!sa->inbound)
	{
		return FALSE;
	}
	/* inbound rules name a tag that a "rekey in" passes on */
	named = sa_find(this, p->sg_spi, sa->dst);
	return named && named->inbound && named->chain == sa->chain;
}

METHOD(kernel_ipsec_t, add_policy, status_t,
	private_kernel_shardgate_ipsec_t *this, kernel_ipsec_policy_id_t *id,
	kernel_ipsec_manage_policy_t *data)
{
	policy_entry_t key = {}, *p;
	sa_entry_t *sa = NULL, *cur;
	const char *why;
	uint32_t spi = 0;
	status_t status = SUCCESS;

	if (id->dir == POLICY_FWD)
	{	/* shardgate's inbound rule is in and fwd at once (see top) */
		return SUCCESS;
	}
	key.out = id->dir == POLICY_OUT;
	key.type = data->type;
	why = selector(id, &key);
	if (!why && data->type == POLICY_IPSEC && data->sa->mode != MODE_TUNNEL)
	{
		why = "only tunnel mode is supported";
	}
	if (!why && data->type == POLICY_IPSEC && data->prio == POLICY_PRIORITY_ROUTED)
	{
		why = "trap policies (start_action=trap) need acquires, which "
			  "shardgate does not raise";
	}
	if (!why && data->type == POLICY_IPSEC && !data->sa->esp.use)
	{
		why = "only ESP is supported";
	}
	if (why)
	{
		DBG1(DBG_KNL, "kernel-shardgate: refusing policy %R === %R %N: %s",
			 id->src_ts, id->dst_ts, policy_dir_names, id->dir, why);
		return NOT_SUPPORTED;
	}
	key.pri = priority(&key, data->prio, data->manual_prio);

	this->mutex->lock(this->mutex);
	if (data->type == POLICY_IPSEC)
	{
		sa = policy_sa(this, id, data);
		if (!sa || sa->dying)
		{
			DBG1(DBG_KNL, "kernel-shardgate: refusing policy %R === %R %N: "
				 "its SA 0x%.8x is not in shardgate", id->src_ts, id->dst_ts,
				 policy_dir_names, id->dir, ntohl(data->sa->esp.spi));
			this->mutex->unlock(this->mutex);
			return FAILED;
		}
		spi = sa->spi;
	}
	p = policy_find(this, &key);
	if (p && p->type != key.type)
	{
		DBG1(DBG_KNL, "kernel-shardgate: refusing policy %R === %R %N: "
			 "shardgate has a %s policy for the same selectors", id->src_ts,
			 id->dst_ts, policy_dir_names, id->dir, p->type == POLICY_IPSEC ?
			 "protect" : p->type == POLICY_PASS ? "bypass" : "discard");
		status = FAILED;
	}
	else if (p && sa && !rule_covers(this, p, sa))
	{
		/* a rekey: the rule moves to the new SA */
		cur = sa_find(this, p->sg_spi, sa->dst);
		if (sa->state == SA_PENDING && cur && cur->state == SA_LIVE &&
			!cur->inbound)
		{
			status = rekey_out(this, cur, sa) ? SUCCESS : FAILED;
		}
		else if (sa->state == SA_PENDING)
		{
			status = install_sa(this, sa) && retarget(this, p, spi) ?
					 SUCCESS : FAILED;
			if (status == SUCCESS)
			{
				sa->state = SA_LIVE;
			}
		}
		else
		{
			status = retarget(this, p, spi) ? SUCCESS : FAILED;
		}
	}
	else if (!p)
	{
		if (sa && sa->state == SA_PENDING)
		{	/* its first policy (new selectors): nothing to switch from */
			if (install_sa(this, sa))
			{
				sa->state = SA_LIVE;
			}
			else
			{
				status = FAILED;
			}
		}
		if (status == SUCCESS && sp_request(this, "add", &key, spi))
		{
			INIT(p);
			*p = key;
			p->sg_spi = spi;
			p->users = array_create(0, 0);
			this->policies->insert_last(this->policies, p);
		}
		else
		{
			status = FAILED;
		}
	}
	if (status == SUCCESS)
	{
		add_user(p, spi, data->sa ? data->sa->reqid : 0);
	}
	reap(this);
	this->mutex->unlock(this->mutex);
	return status;
}

METHOD(kernel_ipsec_t, query_policy, status_t,
	private_kernel_shardgate_ipsec_t *this, kernel_ipsec_policy_id_t *id,
	kernel_ipsec_query_policy_t *data, time_t *use_time)
{
	policy_entry_t key = {};
	policy_entry_t *p;
	sa_entry_t *sa;
	status_t status = NOT_FOUND;

	if (id->dir == POLICY_FWD || selector(id, &key))
	{
		return NOT_SUPPORTED;
	}
	key.out = id->dir == POLICY_OUT;
	this->mutex->lock(this->mutex);
	p = policy_find(this, &key);
	if (p && p->type == POLICY_IPSEC)
	{
		/* the policy's use is its SA's, which shardgate counts */
		enumerator_t *e = this->sas->create_enumerator(this->sas);

		while (e->enumerate(e, NULL, &sa))
		{
			if (sa->spi == p->sg_spi && sa->inbound == !p->out &&
				sa->state == SA_LIVE)
			{
				refresh(this, sa);
				*use_time = sa->last_use;
				status = SUCCESS;
				break;
			}
		}
		e->destroy(e);
	}
	this->mutex->unlock(this->mutex);
	return status;
}

void
policy_destroy(policy_entry_t *p)
{
	array_destroy_function(p->users, (void*)free, NULL);
	free(p);
}

METHOD(kernel_ipsec_t, del_policy, status_t,
	private_kernel_shardgate_ipsec_t *this, kernel_ipsec_policy_id_t *id,
	kernel_ipsec_manage_policy_t *data)
{
	policy_entry_t key = {}, *p;
	policy_user_t *u = NULL, *last = NULL;
	uint32_t spi, reqid;
	sa_entry_t *sa;
	int i;

	if (id->dir == POLICY_FWD || selector(id, &key))
	{	/* never installed */
		return SUCCESS;
	}
	key.out = id->dir == POLICY_OUT;
	spi = data->type == POLICY_IPSEC ? ntohl(data->sa->esp.spi) : 0;
	reqid = data->sa ? data->sa->reqid : 0;

	this->mutex->lock(this->mutex);
	p = policy_find(this, &key);
	if (!p)
	{
		this->mutex->unlock(this->mutex);
		return NOT_FOUND;
	}
	for (i = 0; i < array_count(p->users); i++)
	{
		array_get(p->users, i, &u);
		if (u->spi == spi && u->reqid == reqid)
		{
			break;
		}
		u = NULL;
	}
	if (u && --u->refs == 0)
	{
		array_remove(p->users, i, NULL);
		free(u);
	}
	if (array_count(p->users) == 0)
	{
		if (sp_request(this, "del", p, p->sg_spi))
		{
			this->policies->remove(this->policies, p, NULL);
			policy_destroy(p);
		}
	}
	else if (p->type == POLICY_IPSEC)
	{
		/* the latest install that remains is the one to protect with */
		array_get(p->users, ARRAY_TAIL, &last);
		sa = sa_find(this, last->spi, data->dst);
		if (sa && sa->state == SA_LIVE && !rule_covers(this, p, sa))
		{
			retarget(this, p, sa->spi);
		}
	}
	reap(this);
	this->mutex->unlock(this->mutex);
	return SUCCESS;
}

METHOD(kernel_ipsec_t, flush_policies, status_t,
	private_kernel_shardgate_ipsec_t *this)
{
	policy_entry_t *p;

	this->mutex->lock(this->mutex);
	while (this->policies->remove_first(this->policies, (void**)&p) == SUCCESS)
	{
		sp_request(this, "del", p, p->sg_spi);
		policy_destroy(p);
	}
	reap(this);
	this->mutex->unlock(this->mutex);
	return SUCCESS;
}

void
kernel_shardgate_policy_methods(private_kernel_shardgate_ipsec_t *this)
{
	this->public.interface.add_policy = _add_policy;
	this->public.interface.query_policy = _query_policy;
	this->public.interface.del_policy = _del_policy;
	this->public.interface.flush_policies = _flush_policies;
}
