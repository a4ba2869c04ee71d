/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: shardgate's application options (app/shardgate/args.c:
 * -p, -u, -f, -w, --config (port,queue,lcore)..., --mtu, --seq-state...),
 * what follows "--" on its command line. The input is the argument vector,
 * one argument per NUL- or newline-separated piece. Checked on every input:
 * a refusal says why, an acceptance leaves values inside their documented
 * bounds (ports in the mask, --config triples in range, a burst of 1..max).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ARGV_MAX 64

static void
die(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_args: %s: %s\n", what, detail);
	abort();
}

/* --help and --version print to stdout; libFuzzer reports on stderr. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (freopen("/dev/null", "w", stdout) == NULL)
		die("cannot silence stdout", "");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct args a;
	char *argv[ARGV_MAX + 2], *buf, err[512];
	int argc = 0, ret;
	size_t i, start = 0;

	if (size > 4096)
		return -1;
	buf = malloc(size + 1);
	if (buf == NULL)
		return -1;
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[argc++] = "--";
	for (i = 0; i <= size && argc < ARGV_MAX; i++) {
		if (i == size || buf[i] == '\0' || buf[i] == '\n') {
			buf[i] = '\0';
			argv[argc++] = buf + start;
			start = i + 1;
		}
	}
	argv[argc] = NULL;
	err[0] = '\0';
	ret = args_parse(argc, argv, &a, err, sizeof(err));
	if (ret < 0 && err[0] == '\0')
		die("refused without a reason", argv[1]);
	if (ret == 0) {
		if (a.burst < 1 || a.burst > SG_DP_BURST_MAX)
			die("burst out of range", "");
		if (a.nb_map > ARGS_MAP_MAX)
			die("more --config triples than the table holds", "");
		for (i = 0; i < a.nb_map; i++)
			if (a.map[i].lcore >= RTE_MAX_LCORE || a.map[i].port >= RTE_MAX_ETHPORTS)
				die("--config triple out of range", "");
		if (a.portmask == 0)
			die("no port accepted", "");
	}
	free(buf);
	return 0;
}
