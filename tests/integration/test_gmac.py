#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""
AES-GMAC (RFC 4543, ENCR_NULL_AUTH_AES_GMAC: integrity only) in
ipsec-secgw's grammar (cipher_algo null auth_algo aes-gmac auth_key KEY ||
SALT), against pyca's AES-GCM with an empty plaintext: the AAD is SPI,
sequence number (64 bits with ESN), IV and the whole ESP payload. Neither
Scapy nor strongSwan's libipsec has GMAC, so pyca (OpenSSL) is the
independent implementation here.

Inbound: pyca seals for three GMAC SAs (128, 192 with ESN high half 1, and
256-bit keys), interleaved with AES-GCM packets from Scapy; every inner
packet must leave byte for byte, in order. Bad input next to it, each
dropped as auth: a flipped payload byte (visible, but authenticated), a
flipped IV byte, a flipped tag byte, the wrong key, the right key with the
ESN high half 0, and a packet AES-GCM encrypted under the GMAC key; and one
too short for header, IV, trailer and tag (esp_short). Outbound: shardgate
seals for two GMAC SAs (one with ESN high half 1); the payload on the wire
is the inner packet in clear, the IV is the sequence number, and pyca's tag
matches; with the ESN high half 0 it does not.
"""

import struct

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sgtest import (suite_main, pattern, sample_inner, IP, UDP, Raw, frame, base_rules, hexkey,
                    split_frame, diff_bytes, check_outputs, peer_sa, SPI_IN_128, KEY_IN_128,
                    PEER, GW,
                    UNPROT, PROT)


def key(n, seed):
    return bytes((seed + 5 * i) & 0xFF for i in range(n))


# spi: (key, salt, ESN start or None, inner /24)
IN = {7101: (key(16, 1), key(4, 2), None, "10.2.7.%d"),
      7102: (key(24, 3), key(4, 4), 1 << 32, "10.2.8.%d"),
      7103: (key(32, 5), key(4, 6), None, "10.2.9.%d")}
OUT = {8101: (key(16, 7), key(4, 8), None, "10.1.7.%d"),
       8102: (key(32, 9), key(4, 10), (1 << 32) + 10, "10.1.8.%d")}


def rules():
    lines = []
    for d, sas, src, dst in (("in", IN, PEER, GW), ("out", OUT, GW, PEER)):
        for spi, (k, salt, esn, net) in sas.items():
            lines.append(f"sa {d} {spi} cipher_algo null auth_algo aes-gmac auth_key "
                         f"{hexkey(k + salt)} mode ipv4-tunnel src {src} dst {dst}" +
                         ("" if esn is None else f" esn {esn}"))
            lines.append(f"sp ipv4 {d} esp protect {spi} pri 10 dst {net % 0}/24 "
                         "sport 0:65535 dport 0:65535")
    # 10.2.9.0/24 is the base topology's bypass: moved out of the way
    return base_rules(extra="\n".join(lines) + "\n").replace(
        "sp ipv4 in esp bypass pri 5 dst 10.2.9.0/24",
        "sp ipv4 in esp bypass pri 5 dst 10.2.99.0/24")


def esp_payload(inner):
    pad = (-(len(inner) + 2)) % 4
    return inner + bytes(range(1, pad + 1)) + bytes([pad, 4])


def gmac_tag(k, salt, spi, seq, body, esn):
    """RFC 4543 §3.3: GMAC over SPI, seq (64 bits with ESN) and the rest;
    @body is IV || payload."""
    lo = seq & 0xFFFFFFFF
    aad = (struct.pack("!III", spi, seq >> 32, lo) if esn else struct.pack("!II", spi, lo))
    return AESGCM(k).encrypt(salt + body[:8], b"", aad + body)


def seal(k, salt, spi, seq, inner, esn, tag_hi=None):
    iv = struct.pack("!Q", seq)
    body = iv + esp_payload(inner)
    if tag_hi is not None:
        seq = (tag_hi << 32) | (seq & 0xFFFFFFFF)
    tag = gmac_tag(k, salt, spi, seq, body, esn)
    esp = struct.pack("!II", spi, seq & 0xFFFFFFFF) + body + tag
    return bytearray(bytes(IP(src=PEER, dst=GW, proto=50) / Raw(esp)))


def payload(n, seed):
    return pattern(n, seed, 17)


def inner(i, n, dst):
    return sample_inner(i, n, dst, 17)


def inbound_frames():
    gcm = peer_sa(SPI_IN_128, KEY_IN_128)
    frames, expect, seq = [], [], {}
    for i, n in enumerate((0, 1, 3, 15, 16, 17, 100, 255, 511, 1000, 1400)):
        ip = inner(i, n, "10.2.0.%d" % (10 + i))
        frames.append(frame(bytes(gcm.encrypt(ip, seq_num=i + 1)), UNPROT))
        expect.append(("aes-128-gcm %d bytes" % n, bytes(ip)))
        for spi, (k, salt, esn, net) in IN.items():
            ip = inner(i, n, net % (10 + i))
            seq[spi] = seq.get(spi, esn or 0) + 1
            frames.append(frame(bytes(seal(k, salt, spi, seq[spi], bytes(ip), esn is not None)),
                                UNPROT))
            expect.append(("gmac SA %d %d bytes" % (spi, n), bytes(ip)))

    k, salt, _, _ = IN[7101]
    one = bytes(IP(src="10.1.0.9", dst="10.2.7.50") / UDP() / Raw(b"y" * 40))
    bad = []
    for at in (20 + 8 + 8 + 21, 20 + 8 + 3, -1):  # payload, IV, tag
        b = seal(k, salt, 7101, 100 + len(bad), one, False)
        b[at] ^= 0x08
        bad.append(bytes(b))
    bad.append(bytes(seal(key(16, 99), salt, 7101, 110, one, False)))
    k2, salt2, esn2, _ = IN[7102]
    bad.append(bytes(seal(k2, salt2, 7102, esn2 + 200, one, True, tag_hi=0)))
    # AES-GCM under the GMAC SA's key: encrypted, so its tag is another
    iv = struct.pack("!Q", 111)
    ct = AESGCM(k).encrypt(salt + iv, esp_payload(one), struct.pack("!II", 7101, 111))
    bad.append(bytes(IP(src=PEER, dst=GW, proto=50) / Raw(struct.pack("!II", 7101, 111) + iv +
                                                           ct)))
    short = bytes(IP(src=PEER, dst=GW, proto=50) / Raw(struct.pack("!II", 7101, 112) + bytes(25)))
    frames += [frame(b, UNPROT) for b in bad + [short]]
    last = bytes(IP(src="10.1.0.9", dst="10.2.7.99") / UDP(sport=7, dport=7) /
                 Raw(b"after the bad ones"))
    frames.append(frame(bytes(seal(k, salt, 7101, 113, last, False)), UNPROT))
    expect.append(("gmac SA 7101 after the bad ones", last))
    return frames, expect, len(bad)


def body(s):
    frames, expect, nbad = inbound_frames()
    pts = [bytes(IP(src="10.2.0.5", dst="10.1.%d.%d" % (7 + i % 2, 5 + i)) /
                 UDP(sport=3000 + i, dport=9) / Raw(payload(i * 97 % 1300, i)))
           for i in range(14)]
    r = s.run(rules(), {UNPROT: frames, PROT: [frame(p, PROT) for p in pts]})
    s.check_clean_exit("gmac", r)

    s.section("inbound")
    check_outputs(s, "inbound", [split_frame(f)[3] for f in r.out[PROT]], expect)
    s.eq("drop_auth: flipped payload, IV and tag, wrong key, wrong ESN high half, AES-GCM",
         r.drop("auth"), nbad)
    s.eq("drop_esp_short: too short for IV, trailer and tag", r.drop("esp_short"), 1)
    for spi, (k, _, _, _) in IN.items():
        name = "aes-%d-gmac" % (len(k) * 8)
        t = r.sa_by_spi("in", spi) or {}
        s.eq("telemetry: SA in %d is %s" % (spi, name), t.get("aead"), name)

    s.section("outbound")
    esp = [split_frame(f)[3] for f in r.out[UNPROT]]
    s.eq("outbound ESP packets", len(esp), len(pts))
    for i, p in enumerate(pts[:len(esp)]):
        spi, sq = struct.unpack("!II", esp[i][20:28])
        if spi not in OUT:
            s.check("outbound #%d: an SPI of ours" % i, False, "SPI %d" % spi)
            continue
        k, salt, esn, _ = OUT[spi]
        hi = 0 if esn is None else (esn + 1) >> 32
        seq64 = (hi << 32) | sq
        e = esp[i][20:]
        s.eq("outbound #%d: the IV is the 64-bit sequence number" % i, e[8:16],
             struct.pack("!Q", seq64))
        s.check("outbound #%d (SA %d seq %d): the inner packet, in clear, then the trailer" %
                (i, spi, sq), e[16:-16] == esp_payload(p), diff_bytes(e[16:-16], esp_payload(p)))
        s.eq("outbound #%d: pyca's GMAC tag" % i, e[-16:].hex(),
             gmac_tag(k, salt, spi, seq64, e[8:-16], esn is not None).hex())
        if esn is not None:
            s.check("outbound #%d: with ESN high half 0 the tag fails" % i,
                    e[-16:] != gmac_tag(k, salt, spi, sq, e[8:-16], True), "it matched")
    for spi, (k, _, _, _) in OUT.items():
        t = r.sa_by_spi("out", spi) or {}
        s.eq("telemetry: SA out %d is aes-%d-gmac and sent 7 packets" % (spi, len(k) * 8),
             (t.get("aead"), t.get("packets")), ("aes-%d-gmac" % (len(k) * 8), 7))


if __name__ == "__main__":
    suite_main("gmac", body)
