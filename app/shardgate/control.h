/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CONTROL_H
#define CONTROL_H

#include <stddef.h>
#include <stdint.h>

struct gateway;

/* A reply being built: one JSON object on one line. */
struct reply {
	char *buf;
	size_t len;
	size_t cap;
	int failed; /* out of memory: the reply is replaced by an error */
};

void reply_printf(struct reply *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Run one request line against the gateway and write the JSON reply.
 * Every request either completes or changes nothing.
 */
void control_request(struct gateway *gw, char *line, struct reply *r);

/* Inbound SAs whose removal a rekey scheduled: done from the control loop. */
void control_run_timers(struct gateway *gw);

#endif /* CONTROL_H */
