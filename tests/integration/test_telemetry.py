#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""
Telemetry (issue 2 item 6) and two workers.

Two worker lcores share one CPU (--lcores 0@0,1@1,2@1), each polling one
port, so SAs owned by the other worker are reached through handoff rings.
Checked: /shardgate/stats totals equal the sum over /shardgate/lcores for
every counter; every received packet is sent or dropped exactly once;
cycles_per_packet > 0 for busy workers; /shardgate/sa (pages and spi=N)
reports per-SA packets, bytes, auth failures and the outbound sequence
number equal to what went on the wire; the stock dpdk-telemetry.py client
gets the same JSON. A second run pins both ports to one worker with
--config and checks the map is honoured.
"""

import json
import signal
import struct

from sgtest import (suite_main, hexkey, PEER, GW, IP, UDP, TCP, Raw, peer_sa, gw_out_sa, frame, base_rules,
                    split_frame, SPI_IN_128, SPI_IN_256, KEY_IN_128, KEY_IN_256, SPI_OUT_256,
                    SPI_OUT_128, KEY_OUT_256, KEY_OUT_128, UNPROT, PROT)

COUNTERS = ["rx", "tx", "inbound", "outbound", "bypass", "handoff_tx", "handoff_rx", "drops"]


def traffic():
    a = peer_sa(SPI_IN_128, KEY_IN_128)
    b = peer_sa(SPI_IN_256, KEY_IN_256)
    unprot, prot = [], []
    want = {"in": {SPI_IN_128: [0, 0, 0], SPI_IN_256: [0, 0, 0]},  # packets, bytes, auth_fail
            "out": {SPI_OUT_256: [0, 0], SPI_OUT_128: [0, 0]},      # packets, bytes
            "auth": 0, "no_policy": 0, "malformed": 0, "bypass": 0}
    for i in range(70):
        sa, spi, host = (a, SPI_IN_128, 1 + i % 100) if i % 3 else (b, SPI_IN_256, 130 + i % 100)
        inner = bytes(IP(src="10.1.0.9", dst="10.2.0.%d" % host) / UDP(sport=i, dport=9) /
                      Raw(b"t" * (i * 7 % 300)))
        esp = bytearray(bytes(sa.encrypt(IP(inner))))
        if i % 10 == 9:
            esp[-1] ^= 0xFF
            want["in"][spi][2] += 1
            want["auth"] += 1
        else:
            want["in"][spi][0] += 1
            want["in"][spi][1] += len(inner)
        unprot.append(frame(bytes(esp), UNPROT))
    for i in range(90):
        host = i * 3 % 256
        pt = bytes(IP(src="10.2.0.5", dst="10.1.0.%d" % host) / TCP(sport=i, dport=80) /
                   Raw(b"o" * (i * 11 % 500)))
        spi = SPI_OUT_256 if host < 128 else SPI_OUT_128
        want["out"][spi][0] += 1
        want["out"][spi][1] += len(pt)
        prot.append(frame(pt, PROT))
    for i in range(5):
        prot.append(frame(bytes(IP(src="10.2.0.5", dst="10.7.0.%d" % i) / UDP()), PROT))
        want["no_policy"] += 1
        prot.append(frame(bytes(IP(src="10.2.0.5", dst="10.9.0.%d" % i) / UDP()), PROT))
        want["bypass"] += 1
        unprot.append(frame(b"\x45\x00\x00", UNPROT, pad60=False))
        want["malformed"] += 1
    return unprot, prot, want


def body(s):
    s.section("two workers on one CPU, handoff between them")
    unprot, prot, want = traffic()
    nin = len(unprot) + len(prot)
    r = s.run(base_rules(), {UNPROT: unprot, PROT: prot}, lcores="--lcores=0@0,1@1,2@1", txq=2,
              stock_client=True,
              queries=["/shardgate/sa,spi=%d" % SPI_OUT_256, "/shardgate/sa,abc", "/"])
    st = r.stats or {}
    lc = {k: v for k, v in (r.lcores or {}).items() if isinstance(v, dict)}
    s.eq("stats: workers", st.get("workers"), 2)
    s.eq("lcores: one entry per worker", sorted(lc), ["1", "2"])
    s.eq("stats: sa_count", st.get("sa_count"), 4)
    keys = COUNTERS + sorted(k for k in st if k.startswith("drop_"))
    s.check("stats lists drop_<reason> counters", len(keys) > len(COUNTERS) + 10,
            "keys %r" % sorted(st))
    for k in keys:
        tot = sum(v.get(k, 0) for v in lc.values())
        s.check("stats %s == sum over lcores (%s)" % (k, st.get(k)),
                st.get(k) is not None and st.get(k) == tot and
                all(k in v for v in lc.values()), "stats %r, lcores %r" % (
                    st.get(k), {n: v.get(k) for n, v in lc.items()}))
    s.eq("stats rx == input frames", st.get("rx"), nin)
    s.eq("stats rx + tx_made == tx + drops + frag_merged + frag_held",
         st.get("rx") + st.get("tx_made", -1),
         st.get("tx", 0) + st.get("drops", 0) + st.get("frag_merged", -1) + st.get("frag_held", -1))
    s.eq("stats drops == sum of drop_*", st.get("drops"),
         sum(v for k, v in st.items() if k.startswith("drop_")))
    for n, v in sorted(lc.items()):
        s.eq("lcore %s: drops == sum of its drop_*" % n, v.get("drops"),
             sum(x for k, x in v.items() if k.startswith("drop_")))
    s.eq("handoff_tx == handoff_rx (nothing lost between workers)", st.get("handoff_tx"),
         st.get("handoff_rx"))
    s.check("some packets were handed off between workers", (st.get("handoff_tx") or 0) > 0,
            "handoff_tx %r: the two-worker path was not exercised" % st.get("handoff_tx"))
    for n, v in sorted(lc.items()):
        if v.get("rx", 0) + v.get("handoff_rx", 0) > 0:
            s.check("lcore %s: cycles_per_packet > 0" % n, (v.get("cycles_per_packet") or 0) > 0,
                    "got %r" % v.get("cycles_per_packet"))
    s.eq("drop_auth", r.drop("auth"), want["auth"])
    s.eq("drop_no_policy", r.drop("no_policy"), want["no_policy"])
    s.eq("drop_malformed", r.drop("malformed"), want["malformed"])
    s.eq("bypass", st.get("bypass"), want["bypass"])
    s.eq("inbound", st.get("inbound"), sum(v[0] for v in want["in"].values()))
    s.eq("outbound", st.get("outbound"), sum(v[0] for v in want["out"].values()))

    for spi, (pk, by, af) in want["in"].items():
        sa = r.sa_by_spi("in", spi) or {}
        s.eq("sa in %d: packets, bytes, auth_fail" % spi,
             (sa.get("packets"), sa.get("bytes"), sa.get("auth_fail")), (pk, by, af))
    esp = [split_frame(f)[3] for f in r.out[UNPROT]]
    esp = [e for e in esp if len(e) > 28 and e[9] == 50]
    wire = {SPI_OUT_256: [], SPI_OUT_128: []}
    okeys = {SPI_OUT_256: gw_out_sa(SPI_OUT_256, KEY_OUT_256),
             SPI_OUT_128: gw_out_sa(SPI_OUT_128, KEY_OUT_128)}
    undecryptable = 0
    for e in esp:
        spi, seq = struct.unpack("!II", e[20:28])
        if spi in wire:
            wire[spi].append(seq)
            try:
                okeys[spi].decrypt(IP(e))
            except Exception:  # noqa: BLE001
                undecryptable += 1
    s.eq("every ESP packet from two workers decrypts in Scapy", undecryptable, 0)
    for spi, (pk, by) in want["out"].items():
        sa = r.sa_by_spi("out", spi) or {}
        s.eq("sa out %d: seq == packets sent" % spi, sa.get("seq"), pk)
        s.eq("sa out %d: packets, bytes" % spi, (sa.get("packets"), sa.get("bytes")), (pk, by))
        s.eq("sa out %d: sequence numbers on the wire are 1..%d, no gap or repeat" % (spi, pk),
             sorted(wire[spi]), list(range(1, pk + 1)))
    one = r.extra.get("/shardgate/sa,spi=%d" % SPI_OUT_256)
    s.check("/shardgate/sa,spi=%d returns that SA only" % SPI_OUT_256,
            isinstance(one, dict) and set(k for k, v in one.items() if isinstance(v, dict)) ==
            {"out_%d" % SPI_OUT_256}, "got %r" % one)
    s.check("/shardgate/sa,abc is refused (null reply)", r.extra.get("/shardgate/sa,abc") is None,
            "got %r" % r.extra.get("/shardgate/sa,abc"))
    cmds = r.extra.get("/") or []
    s.check("'/' lists /shardgate/stats, /shardgate/lcores, /shardgate/sa",
            all(c in cmds for c in ("/shardgate/stats", "/shardgate/lcores", "/shardgate/sa")),
            "got %r" % cmds)
    page0 = r.sa
    s.eq("/shardgate/sa,0 pages cover every SA", sorted(page0),
         sorted(["in_%d" % SPI_IN_128, "in_%d" % SPI_IN_256, "out_%d" % SPI_OUT_256,
                 "out_%d" % SPI_OUT_128]))

    rc, out, err = r.client_output or (None, "", "")
    try:
        js = json.loads(out.strip().splitlines()[-1]) if out.strip() else None
    except ValueError:
        js = None
    s.check("stock dpdk-telemetry.py -f PREFIX: exit 0, /shardgate/stats JSON",
            rc == 0 and isinstance(js, dict) and isinstance(js.get("/shardgate/stats"), dict),
            "status %r stdout %r stderr %r" % (rc, out[-300:], err[-300:]))
    if isinstance(js, dict) and isinstance(js.get("/shardgate/stats"), dict):
        s.eq("stock client reads the same totals", js["/shardgate/stats"].get("rx"), nin)
    s.check_clean_exit("two-worker run", r)

    s.section("/shardgate/sa pages: 100 SAs")
    extra = "".join("sa in %d aead_algo aes-128-gcm aead_key %s mode ipv4-tunnel src %s dst %s\n"
                    % (20000 + i, hexkey(KEY_IN_128), PEER, GW) for i in range(96))
    r = s.run(base_rules(extra), {}, queries=["/shardgate/sa,1", "/shardgate/sa,2",
                                              "/shardgate/sa,99", "/shardgate/sa,spi=20095"])
    p1, p2 = r.extra.get("/shardgate/sa,1") or {}, r.extra.get("/shardgate/sa,2") or {}
    sas = lambda d: sorted(k for k, v in d.items() if isinstance(v, dict))  # noqa: E731
    s.eq("every SA listed once over the pages", len(r.sa), 100)
    s.eq("sa_count", (r.stats or {}).get("sa_count"), 100)
    s.eq("page 1: total and pages", (p1.get("total"), p1.get("pages")), (100, 3))
    s.check("pages are disjoint and 48 SAs long",
            len(sas(p1)) == 48 and len(sas(p2)) == 4 and not set(sas(p1)) & set(sas(p2)),
            "page 1 %d SAs, page 2 %d" % (len(sas(p1)), len(sas(p2))))
    s.eq("a page past the end is empty", sas(r.extra.get("/shardgate/sa,99") or {}), [])
    s.eq("spi=20095 finds the last SA", sas(r.extra.get("/shardgate/sa,spi=20095") or {}),
         ["in_20095"])
    s.check_clean_exit("100-SA run", r)

    s.section("--config pins both ports to lcore 1; SIGINT stops it")
    a = peer_sa(SPI_IN_128, KEY_IN_128)
    inner = bytes(IP(src="10.1.0.9", dst="10.2.0.3") / UDP() / Raw(b"cfg"))
    pt = bytes(IP(src="10.2.0.5", dst="10.1.0.3") / UDP() / Raw(b"cfg"))
    r = s.run(base_rules(), {UNPROT: [frame(bytes(a.encrypt(IP(inner))), UNPROT)],
                             PROT: [frame(pt, PROT)]},
              lcores="--lcores=0@0,1@1,2@1", txq=2, app_args=["--config", "(0,0,1),(1,0,1)"],
              stop_signal=signal.SIGINT)
    lc = {k: v for k, v in (r.lcores or {}).items() if isinstance(v, dict)}
    s.eq("lcore 1 received both packets", (lc.get("1") or {}).get("rx"), 2)
    s.eq("lcore 2 received none", (lc.get("2") or {}).get("rx"), 0)
    s.eq("the packets went through", (len(r.out[PROT]), len(r.out[UNPROT])), (1, 1))
    s.check_clean_exit("--config run, stopped by SIGINT", r)


if __name__ == "__main__":
    suite_main("telemetry", body)
