/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Outbound sequence numbers across restarts (the control core's half of
 * lib/sa's state file). Every outbound SA, from the rule file, the control
 * socket or a key manager, claims its key's entry before its first packet:
 * it starts above every number the key may have used in an earlier run and
 * runs up to a reservation made durable first. Workers ask for more at
 * half-way (SG_SHARD_EV_SEQ_LOW); the answer is persisted, then sent
 * (SG_SHARD_SA_SEQ). A gateway killed at any moment restarts above its
 * reservations, so no (key, sequence number) pair, and so no AES-GCM nonce,
 * goes out twice.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <rte_lcore.h>

#include "gateway.h"
#include "sg_common.h"

/* Where the state file lives unless --seq-state names one. */
#define SEQ_DIR "/var/lib/shardgate"
/* Workers' requests for more numbers, persisted together per control tick. */
#define SEQ_ASKS_MAX 256

struct seq_ask {
	uint16_t w;
	uint32_t idx;
	uint32_t slot;
	uint64_t seq;
};

static struct seq_ask asks[SEQ_ASKS_MAX];
static unsigned int nb_asks;
static int ask_failing; /* the last flush failed: said once until one works */

/* EAL's --file-prefix (default "rte"), so that two gateways on one machine
 * get two files. */
static const char *
file_prefix(int eal_argc, char **argv)
{
	const char *p = "rte";
	int i;

	for (i = 1; i < eal_argc; i++) {
		if (strcmp(argv[i], "--file-prefix") == 0 && i + 1 < eal_argc)
			p = argv[++i];
		else if (strncmp(argv[i], "--file-prefix=", 14) == 0)
			p = argv[i] + 14;
	}
	return p;
}

int
gateway_seq_open(struct gateway *gw, int eal_argc, char **argv, char *err, size_t errlen)
{
	const struct args *a = &gw->args;
	char path[256];
	const char *prefix;

	if (a->seq_state != NULL) {
		snprintf(path, sizeof(path), "%s", a->seq_state);
	} else {
		prefix = file_prefix(eal_argc, argv);
		if (strchr(prefix, '/') != NULL || strlen(prefix) > 200) {
			snprintf(err, errlen, "--file-prefix %s: not usable in a state file name; give"
					" --seq-state FILE", prefix);
			return -1;
		}
		if (mkdir(SEQ_DIR, 0700) != 0 && errno != EEXIST) {
			snprintf(err, errlen, "%s: %s (or give --seq-state FILE)", SEQ_DIR,
					strerror(errno));
			return -1;
		}
		snprintf(path, sizeof(path), SEQ_DIR "/%s.seq", prefix);
	}
	gw->seq = sg_seqstore_open(path, a->seq_max, a->seq_init ? SG_SEQSTORE_F_INIT : 0, err,
			errlen);
	if (gw->seq == NULL) {
		size_t n = strlen(err);

		if (!a->seq_init && (rte_errno == ENOENT || rte_errno == EBADMSG))
			snprintf(err + n, errlen - n, ". Refusing to start: an outbound SA could"
					" repeat the nonces of an earlier run. Rotate the static keys of"
					" outbound SAs, then start once with --seq-state-init");
		return -1;
	}
	snprintf(gw->seq_path, sizeof(gw->seq_path), "%s", path);
	return 0;
}

int
gateway_seq_index(struct gateway *gw)
{
	uint32_t live, n;
	int ret = sg_seqstore_index(gw->seq, (int)rte_socket_id());

	if (ret != 0) {
		SG_LOG(ERR, "%s: cannot index the state file: %s", gw->seq_path, strerror(-ret));
		return -1;
	}
	n = sg_seqstore_count(gw->seq, &live);
	SG_LOG(INFO, "sequence state %s: %u key(s) known; %" PRIu64 " numbers reserved ahead",
			gw->seq_path, n, gw->args.seq_reserve);
	return 0;
}

int
gateway_seq_claim(struct gateway *gw, struct sg_sa_prm *p, char *why, size_t whylen)
{
	uint8_t fp[SG_SEQSTORE_FP_LEN];
	uint64_t start, limit;
	uint32_t slot;
	int ret;

	if (p->dir != SG_SA_OUT)
		return 0;
	sg_seqstore_fingerprint(gw->seq, gw->ctl_mgr, p, fp);
	ret = sg_seqstore_claim(gw->seq, fp, gw->args.seq_reserve, &start, &limit, &slot);
	if (ret == -EBUSY) {
		snprintf(why, whylen, "sa out %u: another outbound SA uses the same key and salt;"
				" their nonces would repeat", p->spi);
		return ret;
	}
	if (ret == 0 && start >= sg_sa_prm_seq_max(p)) {
		sg_seqstore_release(gw->seq, slot, start);
		ret = -ERANGE;
		snprintf(why, whylen, "sa out %u: this key has used all its sequence numbers"
				" (%" PRIu64 ") in earlier runs: give it a new key", p->spi, start);
		return ret;
	}
	if (ret != 0) {
		snprintf(why, whylen, "sa out %u: %s: %s", p->spi, gw->seq_path,
				ret == -ENOSPC ? "full of keys in use (see --seq-state-max)" :
				strerror(-ret));
		return ret;
	}
	/* "esn N": start at N, unless the key already went past it. The
	 * reservation moves above N first, so what is on disk still covers
	 * every number this run may send. */
	if (ret == 0 && p->esn_start > start) {
		ret = sg_seqstore_extend(gw->seq, slot, p->esn_start, gw->args.seq_reserve, &limit);
		if (ret != 0) {
			sg_seqstore_release(gw->seq, slot, start);
			snprintf(why, whylen, "sa out %u: %s: %s", p->spi, gw->seq_path,
					strerror(-ret));
			return ret;
		}
		start = p->esn_start;
	}
	p->seq_start = start;
	p->seq_limit = limit;
	p->seq_ask = start + (limit - start) / 2;
	p->seq_slot = slot;
	if (start != 0)
		SG_LOG(INFO, "sa out %u: key known from an earlier run: resumes above %" PRIu64,
				p->spi, start);
	return 0;
}

int
gateway_seq_sync(struct gateway *gw, char *why, size_t whylen)
{
	int ret = sg_seqstore_sync(gw->seq);

	if (ret != 0)
		snprintf(why, whylen, "%s: cannot make it durable: %s", gw->seq_path,
				strerror(-ret));
	return ret;
}

void
gateway_seq_release_slot(struct gateway *gw, uint32_t spi, uint32_t slot, uint64_t last)
{
	int ret;

	if (gw->seq == NULL)
		return;
	ret = sg_seqstore_release(gw->seq, slot, last);
	if (ret != 0)
		SG_LOG(WARNING, "sa out %u: releasing its state entry: %s (its reservation stays)",
				spi, strerror(-ret));
}

void
gateway_seq_release(struct gateway *gw, const struct sg_sa_prm *p, uint64_t last)
{
	if (p->dir == SG_SA_OUT)
		gateway_seq_release_slot(gw, p->spi, p->seq_slot, last);
}

void
gateway_seq_ask(struct gateway *gw, uint16_t w, const struct sg_shard_event *ev)
{
	unsigned int i;

	/* A worker asks once per reservation; a repeat (a lost answer) merges. */
	for (i = 0; i < nb_asks; i++)
		if (asks[i].w == w && asks[i].idx == ev->idx && asks[i].slot == ev->slot)
			return;
	if (nb_asks == SEQ_ASKS_MAX)
		gateway_seq_flush(gw);
	if (nb_asks == SEQ_ASKS_MAX)
		return; /* still failing; the SA holds at its limit (seq_reserve drops) */
	asks[nb_asks++] = (struct seq_ask){.w = w, .idx = ev->idx, .slot = ev->slot,
		.seq = ev->seq};
}

/* Persist every pending request in one fdatasync, then answer them. A
 * failure leaves them pending: the SAs stop at their limits (dropped,
 * counted as seq_reserve) rather than send numbers the file does not hold. */
void
gateway_seq_flush(struct gateway *gw)
{
	uint64_t limit[SEQ_ASKS_MAX];
	uint8_t ok[SEQ_ASKS_MAX];
	unsigned int i, n = nb_asks;
	char why[320];
	int ret = 0;

	if (n == 0)
		return;
	for (i = 0; i < n; i++) {
		int r = sg_seqstore_extend(gw->seq, asks[i].slot, asks[i].seq, gw->args.seq_reserve,
				&limit[i]);

		/* -ENOENT: the SA went (or was rekeyed) since it asked. */
		ok[i] = r == 0;
		if (r != 0 && r != -ENOENT)
			ret = r;
	}
	if (ret == 0)
		ret = gateway_seq_sync(gw, why, sizeof(why));
	else
		snprintf(why, sizeof(why), "%s: cannot extend a reservation: %s", gw->seq_path,
				strerror(-ret));
	if (ret != 0) {
		if (!ask_failing)
			SG_LOG(ERR, "%s; outbound SAs stop at their reserved numbers until it works",
					why);
		ask_failing = 1;
		return;
	}
	if (ask_failing)
		SG_LOG(NOTICE, "%s: reservations are made durable again", gw->seq_path);
	ask_failing = 0;
	nb_asks = 0;
	for (i = 0; i < n; i++) {
		struct sg_shard_cmd *c;

		if (!ok[i])
			continue;
		c = sg_shard_cmd_alloc(SG_SHARD_SA_SEQ);
		if (c == NULL)
			continue; /* the SA stops at its limit; not a nonce at risk */
		c->idx = asks[i].idx;
		c->prm.seq_slot = asks[i].slot;
		c->prm.seq_limit = limit[i];
		c->prm.seq_ask = limit[i] - gw->args.seq_reserve / 2;
		ret = sg_shard_call(gw->shards[asks[i].w], c, GATEWAY_CALL_TIMEOUT_US);
		/* -ESTALE: rekeyed since; the new key has its own entry. */
		if (ret != -ETIMEDOUT)
			sg_shard_cmd_free(c);
	}
}

void
gateway_seq_close(struct gateway *gw)
{
	uint32_t i;
	uint16_t w;

	if (gw->seq == NULL)
		return;
	/* The workers have stopped: every outbound SA's count is exact now. */
	for (w = 0; w < gw->nb_workers; w++) {
		const struct sg_sa_table *t = gw->shards[w] != NULL ? gw->shards[w]->sat : NULL;

		for (i = 0; t != NULL && i < sg_sa_table_capacity(t); i++) {
			const struct sg_sa *sa = sg_sa_table_get(t, i);

			if (sa != NULL && sa->dir == SG_SA_OUT)
				gateway_seq_release_slot(gw, sg_sa_spi(sa), sa->seq_slot, sa->seq);
		}
	}
	sg_seqstore_close(gw->seq);
	gw->seq = NULL;
	nb_asks = 0;
}
