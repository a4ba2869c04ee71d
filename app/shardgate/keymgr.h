/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef KEYMGR_H
#define KEYMGR_H

#include <stdint.h>

struct gateway;
struct reply;

/* "spi alloc|free ..." and "query sa ...": @p cmd is "spi" or "query". */
void keymgr_request(struct gateway *gw, const char *cmd, char *rest, struct reply *r);

/* An inbound SA now holds @p spi: its reservation, if any, is done. */
void keymgr_spi_taken(uint32_t spi);

/* The error reply of requests.c (JSON-safe message). */
void keymgr_fail(struct reply *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* KEYMGR_H */
