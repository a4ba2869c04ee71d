#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""
Bad input next to good input, in one gateway run (issue 2, "Bad input").

Good ESP, bypass and outbound packets are interleaved with every kind of bad
frame the unprotected and protected ports can see. Each bad frame must be
dropped and counted under its own reason (exact counts over telemetry), the
per-SA auth_fail / replay_drop / other_drop counters must match, every good
packet must still come out byte for byte, and the gateway must neither crash
nor leak an mbuf. Frames whose ICV is valid but whose trailer or inner
packet is wrong are built from Scapy's own _ESPPlain and crypt_algo.
"""

import struct

from sgtest import (suite_main, IP, UDP, TCP, ICMP, Raw, ARP, IPv6, Ether, peer_sa, gw_out_sa,
                    frame, base_rules, esp_custom, split_frame, diff_bytes, check_outputs, l2_problems,
                    SPI_IN_128, SPI_IN_256, KEY_IN_128, KEY_IN_256, SPI_OUT_256, KEY_OUT_256,
                    PEER, GW, UNPROT, PROT, PCAP_MAC, NEIGH_MAC)

REASONS = ["malformed", "not_ipv4", "fragment", "not_for_us", "esp_short", "unknown_spi",
           "bad_tunnel", "replay", "auth", "bad_pad", "bad_next_header", "bad_inner", "policy",
           "sp_discard", "no_policy", "seq_overflow", "seq_reserve", "sa_expired", "no_route", "mtu",
           "no_room", "crypto", "handoff_full", "tx_full", "punt_bad", "punt_rate", "punt_full",
           "natt_keepalive", "encap_mismatch", "punt_tx_rate", "tfc_dummy",
           "frag_needed", "reassembly", "esp_blocks"]


class Feed:
    """Frames for one port, each with what must happen to it."""

    def __init__(self):
        self.items = []  # (label, frame, reason or None, expected output or None)

    def good(self, label, fr, expect):
        self.items.append((label, fr, None, expect))

    def bad(self, label, fr, reason):
        self.items.append((label, fr, reason, None))


def inner(n, dst="10.2.0.10", tag=0):
    return bytes(IP(src="10.1.0.9", dst=dst, id=tag) / UDP(sport=1000 + tag, dport=7) /
                 Raw(bytes((tag + i) & 0xFF for i in range(n))))


def enc(sa, pkt, seq):
    return bytes(sa.encrypt(IP(pkt), seq_num=seq))


def flip(b, off):
    b = bytearray(b)
    b[off] ^= 0x01
    return bytes(b)


def with_ip(ip_bytes, **kw):
    """Rewrite outer IPv4 fields (checksum recomputed), keep the payload."""
    p = IP(ip_bytes)
    for k, v in kw.items():
        setattr(p, k, v)
    del p.chksum
    return bytes(p)


def build():
    a = peer_sa(SPI_IN_128, KEY_IN_128)
    b = peer_sa(SPI_IN_256, KEY_IN_256)
    u, p = Feed(), Feed()
    tag = [0]

    def g(sa, seq, dst="10.2.0.10", n=40, label=None):
        tag[0] += 1
        pk = inner(n, dst, tag[0])
        u.good(label or "good ESP SA %d seq %d" % (sa.spi, seq), frame(enc(sa, pk, seq), UNPROT),
               pk)
        return pk

    g(a, 1)
    ok2 = inner(33, tag=200)
    u.bad("tampered ICV (SA 4096 seq 2)", frame(flip(enc(a, ok2, 2), -1), UNPROT), "auth")
    u.good("genuine seq 2 after its tampered twin (window moves only after the ICV)",
           frame(enc(a, ok2, 2), UNPROT), ok2)
    g(a, 3)
    first = u.items[0][1]
    u.bad("replayed capture of seq 1", first, "replay")
    u.bad("unknown SPI 0x9999", frame(enc(peer_sa(0x9999, KEY_IN_128), inner(20), 1), UNPROT),
          "unknown_spi")
    g(b, 1, dst="10.2.0.130")
    u.bad("ESP of 20 bytes (less than header + IV + trailer + ICV)",
          frame(bytes(IP(src=PEER, dst=GW, proto=50) / Raw(struct.pack("!II", SPI_IN_128, 4) +
                                                            b"\x00" * 12)), UNPROT), "esp_short")
    u.bad("ESP with no payload at all",
          frame(bytes(IP(src=PEER, dst=GW, proto=50)), UNPROT), "esp_short")
    u.bad("IPv4 header cut at 10 bytes", frame(bytes(IP(src=PEER, dst=GW, proto=50))[:10], UNPROT,
                                               pad60=False), "malformed")
    cut = enc(a, inner(200, tag=99), 50)
    u.bad("ESP frame cut short of its IP total length", frame(cut[:80], UNPROT, pad60=False),
          "malformed")
    u.bad("garbage after an IPv4 ethertype", frame(bytes(range(40)), UNPROT), "malformed")
    u.bad("IHL 4 (header shorter than 20 bytes)",
          frame(b"\x44" + bytes(IP(src=PEER, dst=GW, proto=50) / Raw(b"\x00" * 40))[1:], UNPROT),
          "malformed")
    u.bad("runt frame of 10 bytes",
          bytes.fromhex(PCAP_MAC[0].replace(":", "")) + b"\x02\x00\x00\x00", "malformed")
    g(a, 4)
    u.bad("bad padding bytes 01 02 04 with a valid ICV",
          frame(esp_custom(a, inner(3, tag=5), 5, padding=b"\x01\x02\x04"), UNPROT), "bad_pad")
    u.bad("pad length 255 beyond the payload with a valid ICV",
          frame(esp_custom(a, inner(3, tag=6), 6, padlen=255), UNPROT), "bad_pad")
    u.bad("zero padding bytes with a valid ICV",
          frame(esp_custom(a, inner(3, tag=7), 7, padding=b"\x00\x00\x00"), UNPROT), "bad_pad")
    u.bad("next header 17 (UDP) with a valid ICV",
          frame(esp_custom(a, inner(20, tag=8), 8, nh=17), UNPROT), "bad_next_header")
    u.bad("next header 41 (IPv6) over an IPv4 inner packet, valid ICV",
          frame(esp_custom(a, inner(20, tag=9), 9, nh=41), UNPROT), "bad_next_header")
    g(a, 10)
    # RFC 4303 §2.6, §2.7: a dummy packet (next header 59) is authentic and
    # dropped as meant; TFC padding after the inner packet is removed
    u.bad("dummy packet: next header 59, valid ICV",
          frame(esp_custom(a, bytes(range(37)), 74, nh=59), UNPROT), "tfc_dummy")
    tfc = inner(20, tag=72)
    u.good("TFC padding: 300 zero bytes after a 48-byte inner packet, trimmed",
           frame(esp_custom(a, tfc + bytes(300), 75), UNPROT), tfc)
    u.bad("TFC padding cannot make up for an inner length past the payload",
          frame(esp_custom(a, bytes(IP(bytes(IP(src="10.1.0.9", dst="10.2.0.10", len=90) /
                                           UDP() / Raw(b"t" * 20)))) + bytes(10), 76),
                UNPROT), "bad_inner")
    pad7 = inner(3, tag=70)
    u.good("7 bytes of padding 1..7 (more than needed) are valid (RFC 4303 §2.4)",
           frame(esp_custom(a, pad7, 70, padding=bytes(range(1, 8))), UNPROT), pad7)
    pad255 = inner(3, tag=71)
    u.good("255 bytes of padding 1..255 are valid (RFC 4303 §2.4)",
           frame(esp_custom(a, pad255, 71, padding=bytes(range(1, 256))), UNPROT), pad255)
    u.bad("ARP on the unprotected port",
          bytes(Ether(dst="ff:ff:ff:ff:ff:ff", src=NEIGH_MAC[0]) /
                ARP(op=1, psrc=PEER, pdst=GW)), "not_ipv4")
    u.bad("IPv6 on the unprotected port",
          bytes(Ether(dst=PCAP_MAC[0], src=NEIGH_MAC[0]) / IPv6(src="fd00::1", dst="fd00::2") /
                UDP() / Raw(b"v6")), "not_ipv4")
    u.bad("802.1Q-tagged ESP",
          bytes.fromhex((PCAP_MAC[0] + NEIGH_MAC[0]).replace(":", "")) +
          b"\x81\x00\x00\x05\x08\x00" + enc(a, inner(20, tag=60), 60), "not_ipv4")
    u.bad("plaintext UDP to 10.5.0.1 (no inbound policy)",
          frame(bytes(IP(src=PEER, dst="10.5.0.1") / UDP(sport=1, dport=2) / Raw(b"hi")), UNPROT),
          "not_for_us")
    u.bad("ping to the gateway's tunnel address",
          frame(bytes(IP(src=PEER, dst=GW) / ICMP()), UNPROT), "not_for_us")
    byp = bytes(IP(src="10.1.0.9", dst="10.2.9.5") / UDP(sport=5, dport=6) / Raw(b"bypass in"))
    u.good("plaintext to 10.2.9.0/24 passes by the inbound bypass policy", frame(byp, UNPROT), byp)
    u.bad("plaintext bypassed to 10.77.0.1, which has no route",
          frame(bytes(IP(src=PEER, dst="10.77.0.1") / UDP(sport=1, dport=2) / Raw(b"nr")), UNPROT),
          "no_route")
    u.bad("plaintext to 10.2.0.5, where policy requires ESP",
          frame(bytes(IP(src="10.1.0.9", dst="10.2.0.5") / UDP() / Raw(b"sneak")), UNPROT),
          "policy")
    # ESP fragments are reassembled (integ_mtu); other fragments from the
    # unprotected side are not let in
    u.bad("outer fragment: MF set on UDP that is not ESP in UDP",
          frame(bytes(IP(src=PEER, dst=GW, flags="MF") / UDP(sport=7, dport=7) /
                      Raw(b"\x00" * 64)), UNPROT), "fragment")
    u.bad("outer fragment: offset 100, proto GRE",
          frame(bytes(IP(src=PEER, dst=GW, proto=47, frag=100) / Raw(b"\x00" * 64)), UNPROT),
          "fragment")
    g(a, 11, label="good ESP seq 11")
    u.bad("ESP from the wrong tunnel source 172.16.0.99",
          frame(bytes(peer_sa(SPI_IN_128, KEY_IN_128, src="172.16.0.99").encrypt(
              IP(inner(20, tag=12)), seq_num=12)), UNPROT), "bad_tunnel")
    g(a, 12, label="good ESP seq 12 (the wrong-source twin did not use it up)")
    u.bad("SA 4096 carrying 10.2.0.200 (SA 4097's policy)",
          frame(enc(a, inner(20, dst="10.2.0.200", tag=13), 13), UNPROT), "policy")
    u.bad("SA 4096 carrying 10.6.0.1 (no inbound policy)",
          frame(enc(a, inner(20, dst="10.6.0.1", tag=14), 14), UNPROT), "policy")
    bad_len = bytes(IP(src="10.1.0.9", dst="10.2.0.10", len=100) / UDP() / Raw(b"q" * 20))
    u.bad("inner total length 100 in a 48-byte inner packet, valid ICV",
          frame(esp_custom(a, bad_len, 15), UNPROT), "bad_inner")
    u.bad("inner version 6 behind next header 4, valid ICV",
          frame(esp_custom(a, b"\x65" + inner(20, tag=16)[1:], 16), UNPROT), "bad_inner")
    u.bad("ciphertext bit flipped (SA 4096 seq 17)",
          frame(flip(enc(a, inner(50, tag=17), 17), 20 + 8 + 8 + 5), UNPROT), "auth")
    moved = bytearray(enc(a, inner(50, tag=18), 18))
    moved[24:28] = struct.pack("!I", 19)
    u.bad("sequence number rewritten 18 -> 19 (AAD no longer matches)",
          frame(bytes(moved), UNPROT), "auth")
    u.bad("SA 4097 packet under a wrong key",
          frame(enc(peer_sa(SPI_IN_256, bytes(36)), inner(20, dst="10.2.0.131"), 5), UNPROT),
          "auth")
    g(b, 2, dst="10.2.0.140")
    u.bad("replay of seq 12 after it passed", u.items[[i for i, it in enumerate(u.items)
                                                       if "seq 12" in it[0]][-1]][1], "replay")
    u.bad("ESP header + 10 bytes from SA 4096",
          frame(bytes(IP(src=PEER, dst=GW, proto=50) / Raw(struct.pack("!II", SPI_IN_128, 30) +
                                                            b"\x11" * 10)), UNPROT), "esp_short")
    u.bad("sequence number 0 with a valid ICV (never valid)",
          frame(esp_custom(a, inner(20, tag=40), 0), UNPROT), "replay")
    u.bad("SPI 8192, which is an outbound SA's",
          frame(enc(peer_sa(SPI_OUT_256, KEY_OUT_256), inner(20), 1), UNPROT), "unknown_spi")
    u.bad("SPI 0 (reserved)", frame(enc(peer_sa(0, KEY_IN_128), inner(20), 1), UNPROT),
          "unknown_spi")
    u.bad("4000-byte frame at MTU 1500 (a chain from net_pcap, past the MTU)",
          frame(bytes(IP(src=PEER, dst=GW, proto=50) /
                      Raw(struct.pack("!II", SPI_IN_128, 21) + b"\x00" * 3992)), UNPROT),
          "mtu")
    g(a, 20)
    g(b, 3, dst="10.2.0.150", n=1400)
    # SA 4097's rule alone decides its traffic (checked without rte_acl); a
    # pri 20 discard over 10.2.0.96/28 outranks part of SA 4096's rule, so
    # SA 4096 goes through rte_acl. Both paths, good and bad.
    u.bad("SA 4097 carrying 10.2.0.10 (SA 4096's policy)",
          frame(enc(b, inner(20, dst="10.2.0.10", tag=80), 6), UNPROT), "policy")
    g(b, 7, dst="10.2.0.255", label="good ESP SA 4097 seq 7 to 10.2.0.255 (its rule's edge)")
    u.bad("SA 4096 carrying 10.2.0.100, under the pri 20 discard",
          frame(enc(a, inner(20, dst="10.2.0.100", tag=81), 21), UNPROT), "policy")
    g(a, 22, dst="10.2.0.112", label="good ESP SA 4096 seq 22 to 10.2.0.112, past the discard")

    # Protected side: junk next to plaintext that must still be encrypted.
    o = gw_out_sa(SPI_OUT_256, KEY_OUT_256)
    pt1 = bytes(IP(src="10.2.0.5", dst="10.1.0.5") / UDP(sport=1, dport=2) / Raw(b"p1"))
    p.good("plaintext to 10.1.0.5 is encrypted", frame(pt1, PROT), pt1)
    p.bad("ARP on the protected port",
          bytes(Ether(dst="ff:ff:ff:ff:ff:ff", src=NEIGH_MAC[1]) / ARP(psrc="10.2.0.5",
                                                                      pdst="10.2.0.1")),
          "not_ipv4")
    p.bad("IPv4 header cut at 12 bytes on the protected port",
          frame(pt1[:12], PROT, pad60=False), "malformed")
    p.bad("version 6 in an IPv4 ethertype on the protected port",
          frame(b"\x65" + pt1[1:], PROT), "malformed")
    p.bad("3000-byte plaintext frame at MTU 1500 (a chain, past the MTU)",
          frame(bytes(IP(src="10.2.0.5", dst="10.1.0.5") / UDP() / Raw(b"j" * 3000)), PROT),
          "mtu")
    pt2 = bytes(IP(src="10.2.0.6", dst="10.1.0.6") / TCP(sport=3, dport=4) / Raw(b"p2" * 50))
    p.good("plaintext to 10.1.0.6 is encrypted", frame(pt2, PROT), pt2)
    return u.items, p.items, o


def body(s):
    s.section("one run: bad frames interleaved with good ones on both ports")
    uitems, pitems, osa = build()
    rules = base_rules("sp ipv4 in esp bypass pri 5 dst 10.77.0.0/24 sport 0:65535 dport 0:65535\n"
                       "sp ipv4 in esp discard pri 20 dst 10.2.0.96/28 sport 0:65535 dport 0:65535\n")
    r = s.run(rules, {UNPROT: [it[1] for it in uitems], PROT: [it[1] for it in pitems]})

    want = {}
    for it in uitems + pitems:
        if it[2] is not None:
            want[it[2]] = want.get(it[2], 0) + 1
    for reason in REASONS:
        n = want.get(reason, 0)
        s.check("drop_%s == %d" % (reason, n), r.drop(reason) == n,
                "got %r; frames meant for it: %s" % (
                    r.drop(reason), [it[0] for it in uitems + pitems if it[2] == reason]))
    s.eq("drops total", (r.stats or {}).get("drops"), sum(want.values()))
    s.eq("rx total", (r.stats or {}).get("rx"), len(uitems) + len(pitems))

    good_in = [it for it in uitems if it[2] is None]
    check_outputs(s, "good input still passes", [split_frame(f)[3] for f in r.out[PROT]],
                  [(it[0], it[3]) for it in good_in])
    s.check("Ethernet header of everything on the protected port",
            len(r.out[PROT]) > 0 and not l2_problems(r, r.out[PROT], PROT),
            l2_problems(r, r.out[PROT], PROT))

    good_out = [it for it in pitems if it[2] is None]
    esp = [split_frame(f)[3] for f in r.out[UNPROT]]
    s.eq("ESP packets out of the unprotected port", len(esp), len(good_out))
    for i, (label, _, _, expect) in enumerate(good_out):
        try:
            dec = bytes(osa.decrypt(IP(esp[i]))) if i < len(esp) else None
        except Exception as e:  # noqa: BLE001
            dec = ("%r" % e).encode()
        s.check("still encrypted and Scapy-decryptable: " + label, dec == expect,
                "missing" if dec is None else diff_bytes(dec, expect))

    def per_sa(spi, field, n):
        sa = r.sa_by_spi("in", spi) or {}
        s.eq("SA in %d %s == %d" % (spi, field, n), sa.get(field), n)

    per_sa(SPI_IN_128, "auth_fail", 3)
    per_sa(SPI_IN_256, "auth_fail", 1)
    per_sa(SPI_IN_128, "replay_drop", 3)
    per_sa(SPI_IN_256, "replay_drop", 0)
    per_sa(SPI_IN_128, "other_drop", want.get("bad_pad", 0) + want.get("bad_next_header", 0) +
           want.get("bad_inner", 0))
    # An SA counts what it decrypted and authenticated, before the policy check.
    per_sa(SPI_IN_256, "packets", len([it for it in uitems if it[0].startswith(
        ("good ESP SA 4097", "SA 4097 carrying"))]))
    s.check_clean_exit("bad-input run", r)


if __name__ == "__main__":
    suite_main("badinput", body)
