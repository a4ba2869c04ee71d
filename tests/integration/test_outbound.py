#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""
Outbound interop: shardgate encrypts, Scapy's ESP (the peer) decrypts.

Plaintext frames arrive on the protected port; the outbound policy protects
10.1.0.0/25 with an AES-256-GCM SA and 10.1.0.128/25 with an AES-128-GCM SA,
bypasses 10.9.0.0/24 and discards 10.8.0.0/24; everything else matches no
policy. Checked on every ESP packet: Scapy decrypts it to the original
plaintext byte for byte; the outer header (RFC 4301 §5.1.2.1: tunnel
addresses, protocol 50, TTL 64, valid checksum, DSCP copied, DF copied);
sequence numbers 1, 2, 3, ... per SA in order (RFC 4303 §3.3.3); unique IVs
(RFC 4106 §3); the RFC 4303 §2.4 trailer (padding 1, 2, 3, ..., next header
4, 4-byte alignment).
"""

import struct

from sgtest import (suite_main, IP, UDP, TCP, ICMP, Raw, gw_out_sa, frame, base_rules, l2_problems,
                    diff_bytes, split_frame, ip_cksum_ok, gcm_open, IPSecIntegrityError,
                    SPI_OUT_256, SPI_OUT_128, KEY_OUT_256, KEY_OUT_128, GW, PEER, UNPROT, PROT)
from scapy.layers.inet import IPOption_Router_Alert

SIZES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 16, 17, 100, 255, 256, 1000, 1399, 1400]
DSCPS = [0x00, 0x28, 0xB8, 0x20 | 0x02, 0xC0 | 0x01, 0x03]


def payload(n, seed=0):
    return bytes((i * 13 + seed) & 0xFF for i in range(n))


def plaintexts():
    """(label, inner bytes, kind) where kind is 256, 128, bypass, discard or nopolicy."""
    out = []
    for k, (hi, kind) in enumerate(((0, 256), (128, 128))):
        d = lambda h: "10.1.0.%d" % (h + hi)  # noqa: E731,B023
        for i, n in enumerate(SIZES):
            out.append(("UDP payload %d" % n,
                        IP(src="10.2.0.%d" % (10 + i), dst=d(10), id=i + 1,
                           tos=DSCPS[i % len(DSCPS)], flags="DF" if i % 2 else 0) /
                        UDP(sport=2000 + n, dport=4000) / Raw(payload(n, n)), kind))
        out.append(("TCP SYN with options", IP(src="10.2.0.5", dst=d(20), flags="DF") /
                    TCP(sport=4444, dport=80, flags="S",
                        options=[("MSS", 1460), ("SAckOK", b""), ("WScale", 7)]), kind))
        out.append(("TCP payload 1400", IP(src="10.2.0.5", dst=d(20)) /
                    TCP(sport=4444, dport=80, flags="PA") / Raw(payload(1400, 5)), kind))
        out.append(("ICMP echo 56", IP(src="10.2.0.5", dst=d(30), ttl=1) /
                    ICMP(type=8, id=1, seq=1) / Raw(payload(56)), kind))
        out.append(("plaintext first fragment (MF)",
                    IP(src="10.2.0.5", dst=d(50), id=777, flags="MF") /
                    UDP(sport=9, dport=9, len=1008) / Raw(payload(400)), kind))
        out.append(("plaintext last fragment (offset 51)",
                    IP(src="10.2.0.5", dst=d(50), id=777, frag=51, proto=17) /
                    Raw(payload(600)), kind))
        out.append(("IP options (router alert)",
                    IP(src="10.2.0.5", dst=d(40), options=[IPOption_Router_Alert()]) /
                    UDP(sport=1, dport=2) / Raw(b"opt"), kind))
    out.append(("bypass UDP", IP(src="10.2.0.5", dst="10.9.0.7") / UDP(sport=1, dport=2) /
                Raw(b"in the clear"), "bypass"))
    out.append(("bypass ICMP 1400", IP(src="10.2.0.5", dst="10.9.0.8", flags="DF") /
                ICMP() / Raw(payload(1400)), "bypass"))
    out.append(("discard UDP", IP(src="10.2.0.5", dst="10.8.0.7") / UDP() / Raw(b"no"),
                "discard"))
    out.append(("discard TCP", IP(src="10.2.0.5", dst="10.8.0.200") / TCP(), "discard"))
    out.append(("no policy UDP", IP(src="10.2.0.5", dst="10.7.0.7") / UDP() / Raw(b"?"),
                "nopolicy"))
    out.append(("no policy ICMP", IP(src="10.2.0.5", dst="192.0.2.1") / ICMP(), "nopolicy"))
    return [(label, bytes(p), kind) for label, p, kind in out]


def body(s):
    s.section("shardgate encrypts, Scapy decrypts")
    cases = plaintexts()
    # Interleave the two SAs and the other kinds so that order is tested too.
    order = sorted(range(len(cases)), key=lambda i: (i % 7, i))
    cases = [cases[i] for i in order]
    frames = [frame(c[1], PROT) for c in cases]
    r = s.run(base_rules(), {PROT: frames})

    sas = {SPI_OUT_256: gw_out_sa(SPI_OUT_256, KEY_OUT_256),
           SPI_OUT_128: gw_out_sa(SPI_OUT_128, KEY_OUT_128)}
    keys = {SPI_OUT_256: KEY_OUT_256, SPI_OUT_128: KEY_OUT_128}
    want_spi = {256: SPI_OUT_256, 128: SPI_OUT_128}
    protected = [c for c in cases if c[2] in (256, 128)]
    bypass = [c for c in cases if c[2] == "bypass"]
    # What left the unprotected port, in order: ESP and bypassed plaintext.
    out = r.out[UNPROT]
    esp_out = [f for f in out if len(f) >= 34 and f[14 + 9] == 50]
    clear_out = [f for f in out if not (len(f) >= 34 and f[14 + 9] == 50)]
    s.eq("ESP packets on the unprotected port", len(esp_out), len(protected))
    s.eq("bypassed packets on the unprotected port", len(clear_out), len(bypass))
    s.check("Ethernet: dst = neigh port 0 MAC, src = port 0 MAC, type IPv4",
            len(out) > 0 and not l2_problems(r, out, UNPROT), l2_problems(r, out, UNPROT))
    s.eq("nothing sent back out of the protected port", len(r.out[PROT]), 0)

    seqs = {SPI_OUT_256: [], SPI_OUT_128: []}
    ivs = {SPI_OUT_256: [], SPI_OUT_128: []}
    # The k-th plaintext an SA protects must be its ESP packet with seq k.
    by_seq = {}
    wire_order = []
    for f in esp_out:
        ip = split_frame(f)[3]
        key = struct.unpack("!II", ip[20:28]) if len(ip) >= 28 else (None, None)
        by_seq.setdefault(key, ip)
        wire_order.append(key)
        if key[0] in seqs:
            seqs[key[0]].append(key[1])
            ivs[key[0]].append(ip[28:36])
    nth = {SPI_OUT_256: 0, SPI_OUT_128: 0}
    want_order = []
    for i, (label, inner, kind) in enumerate(protected):
        name = "aes-%d-gcm %s" % (kind, label)
        nth[want_spi[kind]] += 1
        want_order.append((want_spi[kind], nth[want_spi[kind]]))
        ip = by_seq.get(want_order[-1])
        if ip is None:
            s.check("Scapy decrypts to the original: " + name, False,
                    "no ESP packet with SPI %d seq %d" % want_order[-1])
            continue
        o = IP(ip)
        spi, seq = want_order[-1]
        problems = []
        if o.src != GW or o.dst != PEER:
            problems.append("outer %s > %s, want %s > %s" % (o.src, o.dst, GW, PEER))
        if o.proto != 50:
            problems.append("proto %d" % o.proto)
        if o.ttl != 64:
            problems.append("TTL %d" % o.ttl)
        if o.ihl != 5 or o.len != len(ip):
            problems.append("IHL %d total length %d of %d bytes" % (o.ihl, o.len, len(ip)))
        if not ip_cksum_ok(ip[:20]):
            problems.append("bad outer header checksum %#06x" % o.chksum)
        in_tos = inner[1]
        if (o.tos >> 2) != (in_tos >> 2):
            problems.append("outer DSCP %#x, inner %#x" % (o.tos >> 2, in_tos >> 2))
        in_df = (inner[6] & 0x40) != 0
        if bool(o.flags.DF) != in_df or o.flags.MF or o.frag != 0:
            problems.append("outer flags %s frag %d, inner DF %s" % (o.flags, o.frag, in_df))
        s.check("outer header: " + name, not problems, "; ".join(problems))
        try:
            dec = bytes(sas[spi].decrypt(IP(ip)))
            s.check("Scapy decrypts to the original: " + name, dec == inner,
                    diff_bytes(dec, inner))
        except IPSecIntegrityError as e:
            s.check("Scapy decrypts to the original: " + name, False, "ICV: %s" % e)
            continue
        try:
            pt = gcm_open(keys[spi], spi, seq, ip[28:])
            padlen, nh = pt[-2], pt[-1]
            pad = pt[-2 - padlen:-2]
            ok = (nh == 4 and pad == bytes(range(1, padlen + 1)) and
                  (len(ip) - 20 - 8 - 8 - 16) % 4 == 0 and padlen < 4 and
                  pt[:len(pt) - 2 - padlen] == inner)
            s.check("ESP trailer (RFC 4303 §2.4): " + name, ok,
                    "pad len %d, padding %s, next header %d, ESP payload %d bytes"
                    % (padlen, pad.hex(), nh, len(ip) - 36))
        except Exception as e:  # noqa: BLE001
            s.check("ESP trailer (RFC 4303 §2.4): " + name, False, "GCM open: %r" % e)
    for spi in (SPI_OUT_256, SPI_OUT_128):
        n = len([c for c in protected if want_spi[c[2]] == spi])
        s.eq("SA out %d sequence numbers on the wire are 1..%d in order" % (spi, n), seqs[spi],
             list(range(1, n + 1)))
        s.eq("SA out %d IVs are unique" % spi, len(set(ivs[spi])), len(ivs[spi]))
    s.check("ESP leaves in the order the plaintexts arrived", wire_order == want_order,
            "wire %r" % wire_order[:20])
    allivs = ivs[SPI_OUT_256] + ivs[SPI_OUT_128]
    s.check("IVs are 8 bytes", all(len(v) == 8 for v in allivs))

    for i, (label, inner, _) in enumerate(bypass):
        got = split_frame(clear_out[i])[3] if i < len(clear_out) else None
        s.check("bypass passes unencrypted and unchanged: " + label, got == inner,
                "missing" if got is None else diff_bytes(got, inner))

    st = r.stats or {}
    n_disc = len([c for c in cases if c[2] == "discard"])
    n_nop = len([c for c in cases if c[2] == "nopolicy"])
    s.eq("telemetry: drop_sp_discard", r.drop("sp_discard"), n_disc)
    s.eq("telemetry: drop_no_policy", r.drop("no_policy"), n_nop)
    s.eq("telemetry: drops (only those)", st.get("drops"), n_disc + n_nop)
    s.eq("telemetry: outbound", st.get("outbound"), len(protected))
    s.eq("telemetry: bypass", st.get("bypass"), len(bypass))
    s.eq("telemetry: tx", st.get("tx"), len(protected) + len(bypass))
    for spi in (SPI_OUT_256, SPI_OUT_128):
        mine = [c for c in protected if want_spi[c[2]] == spi]
        sa = r.sa_by_spi("out", spi) or {}
        s.eq("telemetry: SA out %d seq = packets sent" % spi, sa.get("seq"), len(mine))
        s.eq("telemetry: SA out %d packets" % spi, sa.get("packets"), len(mine))
        s.eq("telemetry: SA out %d bytes (plaintext IP bytes)" % spi, sa.get("bytes"),
             sum(len(c[1]) for c in mine))
    s.check_clean_exit("outbound run", r)


if __name__ == "__main__":
    suite_main("outbound", body)
