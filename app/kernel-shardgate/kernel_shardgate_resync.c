/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * shardgate restarted under a running charon: the new run has none of the
 * SAs and policies charon installed, and charon does not notice (IKE still
 * passes through the slow path). The event reader sees the new run's
 * "instance" and calls resync(), which installs everything again from what
 * the plugin keeps: each live SA with its key and what is left of its
 * lifetimes, the rekeys still in their grace ("rekey in OLD NEW"), then the
 * policies with their priorities. Outbound SAs resume above every sequence
 * number their key used before (shardgate's --seq-state), so no AES-GCM
 * nonce repeats. Their counters go on from the last ones read.
 */
#include "kernel_shardgate_priv.h"

typedef enum {
	/* inbound SAs that are not the successor of a rekey in grace */
	PASS_INBOUND,
	/* successors: "rekey in OLD NEW", so they share the old one's tag */
	PASS_SUCCESSORS,
	PASS_OUTBOUND,
	PASS_DONE,
} pass_t;

static bool
in_pass(private_kernel_shardgate_ipsec_t *this, sa_entry_t *sa, pass_t pass)
{
	sa_entry_t *old;

	if (sa->state != SA_LIVE || sa->resynced == this->resyncs)
	{	/* pending: charon's policy switch installs it; replaced: gone */
		return FALSE;
	}
	old = sa->inbound ? rekeyed_from(this, sa) : NULL;
	switch (pass)
	{
		case PASS_INBOUND:
			return sa->inbound && !old;
		case PASS_SUCCESSORS:
			/* a chain of rekeys goes in its order */
			return old && old->resynced == this->resyncs;
		case PASS_OUTBOUND:
			return !sa->inbound;
		default:
			return FALSE;
	}
}

void
resync(private_kernel_shardgate_ipsec_t *this)
{
	enumerator_t *e;
	sa_entry_t *sa;
	policy_entry_t *p;
	u_int sas = 0, pols = 0, failed = 0, before;
	pass_t pass;
	bool ok;

	this->resyncs++;
	DBG1(DBG_KNL, "kernel-shardgate: shardgate restarted: installing charon's "
		 "SAs and policies again");
	for (pass = PASS_INBOUND; pass < PASS_DONE; pass++)
	{
		before = sas;
		e = this->sas->create_enumerator(this->sas);
		while (e->enumerate(e, NULL, &sa))
		{
			if (!in_pass(this, sa, pass))
			{
				continue;
			}
			/* the new run counts from 0: charon sees the sum */
			sa->bytes_base = sa->bytes;
			sa->packets_base = sa->packets;
			ok = pass == PASS_SUCCESSORS ?
				 install_rekey_in(this, rekeyed_from(this, sa), sa) :
				 install_sa(this, sa);
			sa->resynced = this->resyncs;
			if (ok)
			{
				sas++;
			}
			else
			{
				failed++;
			}
		}
		e->destroy(e);
		if (pass == PASS_SUCCESSORS && sas > before)
		{	/* their successors may follow now */
			pass--;
		}
	}
	e = this->policies->create_enumerator(this->policies);
	while (e->enumerate(e, &p))
	{
		if (policy_install(this, p))
		{
			pols++;
		}
		else
		{
			failed++;
		}
	}
	e->destroy(e);
	DBG1(DBG_KNL, "kernel-shardgate: %u SAs and %u policies installed again in "
		 "shardgate%s", sas, pols, failed ? ", some refused (see above)" : "");
}
