/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Telemetry commands over the real DPDK telemetry socket, as the stock
 * dpdk-telemetry.py client talks to it: totals equal the sum of the
 * workers, SA paging covers every SA once, spi= finds one, bad parameters
 * are refused, events are listed after an id, and a detached source
 * answers nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "sg_crypto.h"
#include "sg_dp.h"
#include "sg_sa.h"
#include "sg_shard.h"
#include "sg_telemetry.h"
#include "sg_test.h"

#define NB_WORKERS 2
#define NB_SA 100 /* more than two pages of SG_TELEMETRY_SA_PAGE */

static struct sg_dp_lcore *workers[NB_WORKERS];
static struct sg_event_log events;
static struct sg_telemetry_src src;
static IMB_MGR *mgr;
static char reply[64 * 1024];

/* One command on a fresh connection, as dpdk-telemetry.py does it. */
static const char *
ask(const char *cmd)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	ssize_t n;
	int fd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/dpdk_telemetry.v2",
			rte_eal_get_runtime_dir());
	fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		if (fd >= 0)
			close(fd);
		return "";
	}
	n = read(fd, reply, sizeof(reply) - 1); /* the hello */
	if (n > 0 && write(fd, cmd, strlen(cmd)) == (ssize_t)strlen(cmd))
		n = read(fd, reply, sizeof(reply) - 1);
	else
		n = 0;
	close(fd);
	reply[n > 0 ? n : 0] = '\0';
	return reply;
}

/* Value of the first "key":N in the (compact) reply. */
static long long
num(const char *json, const char *key)
{
	char pat[128];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(json, pat);
	return p == NULL ? -1 : atoll(p + strlen(pat));
}

static int
count(const char *s, const char *what)
{
	int n = 0;

	while ((s = strstr(s, what)) != NULL) {
		n++;
		s += strlen(what);
	}
	return n;
}

static void
test_stats(void)
{
	const char *r = ask("/shardgate/stats");

	CU_ASSERT_EQUAL(num(r, "workers"), NB_WORKERS);
	CU_ASSERT_EQUAL(num(r, "sa_count"), NB_SA);
	CU_ASSERT_EQUAL(num(r, "rx"), 1000 + 2000);
	CU_ASSERT_EQUAL(num(r, "tx"), 900 + 1800);
	CU_ASSERT_EQUAL(num(r, "drop_auth"), 7 + 11);
	CU_ASSERT_EQUAL(num(r, "drops"), 7 + 11 + 3);
	CU_ASSERT_EQUAL(num(r, "drop_replay"), 3);
}

static void
test_lcores(void)
{
	const char *r = ask("/shardgate/lcores");

	CU_ASSERT_PTR_NOT_NULL(strstr(r, "\"100\":{\"lcore\":100"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r, "\"101\":{\"lcore\":101"));
	/* busy 50000 cycles over 1000 packets on the first worker */
	CU_ASSERT_EQUAL(num(r, "cycles_per_packet"), 50);
	CU_ASSERT_EQUAL(num(r, "cycles_crypto"), 12345);
	CU_ASSERT(num(r, "tsc_hz") > 0);
}

static void
test_sa_pages(void)
{
	char cmd[64];
	int seen = 0, page, pages;
	const char *r = ask("/shardgate/sa,0");

	pages = (int)num(r, "pages");
	CU_ASSERT_EQUAL(pages, (NB_SA + SG_TELEMETRY_SA_PAGE - 1) / SG_TELEMETRY_SA_PAGE);
	CU_ASSERT_EQUAL(num(r, "total"), NB_SA);
	for (page = 0; page < pages + 1; page++) {
		snprintf(cmd, sizeof(cmd), "/shardgate/sa,%d", page);
		r = ask(cmd);
		seen += count(r, "\"spi\":");
		CU_ASSERT_EQUAL(num(r, "page"), page);
	}
	CU_ASSERT_EQUAL(seen, NB_SA); /* every SA once, the page past the end empty */
	r = ask("/shardgate/sa");
	CU_ASSERT_EQUAL(count(r, "\"spi\":"), SG_TELEMETRY_SA_PAGE);
}

static void
test_sa_by_spi(void)
{
	const char *r = ask("/shardgate/sa,spi=5004");

	CU_ASSERT_EQUAL(count(r, "\"spi\":"), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(r, "\"in_5004\""));
	CU_ASSERT_EQUAL(num(r, "packets"), 43);
	CU_ASSERT_EQUAL(num(r, "replay_window"), 64);
	CU_ASSERT_EQUAL(num(r, "hard_ms_left"), -1);
	/* Inbound drop counters; outbound the state file's reservation. */
	CU_ASSERT_EQUAL(num(r, "auth_fail"), 0);
	CU_ASSERT_PTR_NULL(strstr(r, "seq_reserved"));
	r = ask("/shardgate/sa,spi=5003");
	CU_ASSERT_PTR_NOT_NULL(strstr(r, "\"out_5003\""));
	CU_ASSERT_EQUAL(num(r, "seq_reserved"), 1 << 22);
	CU_ASSERT_PTR_NULL(strstr(r, "auth_fail"));
	r = ask("/shardgate/sa,spi=0x138c"); /* 5004 in hex */
	CU_ASSERT_EQUAL(count(r, "\"spi\":"), 1);
	r = ask("/shardgate/sa,spi=77777");
	CU_ASSERT_EQUAL(count(r, "\"spi\":"), 0);
}

static void
test_bad_params(void)
{
	static const char *const bad[] = {
		"/shardgate/sa,-1", "/shardgate/sa,x", "/shardgate/sa,spi=", "/shardgate/sa,1x",
		"/shardgate/sa,spi=99999999999", "/shardgate/events,abc", "/shardgate/events,-3",
	};
	unsigned int i;

	for (i = 0; i < RTE_DIM(bad); i++) {
		const char *r = ask(bad[i]);

		CU_ASSERT_PTR_NOT_NULL(strstr(r, "null"));
		CU_ASSERT_EQUAL(count(r, "\"spi\":"), 0);
	}
}

static void
test_events(void)
{
	struct sg_shard_event ev = {.type = SG_SHARD_EV_SOFT_EXPIRED, .dir = SG_SA_IN, .spi = 5001};
	const char *r;

	sg_event_log_add(&events, &ev);
	ev.type = SG_SHARD_EV_IDLE;
	ev.spi = 5002;
	sg_event_log_add(&events, &ev);
	r = ask("/shardgate/events");
	CU_ASSERT_EQUAL(num(r, "soft_expired"), 1);
	CU_ASSERT_EQUAL(num(r, "idle"), 1);
	CU_ASSERT_EQUAL(num(r, "hard_expired"), 0);
	CU_ASSERT_EQUAL(count(r, "\"type\":"), 2);
	r = ask("/shardgate/events,1");
	CU_ASSERT_EQUAL(count(r, "\"type\":"), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(r, "\"spi\":5002"));
}

static void
test_detached(void)
{
	sg_telemetry_detach();
	CU_ASSERT_PTR_NOT_NULL(strstr(ask("/shardgate/stats"), "null"));
	CU_ASSERT_PTR_NOT_NULL(strstr(ask("/shardgate/sa"), "null"));
	CU_ASSERT_EQUAL(sg_telemetry_register(&src), 0); /* re-attach, registered once */
	CU_ASSERT_EQUAL(num(ask("/shardgate/stats"), "rx"), 3000);
}

static int
suite_init(void)
{
	struct sg_sa_prm p;
	uint16_t w;
	int i, idx;

	mgr = sg_crypto_mgr_create(0);
	if (mgr == NULL)
		return -1;
	for (w = 0; w < NB_WORKERS; w++) {
		workers[w] = rte_zmalloc(NULL, sizeof(*workers[w]), RTE_CACHE_LINE_SIZE);
		if (workers[w] == NULL)
			return -1;
		workers[w]->lcore_id = (uint16_t)(100 + w);
		workers[w]->shard = sg_shard_create(w, NB_SA, 0);
		if (workers[w]->shard == NULL)
			return -1;
		workers[w]->stats.rx = 1000 * (w + 1);
		workers[w]->stats.tx = 900 * (w + 1);
		workers[w]->stats.busy_cycles = 50000 * (w + 1);
		workers[w]->stats.drops[SG_DROP_AUTH] = w ? 11 : 7;
		workers[w]->stats.stage_cycles[SG_STAGE_CRYPTO] = 12345;
	}
	workers[1]->stats.drops[SG_DROP_REPLAY] = 3;
	memset(&p, 0, sizeof(p));
	p.mode = SG_SA_TUNNEL4;
	p.cipher = SG_AEAD_AES128_GCM;
	p.key_len = 16;
	for (i = 0; i < NB_SA; i++) {
		p.spi = (uint32_t)(5000 + i);
		p.dir = i % 3 ? SG_SA_IN : SG_SA_OUT;
		p.replay_win = p.dir == SG_SA_IN ? 64 : 0;
		p.seq_limit = p.dir == SG_SA_OUT ? 1u << 22 : 0;
		p.seq_ask = p.seq_limit / 2;
		w = (uint16_t)(i % NB_WORKERS);
		idx = sg_sa_table_add(workers[w]->shard->sat, &p, mgr, workers[w]->lcore_id, 0);
		if (idx < 0)
			return -1;
		sg_sa_table_get(workers[w]->shard->sat, (uint32_t)idx)->packets = (uint64_t)i + 39;
	}
	src.workers = workers;
	src.nb_workers = NB_WORKERS;
	src.events = &events;
	return sg_telemetry_register(&src);
}

static int
suite_fini(void)
{
	uint16_t w;

	sg_telemetry_detach();
	for (w = 0; w < NB_WORKERS; w++) {
		sg_shard_free(workers[w]->shard);
		rte_free(workers[w]);
	}
	sg_crypto_mgr_free(mgr);
	return 0;
}

int
main(void)
{
	char prefix[64];
	char *argv[] = {"telemetry", "--no-huge", "--no-pci", "-m", "256", "-l", "0",
		"--log-level=lib.eal:error", prefix, NULL};
	CU_pSuite s;

	/* Unlike the other suites this one needs the telemetry socket. */
	snprintf(prefix, sizeof(prefix), "--file-prefix=sgtest_telemetry_%d", (int)getpid());
	if (CU_initialize_registry() != CUE_SUCCESS ||
			rte_eal_init((int)RTE_DIM(argv) - 1, argv) < 0)
		return EXIT_FAILURE;
	s = CU_add_suite("telemetry", suite_init, suite_fini);
	CU_add_test(s, "/shardgate/stats sums the workers", test_stats);
	CU_add_test(s, "/shardgate/lcores per worker, cycles by stage", test_lcores);
	CU_add_test(s, "/shardgate/sa pages cover every SA once", test_sa_pages);
	CU_add_test(s, "/shardgate/sa,spi=N", test_sa_by_spi);
	CU_add_test(s, "bad parameters are refused", test_bad_params);
	CU_add_test(s, "/shardgate/events after an id", test_events);
	CU_add_test(s, "detached source answers nothing", test_detached);
	return sg_test_run("telemetry", 1);
}
