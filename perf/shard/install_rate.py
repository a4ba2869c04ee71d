#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""
The control socket's SA install rate, in SAs per second, as the table fills.

Starts shardgate on two net_ring vdevs (no traffic, nothing to poll but the
rings) with --max-sa large enough, then installs --total SAs through the
control socket and reports the rate of every --step of them, so that a rate
that falls as the table grows shows. Each session is one peer with an
inbound and an outbound SA, as a key manager would install them.

Two clients:
  ctl        shardgatectl -s SOCKET -  (one process per step, the requests on
             its stdin; it waits for each reply before it sends the next line,
             so this is the rate one synchronous client sees)
  pipelined  our own socket client keeping --window requests in flight (the
             rate the control core can sustain)

Usage:
  install_rate.py BUILD_DIR [--total 100000] [--step 10000] [--runs 3]
                  [--client ctl|pipelined|both] [--window 64] [--poll-sleep-us 0]

Pinning: the gateway's control lcore and this script share the first CPU of
the affinity mask, the worker lcore gets the second (taskset picks them).
"""

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

GW = "172.16.0.2"
# The CPUs we may use, before the first gateway pins this process to one.
CPUS = sorted(os.sched_getaffinity(0))


def key_hex(i, n):
    return ":".join("%02x" % ((i * 131 + k * 7 + 1) & 0xFF) for k in range(n))


def peer(k):
    return "10.%d.%d.%d" % (64 + (k >> 16) % 64, (k >> 8) & 0xFF, k & 0xFF)


def request(i):
    """SA number i: session i // 2, inbound if i is even, outbound if odd."""
    k = i // 2
    if i % 2 == 0:
        return ("add sa in %d aead_algo aes-128-gcm aead_key %s mode ipv4-tunnel src %s dst %s"
                % (0x10000 + k, key_hex(i, 20), peer(k), GW))
    return ("add sa out %d aead_algo aes-128-gcm aead_key %s mode ipv4-tunnel src %s dst %s"
            % (0x10000 + k, key_hex(i, 20), GW, peer(k)))


def runtime_dir(prefix):
    return os.path.join("/var/run/dpdk" if os.getuid() == 0 else
                        os.environ.get("XDG_RUNTIME_DIR", "/tmp") + "/dpdk", prefix)


class Gateway:
    def __init__(self, build, capacity, poll_sleep_us):
        self.exe = os.path.join(build, "app", "shardgate", "shardgate")
        self.ctl = os.path.join(build, "app", "shardgatectl", "shardgatectl")
        self.prefix = "sg_install_%d_%d" % (os.getpid(), int(time.time() * 1000) % 100000)
        self.tmp = tempfile.mkdtemp(prefix="sg_install_")
        c0, c1 = CPUS[0], CPUS[1] if len(CPUS) > 1 else CPUS[0]
        os.sched_setaffinity(0, {c0})
        rules = os.path.join(self.tmp, "rules.cfg")
        with open(rules, "w") as f:
            f.write("neigh port 0 02:00:00:00:00:10\nneigh port 1 02:00:00:00:00:11\n"
                    "rt ipv4 dst 10.0.0.0/8 port 0\n")
        # About 2 KB of heap per SA (perf/shard/README.md) plus pools and tables.
        mem = 768 + capacity * 2200 // (1 << 20)
        self.argv = [self.exe, "--no-pci", "--no-huge", "-m", str(mem),
                     "--file-prefix=" + self.prefix, "--lcores", "0@%d,1@%d" % (c0, c1),
                     "--vdev=net_ring0", "--vdev=net_ring1", "--log-level=lib.eal:error",
                     "--", "-p", "0x3", "-u", "0x1", "-f", rules, "--max-sa", str(capacity),
                     "--poll-sleep-us", str(poll_sleep_us),
                     # Each outbound SA's reservation is fsync'd once at install.
                     "--seq-state", os.path.join(self.tmp, "seq.state"), "--seq-state-init"]
        self.sock_path = os.path.join(runtime_dir(self.prefix), "shardgate.sock")
        self.log = open(os.path.join(self.tmp, "log"), "w+")
        self.proc = subprocess.Popen(self.argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        deadline = time.time() + 60
        while not os.path.exists(self.sock_path):
            if self.proc.poll() is not None or time.time() > deadline:
                self.log.seek(0)
                raise RuntimeError("gateway did not start: %s" % self.log.read()[-2000:])
            time.sleep(0.05)
        time.sleep(0.2)

    def close(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(runtime_dir(self.prefix), ignore_errors=True)
        shutil.rmtree(self.tmp, ignore_errors=True)


def step_ctl(gw, first, n):
    """n requests through one shardgatectl reading stdin: (seconds, failures)."""
    lines = "".join(request(i) + "\n" for i in range(first, first + n))
    t0 = time.perf_counter()
    cp = subprocess.run([gw.ctl, "-s", gw.sock_path, "-"], input=lines, capture_output=True,
                        text=True, timeout=3600)
    dt = time.perf_counter() - t0
    replies = cp.stdout.splitlines()
    bad = sum(1 for r in replies if not r.startswith('{"ok":true')) + n - len(replies)
    return dt, bad


class Pipe:
    def __init__(self, path, window):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.window = window
        self.buf = b""

    def step(self, first, n):
        # Built before the clock starts: this process shares a CPU with the
        # control core, and the client's own work is not what is measured.
        reqs = [(request(first + j) + "\n").encode() for j in range(n)]
        sent = got = bad = 0
        t0 = time.perf_counter()
        while got < n:
            if sent < n and sent - got < self.window:
                k = min(n - sent, self.window - (sent - got))
                self.s.sendall(b"".join(reqs[sent:sent + k]))
                sent += k
            chunk = self.s.recv(1 << 20)
            if not chunk:
                raise RuntimeError("control socket closed")
            # Count, do not parse: this process shares the control core's CPU.
            self.buf += chunk
            end = self.buf.rfind(b"\n") + 1
            if end:
                k = self.buf.count(b"\n", 0, end)
                got += k
                bad += k - self.buf.count(b'{"ok":true', 0, end)
                self.buf = self.buf[end:]
        return time.perf_counter() - t0, bad

    def close(self):
        self.s.close()


def one_run(args, client):
    gw = Gateway(args.build, args.total + 16, args.poll_sleep_us)
    rates = []
    try:
        pipe = Pipe(gw.sock_path, args.window) if client == "pipelined" else None
        for first in range(0, args.total, args.step):
            n = min(args.step, args.total - first)
            dt, bad = pipe.step(first, n) if pipe else step_ctl(gw, first, n)
            if bad:
                raise RuntimeError("%d of %d requests failed at fill %d" % (bad, n, first))
            rates.append(n / dt)
        if pipe:
            reply = None
            pipe.s.sendall(b"list sa 0\n")
            while b"\n" not in pipe.buf:
                pipe.buf += pipe.s.recv(1 << 20)
            reply = json.loads(pipe.buf.split(b"\n", 1)[0])
            pipe.close()
        else:
            cp = subprocess.run([gw.ctl, "-s", gw.sock_path, "list", "sa", "0"],
                                capture_output=True, text=True, timeout=60)
            reply = json.loads(cp.stdout.strip().splitlines()[-1])
        if reply.get("total") != args.total:
            raise RuntimeError("the gateway holds %s SAs, not %d" % (reply.get("total"),
                                                                     args.total))
    finally:
        gw.close()
    return rates


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("build", help="meson build directory")
    ap.add_argument("--total", type=int, default=100000)
    ap.add_argument("--step", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--client", choices=("ctl", "pipelined", "both"), default="both")
    ap.add_argument("--window", type=int, default=64)
    ap.add_argument("--poll-sleep-us", type=int, default=0)
    args = ap.parse_args()
    clients = ("ctl", "pipelined") if args.client == "both" else (args.client,)
    print("install_rate: %d SAs (%d sessions) in steps of %d, %d run(s), worker poll sleep "
          "%d us, CPUs %s, load average %.2f" % (args.total, args.total // 2, args.step,
                                                 args.runs, args.poll_sleep_us, CPUS,
                                                 os.getloadavg()[0]))
    # Runs alternate between the clients so that both see the same neighbours.
    res = {c: [] for c in clients}
    for _ in range(args.runs):
        for c in clients:
            res[c].append(one_run(args, c))
    steps = list(range(args.step, args.total + args.step, args.step))[:len(res[clients[0]][0])]
    print("\n%12s" % "SAs in table" + "".join("  %24s" % ("%s SA/s (median, min-max)" % c)
                                               for c in clients))
    for k, fill in enumerate(steps):
        row = "%12d" % fill
        for c in clients:
            v = [r[k] for r in res[c]]
            row += "  %24s" % ("%7.0f (%.0f-%.0f)" % (statistics.median(v), min(v), max(v)))
        print(row)
    print("load average at the end %.2f" % os.getloadavg()[0])
    for c in clients:
        med = [statistics.median(r[k] for r in res[c]) for k in range(len(steps))]
        print("%s: first step %.0f SA/s, last step %.0f SA/s (last/first %.2f), whole fill "
              "%.0f SA/s" % (c, med[0], med[-1], med[-1] / med[0],
                             args.total / sum(args.step / m for m in med)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
