#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""
Outbound TFC padding (RFC 4303 §2.7), per SA, checked with Scapy's ESP.

Static rules, --mtu 1400: SA 7001 pads to 256, 512, 1024 or the MTU
(`tfc_pad 256 512 1024 mtu`); SA 7002, ESP in UDP, pads to 1000 only
(`tfc_pad 1000`); SA 8193 of the base topology pads nothing. For each
plaintext, the ESP packet must have exactly the length its size bucket
gives, and Scapy must decrypt it to the plaintext followed by zeros, up to
that bucket. "mtu" pads to the largest packet that fits 1400 bytes, with and
without the UDP header. Bad input next to it: a DF packet that does not fit
even unpadded is dropped as frag_needed, and the ICMP tells the MTU without
padding (padding never makes a fitting packet too big, nor a big one bigger).

Live: the sizes follow the SA through 'rekey out' (the new SPI and key, the
same padding); 'add sa' with descending sizes is refused and changes
nothing; a good one shows its sizes in telemetry.
"""


from sgtest import (suite_main, IP, UDP, Raw, SecurityAssociation, ESP, IPSecIntegrityError,
                    LiveGateway, frame, base_rules, hexkey, split_frame, diff_bytes, GW, PEER, NEIGH_MAC,
                    SPI_OUT_128, KEY_OUT_128, UNPROT, PROT)

MTU = 1400
KEY_A = bytes(range(0x31, 0x41)) + bytes.fromhex("f0f1f2f3")
KEY_B = bytes(range(0x41, 0x61)) + bytes.fromhex("f4f5f6f7")
KEY_A2 = bytes(range(0x51, 0x61)) + bytes.fromhex("f8f9fafb")
SPI_A, SPI_B, SPI_A2 = 7001, 7002, 7101
BUCKETS_A, BUCKETS_B = (256, 512, 1024, "mtu"), (1000,)

EXTRA = f"""
sa out {SPI_A} aead_algo aes-128-gcm aead_key {hexkey(KEY_A)} mode ipv4-tunnel src {GW} dst {PEER} \\
    tfc_pad 256 512 1024 mtu
sa out {SPI_B} aead_algo aes-256-gcm aead_key {hexkey(KEY_B)} mode ipv4-tunnel src {GW} dst {PEER} \\
    tfc_pad 1000 udp_encap 4500 4500
sp ipv4 out esp protect {SPI_A} pri 10 dst 10.1.1.0/24 sport 0:65535 dport 0:65535
sp ipv4 out esp protect {SPI_B} pri 10 dst 10.1.2.0/24 sport 0:65535 dport 0:65535
"""


def esp_len(payload, udp):
    """Outer IPv4 length of an ESP packet with @payload bytes of payload data."""
    pad = (4 - (payload + 2) % 4) % 4
    return 20 + (8 if udp else 0) + 8 + 8 + payload + pad + 2 + 16


def mtu_payload(udp):
    """The largest payload whose ESP packet fits MTU."""
    return ((MTU - 20 - (8 if udp else 0) - 16 - 16) & ~3) - 2


def padded(n, buckets, udp):
    """The payload length shardgate pads @n bytes of inner packet to."""
    for b in buckets:
        if b == "mtu":
            return mtu_payload(udp) if n <= mtu_payload(udp) else n
        if n <= b:
            return max(n, min(b, mtu_payload(udp)))
    return n


def plaintext(n, net, i, df=False):
    """An inner IPv4/UDP packet of exactly @n bytes to 10.1.@net.x."""
    return bytes(IP(src="10.2.0.5", dst="10.1.%d.%d" % (net, 5 + i), id=i,
                    flags="DF" if df else 0) /
                 UDP(sport=3000 + i, dport=9) / Raw(bytes((i + k) & 0xFF for k in range(n - 28))))


def sa(spi, key, udp=False):
    hdr = IP(src=GW, dst=PEER)
    return SecurityAssociation(ESP, spi=spi, crypt_algo="AES-GCM", crypt_key=key,
                               tunnel_header=hdr, nat_t_header=UDP(sport=4500, dport=4500)
                               if udp else None)


def esp_of(fr):
    """(outer IP bytes, SPI, ESP bytes from the SPI on) of an ESP frame."""
    ip = split_frame(fr)[3]
    off = 20 + (8 if ip[9] == 17 else 0)
    return ip, int.from_bytes(ip[off:off + 4], "big"), ip[off:]


def check_esp(s, tag, ip, scapy_sa, p, want_payload, udp):
    s.eq("%s: ESP packet of %d bytes (payload %d for %d)" % (
        tag, esp_len(want_payload, udp), want_payload, len(p)),
        (len(ip), int.from_bytes(ip[2:4], "big")), (esp_len(want_payload, udp),) * 2)
    try:
        dec = bytes(scapy_sa.decrypt(IP(ip)))
    except IPSecIntegrityError as e:
        dec = ("ICV: %s" % e).encode()
    want = p + bytes(want_payload - len(p))
    s.check("%s: Scapy decrypts the inner packet and %d zero bytes after it" % (
        tag, want_payload - len(p)), dec == want, diff_bytes(dec, want))


def static_run(s):
    s.section("static rules, --mtu %d" % MTU)
    sizes_a = [28, 100, 256, 257, 600, 1024, 1025, 1300, mtu_payload(False)]
    sizes_b = [28, 999, 1000, 1001, 1300, mtu_payload(True)]
    plan = [(SPI_A, 1, n) for n in sizes_a] + [(SPI_B, 2, n) for n in sizes_b] + \
        [(SPI_OUT_128, 0, 100)]
    pts = [(spi, plaintext(n, net, i) if net else
            bytes(IP(src="10.2.0.5", dst="10.1.0.200") / UDP() / Raw(bytes(72))))
           for i, (spi, net, n) in enumerate(plan)]
    # too big even unpadded (1 byte past the MTU as ESP), with DF: the sender
    # is told the MTU without padding
    big = [plaintext(mtu_payload(False) + 2, 1, 90, df=True),
           plaintext(mtu_payload(True) + 2, 2, 91, df=True)]
    inputs = [frame(p, PROT) for _, p in pts] + [frame(p, PROT) for p in big]
    r = s.run(base_rules(extra=EXTRA), {PROT: inputs}, app_args=("--mtu", str(MTU)))
    s.check_clean_exit("tfc", r)
    s.eq("drop_frag_needed: the two packets too big unpadded", r.drop("frag_needed"), 2)
    icmp = [split_frame(f)[3] for f in r.out.get(PROT, [])]
    s.eq("ICMP 'fragmentation needed' tells each sender the MTU its SA leaves, padding aside",
         [(ip[9], ip[20], int.from_bytes(ip[26:28], "big")) for ip in icmp],
         [(1, 3, mtu_payload(False)), (1, 3, mtu_payload(True))])

    scapy = {SPI_A: (sa(SPI_A, KEY_A), BUCKETS_A, False),
             SPI_B: (sa(SPI_B, KEY_B, udp=True), BUCKETS_B, True),
             SPI_OUT_128: (sa(SPI_OUT_128, KEY_OUT_128), (), False)}
    out = [esp_of(f) for f in r.out.get(UNPROT, [])]
    s.eq("ESP packets out", len(out), len(pts))
    for i, ((spi, p), (ip, got_spi, _)) in enumerate(zip(pts, out)):
        tag = "#%d SA %d, %d-byte inner" % (i, spi, len(p))
        if got_spi != spi:
            s.check(tag + ": its SA's SPI", False, "SPI %d" % got_spi)
            continue
        scapy_sa, buckets, udp = scapy[spi]
        check_esp(s, tag, ip, scapy_sa, p, padded(len(p), buckets, udp), udp)
    s.eq("the mtu bucket fills the MTU exactly, with and without UDP",
         [len(ip) for ip, spi, _ in out if len(ip) >= MTU - 3], [MTU] * 4)
    for spi, want in ((SPI_A, "256 512 1024 mtu"), (SPI_B, "1000"), (SPI_OUT_128, None)):
        t = r.sa_by_spi("out", spi) or {}
        s.eq("telemetry: SA out %d tfc_pad" % spi, t.get("tfc_pad"), want)


def swapped_run(s):
    s.section("the unprotected port listed second (-u 0x2), --mtu 9000")
    rules = f"""sa out {SPI_A} aead_algo aes-128-gcm aead_key {hexkey(KEY_A)} mode ipv4-tunnel \\
    src {GW} dst {PEER} tfc_pad mtu
sp ipv4 out esp protect {SPI_A} pri 10 dst 10.1.1.0/24 sport 0:65535 dport 0:65535
rt ipv4 dst {PEER}/32 port 1
neigh port 0 {NEIGH_MAC[0]}
neigh port 1 {NEIGH_MAC[1]}
"""
    p = plaintext(100, 1, 0)
    r = s.run(rules, {0: [frame(p, 0)]}, app_args=("-u", "0x2", "--mtu", "9000"))
    s.check_clean_exit("swapped ports", r)
    out = [esp_of(f)[0] for f in r.out.get(1, [])]
    s.eq("padded to the 9000-byte MTU of the unprotected port 1", [len(ip) for ip in out],
         [9000])


def live_run(s):
    s.section("live: rekey out keeps the sizes; add sa checks them")
    g = LiveGateway(s.exe, base_rules(extra=EXTRA), live=(PROT,))
    with g:
        s.runs += 1
        req = g.req

        before = [plaintext(n, 1, i) for i, n in enumerate((60, 300))]
        after = [plaintext(n, 1, 10 + i) for i, n in enumerate((60, 300))]
        d = g.send(PROT, [frame(p, PROT) for p in before])
        s.eq("two packets out on SA %d" % SPI_A, d.get("outbound"), 2)
        r = req("rekey", "out", SPI_A, SPI_A2, "aead_algo", "aes-128-gcm", "aead_key",
                hexkey(KEY_A2))
        s.eq("rekey out %d %d: ok" % (SPI_A, SPI_A2), r.get("ok"), True)
        t = g.sa("out", SPI_A2) or {}
        s.eq("telemetry: the rekeyed SA keeps tfc_pad", t.get("tfc_pad"), "256 512 1024 mtu")
        d = g.send(PROT, [frame(p, PROT) for p in after])
        s.eq("two packets out on SA %d" % SPI_A2, d.get("outbound"), 2)

        sas = req("list", "sa").get("sa")
        line = "sa out 7300 aead_algo aes-128-gcm aead_key %s mode ipv4-tunnel src %s dst %s" % (
            hexkey(KEY_A), GW, PEER)
        r = req("add", *(line + " tfc_pad 512 256").split())
        s.check("add sa with descending tfc_pad sizes: refused with the reason",
                r.get("ok") is False and "tfc_pad sizes must ascend" in r.get("error", ""), r)
        s.eq("... and nothing changed", req("list", "sa").get("sa"), sas)
        r = req("add", *(line + " tfc_pad 300").split())
        s.eq("add sa out 7300 tfc_pad 300: ok", r.get("ok"), True)
        s.eq("telemetry: SA out 7300 tfc_pad", (g.sa("out", 7300) or {}).get("tfc_pad"), "300")
        g.stop()
    s.check_clean_exit("tfc live", g)

    out = [esp_of(f) for f in g.out.get(UNPROT, [])]
    s.eq("SPIs out: two old, two new", [spi for _, spi, _ in out], [SPI_A] * 2 + [SPI_A2] * 2)
    for i, ((ip, spi, _), p) in enumerate(zip(out, before + after)):
        key = KEY_A if spi == SPI_A else KEY_A2
        check_esp(s, "live #%d SA %d" % (i, spi), ip, sa(spi, key), p,
                  padded(len(p), BUCKETS_A, False), False)


def body(s):
    static_run(s)
    swapped_run(s)
    live_run(s)


if __name__ == "__main__":
    suite_main("tfc", body)
