#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""
Ownership and handoff with two workers (issue 3 items 1 and 6).

The gateway runs with two worker lcores (--lcores 0@0,1@1,2@1) on net_pcap
ports with two rx and two tx queues each (rx_pcap/tx_pcap twice): worker
lcore 1 polls queue 0 of both ports, lcore 2 queue 1. Six peers each have an
inbound and an outbound SA; the control core gives every session one owner
and spreads them. Each peer's ESP (port 0) and plaintext (port 1) is split
over both queues in a pattern of its own, so a known number of packets
reaches the worker that does not own their SA and must be handed over.

Checked: every packet leaves exactly once, byte for byte what Scapy expects
(decrypted inner packets; ESP that Scapy decrypts and, re-encrypted by Scapy
with the same sequence number and IV, matches bit for bit); it leaves from
its owner's tx queue; each SA's sequence numbers are 1..N without a gap or
a repeat; per-SA counters; per-lcore rx, inbound, outbound and handoff
counters equal what the split implies (handoff_tx on the non-owner ==
handoff_rx on the owner == packets that arrived at the wrong core); no
drops; and 'shardgatectl list sessions' shows the sessions on both workers.
"""

import json
import os
import struct
import subprocess
import sys

from sgtest import (suite_main, IP, UDP, Raw, peer_sa, frame, split_frame, hexkey,
                    SecurityAssociation, ESP, IPSecIntegrityError, run_gateway,
                    runtime_dir, l2_problems,
                    GW, UNPROT, PROT, NEIGH_MAC)

WORKERS = (1, 2)  # worker lcores; the EAL main lcore 0 is the control core
LCORES = "--lcores 0@0,1@1,2@1"
# Queue q of both ports is polled by worker lcore WORKERS[q].
CONFIG = "(0,0,1),(0,1,2),(1,0,1),(1,1,2)"
NPEERS = 6


def peer_ip(x):
    return "172.16.0.%d" % (10 + x)


def spi_in(x):
    return 5000 + x


def spi_out(x):
    return 9000 + x


def key_in(x):
    return bytes((0x11 * x + i) & 0xFF for i in range(16)) + bytes([0xA0, x, 0xA2, 0xA3])


def key_out(x):
    return bytes((0x29 * x + 3 * i) & 0xFF for i in range(32)) + bytes([0xC0, x, 0xC2, 0xC3])


def rules():
    lines = ["# %d peers, one session each: an inbound and an outbound SA" % NPEERS]
    for x in range(1, NPEERS + 1):
        lines.append("sa in %d aead_algo aes-128-gcm aead_key %s mode ipv4-tunnel src %s dst %s"
                     % (spi_in(x), hexkey(key_in(x)), peer_ip(x), GW))
        lines.append("sa out %d aead_algo aes-256-gcm aead_key %s mode ipv4-tunnel src %s dst %s"
                     % (spi_out(x), hexkey(key_out(x)), GW, peer_ip(x)))
    for x in range(1, NPEERS + 1):
        lines.append("sp ipv4 in esp protect %d pri 10 dst 10.2.%d.0/24 sport 0:65535 "
                     "dport 0:65535" % (spi_in(x), x))
        lines.append("sp ipv4 out esp protect %d pri 10 dst 10.1.%d.0/24 sport 0:65535 "
                     "dport 0:65535" % (spi_out(x), x))
    lines += ["rt ipv4 dst 10.2.0.0/16 port %d" % PROT,
              "rt ipv4 dst 172.16.0.0/24 port %d" % UNPROT,
              "neigh port 0 %s" % NEIGH_MAC[0],
              "neigh port 1 %s" % NEIGH_MAC[1]]
    return "\n".join(lines) + "\n"


def on_q1(x, i):
    """Which rx queue packet i of peer x arrives on: a different mix per peer
    (peer 1: every 2nd on queue 1, peer 2: every 3rd, ...; peer 6: all on 0)."""
    if x == NPEERS:
        return False
    return i % (x + 1) == 0


def inner_in(x, i):
    n = (i * 7 + x) % 90
    return bytes(IP(src="10.1.%d.9" % x, dst="10.2.%d.%d" % (x, 10 + i % 100), id=i) /
                 UDP(sport=1000 + i, dport=2000 + x) /
                 Raw(struct.pack("!HH", x, i) + bytes((i + k) & 0xFF for k in range(n))))


def inner_out(x, i):
    n = (i * 11 + x) % 120
    return bytes(IP(src="10.2.%d.9" % x, dst="10.1.%d.%d" % (x, 10 + i % 100), id=i,
                    tos=(i % 4) << 2, flags="DF" if i % 2 else 0) /
                 UDP(sport=3000 + i, dport=4000 + x) /
                 Raw(struct.pack("!HH", x, i) + bytes((3 * i + k) & 0xFF for k in range(n))))


def run_mq(exe, ctl, rules_text, inputs, nq=2, settle_timeout=20.0):
    """
    The gateway on @nq rx and tx queues per port (@inputs {port: [[frames of
    queue 0], [queue 1], ...]}, queue q polled by worker WORKERS[q]); before
    it stops, shardgatectl's 'list sessions' and 'list sa' go in r.extra.
    """
    def ask(r):
        sock = os.path.join(runtime_dir(r.prefix), "shardgate.sock")
        for req in ("list sessions", "list sa"):
            cp = subprocess.run([ctl, "-s", sock] + req.split(), capture_output=True, text=True,
                                timeout=30, stdin=subprocess.DEVNULL)
            r.extra[req] = (cp.returncode, cp.stdout, cp.stderr)

    return run_gateway(exe, rules_text, inputs, app_args=("--config", CONFIG), lcores=LCORES,
                       settle_timeout=settle_timeout, txq=nq, rxq=nq, before_stop=ask)


def ctl_json(r, req, s):
    rc, out, err = r.extra.get(req, (None, "", ""))
    s.eq("shardgatectl %s: exit status" % req, rc, 0)
    try:
        return json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        s.check("shardgatectl %s: one JSON line" % req, False, "stdout %r stderr %r" % (out, err))
        return {}


def body(s):
    exe = s.exe
    ctl = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else os.path.join(
        os.path.dirname(os.path.dirname(exe)), "shardgatectl", "shardgatectl")
    s.section("%d peers over two workers, each peer's packets on both queues" % NPEERS)
    n_in = {x: 40 + 9 * x for x in range(1, NPEERS + 1)}
    n_out = {x: 30 + 11 * x for x in range(1, NPEERS + 1)}
    psa = {x: peer_sa(spi_in(x), key_in(x), src=peer_ip(x), dst=GW) for x in n_in}
    q_in = [[], []]
    q_out = [[], []]
    # (peer, queue) of every input, to count what must be handed over.
    arrivals_in, arrivals_out = [], []
    expect_in = {}   # inner bytes -> peer
    expect_out = {}  # plaintext bytes -> peer
    # Interleave the peers so that every burst mixes owners.
    for i in range(max(max(n_in.values()), max(n_out.values()))):
        for x in range(1, NPEERS + 1):
            if i < n_in[x]:
                inner = inner_in(x, i)
                esp = bytes(psa[x].encrypt(IP(inner)))
                q = 1 if on_q1(x, i) else 0
                q_in[q].append(frame(esp, UNPROT))
                arrivals_in.append((x, q))
                expect_in[inner] = x
            if i < n_out[x]:
                pt = inner_out(x, i)
                q = 1 if on_q1(x, i + 1) else 0
                q_out[q].append(frame(pt, PROT))
                arrivals_out.append((x, q))
                expect_out[pt] = x
    total = len(arrivals_in) + len(arrivals_out)
    r = run_mq(exe, ctl, rules(), {UNPROT: q_in, PROT: q_out})
    s.runs += 1
    s.check("gateway came up and settled (rx == tx + drops == input frames)", r.settled,
            r.why_not_settled + " stderr tail %r" % r.stderr[-600:])

    # Owners, as the gateway says (telemetry, then the control socket).
    owner_in = {x: (r.sa.get("in_%d" % spi_in(x)) or {}).get("owner_lcore") for x in n_in}
    owner_out = {x: (r.sa.get("out_%d" % spi_out(x)) or {}).get("owner_lcore") for x in n_in}
    s.check("every SA has an owner among the workers %s" % (WORKERS,),
            all(owner_in[x] in WORKERS and owner_out[x] in WORKERS for x in n_in),
            "in %r out %r" % (owner_in, owner_out))
    s.eq("a session's inbound and outbound SAs have the same owner", owner_out, owner_in)
    per = {w: sorted(x for x in n_in if owner_in[x] == w) for w in WORKERS}
    s.check("sessions spread over both workers, evenly (%d peers)" % NPEERS,
            all(per[w] for w in WORKERS) and
            abs(len(per[WORKERS[0]]) - len(per[WORKERS[1]])) <= 1, "peers per lcore %r" % per)

    sess = ctl_json(r, "list sessions", s).get("sessions", [])
    s.eq("shardgatectl list sessions: one session per peer", len(sess), NPEERS)
    s.eq("shardgatectl list sessions: peers", sorted(e.get("peer") for e in sess),
         sorted(peer_ip(x) for x in n_in))
    s.check("shardgatectl list sessions: owners on both workers",
            sorted({e.get("lcore") for e in sess}) == list(WORKERS), "sessions %r" % sess)
    s.eq("shardgatectl list sessions: each peer's lcore is its SAs' owner",
         {e.get("peer"): e.get("lcore") for e in sess},
         {peer_ip(x): owner_in[x] for x in n_in})
    sas = ctl_json(r, "list sa", s).get("sa", [])
    s.eq("shardgatectl list sa: owner lcore of each SA matches telemetry",
         {(e.get("dir"), e.get("spi")): e.get("lcore") for e in sas},
         dict([(("in", spi_in(x)), owner_in[x]) for x in n_in] +
              [(("out", spi_out(x)), owner_out[x]) for x in n_in]))

    if not all(owner_in[x] in WORKERS for x in n_in):
        s.check_clean_exit("handoff run", r)
        return
    txq = {w: i for i, w in enumerate(sorted(WORKERS))}

    s.section("inbound: decrypted once, by the owner")
    got_in = [(q, split_frame(f)[3]) for q, fs in enumerate(r.out_q[PROT]) for f in fs]
    s.eq("decrypted packets out of the protected port", len(got_in), len(arrivals_in))
    seen, dup, unknown, wrong_q = {}, 0, 0, []
    for q, ip in got_in:
        if ip not in expect_in:
            unknown += 1
            continue
        if ip in seen:
            dup += 1
        seen[ip] = q
        x = expect_in[ip]
        if q != txq[owner_in[x]]:
            wrong_q.append((x, q))
    s.eq("no decrypted packet twice", dup, 0)
    s.eq("no decrypted packet that Scapy did not send (byte-exact inner packets)", unknown, 0)
    for x in n_in:
        mine = [ip for ip, px in expect_in.items() if px == x]
        s.eq("peer %d: every inner packet out exactly once, byte for byte (%d, lcore %d)" %
             (x, len(mine), owner_in[x]), sum(1 for ip in mine if ip in seen), len(mine))
    s.eq("each decrypted packet left from its owner's tx queue", wrong_q, [])
    s.check("Ethernet of decrypted packets: neigh MAC, port MAC, IPv4",
            not l2_problems(r, r.out[PROT], PROT), l2_problems(r, r.out[PROT], PROT))

    s.section("outbound: encrypted once, by the owner, sequence numbers 1..N")
    osa = {x: SecurityAssociation(ESP, spi=spi_out(x), crypt_algo="AES-GCM", crypt_key=key_out(x),
                                  tunnel_header=IP(src=GW, dst=peer_ip(x))) for x in n_in}
    by_spi = {spi_out(x): x for x in n_in}
    got_out = [(q, split_frame(f)[3]) for q, fs in enumerate(r.out_q[UNPROT]) for f in fs]
    s.eq("ESP packets out of the unprotected port", len(got_out), len(arrivals_out))
    seqs = {x: [] for x in n_in}
    seen_pt, dup, bad, wrong_q, mismatch = set(), 0, [], [], []
    for q, ip in got_out:
        if len(ip) < 36 or ip[9] != 50:
            bad.append("not ESP: %s" % ip[:24].hex())
            continue
        spi, seq = struct.unpack("!II", ip[20:28])
        x = by_spi.get(spi)
        if x is None:
            bad.append("unknown SPI %d" % spi)
            continue
        try:
            pt = bytes(osa[x].decrypt(IP(ip)))
        except IPSecIntegrityError as e:
            bad.append("SPI %d seq %d: ICV %s" % (spi, seq, e))
            continue
        if expect_out.get(pt) != x:
            bad.append("SPI %d seq %d: not a plaintext of peer %d" % (spi, seq, x))
            continue
        if pt in seen_pt:
            dup += 1
        seen_pt.add(pt)
        seqs[x].append((q, seq))
        if q != txq[owner_out[x]]:
            wrong_q.append((x, q, seq))
        # Scapy's own ESP of the same plaintext with the gateway's sequence
        # number and IV (the IV is the 64-bit sequence number) and outer
        # fields (RFC 4301 §5.1.2.1): must be the same bytes.
        o = IP(ip)
        hdr = IP(src=GW, dst=peer_ip(x), tos=pt[1], id=o.id, ttl=64,
                 flags="DF" if pt[6] & 0x40 else 0)
        ref_sa = SecurityAssociation(ESP, spi=spi, crypt_algo="AES-GCM", crypt_key=key_out(x),
                                     tunnel_header=hdr)
        ref = bytes(ref_sa.encrypt(IP(pt), seq_num=seq, iv=struct.pack("!Q", seq)))
        if ref != ip:
            mismatch.append("SPI %d seq %d" % (spi, seq))
    s.eq("every ESP packet decrypts (Scapy) to a plaintext of its peer", bad, [])
    s.eq("no plaintext encrypted twice", dup, 0)
    s.eq("ESP byte for byte as Scapy builds it (same seq, IV, outer ID)", mismatch[:5], [])
    for x in n_out:
        mine = [pt for pt, px in expect_out.items() if px == x]
        s.eq("peer %d: every plaintext out exactly once (%d)" % (x, len(mine)),
             sum(1 for pt in mine if pt in seen_pt), len(mine))
        s.eq("SA out %d: sequence numbers 1..%d, no gap, no repeat" % (spi_out(x), n_out[x]),
             sorted(sq for _, sq in seqs[x]), list(range(1, n_out[x] + 1)))
        s.check("SA out %d: sequence numbers rise on the owner's queue" % spi_out(x),
                [sq for _, sq in seqs[x]] == sorted(sq for _, sq in seqs[x]),
                "%r" % [sq for _, sq in seqs[x]][:40])
    s.eq("each ESP packet left from its owner's tx queue", wrong_q[:10], [])

    s.section("counters: per SA, per lcore, handoffs")
    for x in n_in:
        si = r.sa.get("in_%d" % spi_in(x)) or {}
        so = r.sa.get("out_%d" % spi_out(x)) or {}
        s.eq("SA in %d: packets" % spi_in(x), si.get("packets"), n_in[x])
        s.eq("SA in %d: highest seq" % spi_in(x), si.get("seq"), n_in[x])
        s.eq("SA out %d: packets / seq" % spi_out(x), (so.get("packets"), so.get("seq")),
             (n_out[x], n_out[x]))
    lc = {w: (r.lcores or {}).get(str(w)) or {} for w in WORKERS}
    for w in WORKERS:
        other = [v for v in WORKERS if v != w][0]
        rx = sum(1 for _, q in arrivals_in + arrivals_out if WORKERS[q] == w)
        # Packets polled by the other worker whose SA this one owns.
        ho_in = sum(1 for x, q in arrivals_in if WORKERS[q] == other and owner_in[x] == w)
        ho_out = sum(1 for x, q in arrivals_out if WORKERS[q] == other and owner_out[x] == w)
        ho_away = sum(1 for x, q in arrivals_in if WORKERS[q] == w and owner_in[x] != w) + \
            sum(1 for x, q in arrivals_out if WORKERS[q] == w and owner_out[x] != w)
        s.eq("lcore %d: rx (frames on its queues)" % w, lc[w].get("rx"), rx)
        s.eq("lcore %d: handoff_rx = packets of its SAs that arrived at lcore %d" % (w, other),
             lc[w].get("handoff_rx"), ho_in + ho_out)
        s.eq("lcore %d: handoff_tx = packets that arrived here for lcore %d's SAs" % (w, other),
             lc[w].get("handoff_tx"), ho_away)
        s.eq("lcore %d: inbound = ESP of the SAs it owns" % w, lc[w].get("inbound"),
             sum(n_in[x] for x in n_in if owner_in[x] == w))
        s.eq("lcore %d: outbound = plaintext of the SAs it owns" % w, lc[w].get("outbound"),
             sum(n_out[x] for x in n_out if owner_out[x] == w))
        s.eq("lcore %d: drops" % w, lc[w].get("drops"), 0)
    s.eq("handoff_tx of lcore 1 == handoff_rx of lcore 2",
         lc[1].get("handoff_tx"), lc[2].get("handoff_rx"))
    s.eq("handoff_tx of lcore 2 == handoff_rx of lcore 1",
         lc[2].get("handoff_tx"), lc[1].get("handoff_rx"))
    wrong_core = sum(1 for x, q in arrivals_in if WORKERS[q] != owner_in[x]) + \
        sum(1 for x, q in arrivals_out if WORKERS[q] != owner_out[x])
    st = r.stats or {}
    s.check("some packets did arrive at the wrong core (%d of %d)" % (wrong_core, total),
            0 < wrong_core < total)
    s.eq("telemetry: handoff_tx total = packets that arrived at the wrong core",
         st.get("handoff_tx"), wrong_core)
    s.eq("telemetry: handoff_rx total", st.get("handoff_rx"), wrong_core)
    s.eq("telemetry: rx / tx / drops", (st.get("rx"), st.get("tx"), st.get("drops")),
         (total, total, 0))
    s.eq("telemetry: inbound / outbound", (st.get("inbound"), st.get("outbound")),
         (len(arrivals_in), len(arrivals_out)))
    s.check_clean_exit("handoff run", r)


if __name__ == "__main__":
    suite_main("handoff", body)
