#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""
Anti-replay (RFC 4303 §3.4.3) seen from the wire.

Scapy sends ESP with chosen sequence numbers; the gateway must pass exactly
the packets the sliding window allows, in order and byte-exact, and count
the others as "replay" (totals and per SA):
- default window (1024): reordering inside the window passes; duplicates
  and packets 1024 or more behind the top are rejected;
- -w 64: a packet 64 behind the top is rejected, 63 behind passes; a
  per-SA "replay_win 128" (shardgate extension) overrides -w for its SA;
- -w 4096 (the issue's minimum maximum): window edges, and a jump far past
  the bitmap that must not leave stale bits behind;
- -w 0: no check at all, a replayed capture passes twice.
"""


from sgtest import (suite_main, IP, UDP, Raw, peer_sa, frame, base_rules, split_frame, check_outputs,
                    SPI_IN_128, SPI_IN_256, KEY_IN_128, KEY_IN_256, UNPROT, PROT)


def pkt(seq, spi, copy=0):
    dst = "10.2.0.%d" % ((seq + copy) % 100 + (128 if spi == SPI_IN_256 else 1))
    return bytes(IP(src="10.1.0.9", dst=dst, id=(seq + copy) & 0xFFFF) /
                 UDP(sport=(seq >> 16) & 0xFFFF, dport=seq & 0xFFFF) /
                 Raw(seq.to_bytes(4, "big") + bytes([copy]) * 8))


def scenario(s, tag, app_args, steps, sa_opts=None, want_win=None):
    """steps: (spi, seq, accepted?, note). Identical (spi, seq) pairs reuse
    the captured bytes of the first, as a replaying attacker would."""
    sas = {SPI_IN_128: peer_sa(SPI_IN_128, KEY_IN_128), SPI_IN_256: peer_sa(SPI_IN_256, KEY_IN_256)}
    captured = {}
    frames, expect = [], []
    for spi, seq, ok, note in steps:
        if (spi, seq) not in captured:
            inner = pkt(seq, spi)
            captured[(spi, seq)] = (frame(bytes(sas[spi].encrypt(IP(inner), seq_num=seq)), UNPROT),
                                    inner)
        fr, inner = captured[(spi, seq)]
        frames.append(fr)
        if ok:
            expect.append((spi, seq, note, inner))
    r = s.run(base_rules(sa_opts=sa_opts), {UNPROT: frames}, app_args=app_args)
    check_outputs(s, tag, [split_frame(f)[3] for f in r.out[PROT]],
                  [("SA %d seq %d passes (%s)" % (spi, seq, note), inner)
                   for spi, seq, note, inner in expect])
    rejected = [st for st in steps if not st[2]]
    s.check("%s: rejected exactly: %s" % (tag, ", ".join("%d/%s" % (st[1], st[3])
                                                        for st in rejected) or "none"),
            r.drop("replay") == len(rejected),
            "drop_replay %r, want %d" % (r.drop("replay"), len(rejected)))
    s.eq("%s: no other drop" % tag, (r.stats or {}).get("drops"), len(rejected))
    for spi in (SPI_IN_128, SPI_IN_256):
        mine = [st for st in steps if st[0] == spi]
        if not mine:
            continue
        sa = r.sa_by_spi("in", spi) or {}
        s.eq("%s: SA %d replay_drop" % (tag, spi), sa.get("replay_drop"),
             len([st for st in mine if not st[2]]))
        if want_win is not None:
            s.eq("%s: SA %d replay_window" % (tag, spi), sa.get("replay_window"),
                 want_win[spi])
        tops = [st[1] for st in mine if st[2]]
        if want_win is None or want_win[spi] != 0:
            s.eq("%s: SA %d seq (highest authenticated)" % (tag, spi), sa.get("seq"),
                 max(tops) if tops else 0)
    s.check_clean_exit(tag, r)


def body(s):
    A = SPI_IN_128
    B = SPI_IN_256

    s.section("default window (1024)")
    steps = [(A, n, True, "in order") for n in range(1, 11)]
    steps += [
        (A, 5, False, "duplicate"),
        (A, 20, True, "jump ahead"),
        (A, 15, True, "late, inside the window"),
        (A, 15, False, "duplicate of a late one"),
        (A, 12, True, "late, inside the window"),
        (A, 2000, True, "jump ahead"),
        (A, 976, False, "1024 behind the top"),
        (A, 977, True, "1023 behind the top: the window's edge"),
        (A, 977, False, "duplicate at the edge"),
        (A, 3, False, "far too old"),
        (A, 2000, False, "duplicate of the top"),
        (A, 1999, True, "just below the top"),
        (A, 2001, True, "one above the top"),
        (A, 1000000, True, "big jump"),
        (A, 1000000 - 1023, True, "edge after a big jump"),
        (A, 1000000 - 1024, False, "just outside after a big jump"),
        (A, 2001, False, "the old top, now far behind"),
        (A, 0xFFFFFFFF, True, "the last 32-bit number"),
        (A, 0xFFFFFFFF, False, "duplicate of the last number"),
        (A, 0xFFFFFFFF - 1, True, "just below the last number"),
    ]
    scenario(s, "w=default", [], steps, want_win={A: 1024, B: 1024})

    s.section("-w 64, and replay_win 128 on SA 4097")
    steps = [(A, n, True, "in order") for n in range(1, 31)]
    steps += [
        (A, 100, True, "jump"),
        (A, 37, True, "63 behind the top"),
        (A, 36, False, "64 behind the top"),
        (A, 37, False, "duplicate"),
        (A, 99, True, "late"),
        (A, 30, False, "old and seen"),
        (B, 500, True, "first packet of SA 4097"),
        (B, 373, True, "127 behind the top (window 128)"),
        (B, 372, False, "128 behind the top"),
        (B, 436, True, "64 behind: inside 128, outside -w 64"),
    ]
    scenario(s, "w=64", ["-w", "64"], steps, sa_opts={B: "replay_win 128"},
             want_win={A: 64, B: 128})

    s.section("-w 4096: edges and a jump far past the bitmap")
    steps = [(A, n, True, "in order") for n in (1, 2, 3, 4990, 5000)]
    steps += [
        (A, 5000 - 4095, True, "4095 behind the top"),
        (A, 5000 - 4096, False, "4096 behind the top"),
        (A, 4990, False, "duplicate inside the window"),
        (A, 4990 + 8192 * 9 + 100, True, "jump of ~73k"),
        (A, 4990 + 8192 * 9, True, "aliases 4990's bitmap slot: must not look seen"),
        (A, 5000 + 8192 * 9, True, "aliases 5000's bitmap slot"),
        (A, 4990 + 8192 * 9, False, "duplicate after the jump"),
    ]
    scenario(s, "w=4096", ["-w", "4096"], steps, want_win={A: 4096, B: 4096})

    s.section("-w 0: no anti-replay, a replayed capture passes")
    capture = [(A, n, True, "capture") for n in (1, 2, 3, 7, 5)]
    steps = capture + [(A, n, True, "replayed capture") for _, n, _, _ in capture]
    steps += [(A, 1, True, "third copy")]
    scenario(s, "w=0", ["-w", "0"], steps, want_win={A: 0, B: 0})


if __name__ == "__main__":
    suite_main("replay", body)
