/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "sg_conf.h"
#include "sg_sa.h"
#include "sg_shard.h"

enum {
	OPT_CONFIG = 256,
	OPT_BURST,
	OPT_MTU,
	OPT_ICMP_RATE,
	OPT_REASM_FLOWS,
	OPT_REASM_TIMEOUT,
	OPT_RXD,
	OPT_TXD,
	OPT_NB_MBUFS,
	OPT_POLL_SLEEP,
	OPT_HANDOFF_RING,
	OPT_MAX_SA,
	OPT_STRICT_NUMA,
	OPT_SOFT,
	OPT_HARD,
	OPT_IDLE,
	OPT_SEQ_STATE,
	OPT_SEQ_INIT,
	OPT_SEQ_RESERVE,
	OPT_SEQ_MAX,
	OPT_HELP,
	OPT_VERSION,
	OPT_UNSUPPORTED,
};

static const struct option longopts[] = {
	{"config", required_argument, NULL, OPT_CONFIG},
	{"burst", required_argument, NULL, OPT_BURST},
	{"mtu", required_argument, NULL, OPT_MTU},
	{"icmp-rate", required_argument, NULL, OPT_ICMP_RATE},
	{"reasm-flows", required_argument, NULL, OPT_REASM_FLOWS},
	{"reasm-timeout-ms", required_argument, NULL, OPT_REASM_TIMEOUT},
	{"rxd", required_argument, NULL, OPT_RXD},
	{"txd", required_argument, NULL, OPT_TXD},
	{"nb-mbufs", required_argument, NULL, OPT_NB_MBUFS},
	{"poll-sleep-us", required_argument, NULL, OPT_POLL_SLEEP},
	{"handoff-ring", required_argument, NULL, OPT_HANDOFF_RING},
	{"max-sa", required_argument, NULL, OPT_MAX_SA},
	{"strict-numa", no_argument, NULL, OPT_STRICT_NUMA},
	{"lifetime-soft", required_argument, NULL, OPT_SOFT},
	{"lifetime-hard", required_argument, NULL, OPT_HARD},
	{"idle-timeout", required_argument, NULL, OPT_IDLE},
	{"seq-state", required_argument, NULL, OPT_SEQ_STATE},
	{"seq-state-init", no_argument, NULL, OPT_SEQ_INIT},
	{"seq-reserve", required_argument, NULL, OPT_SEQ_RESERVE},
	{"seq-state-max", required_argument, NULL, OPT_SEQ_MAX},
	{"help", no_argument, NULL, OPT_HELP},
	{"version", no_argument, NULL, OPT_VERSION},
	/* ipsec-secgw options shardgate does not implement: refused by name. */
	{"single-sa", required_argument, NULL, OPT_UNSUPPORTED},
	{"cryptodev_mask", required_argument, NULL, OPT_UNSUPPORTED},
	{"rxoffload", required_argument, NULL, OPT_UNSUPPORTED},
	{"txoffload", required_argument, NULL, OPT_UNSUPPORTED},
	{"reassemble", required_argument, NULL, OPT_UNSUPPORTED},
	{"frag-ttl", required_argument, NULL, OPT_UNSUPPORTED},
	{"event-mode", no_argument, NULL, OPT_UNSUPPORTED},
	{"transfer-mode", required_argument, NULL, OPT_UNSUPPORTED},
	{"schedule-type", required_argument, NULL, OPT_UNSUPPORTED},
	{"event-vector", no_argument, NULL, OPT_UNSUPPORTED},
	{"vector-size", required_argument, NULL, OPT_UNSUPPORTED},
	{"vector-tmo", required_argument, NULL, OPT_UNSUPPORTED},
	{"vector-pool-sz", required_argument, NULL, OPT_UNSUPPORTED},
	{"per-port-pool", no_argument, NULL, OPT_UNSUPPORTED},
	{"desc-nb", required_argument, NULL, OPT_UNSUPPORTED},
	{NULL, 0, NULL, 0},
};

void
args_usage(const char *prog)
{
	printf("Usage: %s [EAL options] -- -p PORTMASK -u UNPROTECTED_PORTMASK -f CONFIG_FILE\n"
	       "       [-P] [-w REPLAY_WINDOW] [-e] [--config (port,queue,lcore)[,...]]\n"
	       "       [--burst N] [--mtu N] [--icmp-rate N] [--rxd N] [--txd N] [--nb-mbufs N]\n"
	       "       [--reasm-flows N] [--reasm-timeout-ms N]\n"
	       "       [--poll-sleep-us N] [--handoff-ring N] [--max-sa N] [--strict-numa]\n"
	       "       [--lifetime-soft S] [--lifetime-hard S] [--idle-timeout S]\n"
	       "       [--seq-state FILE] [--seq-state-init] [--seq-reserve N]\n"
	       "       [--seq-state-max N]\n"
	       "\n"
	       "ipsec-secgw compatible options:\n"
	       "  -p PORTMASK        hex mask of the ports to use\n"
	       "  -u PORTMASK        hex mask of the unprotected ports (ESP arrives there);\n"
	       "                     the other ports of -p are protected (plaintext side)\n"
	       "  -P                 put every port in promiscuous mode\n"
	       "  -f FILE            rule file: sp, sa, rt, neigh (ipsec-secgw grammar), punt lines\n"
	       "  -w WINDOW          anti-replay window in packets, 0..%u; 0 turns the check\n"
	       "                     off (only for benchmarks replaying one capture).\n"
	       "                     Default %u (ipsec-secgw's default is 0: off)\n"
	       "  -e                 64-bit extended sequence numbers on every SA (RFC 4303)\n"
	       "  -s N               mbufs per NUMA node pool (same as --nb-mbufs)\n"
	       "  -j FRAMESIZE       mbuf data room in bytes (default %u, or what a frame of\n"
	       "                     --mtu needs: every frame fits one mbuf)\n"
	       "  -l, -a, -c N, -t N accepted for compatibility; they have no effect here\n"
	       "  --config LIST      (port,queue,lcore)[,(port,queue,lcore)...]: which worker\n"
	       "                     lcore polls which rx queue; default: queues are spread\n"
	       "                     over all worker lcores automatically\n"
	       "shardgate options:\n"
	       "  --burst N          rx burst size, 1..%u (default %u)\n"
	       "  --mtu N            IP MTU of every port (default 1500). A packet too big\n"
	       "                     once in ESP is fragmented after encryption, or, with DF\n"
	       "                     set, dropped with ICMP \"fragmentation needed\" to its sender\n"
	       "  --icmp-rate N      ICMP errors each worker may send per second, 0..1000000\n"
	       "                     (default %u; 0: none)\n"
	       "  --reasm-flows N    fragmented ESP packets each worker reassembles at once,\n"
	       "                     0..1048576 (default %u; 0: ESP fragments are dropped)\n"
	       "  --reasm-timeout-ms N  how long fragments wait for the rest, 1..60000\n"
	       "                     (default %u)\n"
	       "  --rxd N, --txd N   rx/tx descriptors per queue (default 1024)\n"
	       "  --nb-mbufs N       mbufs per NUMA node pool (default: sized from queues)\n"
	       "  --poll-sleep-us N  an idle worker sleeps N us between polls (default 0:\n"
	       "                     busy poll); for shared or small machines\n"
	       "  --handoff-ring N   slots of each worker-to-worker handoff ring (default 1024)\n"
	       "  --max-sa N         SAs each worker's shard holds, up to %u (default 65536)\n"
	       "  --strict-numa      refuse to start when a queue is polled from another node\n"
	       "  --lifetime-soft S  soft lifetime in seconds of SAs whose line sets none:\n"
	       "                     an event (rekey needed) on telemetry and the control socket\n"
	       "  --lifetime-hard S  hard lifetime in seconds: the SA stops and is removed\n"
	       "  --idle-timeout S   remove SAs that passed no traffic for S seconds\n"
	       "                     (sa lines: lifetime_soft_sec/_hard_sec/_soft_bytes/\n"
	       "                     _hard_bytes/_soft_packets/_hard_packets N, idle_timeout N)\n"
	       "  --seq-state FILE   where each outbound key's highest possibly-sent sequence\n"
	       "                     number is kept (fsync'd), so a restart never repeats an\n"
	       "                     AES-GCM nonce (default /var/lib/shardgate/<file-prefix>.seq).\n"
	       "                     A missing, truncated or corrupt file stops the start\n"
	       "  --seq-state-init   begin a new state file if it is missing or damaged: only\n"
	       "                     on a first start, or after rotating every static key\n"
	       "  --seq-reserve N    sequence numbers reserved ahead per outbound SA, %u..2^31\n"
	       "                     (default %u): at most this many are skipped by a crash;\n"
	       "                     one fdatasync per N packets of an SA\n"
	       "  --seq-state-max N  entries (keys) the state file may hold (default %u)\n"
	       "  --help, --version\n"
	       "\n"
	       "The EAL main lcore is the control core and never polls packets; every other\n"
	       "lcore is a worker. Telemetry: /shardgate/stats, /shardgate/lcores, /shardgate/sa,\n"
	       "/shardgate/events (dpdk-telemetry.py). Live changes: shardgatectl, over the\n"
	       "control socket shardgate.sock in the EAL runtime directory (mode 0600).\n",
		prog, SG_REPLAY_WIN_MAX, SG_REPLAY_WIN_DEFAULT, RTE_MBUF_DEFAULT_DATAROOM,
		SG_DP_BURST_MAX, SG_DP_BURST_DEFAULT, SG_DP_ICMP_RATE_DEFAULT,
		SG_DP_REASM_FLOWS_DEFAULT, SG_DP_REASM_TIMEOUT_MS_DEFAULT, SG_SHARD_SA_MAX,
		ARGS_SEQ_RESERVE_MIN, ARGS_SEQ_RESERVE_DEFAULT, SG_SEQSTORE_MAX_ENTRIES);
}

/* Whole-string unsigned parse in [lo, hi]. */
static int
parse_uint(const char *s, int base, uint64_t lo, uint64_t hi, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s == NULL || *s == '\0' || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

/* --config "(port,queue,lcore),(port,queue,lcore)" as in ipsec-secgw/l3fwd. */
static int
parse_config(const char *s, struct args *a, char *err, size_t errlen)
{
	const char *p = s;

	a->nb_map = 0;
	while (*p != '\0') {
		unsigned long v[3];
		char *end;
		int i;

		while (*p == ' ' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		if (*p != '(')
			goto bad;
		p++;
		for (i = 0; i < 3; i++) {
			while (*p == ' ')
				p++;
			if (*p < '0' || *p > '9')
				goto bad;
			errno = 0;
			v[i] = strtoul(p, &end, 10);
			if (errno != 0 || v[i] > UINT16_MAX)
				goto bad;
			p = end;
			while (*p == ' ')
				p++;
			if (*p != (i < 2 ? ',' : ')'))
				goto bad;
			p++;
		}
		if (a->nb_map == ARGS_MAP_MAX) {
			snprintf(err, errlen, "--config: more than %d entries", ARGS_MAP_MAX);
			return -1;
		}
		if (v[0] >= RTE_MAX_ETHPORTS || v[2] >= RTE_MAX_LCORE) {
			snprintf(err, errlen, "--config: (%lu,%lu,%lu): port or lcore out of range",
					v[0], v[1], v[2]);
			return -1;
		}
		a->map[a->nb_map].port = (uint16_t)v[0];
		a->map[a->nb_map].queue = (uint16_t)v[1];
		a->map[a->nb_map].lcore = (uint16_t)v[2];
		a->nb_map++;
	}
	if (a->nb_map == 0)
		goto bad;
	return 0;
bad:
	snprintf(err, errlen, "--config: expected (port,queue,lcore)[,...] near '%.20s'", p);
	return -1;
}

/* "-p" or "--burst", for messages. */
static const char *
opt_name(int opt, int idx)
{
	static char buf[48];

	if (opt < OPT_CONFIG)
		snprintf(buf, sizeof(buf), "-%c", opt);
	else
		snprintf(buf, sizeof(buf), "--%s", longopts[idx].name);
	return buf;
}

static void
args_defaults(struct args *a)
{
	memset(a, 0, sizeof(*a));
	a->replay_win = SG_CONF_UNSET;
	a->burst = SG_DP_BURST_DEFAULT;
	a->mtu = RTE_ETHER_MTU;
	a->icmp_rate = SG_DP_ICMP_RATE_DEFAULT;
	a->reasm_flows = SG_DP_REASM_FLOWS_DEFAULT;
	a->reasm_timeout_ms = SG_DP_REASM_TIMEOUT_MS_DEFAULT;
	a->nb_rxd = 1024;
	a->nb_txd = 1024;
	a->handoff_ring = 1024;
	a->sa_capacity = 65536;
	a->seq_reserve = ARGS_SEQ_RESERVE_DEFAULT;
}

int
args_parse(int argc, char **argv, struct args *a, char *err, size_t errlen)
{
	uint64_t v;
	int opt, idx = 0;

	args_defaults(a);
	/* 0, not 1: glibc then forgets where a previous parse stopped inside a
	 * group of short options ("-Pe"), which would point into that parse's
	 * argv (fuzz_args found it read freed memory on a second call) */
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":p:u:f:w:Pelac:t:j:s:", longopts, &idx)) != -1) {
		switch (opt) {
		case 'p':
			if (parse_uint(optarg, 16, 1, UINT64_MAX, &a->portmask) != 0)
				goto bad_value;
			break;
		case 'u':
			if (parse_uint(optarg, 16, 0, UINT64_MAX, &a->unprot_mask) != 0)
				goto bad_value;
			break;
		case 'P':
			a->promisc = true;
			break;
		case 'f':
			a->conf_file = optarg;
			break;
		case 'w':
			if (parse_uint(optarg, 10, 0, SG_REPLAY_WIN_MAX, &v) != 0) {
				snprintf(err, errlen, "-w %s: window must be 0..%u", optarg,
						SG_REPLAY_WIN_MAX);
				return -1;
			}
			a->replay_win = (uint32_t)v;
			break;
		case 'e':
			a->esn = true;
			break;
		case OPT_CONFIG:
			if (parse_config(optarg, a, err, errlen) != 0)
				return -1;
			break;
		case OPT_BURST:
			if (parse_uint(optarg, 10, 1, SG_DP_BURST_MAX, &v) != 0)
				goto bad_value;
			a->burst = (uint16_t)v;
			break;
		case OPT_MTU:
			if (parse_uint(optarg, 10, RTE_ETHER_MIN_MTU, 9000, &v) != 0)
				goto bad_value;
			a->mtu = (uint16_t)v;
			break;
		case OPT_RXD:
		case OPT_TXD:
			if (parse_uint(optarg, 10, 64, 32768, &v) != 0)
				goto bad_value;
			if (opt == OPT_RXD)
				a->nb_rxd = (uint16_t)v;
			else
				a->nb_txd = (uint16_t)v;
			break;
		case OPT_NB_MBUFS:
			if (parse_uint(optarg, 10, 1024, UINT32_MAX, &v) != 0)
				goto bad_value;
			a->nb_mbufs = (uint32_t)v;
			break;
		case OPT_ICMP_RATE:
			if (parse_uint(optarg, 10, 0, 1000000, &v) != 0)
				goto bad_value;
			a->icmp_rate = (uint32_t)v;
			break;
		case OPT_REASM_FLOWS:
			if (parse_uint(optarg, 10, 0, 1u << 20, &v) != 0)
				goto bad_value;
			a->reasm_flows = (uint32_t)v;
			break;
		case OPT_REASM_TIMEOUT:
			if (parse_uint(optarg, 10, 1, 60000, &v) != 0)
				goto bad_value;
			a->reasm_timeout_ms = (uint32_t)v;
			break;
		case OPT_POLL_SLEEP:
			if (parse_uint(optarg, 10, 0, 1000000, &v) != 0)
				goto bad_value;
			a->poll_sleep_us = (uint32_t)v;
			break;
		case OPT_HANDOFF_RING:
			if (parse_uint(optarg, 10, 64, 1u << 20, &v) != 0 || (v & (v - 1)) != 0) {
				snprintf(err, errlen, "--handoff-ring %s: a power of two, 64..%u",
						optarg, 1u << 20);
				return -1;
			}
			a->handoff_ring = (uint32_t)v;
			break;
		case OPT_MAX_SA:
			if (parse_uint(optarg, 10, 1, SG_SHARD_SA_MAX, &v) != 0)
				goto bad_value;
			a->sa_capacity = (uint32_t)v;
			break;
		case OPT_STRICT_NUMA:
			a->strict_numa = true;
			break;
		case OPT_SOFT:
		case OPT_HARD:
		case OPT_IDLE:
			/* Seconds; a year is plenty and keeps TSC arithmetic far from overflow. */
			if (parse_uint(optarg, 10, 1, 366 * 86400, &v) != 0)
				goto bad_value;
			if (opt == OPT_SOFT)
				a->soft_sec = (uint32_t)v;
			else if (opt == OPT_HARD)
				a->hard_sec = (uint32_t)v;
			else
				a->idle_sec = (uint32_t)v;
			break;
		case OPT_SEQ_STATE:
			if (optarg[0] == '\0') {
				snprintf(err, errlen, "--seq-state: a file name is required");
				return -1;
			}
			a->seq_state = optarg;
			break;
		case OPT_SEQ_INIT:
			a->seq_init = true;
			break;
		case OPT_SEQ_RESERVE:
			if (parse_uint(optarg, 10, ARGS_SEQ_RESERVE_MIN, UINT64_C(1) << 31, &v) != 0)
				goto bad_value;
			a->seq_reserve = v;
			break;
		case OPT_SEQ_MAX:
			if (parse_uint(optarg, 10, 1024, SG_SEQSTORE_MAX_ENTRIES, &v) != 0)
				goto bad_value;
			a->seq_max = (uint32_t)v;
			break;
		case OPT_HELP:
			args_usage(argv[0]);
			return 1;
		case OPT_VERSION:
			printf("shardgate %s\n", SG_VERSION);
			return 1;
		case 'l':
		case 'a':
		case 'c':
		case 't':
			/* Tuning knobs of ipsec-secgw's own code paths; said, not ignored. */
			printf("shardgate: note: %s has no effect: %s\n", opt_name(opt, idx),
					opt == 'l' ? "there is one code path" :
					opt == 'a' ? "each SA has one owner core, no atomics needed" :
					opt == 'c' ? "the SA lookup is one bulk rte_hash call" :
					"stats are read over telemetry");
			break;
		case 's':
			if (parse_uint(optarg, 10, 1024, UINT32_MAX, &v) != 0)
				goto bad_value;
			a->nb_mbufs = (uint32_t)v;
			break;
		case 'j':
			if (parse_uint(optarg, 10, RTE_MBUF_DEFAULT_DATAROOM, 9728, &v) != 0)
				goto bad_value;
			a->frame_size = (uint16_t)v;
			break;
		case OPT_UNSUPPORTED:
			snprintf(err, errlen, "%s: ipsec-secgw option not supported by shardgate",
					opt_name(opt, idx));
			return -1;
		case ':':
			if (optopt != 0)
				snprintf(err, errlen, "-%c: missing value", optopt);
			else
				snprintf(err, errlen, "%s: missing value", argv[optind - 1]);
			return -1;
		default:
			snprintf(err, errlen, "%s: unknown option (see --help)", argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc) {
		snprintf(err, errlen, "%s: unexpected argument", argv[optind]);
		return -1;
	}
	if (a->portmask == 0) {
		snprintf(err, errlen, "-p: a port mask is required");
		return -1;
	}
	if (a->conf_file == NULL) {
		snprintf(err, errlen, "-f: a rule file is required");
		return -1;
	}
	if ((a->unprot_mask & ~a->portmask) != 0) {
		snprintf(err, errlen, "-u 0x%" PRIx64 ": ports outside -p 0x%" PRIx64,
				a->unprot_mask, a->portmask);
		return -1;
	}
	if (a->soft_sec != 0 && a->hard_sec != 0 && a->soft_sec > a->hard_sec) {
		snprintf(err, errlen, "--lifetime-soft %u is above --lifetime-hard %u", a->soft_sec,
				a->hard_sec);
		return -1;
	}
	if (a->frame_size != 0 && a->frame_size < a->mtu + ARGS_FRAME_SLACK) {
		snprintf(err, errlen, "-j %u: an mbuf must hold a frame of --mtu %u and ESP's "
				"tail (at least %u bytes)", a->frame_size, a->mtu,
				a->mtu + ARGS_FRAME_SLACK);
		return -1;
	}
	if (a->esn && a->replay_win == 0) {
		snprintf(err, errlen, "-e: extended sequence numbers need a replay window (-w > 0)");
		return -1;
	}
	return 0;
bad_value:
	snprintf(err, errlen, "%s %s: invalid value (see --help)", opt_name(opt, idx), optarg);
	return -1;
}
