/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * charon's kernel IPsec interface mapped onto shardgate's control requests
 * (app/shardgate/requests.c, keymgr.c):
 *
 *   get_spi            spi alloc MIN MAX (a reservation, not a guess)
 *   add_sa             add sa in|out ...; for a rekey of a live SA of the
 *                      same reqid: rekey in OLD NEW (inbound, at once) or,
 *                      outbound, held here until its policy switches to it
 *   add_policy out     add sp ... protect SPI, or rekey out OLD NEW when the
 *                      policy moves to a held successor (make-before-break)
 *   add_policy in      add sp ... protect SPI (fwd: nothing, see below)
 *   query_sa           query sa in|out SPI
 *   del_policy/del_sa  del sp / del sa, once nothing in shardgate names it
 *   update_sa          move sa in|out SPI peer ADDR [port PORT], for a move
 *                      of the far end only (kernel_shardgate_events.c)
 *   expire, mapping    shardgate's events, read every events_ms (events.c)
 *
 * shardgate decides protect/bypass/discard for traffic it forwards with one
 * SPD per direction, and checks decrypted packets against its inbound SPD:
 * that is XFRM's fwd (and in) policy in one, so "in" becomes shardgate's
 * inbound rule and "fwd" is accepted without a request.
 *
 * What shardgate cannot carry is refused with a DBG1 reason. charon then
 * installs no policy for that CHILD_SA, and shardgate drops its traffic as
 * no_policy: it is never sent in the clear.
 */
#include "kernel_shardgate_priv.h"

static u_int
sa_hash(const sa_entry_t *key)
{
	return chunk_hash_inc(key->dst->get_address(key->dst),
						  chunk_hash(chunk_from_thing(key->spi)));
}

static bool
sa_equals(const sa_entry_t *a, const sa_entry_t *b)
{
	return a->spi == b->spi && a->dst->ip_equals(a->dst, b->dst);
}

sa_entry_t *
sa_find(private_kernel_shardgate_ipsec_t *this, uint32_t spi, host_t *dst)
{
	sa_entry_t key = { .spi = spi, .dst = dst };

	return this->sas->get(this->sas, &key);
}

static void
sa_destroy(sa_entry_t *sa)
{
	chunk_clear(&sa->key);
	chunk_clear(&sa->int_key);
	DESTROY_IF(sa->src);
	DESTROY_IF(sa->dst);
	free(sa);
}

static void
sa_drop(private_kernel_shardgate_ipsec_t *this, sa_entry_t *sa)
{
	this->sas->remove(this->sas, sa);
	sa_destroy(sa);
}

/* Send a request; on failure log the reason. Wipes nothing: callers that
 * put keys in @p req wipe it. */
bool
ask(private_kernel_shardgate_ipsec_t *this, const char *what, const char *req,
	char **reply)
{
	char *r = NULL, *err;
	bool ok;

	ok = this->ctl->request(this->ctl, req, &r);
	if (!ok)
	{
		err = shardgate_ctl_error(r);
		DBG1(DBG_KNL, "kernel-shardgate: %s: shardgate refused: %s", what, err);
		free(err);
	}
	if (reply)
	{
		*reply = r;
	}
	else
	{
		free(r);
	}
	return ok;
}

/* Whether a failed request failed only because the SA is already gone
 * (a hard lifetime or idle timeout removed it in shardgate). */
static bool
is_gone(const char *reply)
{
	return reply && strstr(reply, "no such SA") != NULL;
}

bool
ipv4_text(host_t *host, char *buf, size_t len)
{
	chunk_t a;

	if (host->get_family(host) != AF_INET)
	{
		return FALSE;
	}
	a = host->get_address(host);
	snprintf(buf, len, "%u.%u.%u.%u", a.ptr[0], a.ptr[1], a.ptr[2], a.ptr[3]);
	return TRUE;
}

/* shardgate's lifetime words from charon's: soft = rekey, hard = life, as
 * kernel-netlink gives XFRM, less what the SA has used (a limit already
 * reached becomes 1, so it fires at once). 0 means none on either side. */
void
life_left(sa_entry_t *sa, char *buf, size_t len)
{
	lifetime_cfg_t *lt = &sa->lifetime;
	uint64_t secs = (uint64_t)max(time_monotonic(NULL) - sa->installed, 0);
	size_t at = 0;

	buf[0] = '\0';
	if (!sa->has_lifetime)
	{
		return;
	}
#define LIFE(word, v, used, max) \
	if ((v) && at < len) \
	{ \
		at += snprintf(buf + at, len - at, " " word " %llu", (unsigned long long) \
					   min((uint64_t)(v) > (used) ? (uint64_t)(v) - (used) : 1, \
						   (uint64_t)(max))); \
	}
	LIFE("lifetime_soft_sec", lt->time.rekey, secs, UINT32_MAX);
	LIFE("lifetime_hard_sec", lt->time.life, secs, UINT32_MAX);
	LIFE("lifetime_soft_bytes", lt->bytes.rekey, sa->bytes, UINT64_MAX);
	LIFE("lifetime_hard_bytes", lt->bytes.life, sa->bytes, UINT64_MAX);
	LIFE("lifetime_soft_packets", lt->packets.rekey, sa->packets, UINT64_MAX);
	LIFE("lifetime_hard_packets", lt->packets.life, sa->packets, UINT64_MAX);
#undef LIFE
}

METHOD(kernel_ipsec_t, get_features, kernel_feature_t,
	private_kernel_shardgate_ipsec_t *this)
{
	/* No KERNEL_POLICY_SPI: charon installs a rekeyed outbound SA right
	 * before moving its policies, which is when "rekey out" swaps it.
	 * KERNEL_NO_POLICY_UPDATES: shardgate's policies name their SA by SPI,
	 * never the tunnel's ends, so an SA whose peer moved (update_sa) keeps
	 * its policies as they are. KERNEL_ESP_V3_TFC: shardgate removes TFC
	 * padding it receives and pads what it sends (tfc_pad), so charon
	 * does not tell the peer ESP_TFC_PADDING_NOT_SUPPORTED. */
	return KERNEL_NO_POLICY_UPDATES | KERNEL_ESP_V3_TFC;
}

METHOD(kernel_ipsec_t, get_spi, status_t,
	private_kernel_shardgate_ipsec_t *this, host_t *src, host_t *dst,
	uint8_t protocol, uint32_t *spi)
{
	char req[64], *reply = NULL;
	uint64_t v;

	if (protocol != IPPROTO_ESP)
	{
		DBG1(DBG_KNL, "kernel-shardgate: no SPI for protocol %u: shardgate "
			 "carries ESP only", protocol);
		return NOT_SUPPORTED;
	}
	snprintf(req, sizeof(req), "spi alloc %u %u", SPI_LO, SPI_HI);
	if (!ask(this, "allocating an SPI", req, &reply) ||
		!shardgate_ctl_u64(reply, "spi", &v) || v > UINT32_MAX)
	{
		free(reply);
		return FAILED;
	}
	free(reply);
	*spi = htonl((uint32_t)v);
	DBG2(DBG_KNL, "kernel-shardgate: reserved SPI 0x%.8x", (uint32_t)v);
	return SUCCESS;
}

METHOD(kernel_ipsec_t, get_cpi, status_t,
	private_kernel_shardgate_ipsec_t *this, host_t *src, host_t *dst,
	uint16_t *cpi)
{
	DBG1(DBG_KNL, "kernel-shardgate: IPComp is not supported by shardgate");
	return NOT_SUPPORTED;
}

/* shardgate's largest TFC size is 65534 bytes; charon's "mtu" is UINT32_MAX. */
#define TFC_MTU 65535

/* Why shardgate cannot carry this SA, or NULL. */
static const char *
sa_unsupported(kernel_ipsec_sa_id_t *id, kernel_ipsec_add_sa_t *data)
{
	if (id->proto != IPPROTO_ESP)
	{
		return "only ESP is supported (no AH)";
	}
	if (id->src->get_family(id->src) != AF_INET ||
		id->dst->get_family(id->dst) != AF_INET)
	{
		return "IPv6 tunnel endpoints are not supported";
	}
	if (data->mode != MODE_TUNNEL)
	{
		/* shardgate's transport SAs are for forwarded traffic; charon's
		 * protect the host's own, which goes by the slow path */
		return "only tunnel mode is supported through the plugin";
	}
	if (data->ipcomp != IPCOMP_NONE)
	{
		return "IPComp is not supported";
	}
	if (id->mark.value || data->mark.value || id->if_id)
	{
		return "marks and interface IDs are not supported";
	}
	if (data->label)
	{
		return "security labels are not supported";
	}
	if (data->hw_offload == HW_OFFLOAD_YES)
	{
		return "hardware offload is not supported";
	}
	return NULL;
}

/* The live inbound SA this one rekeys, if shardgate's "rekey in" fits. */
static sa_entry_t *
rekey_in_old(private_kernel_shardgate_ipsec_t *this, sa_entry_t *new)
{
	enumerator_t *e;
	sa_entry_t *sa, *old = NULL;

	e = this->sas->create_enumerator(this->sas);
	while (e->enumerate(e, NULL, &sa))
	{
		/* "rekey in" keeps the old SA's endpoints, window and ESN */
		if (sa->inbound && sa->state == SA_LIVE && !sa->dying &&
			!sa->successor && sa->reqid == new->reqid &&
			sa->esn == new->esn && sa->replay == new->replay &&
			sa->encap == new->encap && sa->sport == new->sport &&
			sa->dport == new->dport &&
			sa->src->ip_equals(sa->src, new->src) &&
			sa->dst->ip_equals(sa->dst, new->dst))
		{
			old = sa;
			break;
		}
	}
	e->destroy(e);
	return old;
}

/* Whether a live outbound SA of the same reqid and peer exists: then the
 * new one waits for its policy to switch (make-before-break). */
static bool
has_live_out(private_kernel_shardgate_ipsec_t *this, sa_entry_t *new)
{
	enumerator_t *e;
	sa_entry_t *sa;
	bool found = FALSE;

	e = this->sas->create_enumerator(this->sas);
	while (e->enumerate(e, NULL, &sa))
	{
		/* "rekey out" keeps the old SA's endpoints and UDP ports */
		if (!sa->inbound && sa->state == SA_LIVE && !sa->dying &&
			sa->reqid == new->reqid && sa->dst->ip_equals(sa->dst, new->dst) &&
			sa->encap == new->encap && sa->sport == new->sport &&
			sa->dport == new->dport && sa->tfc == new->tfc)
		{
			found = TRUE;
			break;
		}
	}
	e->destroy(e);
	return found;
}

bool
install_sa(private_kernel_shardgate_ipsec_t *this, sa_entry_t *sa)
{
	char req[REQ_MAX], alg[ALG_WORDS_MAX], src[16], dst[16], what[64], win[24], life[200];
	char udp[32] = "", tfc[24] = "";
	bool ok;

	life_left(sa, life, sizeof(life));
	if (sa->encap)
	{	/* the ports as on this SA's packets, as shardgate's grammar has them */
		snprintf(udp, sizeof(udp), " udp_encap %u %u", sa->sport, sa->dport);
	}
	if (sa->tfc >= TFC_MTU)
	{	/* "tfc_padding = mtu", or more than any packet's size */
		snprintf(tfc, sizeof(tfc), " tfc_pad mtu");
	}
	else if (sa->tfc)
	{
		snprintf(tfc, sizeof(tfc), " tfc_pad %u", sa->tfc);
	}
	ipv4_text(sa->src, src, sizeof(src));
	ipv4_text(sa->dst, dst, sizeof(dst));
	if (!shardgate_alg_words(sa->alg, sa->key, sa->int_key, alg, sizeof(alg)))
	{
		memwipe(alg, sizeof(alg));
		return FALSE;
	}
	/* the sender keeps no window: replay_win is inbound only */
	win[0] = '\0';
	if (sa->inbound)
	{
		snprintf(win, sizeof(win), " replay_win %u", sa->replay);
	}
	snprintf(req, sizeof(req), "add sa %s %u %s "
			 "mode ipv4-tunnel src %s dst %s%s%s%s%s%s", sa->inbound ? "in" : "out",
			 sa->spi, alg, src, dst, sa->esn ? " esn" : "", win, udp, tfc, life);
	snprintf(what, sizeof(what), "adding SA %s 0x%.8x",
			 sa->inbound ? "in" : "out", sa->spi);
	ok = ask(this, what, req, NULL);
	memwipe(req, sizeof(req));
	memwipe(alg, sizeof(alg));
	return ok;
}

bool
install_rekey_in(private_kernel_shardgate_ipsec_t *this, sa_entry_t *old,
				 sa_entry_t *new)
{
	char req[REQ_MAX], alg[ALG_WORDS_MAX], life[200];
	bool ok;

	life_left(new, life, sizeof(life));
	if (!shardgate_alg_words(new->alg, new->key, new->int_key, alg, sizeof(alg)))
	{
		memwipe(alg, sizeof(alg));
		return FALSE;
	}
	snprintf(req, sizeof(req), "rekey in %u %u %s%s grace_ms %llu", old->spi, new->spi,
			 alg, life, (unsigned long long)new->grace_ms);
	ok = ask(this, "rekeying inbound SA", req, NULL);
	memwipe(req, sizeof(req));
	memwipe(alg, sizeof(alg));
	return ok;
}

METHOD(kernel_ipsec_t, add_sa, status_t,
	private_kernel_shardgate_ipsec_t *this, kernel_ipsec_sa_id_t *id,
	kernel_ipsec_add_sa_t *data)
{
	const char *why;
	sa_entry_t *sa, *old;
	uint64_t grace;
	bool ok = TRUE;

	why = sa_unsupported(id, data);
	if (why)
	{
		DBG1(DBG_KNL, "kernel-shardgate: refusing SA 0x%.8x: %s",
			 ntohl(id->spi), why);
		return NOT_SUPPORTED;
	}
	INIT(sa,
		.spi = ntohl(id->spi),
		.src = id->src->clone(id->src),
		.dst = id->dst->clone(id->dst),
		.inbound = data->inbound,
		.reqid = data->reqid,
		.alg = shardgate_alg_find(data->enc_alg, data->enc_key.len,
								  data->int_alg),
		.replay = data->replay_window,
		.esn = data->esn,
		.encap = data->encap,
		.sport = id->src->get_port(id->src),
		.dport = id->dst->get_port(id->dst),
		/* charon pads only what it sends (child_sa.c) */
		.tfc = data->inbound ? 0 : data->tfc,
		.state = SA_LIVE,
		.key = chunk_clone(data->enc_key),
		.int_key = chunk_clone(data->int_key),
		.has_lifetime = data->lifetime != NULL,
		.installed = time_monotonic(NULL),
	);
	sa->chain = sa->spi;
	if (data->lifetime)
	{
		sa->lifetime = *data->lifetime;
	}
	if (!sa->alg)
	{
		DBG1(DBG_KNL, "kernel-shardgate: refusing SA 0x%.8x: %N with a "
			 "%u-byte key and %N is not an algorithm shardgate carries "
			 "(it has AES-GCM-16, ChaCha20-Poly1305, AES-GMAC and AES-CBC with "
			 "HMAC-SHA-1-96 or HMAC-SHA-2)", sa->spi,
			 encryption_algorithm_names, data->enc_alg, data->enc_key.len,
			 integrity_algorithm_names, data->int_alg);
		sa_destroy(sa);
		return NOT_SUPPORTED;
	}
	this->mutex->lock(this->mutex);
	if (sa_find(this, sa->spi, sa->dst))
	{
		this->mutex->unlock(this->mutex);
		DBG1(DBG_KNL, "kernel-shardgate: SA 0x%.8x to %H exists already",
			 sa->spi, sa->dst);
		sa_destroy(sa);
		return ALREADY_DONE;
	}
	if (sa->inbound && (old = rekey_in_old(this, sa)) != NULL)
	{
		/* The new SA takes the old one's policy tag: both decrypt until
		 * charon deletes the old one (RFC 4301 §4.4.2.1). */
		grace = data->lifetime && data->lifetime->time.life ?
				data->lifetime->time.life * 1000 : GRACE_MS_MAX;
		sa->grace_ms = min(grace, (uint64_t)GRACE_MS_MAX);
		ok = install_rekey_in(this, old, sa);
		if (ok)
		{
			old->successor = sa->spi;
			sa->chain = old->chain;
			DBG2(DBG_KNL, "kernel-shardgate: inbound SA 0x%.8x rekeys 0x%.8x",
				 sa->spi, old->spi);
		}
	}
	else if (!sa->inbound && has_live_out(this, sa))
	{
		/* held until charon moves the outbound policy: "rekey out" */
		sa->state = SA_PENDING;
		DBG2(DBG_KNL, "kernel-shardgate: outbound SA 0x%.8x held for the "
			 "policy switch", sa->spi);
	}
	else
	{
		ok = install_sa(this, sa);
	}
	if (!ok)
	{
		this->mutex->unlock(this->mutex);
		sa_destroy(sa);
		return FAILED;
	}
	this->sas->put(this->sas, sa, sa);
	this->mutex->unlock(this->mutex);
	return SUCCESS;
}

METHOD(kernel_ipsec_t, update_sa, status_t,
	private_kernel_shardgate_ipsec_t *this, kernel_ipsec_sa_id_t *id,
	kernel_ipsec_update_sa_t *data)
{
	return follow_peer(this, id, data);
}

/* Read one live SA's counters from shardgate into @p sa. */
bool
refresh(private_kernel_shardgate_ipsec_t *this, sa_entry_t *sa)
{
	char req[64], *reply = NULL;
	uint64_t bytes, packets;
	bool ok;

	snprintf(req, sizeof(req), "query sa %s %u", sa->inbound ? "in" : "out",
			 sa->spi);
	ok = this->ctl->request(this->ctl, req, &reply) &&
		 shardgate_ctl_u64(reply, "bytes", &bytes) &&
		 shardgate_ctl_u64(reply, "packets", &packets);
	free(reply);
	if (!ok)
	{
		return FALSE;
	}
	bytes += sa->bytes_base;
	packets += sa->packets_base;
	if (packets != sa->packets)
	{	/* shardgate keeps no last-use time: the last change seen is it */
		sa->last_use = time_monotonic(NULL);
	}
	sa->bytes = bytes;
	sa->packets = packets;
	return TRUE;
}

METHOD(kernel_ipsec_t, query_sa, status_t,
	private_kernel_shardgate_ipsec_t *this, kernel_ipsec_sa_id_t *id,
	kernel_ipsec_query_sa_t *data, uint64_t *bytes, uint64_t *packets,
	time_t *time)
{
	sa_entry_t *sa;

	this->mutex->lock(this->mutex);
	sa = sa_find(this, ntohl(id->spi), id->dst);
	if (!sa)
	{
		this->mutex->unlock(this->mutex);
		return NOT_FOUND;
	}
	if (sa->state == SA_LIVE && !refresh(this, sa))
	{
		DBG2(DBG_KNL, "kernel-shardgate: SA 0x%.8x: no counters from "
			 "shardgate, showing the last ones", sa->spi);
	}
	if (bytes)
	{
		*bytes = sa->bytes;
	}
	if (packets)
	{
		*packets = sa->packets;
	}
	if (time)
	{
		*time = sa->last_use;
	}
	this->mutex->unlock(this->mutex);
	return SUCCESS;
}

static bool
named_by_policy(private_kernel_shardgate_ipsec_t *this, sa_entry_t *sa)
{
	enumerator_t *e;
	policy_entry_t *p;
	bool found = FALSE;

	e = this->policies->create_enumerator(this->policies);
	while (e->enumerate(e, &p))
	{
		if (p->type == POLICY_IPSEC && p->out == !sa->inbound &&
			p->sg_spi == sa->spi)
		{
			found = TRUE;
			break;
		}
	}
	e->destroy(e);
	return found;
}

/* Policies whose shardgate rule named @p from now name @p to. */
void
rename_policies(private_kernel_shardgate_ipsec_t *this, bool out,
				uint32_t from, uint32_t to)
{
	enumerator_t *e;
	policy_entry_t *p;

	e = this->policies->create_enumerator(this->policies);
	while (e->enumerate(e, &p))
	{
		if (p->type == POLICY_IPSEC && p->out == out && p->sg_spi == from)
		{
			p->sg_spi = to;
		}
	}
	e->destroy(e);
}

/* "del sa"; TRUE if it is gone from shardgate. */
static bool
remove_sa(private_kernel_shardgate_ipsec_t *this, sa_entry_t *sa)
{
	char req[64], what[64], *reply = NULL;
	bool ok;

	snprintf(req, sizeof(req), "del sa %s %u", sa->inbound ? "in" : "out",
			 sa->spi);
	ok = this->ctl->request(this->ctl, req, &reply);
	if (!ok && is_gone(reply))
	{
		ok = TRUE;
	}
	else if (!ok)
	{
		char *err = shardgate_ctl_error(reply);

		snprintf(what, sizeof(what), "deleting SA %s 0x%.8x",
				 sa->inbound ? "in" : "out", sa->spi);
		DBG1(DBG_KNL, "kernel-shardgate: %s: shardgate refused: %s", what, err);
		free(err);
	}
	free(reply);
	return ok;
}

/* Delete SAs charon is done with that no shardgate policy names now. */
void
reap(private_kernel_shardgate_ipsec_t *this)
{
	enumerator_t *e;
	sa_entry_t *sa;

	e = this->sas->create_enumerator(this->sas);
	while (e->enumerate(e, NULL, &sa))
	{
		if (sa->dying && !named_by_policy(this, sa) && remove_sa(this, sa))
		{
			this->sas->remove_at(this->sas, e);
			sa_destroy(sa);
		}
	}
	e->destroy(e);
}

sa_entry_t *
rekeyed_from(private_kernel_shardgate_ipsec_t *this, sa_entry_t *sa)
{
	enumerator_t *e;
	sa_entry_t *old, *found = NULL;

	e = this->sas->create_enumerator(this->sas);
	while (e->enumerate(e, NULL, &old))
	{
		if (old->inbound && old->successor == sa->spi &&
			old->dst->ip_equals(old->dst, sa->dst))
		{
			found = old;
			break;
		}
	}
	e->destroy(e);
	return found;
}

METHOD(kernel_ipsec_t, del_sa, status_t,
	private_kernel_shardgate_ipsec_t *this, kernel_ipsec_sa_id_t *id,
	kernel_ipsec_del_sa_t *data)
{
	char req[64];
	sa_entry_t *sa;
	status_t status = SUCCESS;

	this->mutex->lock(this->mutex);
	sa = sa_find(this, ntohl(id->spi), id->dst);
	if (!sa)
	{
		/* charon deletes every inbound SPI it allocated, installed or not */
		snprintf(req, sizeof(req), "spi free %u", ntohl(id->spi));
		this->ctl->request(this->ctl, req, NULL);
		this->mutex->unlock(this->mutex);
		return SUCCESS;
	}
	if (sa->state != SA_LIVE)
	{	/* never in shardgate, or its slot went to the successor */
		sa_drop(this, sa);
	}
	else if (sa->inbound && sa->successor)
	{
		/* ends the rekey's grace: shardgate's rules move to the successor */
		if (remove_sa(this, sa))
		{
			rename_policies(this, FALSE, sa->spi, sa->successor);
			sa_drop(this, sa);
		}
		else
		{
			status = FAILED;
		}
	}
	else if (sa->inbound && rekeyed_from(this, sa))
	{
		/* a rekey called off before the old SA went: shardgate keeps the
		 * old one (its rules name it) and drops only this one */
		if (remove_sa(this, sa))
		{
			rekeyed_from(this, sa)->successor = 0;
			sa_drop(this, sa);
		}
		else
		{
			status = FAILED;
		}
	}
	else if (named_by_policy(this, sa))
	{
		/* a policy still protects with it: it goes with the policy, so
		 * its traffic is never left without an SA */
		sa->dying = TRUE;
	}
	else if (remove_sa(this, sa))
	{
		sa_drop(this, sa);
	}
	else
	{
		status = FAILED;
	}
	this->mutex->unlock(this->mutex);
	return status;
}

METHOD(kernel_ipsec_t, flush_sas, status_t,
	private_kernel_shardgate_ipsec_t *this)
{
	enumerator_t *e;
	sa_entry_t *sa;

	this->mutex->lock(this->mutex);
	e = this->sas->create_enumerator(this->sas);
	while (e->enumerate(e, NULL, &sa))
	{
		if (sa->state == SA_LIVE && named_by_policy(this, sa))
		{
			sa->dying = TRUE;
			continue;
		}
		if (sa->state != SA_LIVE || remove_sa(this, sa))
		{
			this->sas->remove_at(this->sas, e);
			sa_destroy(sa);
		}
	}
	e->destroy(e);
	this->mutex->unlock(this->mutex);
	return SUCCESS;
}

METHOD(kernel_ipsec_t, bypass_socket, bool,
	private_kernel_shardgate_ipsec_t *this, int fd, int family)
{
	/* IKE runs over the host's stack, which shardgate's policies never see */
	return TRUE;
}

METHOD(kernel_ipsec_t, enable_udp_decap, bool,
	private_kernel_shardgate_ipsec_t *this, int fd, int family, uint16_t port)
{
	/* shardgate takes ESP in UDP per SA (udp_encap, at the SA's address
	 * and port) and hands IKE behind the non-ESP marker to the slow path:
	 * charon's socket needs no decapsulation of its own */
	return TRUE;
}

/* What an earlier charon left in shardgate (it was killed, so it deleted
 * nothing) names SAs whose keys are gone with it: remove it before this
 * charon installs its own over the same selectors. */
static void
flush_leftovers(private_kernel_shardgate_ipsec_t *this)
{
	char *reply = NULL;
	uint64_t sp = 0, sa = 0, kept = 0;

	if (this->ctl->request(this->ctl, "flush origin " CLIENT_NAME, &reply) &&
		shardgate_ctl_u64(reply, "sp", &sp) && shardgate_ctl_u64(reply, "sa", &sa) &&
		shardgate_ctl_u64(reply, "kept", &kept) && (sp || sa || kept))
	{
		DBG1(DBG_KNL, "kernel-shardgate: removed what an earlier charon left in "
			 "shardgate: %llu policies, %llu SAs (%llu SAs kept: other clients' "
			 "policies name them)", (unsigned long long)sp,
			 (unsigned long long)sa, (unsigned long long)kept);
	}
	else if (reply && !strstr(reply, "\"ok\":true"))
	{
		char *err = shardgate_ctl_error(reply);

		DBG1(DBG_KNL, "kernel-shardgate: cannot remove an earlier charon's SAs: %s",
			 err);
		free(err);
	}
	free(reply);
}

/* Start after the gateway's existing events: they are not ours. */
static void
skip_old_events(private_kernel_shardgate_ipsec_t *this)
{
	char *reply = NULL, *at;
	uint64_t id;

	if (this->ev_ctl->request(this->ev_ctl, "events", &reply))
	{
		shardgate_ctl_u64(reply, "instance", &this->instance);
		for (at = strstr(reply, "{\"id\":"); at; at = strstr(at + 1, "{\"id\":"))
		{
			if (shardgate_ctl_u64(at, "id", &id))
			{
				this->last_event = max(this->last_event, id);
			}
		}
	}
	free(reply);
}

METHOD(kernel_ipsec_t, destroy, void,
	private_kernel_shardgate_ipsec_t *this)
{
	enumerator_t *e;
	sa_entry_t *sa;

	e = this->sas->create_enumerator(this->sas);
	while (e->enumerate(e, NULL, &sa))
	{
		sa_destroy(sa);
	}
	e->destroy(e);
	this->sas->destroy(this->sas);
	this->policies->destroy_function(this->policies, (void*)policy_destroy);
	this->ctl->destroy(this->ctl);
	this->ev_ctl->destroy(this->ev_ctl);
	this->mutex->destroy(this->mutex);
	free(this);
}

kernel_shardgate_ipsec_t *kernel_shardgate_ipsec_create()
{
	private_kernel_shardgate_ipsec_t *this;
	char path[108], *prefix, *sock;
	int timeout;

	prefix = lib->settings->get_str(lib->settings,
						"%s.plugins.kernel-shardgate.file_prefix", "rte", lib->ns);
	snprintf(path, sizeof(path), "/var/run/dpdk/%s/shardgate.sock", prefix);
	sock = lib->settings->get_str(lib->settings,
						"%s.plugins.kernel-shardgate.socket", path, lib->ns);
	timeout = lib->settings->get_int(lib->settings,
						"%s.plugins.kernel-shardgate.timeout_ms", 10000, lib->ns);

	INIT(this,
		.public = {
			.interface = {
				.get_features = _get_features,
				.get_spi = _get_spi,
				.get_cpi = _get_cpi,
				.add_sa = _add_sa,
				.update_sa = _update_sa,
				.query_sa = _query_sa,
				.del_sa = _del_sa,
				.flush_sas = _flush_sas,
				.bypass_socket = _bypass_socket,
				.enable_udp_decap = _enable_udp_decap,
				.destroy = _destroy,
			},
		},
		.ctl = shardgate_ctl_create(sock, timeout, CLIENT_NAME),
		.ev_ctl = shardgate_ctl_create(sock, timeout, CLIENT_NAME),
		.sas = hashtable_create((hashtable_hash_t)sa_hash,
								(hashtable_equals_t)sa_equals, 32),
		.policies = linked_list_create(),
		.mutex = mutex_create(MUTEX_TYPE_RECURSIVE),
		.events_ms = lib->settings->get_int(lib->settings,
						"%s.plugins.kernel-shardgate.events_ms", 500, lib->ns),
	);
	kernel_shardgate_policy_methods(this);
	DBG1(DBG_KNL, "kernel-shardgate: SAs and policies go to shardgate at %s",
		 sock);
	flush_leftovers(this);
	skip_old_events(this);
	lib->scheduler->schedule_job_ms(lib->scheduler, (job_t*)
			callback_job_create_with_prio((callback_job_cb_t)read_events, this,
								NULL, (callback_job_cancel_t)return_false,
								JOB_PRIO_CRITICAL), this->events_ms);
	return &this->public;
}
