#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""
AES-192-GCM (RFC 4106) and ChaCha20-Poly1305 (RFC 7634) against Scapy's
ESP, next to the AES-128/256-GCM SAs of the base topology.

Inbound: Scapy encrypts for four SAs, one of each AEAD (the ChaCha20 one
with ESN, so its 12-byte AAD is used), interleaved so that every burst mixes
algorithms; each inner packet must leave the protected port byte for byte,
in order. Bad input next to it: a ChaCha20 packet with one ciphertext bit
flipped, one whose ICV is cut short by a byte, and a packet for the
ChaCha20 SA encrypted with AES-GCM under the same key (the wrong algorithm)
are each dropped as auth. Outbound: shardgate encrypts for an AES-192-GCM
and a ChaCha20-Poly1305 SA (with ESN) and Scapy decrypts every packet;
Scapy with the other algorithm, or without ESN, must fail the ICV.
"""

import struct

from sgtest import (suite_main, IP, UDP, TCP, Raw, SecurityAssociation, ESP, IPSecIntegrityError,
                    frame, base_rules, hexkey, split_frame, diff_bytes, check_outputs, peer_sa,
                    SPI_IN_128, SPI_IN_256, KEY_IN_128, KEY_IN_256, PEER, GW, UNPROT, PROT)

# key || 4-byte salt, as ipsec-secgw's aead_key and Scapy's crypt_key
KEY_IN_192 = bytes(range(0x70, 0x88)) + bytes.fromhex("e0e1e2e3")
KEY_IN_CC = bytes(range(0x90, 0xb0)) + bytes.fromhex("e4e5e6e7")
KEY_OUT_192 = bytes(range(0xb0, 0xc8)) + bytes.fromhex("e8e9eaeb")
KEY_OUT_CC = bytes(range(0xc8, 0xe8)) + bytes.fromhex("ecedeeef")
SPI_IN_192, SPI_IN_CC, SPI_OUT_192, SPI_OUT_CC = 5001, 5002, 6001, 6002
SCAPY = {"aes-192-gcm": "AES-GCM", "chacha20-poly1305": "CHACHA20-POLY1305"}

EXTRA = f"""
sa in {SPI_IN_192} aead_algo aes-192-gcm aead_key {hexkey(KEY_IN_192)} mode ipv4-tunnel src {PEER} dst {GW}
sa in {SPI_IN_CC} aead_algo chacha20-poly1305 aead_key {hexkey(KEY_IN_CC)} mode ipv4-tunnel src {PEER} dst {GW} esn
sa out {SPI_OUT_192} aead_algo aes-192-gcm aead_key {hexkey(KEY_OUT_192)} mode ipv4-tunnel src {GW} dst {PEER}
sa out {SPI_OUT_CC} aead_algo chacha20-poly1305 aead_key {hexkey(KEY_OUT_CC)} mode ipv4-tunnel src {GW} dst {PEER} esn
sp ipv4 in esp protect {SPI_IN_192} pri 10 dst 10.2.1.0/24 sport 0:65535 dport 0:65535
sp ipv4 in esp protect {SPI_IN_CC} pri 10 dst 10.2.2.0/24 sport 0:65535 dport 0:65535
sp ipv4 out esp protect {SPI_OUT_192} pri 10 dst 10.1.1.0/24 sport 0:65535 dport 0:65535
sp ipv4 out esp protect {SPI_OUT_CC} pri 10 dst 10.1.2.0/24 sport 0:65535 dport 0:65535
"""


def sa(spi, algo, key, src, dst, esn=False):
    return SecurityAssociation(ESP, spi=spi, crypt_algo=SCAPY.get(algo, algo), crypt_key=key,
                               tunnel_header=IP(src=src, dst=dst), esn_en=esn)


def payload(n, seed):
    return bytes((i * 11 + seed) & 0xFF for i in range(n))


def body(s):
    peers = [("aes-128-gcm", peer_sa(SPI_IN_128, KEY_IN_128), "10.2.0.%d"),
             ("aes-256-gcm", peer_sa(SPI_IN_256, KEY_IN_256), "10.2.0.%d"),
             ("aes-192-gcm", sa(SPI_IN_192, "aes-192-gcm", KEY_IN_192, PEER, GW), "10.2.1.%d"),
             ("chacha20-poly1305", sa(SPI_IN_CC, "chacha20-poly1305", KEY_IN_CC, PEER, GW,
                                      esn=True), "10.2.2.%d")]
    host = {SPI_IN_128: 10, SPI_IN_256: 140}
    frames, expect = [], []
    seq = {}
    for i, n in enumerate((0, 1, 3, 15, 16, 17, 100, 255, 511, 1000, 1399)):
        for name, p, net in peers:
            dst = net % (host.get(p.spi, 10) + i)
            if i % 2:
                ip = IP(src="10.1.0.9", dst=dst, id=i) / UDP(sport=1000 + i, dport=53) / \
                    Raw(payload(n, i))
            else:
                ip = IP(src="10.1.0.9", dst=dst, id=i, flags="DF") / \
                    TCP(sport=2000 + i, dport=80, flags="PA") / Raw(payload(n, i))
            seq[p.spi] = seq.get(p.spi, 0) + 1
            frames.append(frame(bytes(p.encrypt(ip, seq_num=seq[p.spi])), UNPROT))
            expect.append(("%s %d bytes" % (name, n), bytes(ip)))

    cc = peers[3][1]
    good_last = bytes(IP(src="10.1.0.9", dst="10.2.2.99") / UDP(sport=7, dport=7) /
                      Raw(b"after the bad ones"))
    flipped = bytearray(bytes(cc.encrypt(IP(src="10.1.0.9", dst="10.2.2.50") / UDP() /
                                         Raw(b"flipped"), seq_num=100)))
    flipped[20 + 8 + 8 + 3] ^= 0x04  # a ciphertext byte behind SPI, seq and IV
    # one byte short, with the IP length saying so: the ICV read is the
    # last 16 bytes there are, and fails
    short = IP(bytes(cc.encrypt(IP(src="10.1.0.9", dst="10.2.2.51") / UDP() / Raw(b"short icv"),
                                seq_num=101))[:-1])
    del short.len, short.chksum
    short = bytes(short)
    wrong = sa(SPI_IN_CC, "AES-GCM", KEY_IN_CC, PEER, GW, esn=True)
    wrong_alg = bytes(wrong.encrypt(IP(src="10.1.0.9", dst="10.2.2.52") / UDP() /
                                    Raw(b"AES-GCM under the ChaCha20 key"), seq_num=102))
    bad = [frame(bytes(flipped), UNPROT), frame(short, UNPROT), frame(wrong_alg, UNPROT)]
    frames += bad
    frames.append(frame(bytes(cc.encrypt(IP(good_last), seq_num=103)), UNPROT))
    expect.append(("chacha20-poly1305 after the bad ones", good_last))

    # Outbound: 10.1.1.0/24 is the AES-192-GCM SA, 10.1.2.0/24 ChaCha20.
    pts = [bytes(IP(src="10.2.0.5", dst="10.1.%d.%d" % (1 + i % 2, 5 + i)) /
                 UDP(sport=3000 + i, dport=9) / Raw(payload(i * 97 % 1300, i)))
           for i in range(12)]
    r = s.run(base_rules(extra=EXTRA), {UNPROT: frames, PROT: [frame(p, PROT) for p in pts]})
    s.check_clean_exit("aeads", r)

    s.section("inbound")
    check_outputs(s, "inbound", [split_frame(f)[3] for f in r.out[PROT]], expect)
    s.eq("drop_auth: the flipped bit, the short ICV, the wrong algorithm", r.drop("auth"), 3)
    for spi, name in ((SPI_IN_192, "aes-192-gcm"), (SPI_IN_CC, "chacha20-poly1305")):
        t = r.sa_by_spi("in", spi) or {}
        s.eq("telemetry: SA in %d is %s" % (spi, name), t.get("aead"), name)
    t = r.sa_by_spi("in", SPI_IN_CC) or {}
    s.eq("telemetry: SA in %d counted its 3 authentication failures" % SPI_IN_CC,
         t.get("auth_fail"), 3)

    s.section("outbound")
    osa = {SPI_OUT_192: (sa(SPI_OUT_192, "aes-192-gcm", KEY_OUT_192, GW, PEER),
                         # its first 16 bytes as an AES-128 key: the whole
                         # 24-byte key is used
                         sa(SPI_OUT_192, "AES-GCM", KEY_OUT_192[:16] + KEY_OUT_192[-4:], GW,
                            PEER),
                         False),
           SPI_OUT_CC: (sa(SPI_OUT_CC, "chacha20-poly1305", KEY_OUT_CC, GW, PEER, esn=True),
                        sa(SPI_OUT_CC, "chacha20-poly1305", KEY_OUT_CC, GW, PEER, esn=False),
                        True)}
    esp = [split_frame(f)[3] for f in r.out[UNPROT]]
    s.eq("outbound ESP packets", len(esp), len(pts))
    for i, p in enumerate(pts[:len(esp)]):
        spi, sq = struct.unpack("!II", esp[i][20:28])
        if spi not in osa:
            s.check("outbound #%d: an SPI of ours" % i, False, "SPI %d" % spi)
            continue
        right, other, esn = osa[spi]
        try:
            dec = bytes(right.decrypt(IP(esp[i]), esn_en=esn, esn=0))
        except IPSecIntegrityError as e:
            dec = ("ICV: %s" % e).encode()
        s.check("outbound #%d (SA %d seq %d): Scapy decrypts it" % (i, spi, sq), dec == p,
                diff_bytes(dec, p))
        try:
            other.decrypt(IP(esp[i]))
            s.check("outbound #%d: %s must fail the ICV" % (
                i, "Scapy without ESN" if esn else "AES-128 with its first 16 bytes"), False,
                "it passed")
        except IPSecIntegrityError:
            s.check("outbound #%d: %s fails the ICV" % (
                i, "Scapy without ESN" if esn else "AES-128 with its first 16 bytes"), True)
    for spi, name in ((SPI_OUT_192, "aes-192-gcm"), (SPI_OUT_CC, "chacha20-poly1305")):
        t = r.sa_by_spi("out", spi) or {}
        s.eq("telemetry: SA out %d is %s and sent 6 packets" % (spi, name),
             (t.get("aead"), t.get("packets")), (name, 6))


if __name__ == "__main__":
    suite_main("aeads", body)
