/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SG_CONF_H
#define SG_CONF_H

/**
 * @file
 * The rule-file grammar: ipsec-secgw's "sp", "sa", "rt" and "neigh" lines,
 * read as they are, plus shardgate's extensions in the same grammar.
 * Parsing yields checked parameter structs for lib/sa, lib/spd and lib/dp.
 * Every error names file:line and a reason; on error nothing is returned.
 */

#include <stddef.h>
#include <stdint.h>

#include "sg_sa.h"
#include "sg_spd.h"
#include "sg_dp.h"

/** "not given in the file": the command line (-w, -e) decides. */
#define SG_CONF_UNSET UINT32_MAX

/** An SA as read: prm.replay_win is SG_CONF_UNSET unless the line set it. */
struct sg_conf_sa {
	struct sg_sa_prm prm;
	uint32_t line;
	bool esn_set;  /**< the line said "esn" */
	int32_t port_id; /**< "port_id N", or -1 */
};

/** A policy as read; rule.sa_idx is left 0, spi names the SA. */
struct sg_conf_sp {
	struct sg_sp_rule rule;
	enum sg_sa_dir dir; /**< in or out */
	uint32_t spi;       /**< protect only */
	uint32_t line;
	uint8_t origin;     /**< who made it: 0 the rule file (see sg_sa_prm.origin) */
};

struct sg_conf_rt {
	struct sg_route_prm prm;
	uint32_t line;
};

struct sg_conf_neigh {
	struct sg_neigh_prm prm;
	uint32_t line;
};

/** A slow path to the kernel for one unprotected port (shardgate's "punt" line). */
struct sg_conf_punt {
	struct sg_punt_prm prm;
	uint32_t line;
};

/** Everything one rule file says. Arrays are owned; free with sg_conf_free(). */
struct sg_conf {
	char *file;
	struct sg_conf_sa *sa;
	uint32_t nb_sa;
	struct sg_conf_sp *sp;
	uint32_t nb_sp;
	struct sg_conf_rt *rt;
	uint32_t nb_rt;
	struct sg_conf_neigh *neigh;
	uint32_t nb_neigh;
	struct sg_conf_punt *punt;
	uint32_t nb_punt;
};

/**
 * Parse the rule file at @p path into @p conf.
 * On error writes "file:line: reason" (or "file: reason") to @p err.
 * @return 0, or -errno (-EINVAL for a grammar or validation error).
 */
int sg_conf_parse_file(const char *path, struct sg_conf *conf, char *err, size_t errlen);

/** Same as sg_conf_parse_file() on text in memory; @p name is used in errors. */
int sg_conf_parse_string(const char *name, const char *text, struct sg_conf *conf, char *err,
		size_t errlen);

/**
 * Parse rule text from a control request: like sg_conf_parse_string(), but
 * an "sp ... protect SPI" may name an SA that is not in the text (the caller
 * resolves it against the running gateway).
 */
int sg_conf_parse_request(const char *name, const char *text, struct sg_conf *conf, char *err,
		size_t errlen);

/** Wipe key material and free everything @p conf holds. */
void sg_conf_free(struct sg_conf *conf);

#endif /* SG_CONF_H */
