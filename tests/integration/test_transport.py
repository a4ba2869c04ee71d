#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""
Transport mode (RFC 4303 §3.1.1), IPv4, against Scapy's ESP (a
SecurityAssociation without a tunnel header), next to the tunnel SAs of the
base topology.

Four SAs: inbound AES-128-GCM for any hosts (as ipsec-secgw writes a
transport SA, with no src and dst) and AES-128-CBC with HMAC-SHA-256
naming its two hosts; outbound AES-256-GCM for any hosts and AES-256-CBC
with HMAC-SHA-1 naming its hosts. Inbound, Scapy encrypts UDP, TCP and
ICMP packets (one with IP options) and each must leave the protected port
byte for byte as it was before Scapy encrypted it: header moved back,
protocol from the trailer, length and checksum right. Outbound, Scapy
decrypts every packet back to the plaintext, and the packet's own header
(addresses, TTL, options, DF) carries the ESP. Bad input, each dropped by
its reason: a flipped ciphertext bit (auth); a packet for the SA that names
its hosts from another host (bad_tunnel, both ways); a dummy packet (next
header 59: tfc_dummy); an outbound fragment, which transport mode cannot
carry (fragment).
"""

import struct

from scapy.layers.inet import IPOption_RR

from sgtest import (suite_main, IP, UDP, TCP, ICMP, Raw, SecurityAssociation, ESP,
                    IPSecIntegrityError, frame, base_rules, hexkey, split_frame, diff_bytes,
                    check_outputs, esp_custom, UNPROT, PROT)


def key(n, seed):
    return bytes((seed + 3 * i) & 0xFF for i in range(n))


GCM_IN, CBC_IN = key(16, 1) + key(4, 2), (key(16, 3), key(32, 4))
GCM_OUT, CBC_OUT = key(32, 5) + key(4, 6), (key(32, 7), key(20, 8))
HOST_A, HOST_B = "10.1.21.7", "10.2.21.5"  # the hosts SA 9002 and 9102 name

EXTRA = f"""
sa in 9001 aead_algo aes-128-gcm aead_key {hexkey(GCM_IN)} mode transport
sa in 9002 cipher_algo aes-128-cbc cipher_key {hexkey(CBC_IN[0])} auth_algo sha256-hmac \\
    auth_key {hexkey(CBC_IN[1])} mode transport src {HOST_A} dst {HOST_B}
sa out 9101 aead_algo aes-256-gcm aead_key {hexkey(GCM_OUT)} mode transport
sa out 9102 cipher_algo aes-256-cbc cipher_key {hexkey(CBC_OUT[0])} auth_algo sha1-hmac \\
    auth_key {hexkey(CBC_OUT[1])} mode transport src {HOST_B} dst {HOST_A}
sp ipv4 in esp protect 9001 pri 20 dst 10.2.20.0/24 sport 0:65535 dport 0:65535
sp ipv4 in esp protect 9002 pri 20 dst 10.2.21.0/24 sport 0:65535 dport 0:65535
sp ipv4 out esp protect 9101 pri 20 dst 10.1.20.0/24 sport 0:65535 dport 0:65535
sp ipv4 out esp protect 9102 pri 20 dst 10.1.21.0/24 sport 0:65535 dport 0:65535
rt ipv4 dst 10.1.20.0/23 port {UNPROT}
"""


def gcm(spi, k):
    return SecurityAssociation(ESP, spi=spi, crypt_algo="AES-GCM", crypt_key=k)


def cbc(spi, k, auth):
    return SecurityAssociation(ESP, spi=spi, crypt_algo="AES-CBC", crypt_key=k[0],
                               auth_algo=auth, auth_key=k[1])


def payload(n, seed):
    return bytes((i * 29 + seed) & 0xFF for i in range(n))


def plain(i, src, dst):
    """UDP, TCP with DF, ICMP echo, and UDP with an IP option, in turn."""
    n = (0, 1, 15, 100, 600, 1300)[i % 6]
    kind = i % 4
    if kind == 0:
        return IP(src=src, dst=dst, id=i, ttl=40) / UDP(sport=1000 + i, dport=53) / \
            Raw(payload(n, i))
    if kind == 1:
        return IP(src=src, dst=dst, id=i, flags="DF") / \
            TCP(sport=2000 + i, dport=80, flags="PA") / Raw(payload(n, i))
    if kind == 2:
        return IP(src=src, dst=dst, id=i) / ICMP(id=7, seq=i) / Raw(payload(n, i))
    return IP(src=src, dst=dst, id=i, options=[IPOption_RR(routers=["192.0.2.1"])]) / \
        UDP(sport=3000 + i, dport=9) / Raw(payload(n, i))


def body(s):
    peers = [(gcm(9001, GCM_IN), "10.1.0.9", "10.2.20.%d"), (cbc(9002, CBC_IN, "SHA2-256-128"),
                                                              HOST_A, HOST_B)]
    frames, expect, seq = [], [], {}
    for i in range(12):
        for p, src, dst in peers:
            ip = plain(i, src, dst % (10 + i) if "%" in dst else dst)
            seq[p.spi] = seq.get(p.spi, 0) + 1
            frames.append(frame(bytes(p.encrypt(IP(bytes(ip)), seq_num=seq[p.spi])), UNPROT))
            expect.append(("SA %d #%d" % (p.spi, i), bytes(IP(bytes(ip)))))
    g = peers[0][0]
    flipped = bytearray(bytes(g.encrypt(plain(0, "10.1.0.9", "10.2.20.50"), seq_num=100)))
    flipped[-20] ^= 0x01
    stranger = bytes(peers[1][0].encrypt(plain(0, "10.1.21.8", HOST_B), seq_num=101))
    dummy = esp_custom(g, b"", 102, nh=59, src="10.1.0.9", dst="10.2.20.51")
    frames += [frame(bytes(flipped), UNPROT), frame(stranger, UNPROT), frame(dummy, UNPROT)]
    last = bytes(IP(bytes(plain(0, "10.1.0.9", "10.2.20.99"))))
    frames.append(frame(bytes(g.encrypt(IP(last), seq_num=103)), UNPROT))
    expect.append(("SA 9001 after the bad ones", last))

    pts = []
    for i in range(12):
        pts.append(bytes(IP(bytes(plain(i, "10.2.0.5", "10.1.20.%d" % (5 + i))))))
        pts.append(bytes(IP(bytes(plain(i, HOST_B, HOST_A)))))
    bad_out = [bytes(plain(0, "10.2.0.6", HOST_A)),  # not the SA's host
               bytes(IP(src="10.2.0.5", dst="10.1.20.70", flags="MF", id=77) / UDP() /
                     Raw(b"first fragment"))]
    r = s.run(base_rules(extra=EXTRA), {UNPROT: frames,
                                        PROT: [frame(p, PROT) for p in pts + bad_out]})
    s.check_clean_exit("transport", r)

    s.section("inbound")
    check_outputs(s, "inbound", [split_frame(f)[3] for f in r.out[PROT]], expect)
    s.eq("drop_auth: the flipped bit", r.drop("auth"), 1)
    s.eq("drop_bad_tunnel: a stranger to SA 9002, and one to SA 9102", r.drop("bad_tunnel"), 2)
    s.eq("drop_tfc_dummy: next header 59", r.drop("tfc_dummy"), 1)
    s.eq("drop_fragment: an outbound fragment for a transport SA", r.drop("fragment"), 1)
    for d, spi in (("in", 9001), ("in", 9002), ("out", 9101), ("out", 9102)):
        s.eq("telemetry: SA %s %d is in transport mode" % (d, spi),
             (r.sa_by_spi(d, spi) or {}).get("mode"), "transport")

    s.section("outbound")
    esp = [split_frame(f)[3] for f in r.out[UNPROT]]
    s.eq("outbound ESP packets", len(esp), len(pts))
    osa = {9101: gcm(9101, GCM_OUT), 9102: cbc(9102, CBC_OUT, "HMAC-SHA1-96")}
    for i, (e, p) in enumerate(zip(esp, pts)):
        ip = IP(e)
        spi = struct.unpack("!I", bytes(ip[ESP])[:4])[0] if ip.haslayer(ESP) else None
        if spi not in osa:
            s.check("outbound #%d: ESP of a transport SA" % i, False, "%r" % ip.summary())
            continue
        orig = IP(p)
        s.eq("outbound #%d: the packet's own header carries it (src, dst, ttl, DF, options)" % i,
             (ip.src, ip.dst, ip.ttl, int(ip.flags), bytes(ip)[20:ip.ihl * 4]),
             (orig.src, orig.dst, orig.ttl, int(orig.flags), p[20:orig.ihl * 4]))
        try:
            dec = bytes(osa[spi].decrypt(ip))
        except IPSecIntegrityError as ex:
            dec = ("ICV: %s" % ex).encode()
        s.check("outbound #%d (SA %d): Scapy decrypts it to the plaintext" % (i, spi), dec == p,
                diff_bytes(dec, p))


if __name__ == "__main__":
    suite_main("transport", body)
