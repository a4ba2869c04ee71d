#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""
The control requests a key manager needs (issue 10 item 2; keymgr.c), on a
gateway fed from pcap files, bad input next to good:

- spi alloc [MIN MAX]: a reserved SPI is unique, never one in use, taken
  by "add sa in", given back by "spi free"; bad ranges are refused;
- query sa in|out SPI: one SA's counters, as /shardgate/sa has them;
- del sa of an SA in a rekey: the old one ends the grace at once (policies
  move to the new SA); the new one calls the rekey off (the old one, which
  the policies name, stays);
- client NAME / flush origin NAME: what one connection adds is NAME's
  (list sa/sp say so); the flush removes NAME's policies and SAs, keeps an
  SA another origin's policy names, and leaves the rule file's alone.

Every refused request changes nothing (list sa, list sp).
"""

import json
import os
import socket

from sgtest import (suite_main, LiveGateway, base_rules, frame, peer_sa, hexkey, IP, ICMP,
                    UNPROT, PEER, GW, KEY_IN_128, SPI_IN_128, SPI_OUT_128)


def body(s):
    sa = peer_sa()
    frames = [frame(bytes(sa.encrypt(IP(src="10.1.0.5", dst="10.2.0.5") / ICMP())), UNPROT)
              for _ in range(7)]
    g = LiveGateway(s.exe, base_rules(), live=(), inputs={UNPROT: frames})
    g.prefix = "sgike_km_%d" % os.getpid()
    g.lcores = "--lcores=0@1,1@1"  # CPU 0 belongs to another job on this machine
    with g:
        s.runs += 1

        def req(line):
            import json
            rc, out, err = g.ctl(line)
            try:
                return json.loads(out.strip().splitlines()[-1])
            except (ValueError, IndexError):
                return {"unparsed": out + err}

        def state():
            return req("list sa").get("sa"), req("list sp").get("sp")

        def refused(line, why):
            before = state()
            r = req(line)
            s.check("'%s' refused: %s" % (line[:48], why),
                    r.get("ok") is False and why in r.get("error", ""), r)
            s.eq("'%s' changed nothing" % line[:48], state(), before)

        s.section("spi alloc / spi free")
        r = req("spi alloc")
        s.check("spi alloc: an SPI >= 256", r.get("ok") is True and r.get("spi", 0) >= 256, r)
        s.eq("spi free of it", req("spi free %d" % r.get("spi", 0)).get("ok"), True)
        r = req("spi alloc 3221225472 3489660927")
        s.check("spi alloc MIN MAX stays in the range",
                r.get("ok") is True and 0xc0000000 <= r.get("spi", 0) <= 0xcfffffff, r)
        req("spi free %d" % r.get("spi", 0))
        r = req("spi alloc 70000 70000")
        s.eq("a one-SPI range gives that SPI", r.get("spi"), 70000)
        refused("spi alloc 70000 70000", "no free SPI")
        refused("spi alloc %d %d" % (SPI_IN_128, SPI_IN_128), "no free SPI")
        key = hexkey(KEY_IN_128)
        r = req("add sa in 70000 aead_algo aes-128-gcm aead_key %s mode ipv4-tunnel src %s dst %s"
                % (key, PEER, GW))
        s.eq("add sa in of the reserved SPI", r.get("ok"), True)
        refused("spi free 70000", "not reserved")
        s.eq("del sa in 70000", req("del sa in 70000").get("ok"), True)
        for line, why in (("spi alloc 1 300", "256 <= MIN"), ("spi alloc 600 500", "256 <= MIN"),
                          ("spi alloc 600", "usage"), ("spi alloc 1 2 3", "usage"),
                          ("spi alloc 0x100 4294967296", "usage"), ("spi free", "usage"),
                          ("spi free x", "usage"), ("spi free 99999", "not reserved"),
                          ("spi", "usage")):
            refused(line, why)

        s.section("query sa")
        g.wait(lambda: (req("query sa in %d" % SPI_IN_128).get("sa") or {}).get("packets") == 7)
        q = req("query sa in %d" % SPI_IN_128).get("sa") or {}
        t = g.sa("in", SPI_IN_128) or {}
        s.eq("query sa in: the 7 packets the pcap carried", q.get("packets"), 7)
        s.eq("query sa in: bytes as telemetry has them", q.get("bytes"), t.get("bytes"))
        s.eq("query sa in: the tunnel's ends, peer to gateway", (q.get("src"), q.get("dst")),
             (PEER, GW))
        s.check("query sa in: a plain ESP SA has no UDP ports",
                "sport" not in q and "dport" not in q, q)
        q = req("query sa out %d" % SPI_OUT_128).get("sa") or {}
        s.eq("query sa out: an idle SA has 0 packets", (q.get("dir"), q.get("packets")),
             ("out", 0))
        r = req("add sa out 70001 aead_algo aes-128-gcm aead_key %s mode ipv4-tunnel "
                "src %s dst %s udp_encap 4500 40001" % (key, GW, PEER))
        s.eq("add sa out 70001 with udp_encap 4500 40001", r.get("ok"), True)
        q = req("query sa out 70001").get("sa") or {}
        s.eq("query sa out: a UDP SA's ends and ports",
             (q.get("src"), q.get("dst"), q.get("sport"), q.get("dport")), (GW, PEER, 4500, 40001))
        s.eq("del sa out 70001", req("del sa out 70001").get("ok"), True)

        s.section("move sa")
        r = req("add sa out 70002 aead_algo aes-128-gcm aead_key %s mode ipv4-tunnel "
                "src %s dst %s udp_encap 4500 40002" % (key, GW, PEER))
        s.eq("add sa out 70002 with udp_encap 4500 40002", r.get("ok"), True)

        def ends(d, spi):
            q = req("query sa %s %d" % (d, spi)).get("sa") or {}
            return q.get("src"), q.get("dst"), q.get("sport"), q.get("dport")

        r = req("move sa out 70002 peer 172.16.0.9 port 41000")
        s.eq("move sa out 70002 peer 172.16.0.9 port 41000",
             (r.get("ok"), r.get("peer"), r.get("port")), (True, "172.16.0.9", 41000))
        s.eq("query sa out 70002: it sends there now", ends("out", 70002),
             (GW, "172.16.0.9", 4500, 41000))
        r = req("move sa out 70002 peer 172.16.0.10")
        s.eq("without a port the port stays", ends("out", 70002),
             (GW, "172.16.0.10", 4500, 41000))
        s.eq("move sa in %d peer 172.16.0.7 (a plain ESP SA)" % SPI_IN_128,
             req("move sa in %d peer 172.16.0.7" % SPI_IN_128).get("ok"), True)
        s.eq("query sa in: it takes from 172.16.0.7", ends("in", SPI_IN_128)[:2],
             ("172.16.0.7", GW))
        s.eq("and back to %s" % PEER, req("move sa in %d peer %s" % (SPI_IN_128, PEER)).get(
            "ok"), True)
        for line, why in (("move sa in 1234 peer 172.16.0.1", "no such SA"),
                          ("move sa out %d peer 172.16.0.1" % SPI_IN_128, "no such SA"),
                          ("move sa in %d peer 172.16.0.1 port 4500" % SPI_IN_128,
                           "without udp_encap"),
                          ("move sa out 70002 peer 224.0.0.1", "not a unicast"),
                          ("move sa out 70002 peer 0.0.0.0", "not a unicast"),
                          ("move sa out 70002 peer 255.255.255.255", "not a unicast"),
                          ("move sa out 70002 peer 300.1.1.1", "not a unicast"),
                          ("move sa out 70002 peer 172.16.0.1 port 0", "1..65535"),
                          ("move sa out 70002 peer 172.16.0.1 port 65536", "1..65535"),
                          ("move sa out 70002 peer 172.16.0.1 port x", "1..65535"),
                          ("move sa out 70002 peer", "usage"),
                          ("move sa out 70002 172.16.0.1", "usage"),
                          ("move sa up 70002 peer 172.16.0.1", "usage"),
                          ("move sa out 70002 peer 172.16.0.1 port 5 more", "usage"),
                          ("move sa out 70002 peer 172.16.0.1 sport 5", "usage"),
                          ("move", "usage")):
            refused(line, why)
        # list sa has no tunnel ends: ask for them
        s.eq("the refused moves moved nothing (out 70002)", ends("out", 70002),
             (GW, "172.16.0.10", 4500, 41000))
        s.eq("the refused moves moved nothing (in %d)" % SPI_IN_128, ends("in", SPI_IN_128)[:2],
             (PEER, GW))
        s.eq("del sa out 70002", req("del sa out 70002").get("ok"), True)
        for line, why in (("query sa in 1234", "no such SA"),
                          ("query sa out %d" % SPI_IN_128, "no such SA"),
                          ("query sa up 1", "usage"), ("query sa in", "usage"),
                          ("query sa in 1 2", "usage"), ("query sp", "usage"),
                          ("query", "usage")):
            refused(line, why)

        s.section("del sa during a rekey")
        r = req("rekey in %d 5001 aead_algo aes-128-gcm aead_key %s grace_ms 600000"
                % (SPI_IN_128, key))
        s.eq("rekey in %d -> 5001" % SPI_IN_128, r.get("ok"), True)
        r = req("del sa in %d" % SPI_IN_128)
        s.check("del sa of the old SA ends the grace now", r.get("ok") is True and
                r.get("rekey_done") is True, r)
        sas = {(e["dir"], e["spi"]) for e in req("list sa").get("sa", [])}
        s.check("the old SA is gone, the new one stays",
                ("in", SPI_IN_128) not in sas and ("in", 5001) in sas, sas)
        sps = [p["spi"] for p in req("list sp").get("sp", []) if p["dir"] == "in"]
        s.check("the inbound policy names the new SA now", 5001 in sps and SPI_IN_128 not in sps,
                sps)
        r = req("rekey in 5001 5002 aead_algo aes-128-gcm aead_key %s grace_ms 600000" % key)
        s.eq("rekey in 5001 -> 5002", r.get("ok"), True)
        s.eq("del sa of the new SA calls the rekey off", req("del sa in 5002").get("ok"), True)
        sas = {(e["dir"], e["spi"]) for e in req("list sa").get("sa", [])}
        s.check("the old SA stays, the new one is gone",
                ("in", 5001) in sas and ("in", 5002) not in sas, sas)
        refused("del sa in 5001", "a policy protects with it")

        s.section("client NAME, flush origin NAME")
        rules_state = state()
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.connect("/var/run/dpdk/%s/shardgate.sock" % g.prefix)
        conn.settimeout(10)
        rd = conn.makefile("r")

        def creq(line):
            conn.sendall((line + "\n").encode())
            return json.loads(rd.readline())

        s.eq("client ike-test", creq("client ike-test"),
             {"ok": True, "client": "ike-test"})
        for line in ("add sa in 6001 aead_algo aes-128-gcm aead_key %s mode ipv4-tunnel "
                     "src %s dst %s" % (key, PEER, GW),
                     "add sa out 6002 aead_algo aes-128-gcm aead_key %s mode ipv4-tunnel "
                     "src %s dst %s" % (hexkey(bytes(range(20))), GW, PEER),
                     "add sa out 6003 aead_algo aes-128-gcm aead_key %s mode ipv4-tunnel "
                     "src %s dst %s" % (hexkey(bytes(range(1, 21))), GW, PEER),
                     "add sp ipv4 in esp protect 6001 pri 50 src 10.9.0.0/24 dst 10.8.0.0/24",
                     "add sp ipv4 out esp protect 6002 pri 50 src 10.8.0.0/24 dst 10.9.0.0/24"):
            s.eq("as ike-test: %s" % line[:40], creq(line).get("ok"), True)
        # another client's policy names ike-test's SA 6003
        s.eq("as control: a policy naming 6003", req(
            "add sp ipv4 out esp protect 6003 pri 51 src 10.8.1.0/24 dst 10.9.1.0/24").get("ok"),
            True)
        origins = {(e["dir"], e["spi"]): e.get("origin") for e in req("list sa").get("sa", [])}
        new = (6001, 6002, 6003)
        s.eq("list sa: each SA's origin", {k: v for k, v in origins.items() if k[1] in new},
             {("in", 6001): "ike-test", ("out", 6002): "ike-test", ("out", 6003): "ike-test"})
        s.check("list sa: the rule file's SAs are 'rules', and a rekey keeps it (5001)",
                origins.get(("in", 5001)) == "rules" and
                origins.get(("out", SPI_OUT_128)) == "rules", origins)
        sp_origin = {p["spi"]: p.get("origin") for p in req("list sp").get("sp", [])}
        s.eq("list sp: each policy's origin", {k: v for k, v in sp_origin.items() if k in new},
             {6001: "ike-test", 6002: "ike-test", 6003: "control"})
        r = req("flush origin ike-test")
        s.eq("flush origin ike-test: 2 policies, 2 SAs, 1 kept",
             (r.get("ok"), r.get("sp"), r.get("sa"), r.get("kept")), (True, 2, 2, 1))
        sas = {(e["dir"], e["spi"]) for e in req("list sa").get("sa", [])}
        s.check("6001 and 6002 are gone, 6003 (named by control's policy) stays",
                ("in", 6001) not in sas and ("out", 6002) not in sas and ("out", 6003) in sas,
                sas)
        s.eq("only control's policy is left of the new ones",
             sorted(p["spi"] for p in req("list sp").get("sp", []) if p["spi"] in new), [6003])
        req("del sp ipv4 out esp protect 6003 pri 51 src 10.8.1.0/24 dst 10.9.1.0/24")
        s.eq("del sa out 6003", req("del sa out 6003").get("ok"), True)
        s.eq("the rule file's SAs and policies are as they were", state(), rules_state)
        r = creq("flush origin ike-test")
        s.eq("a second flush finds nothing", (r.get("ok"), r.get("sp"), r.get("sa")),
             (True, 0, 0))
        conn.close()
        g.stop()
    s.check_clean_exit("keymgr", g)


if __name__ == "__main__":
    suite_main("keymgr", body)
