/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The sa suite's anti-replay part: RFC 4303 windows in numbered steps, ESN
 * inference (RFC 4303 A2.2) and a randomized cross-check against a plain
 * reference window.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <rte_common.h>

#include "sg_sa.h"
#include "test_sa.h"

enum { OK = 0, REJ = -1 };

/* ------------------------------------------------------------------------ */
/* Anti-replay window: numbered steps (after WireGuard selftest/counter.c). */

struct replay_run {
	struct sg_replay *rw;
	uint32_t win;
	unsigned int step, failed;
};

static struct sg_replay *
replay_alloc(uint32_t win)
{
	struct sg_replay *rw = malloc(sg_replay_size(win));

	CU_ASSERT_PTR_NOT_NULL_FATAL(rw);
	memset(rw, 0xff, sg_replay_size(win)); /* init must clear it all */
	sg_replay_init(rw, win);
	return rw;
}

/* One step: check, then update, must both give want; check must not write. */
static void
replay_step(struct replay_run *r, uint64_t seq, int want, int line)
{
	uint64_t top = r->rw->top;
	int chk, upd;

	r->step++;
	chk = sg_replay_check(r->rw, seq);
	if (r->rw->top != top)
		chk = 99;
	upd = sg_replay_update(r->rw, seq);
	if (chk != want || upd != want) {
		printf("\n  win %u step %u (line %d): seq %" PRIu64 " check %d update %d, want %d",
				r->win, r->step, line, seq, chk, upd, want);
		r->failed++;
	}
}

/* Every number in [lo, hi] gives want (one numbered step). */
static void
replay_scan(struct replay_run *r, uint64_t lo, uint64_t hi, int want, int line)
{
	uint64_t s;
	unsigned int bad = 0;

	r->step++;
	for (s = lo; s <= hi; s++)
		bad += sg_replay_check(r->rw, s) != want;
	if (bad != 0) {
		printf("\n  win %u step %u (line %d): %u of [%" PRIu64 ", %" PRIu64 "] not %d",
				r->win, r->step, line, bad, lo, hi, want);
		r->failed++;
	}
}

#define T(seq, want) replay_step(&r, (seq), (want), __LINE__)
#define S(lo, hi, want) replay_scan(&r, (lo), (hi), (want), __LINE__)
/* Accept every number in [lo, hi] not yet seen: a full window. */
#define FILL(lo, hi) for (uint64_t s_ = (lo); s_ <= (hi); s_++) sg_replay_update(r.rw, s_)
#define RESET() sg_replay_init(r.rw, W)

/* A jump of d from a full window: every new number inside must pass, every
 * old number still inside must not. Stale bits would show here. */
static void
replay_jump(struct replay_run *rr, uint64_t d, int line)
{
	struct replay_run r = *rr;
	const uint64_t W = r.win;
	uint64_t top = r.rw->top, nt = top + d;

	FILL(top - W + 1, top);
	replay_step(&r, nt, OK, line);
	if (d < W)
		replay_scan(&r, nt - W + 1, top, REJ, line);
	replay_scan(&r, RTE_MAX(top + 1, nt - W + 1), nt - 1, OK, line);
	replay_scan(&r, nt - W - 64, nt - W, REJ, line);
	*rr = r;
}

#define J(d) replay_jump(&r, (d), __LINE__)

static void
replay_table(uint32_t win)
{
	struct replay_run r = {.rw = replay_alloc(win), .win = win};
	const uint64_t W = win, B = ((uint64_t)r.rw->bucket_mask + 1) * SG_REPLAY_BUCKET_BITS;
	const uint64_t jumps[] = {
		1, 63, 64, 65, W - 1, W, W + 1, W + 64, B - 64, B - 1, B, B + 1, 2 * B + 7,
		UINT64_C(1) << 33,
	};
	unsigned int i;
	uint64_t t;

	CU_ASSERT(B >= W + SG_REPLAY_BUCKET_BITS);

	/* Start: nothing seen; the left edge is top - W + 1. */
	T(0, REJ);             /* 0 is never sent (RFC 4303 §3.3.3) */
	T(1, OK);              /* first packet */
	T(1, REJ);             /* duplicate */
	T(9, OK);              /* gap ahead */
	T(8, OK);              /* back, inside */
	T(7, OK);
	T(7, REJ);
	T(W, OK);              /* top = W, window [1, W] */
	T(1, REJ);             /* left edge, seen */
	T(2, OK);              /* inside, unseen */
	T(W + 1, OK);          /* window [2, W + 1] */
	T(1, REJ);             /* just outside the left edge */
	T(2, REJ);             /* left edge, seen */
	T(3, OK);              /* just inside the left edge */
	T(W + 1, REJ);         /* exactly at top */
	T(W, REJ);
	T(W - 1, OK);
	T(W + 2, OK);          /* window [3, W + 2] */
	T(2, REJ);             /* just outside */
	T(3, REJ);             /* left edge, seen */
	T(4, OK);
	T(0, REJ);

	/* Bucket boundaries: 63 | 64 and 127 | 128 sit in different buckets. */
	RESET();
	T(63, OK);
	T(64, OK);             /* slides into bucket 1 */
	T(65, OK);
	T(63, REJ);
	T(64, REJ);
	T(65, REJ);
	T(62, OK);
	T(127, OK);
	T(128, OK);            /* slides into bucket 2 */
	T(129, OK);
	T(126, OK);
	T(127, REJ);
	T(128, REJ);
	T(66, OK);             /* 66 + W > 129 for every W >= 64 */
	T(64, REJ);
	S(67, 125, OK);        /* the rest of buckets 1 and 2, never seen */
	S(62, 66, REJ);

	/* Jumps of exactly the window. */
	RESET();
	T(1, OK);
	T(1 + W, OK);          /* window [2, W + 1] */
	T(1, REJ);             /* just left out */
	T(2, OK);              /* new left edge */
	T(1 + 2 * W, OK);      /* window [W + 2, 2W + 1] */
	T(1 + W, REJ);         /* just outside, and seen */
	T(2 + W, OK);          /* left edge */
	T(2, REJ);
	/* Jump of more than the window. */
	T(3 * W + 2, OK);      /* window [2W + 3, 3W + 2] */
	T(2 * W + 2, REJ);
	T(2 * W + 3, OK);
	T(2 * W + 1, REJ);     /* old top, now outside */
	/* Jump of exactly the bitmap: every bucket is cleared (RFC 6479 §2). */
	t = 3 * W + 2;
	FILL(t - W + 1, t);
	T(t + B, OK);
	S(t + B - W + 1, t + B - 1, OK);
	T(t + B - W, REJ);
	/* Going back after a huge jump. */
	t = UINT64_C(1) << 40;
	T(t, OK);
	T(t - W + 1, OK);      /* left edge */
	T(t - W, REJ);         /* just outside */
	T(t - 1, OK);
	T(t - 1, REJ);
	T(t, REJ);             /* exactly at top */
	T(t + 1, OK);
	T(t - W + 1, REJ);     /* seen, and now outside */
	T(t - W + 2, OK);      /* new left edge */
	T(0, REJ);

	/* From a full window, jumps that slide 0, 1, some or all buckets. */
	RESET();
	T(10 * B, OK);
	for (i = 0; i < RTE_DIM(jumps); i++)
		J(jumps[i]);

	CU_ASSERT_EQUAL(r.failed, 0);
	free(r.rw);
}

void
test_replay_windows(void)
{
	replay_table(64);
	replay_table(1024);
	replay_table(4096);
}

void
test_replay_size(void)
{
	static const struct {
		uint32_t win, buckets;
	} v[] = {
		{0, 2}, {1, 2}, {63, 2}, {64, 2}, {65, 4}, {128, 4}, {129, 4}, {192, 4},
		{193, 8}, {1024, 32}, {4096, 128}, {SG_REPLAY_WIN_MAX, 2048},
	};
	struct sg_replay *rw;
	uint32_t i, b;

	for (i = 0; i < RTE_DIM(v); i++) {
		CU_ASSERT_EQUAL(sg_replay_size(v[i].win),
				sizeof(struct sg_replay) + v[i].buckets * sizeof(uint64_t));
		rw = replay_alloc(v[i].win);
		CU_ASSERT_EQUAL(rw->bucket_mask, v[i].buckets - 1);
		CU_ASSERT(rw->win == v[i].win && rw->top == 0);
		for (b = 0; b < v[i].buckets; b++)
			CU_ASSERT_EQUAL(rw->bmp[b], 0);
		free(rw);
	}
	/* In general: a power of two, at least 2, holding win + 64 bits. */
	for (i = 0; i <= 5000; i++) {
		b = (uint32_t)((sg_replay_size(i) - sizeof(struct sg_replay)) / sizeof(uint64_t));
		CU_ASSERT(b >= 2 && rte_is_power_of_2(b) && b * UINT64_C(64) >= i + UINT64_C(64));
		CU_ASSERT(b == 2 || b / 2 * UINT64_C(64) < i + UINT64_C(64)); /* no bigger */
	}
}

/* ------------------------------------------------------------------------ */
/* ESN: high-order bits inferred from the window (RFC 4303 Appendix A2.2).   */

#define SUB (UINT64_C(1) << 32)

void
test_esn_infer(void)
{
	static const struct {
		uint64_t top;
		uint32_t win, lo;
		uint64_t want;
	} v[] = {
		/* Nothing seen yet: subspace 0, never "before" it. */
		{0, 64, 1, 1},
		{0, 64, 0xfffffff0, 0xfffffff0},
		/* Case A: the window [937, 1000] lies in one subspace. */
		{1000, 64, 1000, 1000},
		{1000, 64, 937, 937},                 /* left edge */
		{1000, 64, 5000, 5000},               /* ahead */
		{1000, 64, 936, SUB + 936},           /* left of it: next subspace */
		{5 * SUB + 1023, 1024, 0, 5 * SUB},   /* Tl = W - 1: still case A */
		/* Case A just below 2^32: small numbers have wrapped. */
		{SUB - 10, 64, 5, SUB + 5},
		{SUB - 10, 64, 0, SUB},
		{SUB - 10, 64, 0xffffffff, SUB - 1},
		{SUB - 10, 64, 0xffffffb7, SUB - 73}, /* left edge */
		{SUB - 10, 4096, 7, SUB + 7},
		/* Case B just above 2^32: the window spans both subspaces. */
		{SUB + 5, 64, 0xfffffff0, SUB - 16},  /* previous subspace */
		{SUB + 5, 64, 0xffffffc6, SUB - 58},  /* left edge */
		{SUB + 5, 64, 0xffffffc5, 2 * SUB - 59}, /* left of it: ahead */
		{SUB + 5, 64, 3, SUB + 3},
		{SUB + 5, 1024, 0xfffffc06, SUB - 1018},
		{3 * SUB + 1, 4096, 0xfffff002, 3 * SUB - 4094}, /* left edge */
		{3 * SUB + 1, 4096, 0xfffff001, 4 * SUB - 4095},
	};
	uint64_t got;
	uint32_t i;

	for (i = 0; i < RTE_DIM(v); i++) {
		/* Inference reads only top and win. */
		struct sg_replay rw = {.top = v[i].top, .win = v[i].win};

		got = sg_replay_esn_infer(&rw, v[i].lo);
		CU_ASSERT_EQUAL(got, v[i].want);
		if (got != v[i].want)
			printf("\n  esn %u: top %#" PRIx64 " lo %#x: got %#" PRIx64, i, v[i].top,
					v[i].lo, got);
	}
}

/* Packets cross 2^32 out of order: infer, then check + update. */
void
test_esn_wrap(void)
{
	static const struct {
		uint32_t lo;
		uint64_t seq; /* inferred */
		int want;     /* check + update */
	} v[] = {
		{0xfffffffd, SUB - 3, OK},
		{0xfffffffe, SUB - 2, OK},
		{2, SUB + 2, OK},              /* wrapped: top = 2^32 + 2 */
		{0xfffffffd, SUB - 3, REJ},    /* case B: previous subspace, seen */
		{0xffffffff, SUB - 1, OK},     /* previous subspace, unseen */
		{0, SUB, OK},                  /* 2^32: low half 0 is valid with ESN */
		{0, SUB, REJ},
		{1, SUB + 1, OK},
		{0xffffffc3, SUB - 61, OK},    /* left edge, W = 64 */
		{0xffffffc3, SUB - 61, REJ},
		{70, SUB + 70, OK},            /* back to case A */
		{0xfffffffe, 2 * SUB - 2, OK}, /* case A: all is subspace 1 or ahead */
		{0xffffffff, 2 * SUB - 1, OK},
		{5, 2 * SUB + 5, OK},          /* second wrap */
		{0xffffffff, 2 * SUB - 1, REJ},
		{0xfffffffe, 2 * SUB - 2, REJ},
		{0xfffffffc, 2 * SUB - 4, OK},
	};
	struct replay_run r = {.rw = replay_alloc(64), .win = 64};
	uint64_t seq;
	uint32_t i;

	for (i = 0; i < RTE_DIM(v); i++) {
		seq = sg_replay_esn_infer(r.rw, v[i].lo);
		CU_ASSERT_EQUAL(seq, v[i].seq);
		T(seq, v[i].want);
	}
	CU_ASSERT_EQUAL(r.failed, 0);
	free(r.rw);
}

/* ------------------------------------------------------------------------ */
/* Cross-check against a reference that remembers every number it saw.      */

#define REF_BITS (UINT64_C(1) << 26)
#define REF_BITS_ESN (UINT64_C(1) << 19) /* small, to cross 2^32 again and again */

struct ref {
	uint64_t base; /* seen[] covers [base, base + REF_BITS) */
	uint64_t top;
	uint32_t win;
	uint8_t *seen;
};

/* RFC 4303 §3.4.3 stated plainly: 0, left of the window, or seen: reject. */
static int
ref_accept(struct ref *m, uint64_t seq)
{
	uint64_t i = seq - m->base;

	if (seq == 0 || seq + m->win <= m->top)
		return REJ;
	if (m->seen[i / 8] & (1 << (i % 8)))
		return REJ;
	m->seen[i / 8] |= (uint8_t)(1 << (i % 8));
	m->top = RTE_MAX(m->top, seq);
	return OK;
}

static uint64_t
rnd64(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Next sequence number: mostly near the top, sometimes far off. */
static uint64_t
next_seq(uint64_t *s, const struct ref *m, uint64_t bits, const uint64_t *recent)
{
	const uint64_t W = m->win, top = m->top;
	const uint64_t special[] = {
		0, 1, 63, 64, 65, W - 1, W, W + 1, W + 64, bits - 64, bits, bits + 1, 2 * bits + 3,
	};
	uint64_t r = rnd64(s), x = rnd64(s), back;

	switch (r % 20) {
	case 0: case 1: case 2: case 3: case 4: case 5: case 6:
		return top + 1 + x % 3;
	case 7: case 8: case 9: case 10:
		back = x % (W + W / 2 + 2); /* around the left edge */
		return top > back ? top - back : 1;
	case 11:
		return top + special[x % RTE_DIM(special)];
	case 12:
		back = special[x % RTE_DIM(special)];
		return top > back ? top - back : 1;
	case 13: case 14:
		back = x % (3 * W + 1);
		return (top > back ? top - back : 1) + x % (2 * W + 1);
	case 15:
		return top + x % (4 * bits);
	default:
		return recent[x % 16];
	}
}

/*
 * n random steps for window win. With esn, numbers start below 2^32 and
 * only the low half is "sent"; inference must give back the number wherever
 * RFC 4303 A2.2 says it can (from the left edge to 2^32 - 1 beyond it).
 * Both models restart when the reference runs out of room.
 */
static void
replay_cross(uint32_t win, unsigned int n, uint64_t seed, int esn)
{
	struct sg_replay *rw = replay_alloc(win);
	uint64_t bits = ((uint64_t)rw->bucket_mask + 1) * SG_REPLAY_BUCKET_BITS;
	const uint64_t span = esn ? REF_BITS_ESN : REF_BITS, lim = span - 8 * bits - 16 * win;
	struct ref m = {.win = win, .base = esn ? SUB - span / 2 : 0};
	unsigned int i, bad = 0, wraps = 0, accepted = 0;
	uint64_t recent[16] = {0}, seq;
	int want, chk, upd;

	m.seen = calloc(REF_BITS / 8, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m.seen);
	m.top = m.base;
	rw->top = m.base;
	for (i = 0; i < n && bad < 10; i++) {
		if (m.top - m.base > lim) {
			memset(m.seen, 0, (m.top - m.base) / 8 + 1);
			sg_replay_init(rw, win);
			m.top = rw->top = m.base;
		}
		seq = next_seq(&seed, &m, bits, recent);
		if (seq < m.base || seq - m.base >= span)
			continue;
		if (esn) {
			uint64_t got = sg_replay_esn_infer(rw, (uint32_t)seq);
			int inferable = seq + win > rw->top && seq + win - rw->top <= SUB;

			bad += inferable && got != seq;
			if (!inferable)
				continue; /* a wrong guess: the ICV would fail */
		}
		wraps += seq >= SUB && m.top < SUB;
		want = ref_accept(&m, seq);
		chk = sg_replay_check(rw, seq);
		upd = sg_replay_update(rw, seq);
		if (chk != want || upd != want || rw->top != m.top) {
			printf("\n  cross win %u step %u: seq %" PRIu64 " top %" PRIu64
					" check %d update %d, want %d", win, i, seq, rw->top, chk,
					upd, want);
			bad++;
		}
		if (want == OK)
			recent[accepted++ % 16] = seq;
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT(accepted > n / 4);
	CU_ASSERT(!esn || wraps >= 5);
	free(m.seen);
	free(rw);
}

void
test_replay_cross(void)
{
	static const uint32_t wins[] = {64, 1024, 4096};
	static const uint32_t odd[] = {1, 32, 100, 1000, 4097, SG_REPLAY_WIN_MAX};
	unsigned int i;

	for (i = 0; i < RTE_DIM(wins); i++) {
		replay_cross(wins[i], 200000, 0x9e3779b97f4a7c15ULL + i, 0);
		replay_cross(wins[i], 200000, 0x165667b19e3779f9ULL + i, 1); /* ESN */
	}
	for (i = 0; i < RTE_DIM(odd); i++)
		replay_cross(odd[i], 50000, 0xc2b2ae3d27d4eb4fULL + i, 0);
}
