/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * One connection to shardgate's control socket: a request line out, one JSON
 * line back (app/shardgate/requests.c). Thread-safe; reconnects after the
 * gateway restarts.
 */
#ifndef SHARDGATE_CTL_H_
#define SHARDGATE_CTL_H_

#include <library.h>

typedef struct shardgate_ctl_t shardgate_ctl_t;

struct shardgate_ctl_t {

	/**
	 * Send one request (no newline) and wait for the reply.
	 *
	 * @param req		request line; may hold keys, wiped by the caller
	 * @param reply		the reply line (allocated, free() it), or NULL
	 * @return			TRUE if the reply says "ok":true; FALSE with
	 *					*reply the error reply, or NULL if none came
	 */
	bool (*request)(shardgate_ctl_t *this, const char *req, char **reply);

	void (*destroy)(shardgate_ctl_t *this);
};

/**
 * @param path		the socket, e.g. /var/run/dpdk/PREFIX/shardgate.sock
 * @param timeout_ms	how long to wait for a reply
 * @param client	the name ("client NAME") each connection gives first:
 *					shardgate records it as the origin of what it adds
 */
shardgate_ctl_t *shardgate_ctl_create(const char *path, int timeout_ms,
									  const char *client);

/** The "error" string of a reply (allocated), or a copy of the reply. */
char *shardgate_ctl_error(const char *reply);

/** The unsigned number after "key": in @p json; FALSE if absent. */
bool shardgate_ctl_u64(const char *json, const char *key, uint64_t *v);

/** The string after "key": in @p json into @p buf; FALSE if absent. */
bool shardgate_ctl_str(const char *json, const char *key, char *buf, size_t len);

#endif /** SHARDGATE_CTL_H_ */
