/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef ARGS_H
#define ARGS_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ethdev.h>
#include <rte_lcore.h>

#include "sg_dp.h"

/* Sequence numbers each outbound SA reserves ahead in the state file. */
#define ARGS_SEQ_RESERVE_MIN 64
#define ARGS_SEQ_RESERVE_DEFAULT (1u << 22)

/* Most (port, queue, lcore) triples --config may give. */
#define ARGS_MAP_MAX 256
/* What an mbuf holds past a frame's IP MTU: its Ethernet header, and at the
 * tail ESP's padding, trailer and ICV (the outer headers go in headroom). */
#define ARGS_FRAME_SLACK (RTE_ETHER_HDR_LEN + 64)

struct args_map {
	uint16_t port;
	uint16_t queue;
	uint16_t lcore;
};

/* What the application options (after "--") say. */
struct args {
	uint64_t portmask;      /* -p */
	uint64_t unprot_mask;   /* -u */
	bool promisc;           /* -P */
	const char *conf_file;  /* -f */
	uint32_t replay_win;    /* -w; SG_CONF_UNSET when not given */
	bool esn;               /* -e */
	uint16_t nb_map;        /* --config */
	struct args_map map[ARGS_MAP_MAX];
	uint16_t burst;         /* --burst */
	uint16_t mtu;           /* --mtu */
	uint32_t icmp_rate;     /* --icmp-rate */
	uint32_t reasm_flows;   /* --reasm-flows */
	uint32_t reasm_timeout_ms; /* --reasm-timeout-ms */
	uint16_t nb_rxd;        /* --rxd */
	uint16_t nb_txd;        /* --txd */
	uint32_t nb_mbufs;      /* --nb-mbufs, -s; 0: computed */
	uint16_t frame_size;    /* -j: mbuf data room; 0: default */
	uint32_t poll_sleep_us; /* --poll-sleep-us */
	uint32_t handoff_ring;  /* --handoff-ring */
	uint32_t sa_capacity;   /* --max-sa */
	bool strict_numa;       /* --strict-numa */
	uint32_t soft_sec;      /* --lifetime-soft: default soft time limit */
	uint32_t hard_sec;      /* --lifetime-hard */
	uint32_t idle_sec;      /* --idle-timeout */
	const char *seq_state;  /* --seq-state; NULL: /var/lib/shardgate/<file-prefix>.seq */
	bool seq_init;          /* --seq-state-init */
	uint64_t seq_reserve;   /* --seq-reserve */
	uint32_t seq_max;       /* --seq-state-max; 0: the largest */
};

/*
 * Parse the application options. On error writes "option: reason" to @p err
 * and returns -1; returns 1 when --help or --version was handled.
 */
int args_parse(int argc, char **argv, struct args *a, char *err, size_t errlen);

/* Print the usage text for @p prog. */
void args_usage(const char *prog);

/* The mbuf data room: -j, or enough for a frame of --mtu (so that no frame
 * arrives in a chain), at least DPDK's default. */
static inline uint16_t
args_data_room(const struct args *a)
{
	uint32_t need = RTE_ALIGN_CEIL((uint32_t)a->mtu + ARGS_FRAME_SLACK, 1024u);

	if (a->frame_size != 0)
		return a->frame_size;
	return (uint16_t)RTE_MAX(need, (uint32_t)RTE_MBUF_DEFAULT_DATAROOM);
}

#endif /* ARGS_H */
