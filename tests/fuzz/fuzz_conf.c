/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the rule-file parser (lib/conf), the same entry point
 * shardgate's -f and the control socket's "add" requests use. Invariants
 * checked on every input: a refused file says "fuzz.cfg:LINE: " first and
 * leaves the conf zeroed; an accepted one names only SAs, policies and
 * routes that pass the library's own checks (every policy's SA exists).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sg_common.h"
#include "sg_conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char name[] = "fuzz.cfg";
	char err[512];
	struct sg_conf c;
	char *text;
	uint32_t i, j;

	if (size > 1 << 16)
		return -1;
	text = malloc(size + 1);
	if (text == NULL)
		return -1;
	memcpy(text, data, size);
	text[size] = '\0';
	memset(&c, 0xa5, sizeof(c));
	err[0] = '\0';
	if (sg_conf_parse_string(name, text, &c, err, sizeof(err)) != 0) {
		if (strncmp(err, "fuzz.cfg:", 9) != 0 || !sg_all_zero(&c, sizeof(c))) {
			fprintf(stderr, "refused without file:line, or with state left: '%s'\n", err);
			abort();
		}
	} else {
		for (i = 0; i < c.nb_sp; i++) {
			int found = c.sp[i].rule.action != SG_SP_PROTECT;

			for (j = 0; j < c.nb_sa && !found; j++)
				found = c.sa[j].prm.spi == c.sp[i].spi &&
						c.sa[j].prm.dir == c.sp[i].dir;
			if (!found) {
				fprintf(stderr, "accepted a policy naming no SA (SPI %u)\n",
					c.sp[i].spi);
				abort();
			}
		}
		sg_conf_free(&c);
	}
	free(text);
	return 0;
}
