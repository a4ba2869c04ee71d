/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control socket: a UNIX stream socket in the DPDK runtime directory,
 * mode 0600, one request line in, one JSON line out (requests.c). Served
 * from the control core's loop with poll(); a slow client cannot stall it
 * for longer than one tick.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <rte_eal.h>

#include "control.h"
#include "gateway.h"
#include "sg_common.h"

#define CONTROL_SOCKET "shardgate.sock"
#define CLIENTS_MAX 8
/* Longest request line (an sa line with a 36-byte key is about 250). */
#define LINE_MAX_LEN 4096

struct client {
	int fd;
	uint8_t origin; /* GATEWAY_ORIGIN_CONTROL, or the "client NAME" it gave */
	size_t len;
	char buf[LINE_MAX_LEN];
};

struct control {
	int lfd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct client c[CLIENTS_MAX];
};

int
control_open(struct gateway *gw)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct control *ctl;
	mode_t old;
	int i;

	ctl = calloc(1, sizeof(*ctl));
	if (ctl == NULL)
		return -ENOMEM;
	for (i = 0; i < CLIENTS_MAX; i++)
		ctl->c[i].fd = -1;
	if (snprintf(ctl->path, sizeof(ctl->path), "%s/%s", rte_eal_get_runtime_dir(),
			CONTROL_SOCKET) >= (int)sizeof(ctl->path)) {
		free(ctl);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, ctl->path, sizeof(ctl->path));
	ctl->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ctl->lfd < 0)
		goto fail;
	unlink(ctl->path);
	/* Created 0600 from the start: no window where others may connect. */
	old = umask(0177);
	i = bind(ctl->lfd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (i != 0 || listen(ctl->lfd, CLIENTS_MAX) != 0)
		goto fail;
	gw->control = ctl;
	snprintf(gw->origin[GATEWAY_ORIGIN_RULES], GATEWAY_ORIGIN_NAME, "rules");
	snprintf(gw->origin[GATEWAY_ORIGIN_CONTROL], GATEWAY_ORIGIN_NAME, "control");
	SG_LOG(INFO, "control socket %s", ctl->path);
	return 0;
fail:
	i = -errno;
	if (ctl->lfd >= 0)
		close(ctl->lfd);
	free(ctl);
	return i;
}

static void
drop_client(struct client *cl)
{
	close(cl->fd);
	cl->fd = -1;
	sg_wipe(cl->buf, sizeof(cl->buf)); /* requests may carry keys */
	cl->len = 0;
}

static void
send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd pf = {.fd = fd, .events = POLLOUT};

			if (poll(&pf, 1, 1000) <= 0)
				return;
			continue;
		}
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/* Answer every complete line in the client's buffer. */
static int
serve(struct gateway *gw, struct client *cl)
{
	struct reply r = {0};
	char *nl;
	size_t used;

	while ((nl = memchr(cl->buf, '\n', cl->len)) != NULL) {
		*nl = '\0';
		if (nl > cl->buf && nl[-1] == '\r')
			nl[-1] = '\0';
		r.len = 0;
		r.failed = 0;
		if (r.buf == NULL) {
			r.cap = 1024;
			r.buf = malloc(r.cap);
			if (r.buf == NULL)
				return -1;
		}
		control_request(gw, cl->buf, &r, &cl->origin);
		reply_printf(&r, "\n");
		send_all(cl->fd, r.buf, r.len);
		used = (size_t)(nl - cl->buf) + 1;
		sg_wipe(cl->buf, used);
		memmove(cl->buf, nl + 1, cl->len - used);
		cl->len -= used;
	}
	free(r.buf);
	return 0;
}

void
control_poll(struct gateway *gw, int timeout_ms)
{
	struct control *ctl = gw->control;
	struct pollfd pf[CLIENTS_MAX + 1];
	int i, n, fd;
	ssize_t got;

	control_run_timers(gw);
	gateway_poll_events(gw);
	if (ctl == NULL) {
		poll(NULL, 0, timeout_ms);
		return;
	}
	pf[0].fd = ctl->lfd;
	pf[0].events = POLLIN;
	for (i = 0; i < CLIENTS_MAX; i++) {
		pf[i + 1].fd = ctl->c[i].fd;
		pf[i + 1].events = POLLIN;
	}
	n = poll(pf, CLIENTS_MAX + 1, timeout_ms);
	if (n <= 0)
		return;
	if (pf[0].revents & POLLIN) {
		fd = accept4(ctl->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		for (i = 0; fd >= 0 && i < CLIENTS_MAX; i++) {
			if (ctl->c[i].fd < 0) {
				ctl->c[i].fd = fd;
				ctl->c[i].origin = GATEWAY_ORIGIN_CONTROL;
				ctl->c[i].len = 0;
				fd = -1;
			}
		}
		if (fd >= 0) {
			send_all(fd, "{\"ok\":false,\"error\":\"too many clients\"}\n", 40);
			close(fd);
		}
	}
	for (i = 0; i < CLIENTS_MAX; i++) {
		struct client *cl = &ctl->c[i];

		if (cl->fd < 0 || !(pf[i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		got = recv(cl->fd, cl->buf + cl->len, sizeof(cl->buf) - cl->len, 0);
		if (got <= 0) {
			if (got < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			drop_client(cl);
			continue;
		}
		cl->len += (size_t)got;
		if (serve(gw, cl) != 0 || cl->len == sizeof(cl->buf)) {
			if (cl->len == sizeof(cl->buf))
				send_all(cl->fd, "{\"ok\":false,\"error\":\"request too long\"}\n", 41);
			drop_client(cl);
		}
	}
}

void
control_close(struct gateway *gw)
{
	struct control *ctl = gw->control;
	int i;

	if (ctl == NULL)
		return;
	for (i = 0; i < CLIENTS_MAX; i++)
		if (ctl->c[i].fd >= 0)
			drop_client(&ctl->c[i]);
	close(ctl->lfd);
	unlink(ctl->path);
	free(ctl);
	gw->control = NULL;
}
