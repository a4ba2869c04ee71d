/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * "sa" lines: ipsec-secgw's parse_sa_tokens() grammar, plus shardgate's
 * extensions (replay_win, lifetime_*, idle_timeout) in the same
 * keyword-value form. Whatever ipsec-secgw accepts but shardgate cannot
 * honour yet is refused with a reason, never skipped.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <rte_common.h>

#include "sg_common.h"
#include "parse.h"

enum sa_kw {
	KW_AEAD_ALGO,
	KW_AEAD_KEY,
	KW_MODE,
	KW_SRC,
	KW_DST,
	KW_TYPE,
	KW_PORT_ID,
	KW_ESN,
	KW_REPLAY_WIN,
	KW_LIFE_SOFT_SEC,
	KW_LIFE_HARD_SEC,
	KW_LIFE_SOFT_BYTES,
	KW_LIFE_HARD_BYTES,
	KW_LIFE_SOFT_PACKETS,
	KW_LIFE_HARD_PACKETS,
	KW_IDLE_TIMEOUT,
	KW_UDP_ENCAP,       /* udp_encap SPORT DPORT */
	KW_UDP_ENCAP_SECGW, /* udp-encap: ipsec-secgw's, ports 4500 4500 */
	KW_TFC_PAD,         /* tfc_pad SIZE... */
	KW_CIPHER_ALGO,
	KW_CIPHER_KEY,
	KW_AUTH_ALGO,
	KW_AUTH_KEY,
	KW_MAX
};

/* Where a lifetime keyword lands in struct sg_sa_lifetime. */
struct life_field {
	size_t off;
	size_t size; /* sizeof(uint32_t) or sizeof(uint64_t) */
};

#define LIFE(f) {offsetof(struct sg_sa_lifetime, f), sizeof(((struct sg_sa_lifetime *)0)->f)}

static const struct {
	const char *name;
	struct life_field life;
} sa_kws[KW_MAX] = {
	[KW_AEAD_ALGO] = {"aead_algo", {0, 0}},
	[KW_AEAD_KEY] = {"aead_key", {0, 0}},
	[KW_MODE] = {"mode", {0, 0}},
	[KW_SRC] = {"src", {0, 0}},
	[KW_DST] = {"dst", {0, 0}},
	[KW_TYPE] = {"type", {0, 0}},
	[KW_PORT_ID] = {"port_id", {0, 0}},
	[KW_ESN] = {"esn", {0, 0}},
	[KW_REPLAY_WIN] = {"replay_win", {0, 0}},
	[KW_LIFE_SOFT_SEC] = {"lifetime_soft_sec", LIFE(soft_sec)},
	[KW_LIFE_HARD_SEC] = {"lifetime_hard_sec", LIFE(hard_sec)},
	[KW_LIFE_SOFT_BYTES] = {"lifetime_soft_bytes", LIFE(soft_bytes)},
	[KW_LIFE_HARD_BYTES] = {"lifetime_hard_bytes", LIFE(hard_bytes)},
	[KW_LIFE_SOFT_PACKETS] = {"lifetime_soft_packets", LIFE(soft_packets)},
	[KW_LIFE_HARD_PACKETS] = {"lifetime_hard_packets", LIFE(hard_packets)},
	[KW_IDLE_TIMEOUT] = {"idle_timeout", LIFE(idle_sec)},
	[KW_UDP_ENCAP] = {"udp_encap", {0, 0}},
	[KW_UDP_ENCAP_SECGW] = {"udp-encap", {0, 0}},
	[KW_TFC_PAD] = {"tfc_pad", {0, 0}},
	[KW_CIPHER_ALGO] = {"cipher_algo", {0, 0}},
	[KW_CIPHER_KEY] = {"cipher_key", {0, 0}},
	[KW_AUTH_ALGO] = {"auth_algo", {0, 0}},
	[KW_AUTH_KEY] = {"auth_key", {0, 0}},
};

#undef LIFE

_Static_assert(KW_MAX <= 32, "one bit per SA keyword in sa_state.seen");

/* ipsec-secgw SA keywords shardgate refuses, and why (sa.c, DPDK 22.11). */
static const struct {
	const char *name;
	const char *why;
} sa_unsupported[] = {
	{"fallback", "(inline-crypto fallback session) is not supported yet"},
	{"flow-direction", "(rte_flow queue steering) is not supported yet; "
		"port_id N steers the SA by RSS"},
	{"reassembly_en", "(inline IP reassembly offload) is not supported yet"},
	{"mss", "(TSO segment size) is not supported yet"},
	{"telemetry", "(per-SA telemetry switch) is not supported yet"},
};

/* ipsec-secgw algorithm names shardgate does not have yet (sa.c
 * aead_algos[], cipher_algos[], auth_algos[]). */
static const char *const aead_later[] = {
	"aes-128-ccm", "aes-192-ccm", "aes-256-ccm",
};
static const char *const cipher_later[] = {
	"aes-128-ctr", "aes-192-ctr", "aes-256-ctr", "3des-cbc", "des-cbc",
};
static const char *const auth_later[] = {"aes-xcbc-mac"};

/* "cipher_algo null" is ipsec-secgw's word for no encryption; GMAC is the
 * only integrity shardgate takes without it (RFC 4543's NULL_AUTH_AES_GMAC). */
#define CIPHER_NULL SG_CIPHER_MAX
/* "auth_algo aes-gmac": which GMAC follows from the key's length. */
#define AUTH_GMAC SG_AUTH_MAX

/* Offload types: all mean software crypto here; the others need hardware. */
static const char *const type_ok[] = {"no-offload", "lookaside-none", "cpu-crypto"};
static const char *const type_later[] = {
	"inline-crypto-offload", "inline-protocol-offload", "lookaside-protocol-offload",
};

/* Room for a list of supported algorithm names in a message. */
#define NAMES_LEN 160

static bool
in_list(const char *s, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

/* Whether @p c is what "aead_algo" names (GMAC goes by "auth_algo aes-gmac"). */
static bool
is_aead(unsigned int c)
{
	return c < SG_CIPHER_MAX && sg_crypto_xform_id((enum sg_cipher)c, SG_AUTH_AEAD) >= 0 &&
			c != SG_AEAD_AES128_GMAC && c != SG_AEAD_AES192_GMAC &&
			c != SG_AEAD_AES256_GMAC;
}

static bool
is_cbc(unsigned int c)
{
	return c < SG_CIPHER_MAX && !sg_crypto_has_salt((enum sg_cipher)c);
}

/* "aes-128-gcm, aes-256-gcm, ...": the names lib/crypto implements of one
 * kind: AEADs (kind 0), ciphers (1), or integrity algorithms (2). */
static const char *
alg_names(char *buf, size_t len, int kind)
{
	const char *name;
	size_t used = 0;
	unsigned int a;
	int n;

	buf[0] = '\0';
	for (a = 0; a < (kind == 2 ? SG_AUTH_MAX + 1u : SG_CIPHER_MAX + 1u) && used < len; a++) {
		if (kind == 0)
			name = is_aead(a) ? sg_crypto_cipher_name((enum sg_cipher)a) : NULL;
		else if (kind == 1)
			name = is_cbc(a) ? sg_crypto_cipher_name((enum sg_cipher)a) :
					a == CIPHER_NULL ? "null (with aes-gmac)" : NULL;
		else
			name = a == AUTH_GMAC ? "aes-gmac (with cipher_algo null)" :
					sg_crypto_auth_name((enum sg_auth)a);
		if (name == NULL)
			continue;
		n = snprintf(buf + used, len - used, "%s%s", used == 0 ? "" : ", ", name);
		if (n < 0)
			break;
		used += (size_t)n;
	}
	return buf;
}

static const char *
aead_names(char *buf, size_t len)
{
	return alg_names(buf, len, 0);
}

/* Keywords one SA line has seen so far, and the cipher_algo and auth_algo
 * choices, which only make an SA's transform together. */
struct sa_state {
	uint32_t seen;        /* bit per enum sa_kw */
	unsigned int cipher;  /* enum sg_cipher (AES-CBC) or CIPHER_NULL */
	unsigned int auth;    /* enum sg_auth (an HMAC) or AUTH_GMAC */
	unsigned int gmac_len; /* AUTH_GMAC: the key's length, salt included */
	uint32_t cipher_line, auth_line;
};

static bool
has(const struct sa_state *st, enum sa_kw kw)
{
	return (st->seen & (UINT32_C(1) << kw)) != 0;
}

/*
 * The key that must follow algorithm @p v (ipsec-secgw wants it right
 * after): "KEY_KW hex" into @p raw. Returns 0 with *got bytes, else the
 * error, with the key never shown.
 */
static int
parse_key(struct parse *p, const struct tok *t, uint32_t n, uint32_t *i, const char *algo_kw,
		const struct tok *v, const char *key_kw, uint8_t *raw, size_t size, size_t *got)
{
	const struct tok *k;
	const char *why;

	if (*i + 1 >= n)
		return conf_err(p, v->line, "sa: missing '%s' after '%s %s'", key_kw, algo_kw,
			v->s);
	k = &t[++*i];
	if (strcmp(k->s, key_kw) != 0) {
		if (conf_looks_secret(k->s))
			return conf_err(p, k->line, "sa: expected '%s' after '%s %s' "
				"(found a word that looks like key material, not shown)", key_kw,
				algo_kw, v->s);
		return conf_err(p, k->line, "sa: expected '%s' after '%s %s', got '%s'", key_kw,
			algo_kw, v->s, k->s);
	}
	k = conf_value(p, "sa", t, n, i);
	if (k == NULL)
		return -EINVAL;
	why = conf_scan_hex(k->s, raw, size, got);
	if (why != NULL) {
		sg_wipe(raw, size);
		return conf_err(p, k->line, "sa: %s %s (key not shown)", key_kw, why);
	}
	return 0;
}

/* Index of @p s among names[0..n) as @p name() gives them, or n. */
static unsigned int
find_name(const char *s, unsigned int n, const char *(*name)(unsigned int))
{
	unsigned int a;

	for (a = 0; a < n; a++)
		if (name(a) != NULL && strcmp(s, name(a)) == 0)
			break;
	return a;
}

static const char *
aead_name_of(unsigned int a)
{
	return is_aead(a) ? sg_crypto_cipher_name((enum sg_cipher)a) : NULL;
}

static const char *
cbc_name_of(unsigned int a)
{
	return is_cbc(a) ? sg_crypto_cipher_name((enum sg_cipher)a) : NULL;
}

static const char *
auth_name_of(unsigned int a)
{
	return sg_crypto_auth_name((enum sg_auth)a);
}

/*
 * The algorithm @p v names, by @p name_of among @p n, into *out; else an
 * error for keyword @p kw that lists the supported names (alg_names() @p
 * kind), and says "not supported yet" for one of ipsec-secgw's in @p later.
 */
static int
lookup_alg(struct parse *p, const struct tok *v, const char *kw, unsigned int n,
		const char *(*name_of)(unsigned int), const char *const *later, size_t nlater,
		int kind, unsigned int *out)
{
	char names[NAMES_LEN];
	unsigned int a = find_name(v->s, n, name_of);

	if (a == n && in_list(v->s, later, nlater))
		return conf_err(p, v->line, "sa: %s %s is not supported yet (only %s)", kw, v->s,
			alg_names(names, sizeof(names), kind));
	if (a == n)
		return conf_err(p, v->line, "sa: unknown %s '%s' (supported: %s)", kw, v->s,
			alg_names(names, sizeof(names), kind));
	*out = a;
	return 0;
}

static int
parse_aead(struct parse *p, const struct tok *t, uint32_t n, uint32_t *i, struct sg_sa_prm *prm)
{
	uint8_t raw[SG_CRYPTO_KEY_MAX + SG_CRYPTO_SALT_LEN];
	const struct tok *v;
	unsigned int a = 0, key_len;
	size_t got;
	int rc;

	v = conf_value(p, "sa", t, n, i);
	if (v == NULL)
		return -EINVAL;
	rc = lookup_alg(p, v, "aead_algo", SG_CIPHER_MAX, aead_name_of, aead_later,
			RTE_DIM(aead_later), 0, &a);
	if (rc != 0)
		return rc;
	key_len = sg_crypto_key_len((enum sg_cipher)a);
	rc = parse_key(p, t, n, i, "aead_algo", v, "aead_key", raw, sizeof(raw), &got);
	if (rc != 0)
		return rc;
	/* RFC 4106 §8.1: the last 4 bytes of the keying material are the salt. */
	if (got != key_len + SG_CRYPTO_SALT_LEN) {
		sg_wipe(raw, sizeof(raw));
		return conf_err(p, t[*i].line,
			"sa: aead_key for %s must be %u bytes (%u-byte key + %u-byte salt), "
			"got %zu", v->s, key_len + SG_CRYPTO_SALT_LEN, key_len, SG_CRYPTO_SALT_LEN,
			got);
	}
	prm->cipher = (enum sg_cipher)a;
	prm->auth = SG_AUTH_AEAD;
	prm->key_len = (uint8_t)key_len;
	memcpy(prm->key, raw, key_len);
	memcpy(prm->salt, raw + key_len, SG_CRYPTO_SALT_LEN);
	sg_wipe(raw, sizeof(raw));
	return 0;
}

/* "cipher_algo aes-128-cbc cipher_key K", or "cipher_algo null" (no key). */
static int
parse_cipher(struct parse *p, const struct tok *t, uint32_t n, uint32_t *i, struct sg_sa_prm *prm,
		struct sa_state *st)
{
	uint8_t raw[SG_CRYPTO_KEY_MAX];
	const struct tok *v;
	unsigned int c = 0, key_len;
	size_t got;
	int rc;

	v = conf_value(p, "sa", t, n, i);
	if (v == NULL)
		return -EINVAL;
	st->cipher_line = v->line;
	if (strcmp(v->s, "null") == 0) {
		st->cipher = CIPHER_NULL;
		return 0;
	}
	rc = lookup_alg(p, v, "cipher_algo", SG_CIPHER_MAX, cbc_name_of, cipher_later,
			RTE_DIM(cipher_later), 1, &c);
	if (rc != 0)
		return rc;
	key_len = sg_crypto_key_len((enum sg_cipher)c);
	rc = parse_key(p, t, n, i, "cipher_algo", v, "cipher_key", raw, sizeof(raw), &got);
	if (rc != 0)
		return rc;
	if (got != key_len) {
		sg_wipe(raw, sizeof(raw));
		return conf_err(p, t[*i].line, "sa: cipher_key for %s must be %u bytes, got %zu",
			v->s, key_len, got);
	}
	st->cipher = c;
	prm->key_len = (uint8_t)key_len;
	memcpy(prm->key, raw, key_len);
	sg_wipe(raw, sizeof(raw));
	return 0;
}

/* "auth_algo sha1-hmac auth_key K", or "auth_algo aes-gmac auth_key K"
 * with a GMAC key and salt (RFC 4543 §3.2) of 20, 28 or 36 bytes. */
static int
parse_auth(struct parse *p, const struct tok *t, uint32_t n, uint32_t *i, struct sg_sa_prm *prm,
		struct sa_state *st)
{
	uint8_t raw[SG_CRYPTO_AUTH_KEY_MAX];
	const struct tok *v;
	unsigned int a = AUTH_GMAC, key_len;
	size_t got;
	int rc;

	v = conf_value(p, "sa", t, n, i);
	if (v == NULL)
		return -EINVAL;
	st->auth_line = v->line;
	if (strcmp(v->s, "null") == 0)
		return conf_err(p, v->line, "sa: auth_algo null is refused: ESP without "
			"integrity is open to active attacks (RFC 4303 §3.2); use an HMAC or an "
			"aead_algo");
	if (strcmp(v->s, "aes-gmac") != 0) {
		rc = lookup_alg(p, v, "auth_algo", SG_AUTH_MAX, auth_name_of, auth_later,
				RTE_DIM(auth_later), 2, &a);
		if (rc != 0)
			return rc;
	}
	rc = parse_key(p, t, n, i, "auth_algo", v, "auth_key", raw, sizeof(raw), &got);
	if (rc != 0)
		return rc;
	if (a == AUTH_GMAC) {
		if (got != 16 + SG_CRYPTO_SALT_LEN && got != 24 + SG_CRYPTO_SALT_LEN &&
				got != 32 + SG_CRYPTO_SALT_LEN) {
			sg_wipe(raw, sizeof(raw));
			return conf_err(p, t[*i].line, "sa: auth_key for aes-gmac must be 20, 28 "
				"or 36 bytes (a 16-, 24- or 32-byte key + 4-byte salt), got %zu",
				got);
		}
		key_len = (unsigned int)got - SG_CRYPTO_SALT_LEN;
		memcpy(prm->key, raw, key_len);
		memcpy(prm->salt, raw + key_len, SG_CRYPTO_SALT_LEN);
		prm->key_len = (uint8_t)key_len;
		st->gmac_len = (unsigned int)got;
	} else {
		key_len = sg_crypto_auth_key_len((enum sg_auth)a);
		if (got != key_len) {
			sg_wipe(raw, sizeof(raw));
			return conf_err(p, t[*i].line, "sa: auth_key for %s must be %u bytes, "
				"got %zu", v->s, key_len, got);
		}
		memcpy(prm->auth_key, raw, key_len);
		prm->auth_key_len = (uint8_t)key_len;
	}
	st->auth = a;
	sg_wipe(raw, sizeof(raw));
	return 0;
}

/*
 * The SA's transform from what its line named: an aead_algo alone, or
 * cipher_algo with auth_algo (AES-CBC with an HMAC, or null with GMAC).
 */
static int
resolve_algs(struct parse *p, struct sg_conf_sa *sa, const struct sa_state *st)
{
	bool aead = has(st, KW_AEAD_ALGO), c = has(st, KW_CIPHER_ALGO), a = has(st, KW_AUTH_ALGO);
	const char *d = sa->prm.dir == SG_SA_IN ? "in" : "out";
	char names[NAMES_LEN];

	if (aead && (c || a))
		return conf_err(p, c ? st->cipher_line : st->auth_line, "sa: aead_algo and %s: "
			"an AEAD authenticates itself, give one or the other",
			c ? "cipher_algo" : "auth_algo");
	if (aead)
		return 0;
	if (!c && !a)
		return conf_err(p, sa->line, "sa %s %" PRIu32 ": missing aead_algo (supported: "
			"%s), or cipher_algo and auth_algo", d, sa->prm.spi,
			aead_names(names, sizeof(names)));
	if (!a)
		return conf_err(p, st->cipher_line, "sa: cipher_algo %s needs an auth_algo (%s)",
			st->cipher == CIPHER_NULL ? "null" :
			sg_crypto_cipher_name((enum sg_cipher)st->cipher),
			alg_names(names, sizeof(names), 2));
	if (!c)
		return conf_err(p, st->auth_line, "sa: auth_algo needs a cipher_algo (%s)",
			alg_names(names, sizeof(names), 1));
	if (st->auth == AUTH_GMAC) {
		if (st->cipher != CIPHER_NULL)
			return conf_err(p, st->cipher_line, "sa: auth_algo aes-gmac authenticates "
				"alone: it goes with cipher_algo null (RFC 4543)");
		sa->prm.cipher = st->gmac_len == 16 + SG_CRYPTO_SALT_LEN ? SG_AEAD_AES128_GMAC :
				st->gmac_len == 24 + SG_CRYPTO_SALT_LEN ? SG_AEAD_AES192_GMAC :
				SG_AEAD_AES256_GMAC;
		sa->prm.auth = SG_AUTH_AEAD;
		return 0;
	}
	if (st->cipher == CIPHER_NULL)
		return conf_err(p, st->cipher_line, "sa: cipher_algo null with %s is not "
			"supported yet (integrity without encryption: only with aes-gmac)",
			sg_crypto_auth_name((enum sg_auth)st->auth));
	sa->prm.cipher = (enum sg_cipher)st->cipher;
	sa->prm.auth = (enum sg_auth)st->auth;
	return 0;
}

static int
parse_mode(struct parse *p, const struct tok *v, struct sg_sa_prm *prm)
{
	if (strcmp(v->s, "ipv4-tunnel") == 0) {
		prm->mode = SG_SA_TUNNEL4;
		return 0;
	}
	if (strcmp(v->s, "transport") == 0) {
		prm->mode = SG_SA_TRANSPORT4;
		return 0;
	}
	if (strcmp(v->s, "ipv6-tunnel") == 0)
		return conf_err(p, v->line, "sa: mode %s is not supported yet (only ipv4-tunnel "
			"and transport)", v->s);
	return conf_err(p, v->line, "sa: unknown mode '%s' (expected ipv4-tunnel or transport)",
		v->s);
}

/* RFC 3948 §2.1 and IKEv2's NAT-T port. */
#define NATT_PORT 4500

/*
 * "udp_encap SPORT DPORT": ESP in UDP with these outer ports on this SA's
 * packets (an outbound SA's SPORT is ours; an inbound SA's DPORT is). "udp-
 * encap" is ipsec-secgw's word for the same with 4500 both ways.
 */
static int
parse_udp_encap(struct parse *p, const struct tok *t, uint32_t n, uint32_t *i,
		struct sg_conf_sa *sa, const struct sa_state *st)
{
	const struct tok *v;
	uint64_t port[2];
	int k, rc;

	if (has(st, KW_UDP_ENCAP) && has(st, KW_UDP_ENCAP_SECGW))
		return conf_err(p, t[*i].line, "sa: udp_encap and udp-encap: give one of them");
	sa->prm.udp_encap = true;
	if (strcmp(t[*i].s, "udp-encap") == 0) {
		sa->prm.udp_sport = NATT_PORT;
		sa->prm.udp_dport = NATT_PORT;
		return 0;
	}
	for (k = 0; k < 2; k++) {
		/* "missing value after 'udp_encap'" (or after SPORT) */
		v = conf_value(p, "sa", t, n, i);
		if (v == NULL)
			return -EINVAL;
		rc = conf_num(p, "sa", k == 0 ? "udp_encap SPORT" : "udp_encap DPORT", v, 1,
				UINT16_MAX, &port[k]);
		if (rc != 0)
			return rc;
	}
	sa->prm.udp_sport = (uint16_t)port[0];
	sa->prm.udp_dport = (uint16_t)port[1];
	return 0;
}

static int
parse_type(struct parse *p, const struct tok *v)
{
	if (in_list(v->s, type_ok, RTE_DIM(type_ok)))
		return 0;
	if (in_list(v->s, type_later, RTE_DIM(type_later)))
		return conf_err(p, v->line, "sa: type %s is not supported yet (crypto runs in "
			"software: use no-offload, lookaside-none or cpu-crypto)", v->s);
	return conf_err(p, v->line, "sa: unknown type '%s' (expected no-offload, "
		"lookaside-none or cpu-crypto)", v->s);
}

/*
 * ipsec-secgw writes "esn N": N > 0 turns ESN on starting at sequence N,
 * N = 0 leaves it to the -e option. shardgate also takes a bare "esn".
 */
static int
parse_esn(struct parse *p, const struct tok *t, uint32_t n, uint32_t *i, struct sg_conf_sa *sa)
{
	const struct tok *v;
	uint64_t start;
	int rc;

	/* No keyword is a number, so a number after "esn" is its value. */
	if (*i + 1 >= n || !conf_is_digits(t[*i + 1].s)) {
		sa->prm.esn = true;
		sa->esn_set = true;
		return 0;
	}
	v = conf_value(p, "sa", t, n, i);
	/* the last number is never sent: an SA must have one left to send */
	rc = conf_num(p, "sa", "esn", v, 0, UINT64_MAX - 1, &start);
	if (rc != 0 || start == 0)
		return rc;
	sa->prm.esn = true;
	sa->esn_set = true;
	sa->prm.esn_start = start;
	return 0;
}

/* "mtu" in a tfc_pad list: as far as the MTU allows. */
static bool
tfc_word(const char *s)
{
	return conf_is_digits(s) || strcmp(s, "mtu") == 0;
}

/*
 * "tfc_pad SIZE [SIZE...]" (RFC 4303 §2.7): an outbound SA pads each inner
 * packet up to the first of these ascending sizes (bytes) that holds it;
 * "mtu", last, pads as far as the MTU allows (strongSwan's tfc_padding).
 * No keyword is a number or "mtu", so the list ends at the next keyword.
 */
static int
parse_tfc(struct parse *p, const struct tok *t, uint32_t n, uint32_t *i, struct sg_conf_sa *sa)
{
	const struct tok *kw = &t[*i], *v;
	uint16_t *tfc = sa->prm.tfc;
	unsigned int k = 0;
	uint64_t x;
	int rc;

	if (sa->prm.dir != SG_SA_OUT)
		return conf_err(p, kw->line, "sa: tfc_pad applies to outbound SAs only "
			"(inbound, padding of any size is removed)");
	while (*i + 1 < n && tfc_word(t[*i + 1].s)) {
		v = &t[++*i];
		if (k == SG_SA_TFC_BUCKETS)
			return conf_err(p, v->line, "sa: tfc_pad takes at most %u sizes",
				SG_SA_TFC_BUCKETS);
		if (k > 0 && tfc[k - 1] == SG_SA_TFC_MTU)
			return conf_err(p, v->line, "sa: tfc_pad: 'mtu' must be the last size");
		if (strcmp(v->s, "mtu") == 0) {
			x = SG_SA_TFC_MTU;
		} else {
			rc = conf_num(p, "sa", "tfc_pad", v, 1, SG_SA_TFC_MTU - 1, &x);
			if (rc != 0)
				return rc;
			if (k > 0 && x <= tfc[k - 1])
				return conf_err(p, v->line, "sa: tfc_pad sizes must ascend, "
					"but %s follows %u", v->s, tfc[k - 1]);
		}
		tfc[k++] = (uint16_t)x;
	}
	if (k == 0)
		return conf_err(p, kw->line, "sa: missing size after 'tfc_pad' (bytes, or 'mtu')");
	return 0;
}

static int
parse_unsupported(struct parse *p, const struct tok *t, uint32_t n, uint32_t i)
{
	size_t k;

	(void)n;
	for (k = 0; k < RTE_DIM(sa_unsupported); k++)
		if (strcmp(t[i].s, sa_unsupported[k].name) == 0)
			return conf_err(p, t[i].line, "sa: %s %s", t[i].s, sa_unsupported[k].why);
	if (conf_looks_secret(t[i].s))
		return conf_err(p, t[i].line, "sa: unexpected word that looks like key material "
			"(not shown); a key continued on the next line needs '\\' right after it");
	return conf_err(p, t[i].line, "sa: unknown keyword '%s'", t[i].s);
}

static int
parse_addr(struct parse *p, const struct tok *kw, const struct tok *v, uint32_t *addr)
{
	const char *why = conf_scan_ipv4(v->s, addr);

	if (why == NULL)
		return 0;
	return conf_err(p, v->line, "sa: %s '%s' %s", kw->s, v->s, why);
}

static int
parse_life(struct parse *p, const struct tok *kw, const struct tok *v, enum sa_kw k,
		struct sg_sa_lifetime *life)
{
	uint8_t *dst = (uint8_t *)life + sa_kws[k].life.off;
	uint64_t x;
	uint32_t x32;
	int rc;

	if (sa_kws[k].life.size == sizeof(uint32_t)) {
		rc = conf_num(p, "sa", kw->s, v, 0, UINT32_MAX, &x);
		if (rc == 0) {
			x32 = (uint32_t)x;
			memcpy(dst, &x32, sizeof(x32));
		}
	} else {
		rc = conf_num(p, "sa", kw->s, v, 0, UINT64_MAX, &x);
		if (rc == 0)
			memcpy(dst, &x, sizeof(x));
	}
	return rc;
}

static int
parse_words(struct parse *p, const struct tok *t, uint32_t n, struct sg_conf_sa *sa,
		struct sa_state *st)
{
	const struct tok *v;
	unsigned int k;
	enum sa_kw kw;
	uint64_t x;
	uint32_t i;
	int rc;

	for (i = 3; i < n; i++) {
		for (k = 0; k < KW_MAX; k++)
			if (strcmp(t[i].s, sa_kws[k].name) == 0)
				break;
		if (k == KW_MAX)
			return parse_unsupported(p, t, n, i);
		kw = (enum sa_kw)k;
		if (has(st, kw))
			return conf_err(p, t[i].line, "sa: '%s' given twice", t[i].s);
		st->seen |= UINT32_C(1) << kw;
		if (kw == KW_AEAD_ALGO) {
			rc = parse_aead(p, t, n, &i, &sa->prm);
		} else if (kw == KW_CIPHER_ALGO) {
			rc = parse_cipher(p, t, n, &i, &sa->prm, st);
		} else if (kw == KW_AUTH_ALGO) {
			rc = parse_auth(p, t, n, &i, &sa->prm, st);
		} else if (kw == KW_AEAD_KEY || kw == KW_CIPHER_KEY || kw == KW_AUTH_KEY) {
			rc = conf_err(p, t[i].line, "sa: '%s' must follow '%s <algorithm>'",
				t[i].s, kw == KW_AEAD_KEY ? "aead_algo" :
				kw == KW_CIPHER_KEY ? "cipher_algo" : "auth_algo");
		} else if (kw == KW_ESN) {
			rc = parse_esn(p, t, n, &i, sa);
		} else if (kw == KW_UDP_ENCAP || kw == KW_UDP_ENCAP_SECGW) {
			rc = parse_udp_encap(p, t, n, &i, sa, st);
		} else if (kw == KW_TFC_PAD) {
			rc = parse_tfc(p, t, n, &i, sa);
		} else {
			v = conf_value(p, "sa", t, n, &i);
			if (v == NULL)
				return -EINVAL;
			switch (kw) {
			case KW_MODE:
				rc = parse_mode(p, v, &sa->prm);
				break;
			case KW_SRC:
				rc = parse_addr(p, &t[i - 1], v, &sa->prm.tun_src);
				break;
			case KW_DST:
				rc = parse_addr(p, &t[i - 1], v, &sa->prm.tun_dst);
				break;
			case KW_TYPE:
				rc = parse_type(p, v);
				break;
			case KW_PORT_ID:
				rc = conf_num(p, "sa", "port_id", v, 0, RTE_MAX_ETHPORTS - 1, &x);
				if (rc == 0)
					sa->port_id = (int32_t)x;
				break;
			case KW_REPLAY_WIN:
				/* RFC 4303 §3.4.3: only the receiver keeps a window. */
				if (sa->prm.dir != SG_SA_IN)
					return conf_err(p, t[i - 1].line,
						"sa: replay_win applies to inbound SAs only");
				rc = conf_num(p, "sa", "replay_win", v, 0, SG_REPLAY_WIN_MAX, &x);
				if (rc == 0)
					sa->prm.replay_win = (uint32_t)x;
				break;
			default:
				rc = parse_life(p, &t[i - 1], v, kw, &sa->prm.life);
				break;
			}
		}
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Checks on the complete rule; errors name the line the rule starts on. */
static int
check_sa(struct parse *p, struct sg_conf_sa *sa, const struct sa_state *st)
{
	static const struct {
		enum sa_kw soft, hard;
	} pairs[] = {
		{KW_LIFE_SOFT_SEC, KW_LIFE_HARD_SEC},
		{KW_LIFE_SOFT_BYTES, KW_LIFE_HARD_BYTES},
		{KW_LIFE_SOFT_PACKETS, KW_LIFE_HARD_PACKETS},
	};
	const struct sg_sa_lifetime *l = &sa->prm.life;
	const uint64_t soft[] = {l->soft_sec, l->soft_bytes, l->soft_packets};
	const uint64_t hard[] = {l->hard_sec, l->hard_bytes, l->hard_packets};
	const char *d = sa->prm.dir == SG_SA_IN ? "in" : "out";
	uint32_t spi = sa->prm.spi;
	size_t k;
	int rc;

	rc = resolve_algs(p, sa, st);
	if (rc != 0)
		return rc;
	if (!has(st, KW_MODE))
		return conf_err(p, sa->line, "sa %s %" PRIu32 ": missing 'mode ipv4-tunnel' (or "
			"'mode transport')", d, spi);
	if (sa->prm.mode == SG_SA_TUNNEL4 && (!has(st, KW_SRC) || !has(st, KW_DST)))
		return conf_err(p, sa->line,
			"sa %s %" PRIu32 ": mode ipv4-tunnel needs both src and dst", d, spi);
	/* ipsec-secgw's transport SAs name no hosts; shardgate takes both, to
	 * check and place them, or neither. */
	if (sa->prm.mode == SG_SA_TRANSPORT4 && has(st, KW_SRC) != has(st, KW_DST))
		return conf_err(p, sa->line, "sa %s %" PRIu32 ": mode transport takes both src "
			"and dst (the two hosts) or neither", d, spi);
	if (sa->prm.mode == SG_SA_TRANSPORT4 && (has(st, KW_UDP_ENCAP) ||
			has(st, KW_UDP_ENCAP_SECGW) || has(st, KW_TFC_PAD)))
		return conf_err(p, sa->line, "sa %s %" PRIu32 ": mode transport with %s is not "
			"supported yet", d, spi, has(st, KW_TFC_PAD) ? "tfc_pad" : "udp_encap");
	for (k = 0; k < RTE_DIM(pairs); k++) {
		/* 0 means unlimited, so only two limits can disagree. */
		if (soft[k] == 0 || hard[k] == 0 || soft[k] <= hard[k])
			continue;
		return conf_err(p, sa->line,
			"sa %s %" PRIu32 ": %s %" PRIu64 " is above %s %" PRIu64, d, spi,
			sa_kws[pairs[k].soft].name, soft[k], sa_kws[pairs[k].hard].name, hard[k]);
	}
	/* RFC 4303 §2.2.1, Appendix A2: the receiver infers ESN high bits from its window. */
	if (sa->prm.esn && sa->prm.replay_win == 0)
		return conf_err(p, sa->line,
			"sa %s %" PRIu32 ": esn needs a replay window, but replay_win is 0", d,
			spi);
	return 0;
}

int
conf_parse_sa(struct parse *p, const struct tok *t, uint32_t n)
{
	struct sg_conf_sa sa;
	struct sa_state st;
	uint64_t spi;
	int rc;

	memset(&sa, 0, sizeof(sa));
	memset(&st, 0, sizeof(st));
	sa.line = t[0].line;
	sa.port_id = -1;
	sa.prm.mode = SG_SA_TUNNEL4;
	sa.prm.replay_win = SG_CONF_UNSET;
	if (n < 2)
		return conf_err(p, t[0].line, "sa: missing direction ('in' or 'out')");
	if (strcmp(t[1].s, "in") == 0)
		sa.prm.dir = SG_SA_IN;
	else if (strcmp(t[1].s, "out") == 0)
		sa.prm.dir = SG_SA_OUT;
	else
		return conf_err(p, t[1].line, "sa: direction '%s' is neither 'in' nor 'out'",
			t[1].s);
	if (n < 3)
		return conf_err(p, t[1].line, "sa: missing SPI after '%s'", t[1].s);
	rc = conf_num(p, "sa", "SPI", &t[2], 0, UINT32_MAX, &spi);
	if (rc != 0)
		return rc;
	/*
	 * RFC 4303 §2.1 reserves 1..255 for IANA, yet ipsec-secgw's own ep0.cfg
	 * uses SPI 5, 6, ...: accept them so those files load. 0 means "no SA".
	 */
	if (spi == 0)
		return conf_err(p, t[2].line, "sa: SPI 0 is reserved (RFC 4303 §2.1)");
	sa.prm.spi = (uint32_t)spi;
	rc = parse_words(p, t, n, &sa, &st);
	if (rc == 0)
		rc = check_sa(p, &sa, &st);
	if (rc == 0)
		rc = conf_add_sa(p, &sa);
	sg_wipe(&sa, sizeof(sa));
	return rc;
}
