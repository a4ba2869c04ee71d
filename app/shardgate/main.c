/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * shardgate: the control core. Reads options and rules (refusing bad ones
 * before EAL touches a device), sets up ports, queues, pools, SAs and
 * policies, launches the workers, serves telemetry, and on SIGINT/SIGTERM
 * stops the workers, closes the ports and checks that every mbuf came back.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mempool.h>
#include <rte_vect.h>

#include "args.h"
#include "gateway.h"
#include "sg_common.h"
#include "sg_conf.h"
#include "sg_telemetry.h"
#include "sg_timer.h"

/* Exit codes: usage/config errors differ from run-time ones for scripts. */
enum {
	EXIT_CONFIG = 2,
	EXIT_LEAK = 3,
};

/* How often the control loop wakes to check for a signal and timers. */
#define CONTROL_TICK_MS 20
/* The same with a slow path: the kernel's frames wait at most this long. */
#define SLOWPATH_TICK_MS 1

static volatile sig_atomic_t quit_signal;

static void
on_signal(int sig)
{
	quit_signal = sig;
}

/* Split argv at "--": EAL before, application options after. */
static int
split_args(int argc, char **argv, int *eal_argc)
{
	int i;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0)
			break;
	*eal_argc = i;
	return i;
}

/* Event ids start at the wall clock in microseconds: they keep rising
 * across restarts, so a key manager that asks for the events after the last
 * id it saw misses none of a new run's (there is less than one event a us). */
static uint64_t
event_id_base(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void
print_summary(const struct gateway *gw)
{
	struct sg_dp_stats t = {0};
	uint16_t w;
	unsigned int r;

	for (w = 0; w < gw->nb_workers; w++)
		sg_dp_stats_add(&t, &gw->workers[w]->stats);
	if (gw->ctx != NULL && gw->ctx->ctl_stats != NULL)
		sg_dp_stats_add(&t, gw->ctx->ctl_stats);
	printf("shardgate: rx %lu tx %lu inbound %lu outbound %lu bypass %lu handoff %lu drops %lu\n",
			(unsigned long)t.rx, (unsigned long)t.tx, (unsigned long)t.inbound,
			(unsigned long)t.outbound, (unsigned long)t.bypass,
			(unsigned long)t.handoff_tx, (unsigned long)sg_dp_stats_drops(&t));
	if (t.punt_rx + t.punt_tx + t.punt_drop != 0)
		printf("shardgate: punt_rx %lu punt_tx %lu punt_drop %lu\n",
				(unsigned long)t.punt_rx, (unsigned long)t.punt_tx,
				(unsigned long)t.punt_drop);
	for (r = 0; r < SG_DROP_MAX; r++)
		if (t.drops[r] != 0)
			printf("shardgate: drop %s %lu\n", sg_drop_name(r), (unsigned long)t.drops[r]);
}

/* Tear down in reverse order of set-up; returns the number of mbufs still out. */
static unsigned int
teardown(struct gateway *gw)
{
	unsigned int leaked = 0, s;
	uint16_t w;

	control_close(gw);
	sg_telemetry_detach();
	gateway_steer_fini(gw);
	slowpath_fini(gw); /* its taps hold mbufs of the pools */
	gateway_close_ports(gw);
	sg_dp_ctx_free(gw->ctx); /* drains the handoff rings */
	gw->ctx = NULL;
	gateway_seq_close(gw); /* reads the stopped shards' counts */
	for (w = 0; w < gw->nb_workers; w++)
		sg_dp_lcore_release(gw->workers[w]); /* fragments back to their pools */
	for (s = 0; s < RTE_MAX_NUMA_NODES; s++) {
		if (gw->pool[s] == NULL)
			continue;
		leaked += rte_mempool_in_use_count(gw->pool[s]);
		printf("shardgate: mbuf pool %s: %u in use at exit\n", gw->pool[s]->name,
				rte_mempool_in_use_count(gw->pool[s]));
		rte_mempool_free(gw->pool[s]);
		gw->pool[s] = NULL;
	}
	gateway_free_rules(gw);
	for (w = 0; w < gw->nb_workers; w++) {
		sg_dp_lcore_fini(gw->workers[w]);
		rte_free(gw->workers[w]);
	}
	gw->nb_workers = 0;
	return leaked;
}

int
main(int argc, char **argv)
{
	static struct gateway gw;
	struct sg_telemetry_src tsrc;
	char err[512];
	unsigned int leaked;
	int eal_argc, dd, ret;
	uint16_t w;

	dd = split_args(argc, argv, &eal_argc);
	if (dd == argc) {
		if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
			args_usage(argv[0]);
			return EXIT_SUCCESS;
		}
		fprintf(stderr, "shardgate: expected EAL options, then --, then application"
				" options (see --help)\n");
		return EXIT_CONFIG;
	}
	/* argv[dd] ("--") stands in as the program name for getopt. */
	ret = args_parse(argc - dd, argv + dd, &gw.args, err, sizeof(err));
	if (ret == 1)
		return EXIT_SUCCESS;
	if (ret != 0) {
		fprintf(stderr, "shardgate: %s\n", err);
		return EXIT_CONFIG;
	}
	/* The whole rule file is checked before EAL creates a single device. */
	if (sg_conf_parse_file(gw.args.conf_file, &gw.conf, err, sizeof(err)) != 0 ||
			gateway_check_conf(&gw, err, sizeof(err)) != 0 ||
			slowpath_check_conf(&gw, err, sizeof(err)) != 0) {
		fprintf(stderr, "shardgate: %s\n", err);
		sg_conf_free(&gw.conf);
		return EXIT_CONFIG;
	}
	/* So is the sequence state: without it outbound SAs could repeat nonces. */
	if (gateway_seq_open(&gw, eal_argc, argv, err, sizeof(err)) != 0) {
		fprintf(stderr, "shardgate: %s\n", err);
		sg_conf_free(&gw.conf);
		return EXIT_CONFIG;
	}

	ret = rte_eal_init(eal_argc, argv);
	if (ret < 0) {
		fprintf(stderr, "shardgate: EAL init failed: %s\n", rte_strerror(rte_errno));
		gateway_seq_close(&gw);
		sg_conf_free(&gw.conf);
		return EXIT_FAILURE;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	sg_event_log_init(&gw.events, event_id_base());
	/* EAL caps SIMD at 256 bits on x86 unless told otherwise; raise it for the
	 * AVX-512 timer sweep and ACL, unless the user forced a limit (-EPERM). */
	if (rte_vect_get_max_simd_bitwidth() < RTE_VECT_SIMD_512)
		rte_vect_set_max_simd_bitwidth(RTE_VECT_SIMD_512);
	SG_LOG(INFO, "timer sweep: %s (max SIMD %u bits)", sg_timer_impl_name(sg_timer_impl_best()),
			rte_vect_get_max_simd_bitwidth());

	if (gateway_setup_ctx(&gw) != 0 || gateway_setup_lcores(&gw) != 0 ||
			gateway_setup_ports(&gw) != 0 || gateway_seq_index(&gw) != 0 ||
			gateway_setup_rules(&gw) != 0 || slowpath_setup(&gw) != 0)
		goto fail;

	tsrc.ctx = gw.ctx;
	tsrc.workers = gw.workers;
	tsrc.nb_workers = gw.nb_workers;
	tsrc.events = &gw.events;
	if (sg_telemetry_register(&tsrc) != 0)
		SG_LOG(WARNING, "telemetry commands not registered");
	ret = control_open(&gw);
	if (ret != 0)
		SG_LOG(WARNING, "no control socket: %s", strerror(-ret));

	for (w = 0; w < gw.nb_workers; w++)
		rte_eal_remote_launch(sg_dp_worker_main, gw.workers[w], gw.workers[w]->lcore_id);
	printf("shardgate: running: %u worker(s), %u SA(s), %u port(s); telemetry and control"
			" sockets in %s\n",
			gw.nb_workers, gw.conf.nb_sa, gw.nb_ports, rte_eal_get_runtime_dir());
	fflush(stdout);
	/* Keys now live in the shards only. */
	sg_conf_free(&gw.conf);

	while (!quit_signal) {
		/* With a slow path, frames to and from the kernel wait at most a tick. */
		control_poll(&gw, slowpath_active(&gw) ? SLOWPATH_TICK_MS : CONTROL_TICK_MS);
		slowpath_poll(&gw);
	}

	printf("shardgate: signal %d, stopping\n", (int)quit_signal);
	/* Workers finish the burst in hand, then return. */
	gw.ctx->quit = true;
	rte_eal_mp_wait_lcore();
	print_summary(&gw);
	leaked = teardown(&gw);
	rte_eal_cleanup();
	if (leaked != 0) {
		fprintf(stderr, "shardgate: %u mbufs were not returned\n", leaked);
		return EXIT_LEAK;
	}
	return EXIT_SUCCESS;

fail:
	if (gw.ctx != NULL)
		gw.ctx->quit = true;
	teardown(&gw);
	sg_conf_free(&gw.conf);
	rte_eal_cleanup();
	return EXIT_FAILURE;
}
