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
 * Every request either completes or changes nothing. @p origin: the
 * client's (GATEWAY_ORIGIN_CONTROL until a "client NAME" request sets it),
 * recorded in what its requests add.
 */
void control_request(struct gateway *gw, char *line, struct reply *r, uint8_t *origin);

/* The requests that only read (listing.c). */
void control_list_sa(struct gateway *gw, uint64_t page, struct reply *r);
void control_list_sp(struct gateway *gw, struct reply *r);
void control_list_sessions(struct gateway *gw, struct reply *r);
void control_list_events(struct gateway *gw, uint64_t since, struct reply *r);

/* Inbound SAs whose removal a rekey scheduled: done from the control loop. */
void control_run_timers(struct gateway *gw);

#endif /* CONTROL_H */
