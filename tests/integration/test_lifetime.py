#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""
SA lifetimes and idle timeouts (issue 4 items 3 and 4; RFC 4301 §4.4.2.1).

Time limits need traffic at chosen moments, so most runs use live ports
(sgtest.LiveGateway: net_pcap capturing from a veth pair made here; frames
written into the other end; output still read from pcap files after a
SIGTERM). Every timed step is placed against the moment the SA was armed,
which the gateway's own /shardgate/sa *_ms_left tells. Cases, each with bad
input next to good:

  a. lifetime_hard_sec 2 (inbound): passes at 0.5 s and 1.5 s, dropped at
     3 s (unknown SPI once removed, or sa_expired), hard_expired event at
     about 2 s; an SA without lifetimes passes throughout.
  b. lifetime_soft_sec 1 + hard 30: soft_expired event (telemetry and
     shardgatectl events), soft_expired 1 and hard_ms_left counting down in
     /shardgate/sa, traffic still passes; an SA whose soft limit is 5 s has
     no event yet.
  c. byte and packet limits on the data path: inbound hard_packets 5 (a
     forged packet does not use up the budget; the 6th is sa_expired, later
     ones unknown after removal); outbound soft 3 / hard 6 packets (exactly
     6 ESP, then sa_expired drops, SA kept dead since a policy names it);
     byte limits both ways; inbound limits must also hold among packets
     that arrive in one rx burst (a pcap file read at once).
  d. idle_timeout 1: authentic traffic keeps the SA alive, forged traffic
     does not; after silence it is removed (idle event) and its traffic is
     dropped as unknown SPI; a busy SA with the same timeout stays.
  e. --lifetime-hard / --idle-timeout defaults apply to SAs whose line sets
     none, not to those that set their own; bad values exit 2 naming the
     option or FILE:LINE before any device is touched.
  f. an outbound SA hard-expired (dead, sa_expired drops) is revived by
     "shardgatectl rekey out OLD NEW ...": new SPI, sequence 1, new key
     (Scapy decrypts it); bad rekeys are refused and change nothing.

Usage: test_lifetime.py PATH_TO_SHARDGATE [PATH_TO_SHARDGATECTL]
"""

import json
import re
import signal
import struct
import time

from sgtest import (suite_main, base_rules, run_cli, hexkey, peer_sa, gw_out_sa, frame,
                    split_frame, LiveGateway, events_list, has_event, IP, UDP, Raw,
                    UNPROT, PROT, SPI_IN_128, SPI_IN_256, KEY_IN_128, KEY_IN_256,
                    SPI_OUT_256, SPI_OUT_128, KEY_OUT_256, KEY_OUT_128)

LCORES = "--lcores=0@0,1@1"
NEW_SPI = 9192
NEW_KEY = bytes(range(0xA0, 0xC0)) + bytes.fromhex("e8e9eaeb")


# ---------------------------------------------------------------------------
# Packets
# ---------------------------------------------------------------------------
def inner_in(spi, n, size=60):
    """An inner packet for inbound SA @spi (4096: 10.2.0.0/25, 4097: .128/25)
    of exactly @size IP bytes, tagged with @n."""
    host = 5 if spi == SPI_IN_128 else 133
    p = IP(src="10.1.0.9", dst="10.2.0.%d" % host, id=n) / UDP(sport=1000 + n, dport=9)
    return bytes(p / Raw(bytes([n & 0xFF]) * (size - len(p))))


def plain_out(spi, n, size=60):
    """A plaintext packet for outbound SA @spi (8192: 10.1.0.0/25, 8193:
    10.1.0.128/25) of exactly @size IP bytes."""
    host = 5 if spi == SPI_OUT_256 else 200
    p = IP(src="10.2.0.7", dst="10.1.0.%d" % host, id=n) / UDP(sport=2000 + n, dport=9)
    return bytes(p / Raw(bytes([n & 0xFF]) * (size - len(p))))


def esp_in(sa, inner, forged=False):
    esp = bytearray(bytes(sa.encrypt(IP(inner))))
    if forged:
        esp[-1] ^= 0x5A  # the ICV no longer matches
    return frame(bytes(esp), UNPROT)


def ip_out(frames):
    return [split_frame(f)[3] for f in frames]


def esp_out(frames):
    """[(spi, seq, outer IP bytes)] of the ESP the gateway sent."""
    out = []
    for ip in ip_out(frames):
        if len(ip) >= 28 and ip[9] == 50:
            ihl = (ip[0] & 0xF) * 4
            spi, seq = struct.unpack("!II", ip[ihl:ihl + 8])
            out.append((spi, seq, ip))
    return out


def decrypts_to(spi, key, ip, want):
    try:
        got = bytes(gw_out_sa(spi, key).decrypt(IP(ip)))
    except Exception as e:  # noqa: BLE001
        return False, "Scapy cannot decrypt it: %s" % e
    return got == want, "decrypted %d bytes, want %d (%s)" % (len(got), len(want),
                                                              "equal" if got == want else "differ")


def arm_time(g, direction, spi, field, total_ms):
    """When the SA's clock started, from one reading of @field (ms left of a
    @total_ms limit) in /shardgate/sa."""
    t = time.time()
    sa = g.sa(direction, spi) or {}
    left = sa.get(field)
    if not isinstance(left, int) or left < 0:
        raise RuntimeError("sa %s %d: %s is %r" % (direction, spi, field, left))
    return t - (total_ms - left) / 1000.0, sa


def counted(d, *reasons):
    return sum(d.get("drop_" + r, 0) for r in reasons)


def event_ms_after(ev, typ, direction, spi, t_arm):
    """ms between the SA's arming and its @typ event, or None."""
    for e in events_list(ev):
        if e.get("type") == typ and e.get("dir") == direction and e.get("spi") == spi:
            return e.get("unix_ms", 0) - t_arm * 1000.0
    return None


# ---------------------------------------------------------------------------
# a. hard lifetime, 2 s
# ---------------------------------------------------------------------------
def case_hard_time(s):
    rules = base_rules(sa_opts={SPI_IN_128: "lifetime_hard_sec 2"})
    A, B = peer_sa(SPI_IN_128, KEY_IN_128), peer_sa(SPI_IN_256, KEY_IN_256)
    passed = []
    with LiveGateway(s.exe, rules, live=(UNPROT,), lcores=LCORES) as g:
        s.runs += 1
        t0, sa = arm_time(g, "in", SPI_IN_128, "hard_ms_left", 2000)
        s.check("a: /shardgate/sa: in %d hard_ms_left in 0..2000 at start" % SPI_IN_128,
                0 < sa.get("hard_ms_left", -1) <= 2000, "got %r" % sa)
        sb = g.sa("in", SPI_IN_256) or {}
        s.eq("a: /shardgate/sa: in %d (no lifetime) hard_ms_left" % SPI_IN_256,
             (sb.get("hard_ms_left"), sb.get("soft_ms_left")), (-1, -1))

        g.sleep_until(t0 + 0.5)
        i1, j1 = inner_in(SPI_IN_128, 1), inner_in(SPI_IN_256, 1)
        d = g.send(UNPROT, [esp_in(A, i1), esp_in(B, j1)])
        s.eq("a: t=0.5 s: both SAs decrypt (tx, inbound)", (d.get("tx"), d.get("inbound")),
             (2, 2))
        passed += [i1, j1]

        g.sleep_until(t0 + 1.5)
        i2, j2 = inner_in(SPI_IN_128, 2), inner_in(SPI_IN_256, 2)
        d = g.send(UNPROT, [esp_in(A, inner_in(SPI_IN_128, 99), forged=True), esp_in(A, i2),
                            esp_in(B, j2)])
        s.eq("a: t=1.5 s: good ESP passes, forged ESP is drop_auth",
             (d.get("tx"), d.get("drop_auth")), (2, 1))
        passed += [i2, j2]
        ev = g.events() or {}
        s.check("a: t=1.5 s: no hard_expired event yet", not has_event(ev, "hard_expired", "in",
                                                                        SPI_IN_128), "got %r" % ev)

        g.sleep_until(t0 + 3.0)
        ev = g.wait(lambda: (lambda e: e if has_event(e, "hard_expired", "in", SPI_IN_128)
                             else None)(g.events()), timeout=2.0) or g.events() or {}
        s.check("a: /shardgate/events: hard_expired for in %d" % SPI_IN_128,
                has_event(ev, "hard_expired", "in", SPI_IN_128), "got %r" % ev)
        s.eq("a: /shardgate/events counts (soft_expired, hard_expired, idle)",
             (ev.get("soft_expired"), ev.get("hard_expired"), ev.get("idle")), (0, 1, 0))
        ms = event_ms_after(ev, "hard_expired", "in", SPI_IN_128, t0)
        s.check("a: the hard_expired event came 2 s after the SA was armed (1.9..2.7 s)",
                ms is not None and 1900 <= ms <= 2700, "event %r ms after arming" % ms)
        gone = g.wait(lambda: g.sa("in", SPI_IN_128) is None, timeout=2.0)
        s.check("a: the expired inbound SA is removed (/shardgate/sa has no in %d)" % SPI_IN_128,
                gone, "still there: %r" % g.sa("in", SPI_IN_128))
        s.eq("a: stats sa_count after removal", (g.stats() or {}).get("sa_count"), 3)

        i3, j3 = inner_in(SPI_IN_128, 3), inner_in(SPI_IN_256, 3)
        d = g.send(UNPROT, [esp_in(A, i3), esp_in(B, j3)])
        s.eq("a: t=3 s: the expired SA's ESP is dropped (unknown_spi or sa_expired), "
             "the other passes", (d.get("tx"), counted(d, "unknown_spi", "sa_expired"),
                                  d.get("drops")), (1, 1, 1))
        passed.append(j3)
        sb = g.sa("in", SPI_IN_256) or {}
        s.eq("a: in %d alive throughout: packets, dead" % SPI_IN_256,
             (sb.get("packets"), sb.get("dead")), (3, 0))
        g.stop()
        got = ip_out(g.out[PROT])
        s.eq("a: protected port carried exactly the packets sent before expiry, in order",
             got, passed)
        s.check("a: nothing from after the expiry got through", i3 not in got)
        s.check_clean_exit("a", g)


# ---------------------------------------------------------------------------
# b. soft lifetime, 1 s (hard 30 s)
# ---------------------------------------------------------------------------
def case_soft_time(s):
    rules = base_rules(sa_opts={SPI_IN_128: "lifetime_soft_sec 1 lifetime_hard_sec 30",
                                SPI_IN_256: "lifetime_soft_sec 5 lifetime_hard_sec 30"})
    A = peer_sa(SPI_IN_128, KEY_IN_128)
    with LiveGateway(s.exe, rules, live=(UNPROT,), lcores=LCORES) as g:
        s.runs += 1
        t0, sa = arm_time(g, "in", SPI_IN_128, "hard_ms_left", 30000)
        s.check("b: at start: soft_ms_left in 0..1000, soft_expired 0",
                0 < sa.get("soft_ms_left", -1) <= 1000 and sa.get("soft_expired") == 0,
                "got %r" % sa)
        g.sleep_until(t0 + 0.3)
        i1 = inner_in(SPI_IN_128, 1)
        d = g.send(UNPROT, [esp_in(A, i1)])
        s.eq("b: t=0.3 s: passes", d.get("tx"), 1)
        ev = g.events() or {}
        s.eq("b: t=0.3 s: no soft event yet", ev.get("soft_expired"), 0)

        g.sleep_until(t0 + 1.5)
        ev = g.wait(lambda: (lambda e: e if has_event(e, "soft_expired", "in", SPI_IN_128)
                             else None)(g.events()), timeout=1.5) or g.events() or {}
        s.check("b: /shardgate/events: soft_expired for in %d" % SPI_IN_128,
                has_event(ev, "soft_expired", "in", SPI_IN_128), "got %r" % ev)
        s.eq("b: /shardgate/events counts (soft_expired, hard_expired, idle)",
             (ev.get("soft_expired"), ev.get("hard_expired"), ev.get("idle")), (1, 0, 0))
        s.check("b: no event for in %d (soft limit 5 s)" % SPI_IN_256,
                not any(e.get("spi") == SPI_IN_256 for e in events_list(ev)), "got %r" % ev)
        ms = event_ms_after(ev, "soft_expired", "in", SPI_IN_128, t0)
        s.check("b: the soft event came 1 s after arming (0.9..1.7 s)",
                ms is not None and 900 <= ms <= 1700, "event %r ms after arming" % ms)
        now = time.time()
        sa = g.sa("in", SPI_IN_128) or {}
        want_h = 30000 - (now - t0) * 1000
        h1 = sa.get("hard_ms_left", -1)
        s.eq("b: /shardgate/sa after the soft event: soft_expired, dead, soft_ms_left",
             (sa.get("soft_expired"), sa.get("dead"), sa.get("soft_ms_left")), (1, 0, 0))
        s.check("b: hard_ms_left is about 28.5 s (30 s less the time since arming)",
                abs(h1 - want_h) <= 400 and 27500 <= h1 <= 29000,
                "hard_ms_left %r, expected about %.0f" % (h1, want_h))
        sb = g.sa("in", SPI_IN_256) or {}
        s.check("b: in %d: soft_expired 0, soft_ms_left about 3.5 s" % SPI_IN_256,
                sb.get("soft_expired") == 0 and 2500 <= sb.get("soft_ms_left", -1) <= 4000,
                "got %r" % sb)

        ids = [e["id"] for e in events_list(ev)]
        rc, out, err = g.ctl("events")
        try:
            js = json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            js = {}
        evs = js.get("events") or []
        s.check("b: shardgatectl events: exit 0, ok, the soft_expired event for in %d" %
                SPI_IN_128, rc == 0 and js.get("ok") is True and any(
                    e.get("type") == "soft_expired" and e.get("dir") == "in" and
                    e.get("spi") == SPI_IN_128 for e in evs),
                "status %r stdout %r stderr %r" % (rc, out[-400:], err[-200:]))
        s.eq("b: shardgatectl events and telemetry agree on the event ids",
             [e.get("id") for e in evs], ids)
        if ids:
            rc, out, err = g.ctl("events", ids[-1])
            s.check("b: shardgatectl events SINCE_ID (the last id): no events after it",
                    rc == 0 and '"events":[]' in out, "status %r stdout %r" % (rc, out[-300:]))
            e2 = g.events(ids[-1]) or {}
            s.check("b: /shardgate/events,SINCE: no entries after the last id, counts kept",
                    events_list(e2) == [] and e2.get("soft_expired") == 1, "got %r" % e2)
        rc, out, err = g.ctl("list", "sa")
        s.check("b: shardgatectl list sa still lists in %d after its soft event" % SPI_IN_128,
                rc == 0 and '"spi":%d' % SPI_IN_128 in out, "status %r stdout %r" % (rc, out[-300:]))

        i2 = inner_in(SPI_IN_128, 2)
        d = g.send(UNPROT, [esp_in(A, i2)])
        s.eq("b: traffic still passes after the soft event (tx, inbound)",
             (d.get("tx"), d.get("inbound")), (1, 1))
        time.sleep(0.5)
        sa2 = g.sa("in", SPI_IN_128) or {}
        h2 = sa2.get("hard_ms_left", -1)
        s.check("b: hard_ms_left keeps counting down (0.5 s later: 300..1500 ms less)",
                0 <= h2 < h1 and 300 <= h1 - h2 <= 1500, "%r then %r" % (h1, h2))
        s.eq("b: packets on the SA", sa2.get("packets"), 2)
        ev = g.events() or {}
        s.eq("b: the soft event fires once", ev.get("soft_expired"), 1)
        g.stop()
        s.eq("b: protected port: both packets", ip_out(g.out[PROT]), [i1, i2])
        s.check_clean_exit("b", g)


# ---------------------------------------------------------------------------
# c. byte and packet limits
# ---------------------------------------------------------------------------
def case_packets_in(s):
    rules = base_rules(sa_opts={SPI_IN_128: "lifetime_hard_packets 5"})
    A, B = peer_sa(SPI_IN_128, KEY_IN_128), peer_sa(SPI_IN_256, KEY_IN_256)
    good = [inner_in(SPI_IN_128, n) for n in range(1, 9)]
    with LiveGateway(s.exe, rules, live=(UNPROT,), lcores=LCORES) as g:
        s.runs += 1
        sa = g.sa("in", SPI_IN_128) or {}
        s.eq("c-in: hard_packets_left at start", sa.get("hard_packets_left"), 5)
        frames = [esp_in(A, good[0]), esp_in(A, good[1]),
                  esp_in(A, inner_in(SPI_IN_128, 77), forged=True),
                  esp_in(A, good[2]), esp_in(A, good[3]), esp_in(A, good[4])]
        d = g.send(UNPROT, frames)
        s.eq("c-in: packets 1..5 pass; a forged one among them is drop_auth and uses no budget",
             (d.get("tx"), d.get("drop_auth"), d.get("drop_sa_expired", 0)), (5, 1, 0))
        sa = g.sa("in", SPI_IN_128) or {}
        s.eq("c-in: after 5: packets, hard_packets_left", (sa.get("packets"),
                                                          sa.get("hard_packets_left")), (5, 0))
        d = g.send(UNPROT, [esp_in(A, good[5])])
        s.eq("c-in: packet 6 is dropped as sa_expired", (d.get("tx", 0), d.get("drop_sa_expired")),
             (0, 1))
        ev = g.wait(lambda: (lambda e: e if has_event(e, "hard_expired", "in", SPI_IN_128)
                             else None)(g.events()), timeout=2.0) or g.events() or {}
        s.check("c-in: hard_expired event for in %d" % SPI_IN_128,
                has_event(ev, "hard_expired", "in", SPI_IN_128), "got %r" % ev)
        gone = g.wait(lambda: g.sa("in", SPI_IN_128) is None, timeout=2.0)
        s.check("c-in: the SA is removed", gone)
        d = g.send(UNPROT, [esp_in(A, good[6]), esp_in(A, good[7]),
                            esp_in(B, inner_in(SPI_IN_256, 1))])
        s.eq("c-in: packets 7, 8 after removal are unknown_spi; the other SA passes",
             (d.get("drop_unknown_spi"), d.get("tx")), (2, 1))
        g.stop()
        s.eq("c-in: protected port: packets 1..5 and the other SA's, in order",
             ip_out(g.out[PROT]), good[:5] + [inner_in(SPI_IN_256, 1)])
        s.check_clean_exit("c-in", g)


def events_have(*want):
    """A wait_for condition: every (type, dir, spi) of @want is in /shardgate/events."""
    def cond(tel):
        ev = tel.cmd("/shardgate/events")
        return all(has_event(ev, *w) for w in want)
    return cond


def outbound_limit_run(s, tag, opts, size, n_main, want_pass, want_left):
    """Plaintext from a pcap file; the outbound SA 8192 carries @opts. SA
    8193 (no limits) is interleaved and must pass untouched."""
    rules = base_rules(sa_opts={SPI_OUT_256: opts})
    main = [plain_out(SPI_OUT_256, n, size) for n in range(1, n_main + 1)]
    other = [plain_out(SPI_OUT_128, n, size) for n in range(1, 5)]
    frames = []
    for i, p in enumerate(main):
        frames.append(frame(p, PROT))
        if i % 3 == 0 and other:
            frames.append(frame(other.pop(0), PROT))
    frames += [frame(p, PROT) for p in other]
    n_other = 4
    r = s.run(rules, {PROT: frames}, lcores=LCORES, queries=["/shardgate/events"],
              wait_for=events_have(("soft_expired", "out", SPI_OUT_256),
                                   ("hard_expired", "out", SPI_OUT_256)))
    esp = esp_out(r.out[UNPROT])
    mine = [(seq, ip) for spi, seq, ip in esp if spi == SPI_OUT_256]
    s.eq("%s: ESP out on SA %d (exactly the limit)" % (tag, SPI_OUT_256), len(mine), want_pass)
    s.eq("%s: sequence numbers 1..%d" % (tag, want_pass), [q for q, _ in mine],
         list(range(1, want_pass + 1)))
    bad = [q for q, ip in mine if not decrypts_to(SPI_OUT_256, KEY_OUT_256, ip, main[q - 1])[0]]
    s.eq("%s: each ESP decrypts (Scapy) to its plaintext" % tag, bad, [])
    s.eq("%s: the rest are drop_sa_expired" % tag, r.drop("sa_expired"), n_main - want_pass)
    s.eq("%s: SA %d (no limits) passes all" % (tag, SPI_OUT_128),
         len([1 for spi, _, _ in esp if spi == SPI_OUT_128]), n_other)
    s.eq("%s: nothing else sent in the clear or otherwise" % tag, len(r.out[UNPROT]),
         want_pass + n_other)
    ev = r.extra.get("/shardgate/events") or {}
    s.check("%s: soft_expired and hard_expired events for out %d, soft first" % (tag, SPI_OUT_256),
            r.waited and [e["type"] for e in events_list(ev) if e.get("spi") == SPI_OUT_256] ==
            ["soft_expired", "hard_expired"], "got %r" % ev)
    sa = r.sa_by_spi("out", SPI_OUT_256) or {}
    s.eq("%s: /shardgate/sa out %d kept (a policy names it): dead, soft_expired" %
         (tag, SPI_OUT_256), (sa.get("dead"), sa.get("soft_expired")), (1, 1))
    got_left = {k: sa.get(k) for k in want_left}
    s.eq("%s: /shardgate/sa limits left" % tag, got_left, want_left)
    s.eq("%s: sa_count (nothing removed)" % tag, (r.stats or {}).get("sa_count"), 4)
    s.check_clean_exit(tag, r)


def case_packets_out(s):
    outbound_limit_run(s, "c-out-packets", "lifetime_soft_packets 3 lifetime_hard_packets 6",
                       60, 10, 6, {"soft_packets_left": 0, "hard_packets_left": 0,
                                   "packets": 6})


def case_bytes_out(s):
    # 100-byte inner packets (the gateway counts inner IP bytes, as telemetry's
    # "bytes"); limits on multiples of 100 so that "reached" is exact.
    outbound_limit_run(s, "c-out-bytes", "lifetime_soft_bytes 300 lifetime_hard_bytes 500",
                       100, 9, 5, {"soft_bytes_left": 0, "hard_bytes_left": 0, "bytes": 500})


def inbound_burst_run(s, tag, spi, opts, size, n, want_pass, soft=False):
    """@n ESP packets for inbound SA @spi (carrying @opts) in one pcap file,
    so they reach the worker in one rx burst, then one for the other SA. The
    limit must hold inside a burst: @want_pass pass, the rest are dropped."""
    rules = base_rules(sa_opts={spi: opts})
    other = SPI_IN_128 if spi == SPI_IN_256 else SPI_IN_256
    X = peer_sa(spi, KEY_IN_256 if spi == SPI_IN_256 else KEY_IN_128)
    Y = peer_sa(other, KEY_IN_256 if other == SPI_IN_256 else KEY_IN_128)
    good = [inner_in(spi, k, size) for k in range(1, n + 1)]
    frames = [esp_in(X, p) for p in good] + [esp_in(Y, inner_in(other, 1, size))]
    want_ev = [("hard_expired", "in", spi)] + ([("soft_expired", "in", spi)] if soft else [])
    r = s.run(rules, {UNPROT: frames}, lcores=LCORES, queries=["/shardgate/events"],
              wait_for=lambda tel: all(has_event(tel.cmd("/shardgate/events"), *w)
                                       for w in want_ev) and
              not (tel.cmd("/shardgate/sa,spi=%d" % spi) or {}).get("in_%d" % spi),
              wait_timeout=3.0)
    got = ip_out(r.out[PROT])
    mine = [p for p in got if p in good]
    s.check("%s: %d of the %d packets in one burst pass, the first %d (the limit)" %
            (tag, want_pass, n, want_pass), mine == good[:want_pass],
            "%d passed (packets %s)" % (len(mine), [good.index(p) + 1 for p in mine]))
    s.check("%s: the other SA's packet passes" % tag, inner_in(other, 1, size) in got)
    s.eq("%s: the rest are dropped (sa_expired, or unknown_spi once removed)" % tag,
         (r.drop("sa_expired") or 0) + (r.drop("unknown_spi") or 0), n - want_pass)
    s.check("%s: %s event(s), SA removed" % (tag, " and ".join(w[0] for w in want_ev)),
            r.waited, "events %r; sa %r" % (r.extra.get("/shardgate/events"),
                                            r.sa_by_spi("in", spi)))
    s.check_clean_exit(tag, r)


def case_burst_in(s):
    inbound_burst_run(s, "c-in-burst-packets", SPI_IN_128,
                      "lifetime_soft_packets 2 lifetime_hard_packets 5", 60, 8, 5, soft=True)
    # 100-byte inner packets: the limit counts inner IP bytes (telemetry "bytes").
    inbound_burst_run(s, "c-in-burst-bytes", SPI_IN_256, "lifetime_hard_bytes 300", 100, 6, 3)


# ---------------------------------------------------------------------------
# d. idle timeout, 1 s
# ---------------------------------------------------------------------------
def case_idle(s):
    rules = base_rules(sa_opts={SPI_IN_128: "idle_timeout 1", SPI_IN_256: "idle_timeout 1"})
    A, B = peer_sa(SPI_IN_128, KEY_IN_128), peer_sa(SPI_IN_256, KEY_IN_256)
    a_pass, b_pass = [], []
    with LiveGateway(s.exe, rules, live=(UNPROT,), lcores=LCORES) as g:
        s.runs += 1
        t0, sa = arm_time(g, "in", SPI_IN_128, "idle_ms_left", 1000)
        s.check("d: at start: idle_ms_left in 0..1000, no other limit",
                0 < sa.get("idle_ms_left", -1) <= 1000 and sa.get("hard_ms_left") == -1,
                "got %r" % sa)
        # (time after arming, what): A good at 0.2 and 0.7, forged A while it
        # should be going idle, B every 0.3 s throughout.
        plan = [(0.2, "a"), (0.7, "a"), (1.2, "a-forged"), (1.4, "check-alive"),
                (1.6, "a-forged"), (2.0, "a-forged")]
        plan += [(0.3 * k, "b") for k in range(1, 11)]
        plan += [(3.0, "a-after")]
        plan.sort(key=lambda x: x[0])
        n = {"a": 0, "b": 0}
        bad = []
        forged = 0
        for t, what in plan:
            g.sleep_until(t0 + t)
            if what == "a":
                n["a"] += 1
                p = inner_in(SPI_IN_128, n["a"])
                d = g.send(UNPROT, [esp_in(A, p)])
                a_pass.append(p)
                if d.get("tx") != 1:
                    bad.append("A at %.1f s: %r" % (t, d))
            elif what == "b":
                n["b"] += 1
                p = inner_in(SPI_IN_256, n["b"])
                d = g.send(UNPROT, [esp_in(B, p)])
                b_pass.append(p)
                if d.get("tx") != 1:
                    bad.append("B at %.1f s: %r" % (t, d))
            elif what == "a-forged":
                forged += 1
                d = g.send(UNPROT, [esp_in(A, inner_in(SPI_IN_128, 50 + forged), forged=True)])
                if d.get("tx", 0) != 0 or d.get("drops") != 1:
                    bad.append("forged A at %.1f s: %r" % (t, d))
            elif what == "check-alive":
                sa = g.sa("in", SPI_IN_128) or {}
                s.check("d: t=1.4 s: in %d alive (the 0.7 s packet re-armed its 1 s timeout)"
                        % SPI_IN_128, sa.get("dead") == 0 and sa.get("idle_ms_left", -1) > 0,
                        "got %r" % sa)
            elif what == "a-after":
                ev = g.wait(lambda: (lambda e: e if has_event(e, "idle", "in", SPI_IN_128)
                                     else None)(g.events()), timeout=1.5) or g.events() or {}
                s.check("d: /shardgate/events: idle event for in %d" % SPI_IN_128,
                        has_event(ev, "idle", "in", SPI_IN_128), "got %r" % ev)
                ms = event_ms_after(ev, "idle", "in", SPI_IN_128, t0)
                s.check("d: idle fired 1 s after the last authentic packet (0.7 s), forged "
                        "ones did not keep it alive (event at 1.6..2.3 s)",
                        ms is not None and 1600 <= ms <= 2300, "event %r ms after arming" % ms)
                s.eq("d: events counts (soft_expired, hard_expired, idle)",
                     (ev.get("soft_expired"), ev.get("hard_expired"), ev.get("idle")), (0, 0, 1))
                gone = g.wait(lambda: g.sa("in", SPI_IN_128) is None, timeout=1.0)
                s.check("d: the idle SA is removed", gone)
                d = g.send(UNPROT, [esp_in(A, inner_in(SPI_IN_128, 9))])
                s.eq("d: t=3 s: its traffic is dropped as unknown_spi",
                     (d.get("tx", 0), d.get("drop_unknown_spi")), (0, 1))
        s.eq("d: every good packet passed while alive, every forged one dropped", bad, [])
        sb = g.sa("in", SPI_IN_256) or {}
        s.eq("d: in %d (traffic every 0.3 s) stays: dead, packets" % SPI_IN_256,
             (sb.get("dead"), sb.get("packets")), (0, 10))
        ev = g.events() or {}
        s.check("d: no idle event for in %d" % SPI_IN_256,
                not has_event(ev, "idle", "in", SPI_IN_256), "got %r" % ev)
        g.stop()
        got = ip_out(g.out[PROT])
        s.eq("d: protected port: A's two packets and all of B's",
             sorted(got), sorted(a_pass + b_pass))
        s.check_clean_exit("d", g)


# ---------------------------------------------------------------------------
# e. command-line defaults and bad values
# ---------------------------------------------------------------------------
def line_of(rules, text):
    for i, l in enumerate(rules.splitlines(), 1):
        if text in l:
            return i
    return None


def case_defaults(s):
    rules = base_rules(sa_opts={SPI_IN_256: "lifetime_hard_sec 30 idle_timeout 20"})
    A, B = peer_sa(SPI_IN_128, KEY_IN_128), peer_sa(SPI_IN_256, KEY_IN_256)
    with LiveGateway(s.exe, rules, live=(UNPROT,), lcores=LCORES,
                     app_args=["--lifetime-hard", "2", "--idle-timeout", "60"]) as g:
        s.runs += 1
        t0, sa = arm_time(g, "in", SPI_IN_128, "hard_ms_left", 2000)
        s.check("e: --lifetime-hard 2 applies to in %d (line sets none)" % SPI_IN_128,
                0 < sa.get("hard_ms_left", -1) <= 2000, "got %r" % sa)
        s.check("e: --idle-timeout 60 applies to in %d" % SPI_IN_128,
                58000 <= sa.get("idle_ms_left", -1) <= 60000, "got %r" % sa)
        sb = g.sa("in", SPI_IN_256) or {}
        s.check("e: not to in %d, whose line sets lifetime_hard_sec 30 idle_timeout 20" %
                SPI_IN_256, 28000 <= sb.get("hard_ms_left", -1) <= 30000 and
                18000 <= sb.get("idle_ms_left", -1) <= 20000, "got %r" % sb)
        so = g.sa("out", SPI_OUT_256) or {}
        s.check("e: --lifetime-hard 2 applies to outbound SAs too",
                0 < so.get("hard_ms_left", -1) <= 2000, "got %r" % so)
        g.sleep_until(t0 + 0.3)
        d = g.send(UNPROT, [esp_in(A, inner_in(SPI_IN_128, 1)),
                            esp_in(B, inner_in(SPI_IN_256, 1))])
        s.eq("e: t=0.3 s: both pass", d.get("tx"), 2)
        g.sleep_until(t0 + 2.6)
        ev = g.wait(lambda: (lambda e: e if has_event(e, "hard_expired", "in", SPI_IN_128)
                             else None)(g.events()), timeout=1.5) or g.events() or {}
        s.check("e: hard_expired for in %d from the default" % SPI_IN_128,
                has_event(ev, "hard_expired", "in", SPI_IN_128), "got %r" % ev)
        s.check("e: none for in %d" % SPI_IN_256,
                not any(e.get("spi") == SPI_IN_256 for e in events_list(ev)), "got %r" % ev)
        g.wait(lambda: g.sa("in", SPI_IN_128) is None, timeout=1.0)
        d = g.send(UNPROT, [esp_in(A, inner_in(SPI_IN_128, 2)),
                            esp_in(B, inner_in(SPI_IN_256, 2))])
        s.eq("e: t=2.6 s: in %d dropped (unknown_spi/sa_expired), in %d passes" %
             (SPI_IN_128, SPI_IN_256), (counted(d, "unknown_spi", "sa_expired"), d.get("tx")),
             (1, 1))
        so = g.sa("out", SPI_OUT_256) or {}
        s.eq("e: outbound SA with the default hard lifetime: kept (policy), dead", so.get("dead"), 1)
        g.stop()
        s.eq("e: protected port", ip_out(g.out[PROT]),
             [inner_in(SPI_IN_128, 1), inner_in(SPI_IN_256, 1), inner_in(SPI_IN_256, 2)])
        s.check_clean_exit("e", g)

    # A defaults pair that is valid: soft 1 <= hard 2, on every SA without its own.
    r = s.run(base_rules(sa_opts={SPI_IN_256: "lifetime_soft_sec 10 lifetime_hard_sec 20"}), {},
              lcores=LCORES, app_args=["--lifetime-soft", "1", "--lifetime-hard", "2"])
    a, b = r.sa_by_spi("in", SPI_IN_128) or {}, r.sa_by_spi("in", SPI_IN_256) or {}
    s.check("e: --lifetime-soft 1 --lifetime-hard 2: soft and hard on in %d" % SPI_IN_128,
            0 <= a.get("soft_ms_left", -1) <= 1000 and 0 < a.get("hard_ms_left", -1) <= 2000,
            "got %r" % a)
    s.check("e: the line's own soft 10 / hard 20 win on in %d" % SPI_IN_256,
            8000 < b.get("soft_ms_left", -1) <= 10000 and 18000 < b.get("hard_ms_left", -1) <= 20000,
            "got %r" % b)
    s.eq("e: valid defaults: exit status", r.rc, 0)

    # A line that sets only a soft lifetime above the hard default: the
    # default must not silently vanish (leaving the SA with no hard lifetime
    # at all); refusing the combination (exit 2, FILE:LINE) is fine too.
    rules = base_rules(sa_opts={SPI_OUT_128: "lifetime_soft_sec 5"})
    r = s.run(rules, {}, lcores=LCORES, app_args=["--lifetime-hard", "2"])
    o = r.sa_by_spi("out", SPI_OUT_128) or {}
    refused = r.rc == 2 and "lifetime" in (r.stdout + r.stderr)
    s.check("e: line 'lifetime_soft_sec 5' with --lifetime-hard 2: the SA still gets a hard "
            "lifetime, or the combination is refused",
            refused or (isinstance(o.get("hard_ms_left"), int) and o["hard_ms_left"] >= 0),
            "exit %r; sa out %d: hard_ms_left %r soft_ms_left %r (an SA with no hard "
            "lifetime, and nothing said)" % (r.rc, SPI_OUT_128, o.get("hard_ms_left"),
                                            o.get("soft_ms_left")))

    app = ["--", "-p", "0x3", "-u", "0x1", "-f", "RULES"]
    for label, extra, words in [
            ("--lifetime-soft 0", ["--lifetime-soft", "0"], ["--lifetime-soft"]),
            ("--lifetime-hard abc", ["--lifetime-hard", "abc"], ["--lifetime-hard"]),
            ("--idle-timeout 0", ["--idle-timeout", "0"], ["--idle-timeout"]),
            ("--lifetime-soft 10 --lifetime-hard 5", ["--lifetime-soft", "10",
                                                      "--lifetime-hard", "5"],
             ["--lifetime-soft", "--lifetime-hard"])]:
        rc, out, err, tx_made, rdir, _ = run_cli(s.exe, app + extra, rules=base_rules())
        msg = out + err
        s.check("e: %s: exit 2, names the option, no device touched" % label,
                rc == 2 and all(w in msg for w in words) and not tx_made and not rdir,
                "status %r, tx pcap made %r, runtime dir %r, output %r" %
                (rc, tx_made, rdir, msg.strip()[-300:]))
    for label, opts, words in [
            ("lifetime_soft_sec 5 lifetime_hard_sec 2", "lifetime_soft_sec 5 lifetime_hard_sec 2",
             ["lifetime_soft_sec", "lifetime_hard_sec"]),
            ("lifetime_soft_packets 10 lifetime_hard_packets 5",
             "lifetime_soft_packets 10 lifetime_hard_packets 5", ["lifetime_soft_packets"]),
            ("lifetime_soft_bytes 2000 lifetime_hard_bytes 1000",
             "lifetime_soft_bytes 2000 lifetime_hard_bytes 1000", ["lifetime_soft_bytes"]),
            ("lifetime_hard_sec -1", "lifetime_hard_sec -1", ["lifetime_hard_sec"]),
            ("idle_timeout abc", "idle_timeout abc", ["idle_timeout"])]:
        rules = base_rules(sa_opts={SPI_OUT_256: opts})
        ln = line_of(rules, "sa out %d " % SPI_OUT_256)
        rc, out, err, tx_made, rdir, path = run_cli(s.exe, app, rules=rules)
        msg = out + err
        s.check("e: sa line '%s': exit 2, FILE:LINE (%d), names the keyword" % (label, ln),
                rc == 2 and re.search(re.escape(path) + r":%d\b" % ln, msg) is not None and
                all(w in msg for w in words) and not tx_made and not rdir,
                "status %r, tx pcap made %r, runtime dir %r, output %r" %
                (rc, tx_made, rdir, msg.strip()[-300:]))
    rc, out, err, _, _, _ = run_cli(s.exe, app + ["--lifetime-soft", "5", "--lifetime-hard", "5",
                                                  "--help"], rules=base_rules())
    s.check("e: --help documents --lifetime-soft, --lifetime-hard, --idle-timeout",
            rc == 0 and all(w in out for w in ("--lifetime-soft", "--lifetime-hard",
                                                "--idle-timeout")), "status %r" % rc)


# ---------------------------------------------------------------------------
# f. a rekey revives a hard-expired outbound SA
# ---------------------------------------------------------------------------
def case_rekey(s):
    rules = base_rules(sa_opts={SPI_OUT_256: "lifetime_hard_sec 2"})
    sent = {}
    with LiveGateway(s.exe, rules, live=(PROT,), lcores=LCORES,
                     app_args=["--lifetime-hard", "60"]) as g:
        s.runs += 1
        t0, so = arm_time(g, "out", SPI_OUT_256, "hard_ms_left", 2000)
        g.sleep_until(t0 + 0.3)
        p1, q1 = plain_out(SPI_OUT_256, 1), plain_out(SPI_OUT_128, 1)
        d = g.send(PROT, [frame(p1, PROT), frame(q1, PROT)])
        s.eq("f: t=0.3 s: both outbound SAs encrypt", d.get("outbound"), 2)
        g.sleep_until(t0 + 2.0)
        ev = g.wait(lambda: (lambda e: e if has_event(e, "hard_expired", "out", SPI_OUT_256)
                             else None)(g.events()), timeout=2.0) or g.events() or {}
        s.check("f: hard_expired event for out %d" % SPI_OUT_256,
                has_event(ev, "hard_expired", "out", SPI_OUT_256), "got %r" % ev)
        time.sleep(0.1)
        so = g.sa("out", SPI_OUT_256) or {}
        s.eq("f: the expired outbound SA stays (a policy names it), dead", so.get("dead"), 1)
        d = g.send(PROT, [frame(plain_out(SPI_OUT_256, 2), PROT)])
        s.eq("f: its traffic is dropped as sa_expired, not sent (tx, drop_sa_expired)",
             (d.get("tx", 0), d.get("drop_sa_expired")), (0, 1))

        key = hexkey(NEW_KEY)
        for label, req, word in [
                ("to an SPI in use", ["rekey", "out", SPI_OUT_256, SPI_OUT_128, "aead_algo",
                                      "aes-256-gcm", "aead_key", key], "use"),
                ("with a 2-byte key", ["rekey", "out", SPI_OUT_256, NEW_SPI, "aead_algo",
                                       "aes-256-gcm", "aead_key", "01:02"], "key"),
                ("of an SA that does not exist", ["rekey", "out", 4242, NEW_SPI, "aead_algo",
                                                  "aes-256-gcm", "aead_key", key], "4242")]:
            rc, out, err = g.ctl(*req)
            s.check("f: rekey %s is refused (exit 1, ok false, says why)" % label,
                    rc == 1 and '"ok":false' in out and word in out,
                    "status %r stdout %r stderr %r" % (rc, out[-300:], err[-200:]))
        d = g.send(PROT, [frame(plain_out(SPI_OUT_256, 3), PROT)])
        s.eq("f: after the refused rekeys: still dropped as sa_expired",
             (d.get("tx", 0), d.get("drop_sa_expired")), (0, 1))
        s.check("f: refused rekeys left the old SA in place", g.sa("out", NEW_SPI) is None and
                (g.sa("out", SPI_OUT_256) or {}).get("dead") == 1)

        rc, out, err = g.ctl("rekey", "out", SPI_OUT_256, NEW_SPI, "aead_algo", "aes-256-gcm",
                             "aead_key", key)
        s.check("f: shardgatectl rekey out %d %d: exit 0, ok" % (SPI_OUT_256, NEW_SPI),
                rc == 0 and '"ok":true' in out, "status %r stdout %r stderr %r" %
                (rc, out[-300:], err[-200:]))
        sn = g.sa("out", NEW_SPI) or {}
        s.eq("f: /shardgate/sa out %d: dead, soft_expired, seq" % NEW_SPI,
             (sn.get("dead"), sn.get("soft_expired"), sn.get("seq")), (0, 0, 0))
        s.check("f: old SPI %d gone" % SPI_OUT_256, g.sa("out", SPI_OUT_256) is None)
        p4 = plain_out(SPI_OUT_256, 4)
        d = g.send(PROT, [frame(p4, PROT)])
        s.eq("f: after the rekey the policy's traffic is encrypted again (outbound, tx)",
             (d.get("outbound"), d.get("tx")), (1, 1))
        s.check("f: the rekeyed SA has a hard lifetime again (the old line's 2 s, or the "
                "--lifetime-hard 60 default), not none",
                0 <= sn.get("hard_ms_left", -1), "hard_ms_left %r soft_ms_left %r" %
                (sn.get("hard_ms_left"), sn.get("soft_ms_left")))
        sent = {"p1": p1, "q1": q1, "p4": p4}
        g.stop()
        esp = esp_out(g.out[UNPROT])
        s.eq("f: unprotected port: (SPI, seq) of every ESP", [(a, b) for a, b, _ in esp],
             [(SPI_OUT_256, 1), (SPI_OUT_128, 1), (NEW_SPI, 1)])
        s.eq("f: nothing but ESP left the unprotected port", len(g.out[UNPROT]), len(esp))
        for spi, seq, ip in esp:
            if spi == SPI_OUT_256:
                ok, why = decrypts_to(SPI_OUT_256, KEY_OUT_256, ip, sent["p1"])
                s.check("f: ESP %d/1 decrypts with the old key" % spi, ok, why)
            elif spi == SPI_OUT_128:
                ok, why = decrypts_to(SPI_OUT_128, KEY_OUT_128, ip, sent["q1"])
                s.check("f: ESP %d/1 decrypts" % spi, ok, why)
            elif spi == NEW_SPI:
                ok, why = decrypts_to(NEW_SPI, NEW_KEY, ip, sent["p4"])
                s.check("f: ESP %d/1 decrypts (Scapy) with the new key to the plaintext"
                        % NEW_SPI, ok, why)
                ok, _ = decrypts_to(NEW_SPI, KEY_OUT_256, ip, sent["p4"])
                s.check("f: ... and not with the old key", not ok)
        s.check_clean_exit("f", g)


def body(s):
    s.guard("a. hard lifetime 2 s", case_hard_time, s)
    s.guard("b. soft lifetime 1 s", case_soft_time, s)
    s.guard("c. inbound packet limit (live)", case_packets_in, s)
    s.guard("c. outbound packet limits", case_packets_out, s)
    s.guard("c. outbound byte limits", case_bytes_out, s)
    s.guard("c. inbound packet and byte limits inside one rx burst", case_burst_in, s)
    s.guard("d. idle timeout 1 s", case_idle, s)
    s.guard("e. command-line defaults and bad values", case_defaults, s)
    s.guard("f. rekey revives an expired outbound SA", case_rekey, s)


def on_term(signum, _frame):
    # meson's timeout (SIGTERM): unwind, so that every LiveGateway deletes its
    # veths and runtime directory on the way out.
    raise KeyboardInterrupt("signal %d" % signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_term)
    suite_main("lifetime", body)
