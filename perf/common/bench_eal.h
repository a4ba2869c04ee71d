/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef BENCH_EAL_H
#define BENCH_EAL_H

/*
 * EAL start-up shared by the micro-benchmarks: the caller's EAL arguments
 * (everything before "--"), or defaults: --no-huge, --no-pci, no telemetry,
 * one lcore on the first CPU this process may run on (so `taskset -c N`
 * picks it), and a per-process --file-prefix whose runtime directory
 * bench_eal_fini() removes.
 */

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_eal.h>

static char bench_rundir[4096];

/*
 * @param mem_mb  memory for the default arguments
 * @param used    out: how many argv entries EAL took (the benchmark's own
 *                options start after them; 0 when there was no "--")
 * @return what rte_eal_init() returned (< 0 on failure)
 */
static inline int
bench_eal_init(int argc, char **argv, const char *name, unsigned int mem_mb, int *used)
{
	static char lcore[32], prefix[96], mem[16];
	char *def[] = {
		argv[0], "--no-huge", "--no-pci", "-m", mem, "--no-telemetry",
		"--log-level=lib.eal:error", "-l", lcore, prefix, NULL,
	};
	cpu_set_t set;
	int i, cpu = 0, ret;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0)
			break;
	if (i < argc && i > 1) {
		ret = rte_eal_init(i, argv);
		*used = i;
		return ret;
	}
	*used = i < argc ? 1 : 0;
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		while (cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &set))
			cpu++;
	snprintf(lcore, sizeof(lcore), "%d", cpu);
	snprintf(mem, sizeof(mem), "%u", mem_mb);
	snprintf(prefix, sizeof(prefix), "--file-prefix=%s_%d", name, (int)getpid());
	ret = rte_eal_init((int)RTE_DIM(def) - 1, def);
	if (ret >= 0)
		snprintf(bench_rundir, sizeof(bench_rundir), "%s", rte_eal_get_runtime_dir());
	return ret < 0 ? ret : 0;
}

/* rte_eal_cleanup(), then remove the runtime directory if we chose it. */
static inline void
bench_eal_fini(void)
{
	struct dirent *e;
	DIR *d;

	rte_eal_cleanup();
	if (bench_rundir[0] == '\0' || (d = opendir(bench_rundir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
	rmdir(bench_rundir);
}

#endif /* BENCH_EAL_H */
