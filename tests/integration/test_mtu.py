#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""
Packets too big for the port MTU, outbound and forwarded (RFC 791, RFC 1191,
RFC 4301 §8.1), checked with Scapy.

- ESP that would not fit, DF set on the inner packet: dropped as
  frag_needed, and its sender gets ICMP type 3 code 4 with the largest inner
  packet that fits (1446 at MTU 1500; 1438 for ESP in UDP), quoting the
  packet's start, from the tunnel's address. Scapy checks the ICMP (its
  checksum, the quoted header); the packet sent again at that size passes.
- The same without DF: encrypted, then fragmented (plain ESP and ESP in
  UDP); Scapy reassembles the fragments, and decrypts the result to the
  plaintext.
- Plaintext that fits still goes out whole; nothing above the MTU leaves.
- Bad input next to it: ICMP errors about ICMP errors, later fragments or a
  multicast source are never sent; --icmp-rate bounds the ICMP sent
  (icmp_limited counts the rest); a bypass or decrypted packet over the MTU
  with DF is dropped as mtu; without DF it is fragmented (--mtu 1400).
- Inbound, ESP fragmented on the way (by Scapy's fragment()): reassembled
  before decryption, in order, reversed and interleaved, plain and in UDP;
  the inner packets leave byte for byte. Bad input next to them: an
  incomplete packet times out (--reasm-timeout-ms), overlapping fragments,
  a packet too big for one mbuf and a flood of first fragments over
  --reasm-flows are dropped as reassembly; with --reasm-flows 0, and for
  plaintext, fragments are dropped as fragment. Nothing leaks.
- Jumbo frames: with --mtu 9000 the mbufs are sized for them, and 8000-byte
  packets pass both ways in one frame (Scapy decrypts and encrypts them).
  A frame longer than the mbufs of --mtu 1500 (which net_pcap delivers as a
  chain) is dropped as mtu, not no_room.
"""

from sgtest import (suite_main, peer_sa, gw_out_sa, frame, base_rules, split_frame, ip_cksum_ok,
                    diff_bytes, hexkey, IP, UDP, ICMP, Raw, SecurityAssociation, ESP,
                    SPI_IN_128, KEY_IN_128, SPI_OUT_256, KEY_OUT_256, GW, PEER, UNPROT, PROT)
from scapy.layers.inet import defragment, fragment
from test_natt import udp_len_fixed

KEY_UDP = bytes(range(0x21, 0x31)) + bytes.fromhex("e8e9eaeb")
SPI_UDP = 9001
EXTRA = f"""
sa out {SPI_UDP} aead_algo aes-128-gcm aead_key {hexkey(KEY_UDP)} mode ipv4-tunnel src {GW} dst {PEER} \\
    udp_encap 4500 4500
sp ipv4 out esp protect {SPI_UDP} pri 10 dst 10.1.5.0/24 sport 0:65535 dport 0:65535
sa in {SPI_UDP + 100} aead_algo aes-128-gcm aead_key {hexkey(KEY_UDP)} mode ipv4-tunnel src {PEER} dst {GW} \
    udp_encap 4500 4500
sp ipv4 in esp protect {SPI_UDP + 100} pri 10 dst 10.2.5.0/24 sport 0:65535 dport 0:65535
"""


def plain(n, dst, df, src="10.2.0.5", i=0):
    """An IPv4/UDP packet of @n bytes."""
    return bytes(IP(src=src, dst=dst, id=100 + i, flags="DF" if df else 0) /
                 UDP(sport=1000 + i, dport=9) / Raw(bytes((k * 7 + i) & 0xFF for k in range(n - 28))))


def icmp_of(fr):
    """The IPv4 bytes of an ICMP frame, else None."""
    ip = split_frame(fr)[3]
    return ip if len(ip) >= 28 and ip[9] == 1 else None


def check_icmp(s, tag, ip, orig, mtu):
    """@ip: ICMP "fragmentation needed" about @orig, telling @mtu."""
    p = IP(ip)
    icmp = p[ICMP]
    s.eq("%s: ICMP from %s to the sender, type 3 code 4" % (tag, GW),
         (p.src, p.dst, icmp.type, icmp.code), (GW, IP(orig).src, 3, 4))
    s.eq("%s: next-hop MTU (RFC 1191)" % tag, int.from_bytes(ip[26:28], "big"), mtu)
    s.check("%s: IP checksum" % tag, ip_cksum_ok(ip[:20]))
    again = IP(ip)
    del again[ICMP].chksum
    s.eq("%s: ICMP checksum (as Scapy computes it)" % tag, IP(bytes(again))[ICMP].chksum,
         icmp.chksum)
    q = ip[28:]
    s.eq("%s: it quotes the packet's first %d bytes (at most 548)" % (tag, len(q)),
         q, orig[:min(len(orig), 548)])


def run_1500(s):
    s.section("MTU 1500: DF gets ICMP, the rest is fragmented after encryption")
    big_df = plain(1500, "10.1.0.9", True, i=1)
    fits = plain(1446, "10.1.0.9", True, i=2)       # exactly what ICMP says fits
    big = plain(1500, "10.1.0.10", False, i=3)      # 1554 as ESP: two fragments
    udp_df = plain(1440, "10.1.5.9", True, i=4)     # 1438 fits in UDP
    udp_fits = plain(1438, "10.1.5.9", True, i=5)
    udp_big = plain(1480, "10.1.5.10", False, i=6)
    # no ICMP about an ICMP error, a later fragment, or a multicast sender
    icmp_err = bytes(IP(src="10.2.0.5", dst="10.1.0.11", flags="DF") / ICMP(type=3, code=1) /
                     Raw(bytes(1472)))
    later = bytearray(plain(1500, "10.1.0.12", True, i=7))
    later[6:8] = (0x4000 | 100).to_bytes(2, "big")  # DF, offset 800: not the first fragment
    later = _fix_cksum(bytes(later))
    mcast = plain(1500, "10.1.0.13", True, src="224.0.0.9", i=8)
    inputs = [big_df, fits, big, udp_df, udp_fits, udp_big, icmp_err, later, mcast]
    r = s.run(base_rules(extra=EXTRA), {PROT: [frame(p, PROT) for p in inputs]})
    s.check_clean_exit("mtu 1500", r)
    st = r.stats or {}
    s.eq("drop_frag_needed: the DF packets that do not fit (5)", r.drop("frag_needed"), 5)
    s.eq("icmp_tx: two answers; none about the ICMP error, the later fragment, the multicast",
         st.get("icmp_tx"), 2)
    s.eq("frag_out: two packets fragmented", st.get("frag_out"), 2)
    s.eq("tx_made: two ICMP and one extra fragment each", st.get("tx_made"), 4)

    icmps = [icmp_of(f) for f in r.out.get(PROT, [])]
    s.eq("two frames back on the protected port, both ICMP", len([i for i in icmps if i]), 2)
    if len(icmps) == 2 and all(icmps):
        check_icmp(s, "ESP", icmps[0], big_df, 1446)
        check_icmp(s, "ESP in UDP", icmps[1], udp_df, 1438)

    out = [split_frame(f)[3] for f in r.out.get(UNPROT, [])]
    s.check("nothing above MTU 1500 leaves", all(len(ip) <= 1500 for ip in out),
            str([len(ip) for ip in out]))
    whole = [ip for ip in out if not (int.from_bytes(ip[6:8], "big") & 0x3FFF)]
    frags = [ip for ip in out if int.from_bytes(ip[6:8], "big") & 0x3FFF]
    s.eq("two whole ESP packets (the ones that fit) and four fragments", (len(whole), len(frags)),
         (2, 4))
    s.check("every fragment has a valid IP checksum", all(ip_cksum_ok(f[:20]) for f in frags))
    sa256 = gw_out_sa(SPI_OUT_256, KEY_OUT_256)
    sa_udp = SecurityAssociation(ESP, spi=SPI_UDP, crypt_algo="AES-GCM", crypt_key=KEY_UDP,
                                 tunnel_header=IP(src=GW, dst=PEER),
                                 nat_t_header=UDP(sport=4500, dport=4500))
    for tag, ip, sa, want in (("ESP that fits", whole[0] if whole else b"", sa256, fits),
                              ("ESP in UDP that fits", whole[1] if len(whole) > 1 else b"",
                               sa_udp, udp_fits)):
        s.check("%s: whole, and Scapy decrypts it" % tag, _dec(sa, ip) == want,
                diff_bytes(_dec(sa, ip), want))
    pkts = defragment([IP(f) for f in frags])
    s.eq("Scapy reassembles the fragments into two packets", len(pkts), 2)
    for tag, sa, want in (("ESP", sa256, big), ("ESP in UDP", sa_udp, udp_big)):
        match = [p for p in pkts if (UDP in p) == (tag != "ESP")]
        got = _dec(sa, bytes(match[0])) if match else b""
        s.check("%s fragmented: reassembled, Scapy decrypts it to the plaintext" % tag,
                got == want, diff_bytes(got, want))


def _fix_cksum(ip):
    p = IP(ip)
    del p.chksum
    return bytes(p)


def _dec(sa, ip):
    try:
        return bytes(sa.decrypt(IP(ip)))
    except Exception as e:  # noqa: BLE001
        return ("decrypt: %r" % e).encode()


def run_rate(s):
    s.section("--icmp-rate 5: twenty DF packets too big, five answers")
    pts = [plain(1500, "10.1.0.%d" % (20 + i), True, i=i) for i in range(20)]
    r = s.run(base_rules(), {PROT: [frame(p, PROT) for p in pts]}, app_args=("--icmp-rate", "5"))
    s.check_clean_exit("icmp rate", r)
    st = r.stats or {}
    s.eq("drop_frag_needed", r.drop("frag_needed"), 20)
    s.eq("icmp_tx / icmp_limited", (st.get("icmp_tx"), st.get("icmp_limited")), (5, 15))
    s.eq("five ICMP frames on the protected port",
         len([f for f in r.out.get(PROT, []) if icmp_of(f)]), 5)
    r = s.run(base_rules(), {PROT: [frame(pts[0], PROT)]}, app_args=("--icmp-rate", "0"))
    s.eq("--icmp-rate 0: dropped as frag_needed, no ICMP", (r.drop("frag_needed"),
         (r.stats or {}).get("icmp_tx"), len(r.out.get(PROT, []))), (1, 0, 0))


def run_1400(s):
    s.section("--mtu 1400: bypass and decrypted packets too big")
    pa = peer_sa(SPI_IN_128, KEY_IN_128)
    byp, byp_df = plain(1401, "10.9.0.9", False, i=30), plain(1401, "10.9.0.10", True, i=31)
    byp_fits = plain(1400, "10.9.0.11", True, i=32)
    inn = plain(1401, "10.2.0.9", False, src="10.1.0.9", i=33)
    inn_df = plain(1401, "10.2.0.10", True, src="10.1.0.9", i=34)
    inputs = {PROT: [frame(p, PROT) for p in (byp, byp_df, byp_fits)],
              UNPROT: [frame(bytes(pa.encrypt(IP(p), seq_num=i + 1)), UNPROT)
                       for i, p in enumerate((inn, inn_df))]}
    r = s.run(base_rules(), inputs, app_args=["--mtu", "1400"])
    s.check_clean_exit("mtu 1400", r)
    s.eq("drop_mtu: the bypass and decrypted packets with DF", r.drop("mtu"), 2)
    s.eq("frag_out: the two without DF", (r.stats or {}).get("frag_out"), 2)
    for port, want, tag in ((UNPROT, byp, "bypass"), (PROT, inn, "decrypted")):
        out = [split_frame(f)[3] for f in r.out.get(port, [])]
        frags = [IP(ip) for ip in out if int.from_bytes(ip[6:8], "big") & 0x3FFF]
        got = [bytes(p) for p in defragment(frags)]
        s.check("%s: no frame above 1400" % tag, all(len(ip) <= 1400 for ip in out))
        s.eq("%s without DF: two fragments, reassembled by Scapy to the packet" % tag,
             (len(frags), got), (2, [want]))
    whole = [split_frame(f)[3] for f in r.out.get(UNPROT, [])]
    s.check("the 1400-byte bypass packet with DF goes out whole", byp_fits in whole)


def frags(esp_ip, size, ident):
    """Scapy's fragments of the outer packet @esp_ip, @size bytes of data each."""
    p = IP(esp_ip)
    p.id = ident
    return [bytes(f) for f in fragment(p, fragsize=size)]


def run_reasm(s):
    s.section("inbound: fragmented ESP is reassembled before decryption")
    pa = peer_sa(SPI_IN_128, KEY_IN_128)
    pu = SecurityAssociation(ESP, spi=SPI_UDP + 100, crypt_algo="AES-GCM", crypt_key=KEY_UDP,
                             tunnel_header=IP(src=PEER, dst=GW),
                             nat_t_header=UDP(sport=4500, dport=4500))
    inner = [plain(n, "10.2.0.%d" % (20 + i), False, src="10.1.0.9", i=40 + i)
             for i, n in enumerate((1400, 1000, 600, 1400))]
    udp_inner = plain(1300, "10.2.5.9", False, src="10.1.0.9", i=50)
    e = [bytes(pa.encrypt(IP(p), seq_num=i + 1)) for i, p in enumerate(inner)]
    f = [frags(x, 512, 700 + i) for i, x in enumerate(e)]
    fu = frags(udp_len_fixed(pu.encrypt(IP(udp_inner), seq_num=1)), 600, 800)
    good = f[0] + f[1][::-1] + [x for pair in zip(f[2], f[3]) for x in pair] + f[3][len(f[2]):]
    good += fu
    # bad next to it: a first fragment alone, an overlap, a packet for no mbuf
    alone = frags(bytes(pa.encrypt(IP(plain(1400, "10.2.0.40", False, src="10.1.0.9", i=60)),
                                   seq_num=10)), 512, 900)[0]
    ov = frags(bytes(pa.encrypt(IP(plain(1400, "10.2.0.41", False, src="10.1.0.9", i=61)),
                                seq_num=11)), 512, 901)
    ovl = IP(ov[1])
    ovl.frag -= 8  # starts 64 bytes into the first fragment's data
    del ovl.chksum
    overlap = ov[:1] + [bytes(ovl)] + ov[2:]
    huge = frags(bytes(pa.encrypt(IP(plain(3000, "10.2.0.42", False, src="10.1.0.9", i=62)),
                                  seq_num=12)), 1480, 902)
    plain_frag = frags(plain(1400, "10.2.9.9", False, src="10.1.0.9", i=63), 512, 903)
    bad = [alone] + overlap + huge + plain_frag
    r = s.run(base_rules(extra=EXTRA), {UNPROT: [frame(x, UNPROT) for x in good + bad]},
              app_args=("--reasm-timeout-ms", "200"),
              wait_for=lambda t: (t.cmd("/shardgate/stats") or {}).get("frag_held") == 0,
              wait_timeout=5)
    s.check_clean_exit("reassembly", r)
    s.check("the lone first fragment timed out (frag_held 0 within 5 s)", r.waited)
    st = r.stats or {}
    got = [split_frame(x)[3] for x in r.out.get(PROT, [])]
    want = [inner[0], inner[1], inner[2], inner[3], udp_inner]
    s.check("the five packets, decrypted, in the order their last fragment came",
            got == want, "got %d packets of %r bytes, want %r; first difference: %s" % (
                len(got), [len(x) for x in got], [len(x) for x in want],
                next((diff_bytes(a, b) for a, b in zip(got, want) if a != b), "-")))
    s.eq("reasm_out: the five, and the packet too big for one mbuf", st.get("reasm_out"), 6)
    s.eq("drop_reassembly: the lone fragment (timed out), the %d overlapping ones, the "
         "too-big packet" % len(overlap), r.drop("reassembly"), 1 + len(overlap) + 1)
    s.eq("drop_fragment: the plaintext fragments", r.drop("fragment"), len(plain_frag))
    s.eq("every fragment accounted for: tx + drops + frag_merged == rx",
         (st.get("tx", 0) + st.get("drops", 0) + st.get("frag_merged", 0), st.get("rx")),
         (len(good) + len(bad),) * 2)

    s.section("inbound fragments: --reasm-flows 0, and a flood over --reasm-flows 4")
    r = s.run(base_rules(), {UNPROT: [frame(x, UNPROT) for x in f[0]]},
              app_args=("--reasm-flows", "0"))
    s.check_clean_exit("reasm off", r)
    s.eq("--reasm-flows 0: ESP fragments dropped as fragment, none held",
         (r.drop("fragment"), (r.stats or {}).get("frag_held"), len(r.out.get(PROT, []))),
         (len(f[0]), 0, 0))
    flood = [frags(e[0], 512, 2000 + i)[0] for i in range(40)]
    r = s.run(base_rules(), {UNPROT: [frame(x, UNPROT) for x in flood]},
              app_args=("--reasm-flows", "4", "--reasm-timeout-ms", "60000"))
    s.check_clean_exit("reasm flood (held fragments freed at exit)", r)
    st = r.stats or {}
    s.check("40 first fragments, table of 4: at most 4 held, the rest dropped as reassembly",
            st.get("frag_held", 99) <= 4 and st.get("frag_held", 0) + r.drop("reassembly") == 40,
            "held %r, dropped %r" % (st.get("frag_held"), r.drop("reassembly")))


def run_jumbo(s):
    s.section("jumbo frames: --mtu 9000")
    pa = peer_sa(SPI_IN_128, KEY_IN_128)
    out_p = plain(8000, "10.1.0.9", True, i=70)
    in_p = plain(8000, "10.2.0.9", True, src="10.1.0.9", i=71)
    r = s.run(base_rules(), {PROT: [frame(out_p, PROT)],
                             UNPROT: [frame(bytes(pa.encrypt(IP(in_p))), UNPROT)]},
              app_args=("--mtu", "9000"))
    s.check_clean_exit("jumbo", r)
    esp = [split_frame(f)[3] for f in r.out.get(UNPROT, [])]
    dec = _dec(gw_out_sa(SPI_OUT_256, KEY_OUT_256), esp[0]) if len(esp) == 1 else b""
    s.check("8000 bytes out: one ESP frame of %r bytes, Scapy decrypts it" % [len(x) for x in esp],
            dec == out_p, diff_bytes(dec, out_p))
    got = [split_frame(f)[3] for f in r.out.get(PROT, [])]
    s.check("8000 bytes in: decrypted, one frame", got == [in_p],
            "%r bytes" % [len(x) for x in got])
    s.eq("no drops", (r.stats or {}).get("drops"), 0)
    r = s.run(base_rules(), {UNPROT: [frame(bytes(pa.encrypt(IP(in_p))), UNPROT)]})
    s.check_clean_exit("past the mbuf", r)
    s.eq("--mtu 1500: an 8054-byte frame (a chain from net_pcap) is dropped as mtu",
         (r.drop("mtu"), r.drop("no_room")), (1, 0))


def body(s):
    run_jumbo(s)
    run_reasm(s)
    run_1500(s)
    run_rate(s)
    run_1400(s)


if __name__ == "__main__":
    suite_main("mtu", body)
