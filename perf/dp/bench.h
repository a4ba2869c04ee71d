/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef BENCH_H
#define BENCH_H

/*
 * sg_bench_dp's pieces: gateway A's state built in-process (bench_setup.c),
 * the measured loops (bench_run.c) and the driver (bench_dp.c).
 */

#include <stdint.h>

#include <intel-ipsec-mb.h>
#include <rte_mbuf.h>

#include "sg_crypto.h"
#include "sg_dp.h"
#include "sg_shard.h"
#include "sg_pkt.h"
#include "sg_spd.h"


#define MAX_SIZES 8
#define MAX_REPS 64
#define FCS_LEN 4
#define FRAME_MAX 1518
#define IMIX_PERIOD 12
#define SPI_AB 0x10000u /* A -> B: gateway A's outbound SAs */
#define SPI_BA 0x20000u /* B -> A: gateway A's inbound SAs */
#define GW_A SG_IPV4(172, 16, 0, 1)
#define SITE_A SG_IPV4(10, 1, 0, 0)
#define PEER(i) (SG_IPV4(172, 20, 0, 0) + (uint32_t)(i) + 1)
#define SITE_B(i) (SG_IPV4(10, 128, 0, 0) + ((uint32_t)(i) << 8))
#define PORT_UNPROT 0
#define PORT_PROT 1
#define NB_MBUFS 8191
#define MBUF_CACHE 256

enum dir { DIR_IN, DIR_OUT, DIR_MAX };

enum comp { COMP_HASH, COMP_ACL, COMP_LPM, COMP_CRYPTO_SA, COMP_MAX };

struct opts {
	const char *sizes[MAX_SIZES];
	unsigned int nsizes;
	int dirs[DIR_MAX];
	uint16_t burst;
	uint32_t sessions;
	uint32_t packets;
	uint32_t bursts;
	unsigned int reps;
	int bound_only;
	uint32_t bound_offset;
	int esn_mix; /* ESN on about half of the outbound SAs */
	enum sg_cipher aead; /* every SA's and the bound's cipher (--aead, --cipher) */
	enum sg_auth auth;   /* and its integrity (--auth; SG_AUTH_AEAD with an AEAD) */
	const char *csv;
};

/* One measurement of the pipeline: cycles per packet. */
struct result {
	double bound;  /* crypto-only bound */
	double bound_direct; /* the same through the direct GCM API (one worker only, see run_bound_direct) */
	double total;  /* sg_dp_process_*: everything the data path does */
	double refill; /* the source: mbuf alloc + copy (a NIC's rx, a pcap replay) */
	double stage[SG_STAGE_MAX];
	double other;  /* total minus the stages: calls, array copies, frees */
	uint64_t drops;
	uint64_t tx;
	double comp[4]; /* isolated: SPI hash (in), ACL, LPM, lib crypto with the SAs' keys */
};

/* Frames of one size tag, ready to be copied into mbufs. */
struct frames {
	uint32_t n;
	uint16_t *len;
	uint8_t *data; /* n slots of FRAME_MAX + ESP overhead */
	uint32_t *crypto_len;
	uint32_t *session; /* session of frame k */
};
#define SLOT 1600

/* Gateway A's state and the peer that makes its inbound ESP (bench_setup.c). */
extern struct rte_mempool *pool;
extern struct sg_dp_ctx *ctx;
extern struct sg_shard *shard, *peer_shard;
extern struct sg_shard_dir *sdir;
extern struct sg_dp_lcore *lc, *peer_lc;
extern struct sg_spd *spd_in, *spd_out;
extern uint32_t *out_gidx, *peer_gidx, *in_idx;
extern volatile uint64_t sink;

uint64_t rnd(void);
uint16_t frame_size(const char *tag, uint32_t k);
int size_ok(const char *tag);
uint32_t crypto_len_of(uint16_t fs, const struct opts *o);
void make_frames(struct frames *f, const char *tag, enum dir d, const struct opts *o);
void free_frames(struct frames *f);
void setup(const struct opts *o);

void run_pipeline(enum dir d, const struct frames *f, const struct opts *o, struct result *r);
void run_components(enum dir d, const struct frames *f, const struct opts *o, uint8_t *buf,
		struct result *r);
double run_bound(enum dir d, const struct frames *f, const struct opts *o, IMB_MGR *mgr,
		const struct sg_crypto_key *key, uint8_t *buf);
double run_bound_direct(enum dir d, const struct frames *f, const struct opts *o, IMB_MGR *mgr,
		const struct sg_crypto_key *key, uint8_t *buf);

#endif /* BENCH_H */
