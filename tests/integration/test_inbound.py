#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""
Inbound interop: Scapy's ESP (the peer) encrypts, shardgate decrypts.

A spread of inner packets (UDP, TCP, ICMP; payloads of 0..1400 bytes, every
ESP pad length; IP options up to the 40-byte maximum; DF set or not; TTL 1;
DSCP/ECN; inner fragments) goes through an AES-128-GCM and an AES-256-GCM
SA. What leaves the protected port must be the original inner packet byte
for byte (RFC 4303 §3.4.4: nothing is changed on decapsulation, not even the
TTL), behind a rewritten Ethernet header; the one exception is a CE mark on
the outer header, which RFC 6040 §4.2 carries into an ECN-capable inner one.
"""


from sgtest import (suite_main, IP, UDP, TCP, ICMP, Raw, peer_sa, frame, base_rules, l2_problems,
                    check_outputs, split_frame, SPI_IN_128, SPI_IN_256, KEY_IN_128, KEY_IN_256,
                    UNPROT, PROT)
from scapy.layers.inet import IPOption_Router_Alert, IPOption_RR, IPOption_NOP

SIZES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 15, 16, 17, 31, 64, 100, 255, 256, 511, 1000, 1399, 1400]


def payload(n, seed=0):
    return bytes((i * 7 + seed) & 0xFF for i in range(n))


def inner_set(host_offset):
    """(label, inner packet bytes) for one SA: 10.2.0.0/25 is SA 4096's
    inbound policy, 10.2.0.128/25 SA 4097's; host_offset picks the half."""
    src = "10.1.0.9"
    out = []
    d = lambda h: "10.2.0.%d" % (h + host_offset)  # noqa: E731
    for n in SIZES:
        out.append(("UDP payload %d" % n,
                    IP(src=src, dst=d(10), id=1000 + n) / UDP(sport=40000 + n, dport=53) /
                    Raw(payload(n, n))))
    for n, flags in ((0, "S"), (1, "PA"), (20, "A"), (536, "PA"), (1400, "A")):
        out.append(("TCP %s payload %d" % (flags, n),
                    IP(src=src, dst=d(20), flags="DF") /
                    TCP(sport=33000, dport=443, seq=123456789, ack=987654321, flags=flags,
                        window=501) / Raw(payload(n, 3))))
    out.append(("TCP with MSS/SACK/timestamp options",
                IP(src=src, dst=d(20), flags="DF") /
                TCP(sport=33001, dport=22, flags="S",
                    options=[("MSS", 1360), ("SAckOK", b""), ("Timestamp", (1, 0)),
                             ("WScale", 7)])))
    for n in (0, 56, 1400):
        out.append(("ICMP echo payload %d" % n,
                    IP(src=src, dst=d(30)) / ICMP(type=8, id=77, seq=n) / Raw(payload(n, 9))))
    out.append(("ICMP unreachable quoting a header",
                IP(src=src, dst=d(30)) / ICMP(type=3, code=4, nexthopmtu=1400) /
                IP(src=d(30), dst=src) / UDP(sport=1, dport=2)))
    out.append(("IP option router alert (IHL 6)",
                IP(src=src, dst=d(40), options=[IPOption_Router_Alert()]) /
                UDP(sport=5000, dport=5001) / Raw(b"ra")))
    out.append(("IP options, 40 bytes (IHL 15)",
                IP(src=src, dst=d(40), options=[IPOption_RR(length=39, pointer=4,
                                                             routers=["0.0.0.0"] * 9)]) /
                UDP(sport=5000, dport=5002) / Raw(payload(33))))
    out.append(("IP options NOP padded, DF set",
                IP(src=src, dst=d(40), flags="DF", options=[IPOption_NOP()] * 4) /
                UDP(sport=5000, dport=5003) / Raw(payload(10))))
    out.append(("DF set", IP(src=src, dst=d(50), flags="DF") / UDP(sport=1, dport=9) /
                Raw(payload(100))))
    out.append(("DF clear", IP(src=src, dst=d(50), flags=0) / UDP(sport=1, dport=9) /
                Raw(payload(100))))
    out.append(("TTL 1 (not decremented)", IP(src=src, dst=d(50), ttl=1) /
                UDP(sport=2, dport=9) / Raw(payload(12))))
    out.append(("TTL 255, DSCP EF, ECT(0)", IP(src=src, dst=d(50), ttl=255, tos=0xB8 | 2) /
                UDP(sport=3, dport=9) / Raw(payload(12))))
    out.append(("inner first fragment (MF)",
                IP(src=src, dst=d(60), id=4242, flags="MF", frag=0) /
                UDP(sport=7, dport=7, len=1008) / Raw(payload(200))))
    out.append(("inner last fragment (offset 25)",
                IP(src=src, dst=d(60), id=4242, flags=0, frag=25, proto=17) /
                Raw(payload(800))))
    out.append(("GRE-ish protocol 47, no ports", IP(src=src, dst=d(70), proto=47) /
                Raw(payload(40))))
    return [(label, bytes(p)) for label, p in out]


def body(s):
    s.section("AES-128-GCM and AES-256-GCM, Scapy encrypts, shardgate decrypts")
    sas = {SPI_IN_128: peer_sa(SPI_IN_128, KEY_IN_128),
           SPI_IN_256: peer_sa(SPI_IN_256, KEY_IN_256)}
    # (label, spi, input frame, expected inner bytes)
    cases = []
    for spi, algo, off in ((SPI_IN_128, "aes-128-gcm", 0), (SPI_IN_256, "aes-256-gcm", 128)):
        for label, inner in inner_set(off):
            esp = bytes(sas[spi].encrypt(IP(inner)))
            cases.append(("%s %s" % (algo, label), spi, frame(esp, UNPROT), inner))

    # Outer-header variants on the 128-bit SA.
    base = IP(src="10.1.0.9", dst="10.2.0.80", tos=0x02) / UDP(sport=9, dport=9) / Raw(b"ecn" * 9)
    ce_expect = IP(bytes(base))
    ce_expect.tos |= 3
    del ce_expect.chksum
    variants = [
        ("outer ECN CE, inner ECT(0): inner becomes CE (RFC 6040)",
         peer_sa(SPI_IN_128, KEY_IN_128, tos=0x03), bytes(base), bytes(ce_expect), b""),
        ("outer ECN CE, inner Not-ECT: inner unchanged",
         peer_sa(SPI_IN_128, KEY_IN_128, tos=0x03),
         bytes(IP(src="10.1.0.9", dst="10.2.0.81", tos=0x00) / UDP() / Raw(b"x" * 20)), None, b""),
        ("outer DSCP CS6 + ECT(0), inner DSCP 0: inner unchanged",
         peer_sa(SPI_IN_128, KEY_IN_128, tos=0xC2),
         bytes(IP(src="10.1.0.9", dst="10.2.0.82", tos=0x00) / UDP() / Raw(b"y" * 20)), None, b""),
        ("outer IP options (router alert)",
         peer_sa(SPI_IN_128, KEY_IN_128, options=[IPOption_Router_Alert()]),
         bytes(IP(src="10.1.0.9", dst="10.2.0.83") / UDP() / Raw(b"z" * 30)), None, b""),
        ("Ethernet trailer after the outer packet is trimmed",
         sas[SPI_IN_128],
         bytes(IP(src="10.1.0.9", dst="10.2.0.84") / UDP() / Raw(b"t" * 30)), None,
         b"\xde\xad\xbe\xef\x00\x00\x00\x00"),
    ]
    for label, sa, inner, expect, trailer in variants:
        if sa is not sas[SPI_IN_128]:
            # Same key and SPI: keep the sequence numbers of one SA increasing.
            sa.seq_num = sas[SPI_IN_128].seq_num
            sas[SPI_IN_128].seq_num += 1
        esp = bytes(sa.encrypt(IP(inner)))
        cases.append(("aes-128-gcm " + label, SPI_IN_128, frame(esp, UNPROT) + trailer,
                      expect if expect is not None else inner))

    frames = [c[2] for c in cases]
    r = s.run(base_rules(), {UNPROT: frames})
    out = r.out[PROT]
    check_outputs(s, "decrypted", [split_frame(f)[3] for f in out],
                  [(label, expect) for label, _, _, expect in cases])
    s.check("Ethernet: dst = neigh port 1 MAC, src = port 1 MAC, type IPv4",
            len(out) > 0 and not l2_problems(r, out, PROT), l2_problems(r, out, PROT))
    s.eq("nothing sent back out of the unprotected port", len(r.out[UNPROT]), 0)

    st = r.stats or {}
    s.eq("telemetry: inbound", st.get("inbound"), len(cases))
    s.eq("telemetry: tx", st.get("tx"), len(cases))
    s.eq("telemetry: drops", st.get("drops"), 0)
    for spi in (SPI_IN_128, SPI_IN_256):
        mine = [c for c in cases if c[1] == spi]
        sa = r.sa_by_spi("in", spi) or {}
        s.eq("telemetry: SA in %d packets" % spi, sa.get("packets"), len(mine))
        s.eq("telemetry: SA in %d bytes (inner IP bytes)" % spi, sa.get("bytes"),
             sum(len(c[3]) for c in mine))
        s.eq("telemetry: SA in %d highest sequence number" % spi, sa.get("seq"), len(mine))
        s.eq("telemetry: SA in %d auth_fail" % spi, sa.get("auth_fail"), 0)
    s.check_clean_exit("inbound run", r)


if __name__ == "__main__":
    suite_main("inbound", body)
