/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: control-socket requests (app/shardgate/requests.c and
 * keymgr.c), as shardgatectl and the strongSwan plugin send them, against a
 * running gateway: one worker on lcore 1 (CPU 1, busy-polling) with two pcap
 * ports that receive nothing, a rule file of tunnel and transport SAs,
 * policies and routes. The harness itself runs on CPU 0.
 *
 * An input is up to 32 request lines. Each runs as one client ("client
 * fuzz" first, so what it adds is its own); at the end "flush origin fuzz"
 * removes that again. Checked after every request: the reply is one JSON
 * object line, {"ok":...}. After every input: every SA in a shard is found
 * by its SPI where the gateway looks it up, every protect policy names an
 * SA that exists, and what the input added is gone.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "control.h"
#include "gateway.h"
#include "sg_conf.h"
#include "sg_dp.h"
#include "sg_shard.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__asan_default_options(void);

/*
 * The gateway runs until the process ends, and what it set up is held in
 * DPDK's memory, which LeakSanitizer does not scan: the check at exit would
 * report all of it. libFuzzer's own check after each input (whatever a
 * request allocated and did not free) stays on.
 */
const char *
__asan_default_options(void)
{
	return "leak_check_at_exit=0";
}

#define K20 "10:11:12:13:14:15:16:17:18:19:1a:1b:1c:1d:1e:1f:20:21:22:23"
#define K16 "30:31:32:33:34:35:36:37:38:39:3a:3b:3c:3d:3e:3f"

static const char rules[] =
	"sa in 4096 aead_algo aes-128-gcm aead_key " K20 " mode ipv4-tunnel src 172.16.0.1 "
	"dst 172.16.0.2\n"
	"sa out 8192 aead_algo aes-128-gcm aead_key " K20 " mode ipv4-tunnel src 172.16.0.2 "
	"dst 172.16.0.1\n"
	"sa out 8193 cipher_algo aes-128-cbc cipher_key " K16 " auth_algo sha1-hmac auth_key "
	K20 " mode transport\n"
	"sp ipv4 in esp protect 4096 pri 10 dst 10.2.0.0/24 sport 0:65535 dport 0:65535\n"
	"sp ipv4 out esp protect 8192 pri 10 dst 10.1.0.0/24 sport 0:65535 dport 0:65535\n"
	"sp ipv4 out esp protect 8193 pri 10 dst 10.1.1.0/24 sport 0:65535 dport 0:65535\n"
	"sp ipv4 out esp bypass pri 5 dst 10.9.0.0/24 sport 0:65535 dport 0:65535\n"
	"rt ipv4 dst 10.2.0.0/16 port 1\n"
	"rt ipv4 dst 172.16.0.1/32 port 0\n"
	"neigh port 0 02:00:00:00:00:10\n"
	"neigh port 1 02:00:00:00:00:11\n";

static struct gateway gw;
static int show; /* SG_FUZZ_SHOW=1: print each request and its reply */
static char tmp_dir[] = "/tmp/sgfuzz_ctl_XXXXXX";

/* The temporary files go at exit (the ports' tx files may still be open). */
static void
rm_tmp(void)
{
	static const char *const names[] = {"rx.pcap", "rules.cfg", "seq", "tx0.pcap", "tx1.pcap"};
	char path[128];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmp_dir, names[i]);
		unlink(path);
	}
	rmdir(tmp_dir);
}

static void
die(const char *what)
{
	fprintf(stderr, "fuzz_ctl: %s\n", what);
	abort();
}

static void
tmp_file(char *path, size_t room, const char *dir, const char *name, const void *text,
		size_t len)
{
	FILE *f;

	snprintf(path, room, "%s/%s", dir, name);
	f = fopen(path, "w");
	if (f == NULL || fwrite(text, 1, len, f) != len || fclose(f) != 0)
		die("cannot write a temporary file");
}

/* An empty pcap file: the ports receive nothing. */
static const uint8_t empty_pcap[24] = {0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = tmp_dir;
	static char prefix[64], v0[512], v1[512], rx[128], conf[128], seq[128];
	static char *app[16], *eal[16];
	char err[512];
	int n = 0, e = 0;

	(void)argc;
	(void)argv;
	if (mkdtemp(tmp_dir) == NULL)
		die("mkdtemp failed");
	atexit(rm_tmp);
	tmp_file(rx, sizeof(rx), dir, "rx.pcap", empty_pcap, sizeof(empty_pcap));
	tmp_file(conf, sizeof(conf), dir, "rules.cfg", rules, sizeof(rules) - 1);
	snprintf(seq, sizeof(seq), "%s/seq", dir);
	snprintf(prefix, sizeof(prefix), "--file-prefix=sgfuzz_%d", (int)getpid());
	snprintf(v0, sizeof(v0), "--vdev=net_pcap0,rx_pcap=%s,tx_pcap=%s/tx0.pcap", rx, dir);
	snprintf(v1, sizeof(v1), "--vdev=net_pcap1,rx_pcap=%s,tx_pcap=%s/tx1.pcap", rx, dir);
	eal[e++] = "fuzz_ctl";
	eal[e++] = "--no-huge";
	eal[e++] = "--no-pci";
	eal[e++] = "-m";
	eal[e++] = "512";
	eal[e++] = "--no-telemetry";
	eal[e++] = "--log-level=*:error";
	eal[e++] = "--lcores=0@0,1@1";
	eal[e++] = prefix;
	eal[e++] = v0;
	eal[e++] = v1;
	eal[e] = NULL;
	app[n++] = "--";
	app[n++] = "-p";
	app[n++] = "0x3";
	app[n++] = "-u";
	app[n++] = "0x1";
	app[n++] = "-f";
	app[n++] = conf;
	/* the worker busy-polls (CPU 1): a request that waits on it is answered
	 * in microseconds, not after its idle sleep */
	app[n++] = "--poll-sleep-us";
	app[n++] = "0";
	app[n++] = "--seq-state";
	app[n++] = seq;
	app[n++] = "--seq-state-init";
	app[n] = NULL;
	if (args_parse(n, app, &gw.args, err, sizeof(err)) != 0 ||
			sg_conf_parse_file(gw.args.conf_file, &gw.conf, err, sizeof(err)) != 0 ||
			gateway_check_conf(&gw, err, sizeof(err)) != 0 ||
			gateway_seq_open(&gw, e, eal, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_ctl: %s\n", err);
		die("set-up failed");
	}
	if (rte_eal_init(e, eal) < 0)
		die("EAL init failed");
	sg_event_log_init(&gw.events, 1);
	if (gateway_setup_ctx(&gw) != 0 || gateway_setup_lcores(&gw) != 0 ||
			gateway_setup_ports(&gw) != 0 || gateway_seq_index(&gw) != 0 ||
			gateway_setup_rules(&gw) != 0)
		die("gateway set-up failed");
	if (gw.nb_workers != 1)
		die("want one worker");
	/* the origins' names, and a socket no one connects to */
	if (control_open(&gw) != 0)
		die("control_open failed");
	rte_eal_remote_launch(sg_dp_worker_main, gw.workers[0], gw.workers[0]->lcore_id);
	sg_conf_free(&gw.conf);
	show = getenv("SG_FUZZ_SHOW") != NULL;
	/* the gateway runs until the process ends; EAL and files go with it */
	return 0;
}

static void
request(const char *line, uint8_t *origin)
{
	struct reply r = {0};
	char *copy = strdup(line);

	if (copy == NULL)
		die("out of memory");
	control_request(&gw, copy, &r, origin);
	free(copy);
	if (show)
		fprintf(stderr, "> %.200s\n< %.300s\n", line, r.buf ? r.buf : "(none)");
	if (r.buf == NULL || strncmp(r.buf, "{\"ok\":", 6) != 0 || strchr(r.buf, '\n') != NULL ||
			r.buf[r.len - 1] != '}') {
		fprintf(stderr, "request '%.200s': reply '%.300s'\n", line,
			r.buf ? r.buf : "(none)");
		die("a reply is not one JSON object line");
	}
	free(r.buf);
}

/* Every SA where lookups find it; every protect policy's SA there. */
static void
check(void)
{
	uint32_t i, k;
	uint16_t w;

	for (w = 0; w < gw.nb_workers; w++) {
		const struct sg_sa_table *t = gw.shards[w]->sat;

		for (i = 0; i < sg_sa_table_capacity(t); i++) {
			const struct sg_sa *sa = sg_sa_table_get(t, i);

			if (sa != NULL && gateway_find_sa(&gw, (enum sg_sa_dir)sa->dir,
					sg_sa_spi(sa)) != sg_shard_gidx(w, i)) {
				fprintf(stderr, "SA %s %u (shard %u slot %u) not found by SPI\n",
					sa->dir == SG_SA_IN ? "in" : "out", sg_sa_spi(sa), w, i);
				die("an SA is half made or half gone");
			}
		}
	}
	for (k = 0; k < gw.nb_sp; k++)
		if (gw.sp[k].rule.action == SG_SP_PROTECT &&
				gateway_find_sa(&gw, gw.sp[k].dir, gw.sp[k].spi) == SG_SA_NONE) {
			fprintf(stderr, "policy %u names SA %u, which is gone\n", k, gw.sp[k].spi);
			die("a policy names no SA");
		}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t origin = GATEWAY_ORIGIN_CONTROL;
	char line[1024];
	size_t at = 0;
	unsigned int n = 0;

	if (size > 16384)
		return -1;
	request("client fuzz", &origin);
	while (at < size && n < 32) {
		size_t len = 0;

		while (at < size && data[at] != '\n' && len < sizeof(line) - 1) {
			line[len++] = data[at] == '\0' ? ' ' : (char)data[at];
			at++;
		}
		at++;
		line[len] = '\0';
		/* another connection's name, or everything of the rule file's, would
		 * make inputs depend on one another: those stay the fuzzer's own */
		if (strncmp(line, "client", 6) == 0 || strstr(line, "flush") != NULL)
			continue;
		request(line, &origin);
		control_run_timers(&gw);
		check();
		n++;
	}
	request("flush origin fuzz", &origin);
	check();
	return 0;
}
