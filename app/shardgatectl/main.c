/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * shardgatectl: send requests to a running shardgate over its control
 * socket and print the JSON replies. Exit 0 when every reply says ok.
 *
 *   shardgatectl [-f FILE_PREFIX | -s SOCKET] REQUEST...
 *   shardgatectl [-f FILE_PREFIX | -s SOCKET] -      (requests from stdin)
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define DEFAULT_PREFIX "rte"
#define REPLY_TIMEOUT_MS 10000

static void
usage(void)
{
	printf("Usage: shardgatectl [-f FILE_PREFIX | -s SOCKET] REQUEST...\n"
	       "       shardgatectl [-f FILE_PREFIX | -s SOCKET] -   (one request per line on stdin)\n"
	       "\n"
	       "Requests (the rule file's grammar):\n"
	       "  add sa in|out SPI aead_algo ALG aead_key KEY mode ipv4-tunnel src A dst B\n"
	       "  add sp ipv4 in|out esp protect SPI|bypass|discard [pri N] [src P] [dst P] ...\n"
	       "  del sa in|out SPI          del sp <the same rule as added>\n"
	       "  rekey in OLD NEW aead_algo ALG aead_key KEY [grace_ms N]\n"
	       "  rekey out OLD NEW aead_algo ALG aead_key KEY\n"
	       "  (AES-CBC: cipher_algo ALG cipher_key KEY auth_algo ALG auth_key KEY in\n"
	       "  place of aead_algo ALG aead_key KEY; AES-GMAC: cipher_algo null\n"
	       "  auth_algo aes-gmac auth_key KEY)\n"
	       "  list sa [PAGE] | list sp | list sessions | list neigh | help\n"
	       "  events [SINCE_ID]          soft/hard lifetime and idle events\n"
	       "  spi alloc [MIN MAX] | spi free SPI | query sa in|out SPI   (key managers)\n"
	       "  client NAME                what this connection adds is NAME's ('-' mode)\n"
	       "  flush origin NAME          remove the SAs and policies client NAME added\n"
	       "\n"
	       "Make-before-break rekey of a tunnel: on the receiver, 'rekey in' (the new SA\n"
	       "is accepted at once, the old one for grace_ms more); then on the sender,\n"
	       "'rekey out'.\n"
	       "\n"
	       "  -f PREFIX   EAL --file-prefix of the gateway (default %s): the socket is\n"
	       "              /var/run/dpdk/PREFIX/shardgate.sock (as root)\n"
	       "  -s PATH     the control socket itself\n",
		DEFAULT_PREFIX);
}

static int
connect_to(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "shardgatectl: %s: path too long\n", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "shardgatectl: cannot connect to %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Send one line, print the one-line reply. 0 when the reply says ok. */
static int
request(int fd, const char *line)
{
	static char buf[1 << 20];
	size_t len = strlen(line), got = 0;
	struct pollfd pf = {.fd = fd, .events = POLLIN};
	char *nl;

	if (send(fd, line, len, MSG_NOSIGNAL) != (ssize_t)len ||
			send(fd, "\n", 1, MSG_NOSIGNAL) != 1) {
		fprintf(stderr, "shardgatectl: send: %s\n", strerror(errno));
		return -1;
	}
	for (;;) {
		ssize_t n;

		if (poll(&pf, 1, REPLY_TIMEOUT_MS) <= 0) {
			fprintf(stderr, "shardgatectl: no reply in %d ms\n", REPLY_TIMEOUT_MS);
			return -1;
		}
		n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
		if (n <= 0) {
			fprintf(stderr, "shardgatectl: connection closed\n");
			return -1;
		}
		got += (size_t)n;
		buf[got] = '\0';
		nl = strchr(buf, '\n');
		if (nl != NULL)
			break;
		if (got == sizeof(buf) - 1) {
			fprintf(stderr, "shardgatectl: reply too long\n");
			return -1;
		}
	}
	*nl = '\0';
	puts(buf);
	return strncmp(buf, "{\"ok\":true", 10) == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	const char *prefix = DEFAULT_PREFIX, *path = NULL;
	char sock[256], *line = NULL, *req;
	size_t cap = 0, len = 0;
	int opt, fd, i, rc = 0;
	ssize_t n;

	while ((opt = getopt(argc, argv, "+f:s:h")) != -1) {
		switch (opt) {
		case 'f':
			prefix = optarg;
			break;
		case 's':
			path = optarg;
			break;
		case 'h':
			usage();
			return 0;
		default:
			usage();
			return 2;
		}
	}
	if (optind >= argc) {
		usage();
		return 2;
	}
	if (path == NULL) {
		snprintf(sock, sizeof(sock), "/var/run/dpdk/%s/shardgate.sock", prefix);
		path = sock;
	}
	fd = connect_to(path);
	if (fd < 0)
		return 2;
	if (strcmp(argv[optind], "-") == 0) {
		while ((n = getline(&line, &cap, stdin)) > 0) {
			if (line[n - 1] == '\n')
				line[n - 1] = '\0';
			if (line[0] == '\0' || line[0] == '#')
				continue;
			i = request(fd, line);
			if (i < 0) {
				rc = 2;
				break;
			}
			rc |= i;
		}
		if (line != NULL)
			explicit_bzero(line, cap); /* requests may carry keys */
		free(line);
	} else {
		for (i = optind; i < argc; i++)
			len += strlen(argv[i]) + 1;
		req = calloc(1, len + 1);
		if (req == NULL)
			return 2;
		for (i = optind; i < argc; i++) {
			strcat(req, argv[i]);
			if (i + 1 < argc)
				strcat(req, " ");
		}
		i = request(fd, req);
		explicit_bzero(req, len);
		free(req);
		rc = i < 0 ? 2 : i;
	}
	close(fd);
	return rc;
}
