#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""
AES-CBC (RFC 3602) with HMAC-SHA-1-96 (RFC 2404) and HMAC-SHA-256-128,
-384-192 and -512-256 (RFC 4868) against Scapy's ESP, in ipsec-secgw's
grammar (cipher_algo ... cipher_key ... auth_algo ... auth_key ...), next to
the AES-GCM SAs of the base topology.

Inbound: Scapy encrypts for four CBC SAs, one per HMAC and all three AES key
sizes, one of them with ESN whose high half is 1 (so the 4 bytes the ICV
covers past the payload matter: Scapy 2.5 leaves them out of an ESP ICV,
so Python's own hmac signs and checks those packets), interleaved with AES-GCM packets so every
burst mixes transforms; every inner packet must leave byte for byte, in
order. Bad input next to it, each dropped by its reason: a flipped
ciphertext bit, a flipped IV bit, an ICV cut short, the right packet under
the wrong HMAC key, and under the wrong HMAC (auth); a ciphertext one byte
short of whole blocks (esp_blocks); an ESP packet with no block at all
(esp_short). Outbound: shardgate encrypts for two CBC SAs (one with ESN
high half 1) and Scapy decrypts every packet; Scapy with the wrong ESN high
half must fail the ICV (hmac again). Every IV must be AES_K(seq || 0), as NIST SP
800-38A App. C has it, checked with pyca's AES: unpredictable to anyone
without the key, never the previous packet's last block.

Live, through shardgatectl: 'rekey out' moves SA 8001 to a new SPI, key
and algorithm (AES-256-CBC with HMAC-SHA-512-256); 'add sa in' and 'add sp
in' make a CBC SA that decrypts what Scapy then sends. Bad requests change
nothing: a rekey to a cipher with no auth_algo, an 'add sa' whose HMAC key
is too short.
"""

import hashlib
import hmac
import json
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from sgtest import (suite_main, pattern, sample_inner, IP, UDP, Raw, SecurityAssociation, ESP,
                    IPSecIntegrityError, LiveGateway, frame, base_rules, hexkey, split_frame,
                    diff_bytes, check_outputs,
                    peer_sa, SPI_IN_128, KEY_IN_128, PEER, GW, UNPROT, PROT)

SCAPY_AUTH = {"sha1-hmac": "HMAC-SHA1-96", "sha256-hmac": "SHA2-256-128",
              "sha384-hmac": "SHA2-384-192", "sha512-hmac": "SHA2-512-256"}
AUTH_KEY_LEN = {"sha1-hmac": 20, "sha256-hmac": 32, "sha384-hmac": 48, "sha512-hmac": 64}
# hashlib's name and the ICV length (RFC 2404 §2, RFC 4868 §2.3)
HMAC = {"sha1-hmac": ("sha1", 12), "sha256-hmac": ("sha256", 16),
        "sha384-hmac": ("sha384", 24), "sha512-hmac": ("sha512", 32)}


def esn_icv(a, ak, esp, hi):
    """RFC 4303 §2.2.1: the ICV of ESP header, IV and ciphertext (esp, the
    ICV cut off), then the sequence number's high half."""
    name, n = HMAC[a]
    return hmac.new(ak, esp + struct.pack("!L", hi), getattr(hashlib, name)).digest()[:n]


def esn_resign(ip, a, ak, hi):
    """An outer IPv4 packet Scapy signed without the ESN high half, signed with it."""
    n = HMAC[a][1]
    return ip[:-n] + esn_icv(a, ak, ip[20:-n], hi)


def key(n, seed):
    return bytes((seed + 7 * i) & 0xFF for i in range(n))


# spi: (cipher, cipher key, auth, auth key, ESN start or None, inner /24)
IN = {7001: ("aes-128-cbc", key(16, 1), "sha1-hmac", key(20, 2), None, "10.2.3.%d"),
      7002: ("aes-256-cbc", key(32, 3), "sha256-hmac", key(32, 4), 1 << 32, "10.2.4.%d"),
      7003: ("aes-192-cbc", key(24, 5), "sha384-hmac", key(48, 6), None, "10.2.5.%d"),
      7004: ("aes-128-cbc", key(16, 7), "sha512-hmac", key(64, 8), None, "10.2.6.%d")}
OUT = {8001: ("aes-128-cbc", key(16, 9), "sha1-hmac", key(20, 10), None, "10.1.3.%d"),
       8002: ("aes-256-cbc", key(32, 11), "sha512-hmac", key(64, 12), (1 << 32) + 10,
              "10.1.4.%d")}


def rules():
    lines = []
    for d, sas, src, dst in (("in", IN, PEER, GW), ("out", OUT, GW, PEER)):
        for spi, (c, ck, a, ak, esn, net) in sas.items():
            lines.append(f"sa {d} {spi} cipher_algo {c} cipher_key {hexkey(ck)} auth_algo {a} "
                         f"auth_key {hexkey(ak)} mode ipv4-tunnel src {src} dst {dst}" +
                         ("" if esn is None else f" esn {esn}"))
            lines.append(f"sp ipv4 {d} esp protect {spi} pri 10 dst {net % 0}/24 "
                         "sport 0:65535 dport 0:65535")
    return base_rules(extra="\n".join(lines) + "\n")


def scapy_sa(spi, c, ck, a, ak, src, dst, esn_en=False, esn=0):
    return SecurityAssociation(ESP, spi=spi, crypt_algo="AES-CBC", crypt_key=ck,
                               auth_algo=SCAPY_AUTH[a], auth_key=ak,
                               tunnel_header=IP(src=src, dst=dst), esn_en=esn_en, esn=esn)


def payload(n, seed):
    return pattern(n, seed, 13)


def inner(i, n, dst):
    return sample_inner(i, n, dst, 13)


def inbound_frames():
    peers = [("aes-128-gcm", peer_sa(SPI_IN_128, KEY_IN_128), "10.2.0.%d", 0, None, None)]
    for spi, (c, ck, a, ak, esn, net) in IN.items():
        hi = 0 if esn is None else esn >> 32
        peers.append(("%s/%s" % (c, a), scapy_sa(spi, c, ck, a, ak, PEER, GW), net, hi, a, ak))
    frames, expect, seq = [], [], {}
    for i, n in enumerate((0, 1, 3, 15, 16, 17, 100, 255, 511, 1000, 1300)):
        for name, p, net, hi, a, ak in peers:
            ip = inner(i, n, net % (10 + i))
            seq[p.spi] = seq.get(p.spi, 0) + 1
            b = bytes(p.encrypt(ip, seq_num=seq[p.spi]))
            if hi:
                b = esn_resign(b, a, ak, hi)
            frames.append(frame(b, UNPROT))
            expect.append(("%s %d bytes" % (name, n), bytes(ip)))

    sha1 = peers[1][1]
    c, ck, a, ak, _, _ = IN[7001]

    def one(dst, sq, p=sha1):
        return bytearray(bytes(p.encrypt(IP(src="10.1.0.9", dst=dst) / UDP() / Raw(b"x" * 40),
                                         seq_num=sq)))

    def fixlen(b):
        ip = IP(bytes(b))
        del ip.len, ip.chksum
        return bytes(ip)

    bad_auth = []
    flip_ct = one("10.2.3.50", 100)
    flip_ct[20 + 8 + 16 + 5] ^= 0x10
    flip_iv = one("10.2.3.51", 101)
    flip_iv[20 + 8 + 3] ^= 0x01
    short_icv = fixlen(one("10.2.3.52", 102)[:-1])
    wrong_key = one("10.2.3.53", 103, scapy_sa(7001, c, ck, a, key(20, 99), PEER, GW))
    wrong_mac = one("10.2.3.54", 104, scapy_sa(7001, c, ck, "sha256-hmac", key(32, 2), PEER,
                                               GW))
    bad_auth = [bytes(flip_ct), bytes(flip_iv), bytes(wrong_key)]
    # one byte gone from the ciphertext (before the 12-byte ICV), one from
    # the ICV, and a 16-byte SHA-256 ICV where SHA-1's 12 go: none leaves
    # whole blocks before the ICV the SA expects
    ragged = one("10.2.3.55", 105)
    del ragged[-13]
    ragged = [fixlen(ragged), short_icv, bytes(wrong_mac)]
    # header, IV and ICV with no block between
    noblock = fixlen(one("10.2.3.56", 106)[:20 + 8 + 16] + bytes(12))
    frames += [frame(b, UNPROT) for b in bad_auth + ragged + [noblock]]
    last = bytes(IP(src="10.1.0.9", dst="10.2.3.99") / UDP(sport=7, dport=7) /
                 Raw(b"after the bad ones"))
    frames.append(frame(bytes(sha1.encrypt(IP(last), seq_num=107)), UNPROT))
    expect.append(("aes-128-cbc/sha1-hmac after the bad ones", last))
    return frames, expect, len(bad_auth)


def aes_ecb(k, block):
    e = Cipher(algorithms.AES(k), modes.ECB()).encryptor()
    return e.update(block) + e.finalize()


def body(s):
    frames, expect, nbad_auth = inbound_frames()
    pts = [bytes(IP(src="10.2.0.5", dst="10.1.%d.%d" % (3 + i % 2, 5 + i)) /
                 UDP(sport=3000 + i, dport=9) / Raw(payload(i * 97 % 1300, i)))
           for i in range(14)]
    r = s.run(rules(), {UNPROT: frames, PROT: [frame(p, PROT) for p in pts]})
    s.check_clean_exit("cbc", r)

    s.section("inbound")
    check_outputs(s, "inbound", [split_frame(f)[3] for f in r.out[PROT]], expect)
    s.eq("drop_auth: flipped ciphertext and IV, wrong HMAC key", r.drop("auth"), nbad_auth)
    s.eq("drop_esp_blocks: ciphertext or ICV a byte short, a longer HMAC's ICV",
         r.drop("esp_blocks"), 3)
    s.eq("drop_esp_short: header, IV and ICV with no block", r.drop("esp_short"), 1)
    for spi, (c, _, a, _, _, _) in IN.items():
        t = r.sa_by_spi("in", spi) or {}
        s.eq("telemetry: SA in %d is %s with %s" % (spi, c, a),
             (t.get("cipher"), t.get("auth"), "aead" in t), (c, a, False))
    t = r.sa_by_spi("in", 7001) or {}
    s.eq("telemetry: SA in 7001 counted its %d authentication failures" % nbad_auth,
         t.get("auth_fail"), nbad_auth)

    s.section("outbound")
    esp = [split_frame(f)[3] for f in r.out[UNPROT]]
    s.eq("outbound ESP packets", len(esp), len(pts))
    last_block = {}
    for i, p in enumerate(pts[:len(esp)]):
        spi, sq = struct.unpack("!II", esp[i][20:28])
        if spi not in OUT:
            s.check("outbound #%d: an SPI of ours" % i, False, "SPI %d" % spi)
            continue
        c, ck, a, ak, esn, _ = OUT[spi]
        hi = 0 if esn is None else (esn + 1) >> 32
        right = scapy_sa(spi, c, ck, a, ak, GW, PEER)
        n = HMAC[a][1]
        try:
            if esn is not None:
                s.eq("outbound #%d: the ICV covers the ESN high half %d" % (i, hi),
                     esp[i][-n:].hex(), esn_icv(a, ak, esp[i][20:-n], hi).hex())
            dec = bytes(right.decrypt(IP(esp[i]), verify=esn is None))
        except IPSecIntegrityError as e:
            dec = ("ICV: %s" % e).encode()
        s.check("outbound #%d (SA %d seq %d): Scapy decrypts it" % (i, spi, sq), dec == p,
                diff_bytes(dec, p))
        seq64 = (hi << 32) | sq
        iv = esp[i][28:44]
        s.eq("outbound #%d: the IV is AES_K(seq || 0)" % i, iv.hex(),
             aes_ecb(ck, struct.pack("!QQ", seq64, 0)).hex())
        s.check("outbound #%d: the IV is not the SA's previous last block" % i,
                last_block.get(spi) != iv, "IV chained from the last packet")
        last_block[spi] = esp[i][len(esp[i]) - n - 16:len(esp[i]) - n]
        if esn is not None:
            s.check("outbound #%d: with ESN high half 0 the ICV fails" % i,
                    esp[i][-n:] != esn_icv(a, ak, esp[i][20:-n], 0), "it matched")
    for spi, (c, _, a, _, _, _) in OUT.items():
        t = r.sa_by_spi("out", spi) or {}
        s.eq("telemetry: SA out %d is %s with %s and sent 7 packets" % (spi, c, a),
             (t.get("cipher"), t.get("auth"), t.get("packets")), (c, a, 7))


def live_run(s):
    s.section("live: shardgatectl rekey out, add sa in, bad requests")
    c, ck, a, ak, _, _ = OUT[8001]
    new = ("aes-256-cbc", key(32, 40), "sha512-hmac", key(64, 41))
    added = ("aes-192-cbc", key(24, 42), "sha256-hmac", key(32, 43))
    g = LiveGateway(s.exe, rules(), live=(PROT, UNPROT))
    pts = [bytes(IP(src="10.2.0.5", dst="10.1.3.%d" % (20 + i)) / UDP(sport=4000 + i, dport=9) /
                 Raw(payload(50 + 300 * i, i))) for i in range(4)]
    with g:
        s.runs += 1
        req = g.req

        d = g.send(PROT, [frame(p, PROT) for p in pts[:2]])
        s.eq("two packets out on SA 8001", d.get("outbound"), 2)
        sas = req("list", "sa").get("sa")
        r = req("rekey", "out", 8001, 8011, "cipher_algo", new[0], "cipher_key", hexkey(new[1]))
        s.check("rekey out to a cipher without auth_algo: refused with the reason",
                r.get("ok") is False and "needs an auth_algo" in r.get("error", ""), r)
        s.eq("... and nothing changed", req("list", "sa").get("sa"), sas)
        r = req("rekey", "out", 8001, 8011, "cipher_algo", new[0], "cipher_key", hexkey(new[1]),
                "auth_algo", new[2], "auth_key", hexkey(new[3]))
        s.eq("rekey out 8001 8011 to %s/%s: ok" % (new[0], new[2]), r.get("ok"), True)
        t = g.sa("out", 8011) or {}
        s.eq("telemetry: SA out 8011 is %s with %s" % (new[0], new[2]),
             (t.get("cipher"), t.get("auth")), (new[0], new[2]))
        d = g.send(PROT, [frame(p, PROT) for p in pts[2:]])
        s.eq("two packets out on SA 8011", d.get("outbound"), 2)

        line = ("sa in 7011 cipher_algo %s cipher_key %s auth_algo %s auth_key %s "
                "mode ipv4-tunnel src %s dst %s" % (added[0], hexkey(added[1]), added[2], "%s",
                                                    PEER, GW))
        sas = req("list", "sa").get("sa")
        r = req("add", *(line % hexkey(added[3][:20])).split())
        s.check("add sa with a 20-byte sha256-hmac key: refused with the reason",
                r.get("ok") is False and "must be 32 bytes" in r.get("error", ""), r)
        s.check("... and the reply shows no key", hexkey(added[3][:20]) not in json.dumps(r), r)
        s.eq("... and nothing changed", req("list", "sa").get("sa"), sas)
        r = req("add", *(line % hexkey(added[3])).split())
        s.eq("add sa in 7011 (%s/%s): ok" % (added[0], added[2]), r.get("ok"), True)
        r = req("add", *"sp ipv4 in esp protect 7011 pri 20 dst 10.2.10.0/24".split())
        s.eq("add sp in for it: ok", r.get("ok"), True)
        peer = scapy_sa(7011, *added, PEER, GW)
        ins = [bytes(IP(src="10.1.0.9", dst="10.2.10.%d" % (5 + i)) / UDP(sport=5000 + i) /
                     Raw(payload(20 + 200 * i, i))) for i in range(3)]
        d = g.send(UNPROT, [frame(bytes(peer.encrypt(IP(p), seq_num=i + 1)), UNPROT)
                            for i, p in enumerate(ins)])
        s.eq("three packets in on SA 7011", d.get("inbound"), 3)
        g.stop()
    s.check_clean_exit("cbc live", g)

    check_outputs(s, "live inbound", [split_frame(f)[3] for f in g.out.get(PROT, [])], [
        ("SA 7011 #%d" % i, p) for i, p in enumerate(ins)])
    esp = [split_frame(f)[3] for f in g.out.get(UNPROT, [])]
    s.eq("live: SPIs out, two old, two new", [struct.unpack("!I", e[20:24])[0] for e in esp],
         [8001, 8001, 8011, 8011])
    for i, (e, p) in enumerate(zip(esp, pts)):
        spi = struct.unpack("!I", e[20:24])[0]
        sa = scapy_sa(spi, c, ck, a, ak, GW, PEER) if spi == 8001 else \
            scapy_sa(spi, *new, GW, PEER)
        try:
            dec = bytes(sa.decrypt(IP(e)))
        except IPSecIntegrityError as ex:
            dec = ("ICV: %s" % ex).encode()
        s.check("live #%d (SA %d): Scapy decrypts it" % (i, spi), dec == p, diff_bytes(dec, p))


def all_runs(s):
    body(s)
    live_run(s)


if __name__ == "__main__":
    suite_main("cbc", all_runs)
