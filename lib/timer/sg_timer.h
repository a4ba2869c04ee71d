/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SG_TIMER_H
#define SG_TIMER_H

/**
 * @file
 * Vector deadline engine: one timer set per worker covers the indices
 * 0..capacity-1 of that worker's session (or SA) slots. Every index has up
 * to SG_TIMER_KIND_MAX deadlines (idle, soft, hard), in u32 ticks relative
 * to the set's epoch.
 *
 * Layout: three levels, each a lower bound of the next.
 * - sum[b]: one u32 per block of SG_TIMER_BLOCK indices, itself stored in
 *   blocks of 16 (one AVX-512 compare covers 256 indices); what the sweep
 *   streams through (0.25 byte per index, L2-resident at 1M indices).
 * - due[i]: per index, in 64-byte blocks of SG_TIMER_BLOCK u32; loaded only
 *   for blocks whose sum[] is due.
 * - dl[i * SG_TIMER_KIND_SLOTS + kind]: the exact deadline of each kind,
 *   16 bytes per index (never across a cache line); touched one index at a
 *   time, by arm on the packet path and when a sweep finds a candidate.
 *
 * Why one "earliest" level plus a kind table rather than one swept array
 * per kind: the sweep reads 1/3 of the bytes, and pushing a deadline later
 * (the idle re-arm done on every packet) is one store to dl[] that leaves
 * due[] and sum[] as stale, earlier lower bounds. When the sweep reaches a
 * stale bound it looks one level down, reports only the kinds really due
 * and stores the new bound (a "refresh": about once per idle period per
 * busy index, not once per packet). Moving a deadline earlier, or arming a
 * disarmed kind, lowers due[] and sum[] at once.
 *
 * Expiry is reported once: the sweep disarms (sets to SG_TIMER_NEVER) every
 * kind it reports. Re-arming or cancelling before the sweep reaches an
 * index is honoured, because the sweep reads the values at that moment.
 *
 * Time and re-basing. A worker calls sg_timer_tick() once per poll
 * iteration and uses the tick it returns for every arm and sweep until the
 * next call. Invariant: every armed deadline is below now +
 * SG_TIMER_HORIZON. When now reaches SG_TIMER_REBASE_AT, sg_timer_tick()
 * schedules a re-base by delta = now: the sweep subtracts delta from
 * sum[], due[] and dl[] block by block during its next full pass (within
 * its budget, so a 1M-index set never stalls the rx loop), and the next
 * sg_timer_tick() after that pass moves the epoch by delta. Deadlines keep
 * their absolute meaning: sg_timer_arm() and sg_timer_get() convert for
 * blocks already re-based. Past deadlines saturate to 0 (still expired).
 * Should a worker not sweep before now reaches SG_TIMER_REBASE_FORCE,
 * sg_timer_tick() finishes the re-base at once. With 1 ms ticks a re-base
 * starts every 24.8 days (2^31 ticks).
 *
 * Threads: a set belongs to one lcore; none of these functions may run
 * concurrently on the same set. Another lcore (telemetry) reading
 * sg_timer_get() or sg_timer_stats_get() may see a value one update old.
 */

#include <stdint.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_debug.h>

/** Deadlines per block: one 64-byte cache line of u32. */
#define SG_TIMER_BLOCK 16
/** A deadline that never expires: cancelled, fired or never armed. */
#define SG_TIMER_NEVER UINT32_MAX
/** Every armed deadline must be below now + SG_TIMER_HORIZON ticks. */
#define SG_TIMER_HORIZON (UINT32_C(1) << 30)
/** Ticks at which sg_timer_tick() schedules a budgeted re-base. */
#define SG_TIMER_REBASE_AT (UINT32_C(1) << 31)
/** Ticks at which sg_timer_tick() completes a pending re-base at once. */
#define SG_TIMER_REBASE_FORCE (SG_TIMER_REBASE_AT + (UINT32_C(1) << 29))
/** Largest capacity of one set (indices). */
#define SG_TIMER_CAPACITY_MAX (UINT32_C(1) << 24)
/** u32 slots per index in the kind table (SG_TIMER_KIND_MAX rounded up). */
#define SG_TIMER_KIND_SLOTS 4
/** Default tick length in microseconds. */
#define SG_TIMER_TICK_US_DEFAULT 1000
/** Default sweep budget in blocks per sg_timer_sweep() call. */
#define SG_TIMER_BUDGET_BLOCKS_DEFAULT 256

/** What a deadline stands for; a sweep reports them as a bit mask. */
enum sg_timer_kind {
	SG_TIMER_IDLE, /**< no traffic for the idle timeout: remove the session */
	SG_TIMER_SOFT, /**< soft lifetime (RFC 4301 §4.4.2.1): rekey needed */
	SG_TIMER_HARD, /**< hard lifetime: the SA stops passing traffic */
	SG_TIMER_KIND_MAX
};

/** Bit of @p kind in the masks sg_timer_sweep() returns. */
#define SG_TIMER_KIND_BIT(kind) (UINT8_C(1) << (kind))

/** Sweep implementation; all give identical results. */
enum sg_timer_impl {
	SG_TIMER_IMPL_AUTO,	     /**< best the CPU and EAL's SIMD limit allow */
	SG_TIMER_IMPL_SCALAR,	     /**< portable C */
	SG_TIMER_IMPL_AVX512,	     /**< compress into a register, then a full store */
	SG_TIMER_IMPL_AVX512_CSTORE, /**< masked compress-store to memory */
	SG_TIMER_IMPL_MAX
};

/** Parameters of sg_timer_create(); zero fields take the defaults. */
struct sg_timer_prm {
	uint32_t capacity; /**< indices 0..capacity-1; 1..SG_TIMER_CAPACITY_MAX */
	int socket_id;	   /**< NUMA socket of the owning lcore, or SOCKET_ID_ANY */
	uint32_t tick_us;  /**< tick length; 0: SG_TIMER_TICK_US_DEFAULT */
	/**
	 * Blocks a sweep call covers; 0: SG_TIMER_BUDGET_BLOCKS_DEFAULT. A block
	 * costs a sum[] lane; its 64 bytes of due[] are loaded only when due.
	 */
	uint32_t budget_blocks;
	uint64_t budget_cycles; /**< TSC cycles per sweep call (checked every 64 blocks); 0: none */
	uint64_t tsc_hz;	/**< 0: rte_get_tsc_hz(); tests set it to replay time */
	uint64_t start_tsc;	/**< TSC of tick 0; 0: rte_rdtsc() */
	enum sg_timer_impl impl; /**< SG_TIMER_IMPL_AUTO unless testing */
};

/** Counters of one set, for telemetry. */
struct sg_timer_stats {
	uint64_t passes;    /**< full sweeps completed */
	uint64_t blocks;    /**< blocks covered (compared through sum[]) */
	uint64_t expired;   /**< indices reported (one per index per sweep hit) */
	uint64_t refreshed; /**< stale due[] entries fixed without a report */
	uint64_t rebases;   /**< epoch re-bases completed */
};

struct sg_timer_ops;

/**
 * A timer set. The fields are private; they are visible only so that arm,
 * cancel and get can be inlined into the packet path.
 */
struct sg_timer {
	uint32_t *sum;	   /**< lower bound of due[] per block of SG_TIMER_BLOCK */
	uint32_t *due;	   /**< earliest-deadline lower bound per index, in blocks */
	uint32_t *dl;	   /**< dl[idx * SG_TIMER_KIND_SLOTS + kind] */
	uint32_t rb_delta; /**< re-base in progress: ticks to subtract; 0: none */
	uint32_t rb_blk;   /**< blocks [0, rb_blk) are already re-based */
	uint32_t capacity;
	uint32_t nblk;	 /**< blocks in due[] (capacity rounded up) */
	uint32_t cursor; /**< next block the sweep compares */
	uint32_t budget_blocks;
	uint64_t budget_cycles;
	const struct sg_timer_ops *ops;
	uint64_t epoch_tsc; /**< TSC of tick 0 */
	uint64_t cycles_per_tick;
	uint32_t now; /**< last value sg_timer_tick() returned */
	uint32_t tick_us;
	enum sg_timer_impl impl;
	int socket_id;
	struct sg_timer_stats stats;
} __rte_cache_aligned;

/**
 * Create a timer set with every deadline disarmed, all memory on
 * prm->socket_id.
 * @return the set, or NULL with rte_errno set: EINVAL for a bad parameter,
 *   ENOTSUP for an impl this CPU or the EAL SIMD limit rules out, ENOMEM.
 */
struct sg_timer *sg_timer_create(const struct sg_timer_prm *prm);

/** Free a set; NULL is a no-op. */
void sg_timer_free(struct sg_timer *t);

/**
 * Check whether @p impl can run here: the AVX-512 ones need the code built
 * in, AVX512F/BW/VL/DQ and rte_vect_get_max_simd_bitwidth() >= 512 (EAL's
 * --force-max-simd-bitwidth lowers it; the x86 default is 256).
 * @return 0 if usable, -ENOTSUP if not, -EINVAL for an unknown value.
 */
int sg_timer_impl_check(enum sg_timer_impl impl);

/** The impl SG_TIMER_IMPL_AUTO resolves to now. */
enum sg_timer_impl sg_timer_impl_best(void);

/** Stable name of an impl ("scalar", "avx512", ...). */
const char *sg_timer_impl_name(enum sg_timer_impl impl);

/**
 * Choose the sweep implementation of a set (AUTO re-reads the CPU flags
 * and the SIMD limit).
 * @return 0, or -ENOTSUP / -EINVAL as sg_timer_impl_check(); the set is
 *   unchanged on error.
 */
int sg_timer_set_impl(struct sg_timer *t, enum sg_timer_impl impl);

/** The impl a set runs (never AUTO). */
enum sg_timer_impl sg_timer_get_impl(const struct sg_timer *t);

/**
 * Current tick from a TSC reading (e.g. the one taken per burst); also
 * schedules or completes an epoch re-base. Call once per poll iteration,
 * before any arm or sweep of that iteration; the value stays valid for
 * them until the next call.
 */
uint32_t sg_timer_tick(struct sg_timer *t, uint64_t tsc);

/**
 * Convert a duration to ticks, rounded up (a deadline fires at most one
 * tick early) and capped at SG_TIMER_HORIZON - 1.
 */
uint32_t sg_timer_ms_to_ticks(const struct sg_timer *t, uint64_t ms);

/**
 * Compare up to the set's budget of blocks against @p now, resuming at the
 * block where the previous call stopped (wrapping at the end, at most one
 * full pass per call), and report the indices with at least one kind due.
 * Reported kinds are disarmed. Order: block order from the cursor, then
 * ascending index, whatever the impl.
 *
 * @param now
 *   the tick sg_timer_tick() returned in this poll iteration
 * @param idx
 *   out: expired indices (also used as scratch, so fully writable)
 * @param kinds
 *   out: kinds[i] is the SG_TIMER_KIND_BIT() mask due for idx[i]
 * @param n
 *   size of both arrays; at least SG_TIMER_BLOCK, else nothing is done. The
 *   call stops early when fewer than SG_TIMER_BLOCK entries are left.
 * @return number of entries written
 */
uint32_t sg_timer_sweep(
	struct sg_timer *t, uint32_t now, uint32_t *idx, uint8_t *kinds, uint32_t n);

/** Copy the counters of a set. @return 0, or -EINVAL for NULL arguments. */
int sg_timer_stats_get(const struct sg_timer *t, struct sg_timer_stats *st);

/* Internal: a deadline in the epoch of idx's block (a running re-base may have passed it). */
static inline uint32_t
sg_timer_block_epoch(const struct sg_timer *t, uint32_t idx, uint32_t deadline)
{
	if (likely(idx / SG_TIMER_BLOCK >= t->rb_blk) || deadline == SG_TIMER_NEVER)
		return deadline;
	return deadline > t->rb_delta ? deadline - t->rb_delta : 0;
}

/**
 * Arm or re-arm one kind of @p idx at tick @p deadline (now + timeout,
 * below now + SG_TIMER_HORIZON). Pushing an armed deadline later, the idle
 * re-arm on every packet, is a single store; only moving it earlier or
 * arming a disarmed kind also reads due[].
 */
static inline void
sg_timer_arm(struct sg_timer *t, uint32_t idx, enum sg_timer_kind kind, uint32_t deadline)
{
	uint32_t *slot = &t->dl[(size_t)idx * SG_TIMER_KIND_SLOTS + kind];
	uint32_t old;

	RTE_ASSERT(idx < t->capacity && (unsigned int)kind < SG_TIMER_KIND_MAX);
	deadline = sg_timer_block_epoch(t, idx, deadline);
	old = *slot;
	*slot = deadline;
	/* due[] and sum[] are lower bounds: only an earlier value can break them. */
	if (deadline < old && deadline < t->due[idx]) {
		t->due[idx] = deadline;
		if (deadline < t->sum[idx / SG_TIMER_BLOCK])
			t->sum[idx / SG_TIMER_BLOCK] = deadline;
	}
}

/** Disarm one kind of @p idx; a single store, the sweep fixes due[] and sum[] lazily. */
static inline void
sg_timer_cancel(struct sg_timer *t, uint32_t idx, enum sg_timer_kind kind)
{
	RTE_ASSERT(idx < t->capacity && (unsigned int)kind < SG_TIMER_KIND_MAX);
	t->dl[(size_t)idx * SG_TIMER_KIND_SLOTS + kind] = SG_TIMER_NEVER;
}

/** Disarm every kind of @p idx, e.g. when its session is removed. */
static inline void
sg_timer_clear(struct sg_timer *t, uint32_t idx)
{
	uint32_t *slot = &t->dl[(size_t)idx * SG_TIMER_KIND_SLOTS];
	unsigned int k;

	RTE_ASSERT(idx < t->capacity);
	for (k = 0; k < SG_TIMER_KIND_SLOTS; k++)
		slot[k] = SG_TIMER_NEVER;
	t->due[idx] = SG_TIMER_NEVER;
}

/**
 * Deadline of one kind of @p idx in ticks of the current epoch (what
 * sg_timer_tick() returns), SG_TIMER_NEVER when disarmed. Remaining time is
 * the difference to now, 0 if negative.
 */
static inline uint32_t
sg_timer_get(const struct sg_timer *t, uint32_t idx, enum sg_timer_kind kind)
{
	uint32_t d = t->dl[(size_t)idx * SG_TIMER_KIND_SLOTS + kind];

	RTE_ASSERT(idx < t->capacity && (unsigned int)kind < SG_TIMER_KIND_MAX);
	if (likely(idx / SG_TIMER_BLOCK >= t->rb_blk) || d == SG_TIMER_NEVER)
		return d;
	return d + t->rb_delta;
}

#endif /* SG_TIMER_H */
