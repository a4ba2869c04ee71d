#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""
Keys are gone from the gateway's memory once their SA is (issue 12 item
5), read through /proc/PID/mem while it runs:

- an AES-GCM SA deleted with 'del sa' (after its policy);
- an AES-CBC/HMAC-SHA-256 SA replaced with 'rekey in ... grace_ms 0';
- an outbound AES-256-CBC/HMAC-SHA-1 SA whose hard lifetime (3 s) ends
  it: a policy still names it, so it stays in its table, dead, until
  rekeyed, but its keys go when it dies;
- an AES-GMAC SA deleted, and a ChaCha20-Poly1305 one (ipsec-mb reads
  its key as is, so the key bytes are its whole schedule);
- an outbound AES-128-CBC/HMAC-SHA-512 SA killed mid-burst by its hard
  packet limit (2): kept dead for its policy, its keys go after the burst.

What is looked for, per key: the key bytes (ipsec-mb's first round key is
the AES key itself, so this is the key schedule), the
HMAC's precomputed inner and outer hash states (computed below with a
SHA-1 and SHA-256 compression written out, both byte orders), and the key
as hex text (the rule file's and the control requests' words). Each is
found before (so the scan sees what it should), and none after; the new
key of the rekey is found after (the scan still sees live SAs).
"""

import struct
import time

from sgtest import (suite_main, LiveGateway, base_rules, hexkey, scan_memory, frame, IP, UDP, Raw,
                    GW, PEER, PROT)


def key(n, seed):
    return bytes((seed * 37 + 11 * i + 5) & 0xFF for i in range(n))


def rotl(x, n):
    return ((x << n) | (x >> (32 - n))) & 0xFFFFFFFF


def rotr(x, n):
    return ((x >> n) | (x << (32 - n))) & 0xFFFFFFFF


def sha1_block(block):
    """SHA-1's state after one 64-byte block from the standard IV (FIPS 180-4)."""
    h = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0]
    w = list(struct.unpack(">16I", block))
    for t in range(16, 80):
        w.append(rotl(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1))
    a, b, c, d, e = h
    for t in range(80):
        if t < 20:
            f, k = (b & c) | (~b & d), 0x5A827999
        elif t < 40:
            f, k = b ^ c ^ d, 0x6ED9EBA1
        elif t < 60:
            f, k = (b & c) | (b & d) | (c & d), 0x8F1BBCDC
        else:
            f, k = b ^ c ^ d, 0xCA62C1D6
        a, b, c, d, e = (rotl(a, 5) + f + e + k + w[t]) & 0xFFFFFFFF, a, rotl(b, 30), c, d
    return [(x + y) & 0xFFFFFFFF for x, y in zip(h, (a, b, c, d, e))]


K256 = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2]


def sha256_block(block):
    """SHA-256's state after one 64-byte block from the standard IV."""
    h = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
         0x5be0cd19]
    w = list(struct.unpack(">16I", block))
    for t in range(16, 64):
        s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3)
        s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10)
        w.append((w[t - 16] + s0 + w[t - 7] + s1) & 0xFFFFFFFF)
    a, b, c, d, e, f, g, hh = h
    for t in range(64):
        t1 = (hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K256[t] +
              w[t]) & 0xFFFFFFFF
        t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) & \
            0xFFFFFFFF
        a, b, c, d, e, f, g, hh = (t1 + t2) & 0xFFFFFFFF, a, b, c, (d + t1) & 0xFFFFFFFF, e, f, g
    return [(x + y) & 0xFFFFFFFF for x, y in zip(h, (a, b, c, d, e, f, g, hh))]


def hmac_states(hkey, block_fn):
    """RFC 2104's inner and outer states after the key block, as the bytes
    ipsec-mb may keep them in (either word order): the needles."""
    out = []
    for pad in (0x36, 0x5C):
        st = block_fn(bytes(b ^ pad for b in hkey.ljust(64, b"\0")))
        out += [struct.pack(">%dI" % len(st), *st), struct.pack("<%dI" % len(st), *st)]
    return out


# SPI: (words of the SA line, key bytes looked for, HMAC states looked for)
GCM_K = key(16, 1) + key(4, 2)
CBC_K, CBC_H = key(16, 3), key(32, 4)
LIFE_K, LIFE_H = key(32, 5), key(20, 6)
GMAC_K = key(16, 7) + key(4, 8)
NEW_K = key(16, 9) + key(4, 10)
PKT_K, PKT_H = key(16, 11), key(64, 12)
CC_K = key(32, 13) + key(4, 14)

EXTRA = f"""
sa in 7301 aead_algo aes-128-gcm aead_key {hexkey(GCM_K)} mode ipv4-tunnel src {PEER} dst {GW}
sa in 7302 cipher_algo aes-128-cbc cipher_key {hexkey(CBC_K)} auth_algo sha256-hmac \\
    auth_key {hexkey(CBC_H)} mode ipv4-tunnel src {PEER} dst {GW}
sa out 7303 cipher_algo aes-256-cbc cipher_key {hexkey(LIFE_K)} auth_algo sha1-hmac \\
    auth_key {hexkey(LIFE_H)} mode ipv4-tunnel src {GW} dst {PEER} lifetime_hard_sec 3
sa out 7304 cipher_algo null auth_algo aes-gmac auth_key {hexkey(GMAC_K)} mode transport
sp ipv4 in esp protect 7301 pri 20 dst 10.2.31.0/24 sport 0:65535 dport 0:65535
sp ipv4 in esp protect 7302 pri 20 dst 10.2.32.0/24 sport 0:65535 dport 0:65535
sp ipv4 out esp protect 7303 pri 20 dst 10.1.33.0/24 sport 0:65535 dport 0:65535
sp ipv4 out esp protect 7304 pri 20 dst 10.1.34.0/24 sport 0:65535 dport 0:65535
sa out 7305 cipher_algo aes-128-cbc cipher_key {hexkey(PKT_K)} auth_algo sha512-hmac \
    auth_key {hexkey(PKT_H)} mode ipv4-tunnel src {GW} dst {PEER} lifetime_hard_packets 2
sp ipv4 out esp protect 7305 pri 20 dst 10.1.35.0/24 sport 0:65535 dport 0:65535
sa in 7306 aead_algo chacha20-poly1305 aead_key {hexkey(CC_K)} mode ipv4-tunnel src {PEER} dst {GW}
"""

NEEDLES = {
    "SA 7301 (AES-GCM, deleted): AES key": [GCM_K[:16]],
    "SA 7302 (AES-CBC, rekeyed): AES key": [CBC_K],
    "SA 7302: HMAC-SHA-256 ipad/opad states": hmac_states(CBC_H, sha256_block),
    "SA 7303 (AES-256-CBC, expired): AES key": [LIFE_K],
    "SA 7303: HMAC-SHA-1 ipad/opad states": hmac_states(LIFE_H, sha1_block),
    "SA 7304 (AES-GMAC, deleted): AES key": [GMAC_K[:16]],
    "SA 7305 (AES-CBC, killed by its packet limit): AES key": [PKT_K],
    "SA 7306 (ChaCha20-Poly1305, deleted): key": [CC_K[:32]],
}
TEXT = {"hex text of SA %d's key" % spi: hexkey(k).encode()
        for spi, k in ((7301, GCM_K), (7302, CBC_K), (7302, CBC_H), (7303, LIFE_K),
                       (7303, LIFE_H), (7304, GMAC_K), (7305, PKT_K), (7305, PKT_H),
                       (7306, CC_K))}


def body(s):
    g = LiveGateway(s.exe, base_rules(extra=EXTRA), live=(PROT,))
    with g:
        s.runs += 1
        pid = g.proc.pid
        every = [n for ns in NEEDLES.values() for n in ns]
        before = scan_memory(pid, every)
        for label, ns in NEEDLES.items():
            s.check("before: %s found (the scan sees it)" % label,
                    any(before[n] for n in ns), "none of %d needles" % len(ns))

        # three packets for SA 7305, in one burst: two go, the third kills it
        pts = [frame(bytes(IP(src="10.2.0.5", dst="10.1.35.%d" % (1 + i)) / UDP() /
                           Raw(b"limit")), PROT) for i in range(3)]
        d = g.send(PROT, pts)
        s.eq("SA 7305: two packets out, the third dropped as sa_expired",
             (d.get("outbound"), d.get("drop_sa_expired")), (2, 1))
        s.eq("SA 7305 is dead, kept for its policy", (g.sa("out", 7305) or {}).get("dead"), 1)
        for req, what in (("del sp ipv4 in esp protect 7301 pri 20 dst 10.2.31.0/24 "
                           "sport 0:65535 dport 0:65535", "del sp of 7301"),
                          ("del sa in 7301", "del sa in 7301"),
                          ("del sp ipv4 out esp protect 7304 pri 20 dst 10.1.34.0/24 "
                           "sport 0:65535 dport 0:65535", "del sp of 7304"),
                          ("del sa out 7304", "del sa out 7304"),
                          ("del sa in 7306", "del sa in 7306"),
                          ("rekey in 7302 7312 aead_algo aes-128-gcm aead_key %s grace_ms 0" %
                           hexkey(NEW_K), "rekey in 7302 7312")):
            s.eq("%s: ok" % what, g.req(*req.split()).get("ok"), True)
        # the hard lifetime ends 7303; the old inbound SA goes after its grace
        deadline = time.time() + 10
        while time.time() < deadline and ((g.sa("out", 7303) or {}).get("dead") != 1 or
                                          g.sa("in", 7302)):
            time.sleep(0.2)
        s.eq("SA out 7303 reached its hard lifetime: dead, kept for its policy",
             (g.sa("out", 7303) or {}).get("dead"), 1)
        s.check("SA in 7302 is gone after the rekey's grace", not g.sa("in", 7302))

        after = scan_memory(pid, every + list(TEXT.values()) + [NEW_K[:16]])
        for label, ns in NEEDLES.items():
            where = [w for n in ns for w in after[n]]
            s.eq("after: %s found nowhere" % label, where[:4], [])
        for label, n in TEXT.items():
            s.eq("after: %s found nowhere (rule file, control buffers)" % label, after[n][:4],
                 [])
        s.check("after: the rekey's new key is found (the scan still sees live SAs)",
                bool(after[NEW_K[:16]]))
        g.stop()
    s.check_clean_exit("secrets", g)


if __name__ == "__main__":
    suite_main("secrets", body)
