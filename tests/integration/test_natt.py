#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""
NAT traversal (RFC 3948, issue 11 item 3) on net_pcap, against Scapy's own
ESP-in-UDP (SecurityAssociation(nat_t_header=UDP(...))).

SA 4096 (in) and SA 8193 (out) carry `udp_encap 4500 4500`; SA 4097 and
8192 stay plain ESP. Checked:
- inbound: Scapy's ESP in UDP decrypts to the inner packet byte for byte;
- outbound: every packet of SA 8193 is IPv4/UDP 4500->4500 with checksum 0
  and a consistent length, and Scapy decrypts it to the original plaintext;
  SA 8192's stays protocol 50;
- a NAT keepalive (one 0xFF byte) is dropped as natt_keepalive; IKE behind
  the non-ESP marker, with no slow path, as not_for_us;
- bad input next to the good: ESP in UDP for a plain SA and plain ESP for a
  UDP SA (encap_mismatch), a wrong UDP length (malformed), a short datagram
  (esp_short), a forged packet from a new address (auth: no float);
- the peer floats: an authentic packet from a new address and port moves
  the inbound SA and the outbound UDP SA to it (natt_float, peer_moved
  event, telemetry), and a replayed older packet from elsewhere moves
  nothing.
"""

from sgtest import (suite_main, peer_sa, frame, base_rules, split_frame, has_event, events_list,
                    gw_out_sa,
                    IP, UDP, ICMP, Raw, IPSecIntegrityError, SecurityAssociation, ESP,
                    SPI_IN_128, SPI_IN_256, KEY_IN_128, KEY_IN_256, SPI_OUT_128, SPI_OUT_256,
                    KEY_OUT_128, KEY_OUT_256, PEER, GW, UNPROT, PROT)

NATT = {SPI_IN_128: "udp_encap 4500 4500", SPI_OUT_128: "udp_encap 4500 4500"}
# a route to where the peer floats
EXTRA = "rt ipv4 dst 198.51.100.0/24 port %d\n" % UNPROT
MOVED, MOVED_PORT = "198.51.100.7", 31337


def natt_sa(spi=SPI_IN_128, key=KEY_IN_128, src=PEER, sport=4500, seq_num=1):
    return SecurityAssociation(ESP, spi=spi, crypt_algo="AES-GCM", crypt_key=key,
                               tunnel_header=IP(src=src, dst=GW),
                               nat_t_header=UDP(sport=sport, dport=4500), seq_num=seq_num)


def udp_len_fixed(ip):
    """Scapy 2.5.0's nat_t_header leaves the UDP length at 8 (its header
    alone); a real stack writes the datagram's. The UDP header is outside
    the ICV, so setting it right changes nothing else."""
    b = bytearray(bytes(ip))
    ihl = (b[0] & 15) * 4
    b[ihl + 4:ihl + 6] = (len(b) - ihl).to_bytes(2, "big")
    return bytes(b)


def enc(sa, p):
    return udp_len_fixed(sa.encrypt(IP(p) if isinstance(p, bytes) else p))


def inner(i, host=10):
    return IP(src="10.1.0.9", dst="10.2.0.%d" % host, id=500 + i) / UDP(sport=7000 + i,
                                                                        dport=53) / \
        Raw(bytes(range(i % 50)))


def body(s):
    rules = base_rules(extra=EXTRA, sa_opts=NATT)
    good_sa = natt_sa()
    good = [bytes(inner(i)) for i in range(6)]
    frames = [frame(enc(good_sa, p), UNPROT) for p in good]
    expect_in = list(good)
    # the same encapsulation, crafted by hand: 4-byte marker, keepalive
    keepalive = bytes(IP(src=PEER, dst=GW) / UDP(sport=4500, dport=4500) / Raw(b"\xff"))
    ike = bytes(IP(src=PEER, dst=GW) / UDP(sport=4500, dport=4500) /
                Raw(b"\x00\x00\x00\x00" + bytes(28)))
    frames += [frame(keepalive, UNPROT), frame(keepalive, UNPROT), frame(ike, UNPROT)]
    # bad: ESP in UDP for the plain SA 4097, plain ESP for the UDP SA 4096
    plain_in_udp = natt_sa(spi=SPI_IN_256, key=KEY_IN_256)
    frames.append(frame(enc(plain_in_udp, inner(90, host=200)), UNPROT))
    plain_esp = peer_sa(seq_num=40)
    frames.append(frame(bytes(plain_esp.encrypt(inner(91))), UNPROT))
    # bad: UDP length that does not match the datagram; too short for ESP
    esp = bytearray(enc(natt_sa(seq_num=50), inner(92)))
    esp[24:26] = (int.from_bytes(esp[24:26], "big") + 4).to_bytes(2, "big")
    frames.append(frame(bytes(esp), UNPROT))
    short = bytes(IP(src=PEER, dst=GW) / UDP(sport=4500, dport=4500) / Raw(b"\x00\x00\x10\x00"
                                                                          + bytes(8)))
    frames.append(frame(short, UNPROT))
    # bad: forged (bad ICV) from a new address: dropped, moves nothing
    forged = bytearray(enc(natt_sa(src="203.0.113.66", sport=999, seq_num=60), inner(93)))
    forged[-1] ^= 1
    frames.append(frame(bytes(forged), UNPROT))
    # the float: an authentic packet from a new mapping, then one more
    moved_sa = natt_sa(src=MOVED, sport=MOVED_PORT, seq_num=100)
    for i in (94, 95):
        p = bytes(inner(i))
        frames.append(frame(enc(moved_sa, p), UNPROT))
        expect_in.append(p)
    # a replay of an older number from a third mapping: inside the window,
    # never seen, authentic, but older than the newest: taken, moves nothing
    old = bytes(inner(96))
    frames.append(frame(enc(natt_sa(src="192.0.2.77", sport=4444, seq_num=80), old), UNPROT))
    expect_in.append(old)

    # outbound: 10.1.0.128/25 is SA 8193 (UDP), 10.1.0.0/25 SA 8192 (plain)
    plain_out = [bytes(IP(src="10.2.0.5", dst="10.1.0.%d" % (130 + i)) / ICMP() /
                       Raw(bytes([i]) * (i * 7))) for i in range(5)]
    plain_out_esp = [bytes(IP(src="10.2.0.5", dst="10.1.0.20") / ICMP() / Raw(b"plain"))]
    frames_prot = [frame(p, PROT) for p in plain_out + plain_out_esp]

    seen = {}

    def moved(t):
        seen["events"] = t.cmd("/shardgate/events") or {}
        return has_event(seen["events"], "peer_moved", "in", SPI_IN_128)

    r = s.run(rules, {UNPROT: frames, PROT: frames_prot}, wait_for=moved)
    s.check_clean_exit("natt", r)

    s.section("inbound ESP in UDP")
    got = [split_frame(f)[3] for f in r.out[PROT]]
    s.eq("decrypted packets on the protected port", len(got), len(expect_in))
    s.check("each is Scapy's inner packet, byte for byte, in order", got == expect_in,
            "first difference at %r" % next((i for i, (a, b) in enumerate(zip(got, expect_in))
                                             if a != b), None))
    st = r.stats or {}
    for reason, n in (("natt_keepalive", 2), ("not_for_us", 1), ("encap_mismatch", 2),
                      ("malformed", 1), ("esp_short", 1), ("auth", 1)):
        s.eq("drop %s" % reason, r.drop(reason), n)
    s.eq("natt_rx: every datagram to 4500 was looked at", st.get("natt_rx"),
         len(good) + 3 + 1 + 1 + 1 + 1 + 2 + 1)

    s.section("the peer floats")
    s.eq("natt_float: one move (the forged and the older packet move nothing)",
         st.get("natt_float"), 1)
    sa_in = r.sa_by_spi("in", SPI_IN_128) or {}
    s.eq("SA 4096 now takes from the new mapping", (sa_in.get("tun_src"), sa_in.get("udp_sport")),
         (MOVED, MOVED_PORT))
    s.check("the control core logged the move and moved the outbound SA",
            "peer moved from %s:4500 to %s:%d" % (PEER, MOVED, MOVED_PORT) in r.stdout + r.stderr and
            "1 outbound SA(s) follow the peer" in r.stdout + r.stderr, r.stderr[-1200:])
    ev = [e for e in events_list(seen.get("events") or {}) if e.get("type") == "peer_moved"]
    s.eq("/shardgate/events: one peer_moved, naming where the peer went",
         [(e.get("dir"), e.get("spi"), e.get("peer"), e.get("port")) for e in ev],
         [("in", SPI_IN_128, MOVED, MOVED_PORT)])
    sa_out = r.sa_by_spi("out", SPI_OUT_128) or {}
    s.eq("SA 8193 now sends to the new mapping", (sa_out.get("tun_dst"), sa_out.get("udp_dport")),
         (MOVED, MOVED_PORT))
    s.check("SA 8192 (plain ESP) shows no UDP fields", "udp_dport" not in (
        r.sa_by_spi("out", SPI_OUT_256) or {"udp_dport": 1}))

    s.section("outbound ESP in UDP")
    out = [split_frame(f)[3] for f in r.out[UNPROT]]
    udp_out = [ip for ip in out if ip[9] == 17]
    esp_out = [ip for ip in out if ip[9] == 50]
    s.eq("SA 8193's packets leave as UDP", len(udp_out), len(plain_out))
    s.eq("SA 8192's packet leaves as ESP", len(esp_out), len(plain_out_esp))
    dec = gw_out_sa(SPI_OUT_256, KEY_OUT_256)
    try:
        s.check("Scapy decrypts SA 8192's ESP", bytes(dec.decrypt(IP(esp_out[0]))) ==
                plain_out_esp[0] if esp_out else False)
    except IPSecIntegrityError as e:
        s.check("Scapy decrypts SA 8192's ESP", False, str(e))
    for i, ip in enumerate(udp_out):
        o = IP(ip)
        u = o[UDP]
        problems = []
        if o.src != GW or o.dst not in (PEER, MOVED):
            problems.append("outer %s > %s" % (o.src, o.dst))
        want_dport = 4500 if o.dst == PEER else MOVED_PORT
        if (u.sport, u.dport) != (4500, want_dport):
            problems.append("ports %d > %d" % (u.sport, u.dport))
        if u.chksum != 0:
            problems.append("UDP checksum %#x (RFC 3948: 0)" % u.chksum)
        if u.len != len(ip) - 20 or o.len != len(ip):
            problems.append("UDP length %d, IP length %d, %d bytes" % (u.len, o.len, len(ip)))
        sa = SecurityAssociation(ESP, spi=SPI_OUT_128, crypt_algo="AES-GCM",
                                 crypt_key=KEY_OUT_128, tunnel_header=IP(src=GW, dst=o.dst),
                                 nat_t_header=UDP(sport=4500, dport=want_dport))
        try:
            pt = bytes(sa.decrypt(IP(ip)))
        except IPSecIntegrityError as e:
            pt = b"ICV: %s" % str(e).encode()
        if pt not in plain_out:
            problems.append("does not decrypt to a plaintext sent")
        s.check("ESP in UDP #%d: header and Scapy's decryption" % i, not problems,
                "; ".join(problems))


if __name__ == "__main__":
    suite_main("natt", body)
