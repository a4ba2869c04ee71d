/* SPDX-License-Identifier: BSD-3-Clause */
#include "shardgate_ctl.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <threading/mutex.h>
#include <utils/debug.h>

/* shardgate's longest reply is a page of "list sa"; events are shorter. */
#define REPLY_MAX (1 << 20)

typedef struct private_shardgate_ctl_t private_shardgate_ctl_t;

struct private_shardgate_ctl_t {
	shardgate_ctl_t public;
	char *path;
	/** "client NAME", sent first on every connection */
	char *hello;
	int timeout_ms;
	int fd;
	mutex_t *mutex;
};

static void
disconnect(private_shardgate_ctl_t *this)
{
	if (this->fd >= 0)
	{
		close(this->fd);
		this->fd = -1;
	}
}

static bool send_line(private_shardgate_ctl_t *this, const char *req);
static char *read_line(private_shardgate_ctl_t *this);

static bool
connect_once(private_shardgate_ctl_t *this)
{
	char *line;

	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (this->fd >= 0)
	{
		return TRUE;
	}
	if (strlen(this->path) >= sizeof(sa.sun_path))
	{
		DBG1(DBG_KNL, "kernel-shardgate: socket path %s is too long", this->path);
		return FALSE;
	}
	strcpy(sa.sun_path, this->path);
	this->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (this->fd < 0 ||
		connect(this->fd, (struct sockaddr*)&sa, sizeof(sa)) != 0)
	{
		DBG1(DBG_KNL, "kernel-shardgate: cannot connect to %s: %s",
			 this->path, strerror(errno));
		disconnect(this);
		return FALSE;
	}
	/* a new connection is a new client: it says whose its requests are */
	line = send_line(this, this->hello) ? read_line(this) : NULL;
	if (!line || strncmp(line, "{\"ok\":true", 10) != 0)
	{
		DBG1(DBG_KNL, "kernel-shardgate: %s refused '%s': %s", this->path,
			 this->hello, line ?: "no reply");
		free(line);
		disconnect(this);
		return FALSE;
	}
	free(line);
	return TRUE;
}

static bool
send_line(private_shardgate_ctl_t *this, const char *req)
{
	size_t len = strlen(req), done = 0;
	ssize_t n;

	while (done < len + 1)
	{
		/* the terminating newline is sent on its own: no copy of the key */
		if (done < len)
		{
			n = send(this->fd, req + done, len - done, MSG_NOSIGNAL);
		}
		else
		{
			n = send(this->fd, "\n", 1, MSG_NOSIGNAL);
		}
		if (n < 0 && errno == EINTR)
		{
			continue;
		}
		if (n <= 0)
		{
			return FALSE;
		}
		done += n;
	}
	return TRUE;
}

static char *
read_line(private_shardgate_ctl_t *this)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap), *nl;
	struct pollfd pf = { .fd = this->fd, .events = POLLIN };
	ssize_t n;

	while (TRUE)
	{
		if (poll(&pf, 1, this->timeout_ms) <= 0)
		{
			break;
		}
		if (len + 1 == cap)
		{
			if (cap >= REPLY_MAX)
			{
				break;
			}
			cap *= 2;
			buf = realloc(buf, cap);
		}
		n = recv(this->fd, buf + len, cap - len - 1, 0);
		if (n < 0 && errno == EINTR)
		{
			continue;
		}
		if (n <= 0)
		{
			break;
		}
		len += n;
		buf[len] = '\0';
		nl = memchr(buf, '\n', len);
		if (nl)
		{
			/* one request, one reply: nothing follows the newline */
			*nl = '\0';
			return buf;
		}
	}
	free(buf);
	return NULL;
}

METHOD(shardgate_ctl_t, request, bool,
	private_shardgate_ctl_t *this, const char *req, char **reply)
{
	char *line = NULL;
	int try;
	bool ok;

	this->mutex->lock(this->mutex);
	/* a second try only if the first found the gateway restarted */
	for (try = 0; try < 2 && !line; try++)
	{
		if (!connect_once(this))
		{
			break;
		}
		if (!send_line(this, req))
		{
			disconnect(this);
			continue;
		}
		line = read_line(this);
		if (!line)
		{	/* a reply that never came: do not resend, it may have acted */
			DBG1(DBG_KNL, "kernel-shardgate: no reply from %s", this->path);
			disconnect(this);
			break;
		}
	}
	this->mutex->unlock(this->mutex);
	ok = line && strncmp(line, "{\"ok\":true", 10) == 0;
	if (reply)
	{
		*reply = line;
	}
	else
	{
		free(line);
	}
	return ok;
}

METHOD(shardgate_ctl_t, destroy, void,
	private_shardgate_ctl_t *this)
{
	disconnect(this);
	this->mutex->destroy(this->mutex);
	free(this->path);
	free(this->hello);
	free(this);
}

shardgate_ctl_t *
shardgate_ctl_create(const char *path, int timeout_ms, const char *client)
{
	private_shardgate_ctl_t *this;
	char hello[64];

	snprintf(hello, sizeof(hello), "client %s", client);
	INIT(this,
		.public = {
			.request = _request,
			.destroy = _destroy,
		},
		.path = strdup(path),
		.hello = strdup(hello),
		.timeout_ms = timeout_ms,
		.fd = -1,
		.mutex = mutex_create(MUTEX_TYPE_DEFAULT),
	);
	return &this->public;
}

static const char *
value_of(const char *json, const char *key)
{
	char pat[64];
	const char *p;

	if (!json || snprintf(pat, sizeof(pat), "\"%s\":", key) >= (int)sizeof(pat))
	{
		return NULL;
	}
	p = strstr(json, pat);
	return p ? p + strlen(pat) : NULL;
}

bool
shardgate_ctl_u64(const char *json, const char *key, uint64_t *v)
{
	const char *p = value_of(json, key);
	char *end;

	if (!p || *p < '0' || *p > '9')
	{
		return FALSE;
	}
	errno = 0;
	*v = strtoull(p, &end, 10);
	return errno == 0 && end != p;
}

bool
shardgate_ctl_str(const char *json, const char *key, char *buf, size_t len)
{
	const char *p = value_of(json, key), *q;

	if (!p || *p != '"' || len == 0)
	{
		return FALSE;
	}
	p++;
	/* shardgate's strings carry no escapes (requests.c fail()) */
	q = strchr(p, '"');
	if (!q)
	{
		return FALSE;
	}
	snprintf(buf, len, "%.*s", (int)(q - p), p);
	return TRUE;
}

char *
shardgate_ctl_error(const char *reply)
{
	char buf[512];

	if (!reply)
	{
		return strdup("no reply from shardgate");
	}
	if (shardgate_ctl_str(reply, "error", buf, sizeof(buf)))
	{
		return strdup(buf);
	}
	return strdup(reply);
}
