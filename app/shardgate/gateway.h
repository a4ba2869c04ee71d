/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef GATEWAY_H
#define GATEWAY_H

#include <stdint.h>

#include <intel-ipsec-mb.h>
#include <rte_mempool.h>

#include "args.h"
#include "sg_conf.h"
#include "sg_dp.h"
#include "sg_sa.h"
#include "sg_shard.h"
#include "sg_spd.h"

struct rte_hash;
struct gateway;
struct control;
struct slowpath;

/* Who made an SA or policy (sg_sa_prm.origin, sg_conf_sp.origin): the rule
 * file, a control client that gave no name, then the names clients give
 * with "client NAME" (kernel-shardgate gives its own). */
#define GATEWAY_ORIGIN_RULES 0
#define GATEWAY_ORIGIN_CONTROL 1
#define GATEWAY_ORIGINS 16
#define GATEWAY_ORIGIN_NAME 24

/* The name of origin @p o ("rules", "control", a client's), or "?". */
const char *gateway_origin_name(const struct gateway *gw, uint8_t o);

/* How long the control core waits for a worker to answer a command. */
#define GATEWAY_CALL_TIMEOUT_US 1000000

/* Everything the control core builds and tears down. */
struct gateway {
	struct args args;
	struct sg_conf conf;   /* the rule file; keys wiped once loaded */
	struct sg_dp_ctx *ctx;
	struct sg_shard *shards[SG_SHARD_MAX]; /* shard i belongs to workers[i] */
	struct sg_shard_dir *dir;
	struct rte_hash *peers; /* session (local, remote) -> owning worker */
	uint32_t *peer_sessions; /* sessions per worker, to spread new ones */
	struct sg_spd *spd_in;
	struct sg_spd *spd_out;
	/* Live policy set: the rule file's, then control requests'. */
	struct sg_conf_sp *sp;
	uint32_t nb_sp;
	uint32_t next_tag; /* inbound policy tags, never reused */
	struct control *control;
	char origin[GATEWAY_ORIGINS][GATEWAY_ORIGIN_NAME]; /* by number; "" unused */
	struct sg_event_log events; /* lifetimes and idle expiry, for telemetry */
	uint64_t steer_ports;   /* unprotected ports that take rte_flow ESP rules */
	struct rte_hash *flows; /* (port, SPI) -> struct rte_flow */
	IMB_MGR *ctl_mgr; /* key expansion on the control core */
	struct sg_seqstore *seq; /* outbound sequence numbers across restarts (seq.c) */
	char seq_path[256];
	uint16_t nb_workers;
	struct sg_dp_lcore *workers[SG_DP_WORKERS_MAX];
	uint16_t nb_ports;
	uint16_t ports[RTE_MAX_ETHPORTS];
	uint16_t nb_rxq[RTE_MAX_ETHPORTS];
	int port_node[RTE_MAX_ETHPORTS]; /* NUMA node per hwloc/sysfs; -1: unknown */
	struct rte_mempool *pool[RTE_MAX_NUMA_NODES];
	uint8_t ports_started;
	struct slowpath *slow; /* kernel interfaces of punt ports (slowpath.c) */
};

/* Check the rule file against the options, before EAL touches a device.
 * Fills defaults (-w, -e) into the SAs. Returns 0, or -1 with err set. */
int gateway_check_conf(struct gateway *gw, char *err, size_t errlen);

/* Fill what an SA line (or request) left unset from the command line: the
 * replay window (-w), ESN (-e), lifetimes (--lifetime-soft/-hard,
 * --idle-timeout). Returns 0, or -1 with err saying why the mix is invalid. */
int gateway_sa_defaults(const struct args *a, struct sg_sa_prm *p, char *err, size_t errlen);

/* Events from the workers: soft/hard expiry, idle (events.c). */
void gateway_poll_events(struct gateway *gw);

/* The data-path context, sized for the rule file's routes and set from
 * the options (ports.c). Returns 0, or -1 after logging why. */
int gateway_setup_ctx(struct gateway *gw);

/* Workers, queue map, NUMA checks, mempools and ports (ports.c). */
int gateway_setup_lcores(struct gateway *gw);
int gateway_setup_ports(struct gateway *gw);
void gateway_close_ports(struct gateway *gw);

/* Shards, SAs, SPDs, routes and neighbours from the rule file (rules.c). */
int gateway_setup_rules(struct gateway *gw);
void gateway_free_rules(struct gateway *gw);

/* Worker that owns the session between @p local and @p peer, or would own
 * it if it were made now (the least loaded). Changes nothing. */
int gateway_session_owner(const struct gateway *gw, uint32_t local, uint32_t peer);

/* Count one more SA in that session (making it, owned by @p w, if new). */
int gateway_session_bind(struct gateway *gw, uint32_t local, uint32_t peer, uint16_t w);

/* Count one SA less; the session ends with its last SA. */
void gateway_session_unbind(struct gateway *gw, uint32_t local, uint32_t peer);

/* Whether a protect policy names the SA with @p spi in @p dir. */
int gateway_policy_names(const struct gateway *gw, enum sg_sa_dir dir, uint32_t spi);

/* The SA with @p spi in @p dir: its global index, or SG_SA_NONE. */
uint32_t gateway_find_sa(const struct gateway *gw, enum sg_sa_dir dir, uint32_t spi);

/* Build both SPDs from gw->sp. Returns 0, or -1 with err set ("sp ...: why"). */
int gateway_build_spds(struct gateway *gw, struct sg_spd **in, struct sg_spd **out, char *err,
		size_t errlen);

/* Remove an SA safely (directory, barrier, owner drains, then deletes). */
int control_remove_sa(struct gateway *gw, enum sg_sa_dir dir, uint32_t spi, char *why,
		size_t whylen);

/* rte_flow steering of inbound SAs to their owner's queue (steer.c). */
int gateway_steer_init(struct gateway *gw);
void gateway_steer_add(struct gateway *gw, uint32_t spi, uint32_t tun_dst, uint16_t w);
void gateway_steer_del(struct gateway *gw, uint32_t spi);
void gateway_steer_fini(struct gateway *gw);

/* Outbound sequence numbers across restarts (seq.c). Open before EAL (a bad
 * file stops the start before any device is touched), index after. */
int gateway_seq_open(struct gateway *gw, int eal_argc, char **argv, char *err, size_t errlen);
int gateway_seq_index(struct gateway *gw);
/* Outbound @p p: reserve numbers above its key's earlier ones (fills
 * seq_start/limit/ask/slot). Durable only after gateway_seq_sync().
 * Inbound: nothing to do. Returns 0, or -errno with why set. */
int gateway_seq_claim(struct gateway *gw, struct sg_sa_prm *p, char *why, size_t whylen);
int gateway_seq_sync(struct gateway *gw, char *why, size_t whylen);
/* The SA that claimed @p p (or the outbound SA @p spi holding @p slot) is
 * gone; @p last: its last number. Inbound @p p: nothing to do. */
void gateway_seq_release(struct gateway *gw, const struct sg_sa_prm *p, uint64_t last);
void gateway_seq_release_slot(struct gateway *gw, uint32_t spi, uint32_t slot, uint64_t last);
/* A worker's SG_SHARD_EV_SEQ_LOW; answered by gateway_seq_flush(). */
void gateway_seq_ask(struct gateway *gw, uint16_t w, const struct sg_shard_event *ev);
void gateway_seq_flush(struct gateway *gw);
/* Workers stopped: release every outbound SA at its exact count; close. */
void gateway_seq_close(struct gateway *gw);
/* The slow path to the kernel (slowpath.c, slowpath_nl.c): punt lines checked
 * against -p/-u (0, or -1 with err set); taps, addresses, rings; moving frames
 * between rings and taps within the punt rate, learning neighbours and asking
 * the kernel to resolve the workers' missing ones, once per control tick. */
#define SLOWPATH_RING 512
int slowpath_check_conf(const struct gateway *gw, char *err, size_t errlen);
int slowpath_setup(struct gateway *gw);
void slowpath_poll(struct gateway *gw);
int slowpath_active(const struct gateway *gw);
void slowpath_fini(struct gateway *gw);
struct reply;
/* list neigh: what the kernel resolved on each tap, IPv4 and IPv6. */
void slowpath_list_neigh(struct gateway *gw, struct reply *r);

/* The control socket (control.c). */
int control_open(struct gateway *gw);
void control_poll(struct gateway *gw, int timeout_ms);
void control_close(struct gateway *gw);

#endif /* GATEWAY_H */
