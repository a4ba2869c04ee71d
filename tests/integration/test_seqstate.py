#!/usr/bin/python3
"""
No AES-GCM nonce is used twice across restarts (issue 10, item 3).

The nonce of an outbound ESP packet is the SA's salt and its sequence
number (RFC 4106 §3). The gateway keeps, per key, the highest number it may
have sent in a state file it fsyncs before using it (--seq-state).

- files: a missing, truncated, corrupt or foreign state file stops the
  start (exit 2, the file and the reason named, no device touched) unless
  --seq-state-init says to begin anew; a file in use by a running gateway
  is refused to a second one; bad option values are refused by name;
- resume (net_pcap): a clean stop resumes at exactly the next number, under
  the same key whatever its SPI; a new key starts at 1; two outbound SAs
  with one key are refused (file:line); a small reservation under a burst
  holds at its limit (seq_reserve drops) and never goes past it;
- SIGKILL under traffic (net_af_packet in a namespace, Scapy on the peer
  side capturing every frame the gateway sent, whatever became of the
  gateway): killed twice mid-stream and restarted, no (SPI, sequence
  number) pair appears twice, every packet decrypts with Scapy's own ESP,
  its IV is its sequence number, and each run starts above the last.

Usage: test_seqstate.py SHARDGATE_EXE [SHARDGATECTL_EXE]
"""
import os
import shutil
import struct
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sgtest import (suite_main, run_gateway, run_cli, frame, hexkey, IP, UDP, Raw,  # noqa: E402
                    LiveGateway, GW, PEER, PROT, UNPROT, NEIGH_MAC)
import test_live as live  # noqa: E402

KEY = live.key("seqstate out 8192", 16)
KEY_B = live.key("seqstate rotated", 16)


def rules(spi=8192, key=KEY, extra=""):
    """One outbound SA and its policy; @extra goes on the last line."""
    return f"""# sequence state
sa out {spi} aead_algo aes-128-gcm aead_key {hexkey(key)} mode ipv4-tunnel src {GW} dst {PEER}
sp ipv4 out esp protect {spi} pri 10 dst 10.1.0.0/24 sport 0:65535 dport 0:65535
rt ipv4 dst {PEER}/32 port {UNPROT}
rt ipv4 dst 10.2.0.0/16 port {PROT}
neigh port 0 {NEIGH_MAC[0]}
neigh port 1 {NEIGH_MAC[1]}
{extra}"""


def esp_seqs(r, spi):
    """(sequence number, IV) of each ESP packet the gateway sent on @spi."""
    out = []
    for f in r.out.get(UNPROT, []):
        ip = f[14:]
        if len(ip) >= 36 and ip[9] == 50 and struct.unpack("!I", ip[20:24])[0] == spi:
            out.append((struct.unpack("!I", ip[24:28])[0], struct.unpack("!Q", ip[28:36])[0]))
    return out


def plain(n, first=0):
    """n plaintext packets from the site to the remote site."""
    return {PROT: [frame(bytes(IP(src="10.2.0.9", dst="10.1.0.%d" % (1 + i % 200)) /
                               UDP(sport=40000, dport=5001) / Raw(struct.pack("!I", i) * 8)),
                         PROT) for i in range(first, first + n)]}


# ---------------------------------------------------------------------------
def files_body(s, exe):
    tmp = tempfile.mkdtemp(prefix="sgit_seq_")
    try:
        path = os.path.join(tmp, "state")
        seq = ["--seq-state", path]
        app = ["--", "-p", "0x3", "-u", "0x1", "-f", "RULES"]

        def refused(label, args, words):
            rc, out, err, tx, rdir, _ = run_cli(exe, app + args, rules=rules())
            msg = out + err
            s.check("%s: exit 2, says %s, no device touched" % (label, words),
                    rc == 2 and all(w in msg for w in words) and not tx and not rdir,
                    "status %r, tx pcap %r, runtime dir %r, output %r" %
                    (rc, tx, rdir, msg.strip()[-400:]))

        s.section("bad state files stop the start")
        refused("missing file", seq, [path, "missing", "--seq-state-init"])
        os.mkdir(os.path.join(tmp, "adir"))
        refused("a directory", ["--seq-state", os.path.join(tmp, "adir")], ["adir"])
        refused("no such directory", ["--seq-state", os.path.join(tmp, "no/such/state"),
                                      "--seq-state-init"], ["no/such/state"])
        # A good file that knows the key, for damaging.
        r = run_gateway(exe, rules(), plain(20), app_args=seq + ["--seq-state-init"])
        s.eq("first start with --seq-state-init: exit 0", r.rc, 0)
        s.eq("first start: ESP sequence numbers 1..20", [q for q, _ in esp_seqs(r, 8192)],
             list(range(1, 21)))
        good = open(path, "rb").read()
        s.check("the state file holds headers and slots", len(good) >= 128 + 64,
                "%d bytes" % len(good))

        damaged = [
            ("truncated inside the header", good[:100], ["truncated"]),
            ("truncated inside the slots", good[:128 + 1024 * 64 - 10], ["truncated"]),
            ("a foreign file", b"#!/bin/sh\n" + bytes(4096), ["not a shardgate state file"]),
        ]
        slot0 = bytearray(good)
        for i in range(128, 192):  # both copies of the first entry
            slot0[i] ^= 0x5A
        damaged.append(("its one entry corrupt", bytes(slot0), ["corrupt"]))
        for label, data, words in damaged:
            with open(path, "wb") as f:
                f.write(data)
            refused(label, seq, [path] + words + ["--seq-state-init"])
            with open(path, "rb") as f:
                s.check("%s: the file is left as it was" % label, f.read() == data)
            r = run_gateway(exe, rules(), plain(3), app_args=seq + ["--seq-state-init"])
            s.check("%s, with --seq-state-init: starts fresh, warns" % label,
                    r.rc == 0 and [q for q, _ in esp_seqs(r, 8192)] == [1, 2, 3] and
                    "rotate static keys" in r.stderr + r.stdout,
                    "status %r, seqs %r, log %r" % (r.rc, esp_seqs(r, 8192), r.stderr[-300:]))
        os.unlink(path)

        s.section("bad option values")
        for label, args, words in [
                ("--seq-reserve 0", seq + ["--seq-reserve", "0"], ["--seq-reserve"]),
                ("--seq-reserve abc", seq + ["--seq-reserve", "abc"], ["--seq-reserve"]),
                ("--seq-reserve 2^40", seq + ["--seq-reserve", str(1 << 40)], ["--seq-reserve"]),
                ("--seq-state ''", ["--seq-state", ""], ["--seq-state"]),
                ("--seq-state-max 5", seq + ["--seq-state-max", "5"], ["--seq-state-max"])]:
            refused(label, args, words)
        s.check("no state file was made by a refused start", not os.path.exists(path))

        s.section("one gateway per state file")
        net = live.Netns()
        gw = None
        try:
            gw = live.Gateway(exe, None, net, live.rules(),
                              app_args=seq + ["--seq-state-init"]).start()
            s.runs += 1
            refused("a second gateway on a file in use", seq, [path, "in use by another"])
            s.check("the running gateway still answers", gw.stats().get("workers") == 1,
                    "%r" % gw.stats())
        finally:
            if gw is not None:
                gw.close()
            net.close()
        s.eq("first gateway: exit status after SIGTERM", gw.rc, 0)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------------------
def resume_body(s, exe):
    tmp = tempfile.mkdtemp(prefix="sgit_seq_")
    try:
        path = os.path.join(tmp, "state")
        seq = ["--seq-state", path]
        s.section("a clean stop resumes at the next number, by key")
        r = run_gateway(exe, rules(), plain(50), app_args=seq + ["--seq-state-init"])
        s.eq("run 1: exit 0", r.rc, 0)
        s.eq("run 1: sequence numbers 1..50", [q for q, _ in esp_seqs(r, 8192)],
             list(range(1, 51)))
        s.check("run 1: IV = sequence number (RFC 4106 §3.1)",
                all(q == iv for q, iv in esp_seqs(r, 8192)))
        r = run_gateway(exe, rules(), plain(30, 50), app_args=seq)
        s.eq("run 2, same key: sequence numbers 51..80", [q for q, _ in esp_seqs(r, 8192)],
             list(range(51, 81)))
        r = run_gateway(exe, rules(spi=9999), plain(10, 80), app_args=seq)
        s.eq("run 3, same key under SPI 9999: sequence numbers 81..90",
             [q for q, _ in esp_seqs(r, 9999)], list(range(81, 91)))
        r = run_gateway(exe, rules(key=KEY_B), plain(10, 90), app_args=seq)
        s.eq("run 4, a new key: sequence numbers 1..10", [q for q, _ in esp_seqs(r, 8192)],
             list(range(1, 11)))
        r = run_gateway(exe, rules(), plain(5, 100), app_args=seq)
        s.eq("run 5, the first key again: 91..95", [q for q, _ in esp_seqs(r, 8192)],
             list(range(91, 96)))

        s.section("two outbound SAs under one key")
        two = rules(extra="sa out 8193 aead_algo aes-128-gcm aead_key %s mode ipv4-tunnel "
                    "src %s dst %s\n" % (hexkey(KEY), GW, PEER))
        rc, out, err, tx, rdir, rpath = run_cli(exe, ["--", "-p", "0x3", "-u", "0x1", "-f",
                                                      "RULES"] + seq, rules=two)
        nline = len(two.rstrip("\n").split("\n"))
        s.check("refused: exit 2, file:line of the second, says why, no device touched",
                rc == 2 and ("rules.cfg:%d:" % nline) in out + err and "same key" in out + err
                and not tx and not rdir,
                "status %r, tx %r, runtime dir %r, output %r" % (rc, tx, rdir, (out + err)[-400:]))
        r = run_gateway(exe, rules(), plain(2, 105), app_args=seq)
        s.eq("the refused start used no number: 96, 97", [q for q, _ in esp_seqs(r, 8192)],
             [96, 97])

        s.section("rekey out: the key left behind is released at its exact count")
        with LiveGateway(exe, rules(), live=(PROT,), app_args=seq) as g:
            s.runs += 1
            g.send(PROT, plain(3, 200)[PROT])
            for old, new, k in ((8192, 8193, KEY_B), (8193, 8194, KEY), (8194, 8195, KEY)):
                rc, out, err = g.ctl("rekey", "out", old, new, "aead_algo", "aes-128-gcm",
                                     "aead_key", hexkey(k))
                want_ok = new != 8195
                s.check("rekey out %d -> %d: %s" % (old, new, "ok" if want_ok else
                                                     "refused: its own key again"),
                        (rc == 0 and '"ok":true' in out) if want_ok else
                        (rc != 0 and "same key" in out), out[-300:] + err[-200:])
                if want_ok:
                    g.send(PROT, plain(2, 210)[PROT])
            g.stop()
            got = [(spi, q) for spi in (8192, 8193, 8194)
                   for q, _ in esp_seqs(g, spi)]
            s.eq("sequence numbers: the first key 98..100, the rotated one 11..12 (it was "
                 "used 10 times in run 4), the first key again 101..102", got,
                 [(8192, 98), (8192, 99), (8192, 100), (8193, 11), (8193, 12),
                  (8194, 101), (8194, 102)])
            s.check_clean_exit("rekey out", g)

        s.section("a burst past a small reservation holds at the limit")
        r = run_gateway(exe, rules(key=live.key("burst", 16)), plain(600),
                        app_args=["--seq-state", os.path.join(tmp, "burst"),
                                  "--seq-state-init", "--seq-reserve", "64", "--burst", "32"])
        got = [q for q, _ in esp_seqs(r, 8192)]
        held = r.drop("seq_reserve")
        s.eq("exit 0", r.rc, 0)
        s.check("numbers strictly rising, none repeated", got == sorted(set(got)),
                "%r" % got[:40])
        s.check("sent + held back at the limit = 600; nothing else dropped",
                len(got) + held == 600 and (r.stats or {}).get("drops") == held,
                "sent %d, seq_reserve %r, drops %r" % (len(got), held,
                                                       (r.stats or {}).get("drops")))
        s.check("it stopped at the limit, at least the first reservation sent",
                64 <= len(got) < 600 and held > 0, "sent %d, held %r" % (len(got), held))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------------------
class Plain(threading.Thread):
    """Plaintext from the site towards 10.1.0.0/24, RATE packets a second,
    until stopped, whatever the gateway is doing."""

    def __init__(self, wire):
        super().__init__(daemon=True)
        self.wire, self.n, self.error = wire, 0, None
        self.halt = threading.Event()

    def run(self):
        try:
            t0 = time.time()
            while not self.halt.is_set():
                due = int((time.time() - t0) * live.RATE)
                pt = []
                while self.n < due:
                    p = live.tagged(b"O", self.n, "10.2.0.9", "10.1.0.%d" % (10 + self.n % 200),
                                    self.n % 89)
                    pt.append(live.eth(PROT, p))
                    self.n += 1
                if pt:
                    self.wire.send(PROT, pt)
                time.sleep(0.004)
        except Exception as e:  # noqa: BLE001
            self.error = repr(e)


def kill_body(s, exe):
    tmp = tempfile.mkdtemp(prefix="sgit_seq_")
    net = live.Netns()
    wire = traffic = None
    gws = []
    try:
        path = os.path.join(tmp, "state")
        # A small reservation: many extensions are made durable under traffic.
        seq = ["--seq-state", path, "--seq-reserve", "128"]
        wire = live.Wire(net)
        traffic = Plain(wire)
        traffic.start()
        cut = []  # capture time of each kill
        for run in range(3):
            gw = live.Gateway(exe, None, net, live.rules(),
                              app_args=seq + (["--seq-state-init"] if run == 0 else []))
            gws.append(gw)
            gw.start()
            s.runs += 1
            time.sleep(1.5)
            if run < 2:
                t = time.time()
                gw.proc.kill()  # SIGKILL: nothing of the gateway's runs after this
                gw.proc.wait()
                cut.append(t)
                gw.close()
                s.eq("run %d: killed by SIGKILL" % (run + 1), gw.proc.returncode, -9)
        traffic.halt.set()
        traffic.join(10)
        time.sleep(0.3)
        st = gws[-1].stats()
        s.eq("run 3: paced traffic never waited for a reservation (drop_seq_reserve)",
             st.get("drop_seq_reserve"), 0)
        gws[-1].close()
        s.eq("run 3: exit status after SIGTERM", gws[-1].rc, 0)
        s.check("traffic generator ran without error", traffic.error is None,
                "%s" % traffic.error)
        esp = live.decrypt_all([(t, f) for t, f in wire.frames(UNPROT)],
                               {8192: live.out_sas()[8192]})
        bad = [e for e in esp if e[4]]
        s.eq("every ESP frame decrypts with Scapy's ESP", [(e[1], e[2], e[4]) for e in bad][:5],
             [])
        pairs = [(e[1], e[2]) for e in esp if not e[4]]
        dups = sorted({p for p in pairs if pairs.count(p) > 1})
        s.eq("no (SPI, sequence number) pair went out twice", dups[:10], [])
        ivs = [struct.unpack("!Q", f[14 + 28:14 + 36])[0] for _, f in wire.frames(UNPROT)
               if len(f) > 50 and f[14 + 9] == 50]
        s.check("each IV is its packet's sequence number, so no nonce repeats",
                ivs == [q for _, q in pairs] and len(set(ivs)) == len(ivs),
                "%d IVs, %d distinct" % (len(ivs), len(set(ivs))))
        runs = [[q for t, _, q, _, w in esp if not w and lo <= t < hi]
                for lo, hi in zip([0] + cut, cut + [float("inf")])]
        s.check("each of the three runs sent more than two reservations' worth (extended"
                " under traffic)", all(len(r) > 256 for r in runs),
                "per run %r" % [len(r) for r in runs])
        s.check("each run starts above every number the one before sent",
                all(min(runs[i + 1]) > max(runs[i]) for i in range(2) if runs[i] and runs[i + 1]),
                "per run (first, last) %r" % [(r[0], r[-1]) if r else None for r in runs])
        s.check("beyond what a run sent, it skips at most one reservation and a half",
                all(min(runs[i + 1]) - max(runs[i]) <= 192 for i in range(2)
                    if runs[i] and runs[i + 1]),
                "per run (first, last) %r" % [(r[0], r[-1]) if r else None for r in runs])
    finally:
        if traffic is not None and traffic.is_alive():
            traffic.halt.set()
            traffic.join(10)
        if wire is not None:
            wire.close()
        for gw in gws:
            gw.close()
        net.close()
        shutil.rmtree(tmp, ignore_errors=True)


def body(s):
    if os.getuid() != 0:
        s.check("runs as root (ip netns, veth)", False, "uid %d" % os.getuid())
        return
    s.guard("state files", files_body, s, s.exe)
    s.guard("resume", resume_body, s, s.exe)
    s.guard("SIGKILL under traffic", kill_body, s, s.exe)


if __name__ == "__main__":
    suite_main("seqstate", body)
