/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The sequence-number state file: for every outbound key, the highest
 * sequence number the gateway may have sent under it, made durable before
 * any number up to it goes out. AES-GCM's nonce is the salt and the
 * sequence number (RFC 4106 §3), so a restart that began the count again
 * under the same key would repeat nonces and give the key away.
 *
 * Layout: two 64-byte header copies, then one 64-byte slot per entry, each
 * holding two 32-byte copies of its record. A write goes to the copy that
 * is not the newest, then fdatasync(); a torn write leaves the other copy,
 * whose mark the data path never went past, so a crash loses nothing. A
 * slot whose copies both fail their CRC is a lost entry: the file is not
 * used until an operator says to begin a new one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_jhash.h>

#include "sg_common.h"
#include "sg_sa.h"

#define MAGIC "SGSEQST1"
#define VERSION 1
#define HDR_SIZE 64
#define HDR_AREA (2 * HDR_SIZE)
#define SLOT_SIZE 64
#define REC_SIZE 32
/* Slots of a new file; it doubles as entries are made, up to max_entries. */
#define SLOTS_INITIAL 1024
#define SALT_LEN 16

struct hdr {
	char magic[8];
	uint32_t version;
	uint32_t slots;
	uint8_t salt[SALT_LEN];
	uint32_t gen;
	uint32_t pad0;
	uint64_t floor; /* the highest mark of any entry forgotten; new ones start there */
	uint32_t pad[3];
	uint32_t crc; /* over the bytes before it */
};
_Static_assert(sizeof(struct hdr) == HDR_SIZE, "header is 64 bytes");

struct rec {
	uint8_t fp[SG_SEQSTORE_FP_LEN];
	uint32_t stamp; /* 0: in use when written; else the order it was released in */
	uint64_t mark;  /* no number above it was sent under this key */
	uint32_t gen;   /* the newer of a slot's two copies has the higher gen */
	uint32_t crc;   /* over the bytes before it, seeded with the slot number */
};
_Static_assert(sizeof(struct rec) == REC_SIZE, "record is 32 bytes");

struct entry {
	uint8_t fp[SG_SEQSTORE_FP_LEN];
	uint32_t stamp;
	uint64_t mark;
	uint32_t gen;
	uint8_t used;
	uint8_t live; /* an SA of this run holds it */
};

struct sg_seqstore {
	int fd;
	int dirty;
	char path[256];
	struct hdr hdr;
	struct entry *e;
	uint32_t slots;       /* in the file */
	uint32_t max_entries; /* slots it may grow to */
	uint32_t nb_used;
	uint32_t nb_live;
	uint32_t stamp;       /* last release stamp */
	uint32_t *free_slot;  /* stack of unused slots */
	uint32_t nb_free;
	struct rte_hash *index; /* fingerprint -> slot, once EAL is up */
	int socket;             /* of the index */
};

static void
say(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
say(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static uint32_t
hdr_crc(const struct hdr *h)
{
	return rte_hash_crc(h, offsetof(struct hdr, crc), 0x53475351);
}

static uint32_t
rec_crc(const struct rec *r, uint32_t slot)
{
	return rte_hash_crc(r, offsetof(struct rec, crc), slot ^ 0x5345514e);
}

static off_t
slot_off(uint32_t slot, uint32_t copy)
{
	return (off_t)HDR_AREA + (off_t)slot * SLOT_SIZE + (off_t)copy * REC_SIZE;
}

static int
write_all(int fd, const void *p, size_t n, off_t off)
{
	const uint8_t *b = p;
	ssize_t w;

	while (n > 0) {
		w = pwrite(fd, b, n, off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		b += w;
		n -= (size_t)w;
		off += w;
	}
	return 0;
}

/* Write the header copy that is not the newest, with the next gen. */
static int
write_hdr(struct sg_seqstore *st)
{
	st->hdr.gen++;
	st->hdr.slots = st->slots;
	st->hdr.crc = hdr_crc(&st->hdr);
	return write_all(st->fd, &st->hdr, sizeof(st->hdr), (off_t)(st->hdr.gen & 1) * HDR_SIZE);
}

static int
write_entry(struct sg_seqstore *st, uint32_t slot)
{
	struct entry *e = &st->e[slot];
	struct rec r;
	int ret;

	memset(&r, 0, sizeof(r));
	memcpy(r.fp, e->fp, sizeof(r.fp));
	r.stamp = e->live ? 0 : e->stamp;
	r.mark = e->mark;
	r.gen = e->gen + 1;
	r.crc = rec_crc(&r, slot);
	ret = write_all(st->fd, &r, sizeof(r), slot_off(slot, r.gen & 1));
	if (ret == 0) {
		e->gen = r.gen;
		st->dirty = 1;
	}
	return ret;
}

static int
sync_dir(const char *path)
{
	char dir[256], *slash;
	int fd, ret;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return -errno;
	ret = fsync(fd) == 0 ? 0 : -errno;
	close(fd);
	return ret;
}

/* Room for @p slots entries in memory; the file is grown by the caller. */
static int
grow_mem(struct sg_seqstore *st, uint32_t slots)
{
	struct entry *e = realloc(st->e, (size_t)slots * sizeof(*e));
	uint32_t *f;
	uint32_t i;

	if (e == NULL)
		return -ENOMEM;
	st->e = e;
	memset(&e[st->slots], 0, (size_t)(slots - st->slots) * sizeof(*e));
	f = realloc(st->free_slot, (size_t)slots * sizeof(*f));
	if (f == NULL)
		return -ENOMEM;
	st->free_slot = f;
	/* Lowest slots on top of the stack, so the file fills from the front. */
	for (i = slots; i > st->slots; i--)
		f[st->nb_free++] = i - 1;
	st->slots = slots;
	return 0;
}

/* A new, empty file in place of whatever is at st->fd. */
static int
format(struct sg_seqstore *st)
{
	int ret;

	if (ftruncate(st->fd, 0) != 0)
		return -errno;
	memset(&st->hdr, 0, sizeof(st->hdr));
	memcpy(st->hdr.magic, MAGIC, sizeof(st->hdr.magic));
	st->hdr.version = VERSION;
	if (getrandom(st->hdr.salt, sizeof(st->hdr.salt), 0) != (ssize_t)sizeof(st->hdr.salt))
		return -EIO;
	free(st->e);
	free(st->free_slot);
	st->e = NULL;
	st->free_slot = NULL;
	st->slots = st->nb_free = st->nb_used = st->nb_live = st->stamp = 0;
	ret = grow_mem(st, RTE_MIN((uint32_t)SLOTS_INITIAL, st->max_entries));
	if (ret != 0)
		return ret;
	if (ftruncate(st->fd, slot_off(st->slots, 0)) != 0)
		return -errno;
	/* Both copies, so that neither is left over from an older file. */
	ret = write_hdr(st);
	if (ret == 0)
		ret = write_hdr(st);
	if (ret == 0 && fsync(st->fd) != 0)
		ret = -errno;
	if (ret == 0)
		ret = sync_dir(st->path);
	return ret;
}

/* The newer valid header, or -EBADMSG when neither is. */
static int
read_hdr(struct sg_seqstore *st, char *err, size_t errlen)
{
	struct hdr h[2];
	int ok[2], i;

	memset(h, 0, sizeof(h));
	if (pread(st->fd, h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
		say(err, errlen, "%s: truncated: shorter than its header", st->path);
		return -EBADMSG;
	}
	for (i = 0; i < 2; i++)
		ok[i] = memcmp(h[i].magic, MAGIC, sizeof(h[i].magic)) == 0 &&
				h[i].crc == hdr_crc(&h[i]) && h[i].version == VERSION &&
				h[i].slots != 0 && h[i].slots <= SG_SEQSTORE_MAX_ENTRIES;
	if (!ok[0] && !ok[1]) {
		say(err, errlen, "%s: not a shardgate state file, or its header is corrupt",
				st->path);
		return -EBADMSG;
	}
	i = ok[0] && ok[1] ? (h[1].gen > h[0].gen) : ok[1];
	st->hdr = h[i];
	return 0;
}

static int
read_slots(struct sg_seqstore *st, char *err, size_t errlen)
{
	uint32_t slots = st->hdr.slots, s, c, bad = 0, first_bad = 0;
	struct rec r[2];
	struct stat sb;
	int ok[2], ret;

	if (fstat(st->fd, &sb) != 0)
		return -errno;
	if (sb.st_size < slot_off(slots, 0)) {
		say(err, errlen, "%s: truncated: %lld bytes where its header promises %lld",
				st->path, (long long)sb.st_size, (long long)slot_off(slots, 0));
		return -EBADMSG;
	}
	/* A file made with a higher limit keeps what it holds. */
	st->max_entries = RTE_MAX(st->max_entries, slots);
	ret = grow_mem(st, slots);
	if (ret != 0)
		return ret;
	st->nb_free = 0;
	for (s = 0; s < slots; s++) {
		struct entry *e = &st->e[s];

		if (pread(st->fd, r, sizeof(r), slot_off(s, 0)) != (ssize_t)sizeof(r))
			return -EIO;
		if (sg_all_zero(r, sizeof(r)))
			continue;
		for (c = 0; c < 2; c++)
			ok[c] = r[c].crc == rec_crc(&r[c], s) && !sg_all_zero(&r[c], sizeof(r[c]));
		if (!ok[0] && !ok[1]) {
			if (bad++ == 0)
				first_bad = s;
			continue;
		}
		c = ok[0] && ok[1] ? (r[1].gen > r[0].gen) : (uint32_t)ok[1];
		memcpy(e->fp, r[c].fp, sizeof(e->fp));
		e->mark = r[c].mark;
		e->gen = r[c].gen;
		e->stamp = r[c].stamp;
		e->used = 1;
		st->nb_used++;
		st->stamp = RTE_MAX(st->stamp, e->stamp);
	}
	if (bad != 0) {
		say(err, errlen, "%s: %u entr%s corrupt (first: slot %u of %u): the sequence"
				" numbers of %s are lost", st->path, bad, bad == 1 ? "y is" : "ies are",
				first_bad, slots, bad == 1 ? "an outbound SA" : "outbound SAs");
		return -EBADMSG;
	}
	/* Entries in use when the last run stopped are its newest. */
	for (s = 0; s < slots; s++)
		if (st->e[s].used && st->e[s].stamp == 0)
			st->e[s].stamp = ++st->stamp;
	for (s = slots; s > 0; s--)
		if (!st->e[s - 1].used)
			st->free_slot[st->nb_free++] = s - 1;
	return 0;
}

struct sg_seqstore *
sg_seqstore_open(const char *path, uint32_t max_entries, unsigned int flags, char *err,
		size_t errlen)
{
	struct sg_seqstore *st;
	struct stat sb;
	int ret, fd;

	if (path == NULL || strlen(path) >= sizeof(st->path) ||
			max_entries > SG_SEQSTORE_MAX_ENTRIES) {
		say(err, errlen, "state file: bad path or entry limit");
		rte_errno = EINVAL;
		return NULL;
	}
	st = calloc(1, sizeof(*st));
	if (st == NULL) {
		say(err, errlen, "state file: out of memory");
		rte_errno = ENOMEM;
		return NULL;
	}
	snprintf(st->path, sizeof(st->path), "%s", path);
	st->max_entries = max_entries != 0 ? max_entries : SG_SEQSTORE_MAX_ENTRIES;
	fd = open(path, O_RDWR | O_CLOEXEC | ((flags & SG_SEQSTORE_F_INIT) ? O_CREAT : 0), 0600);
	if (fd < 0) {
		ret = -errno;
		if (ret == -ENOENT)
			say(err, errlen, "%s: missing: the sequence numbers of earlier runs are"
					" unknown", path);
		else
			say(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	st->fd = fd;
	/* One gateway per file: two would hand out the same numbers. */
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		ret = -errno;
		say(err, errlen, "%s: %s", path, errno == EWOULDBLOCK ?
				"in use by another shardgate" : strerror(errno));
		goto close_fd;
	}
	if (fstat(fd, &sb) != 0) {
		ret = -errno;
		goto close_fd;
	}
	if (sb.st_size == 0 && (flags & SG_SEQSTORE_F_INIT)) {
		ret = format(st); /* a new file: nothing was ever sent under it */
		if (ret != 0)
			say(err, errlen, "%s: cannot write it: %s", path, strerror(-ret));
		goto done;
	}
	ret = read_hdr(st, err, errlen);
	if (ret == 0)
		ret = read_slots(st, err, errlen);
	if (ret == -EBADMSG && (flags & SG_SEQSTORE_F_INIT)) {
		SG_LOG(WARNING, "%s; beginning a new state file as told: every outbound SA"
				" starts its count again, so rotate static keys", err);
		ret = format(st);
		if (ret != 0)
			say(err, errlen, "%s: cannot write it: %s", path, strerror(-ret));
	}
done:
	if (ret != 0)
		goto close_fd;
	return st;

close_fd:
	close(fd);
fail:
	free(st->e);
	free(st->free_slot);
	free(st);
	rte_errno = -ret;
	return NULL;
}

/* A fingerprint -> slot index with room for every slot of the file; made
 * anew (and the old one freed) whenever the file grows. */
static int
index_build(struct sg_seqstore *st)
{
	static unsigned int made;
	char name[RTE_HASH_NAMESIZE];
	struct rte_hash_parameters hp = {
		.name = name,
		.entries = RTE_MAX(st->slots, (uint32_t)SLOTS_INITIAL),
		.key_len = SG_SEQSTORE_FP_LEN,
		.hash_func = rte_jhash,
		.socket_id = st->socket,
		.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	struct rte_hash *h;
	uint32_t s;
	int ret;

	snprintf(name, sizeof(name), "sg_seq_%u", made++);
	h = rte_hash_create(&hp);
	if (h == NULL)
		return -rte_errno;
	for (s = 0; s < st->slots; s++) {
		if (!st->e[s].used)
			continue;
		ret = rte_hash_add_key_data(h, st->e[s].fp, (void *)(uintptr_t)s);
		if (ret != 0) {
			rte_hash_free(h);
			return ret;
		}
	}
	rte_hash_free(st->index);
	st->index = h;
	return 0;
}

int
sg_seqstore_index(struct sg_seqstore *st, int socket)
{
	st->socket = socket;
	return index_build(st);
}

void
sg_seqstore_fingerprint(const struct sg_seqstore *st, IMB_MGR *mgr, const struct sg_sa_prm *prm,
		uint8_t fp[SG_SEQSTORE_FP_LEN])
{
	uint8_t buf[SALT_LEN + 2 + SG_CRYPTO_KEY_MAX + SG_CRYPTO_SALT_LEN], tag[32];
	size_t n = 0;

	/* The salt and the key together make the nonce space (RFC 4106 §4);
	 * the file's own salt keeps the fingerprint from naming a key to
	 * anyone who reads two files. Not the SPI: the same key under another
	 * SPI would repeat the same nonces. */
	memcpy(buf, st->hdr.salt, SALT_LEN);
	n += SALT_LEN;
	buf[n++] = (uint8_t)prm->cipher;
	buf[n++] = prm->key_len;
	memcpy(buf + n, prm->key, prm->key_len);
	n += prm->key_len;
	memcpy(buf + n, prm->salt, SG_CRYPTO_SALT_LEN);
	n += SG_CRYPTO_SALT_LEN;
	IMB_SHA256(mgr, buf, n, tag);
	memcpy(fp, tag, SG_SEQSTORE_FP_LEN);
	sg_wipe(buf, sizeof(buf));
	sg_wipe(tag, sizeof(tag));
}

/* Room in the file for @p slots; the header last, once the slots exist. */
static int
grow(struct sg_seqstore *st)
{
	uint32_t slots = (uint32_t)RTE_MIN((uint64_t)st->slots * 2, (uint64_t)st->max_entries);
	uint32_t old = st->slots;
	int ret;

	if (slots <= st->slots)
		return -ENOSPC;
	if (ftruncate(st->fd, slot_off(slots, 0)) != 0)
		return -errno;
	ret = grow_mem(st, slots);
	if (ret == 0 && st->index != NULL)
		ret = index_build(st);
	if (ret == 0)
		ret = write_hdr(st);
	if (ret == 0 && fdatasync(st->fd) != 0)
		ret = -errno;
	if (ret != 0) {
		st->slots = old;
		st->nb_free = 0;
		return ret;
	}
	return 0;
}

/* Forget the entry released longest ago, to make room. Its key may come
 * back (a static key re-added), and nothing then tells it from a new one:
 * so every new entry starts at the highest mark ever forgotten, made
 * durable before the slot is reused. */
static int
evict(struct sg_seqstore *st)
{
	uint32_t s, victim = UINT32_MAX, best = UINT32_MAX;
	uint64_t floor;
	int ret;

	for (s = 0; s < st->slots; s++) {
		const struct entry *e = &st->e[s];
		/* Stamp 0: held when a run ended without releasing it, likely
		 * to be claimed again at once; forget those last. */
		uint32_t age = e->stamp != 0 ? e->stamp : UINT32_MAX;

		if (e->used && !e->live && age <= best) {
			best = age;
			victim = s;
		}
	}
	if (victim == UINT32_MAX)
		return -ENOSPC;
	floor = st->hdr.floor;
	st->hdr.floor = RTE_MAX(floor, st->e[victim].mark);
	ret = write_hdr(st);
	if (ret == 0 && fdatasync(st->fd) != 0)
		ret = -errno;
	if (ret != 0) {
		st->hdr.floor = floor;
		return ret;
	}
	rte_hash_del_key(st->index, st->e[victim].fp);
	st->e[victim].used = 0;
	st->nb_used--;
	st->free_slot[st->nb_free++] = victim;
	return 0;
}

static int
alloc_slot(struct sg_seqstore *st, uint32_t *slot)
{
	int ret = 0;

	if (st->nb_free == 0 && grow(st) != 0)
		ret = evict(st);
	if (ret != 0)
		return ret;
	*slot = st->free_slot[--st->nb_free];
	return 0;
}

static uint64_t
add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

int
sg_seqstore_claim(struct sg_seqstore *st, const uint8_t fp[SG_SEQSTORE_FP_LEN], uint64_t reserve,
		uint64_t *start, uint64_t *limit, uint32_t *slot)
{
	struct entry *e;
	void *data;
	uint32_t s;
	int fresh = 0, ret;

	if (st == NULL || st->index == NULL || reserve == 0)
		return -EINVAL;
	if (rte_hash_lookup_data(st->index, fp, &data) >= 0) {
		s = (uint32_t)(uintptr_t)data;
		if (st->e[s].live)
			return -EBUSY;
	} else {
		ret = alloc_slot(st, &s);
		if (ret != 0)
			return ret;
		ret = rte_hash_add_key_data(st->index, fp, (void *)(uintptr_t)s);
		if (ret != 0) {
			st->free_slot[st->nb_free++] = s;
			return ret;
		}
		e = &st->e[s];
		memset(e, 0, sizeof(*e));
		memcpy(e->fp, fp, sizeof(e->fp));
		e->mark = st->hdr.floor;
		e->used = 1;
		st->nb_used++;
		fresh = 1;
	}
	e = &st->e[s];
	*start = e->mark;
	e->mark = add_sat(e->mark, reserve);
	e->live = 1;
	ret = write_entry(st, s);
	if (ret != 0) {
		e->mark = *start;
		e->live = 0;
		if (fresh) {
			rte_hash_del_key(st->index, fp);
			e->used = 0;
			st->nb_used--;
			st->free_slot[st->nb_free++] = s;
		}
		return ret;
	}
	st->nb_live++;
	*limit = e->mark;
	*slot = s;
	return 0;
}

int
sg_seqstore_extend(struct sg_seqstore *st, uint32_t slot, uint64_t seq, uint64_t reserve,
		uint64_t *limit)
{
	struct entry *e;
	uint64_t old;
	int ret;

	if (st == NULL || slot >= st->slots || !st->e[slot].live || reserve == 0)
		return -ENOENT;
	e = &st->e[slot];
	old = e->mark;
	e->mark = add_sat(RTE_MAX(e->mark, seq), reserve);
	ret = write_entry(st, slot);
	if (ret != 0) {
		e->mark = old;
		return ret;
	}
	*limit = e->mark;
	return 0;
}

int
sg_seqstore_release(struct sg_seqstore *st, uint32_t slot, uint64_t last)
{
	struct entry *e;

	if (st == NULL || slot >= st->slots || !st->e[slot].live)
		return -ENOENT;
	e = &st->e[slot];
	e->live = 0;
	st->nb_live--;
	/* The exact last number gives back what the reservation held. */
	if (last <= e->mark)
		e->mark = last;
	e->stamp = ++st->stamp;
	return write_entry(st, slot);
}

uint64_t
sg_seqstore_mark(const struct sg_seqstore *st, uint32_t slot)
{
	return st != NULL && slot < st->slots && st->e[slot].used ? st->e[slot].mark : 0;
}

int
sg_seqstore_sync(struct sg_seqstore *st)
{
	if (st == NULL || !st->dirty)
		return 0;
	if (fdatasync(st->fd) != 0)
		return -errno;
	st->dirty = 0;
	return 0;
}

uint32_t
sg_seqstore_count(const struct sg_seqstore *st, uint32_t *live)
{
	if (live != NULL)
		*live = st != NULL ? st->nb_live : 0;
	return st != NULL ? st->nb_used : 0;
}

void
sg_seqstore_close(struct sg_seqstore *st)
{
	if (st == NULL)
		return;
	sg_seqstore_sync(st);
	rte_hash_free(st->index);
	close(st->fd); /* drops the lock */
	free(st->e);
	free(st->free_slot);
	sg_wipe(&st->hdr, sizeof(st->hdr));
	free(st);
}
