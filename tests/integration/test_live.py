#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""
Live control under live traffic (issue 3 items 5 and 6).

The gateway runs in a network namespace made here, on net_af_packet ports
over two veth pairs; their other ends stay in this namespace, where Scapy
sockets send (sendp) and capture (AsyncSniffer) at a bounded rate while
requests arrive on the control socket (shardgatectl). Both namespaces and
every veth are removed whatever happens.

  peer (Scapy) p0 ==ESP==  g0 [shardgate, port 0 | port 1] g1 == p1 site (Scapy)

Cases:
- add an SA and a policy live, then traffic on them: Scapy decrypts what
  the gateway encrypts, and the gateway decrypts what Scapy encrypts;
- delete the policy, then the SA: traffic is dropped (no_policy, policy,
  unknown_spi) and counted exactly;
- make-before-break rekey in both directions under continuous traffic:
  'rekey in' (the peer moves to the new SPI at once), then 'rekey out' (the
  gateway moves; Scapy takes either SPI): zero loss, every packet exactly
  once, sequence numbers 1..N on each SA, the switch is clean, counters
  right; after grace_ms the old inbound SA is gone (list sa, telemetry) and
  its SPI is unknown_spi; the old keys are nowhere in the gateway's memory
  (read through /proc/PID/mem; the unit suites cover sg_wipe, the key
  wipe, and the command wipe in tests/unit/test_shard.c);
- bad requests on a gateway with --max-sa 8: each gets {"ok":false,...} and
  changes nothing (list sa, list sp, list sessions and telemetry compared
  before and after), and traffic still flows; inbound SAs added and removed
  again and again stay reachable.

Background traffic is built and checked against python3-cryptography's
AES-GCM (RFC 4106), itself checked byte for byte against Scapy's ESP on the
first packets: Scapy's encrypt costs over a millisecond a packet, too slow to
keep a live rate on a shared machine. Every ESP the gateway sends is
decrypted by Scapy.
"""

import hashlib
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

from sgtest import (suite_main, seq_args, IP, Raw, hexkey, ESP, SecurityAssociation, IPSecIntegrityError,
                    AESGCM, Telemetry, runtime_dir, unique_prefix, ip_cksum_ok, GW, PEER,
                    UNPROT, PROT, NEIGH_MAC, scan_memory)
from scapy.all import conf as scapy_conf, sendp, AsyncSniffer  # noqa: E402

GW_MAC = {0: "02:00:00:00:01:00", 1: "02:00:00:00:01:01"}
PEER_MAC = NEIGH_MAC  # the veth ends Scapy uses are the gateway's next hops
RATE = 400  # packets per second in each direction
GRACE_MS = 2000



def key(label, n):
    """AES key of n bytes + 4-byte salt, random-looking: the memory scan
    must not meet a key's bytes in packet data or code by chance."""
    d = hashlib.sha256(label.encode()).digest() + hashlib.sha256(label.encode() + b"2").digest()
    return d[:n] + d[40:44]


K_IN = key("sa in 4096", 16)
K_IN_NEW = key("sa in 5096", 16)
K_OUT = key("sa out 8192", 32)
K_OUT_NEW = key("sa out 9192", 32)
K_6000 = key("sa in 6000", 32)
K_7000 = key("sa out 7000", 16)
K_SPARE = key("spare", 16)

FULL = "sport 0:65535 dport 0:65535"
SO_RCVBUFFORCE = 33  # Linux; Python does not name it


def rules(extra=""):
    return f"""# live control topology
sa in 4096 aead_algo aes-128-gcm aead_key {hexkey(K_IN)} mode ipv4-tunnel src {PEER} dst {GW}
sa out 8192 aead_algo aes-256-gcm aead_key {hexkey(K_OUT)} mode ipv4-tunnel src {GW} dst {PEER}
sp ipv4 in esp protect 4096 pri 10 dst 10.2.0.0/24 {FULL}
sp ipv4 out esp protect 8192 pri 10 dst 10.1.0.0/24 {FULL}
rt ipv4 dst 10.2.0.0/16 port {PROT}
rt ipv4 dst {PEER}/32 port {UNPROT}
neigh port 0 {PEER_MAC[0]}
neigh port 1 {PEER_MAC[1]}
{extra}"""


# ---------------------------------------------------------------------------
# Packets: plaintext IPv4/UDP carrying a tag, and ESP (RFC 4303, RFC 4106).
# ---------------------------------------------------------------------------
def csum(b):
    s = 0
    for i in range(0, len(b), 2):
        s += (b[i] << 8) | b[i + 1]
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ipv4(src, dst, proto, payload, ident=1, tos=0, df=False, ttl=64):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, tos, 20 + len(payload), ident & 0xFFFF,
                    0x4000 if df else 0, ttl, proto, 0, socket.inet_aton(src),
                    socket.inet_aton(dst))
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload


def tagged(flow, n, src, dst, size):
    """A UDP packet whose payload starts with flow (1 byte) and n (4 bytes)."""
    body = b"SG" + flow + struct.pack("!I", n) + bytes((n + k) & 0xFF for k in range(size))
    udp = struct.pack("!HHHH", 40000 + (n % 1000), 5001, 8 + len(body), 0) + body
    return ipv4(src, dst, 17, udp, ident=n, tos=(n % 4) << 2, df=bool(n & 1))


def tag_of(ip):
    """(flow, n) of a packet made by tagged(), else None."""
    if len(ip) >= 35 and ip[9] == 17 and ip[28:30] == b"SG":
        return ip[30:31], struct.unpack("!I", ip[31:35])[0]
    return None


_aead = {}


def esp_fast(spi, key, seq, inner, src=PEER, dst=GW):
    """Outer IPv4 + ESP as Scapy's SecurityAssociation.encrypt() builds it
    with tunnel_header IP(src, dst) and iv = the 64-bit sequence number."""
    if key not in _aead:
        _aead[key] = AESGCM(key[:-4])
    iv = struct.pack("!Q", seq)
    pad = (-(len(inner) + 2)) % 4
    pt = inner + bytes(range(1, pad + 1)) + bytes([pad, 4])
    hdr = struct.pack("!II", spi, seq)
    return ipv4(src, dst, 50, hdr + iv + _aead[key].encrypt(key[-4:] + iv, pt, hdr))


def scapy_esp(spi, key, seq, inner, src=PEER, dst=GW):
    sa = SecurityAssociation(ESP, spi=spi, crypt_algo="AES-GCM", crypt_key=key,
                             tunnel_header=IP(src=src, dst=dst))
    return bytes(sa.encrypt(IP(inner), seq_num=seq, iv=struct.pack("!Q", seq)))


def mac(s):
    return bytes(int(x, 16) for x in s.split(":"))


def eth(port, ip):
    """A frame from Scapy's end of @port to the gateway's end."""
    return mac(GW_MAC[port]) + mac(PEER_MAC[port]) + b"\x08\x00" + ip


# ---------------------------------------------------------------------------
# The namespace, the veths and the gateway in it.
# ---------------------------------------------------------------------------
def sh(*cmd, check=True):
    cp = subprocess.run(list(cmd), capture_output=True, text=True, timeout=30)
    if check and cp.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(cmd), cp.stderr.strip()))
    return cp


_ns_counter = [0]


class Netns:
    """A namespace holding the gateway's ends g0/g1 of two veth pairs; the
    other ends p0/p1 stay here. IPv6 is off and no address is set on any of
    them, so the kernels send nothing on their own."""

    def __init__(self):
        _ns_counter[0] += 1
        tag = "%d%d" % (os.getpid() % 100000, _ns_counter[0])
        self.ns = "sglive" + tag
        self.gw_if = ["sl%sg%d" % (tag, p) for p in (0, 1)]
        self.peer_if = ["sl%sp%d" % (tag, p) for p in (0, 1)]
        self.made = []
        try:
            sh("ip", "netns", "add", self.ns)
            self.made.append("ns")
            for p in (0, 1):
                sh("ip", "link", "add", self.peer_if[p], "address", PEER_MAC[p], "type", "veth",
                   "peer", "name", self.gw_if[p], "address", GW_MAC[p])
                self.made.append(self.peer_if[p])
                with open("/proc/sys/net/ipv6/conf/%s/disable_ipv6" % self.peer_if[p], "w") as f:
                    f.write("1")
                sh("ip", "link", "set", self.gw_if[p], "netns", self.ns)
                sh("ip", "netns", "exec", self.ns, "sysctl", "-q", "-w",
                   "net.ipv6.conf.%s.disable_ipv6=1" % self.gw_if[p])
                sh("ip", "-n", self.ns, "link", "set", self.gw_if[p], "multicast", "off", "up")
                sh("ip", "link", "set", self.peer_if[p], "multicast", "off", "up")
        except BaseException:
            self.close()
            raise

    def close(self):
        # Deleting one end deletes both; then the namespace (whose own clean-up
        # runs later in the kernel: its veths are gone already).
        for name in self.made:
            if name != "ns":
                sh("ip", "link", "del", name, check=False)
        if "ns" in self.made:
            sh("ip", "netns", "del", self.ns, check=False)
        self.made = []


def cpus():
    c = sorted(os.sched_getaffinity(0))
    return c[0], c[1] if len(c) > 1 else c[0]


class Gateway:
    """shardgate in the namespace, control lcore and worker on different CPUs
    where there are two; this process stays on the control core's CPU."""

    def __init__(self, exe, ctl, net, rules_text, app_args=()):
        self.exe, self.ctl_exe, self.net = exe, ctl, net
        self.prefix = unique_prefix()
        self.tmp = tempfile.mkdtemp(prefix="sgit_live_")
        self.proc = self.tel = self.sock = None
        self.rc = None
        self.stdout = self.stderr = ""
        path = os.path.join(self.tmp, "rules.cfg")
        with open(path, "w") as f:
            f.write(rules_text)
        c0, c1 = cpus()
        self.argv = ["ip", "netns", "exec", net.ns, exe, "--no-pci", "--no-huge", "-m", "512",
                     "--file-prefix=" + self.prefix, "--lcores", "0@%d,1@%d" % (c0, c1)] + \
            ["--vdev=net_af_packet%d,iface=%s" % (p, net.gw_if[p]) for p in (0, 1)] + \
            ["--", "-p", "0x3", "-u", "0x1", "-f", path, "--poll-sleep-us", "50"] + \
            seq_args(self.tmp, app_args) + list(app_args)
        os.sched_setaffinity(0, {c0})

    def start(self):
        self.fo = open(os.path.join(self.tmp, "stdout"), "w+")
        self.fe = open(os.path.join(self.tmp, "stderr"), "w+")
        self.proc = subprocess.Popen(self.argv, stdout=self.fo, stderr=self.fe,
                                     stdin=subprocess.DEVNULL)
        try:
            self.tel = Telemetry(self.prefix, timeout=30.0, proc=self.proc)
            self.sock_path = os.path.join(runtime_dir(self.prefix), "shardgate.sock")
            deadline = time.time() + 30
            while not os.path.exists(self.sock_path) and time.time() < deadline:
                time.sleep(0.02)
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(10)
            self.sock.connect(self.sock_path)
        except BaseException:
            # the caller has no object to close yet: nothing may outlive this
            self.close()
            raise
        self.buf = b""
        return self

    # The control socket, straight (snapshots) or through shardgatectl.
    def req(self, line):
        self.sock.sendall(line.encode() + b"\n")
        while b"\n" not in self.buf:
            got = self.sock.recv(1 << 20)
            if not got:
                raise RuntimeError("control socket closed")
            self.buf += got
        out, self.buf = self.buf.split(b"\n", 1)
        return json.loads(out)

    def ctl(self, line):
        """shardgatectl -s SOCKET LINE: (exit status, reply dict)."""
        cp = subprocess.run([self.ctl_exe, "-s", self.sock_path, line], capture_output=True,
                            text=True, timeout=30, stdin=subprocess.DEVNULL)
        try:
            reply = json.loads(cp.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            reply = {"unparsed": cp.stdout + cp.stderr}
        return cp.returncode, reply

    def stats(self):
        return self.tel.cmd("/shardgate/stats") or {}

    def sa_tel(self, direction, spi):
        d = self.tel.cmd("/shardgate/sa,spi=%d" % spi)
        return (d or {}).get("%s_%d" % (direction, spi)) if isinstance(d, dict) else None

    def list_sa(self):
        out, page = [], 0
        while True:
            d = self.req("list sa %d" % page)
            out += d.get("sa", [])
            page += 1
            if not d.get("sa") or len(out) >= d.get("total", 0):
                return out

    def sa(self, direction, spi):
        return next((e for e in self.list_sa() if e["dir"] == direction and e["spi"] == spi),
                    None)

    def snapshot(self):
        """Everything a failed request must leave as it was."""
        tel_sa, page = {}, 0
        while True:
            d = self.tel.cmd("/shardgate/sa,%d" % page) or {}
            tel_sa.update({k: v for k, v in d.items() if isinstance(v, dict)})
            page += 1
            if page >= int(d.get("pages", 1)):
                break
        return {"list sa": self.list_sa(), "list sp": self.req("list sp"),
                "list sessions": self.req("list sessions"), "stats": self.stats(),
                "sa": tel_sa}

    def stop(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        if self.tel is not None:
            self.tel.close()
            self.tel = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.rc = self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.rc = "hung after SIGTERM"
        elif self.proc is not None:
            self.rc = self.proc.returncode

    def close(self):
        try:
            self.stop()
        finally:
            if self.proc is not None and self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
                self.rc = "killed"
            if getattr(self, "fo", None) is not None:
                self.fo.seek(0)
                self.fe.seek(0)
                self.stdout, self.stderr = self.fo.read(), self.fe.read()
                self.fo.close()
                self.fe.close()
                self.fo = None
            shutil.rmtree(runtime_dir(self.prefix), ignore_errors=True)
            shutil.rmtree(self.tmp, ignore_errors=True)


# ---------------------------------------------------------------------------
# Scapy on our ends: sendp on one socket, AsyncSniffer on another.
# ---------------------------------------------------------------------------
class Wire:
    def __init__(self, net):
        self.tx, self.rx, self.sniff = {}, {}, {}
        self.cap = {0: [], 1: []}  # frames the gateway sent, (time, bytes)
        self.lock = threading.Lock()
        for p in (0, 1):
            self.tx[p] = scapy_conf.L2socket(iface=net.peer_if[p])
            # An L2Socket (not L2ListenSocket) skips what we send ourselves;
            # Raw skips dissection; a large buffer survives a busy Python.
            rx = scapy_conf.L2socket(iface=net.peer_if[p])
            rx.ins.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 64 << 20)
            rx.LL = scapy_conf.raw_layer
            self.rx[p] = rx
        for p in (0, 1):
            src = mac(GW_MAC[p])
            self.sniff[p] = AsyncSniffer(opened_socket=self.rx[p], store=False,
                                         prn=self._keeper(p, src))
            self.sniff[p].start()
        time.sleep(0.2)

    def _keeper(self, p, src):
        def keep(pkt):
            b = bytes(pkt)
            if b[6:12] == src:
                with self.lock:
                    self.cap[p].append((time.time(), b))
        return keep

    def send(self, port, frames):
        sendp([Raw(f) for f in frames], socket=self.tx[port], verbose=False)

    def frames(self, port):
        with self.lock:
            return list(self.cap[port])

    def close(self):
        for s in self.sniff.values():
            try:
                s.stop()
            except Exception:  # noqa: BLE001
                pass
        for s in list(self.tx.values()) + list(self.rx.values()):
            s.close()


class Traffic(threading.Thread):
    """Continuous traffic in both directions at RATE packets per second each:
    ESP from the peer on the current inbound SA (switchable), plaintext from
    the site to 10.1.0.0/24. Records everything it sent."""

    def __init__(self, wire, in_spi, in_key):
        super().__init__(daemon=True)
        self.wire = wire
        self.lock = threading.Lock()
        self.in_sa = [in_spi, in_key, 0]
        self.sent_in = []   # (spi, seq, inner, time)
        self.sent_out = []  # plaintext
        self.halt = threading.Event()
        self.error = None

    def switch_in(self, spi, key):
        with self.lock:
            self.in_sa = [spi, key, 0]

    def run(self):
        try:
            t0 = time.time()
            n = 0
            while not self.halt.is_set():
                due = int((time.time() - t0) * RATE)
                esp, pt = [], []
                while n < due:
                    inner = tagged(b"I", n, "10.1.0.9", "10.2.0.%d" % (10 + n % 200), n % 97)
                    with self.lock:
                        self.in_sa[2] += 1
                        spi, key, seq = self.in_sa
                    esp.append(eth(UNPROT, esp_fast(spi, key, seq, inner)))
                    self.sent_in.append((spi, seq, inner, time.time()))
                    p = tagged(b"O", n, "10.2.0.9", "10.1.0.%d" % (10 + n % 200), n % 89)
                    pt.append(eth(PROT, p))
                    self.sent_out.append(p)
                    n += 1
                if esp:
                    self.wire.send(UNPROT, esp)
                    self.wire.send(PROT, pt)
                time.sleep(0.004)
        except Exception as e:  # noqa: BLE001
            self.error = repr(e)

    def stop(self):
        self.halt.set()
        self.join(10)


# ---------------------------------------------------------------------------
# Judging what came out.
# ---------------------------------------------------------------------------
def out_sas():
    return {spi: SecurityAssociation(ESP, spi=spi, crypt_algo="AES-GCM", crypt_key=k,
                                     tunnel_header=IP(src=GW, dst=PEER))
            for spi, k in ((8192, K_OUT), (9192, K_OUT_NEW), (7000, K_7000))}


def decrypt_all(frames, sas):
    """ESP the gateway sent: [(time, spi, seq, plaintext or None, why)]."""
    out = []
    for t, f in frames:
        ip = f[14:]
        if len(ip) < 36 or ip[9] != 50:
            out.append((t, None, None, None, "not ESP"))
            continue
        spi, seq = struct.unpack("!II", ip[20:28])
        sa = sas.get(spi)
        if sa is None:
            out.append((t, spi, seq, None, "unknown SPI"))
            continue
        try:
            out.append((t, spi, seq, bytes(sa.decrypt(IP(ip))), ""))
        except IPSecIntegrityError as e:
            out.append((t, spi, seq, None, "ICV: %s" % e))
    return out


def flow_frames(wire, port, flow):
    return [(t, f[14:]) for t, f in wire.frames(port) if (tag_of(f[14:]) or (None,))[0] == flow]


def wait_until(cond, timeout=5.0, step=0.02):
    deadline = time.time() + timeout
    while True:
        v = cond()
        if v or time.time() >= deadline:
            return v
        time.sleep(step)


def settle(gw, timeout=5.0):
    """Until the worker has received and finished every frame sent so far."""
    last = [None]

    def idle():
        st = gw.stats()
        same = st.get("rx") == (last[0] or {}).get("rx")
        last[0] = st
        return same and st.get("rx", 0) == st.get("tx", 0) + st.get("drops", 0)
    time.sleep(0.1)
    return wait_until(idle, timeout, 0.1)


# ---------------------------------------------------------------------------
# The cases.
# ---------------------------------------------------------------------------
def check_builder(s):
    """Our ESP builder is Scapy's ESP, byte for byte."""
    bad = []
    for seq, size in ((1, 0), (2, 1), (3, 2), (77, 3), (1000, 96)):
        inner = tagged(b"T", seq, "10.1.0.9", "10.2.0.10", size)
        for spi, key in ((4096, K_IN), (6000, K_6000)):
            if esp_fast(spi, key, seq, inner) != scapy_esp(spi, key, seq, inner):
                bad.append((spi, seq, size))
    s.eq("the background ESP builder matches Scapy byte for byte", bad, [])
    p = tagged(b"T", 5, "10.2.0.9", "10.1.0.10", 20)
    s.check("the plaintext builder's IPv4 header checksum is right (Scapy)",
            ip_cksum_ok(p[:20]) and IP(p).len == len(p), p[:20].hex())


def case_add_live(s, gw, wire, sas):
    s.section("add an SA and a policy live, then traffic on them")
    reqs = [
        "add sa in 6000 aead_algo aes-256-gcm aead_key %s mode ipv4-tunnel src %s dst %s"
        % (hexkey(K_6000), PEER, GW),
        "add sp ipv4 in esp protect 6000 pri 20 dst 10.2.6.0/24 " + FULL,
        "add sa out 7000 aead_algo aes-128-gcm aead_key %s mode ipv4-tunnel src %s dst %s"
        % (hexkey(K_7000), GW, PEER),
        "add sp ipv4 out esp protect 7000 pri 20 dst 10.1.7.0/24 " + FULL,
    ]
    for line in reqs:
        rc, rep = gw.ctl(line)
        s.check("shardgatectl %s: ok" % " ".join(line.split()[:4]), rc == 0 and rep.get("ok"),
                "status %s reply %s" % (rc, rep))
    s.check("list sa shows in 6000 and out 7000",
            gw.sa("in", 6000) is not None and gw.sa("out", 7000) is not None)
    sp = gw.req("list sp").get("sp", [])
    s.check("list sp shows both new policies",
            any(e["spi"] == 6000 and e["dir"] == "in" for e in sp) and
            any(e["spi"] == 7000 and e["dir"] == "out" for e in sp), "%r" % sp)

    n = 60
    inner = [tagged(b"a", i, "10.1.6.9", "10.2.6.%d" % (10 + i), i) for i in range(n)]
    plain = [tagged(b"b", i, "10.2.0.9", "10.1.7.%d" % (10 + i), i) for i in range(n)]
    # Scapy's own ESP for this SA: the case that needs no fast path.
    wire.send(UNPROT, [eth(UNPROT, scapy_esp(6000, K_6000, i + 1, p)) for i, p in
                       enumerate(inner)])
    wire.send(PROT, [eth(PROT, p) for p in plain])
    got_a = wait_until(lambda: len(flow_frames(wire, PROT, b"a")) >= n and
                       len([1 for _, f in wire.frames(UNPROT)
                            if f[34:38] == struct.pack("!I", 7000)]) >= n, 5.0)
    dec = [ip for _, ip in flow_frames(wire, PROT, b"a")]
    s.eq("SA in 6000: Scapy's ESP decrypted by the gateway, every packet byte for byte",
         sorted(dec), sorted(inner))
    esp = decrypt_all([(t, f) for t, f in wire.frames(UNPROT)
                       if f[34:38] == struct.pack("!I", 7000)], sas)
    s.eq("SA out 7000: Scapy decrypts every packet to its plaintext",
         sorted(e[3] or b"" for e in esp), sorted(plain))
    s.eq("SA out 7000: sequence numbers 1..%d" % n, [e[2] for e in esp], list(range(1, n + 1)))
    s.check("traffic on the new SAs arrived within 5 s", got_a)
    time.sleep(0.2)
    si, so = gw.sa("in", 6000) or {}, gw.sa("out", 7000) or {}
    s.eq("list sa: in 6000 packets", si.get("packets"), n)
    s.eq("list sa: out 7000 packets / seq", (so.get("packets"), so.get("seq")), (n, n))


def case_delete_live(s, gw, wire):
    s.section("delete the policy, then the SA: traffic dropped and counted")
    n = 30

    def probe(flow, port, frames, reason):
        before = gw.stats()
        wire.send(port, frames)
        want = before.get("drop_" + reason, 0) + n
        wait_until(lambda: gw.stats().get("drop_" + reason, 0) >= want, 5.0)
        time.sleep(0.3)  # background traffic runs on: give an excess time to show
        after = gw.stats()
        return after.get("drop_" + reason, 0) - before.get("drop_" + reason, 0)

    rc, rep = gw.ctl("del sp ipv4 out esp protect 7000 pri 20 dst 10.1.7.0/24 " + FULL)
    s.check("del sp out (protect 7000): ok", rc == 0 and rep.get("ok"), "%s %s" % (rc, rep))
    got = probe(b"c", PROT, [eth(PROT, tagged(b"c", i, "10.2.0.9", "10.1.7.50", 8))
                             for i in range(n)], "no_policy")
    s.eq("plaintext for the deleted policy: drop_no_policy += %d" % n, got, n)
    rc, rep = gw.ctl("del sa out 7000")
    s.check("del sa out 7000 (no policy uses it now): ok", rc == 0 and rep.get("ok"),
            "%s %s" % (rc, rep))
    s.check("list sa: out 7000 gone", gw.sa("out", 7000) is None)

    rc, rep = gw.ctl("del sp ipv4 in esp protect 6000 pri 20 dst 10.2.6.0/24 " + FULL)
    s.check("del sp in (protect 6000): ok", rc == 0 and rep.get("ok"), "%s %s" % (rc, rep))
    got = probe(b"d", UNPROT, [eth(UNPROT, esp_fast(6000, K_6000, 100 + i,
                                                    tagged(b"d", i, "10.1.6.9", "10.2.6.50", 8)))
                               for i in range(n)], "policy")
    s.eq("ESP on SA 6000 without its policy: drop_policy += %d (decrypted, refused)" % n, got, n)
    rc, rep = gw.ctl("del sa in 6000")
    s.check("del sa in 6000: ok", rc == 0 and rep.get("ok"), "%s %s" % (rc, rep))
    s.check("list sa and telemetry: in 6000 gone",
            gw.sa("in", 6000) is None and gw.sa_tel("in", 6000) is None)
    got = probe(b"e", UNPROT, [eth(UNPROT, esp_fast(6000, K_6000, 200 + i,
                                                    tagged(b"e", i, "10.1.6.9", "10.2.6.50", 8)))
                               for i in range(n)], "unknown_spi")
    s.eq("ESP on the deleted SA 6000: drop_unknown_spi += %d" % n, got, n)
    leaked = [f for fl in (b"c", b"d", b"e") for f in flow_frames(wire, PROT, fl)] + \
        [1 for _, f in wire.frames(UNPROT) if f[34:38] == struct.pack("!I", 7000) and
         struct.unpack("!I", f[38:42])[0] > 60]
    s.eq("nothing of the dropped traffic came out", len(leaked), 0)


def case_rekey(s, gw, wire, traffic, sas):
    s.section("make-before-break rekey under continuous traffic, both directions")
    pid = gw.proc.pid
    needles = {"old inbound key (AES key bytes)": K_IN[:16],
               "old outbound key (AES key bytes)": K_OUT[:32],
               "old inbound key (hex text)": hexkey(K_IN).encode(),
               "old outbound key (hex text)": hexkey(K_OUT).encode()}
    before = scan_memory(pid, list(needles.values()))
    s.check("memory scan works: the live keys' schedules are found before the rekey",
            before[K_IN[:16]] and before[K_OUT[:32]],
            "in %r out %r" % (before[K_IN[:16]][:3], before[K_OUT[:32]][:3]))

    time.sleep(1.0)
    t_in = time.time()
    rc, rep = gw.ctl("rekey in 4096 5096 aead_algo aes-128-gcm aead_key %s grace_ms %d" %
                     (hexkey(K_IN_NEW), GRACE_MS))
    t_ack = time.time()
    s.check("rekey in 4096 -> 5096: ok", rc == 0 and rep.get("ok"), "%s %s" % (rc, rep))
    s.check("both inbound SAs are there during the grace period",
            gw.sa("in", 4096) is not None and gw.sa("in", 5096) is not None)
    # The peer keeps the old SA a little longer (it may not have heard yet),
    # then moves to the new one: both must pass.
    time.sleep(0.3)
    traffic.switch_in(5096, K_IN_NEW)
    time.sleep(0.7)
    s.check("1 s into the grace period, the old inbound SA is still there",
            gw.sa("in", 4096) is not None)
    rc, rep = gw.ctl("rekey out 8192 9192 aead_algo aes-256-gcm aead_key %s" %
                     hexkey(K_OUT_NEW))
    t_out = time.time()
    s.check("rekey out 8192 -> 9192: ok", rc == 0 and rep.get("ok"), "%s %s" % (rc, rep))
    # Traffic goes on while the control core removes the old inbound SA.
    gone = wait_until(lambda: gw.sa("in", 4096) is None, GRACE_MS / 1000 + 3, 0.05)
    t_gone = time.time() - t_in
    s.check("after grace_ms the old inbound SA 4096 is gone from list sa (%.2f s after "
            "'rekey in', grace %.1f s)" % (t_gone, GRACE_MS / 1000),
            gone and GRACE_MS / 1000 <= t_gone <= GRACE_MS / 1000 + 1.0)
    time.sleep(0.5)
    traffic.stop()
    s.check("traffic generator ran without error", traffic.error is None, traffic.error)
    n_in, n_out = len(traffic.sent_in), len(traffic.sent_out)
    wait_until(lambda: len(flow_frames(wire, PROT, b"I")) >= n_in and
               len([1 for _, f in wire.frames(UNPROT)
                    if f[34:38] in (struct.pack("!I", 8192), struct.pack("!I", 9192))]) >= n_out,
               5.0)
    settle(gw)

    # Inbound: every packet the peer sent, on either SPI, decrypted exactly once.
    got = {}
    for _, ip in flow_frames(wire, PROT, b"I"):
        got[ip] = got.get(ip, 0) + 1
    sent = {inner: (spi, seq) for spi, seq, inner, _ in traffic.sent_in}
    lost = [sent[i] for i in sent if i not in got]
    s.eq("inbound: zero loss (%d packets, %d on the old SPI, %d on the new)" %
         (n_in, sum(1 for e in traffic.sent_in if e[0] == 4096),
          sum(1 for e in traffic.sent_in if e[0] == 5096)), lost[:10], [])
    s.eq("inbound: no packet twice", [k for k, v in got.items() if v > 1][:5], [])
    s.eq("inbound: nothing that was not sent (byte-exact inner packets)",
         [k[:40].hex() for k in got if k not in sent][:5], [])
    s.check("inbound: traffic did flow on both SPIs",
            any(e[0] == 4096 for e in traffic.sent_in) and
            any(e[0] == 5096 for e in traffic.sent_in))
    late = [inner for spi, _, inner, t in traffic.sent_in if spi == 4096 and t > t_ack]
    s.check("inbound: the %d packets sent on the old SPI after 'rekey in' answered were all "
            "decrypted" % len(late), late and all(i in got for i in late))

    # Outbound: every plaintext encrypted once, on the old SPI and then the new.
    esp = decrypt_all([(t, f) for t, f in wire.frames(UNPROT)
                       if f[34:38] in (struct.pack("!I", 8192), struct.pack("!I", 9192))], sas)
    s.eq("outbound: every ESP packet decrypts (Scapy)",
         [(e[1], e[2], e[4]) for e in esp if e[3] is None][:5], [])
    pts = {}
    for e in esp:
        if e[3] is not None:
            pts[e[3]] = pts.get(e[3], 0) + 1
    s.eq("outbound: zero loss (%d plaintexts)" % n_out,
         len([p for p in traffic.sent_out if p not in pts]), 0)
    s.eq("outbound: no plaintext twice", [k for k, v in pts.items() if v > 1][:5], [])
    old = [e[2] for e in esp if e[1] == 8192]
    new = [e[2] for e in esp if e[1] == 9192]
    s.eq("outbound: old SPI 8192 sequence numbers 1..%d in order" % len(old), old,
         list(range(1, len(old) + 1)))
    s.eq("outbound: new SPI 9192 sequence numbers 1..%d in order" % len(new), new,
         list(range(1, len(new) + 1)))
    s.check("outbound: traffic did flow on both SPIs", old and new, "old %d new %d" %
            (len(old), len(new)))
    order = [e[1] for e in esp]
    first_new = order.index(9192) if 9192 in order else len(order)
    s.check("outbound: one clean switch (no old SPI after the first new one)",
            8192 not in order[first_new:], "old SPI packets after the switch: %d" %
            order[first_new:].count(8192))
    late_old = [t for t, spi, _, _, _ in esp if spi == 8192 and t > t_out + 0.5]
    s.eq("outbound: no old-SPI packet 0.5 s after 'rekey out' answered", len(late_old), 0)

    s.check("telemetry: in 4096 gone, in 5096 and out 9192 there, out 8192 gone",
            gw.sa_tel("in", 4096) is None and gw.sa_tel("in", 5096) is not None and
            gw.sa_tel("out", 9192) is not None and gw.sa_tel("out", 8192) is None)
    sp = gw.req("list sp").get("sp", [])
    s.check("list sp: the policies now name 5096 and 9192",
            {(e["dir"], e["spi"]) for e in sp if e["action"] == "protect"} >=
            {("in", 5096), ("out", 9192)} and
            not {(e["dir"], e["spi"]) for e in sp} & {("in", 4096), ("out", 8192)}, "%r" % sp)

    # Counters.
    st = gw.stats()
    si, so = gw.sa("in", 5096) or {}, gw.sa("out", 9192) or {}
    s.eq("list sa: in 5096 packets = packets sent on it",
         si.get("packets"), sum(1 for e in traffic.sent_in if e[0] == 5096))
    s.eq("list sa: out 9192 packets / seq = ESP sent on it", (so.get("packets"), so.get("seq")),
         (len(new), len(new)))
    drops = {k: v for k, v in st.items() if k.startswith("drop_") and v}
    s.eq("telemetry: no drops besides the 3 x 30 deliberate ones of the delete case",
         drops, {"drop_no_policy": 30, "drop_policy": 30, "drop_unknown_spi": 30})

    # Traffic on the old SPI, after the old SA is gone: unknown_spi.
    before_st = gw.stats()
    last = max([seq for spi, seq, _, _ in traffic.sent_in if spi == 4096] or [0])
    probes = [eth(UNPROT, esp_fast(4096, K_IN, last + 1 + i,
                                   tagged(b"p", i, "10.1.0.9", "10.2.0.10", 16)))
              for i in range(20)]
    wire.send(UNPROT, probes)
    wait_until(lambda: gw.stats().get("drop_unknown_spi", 0) >=
               before_st.get("drop_unknown_spi", 0) + 20, 5.0)
    settle(gw)
    after_st = gw.stats()
    s.eq("ESP on the old SPI after grace_ms: drop_unknown_spi += 20",
         after_st.get("drop_unknown_spi", 0) - before_st.get("drop_unknown_spi", 0), 20)
    s.eq("ESP on the old SPI: nothing decrypted", len(flow_frames(wire, PROT, b"p")), 0)

    # The old keys: nowhere in the gateway's memory now.
    after = scan_memory(pid, list(needles.values()))
    for label, nd in needles.items():
        s.eq("old keys wiped: %s found nowhere in the gateway's memory" % label,
             after[nd][:5], [])
    newk = scan_memory(pid, [K_IN_NEW[:16], K_OUT_NEW[:32]])
    s.check("the new keys' schedules are found (the scan still sees the SAs)",
            newk[K_IN_NEW[:16]] and newk[K_OUT_NEW[:32]])
    return n_in, n_out


def live_body(s, exe, ctl):
    net = Netns()
    gw = wire = traffic = None
    try:
        gw = Gateway(exe, ctl, net, rules()).start()
        s.runs += 1
        wire = Wire(net)
        sas = out_sas()
        traffic = Traffic(wire, 4096, K_IN)
        traffic.start()
        case_add_live(s, gw, wire, sas)
        case_delete_live(s, gw, wire)
        n_in, n_out = case_rekey(s, gw, wire, traffic, sas)
        st = gw.stats()
        # sg_dp.h: "ESP packets decrypted and forwarded" (the 30 refused by
        # inbound policy in the delete case were decrypted, not forwarded).
        s.eq("telemetry: inbound = ESP decrypted and forwarded over the whole run",
             st.get("inbound"), n_in + 60)
        s.eq("telemetry: outbound", st.get("outbound"), n_out + 60)
    finally:
        if traffic is not None and traffic.is_alive():
            traffic.stop()
        if wire is not None:
            wire.close()
        if gw is not None:
            gw.close()
        net.close()
    s.eq("live run: exit status after SIGTERM", gw.rc, 0)
    pools = re.findall(r"mbuf pool (\S+): (\d+) in use at exit", gw.stdout)
    s.check("live run: every mbuf back in its pool at exit",
            pools and all(k == "0" for _, k in pools), "pools %r; stderr tail %r" %
            (pools, gw.stderr[-400:]))


# ---------------------------------------------------------------------------
# Bad requests: a clear error and nothing changed.
# ---------------------------------------------------------------------------
def bad_rules():
    return rules(f"""
sa in 4097 aead_algo aes-128-gcm aead_key {hexkey(K_SPARE)} mode ipv4-tunnel src {PEER} dst {GW}
sa out 8193 aead_algo aes-128-gcm aead_key {hexkey(K_SPARE)} mode ipv4-tunnel src {GW} dst {PEER}
sp ipv4 in esp protect 4097 pri 10 dst 10.2.1.0/24 {FULL}
sp ipv4 out esp protect 8193 pri 10 dst 10.1.1.0/24 {FULL}
""")


def sa_line(direction, spi, key=K_SPARE, algo="aes-128-gcm", peer=PEER):
    src, dst = (peer, GW) if direction == "in" else (GW, peer)
    return "add sa %s %d aead_algo %s aead_key %s mode ipv4-tunnel src %s dst %s" % (
        direction, spi, algo, hexkey(key), src, dst)


BAD = [
    ("duplicate inbound SPI", sa_line("in", 4096)),
    ("duplicate outbound SPI", sa_line("out", 8192)),
    ("policy naming an unknown SA (out)",
     "add sp ipv4 out esp protect 7777 pri 5 dst 10.7.0.0/24 " + FULL),
    ("policy naming an unknown SA (in)",
     "add sp ipv4 in esp protect 7778 pri 5 dst 10.2.7.0/24 " + FULL),
    ("policy naming an outbound SA inbound",
     "add sp ipv4 in esp protect 8192 pri 5 dst 10.2.7.0/24 " + FULL),
    ("the same policy again", "add sp ipv4 out esp protect 8192 pri 10 dst 10.1.0.0/24 " + FULL),
    ("malformed: add sa without fields", "add sa in"),
    ("malformed: unknown algorithm",
     "add sa in 4200 aead_algo rot13 aead_key 00:11 mode ipv4-tunnel src %s dst %s" % (PEER, GW)),
    ("malformed: short key", "add sa in 4201 aead_algo aes-128-gcm aead_key 01:02:03 mode "
     "ipv4-tunnel src %s dst %s" % (PEER, GW)),
    ("malformed: SPI 0", sa_line("in", 0)),
    ("malformed: bad address", sa_line("in", 4202).replace(PEER, "172.16.0.300")),
    ("malformed: policy direction", "add sp ipv4 sideways esp bypass pri 1"),
    ("malformed: add alone", "add"),
    ("malformed: two rules on one line", sa_line("in", 4203) + " " + sa_line("in", 4204)),
    ("malformed: del sa with a word for SPI", "del sa in fortytwo"),
    ("malformed: del sa sideways", "del sa sideways 4096"),
    ("malformed: list sa with a word for page", "list sa one"),
    ("malformed: rekey without a key", "rekey in 4096 5096"),
    ("malformed: empty line", ""),
    ("del of an SA a policy uses (in)", "del sa in 4096"),
    ("del of an SA a policy uses (out)", "del sa out 8192"),
    ("del of an unknown SA", "del sa in 31337"),
    ("del of an unknown policy", "del sp ipv4 out esp bypass pri 99 dst 10.99.0.0/24 " + FULL),
    ("rekey of an unknown SA",
     "rekey in 31337 31338 aead_algo aes-128-gcm aead_key %s" % hexkey(K_SPARE)),
    ("rekey in onto the same SPI",
     "rekey in 4096 4096 aead_algo aes-128-gcm aead_key %s" % hexkey(K_SPARE)),
    ("rekey in onto an SPI in use",
     "rekey in 4096 4097 aead_algo aes-128-gcm aead_key %s" % hexkey(K_SPARE)),
    ("rekey out onto an SPI in use",
     "rekey out 8192 8193 aead_algo aes-256-gcm aead_key %s" % hexkey(K_OUT_NEW)),
    ("rekey with a bad key", "rekey in 4096 5000 aead_algo aes-128-gcm aead_key 00:11"),
    ("rekey out with grace_ms (inbound only)",
     "rekey out 8192 9000 aead_algo aes-256-gcm aead_key %s grace_ms 5" % hexkey(K_OUT_NEW)),
    ("rt line (not live)", "add rt ipv4 dst 10.5.0.0/16 port 1"),
    ("neigh line (not live)", "add neigh port 0 02:00:00:00:00:99"),
    ("unknown command", "frobnicate all the things"),
    ("unknown command (case)", "LIST sa"),
]


def diff(a, b):
    keys = sorted(set(a) | set(b))
    return {k: (a.get(k), b.get(k)) for k in keys if a.get(k) != b.get(k)}


def bad_body(s, exe, ctl):
    net = Netns()
    gw = wire = None
    try:
        gw = Gateway(exe, ctl, net, bad_rules(), app_args=("--max-sa", "8")).start()
        s.runs += 1
        wire = Wire(net)
        s.section("bad requests: a clear error, nothing changed (--max-sa 8)")
        for label, line in BAD:
            before = gw.snapshot()
            rc, rep = gw.ctl(line) if line else (1, gw.req(line))
            after = gw.snapshot()
            s.check("%s: ok:false with a reason" % label,
                    rep.get("ok") is False and isinstance(rep.get("error"), str) and
                    len(rep.get("error")) > 5 and rc == 1, "status %s reply %s" % (rc, rep))
            s.eq("%s: nothing changed" % label, diff(before, after), {})

        # A request longer than the control socket takes: refused, connection closed.
        before = gw.snapshot()
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.settimeout(5)
        c.connect(gw.sock_path)
        c.sendall(b"add sa in 4300 " + b"x" * 5000)
        reply = b""
        try:
            while not reply.endswith(b"\n"):
                got = c.recv(4096)
                if not got:
                    break
                reply += got
        except OSError:
            pass
        c.close()
        s.check("request too long: ok:false", b'"ok":false' in reply, "reply %r" % reply)
        s.eq("request too long: nothing changed", diff(before, gw.snapshot()), {})

        s.section("a full table: refused, nothing changed, not even the sessions")
        fillers = []
        for i in range(8):
            # Each its own key: two outbound SAs under one key repeat nonces.
            rc, rep = gw.ctl(sa_line("out", 8300 + i, key=key("filler %d" % i, 16)))
            if rep.get("ok"):
                fillers.append(8300 + i)
            else:
                break
        s.eq("the shard holds --max-sa 8 SAs (4 from the rules, 4 added)", len(fillers), 4)
        for label, line in (("full: outbound SA of a new peer",
                             sa_line("out", 8399, key=key("full 8399", 16), peer="172.16.0.77")),
                            ("full: inbound SA of a new peer", sa_line("in", 4399,
                                                                       peer="172.16.0.78")),
                            ("full: outbound SA of a known peer",
                             sa_line("out", 8398, key=key("full 8398", 16)))):
            before = gw.snapshot()
            rc, rep = gw.ctl(line)
            after = gw.snapshot()
            s.check("%s: ok:false, says full" % label,
                    rep.get("ok") is False and "full" in rep.get("error", ""),
                    "status %s reply %s" % (rc, rep))
            s.eq("%s: nothing changed" % label, diff(before, after), {})
        # The key and salt of a live outbound SA under another SPI: refused
        # for what it is (AES-GCM nonces would repeat), whatever the room.
        for label, line in (("outbound SA with a live SA's key", sa_line("out", 8397,
                                                                         key=key("filler 0", 16))),
                            ("outbound SA with a live SA's key, new peer",
                             sa_line("out", 8396, key=key("filler 1", 16), peer="172.16.0.79"))):
            before = gw.snapshot()
            rc, rep = gw.ctl(line)
            s.check("%s: ok:false, says the nonces would repeat" % label,
                    rep.get("ok") is False and "same key" in rep.get("error", ""),
                    "status %s reply %s" % (rc, rep))
            s.eq("%s: nothing changed" % label, diff(before, gw.snapshot()), {})
        for spi in fillers:
            rc, rep = gw.ctl("del sa out %d" % spi)
            s.check("del sa out %d (filler): ok" % spi, rep.get("ok"), "%s" % rep)

        s.section("traffic still flows after the bad requests")
        n = 40
        inner = [tagged(b"f", i, "10.1.0.9", "10.2.0.%d" % (10 + i), i) for i in range(n)]
        plain = [tagged(b"g", i, "10.2.0.9", "10.1.0.%d" % (10 + i), i) for i in range(n)]
        wire.send(UNPROT, [eth(UNPROT, esp_fast(4096, K_IN, i + 1, p)) for i, p in
                           enumerate(inner)])
        wire.send(PROT, [eth(PROT, p) for p in plain])
        wait_until(lambda: len(flow_frames(wire, PROT, b"f")) >= n and
                   len(wire.frames(UNPROT)) >= n, 5.0)
        s.eq("inbound on SA 4096: every packet decrypted byte for byte",
             sorted(ip for _, ip in flow_frames(wire, PROT, b"f")), sorted(inner))
        esp = decrypt_all(wire.frames(UNPROT), out_sas())
        s.eq("outbound on SA 8192: Scapy decrypts every packet to its plaintext",
             sorted(e[3] or b"" for e in esp), sorted(plain))
        s.eq("outbound on SA 8192: sequence numbers 1..%d" % n, [e[2] for e in esp],
             list(range(1, n + 1)))
        settle(gw)
        st = gw.stats()
        s.eq("telemetry: no drops", st.get("drops"), 0)

        s.section("inbound SAs added and deleted again and again stay reachable")
        bad = []
        for i in range(16):
            spi = 4500 + i
            rc, rep = gw.ctl(sa_line("in", spi))
            if not rep.get("ok"):
                bad.append("cycle %d: add sa in %d: %s" % (i + 1, spi, rep))
                break
            found = gw.sa("in", spi) is not None
            rc, rep = gw.ctl("del sa in %d" % spi)
            if not found or not rep.get("ok"):
                bad.append("cycle %d: add sa in %d answered ok, listed %s, then del sa in %d: %s"
                           % (i + 1, spi, found, spi, rep))
                break
        s.eq("16 add/del cycles of inbound SAs with --max-sa 8", bad, [])
    finally:
        if wire is not None:
            wire.close()
        if gw is not None:
            gw.close()
        net.close()
    s.eq("bad-request run: exit status after SIGTERM", gw.rc, 0)


def body(s):
    exe = s.exe
    ctl = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else os.path.join(
        os.path.dirname(os.path.dirname(exe)), "shardgatectl", "shardgatectl")
    if os.getuid() != 0:
        s.check("runs as root (ip netns, veth, /proc/PID/mem)", False, "uid %d" % os.getuid())
        return
    s.section("test plumbing")
    check_builder(s)
    s.guard("live: add, delete, rekey under traffic", live_body, s, exe, ctl)
    s.guard("bad requests", bad_body, s, exe, ctl)


if __name__ == "__main__":
    suite_main("live", body)
