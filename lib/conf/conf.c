/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The rule-file reader: physical lines to logical lines to words, then one
 * parser per rule keyword, then the whole-file checks.
 *
 * Line handling follows ipsec-secgw's parse_cfg_file(): a line whose first
 * character is '#' is skipped, even inside a continued rule; elsewhere '#'
 * starts a comment; a trailing '\' joins the next line with no blank in
 * between (ep0.cfg splits keys that way). Unlike ipsec-secgw, lines have no
 * length limit, CRLF and blanks after the '\' are tolerated, and a file that
 * ends inside a continued rule is an error rather than a silently lost rule.
 *
 * Key text passes through the file buffer and the logical line: both are
 * grown by copy-and-wipe rather than realloc() and wiped before free().
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sg_common.h"
#include "parse.h"

/* First allocation of a growable array, in elements. */
#define GROW_MIN 16
/* Word separators, as ipsec-secgw's PARSE_DELIMITER. */
#define BLANKS " \f\n\r\t\v"
/* Read the rule file in chunks of at least this many bytes. */
#define READ_CHUNK 4096

/* Where one physical line starts in the logical line. */
struct seg {
	size_t off;
	uint32_t line;
};

/* The logical line being assembled. */
struct lline {
	char *buf; /* may hold key text */
	size_t len;
	size_t cap;
	struct seg *seg;
	uint32_t nb_seg;
	uint32_t cap_seg;
	struct tok *tok;
	uint32_t nb_tok;
	uint32_t cap_tok;
};

/* Grow a buffer that may hold secrets: copy, wipe the old one, free it. */
static int
grow_secret(char **buf, size_t *cap, size_t need)
{
	size_t ncap = *cap < GROW_MIN ? GROW_MIN : *cap;
	char *nbuf;

	if (need <= *cap)
		return 0;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			return -ENOMEM;
		ncap *= 2;
	}
	nbuf = malloc(ncap);
	if (nbuf == NULL)
		return -ENOMEM;
	if (*buf != NULL) {
		memcpy(nbuf, *buf, *cap);
		sg_wipe(*buf, *cap);
		free(*buf);
	}
	*buf = nbuf;
	*cap = ncap;
	return 0;
}

/* Make room for one more element in an array without secrets. */
static int
grow_array(void **arr, uint32_t nb, uint32_t *cap, size_t elt)
{
	uint64_t ncap;
	void *n;

	if (nb < *cap)
		return 0;
	if (nb == UINT32_MAX)
		return -ENOMEM;
	ncap = *cap == 0 ? GROW_MIN : (uint64_t)*cap * 2;
	if (ncap > UINT32_MAX)
		ncap = UINT32_MAX;
	if (ncap > SIZE_MAX / elt)
		return -ENOMEM;
	n = realloc(*arr, (size_t)ncap * elt);
	if (n == NULL)
		return -ENOMEM;
	*arr = n;
	*cap = (uint32_t)ncap;
	return 0;
}

static int
no_memory(const struct parse *p)
{
	conf_err(p, 0, "out of memory");
	return -ENOMEM;
}

int
conf_add_sa(struct parse *p, const struct sg_conf_sa *sa)
{
	struct sg_conf *c = p->conf;
	size_t cap = (size_t)p->cap_sa * sizeof(*c->sa);
	char *buf = (char *)c->sa;

	if (c->nb_sa == p->cap_sa) {
		/* The array holds keys: never realloc() it. */
		if (c->nb_sa == UINT32_MAX || grow_secret(&buf, &cap, cap + sizeof(*c->sa)) != 0)
			return no_memory(p);
		c->sa = (struct sg_conf_sa *)buf;
		p->cap_sa = (uint32_t)RTE_MIN(cap / sizeof(*c->sa), (size_t)UINT32_MAX);
	}
	c->sa[c->nb_sa++] = *sa;
	return 0;
}

int
conf_add_sp(struct parse *p, const struct sg_conf_sp *sp)
{
	struct sg_conf *c = p->conf;

	if (grow_array((void **)&c->sp, c->nb_sp, &p->cap_sp, sizeof(*c->sp)) != 0)
		return no_memory(p);
	c->sp[c->nb_sp++] = *sp;
	return 0;
}

int
conf_add_rt(struct parse *p, const struct sg_conf_rt *rt)
{
	struct sg_conf *c = p->conf;

	if (grow_array((void **)&c->rt, c->nb_rt, &p->cap_rt, sizeof(*c->rt)) != 0)
		return no_memory(p);
	c->rt[c->nb_rt++] = *rt;
	return 0;
}

int
conf_add_neigh(struct parse *p, const struct sg_conf_neigh *nb)
{
	struct sg_conf *c = p->conf;

	if (grow_array((void **)&c->neigh, c->nb_neigh, &p->cap_neigh, sizeof(*c->neigh)) != 0)
		return no_memory(p);
	c->neigh[c->nb_neigh++] = *nb;
	return 0;
}

/* Split the logical line into words in place, each tagged with its physical line. */
static int
tokenize(struct parse *p, struct lline *ll)
{
	uint32_t s = 0;
	size_t i = 0, start;

	ll->nb_tok = 0;
	while (i < ll->len) {
		if (strchr(BLANKS, ll->buf[i]) != NULL) {
			ll->buf[i++] = '\0';
			continue;
		}
		start = i;
		while (i < ll->len && strchr(BLANKS, ll->buf[i]) == NULL)
			i++;
		while (s + 1 < ll->nb_seg && ll->seg[s + 1].off <= start)
			s++;
		if (grow_array((void **)&ll->tok, ll->nb_tok, &ll->cap_tok, sizeof(*ll->tok)) != 0)
			return no_memory(p);
		ll->tok[ll->nb_tok].s = &ll->buf[start];
		ll->tok[ll->nb_tok].line = ll->seg[s].line;
		ll->nb_tok++;
	}
	ll->buf[ll->len] = '\0';
	return 0;
}

static int
unknown_rule(struct parse *p, const struct tok *t)
{
	if (conf_looks_secret(t[0].s))
		return conf_err(p, t[0].line,
			"line starts with a word that looks like key material (not shown); "
			"a continued key must end its line with '\\' and no blank before it");
	return conf_err(p, t[0].line, "unknown rule '%s' (expected sp, sa, rt, neigh or punt)",
		t[0].s);
}

static int
dispatch(struct parse *p, const struct tok *t, uint32_t n)
{
	int rc;

	if (strcmp(t[0].s, "sp") == 0)
		return conf_parse_sp(p, t, n);
	if (strcmp(t[0].s, "rt") == 0)
		return conf_parse_rt(p, t, n);
	if (strcmp(t[0].s, "neigh") == 0)
		return conf_parse_neigh(p, t, n);
	if (strcmp(t[0].s, "punt") == 0)
		return conf_parse_punt(p, t, n);
	if (strcmp(t[0].s, "flow") == 0)
		return conf_err(p, t[0].line,
			"flow: rte_flow rules are not supported yet (SA port_id steers by RSS)");
	/* sa lines hold keys, and a stray piece of a key may start an unknown line. */
	p->redact = true;
	if (strcmp(t[0].s, "sa") == 0)
		rc = conf_parse_sa(p, t, n);
	else
		rc = unknown_rule(p, t);
	p->redact = false;
	return rc;
}

/* Parse the finished logical line, then forget it. */
static int
end_line(struct parse *p, struct lline *ll)
{
	int rc;

	if (grow_secret(&ll->buf, &ll->cap, ll->len + 1) != 0)
		return no_memory(p);
	rc = tokenize(p, ll);
	if (rc == 0 && ll->nb_tok > 0)
		rc = dispatch(p, ll->tok, ll->nb_tok);
	sg_wipe(ll->buf, ll->len);
	ll->len = 0;
	ll->nb_seg = 0;
	return rc;
}

/* Add one physical line (without its '\n') to the logical line. */
static int
feed(struct parse *p, struct lline *ll, const char *s, size_t len, uint32_t line)
{
	const char *c;
	bool cont = false;

	if (memchr(s, '\0', len) != NULL)
		return conf_err(p, line, "NUL byte in the line");
	/* ipsec-secgw skips these whole, so they may sit inside a continued rule. */
	if (len > 0 && s[0] == '#')
		return 0;
	c = memchr(s, '#', len);
	if (c != NULL)
		len = (size_t)(c - s);
	while (len > 0 && strchr(BLANKS, s[len - 1]) != NULL)
		len--;
	if (len > 0 && s[len - 1] == '\\') {
		cont = true;
		len--;
	}
	if (memchr(s, '\\', len) != NULL)
		return conf_err(p, line,
			"stray '\\' (a continuation '\\' must be the last character of the line)");
	if (grow_array((void **)&ll->seg, ll->nb_seg, &ll->cap_seg, sizeof(*ll->seg)) != 0 ||
			grow_secret(&ll->buf, &ll->cap, ll->len + len + 1) != 0)
		return no_memory(p);
	ll->seg[ll->nb_seg].off = ll->len;
	ll->seg[ll->nb_seg].line = line;
	ll->nb_seg++;
	memcpy(ll->buf + ll->len, s, len);
	ll->len += len;
	return cont ? 0 : end_line(p, ll);
}

static int
parse_text(struct parse *p, const char *text, size_t size)
{
	struct lline ll = {0};
	const char *s = text, *nl;
	const char *end = text + size;
	uint32_t line = 0;
	int rc = 0;

	while (rc == 0 && s < end) {
		nl = memchr(s, '\n', (size_t)(end - s));
		if (nl == NULL)
			nl = end;
		if (line == UINT32_MAX) {
			rc = conf_err(p, 0, "too many lines");
			break;
		}
		line++;
		rc = feed(p, &ll, s, (size_t)(nl - s), line);
		s = nl + 1;
	}
	if (rc == 0 && ll.nb_seg > 0)
		rc = conf_err(p, line, "the file ends inside a rule continued with '\\'");
	if (rc == 0)
		rc = conf_check(p);
	if (ll.buf != NULL)
		sg_wipe(ll.buf, ll.cap);
	free(ll.buf);
	free(ll.seg);
	free(ll.tok);
	return rc;
}

static int
parse_begin(struct parse *p, const char *name, struct sg_conf *conf, char *err, size_t errlen)
{
	memset(p, 0, sizeof(*p));
	memset(conf, 0, sizeof(*conf));
	p->conf = conf;
	p->name = name;
	p->err = err;
	p->errlen = errlen;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	conf->file = strdup(name);
	return conf->file == NULL ? no_memory(p) : 0;
}

static int
parse_end(struct sg_conf *conf, int rc)
{
	if (rc != 0)
		sg_conf_free(conf);
	return rc;
}

static int
parse_string(const char *name, const char *text, struct sg_conf *conf, char *err, size_t errlen,
		bool open_refs)
{
	struct parse p;
	int rc;

	if (conf == NULL)
		return -EINVAL;
	if (name == NULL)
		name = "<string>";
	rc = parse_begin(&p, name, conf, err, errlen);
	p.open_refs = open_refs;
	if (rc == 0 && text == NULL)
		rc = conf_err(&p, 0, "no rule text");
	if (rc == 0)
		rc = parse_text(&p, text, strlen(text));
	return parse_end(conf, rc);
}

int
sg_conf_parse_string(const char *name, const char *text, struct sg_conf *conf, char *err,
		size_t errlen)
{
	return parse_string(name, text, conf, err, errlen, false);
}

int
sg_conf_parse_request(const char *name, const char *text, struct sg_conf *conf, char *err,
		size_t errlen)
{
	return parse_string(name, text, conf, err, errlen, true);
}

/* Read all of @p fd into a wipeable buffer (stdio would leave copies behind). */
static int
read_all(int fd, char **buf, size_t *len, size_t *cap)
{
	struct stat st;
	ssize_t r;

	*len = 0;
	if (fstat(fd, &st) == 0 && st.st_size > 0 &&
			grow_secret(buf, cap, (size_t)st.st_size + 1) != 0)
		return -ENOMEM;
	for (;;) {
		if (*cap - *len < READ_CHUNK && grow_secret(buf, cap, *len + READ_CHUNK) != 0)
			return -ENOMEM;
		r = read(fd, *buf + *len, *cap - *len);
		if (r == 0)
			return 0;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		*len += (size_t)r;
	}
}

int
sg_conf_parse_file(const char *path, struct sg_conf *conf, char *err, size_t errlen)
{
	struct parse p;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int fd, rc;

	if (path == NULL || conf == NULL)
		return -EINVAL;
	rc = parse_begin(&p, path, conf, err, errlen);
	if (rc != 0)
		return parse_end(conf, rc);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		conf_err(&p, 0, "cannot open: %s", strerror(-rc));
		return parse_end(conf, rc);
	}
	rc = read_all(fd, &buf, &len, &cap);
	close(fd);
	if (rc == -ENOMEM)
		no_memory(&p);
	else if (rc != 0)
		conf_err(&p, 0, "cannot read: %s", strerror(-rc));
	else
		rc = parse_text(&p, buf, len);
	if (buf != NULL)
		sg_wipe(buf, cap);
	free(buf);
	return parse_end(conf, rc);
}

void
sg_conf_free(struct sg_conf *conf)
{
	if (conf == NULL)
		return;
	/* Whole entries, not only prm: no key byte may survive in freed memory. */
	if (conf->sa != NULL)
		sg_wipe(conf->sa, (size_t)conf->nb_sa * sizeof(*conf->sa));
	free(conf->sa);
	free(conf->sp);
	free(conf->rt);
	free(conf->neigh);
	free(conf->punt);
	free(conf->file);
	memset(conf, 0, sizeof(*conf));
}
