/* SPDX-License-Identifier: BSD-3-Clause */
/* sg_bench_dp: the measured loops (pipeline, isolated parts, crypto-only bound). */
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_lpm.h>
#include <rte_mbuf.h>
#include <rte_memcpy.h>

#include "sg_pkt.h"
#include "sg_sa.h"
#include "dp_priv.h"
#include "bench.h"

/* Fill @p mb with frames k0.. of @p f, as a NIC or pcap replay would hand them over. */
static inline void
refill(struct rte_mbuf *mb[], uint16_t n, const struct frames *f, uint32_t k0)
{
	uint16_t i;

	if (rte_pktmbuf_alloc_bulk(pool, mb, n) != 0)
		rte_exit(EXIT_FAILURE, "mbuf pool empty (leak?)\n");
	for (i = 0; i < n; i++) {
		uint32_t k = (k0 + i) % f->n;
		struct rte_mbuf *m = mb[i];

		rte_memcpy(rte_pktmbuf_mtod(m, void *), f->data + (size_t)k * SLOT, f->len[k]);
		m->data_len = f->len[k];
		m->pkt_len = f->len[k];
		m->port = 0;
	}
}

/* The pipeline on @p bursts bursts of frames from @p f. */
void
run_pipeline(enum dir d, const struct frames *f, const struct opts *o, struct result *r)
{
	struct rte_mbuf *mb[SG_DP_BURST_MAX];
	struct sg_dp_stats before = lc->stats;
	uint64_t t0, t1, t_proc = 0, t_fill = 0, pkts = 0;
	uint32_t b, k = 0;
	unsigned int s;

	for (b = 0; b < o->bursts; b++) {
		t0 = rte_rdtsc();
		refill(mb, o->burst, f, k);
		t1 = rte_rdtsc();
		if (d == DIR_IN)
			sg_dp_process_inbound(lc, mb, o->burst);
		else
			sg_dp_process_outbound(lc, mb, o->burst);
		t_proc += rte_rdtsc() - t1;
		t_fill += t1 - t0;
		k = (k + o->burst) % f->n;
		pkts += o->burst;
	}
	r->total = (double)t_proc / (double)pkts;
	r->refill = (double)t_fill / (double)pkts;
	r->other = r->total;
	for (s = 0; s < SG_STAGE_MAX; s++) {
		r->stage[s] = (double)(lc->stats.stage_cycles[s] - before.stage_cycles[s]) /
				(double)pkts;
		r->other -= r->stage[s];
	}
	r->drops = sg_dp_stats_drops(&lc->stats) - sg_dp_stats_drops(&before);
	r->tx = lc->stats.tx - before.tx;
}

/*
 * The pipeline's lookups and its crypto call, each alone on one burst's
 * worth of inputs at a time, to say where the stages' cycles go: the SPI
 * hash (inbound), the policy ACL, the route LPM, and lib/crypto's burst
 * with each packet's own SA key on hot buffers (against the bound's one
 * key: the cost of many keys and of the op plumbing).
 */
void
run_components(enum dir d, const struct frames *f, const struct opts *o, uint8_t *buf,
		struct result *r)
{
	struct sg_spd_key keys[SG_DP_BURST_MAX];
	const struct sg_spd_key *kp[SG_DP_BURST_MAX];
	struct sg_crypto_op ops[SG_DP_BURST_MAX];
	uint32_t spi_be[SG_DP_BURST_MAX], idx[SG_DP_BURST_MAX], dst[SG_DP_BURST_MAX];
	uint32_t hop[SG_DP_BURST_MAX], verdict[SG_DP_BURST_MAX];
	uint64_t t0, cyc[COMP_MAX] = {0}, pkts = 0;
	uint32_t b, k = 0, i;
	unsigned int c;

	for (b = 0; b < o->bursts; b++) {
		for (i = 0; i < o->burst; i++) {
			uint32_t j = (k + i) % f->n, sess = f->session[j], flow = j;
			const struct sg_sa *sa;

			spi_be[i] = rte_cpu_to_be_32(SPI_BA + sess);
			keys[i] = (struct sg_spd_key){.proto = SG_IPPROTO_UDP};
			if (d == DIR_IN) {
				keys[i].src = rte_cpu_to_be_32(SITE_B(sess) + 1 + flow % 254);
				keys[i].dst = rte_cpu_to_be_32(SITE_A + 1 + flow % 65000);
				keys[i].sport = rte_cpu_to_be_16(5001);
				keys[i].dport = rte_cpu_to_be_16((uint16_t)(1024 + flow % 60000));
				dst[i] = SITE_A + 1 + flow % 65000;
				sa = sg_sa_table_get(shard->sat, in_idx[sess]);
			} else {
				keys[i].src = rte_cpu_to_be_32(SITE_A + 1 + flow % 65000);
				keys[i].dst = rte_cpu_to_be_32(SITE_B(sess) + 1 + flow % 254);
				keys[i].sport = rte_cpu_to_be_16((uint16_t)(1024 + flow % 60000));
				keys[i].dport = rte_cpu_to_be_16(5001);
				dst[i] = PEER(sess);
				sa = sg_sa_table_get(shard->sat, sg_shard_local(out_gidx[sess]));
			}
			kp[i] = &keys[i];
			memset(&ops[i], 0, sizeof(ops[i]));
			ops[i].key = sa->key;
			/* behind room for the ESP header and the longest IV */
			ops[i].data = buf + (size_t)i * SLOT + SG_ESP_HDR_LEN + SG_CRYPTO_IV_MAX;
			ops[i].len = f->crypto_len[j];
			ops[i].icv = ops[i].data + ops[i].len;
			ops[i].aad_len = SG_ESP_AAD_LEN;
		}
		if (d == DIR_IN) {
			t0 = rte_rdtsc();
			sg_sa_table_lookup_in_bulk(shard->sat, spi_be, o->burst, idx);
			cyc[COMP_HASH] += rte_rdtsc() - t0;
			sink += idx[0];
		}
		t0 = rte_rdtsc();
		sg_spd_classify(d == DIR_IN ? spd_in : spd_out, kp, verdict, o->burst);
		cyc[COMP_ACL] += rte_rdtsc() - t0;
		t0 = rte_rdtsc();
		rte_lpm_lookup_bulk(ctx->lpm, dst, hop, o->burst);
		cyc[COMP_LPM] += rte_rdtsc() - t0;
		t0 = rte_rdtsc();
		if (d == DIR_IN)
			sg_crypto_decrypt_burst(lc->mgr, ops, o->burst);
		else
			sg_crypto_encrypt_burst(lc->mgr, ops, o->burst);
		cyc[COMP_CRYPTO_SA] += rte_rdtsc() - t0;
		sink += verdict[0] + hop[0];
		k = (k + o->burst) % f->n;
		pkts += o->burst;
	}
	for (c = 0; c < COMP_MAX; c++)
		r->comp[c] = (double)cyc[c] / (double)pkts;
}

/*
 * The crypto-only bound: the same AEAD lengths in the same order, the same
 * burst size and AAD length, through ipsec-mb's burst job API with NOCHECK
 * submission (as lib/crypto does), on one key and one burst of hot buffers.
 * The key's AEAD picks GCM or ChaCha20-Poly1305 jobs (one branch, the same
 * for every job of the run).
 */
/*
 * A bound job for AES-CBC + HMAC or AES-GMAC, as ipsec-mb alone would do
 * ESP: @p data is the ESP header, then IV and @p len bytes of payload. CBC
 * encrypts IV field and payload under a zero IV and hashes header to
 * payload (lib/crypto's IV construction, RFC 3602 with RFC 4868), or
 * hashes then decrypts; GMAC authenticates header to payload (RFC 4543).
 */
static void
bound_job_esp(IMB_JOB *job, const struct sg_crypto_key *key, uint8_t *data, uint32_t len,
		int enc, const uint8_t *nonce, uint8_t *tag)
{
	static const uint8_t zero_iv[16] __rte_aligned(16);
	uint32_t hdr = SG_ESP_HDR_LEN + key->iv_len;

	job->cipher_direction = enc ? IMB_DIR_ENCRYPT : IMB_DIR_DECRYPT;
	job->chain_order = enc ? IMB_ORDER_CIPHER_HASH : IMB_ORDER_HASH_CIPHER;
	job->key_len_in_bytes = key->key_len;
	job->src = data;
	job->hash_start_src_offset_in_bytes = 0;
	job->msg_len_to_hash_in_bytes = hdr + len;
	job->auth_tag_output = enc ? data + hdr + len : tag;
	job->auth_tag_output_len_in_bytes = key->icv_len;
	if (key->kind == SG_CRYPTO_KIND_CBC) {
		job->cipher_mode = IMB_CIPHER_CBC;
		job->enc_keys = key->cbc.enc;
		job->dec_keys = key->cbc.dec;
		job->iv = enc ? zero_iv : data + SG_ESP_HDR_LEN;
		job->iv_len_in_bytes = 16;
		job->dst = data + (enc ? SG_ESP_HDR_LEN : hdr);
		job->cipher_start_src_offset_in_bytes = enc ? SG_ESP_HDR_LEN : hdr;
		job->msg_len_to_cipher_in_bytes = enc ? key->iv_len + len : len;
		job->hash_alg = (IMB_HASH_ALG)key->hash;
		job->u.HMAC._hashed_auth_key_xor_ipad = key->cbc.ipad;
		job->u.HMAC._hashed_auth_key_xor_opad = key->cbc.opad;
	} else {
		job->cipher_mode = IMB_CIPHER_NULL;
		job->dst = data;
		job->cipher_start_src_offset_in_bytes = 0;
		job->msg_len_to_cipher_in_bytes = 0;
		job->iv = nonce;
		job->iv_len_in_bytes = SG_CRYPTO_NONCE_LEN;
		job->hash_alg = (IMB_HASH_ALG)(IMB_AUTH_AES_GMAC_128 +
				(key->cipher - SG_AEAD_AES128_GMAC));
		job->u.GMAC._key = &key->gcm;
		job->u.GMAC._iv = nonce;
		job->u.GMAC.iv_len_in_bytes = SG_CRYPTO_NONCE_LEN;
	}
}

double
run_bound(enum dir d, const struct frames *f, const struct opts *o, IMB_MGR *mgr,
		const struct sg_crypto_key *key, uint8_t *buf)
{
	IMB_JOB *jobs[SG_CRYPTO_BURST_MAX];
	uint8_t nonce[SG_CRYPTO_NONCE_LEN] = {0xca, 0xfe, 0xba, 0xbe, 1};
	uint8_t aad[SG_CRYPTO_AAD_MAX] = {0, 2, 0, 1, 0, 0, 0, 1};
	uint8_t tags[SG_CRYPTO_BURST_MAX][SG_CRYPTO_ICV_MAX];
	uint64_t t0, cyc = 0, ops = 0;
	uint32_t b, k = 0, i, got, done;
	int enc = d == DIR_OUT, cc = key->cipher == SG_AEAD_CHACHA20_POLY1305;

	for (b = 0; b < o->bursts; b++) {
		t0 = rte_rdtsc();
		got = IMB_GET_NEXT_BURST(mgr, o->burst, jobs);
		if (got < o->burst) {
			IMB_FLUSH_BURST(mgr, RTE_DIM(jobs), jobs);
			got = IMB_GET_NEXT_BURST(mgr, o->burst, jobs);
			if (got < o->burst)
				rte_exit(EXIT_FAILURE, "ipsec-mb: no free jobs\n");
		}
		for (i = 0; i < o->burst; i++) {
			IMB_JOB *job = jobs[i];
			uint8_t *data = buf + (size_t)i * SLOT + o->bound_offset;
			uint32_t len = f->crypto_len[(k + i) % f->n];

			if (key->kind == SG_CRYPTO_KIND_CBC || key->kind == SG_CRYPTO_KIND_GMAC) {
				bound_job_esp(job, key, data, len, enc, nonce, tags[i]);
				continue;
			}
			if (cc) {
				job->cipher_mode = IMB_CIPHER_CHACHA20_POLY1305;
				job->hash_alg = IMB_AUTH_CHACHA20_POLY1305;
				job->enc_keys = key->raw;
				job->dec_keys = key->raw;
				job->u.CHACHA20_POLY1305.aad = aad;
				job->u.CHACHA20_POLY1305.aad_len_in_bytes = SG_ESP_AAD_LEN;
				job->u.CHACHA20_POLY1305.ctx = NULL;
			} else {
				job->cipher_mode = IMB_CIPHER_GCM;
				job->hash_alg = IMB_AUTH_AES_GMAC;
				job->enc_keys = &key->gcm;
				job->dec_keys = &key->gcm;
				job->u.GCM.aad = aad;
				job->u.GCM.aad_len_in_bytes = SG_ESP_AAD_LEN;
			}
			job->cipher_direction = enc ? IMB_DIR_ENCRYPT : IMB_DIR_DECRYPT;
			job->chain_order = enc ? IMB_ORDER_CIPHER_HASH : IMB_ORDER_HASH_CIPHER;
			job->key_len_in_bytes = key->key_len;
			job->src = data;
			job->dst = data;
			job->cipher_start_src_offset_in_bytes = 0;
			job->msg_len_to_cipher_in_bytes = len;
			job->hash_start_src_offset_in_bytes = 0;
			job->msg_len_to_hash_in_bytes = len;
			job->iv = nonce;
			job->iv_len_in_bytes = SG_CRYPTO_NONCE_LEN;
			job->auth_tag_output = enc ? data + len : tags[i];
			job->auth_tag_output_len_in_bytes = SG_CRYPTO_TAG_LEN;
		}
		done = IMB_SUBMIT_BURST_NOCHECK(mgr, o->burst, jobs);
		if (done < o->burst)
			done += IMB_FLUSH_BURST(mgr, o->burst - done, jobs + done);
		cyc += rte_rdtsc() - t0;
		for (i = 0; i < done; i++)
			if (jobs[i]->status != IMB_STATUS_COMPLETED)
				rte_exit(EXIT_FAILURE, "ipsec-mb job failed\n");
		ops += done;
		k = (k + o->burst) % f->n;
	}
	sink += tags[0][0];
	return (double)cyc / (double)ops;
}

/*
 * The bound as the issue states it: ipsec-mb's direct GCM API
 * (IMB_AES128_GCM_ENC/DEC), one call per buffer, same lengths and AAD, one
 * key, hot buffers. On one core it is cheaper per op than the burst job
 * API (no job to fill, no dispatch). lib/crypto does not use it: in
 * ipsec-mb 1.3 every direct call stores to a process-global error variable
 * (not thread-local), so with two or more workers that cache line moves
 * between cores on every call (measured here: 62 -> 147 cycles per 110-byte
 * op with two threads). Reported next to the burst bound for comparison.
 */
double
run_bound_direct(enum dir d, const struct frames *f, const struct opts *o, IMB_MGR *mgr,
		const struct sg_crypto_key *key, uint8_t *buf)
{
	uint8_t nonce[SG_CRYPTO_NONCE_LEN] = {0xca, 0xfe, 0xba, 0xbe, 1};
	uint8_t aad[SG_ESP_AAD_LEN] = {0, 2, 0, 1, 0, 0, 0, 1};
	uint8_t tags[SG_CRYPTO_BURST_MAX][SG_CRYPTO_TAG_LEN];
	struct gcm_context_data gctx;
	uint64_t t0, cyc = 0, ops = 0;
	uint32_t b, k = 0, i;

	for (b = 0; b < o->bursts; b++) {
		t0 = rte_rdtsc();
		for (i = 0; i < o->burst; i++) {
			uint8_t *data = buf + (size_t)i * SLOT + o->bound_offset;
			uint32_t len = f->crypto_len[(k + i) % f->n];

			if (d == DIR_OUT)
				IMB_AES128_GCM_ENC(mgr, &key->gcm, &gctx, data, data, len, nonce, aad,
						sizeof(aad), data + len, SG_CRYPTO_TAG_LEN);
			else
				IMB_AES128_GCM_DEC(mgr, &key->gcm, &gctx, data, data, len, nonce, aad,
						sizeof(aad), tags[i], SG_CRYPTO_TAG_LEN);
		}
		cyc += rte_rdtsc() - t0;
		ops += o->burst;
		k = (k + o->burst) % f->n;
	}
	if (imb_get_errno(mgr) != 0)
		rte_exit(EXIT_FAILURE, "ipsec-mb direct API: %s\n", imb_get_strerror(imb_get_errno(mgr)));
	sink += tags[0][0];
	return (double)cyc / (double)ops;
}
