#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""
Extended sequence numbers (RFC 4303 §2.2.1, Appendix A; RFC 4106 §5 AAD).

With -e every SA uses 64-bit sequence numbers whose high half is never sent
but enters the AAD. Inbound: Scapy (esn_en=True) sends packets just below
2^32 and then past it; the gateway must infer the high half (Appendix A2.2)
across the wrap, in order and for a late packet from below the wrap.
Outbound: Scapy with esn_en=True decrypts what the gateway sends, and
Scapy without ESN must not (the high half really is in the AAD).
"""

import struct

from sgtest import (suite_main, IP, UDP, Raw, peer_sa, esp_custom, gw_out_sa, frame, base_rules,
                    split_frame, diff_bytes, check_outputs, IPSecIntegrityError, SPI_IN_128, SPI_IN_256,
                    KEY_IN_128, KEY_IN_256, SPI_OUT_256, KEY_OUT_256, SPI_OUT_128, KEY_OUT_128,
                    UNPROT, PROT)

TOP32 = 1 << 32


def inner(hi, lo, dst):
    return bytes(IP(src="10.1.0.9", dst=dst, id=lo & 0xFFFF) / UDP(sport=hi, dport=lo & 0xFFFF) /
                 Raw(struct.pack("!II", hi, lo) * 4))


def wrap_run(s, tag, app_args, with_outbound):
    a = peer_sa(SPI_IN_128, KEY_IN_128, esn=True)
    b = peer_sa(SPI_IN_256, KEY_IN_256, esn=True)
    # (sa, high half, low half, passes?, note)
    plan = [(a, 0, 1, True, "first packet")]
    plan += [(a, 0, lo, True, "below the wrap") for lo in (0xFFFFFFF0, 0xFFFFFFFE, 0xFFFFFFFF)]
    plan += [(a, 1, lo, True, "past the wrap") for lo in (0, 1, 2, 3)]
    plan += [(a, 0, 0xFFFFFFFD, True, "late, from below the wrap"),
             (a, 1, 2, False, "duplicate past the wrap"),
             (a, 0, 0xFFFFFFFF, False, "duplicate from below the wrap"),
             (a, 0, 5, False, "low half 5 sent with high half 0: wrong AAD"),
             (a, 1, 100, True, "further past the wrap")]
    plan += [(b, 0, 7, True, "second SA"), (b, 0, 8, True, "second SA")]
    frames, expect = [], []
    n_auth = 0
    for sa, hi, lo, ok, note in plan:
        dst = "10.2.0.%d" % ((lo % 50) + (140 if sa is b else 10))
        p = inner(hi, lo, dst)
        if lo == 0:
            # Scapy's encrypt() reads seq_num=0 as "not given": build it from its parts.
            frames.append(frame(esp_custom(sa, p, 0, esn_hi=hi), UNPROT))
        else:
            frames.append(frame(bytes(sa.encrypt(IP(p), seq_num=lo, esn_en=True, esn=hi)),
                                UNPROT))
        if ok:
            expect.append(("SA %d seq %d:%d %s" % (sa.spi, hi, lo, note), p))
        elif "AAD" in note:
            n_auth += 1

    # Outbound on both SAs.
    pts = [bytes(IP(src="10.2.0.5", dst="10.1.0.%d" % (5 + 128 * (i % 2))) /
                 UDP(sport=i, dport=9) / Raw(b"esn-out-%d" % i)) for i in range(6)]
    inputs = {UNPROT: frames}
    if with_outbound:
        inputs[PROT] = [frame(p, PROT) for p in pts]
    r = s.run(base_rules(), inputs, app_args=["-e"] + app_args)

    check_outputs(s, tag + " inbound", [split_frame(f)[3] for f in r.out[PROT]], expect)
    n_rep = len([x for x in plan if not x[3]]) - n_auth
    s.eq("%s: drop_replay (duplicates across the wrap)" % tag, r.drop("replay"), n_rep)
    s.eq("%s: drop_auth (only the wrong high half in the AAD)" % tag, r.drop("auth"), n_auth)
    sa = r.sa_by_spi("in", SPI_IN_128) or {}
    s.eq("%s: telemetry: SA in 4096 esn" % tag, sa.get("esn"), 1)
    s.eq("%s: telemetry: SA in 4096 seq is the 64-bit top" % tag, sa.get("seq"), TOP32 + 100)
    if not with_outbound:
        s.check_clean_exit(tag, r)
        return

    osas = {SPI_OUT_256: (gw_out_sa(SPI_OUT_256, KEY_OUT_256, esn=True),
                          gw_out_sa(SPI_OUT_256, KEY_OUT_256, esn=False)),
            SPI_OUT_128: (gw_out_sa(SPI_OUT_128, KEY_OUT_128, esn=True),
                          gw_out_sa(SPI_OUT_128, KEY_OUT_128, esn=False))}
    esp = [split_frame(f)[3] for f in r.out[UNPROT]]
    s.eq("%s: outbound ESP packets" % tag, len(esp), len(pts))
    for i, p in enumerate(pts):
        if i >= len(esp):
            s.check("%s: outbound #%d: Scapy esn_en=True decrypts it" % (tag, i), False,
                    "missing")
            continue
        spi, seq = struct.unpack("!II", esp[i][20:28])
        if spi not in osas:
            s.check("%s: outbound #%d: SPI" % (tag, i), False, "SPI %d" % spi)
            continue
        try:
            dec = bytes(osas[spi][0].decrypt(IP(esp[i]), esn_en=True, esn=0))
        except IPSecIntegrityError as e:
            dec = ("ICV: %s" % e).encode()
        s.check("%s: outbound #%d (SA %d seq %d): Scapy esn_en=True decrypts it"
                % (tag, i, spi, seq), dec == p, diff_bytes(dec, p))
        try:
            osas[spi][1].decrypt(IP(esp[i]))
            s.check("%s: outbound #%d: Scapy without ESN must fail the ICV" % (tag, i), False,
                    "decrypted: the high half is not in the AAD")
        except IPSecIntegrityError:
            s.check("%s: outbound #%d: Scapy without ESN must fail the ICV" % (tag, i), True)
    for spi in (SPI_OUT_256, SPI_OUT_128):
        o = r.sa_by_spi("out", spi) or {}
        s.eq("%s: telemetry: SA out %d esn" % (tag, spi), o.get("esn"), 1)
        s.eq("%s: telemetry: SA out %d seq" % (tag, spi), o.get("seq"), 3)
    s.check_clean_exit(tag, r)


def body(s):
    s.section("-e --burst 1: inbound across the 2^32 wrap, one packet per burst; outbound")
    wrap_run(s, "burst 1", ["--burst", "1"], True)
    s.section("-e, default burst: the same packets, the wrap inside one rx burst")
    # RFC 4303 Appendix A2.2 infers each packet's high half from the window
    # as the packets before it left it; a burst is no excuse to do otherwise.
    wrap_run(s, "burst 32", [], False)

    s.section("esn keyword on one SA line, without -e")
    a = peer_sa(SPI_IN_128, KEY_IN_128, esn=True)
    c = peer_sa(SPI_IN_256, KEY_IN_256, esn=False)
    p1, p2 = inner(0, 1, "10.2.0.10"), inner(0, 1, "10.2.0.150")
    fr = [frame(bytes(a.encrypt(IP(p1), seq_num=1, esn_en=True, esn=0)), UNPROT),
          frame(bytes(c.encrypt(IP(p2), seq_num=1)), UNPROT)]
    r = s.run(base_rules(sa_opts={SPI_IN_128: "esn"}), {UNPROT: fr})
    got = [split_frame(f)[3] for f in r.out[PROT]]
    s.eq("ESN SA and non-ESN SA side by side both decrypt", got, [p1, p2])
    s.eq("telemetry: esn flags per SA", ((r.sa_by_spi("in", SPI_IN_128) or {}).get("esn"),
                                         (r.sa_by_spi("in", SPI_IN_256) or {}).get("esn")),
         (1, 0))
    s.check_clean_exit("esn keyword run", r)

    s.section("esn N: SAs that start at a given sequence number (ipsec-secgw's esn N)")
    esn_start_run(s)


def esn_start_run(s):
    """SA in 4096 starts at N_IN = 2^32 - 6, SA out 8193 at N_OUT = 2^33 - 2.
    Inbound, the window's top starts at N_IN: a packet numbered 5 in the
    high half 0 (new to an SA starting at 0) is taken for high half 1 and
    fails the ICV, while high half 1, low 5 passes, and so does a late one
    just below N_IN. Outbound, the first packet carries N_OUT + 1."""
    n_in, n_out = (1 << 32) - 6, (1 << 33) - 2
    a = peer_sa(SPI_IN_128, KEY_IN_128, esn=True)
    plan = [(0, (n_in + 1) & 0xFFFFFFFF, True, "N + 1, the first after the start"),
            (0, 5, False, "high half 0, low 5: behind the start, read as high half 1"),
            (1, 5, True, "high half 1, low 5: across the wrap"),
            (0, (n_in - 10) & 0xFFFFFFFF, True, "late, just below the start, in the window")]
    fr, expect = [], []
    for hi, lo, ok, note in plan:
        p = inner(hi, lo, "10.2.0.%d" % (10 + lo % 50))
        fr.append(frame(bytes(a.encrypt(IP(p), seq_num=lo, esn_en=True, esn=hi)), UNPROT))
        if ok:
            expect.append((note, p))
    pts = [bytes(IP(src="10.2.0.5", dst="10.1.0.130") / UDP(sport=i, dport=9) /
                 Raw(b"esn-start-%d" % i)) for i in range(2)]
    r = s.run(base_rules(sa_opts={SPI_IN_128: "esn %d" % n_in, SPI_OUT_128: "esn %d" % n_out}),
              {UNPROT: fr, PROT: [frame(p, PROT) for p in pts]})
    check_outputs(s, "esn N inbound", [split_frame(f)[3] for f in r.out[PROT]], expect)
    s.eq("esn N inbound: the one behind the start fails the ICV", r.drop("auth"), 1)
    s.eq("esn N: telemetry: SA in 4096 seq is 2^32 + 5", (r.sa_by_spi("in", SPI_IN_128) or {}).get(
        "seq"), (1 << 32) + 5)
    esp = [split_frame(f)[3] for f in r.out[UNPROT]]
    s.eq("esn N outbound: packets", len(esp), len(pts))
    o = gw_out_sa(SPI_OUT_128, KEY_OUT_128, esn=True)
    for i, (e, p) in enumerate(zip(esp, pts)):
        seq = n_out + 1 + i
        s.eq("esn N outbound #%d: the low half on the wire is that of N + %d" % (i, i + 1),
             struct.unpack("!I", e[24:28])[0], seq & 0xFFFFFFFF)
        try:
            dec = bytes(o.decrypt(IP(e), esn_en=True, esn=seq >> 32))
        except IPSecIntegrityError as x:
            dec = ("ICV: %s" % x).encode()
        s.check("esn N outbound #%d: Scapy decrypts it with high half %d" % (i, seq >> 32),
                dec == p, diff_bytes(dec, p))
    s.eq("esn N: telemetry: SA out 8193 seq", (r.sa_by_spi("out", SPI_OUT_128) or {}).get("seq"),
         n_out + 2)
    s.check_clean_exit("esn N run", r)


if __name__ == "__main__":
    suite_main("esn", body)
