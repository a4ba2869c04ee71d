#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""
The slow path to the kernel (issue 10 item 1), on veth pairs, as root.

Two namespaces made here: sgslowNNN holds the gateway (net_af_packet on its
veth ends g0/g1, which the kernel there is kept off, as it would be off a
NIC DPDK owns) and the net_tap kernel interface shardgate makes for port 0;
sgslowNNNp holds the other ends: p0 is a Linux peer at 172.16.0.1 (its own
kernel answers and asks ARP, pings, speaks UDP), p1 the protected site
(raw AF_PACKET sockets). This process moves into sgslowNNNp; the Linux
kernels and Scapy's ESP are the independent implementations.

  [sgslowNNNp] p0 172.16.0.1 ====  g0 [shardgate port 0 | port 1] g1 ==== p1 (site)
      2001:db8:1::1, 2001:db8:2::1       |  tap sgslk0 172.16.0.2/24, 2001:db8:1::2/64,
                                         |  2001:db8:2::2/64 (kernel, sgslowNNN)

Port 0 has no neigh line: its next hop is learned from the kernel's ARP.
Cases, bad input next to good:
- ARP for 172.16.0.2 answered by the gateway's kernel with port 0's MAC; a
  malformed ARP next to it dropped as punt_bad;
- ping (ICMP) and ping -6 to the link-local address (ICMPv6, ND) answered,
  no duplicates; both IPv6 'addr' words on the tap and answering ping -6;
  the peer's IPv4 and IPv6 neighbours learned over netlink (list neigh);
- UDP 500 and UDP 4500 behind the non-ESP marker reach a socket in the
  gateway's namespace and its replies leave through port 0; a truncated
  UDP/500 next to them is punt_bad;
- ESP to 172.16.0.2 is decrypted and forwarded, never punted; traffic from
  the site is encrypted to the learned MAC of the peer (Scapy decrypts);
- TCP to the gateway reaches its kernel where an inbound bypass policy
  allows (port 22), and is dropped as not_for_us where none does (23);
- a UDP/500 and ARP flood with ESP mixed in: every ESP packet decrypted and
  forwarded, punt_rx <= rate * t + burst, the excess counted as punt_rate,
  punt_drop = punt_bad + punt_rate + punt_full + punt_tx_rate;
- a UDP flood from the gateway's kernel out of the tap: every frame the tap
  gave up is sent (punt_tx <= rate * t + burst) or counted as punt_tx_rate;
  ping still answered after it;
- active resolution: a peer that never ARPs (static entry for the gateway)
  gets the site's ESP once the gateway's kernel, asked by shardgate, has
  ARPed for it; the first packets are no_route; a next hop nobody answers
  for is asked for at most once a second (neigh_resolve);
- with a neigh line for port 0 the line wins over the learned MAC; with
  'via' the kernel's MAC for that next hop serves an off-link tunnel end;
- punt lines with errors (IPv6 ones too) exit 2 with file:line before any
  device is made; a punt request on the control socket is refused; every
  run exits 0 with every mbuf back.
"""

import ctypes
import json
import os
import re
import socket
import struct
import subprocess
import sys
import tempfile
import time

TAG = "%d" % (os.getpid() % 100000)
# Where several jobs share a machine: the DPDK file-prefix stem and the CPU
# the gateway (both lcores) and this process run on.
PREFIX = os.environ.get("SGSLOW_PREFIX", "sgslow")
CPU = int(os.environ.get("SGSLOW_CPU", "0"))
NS = "sgslow" + TAG
NS_PEER = NS + "p"
G_IF = ["sg%sg0" % TAG, "sg%sg1" % TAG]
P_IF = ["sg%sp0" % TAG, "sg%sp1" % TAG]
TAP = "sgslk0"
GW_MAC = ["02:00:00:00:01:00", "02:00:00:00:01:01"]
PEER_MAC = "02:00:00:00:00:10"
SITE_MAC = "02:00:00:00:00:11"
RATE, BURST = 200, 50
GW6 = ["2001:db8:1::2", "2001:db8:2::2"]   # the tap's IPv6 'addr' words
PEER6 = ["2001:db8:1::1", "2001:db8:2::1"]
SILENT = "172.16.0.99"  # an on-link tunnel end nobody answers ARP for
KEY_SILENT = bytes(range(0x70, 0x80)) + bytes.fromhex("e0e1e2e3")


def sh(*cmd, check=True):
    cp = subprocess.run(list(cmd), capture_output=True, text=True, timeout=30)
    if check and cp.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(cmd), cp.stderr.strip()))
    return cp


def make_net():
    sh("ip", "netns", "add", NS)
    sh("ip", "netns", "add", NS_PEER)
    for p in (0, 1):
        sh("ip", "-n", NS, "link", "add", G_IF[p], "address", GW_MAC[p], "type", "veth",
           "peer", "name", P_IF[p], "netns", NS_PEER)
        # Keep the gateway's kernel off the ports DPDK owns: no ARP answers,
        # no IPv6, and reverse-path filtering drops IP it would accept there.
        sh("ip", "netns", "exec", NS, "sysctl", "-q", "-w",
           "net.ipv4.conf.%s.arp_ignore=8" % G_IF[p], "net.ipv4.conf.%s.rp_filter=1" % G_IF[p],
           "net.ipv6.conf.%s.disable_ipv6=1" % G_IF[p])
        sh("ip", "-n", NS, "link", "set", G_IF[p], "up")
    sh("ip", "-n", NS_PEER, "link", "set", P_IF[0], "address", PEER_MAC, "up")
    sh("ip", "netns", "exec", NS_PEER, "sysctl", "-q", "-w",
       "net.ipv6.conf.%s.disable_ipv6=1" % P_IF[1])
    sh("ip", "-n", NS_PEER, "link", "set", P_IF[1], "address", SITE_MAC, "up")
    sh("ip", "-n", NS_PEER, "addr", "add", "172.16.0.1/24", "dev", P_IF[0])
    for a in PEER6:
        sh("ip", "-n", NS_PEER, "addr", "add", a + "/64", "dev", P_IF[0], "nodad")
    # A veth hands af_packet UDP/TCP with the checksum left to "the NIC"
    # (CHECKSUM_PARTIAL); no wire does that. Checksum in the peer's kernel.
    sh("ip", "netns", "exec", NS_PEER, "ethtool", "-K", P_IF[0], "tx", "off")


def drop_net():
    for ns in (NS, NS_PEER):
        sh("ip", "netns", "del", ns, check=False)


def enter(ns):
    """setns(2) into @ns (Python 3.11 has no os.setns)."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open("/run/netns/" + ns, os.O_RDONLY)
    try:
        if libc.setns(fd, 0x40000000) != 0:  # CLONE_NEWNET
            raise OSError(ctypes.get_errno(), "setns " + ns)
    finally:
        os.close(fd)


# The namespaces exist before Scapy is imported, so its interface list is
# this namespace's.
if os.getuid() != 0:
    print("FAIL   runs as root (namespaces, veth, net_tap)\nSGTEST slowpath: 0 passed, 1 failed")
    sys.exit(1)
drop_net()
make_net()
enter(NS_PEER)
os.sched_setaffinity(0, {CPU})

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sgtest import (suite_main, seq_args, Telemetry, runtime_dir, hexkey, IP, UDP, Raw, Ether, ARP,  # noqa
                    SecurityAssociation, ESP, AESGCM, KEY_IN_128, KEY_OUT_256, SPI_IN_128,
                    SPI_OUT_256, PEER, GW)

FULL = "sport 0:65535 dport 0:65535"


def rules(extra="", punt="punt port 0 addr 172.16.0.2/24 addr %s/64 addr %s/64 iface %s rate %d"
          " burst %d" % (GW6[0], GW6[1], TAP, RATE, BURST), out_dst=PEER):
    return f"""# slow path topology
sa in {SPI_IN_128} aead_algo aes-128-gcm aead_key {hexkey(KEY_IN_128)} mode ipv4-tunnel src {PEER} dst {GW}
sa out {SPI_OUT_256} aead_algo aes-256-gcm aead_key {hexkey(KEY_OUT_256)} mode ipv4-tunnel src {GW} dst {out_dst}
sp ipv4 in esp protect {SPI_IN_128} pri 10 dst 10.2.0.0/24 {FULL}
sp ipv4 out esp protect {SPI_OUT_256} pri 10 dst 10.1.0.0/24 {FULL}
rt ipv4 dst 10.2.0.0/24 port 1
rt ipv4 dst {out_dst}/32 port 0
neigh port 1 {SITE_MAC}
sp ipv4 in esp bypass pri 5 dst {GW}/32 sport 0:65535 dport 22:22
{punt}
{extra}"""


def mac(s):
    return bytes(int(x, 16) for x in s.split(":"))


class Wire:
    """A raw AF_PACKET socket on one of this namespace's veth ends."""

    def __init__(self, ifname):
        self.s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
        self.s.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE
        self.s.bind((ifname, 0))
        self.s.setblocking(False)

    def send(self, frames, chunk=0, gap=0.0):
        """Send @frames; with @chunk, pause @gap s after each @chunk of them
        (the gateway's af_packet ring and the veth backlog are finite)."""
        for i, f in enumerate(frames):
            if chunk and i and i % chunk == 0:
                time.sleep(gap)
            while True:
                try:
                    self.s.send(f)
                    break
                except BlockingIOError:
                    time.sleep(0.0005)

    def drain(self):
        return self.recv(0.0)

    def both(self, timeout):
        """(outgoing, frame) for every frame seen within @timeout s, both ways."""
        out, end = [], time.time() + timeout
        while True:
            try:
                data, addr = self.s.recvfrom(65536)
                out.append((addr[2] == socket.PACKET_OUTGOING, data))
                continue
            except BlockingIOError:
                pass
            if time.time() >= end:
                return out
            time.sleep(0.002)

    def recv(self, timeout, until=None):
        """Frames received (not sent) within @timeout s, or until until(frames)."""
        out, end = [], time.time() + timeout
        while True:
            try:
                data, addr = self.s.recvfrom(65536)
                if addr[2] != socket.PACKET_OUTGOING:
                    out.append(data)
                continue
            except BlockingIOError:
                pass
            if (until is not None and until(out)) or time.time() >= end:
                return out
            time.sleep(0.002)


_aead = {}


def esp_frame(seq, inner, spi=SPI_IN_128, key=KEY_IN_128):
    """ESP as the peer sends it (RFC 4303/4106, IV = seq), in a frame to port 0."""
    if key not in _aead:
        _aead[key] = AESGCM(key[:-4])
    iv = struct.pack("!Q", seq)
    pad = (-(len(inner) + 2)) % 4
    pt = inner + bytes(range(1, pad + 1)) + bytes([pad, 4])
    hdr = struct.pack("!II", spi, seq)
    ip = IP(src=PEER, dst=GW, proto=50, id=seq & 0xFFFF) / Raw(
        hdr + iv + _aead[key].encrypt(key[-4:] + iv, pt, hdr))
    return bytes(Ether(dst=GW_MAC[0], src=PEER_MAC) / ip)


def inner_pkt(n, size=60):
    return bytes(IP(src="10.1.0.5", dst="10.2.0.5", id=n) / UDP(sport=7000, dport=7001) /
                 Raw(b"SG" + struct.pack("!I", n) + bytes(size)))


def udp_frame(dport, payload, dst=GW, udp_len=None):
    u = UDP(sport=dport, dport=dport, len=udp_len) if udp_len else UDP(sport=dport, dport=dport)
    return bytes(Ether(dst=GW_MAC[0], src=PEER_MAC) / IP(src=PEER, dst=dst) / u / Raw(payload))


class Gateway:
    def __init__(self, exe, rules_text, n):
        self.prefix = "%s_%s_%d" % (PREFIX, TAG, n)
        self.tmp = tempfile.mkdtemp(prefix="sgslow_it_")
        self.path = os.path.join(self.tmp, "rules.cfg")
        with open(self.path, "w") as f:
            f.write(rules_text)
        self.argv = ["ip", "netns", "exec", NS, "taskset", "-c", str(CPU), exe, "--no-pci",
                     "--no-huge", "-m", "256", "--file-prefix=" + self.prefix,
                     "--lcores", "0@%d,1@%d" % (CPU, CPU)] + \
            ["--vdev=net_af_packet%d,iface=%s" % (p, G_IF[p]) for p in (0, 1)] + \
            ["--", "-p", "0x3", "-u", "0x1", "-f", self.path, "--poll-sleep-us", "50"] + \
            seq_args(self.tmp)
        self.proc = self.tel = None

    def start(self):
        self.out = open(os.path.join(self.tmp, "stdout"), "w+")
        self.proc = subprocess.Popen(self.argv, stdout=self.out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        try:
            self.tel = Telemetry(self.prefix, timeout=30.0, proc=self.proc)
        except Exception:
            self.stop()  # never leave a gateway behind
            raise
        # Up when the kernel interface carries its address.
        deadline = time.time() + 10
        while time.time() < deadline:
            cp = sh("ip", "-n", NS, "-4", "addr", "show", "dev", TAP, check=False)
            if "172.16.0.2/24" in cp.stdout:
                break
            time.sleep(0.05)
        return self

    def stats(self):
        return self.tel.cmd("/shardgate/stats") or {}

    def wait(self, cond, timeout=5.0):
        end = time.time() + timeout
        while True:
            st = self.stats()
            if cond(st) or time.time() > end:
                return st
            time.sleep(0.05)

    def ctl(self, line):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(os.path.join(runtime_dir(self.prefix), "shardgate.sock"))
        s.sendall(line.encode() + b"\n")
        buf = b""
        while b"\n" not in buf:
            buf += s.recv(65536)
        s.close()
        return json.loads(buf.split(b"\n", 1)[0])

    def stop(self):
        if self.tel is not None:
            self.tel.close()
            self.tel = None
        if self.proc is None:
            return None, ""
        self.proc.terminate()
        try:
            rc = self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait(5)
        self.proc = None
        self.out.seek(0)
        text = self.out.read()
        self.out.close()
        sh("rm", "-rf", runtime_dir(self.prefix), self.tmp, check=False)
        return rc, text


def check_exit(s, tag, gw):
    rc, text = gw.stop()
    s.eq("%s: exit status after SIGTERM" % tag, rc, 0)
    pools = re.findall(r"mbuf pool (\S+): (\d+) in use at exit", text)
    s.check("%s: every mbuf back in its pool at exit" % tag,
            len(pools) > 0 and all(n == "0" for _, n in pools), text[-600:])
    return text


def in_gw_ns(*cmd, **kw):
    return subprocess.Popen(["ip", "netns", "exec", NS] + list(cmd), **kw)


TCP_HELLO = r"""
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("172.16.0.2", int(sys.argv[1])))
s.listen(4)
print("ready", flush=True)
while True:
    c, a = s.accept()
    c.sendall(b"hello from the gateway's kernel")
    c.close()
"""

UDP_FLOOD = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
n = int(sys.argv[3])
for i in range(n):
    s.sendto(b"K" * 32, (sys.argv[1], int(sys.argv[2])))
print("sent", n)
"""

UDP_ECHO = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("172.16.0.2", int(sys.argv[1])))
print("ready", flush=True)
while True:
    d, a = s.recvfrom(65536)
    s.sendto(b"echo:" + d, a)
"""


def esp_after_ping(p0, p1):
    """Ping the gateway (so its kernel resolves the peer), then send one
    plaintext packet on port 1: the ESP frames that leave port 0."""
    subprocess.run(["ping", "-c", "1", "-W", "2", GW], capture_output=True, timeout=10)
    p0.drain()
    p1.send([bytes(Ether(dst=GW_MAC[1], src=SITE_MAC) /
                   IP(src="10.2.0.5", dst="10.1.0.5") / UDP(sport=1, dport=2) / Raw(b"x" * 20))])
    return [f for f in p0.recv(3.0, until=lambda fs: any(x[23] == 50 for x in fs if len(x) > 23))
            if len(f) > 23 and f[12:14] == b"\x08\x00" and f[23] == 50]


def body(s):
    p0, p1 = Wire(P_IF[0]), Wire(P_IF[1])
    s.runs += 4
    gw = Gateway(s.exe, rules(), 1).start()
    echo = []
    try:
        for port in (500, 4500):
            e = in_gw_ns("/usr/bin/python3", "-c", UDP_ECHO, str(port), stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
            echo.append(e)
            s.eq("UDP %d echo server in the gateway's namespace" % port,
                 e.stdout.readline().strip(), "ready")
        for port in (22, 23):
            e = in_gw_ns("/usr/bin/python3", "-c", TCP_HELLO, str(port), stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
            echo.append(e)
            s.eq("TCP %d server in the gateway's namespace" % port,
                 e.stdout.readline().strip(), "ready")
        cases(s, gw, p0, p1, echo)
    finally:
        for e in echo:
            e.kill()
            e.wait()
        text = check_exit(s, "gateway with a slow path", gw)
        s.check("log: port 0 learns its next hop from the kernel",
                "next hops are learned from the kernel" in text, text[-400:])

    # The neigh line wins over what the kernel learned.
    gw = Gateway(s.exe, rules(extra="neigh port 0 02:00:00:00:0e:0e"), 2).start()
    try:
        got = esp_after_ping(p0, p1)
        s.check("neigh line given: ESP goes to its MAC, not the learned one",
                len(got) == 1 and got[0][:6] == mac("02:00:00:00:0e:0e"),
                [g[:6].hex() for g in got])
    finally:
        check_exit(s, "gateway with a neigh line for port 0", gw)

    # via: the next hop of an off-link tunnel end is the kernel's MAC for it.
    gw = Gateway(s.exe, rules(punt="punt port 0 addr 172.16.0.2/24 iface %s via %s" %
                              (TAP, PEER), out_dst="198.51.100.1"), 3).start()
    try:
        got = esp_after_ping(p0, p1)
        s.check("via 172.16.0.1: ESP to 198.51.100.1 goes to the MAC the kernel has for 172.16.0.1",
                len(got) == 1 and got[0][:6] == mac(PEER_MAC) and
                got[0][30:34] == socket.inet_aton("198.51.100.1"), [g[:34].hex() for g in got])
    finally:
        check_exit(s, "gateway with via", gw)

    resolution(s, p1)
    config_errors(s)


def cases(s, gw, p0, p1, echo):
    st0 = gw.stats()

    s.section("ARP: the gateway's kernel answers for 172.16.0.2 with port 0's MAC")
    p0.drain()
    who = Ether(dst="ff:ff:ff:ff:ff:ff", src=PEER_MAC) / ARP(
        op=1, hwsrc=PEER_MAC, psrc=PEER, pdst=GW)
    bad_arp = bytearray(bytes(who))
    bad_arp[14 + 5] = 16  # protocol address length 16: malformed
    p0.send([bytes(bad_arp), bytes(who)])
    replies = [ARP(f[14:]) for f in p0.recv(3.0, until=lambda fs: any(
        x[12:14] == b"\x08\x06" for x in fs)) if f[12:14] == b"\x08\x06"]
    s.check("ARP reply for 172.16.0.2 is-at port 0's MAC",
            any(r.op == 2 and r.psrc == GW and r.hwsrc == GW_MAC[0] and r.pdst == PEER
                for r in replies), [r.summary() for r in replies])
    st = gw.wait(lambda d: d.get("drop_punt_bad", 0) > st0.get("drop_punt_bad", 0))
    s.eq("malformed ARP next to it: drop_punt_bad", st.get("drop_punt_bad", 0) -
         st0.get("drop_punt_bad", 0), 1)

    s.section("ICMP and ICMPv6 to the gateway's addresses")
    cp = subprocess.run(["ping", "-c", "3", "-i", "0.2", "-W", "2", GW], capture_output=True,
                        text=True, timeout=20)
    s.check("ping 172.16.0.2: 3 answered, no duplicates",
            " 3 received" in cp.stdout and "DUP" not in cp.stdout, cp.stdout[-300:])
    ll = "fe80::ff:fe00:100%" + P_IF[0]  # EUI-64 of port 0's MAC
    # Duplicate address detection first, on both sides (RFC 4862 §5.4).
    end = time.time() + 10
    while time.time() < end and any(
            "tentative" in sh(*cmd).stdout or "inet6" not in sh(*cmd).stdout for cmd in
            (("ip", "-6", "addr", "show", "dev", P_IF[0]),
             ("ip", "-n", NS, "-6", "addr", "show", "dev", TAP))):
        time.sleep(0.1)
    cp = subprocess.run(["ping", "-6", "-c", "2", "-i", "0.2", "-W", "2", ll],
                        capture_output=True, text=True, timeout=20)
    s.check("ping -6 the tap's link-local address (neighbour discovery punted too)",
            " 2 received" in cp.stdout and "DUP" not in cp.stdout, cp.stdout[-300:] + cp.stderr)
    ipv6_addrs(s, gw)
    # No more IPv6 from the peer: the counts below are exact.
    sh("sysctl", "-q", "-w", "net.ipv6.conf.%s.disable_ipv6=1" % P_IF[0])
    neigh = sh("ip", "-n", NS, "neigh", "show", "dev", TAP).stdout
    s.check("the gateway's kernel resolved the peer on the tap", PEER_MAC in neigh, neigh)

    s.section("IKE: UDP 500 and 4500 (non-ESP marker) reach the kernel, replies leave port 0")
    st1 = gw.stats()
    for port, payload in ((500, b"IKE_SA_INIT-500"), (4500, b"\x00\x00\x00\x00IKE-4500")):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind((PEER, port))
        u.settimeout(3)
        u.sendto(payload, (GW, port))
        try:
            d, a = u.recvfrom(65536)
        except socket.timeout:
            d, a = b"", None
        u.close()
        s.eq("UDP %d: the kernel's reply came back through port 0" % port, (d, a),
             (b"echo:" + payload, (GW, port)))
    p0.send([udp_frame(500, b"short", udp_len=200)])  # UDP length past the packet
    st = gw.wait(lambda d: d.get("drop_punt_bad", 0) > st1.get("drop_punt_bad", 0))
    s.eq("truncated UDP/500 next to them: drop_punt_bad", st.get("drop_punt_bad", 0) -
         st1.get("drop_punt_bad", 0), 1)
    s.check("punt_tx counts the kernel's frames sent on port 0",
            st.get("punt_tx", 0) - st1.get("punt_tx", 0) >= 2, st)

    s.section("other traffic to the gateway: to the kernel only where bypass policy says so")
    try:
        c = socket.create_connection((GW, 22), timeout=3)
        got = c.recv(100)
        c.close()
    except OSError as e:
        got = repr(e)
    s.eq("TCP 22 (inbound bypass to 172.16.0.2): the kernel's server answers", got,
         b"hello from the gateway's kernel")
    st1 = gw.stats()
    try:
        c = socket.create_connection((GW, 23), timeout=1.5)
        c.close()
        got = "connected"
    except OSError:
        got = "no answer"
    st = gw.stats()
    s.eq("TCP 23 (no policy): never reaches the kernel", got, "no answer")
    s.check("TCP 23: counted as not_for_us",
            st.get("drop_not_for_us", 0) - st1.get("drop_not_for_us", 0) >= 1, st)

    s.section("ESP to the gateway is the fast path's, never punted")
    st1 = gw.stats()
    n = 20
    p1.drain()
    p0.send([esp_frame(i + 1, inner_pkt(i)) for i in range(n)])
    fwd = [f for f in p1.recv(5.0, until=lambda fs: len(fs) >= n) if f[12:14] == b"\x08\x00"]
    st = gw.wait(lambda d: d.get("inbound", 0) - st1.get("inbound", 0) >= n)
    s.eq("ESP: all decrypted and forwarded to the site", (len(fwd),
         st.get("inbound", 0) - st1.get("inbound", 0)), (n, n))
    s.eq("ESP: none punted", st.get("punt_rx", 0) - st1.get("punt_rx", 0), 0)
    s.check("ESP: inner packets intact", all(f[14:] == inner_pkt(i) for i, f in enumerate(fwd)),
            "first %r" % (fwd[:1],))

    s.section("site to peer: encrypted to the MAC the kernel learned (no neigh line)")
    p0.drain()
    plain = IP(src="10.2.0.5", dst="10.1.0.5") / UDP(sport=1, dport=2) / Raw(b"to-the-peer" * 3)
    p1.send([bytes(Ether(dst=GW_MAC[1], src=SITE_MAC) / plain)])
    esp = [f for f in p0.recv(3.0, until=lambda fs: any(len(x) > 23 and x[23] == 50 for x in fs))
           if len(f) > 23 and f[12:14] == b"\x08\x00" and f[23] == 50]
    ok = False
    if len(esp) == 1 and esp[0][:6] == mac(PEER_MAC):
        sa = SecurityAssociation(ESP, spi=SPI_OUT_256, crypt_algo="AES-GCM",
                                 crypt_key=KEY_OUT_256, tunnel_header=IP(src=GW, dst=PEER))
        dec = sa.decrypt(IP(esp[0][14:]))
        ok = bytes(dec[Raw]) == bytes(plain[Raw])
    s.check("one ESP frame to the peer's MAC, Scapy decrypts it", ok,
            [e[:14].hex() for e in esp])
    st = gw.stats()
    s.eq("no_route drops", st.get("drop_no_route", 0), 0)

    s.section("flood: UDP/500 and ARP at line rate with ESP mixed in")
    # No echo now: the peer would answer the echoes with port unreachable,
    # frames the exact counts below do not expect.
    for e in echo:
        e.kill()
        e.wait()
    time.sleep(0.2)
    flood(s, gw, p0, p1)

    s.section("kernel flood: UDP from the gateway's kernel out of the tap, bounded by the rate")
    kernel_flood(s, gw)

    s.section("control socket: punt cannot change live")
    r = gw.ctl("add punt port 0 addr 172.16.0.9/24")
    s.check("add punt ...: refused", r.get("ok") is False, repr(r))


def ipv6_addrs(s, gw):
    """Both IPv6 addr words on the tap, answering; the peer's IPv6 and IPv4
    neighbours learned over netlink and shown by list neigh."""
    shown = sh("ip", "-n", NS, "-6", "addr", "show", "dev", TAP).stdout
    s.check("the tap carries both IPv6 addresses of the punt line",
            all("inet6 %s/64" % a in shown for a in GW6), shown)
    for a in GW6:
        cp = subprocess.run(["ping", "-6", "-c", "2", "-i", "0.2", "-W", "2", a],
                            capture_output=True, text=True, timeout=20)
        s.check("ping -6 %s (an addr word of the punt line): 2 answered" % a,
                " 2 received" in cp.stdout and "DUP" not in cp.stdout,
                cp.stdout[-300:] + cp.stderr)
    want = {("ipv6", PEER6[0], PEER_MAC, False), ("ipv6", PEER6[1], PEER_MAC, False),
            ("ipv4", PEER, PEER_MAC, True)}
    got, end = set(), time.time() + 5
    while time.time() < end:
        r = gw.ctl("list neigh")
        got = {(e.get("family"), e.get("addr"), e.get("mac"), e.get("routed"))
               for e in r.get("neigh", []) if e.get("port") == 0 and e.get("iface") == TAP}
        if want <= got:
            break
        time.sleep(0.1)
    kernel = sh("ip", "-n", NS, "neigh", "show", "dev", TAP).stdout
    print("#   list neigh: %s" % json.dumps(r.get("neigh")))
    s.check("list neigh: the peer's IPv6 addresses learned from the kernel (not routed:"
            " routing is IPv4 only), its IPv4 one routed", want <= got,
            "got %r; kernel: %s" % (sorted(got), kernel))
    s.check("list neigh: nothing the kernel does not have",
            all(a in kernel for _, a, _, _ in got), "got %r; kernel: %s" % (sorted(got), kernel))


def kernel_flood(s, gw):
    """What the gateway's kernel sends out of the tap is bounded by the same
    rate and burst; every frame the tap gave up is sent or counted."""
    n = 2000
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sink.bind((PEER, 9999))
    sink.setblocking(False)

    def tap_tx():
        return int(sh("ip", "netns", "exec", NS, "cat",
                      "/sys/class/net/%s/statistics/tx_packets" % TAP).stdout)

    keys = ("punt_tx", "punt_drop", "drop_punt_tx_rate", "drop_punt_full", "drop_punt_rate",
            "drop_punt_bad")
    time.sleep(BURST / RATE + 0.1)  # a full bucket
    st0, tx0 = gw.stats(), tap_tx()
    t0 = time.monotonic()
    cp = subprocess.run(["ip", "netns", "exec", NS, "/usr/bin/python3", "-c", UDP_FLOOD,
                         PEER, "9999", str(n)], capture_output=True, text=True, timeout=60)
    s.eq("kernel flood: %d datagrams sent from the gateway's namespace" % n,
         cp.stdout.strip(), "sent %d" % n)
    # Until the tap has nothing left and every frame it gave up is accounted for.
    d, tx, end = {}, 0, time.time() + 10
    while time.time() < end:
        tx = tap_tx() - tx0
        st = gw.stats()
        d = {k: st.get(k, 0) - st0.get(k, 0) for k in keys}
        if d["punt_tx"] + d["drop_punt_tx_rate"] + d["drop_punt_full"] == tx and \
                tap_tx() - tx0 == tx:
            break
        time.sleep(0.1)
    t = time.monotonic() - t0
    got = 0
    while True:
        try:
            sink.recv(2048)
            got += 1
        except BlockingIOError:
            break
    sink.close()
    print("#   kernel flood: tap gave up %d frames in %.3f s; deltas %s; peer got %d" %
          (tx, t, d, got))
    bound = RATE * t + BURST
    s.check("kernel flood: the tap gave up the flood (%d of %d)" % (tx, n), tx >= n // 2)
    s.eq("kernel flood: each frame from the tap sent or dropped as punt_tx_rate/punt_full",
         d["punt_tx"] + d["drop_punt_tx_rate"] + d["drop_punt_full"], tx)
    s.check("kernel flood: punt_tx %d <= rate * t + burst = %.0f" % (d["punt_tx"], bound),
            d["punt_tx"] <= bound, repr(d))
    s.check("kernel flood: the excess is counted (punt_tx_rate >= frames - bound)",
            d["drop_punt_tx_rate"] >= tx - bound and d["drop_punt_tx_rate"] > 0, repr(d))
    s.check("kernel flood: the peer got what was sent, no more (%d <= %d)" % (got, d["punt_tx"]),
            0 < got <= d["punt_tx"], repr(d))
    s.eq("kernel flood: punt_drop = punt_bad + punt_rate + punt_full + punt_tx_rate",
         d["punt_drop"], d["drop_punt_bad"] + d["drop_punt_rate"] + d["drop_punt_full"] +
         d["drop_punt_tx_rate"])
    time.sleep(BURST / RATE + 0.1)
    cp = subprocess.run(["ping", "-c", "2", "-i", "0.2", "-W", "2", GW], capture_output=True,
                        text=True, timeout=20)
    s.check("after the kernel flood: ping 172.16.0.2 answered again", " 2 received" in cp.stdout,
            cp.stdout[-300:])


def flood(s, gw, p0, p1):
    st0 = gw.stats()
    n_flood, n_esp = 3000, 300
    junk = [udp_frame(500, b"\x01" * 64), bytes(Ether(dst="ff:ff:ff:ff:ff:ff", src=PEER_MAC) /
                                              ARP(op=1, hwsrc=PEER_MAC, psrc=PEER, pdst=GW))]
    frames = []
    for i in range(n_flood):
        frames.append(junk[i & 1])  # IKE and ARP, half each
        if i % (n_flood // n_esp) == 0 and len(frames) < n_flood + n_esp:
            frames.append(esp_frame(1000 + i, inner_pkt(10000 + i)))
    n_esp = len(frames) - n_flood
    p1.drain()
    t0 = time.monotonic()
    p0.send(frames, chunk=40, gap=0.003)
    t_sent = time.monotonic()
    fwd = p1.recv(10.0, until=lambda fs: len(fs) >= n_esp)
    st = gw.wait(lambda d: d.get("rx", 0) - st0.get("rx", 0) >= n_flood + n_esp, timeout=5)
    t1 = time.monotonic()
    d = {k: st.get(k, 0) - st0.get(k, 0) for k in
         ("rx", "inbound", "punt_rx", "punt_drop", "drop_punt_rate", "drop_punt_full",
          "drop_punt_bad", "drop_punt_tx_rate")}
    print("#   sent %d frames in %.3f s; deltas %s" % (len(frames), t_sent - t0, d))
    s.eq("flood: every ESP frame decrypted and forwarded (counters, site)",
         (d["inbound"], len(fwd)), (n_esp, n_esp))
    s.eq("flood: every frame reached the gateway", d["rx"], n_flood + n_esp)
    bound = RATE * (t1 - t0) + BURST
    s.check("flood: punt_rx %d <= rate * t + burst = %.0f" % (d["punt_rx"], bound),
            d["punt_rx"] <= bound)
    s.eq("flood: each flood frame punted or dropped as punt_rate/punt_full",
         d["punt_rx"] + d["drop_punt_rate"] + d["drop_punt_full"], n_flood)
    s.check("flood: the excess is counted (punt_rate >= flood - bound)",
            d["drop_punt_rate"] >= n_flood - bound, repr(d))
    s.eq("flood: punt_drop = punt_bad + punt_rate + punt_full + punt_tx_rate", d["punt_drop"],
         d["drop_punt_bad"] + d["drop_punt_rate"] + d["drop_punt_full"] + d["drop_punt_tx_rate"])


def arp_of(f):
    return ARP(f[14:]) if len(f) >= 42 and f[12:14] == b"\x08\x06" else None


def resolution(s, p1):
    """A peer that never ARPs first (a static entry for the gateway) still
    gets traffic: shardgate asks its kernel to resolve the next hop."""
    s.section("active resolution: the gateway's kernel ARPs for a next hop nobody announced")
    sh("ip", "neigh", "flush", "dev", P_IF[0])
    sh("ip", "neigh", "replace", GW, "lladdr", GW_MAC[0], "dev", P_IF[0], "nud", "permanent")
    silent = f"""sa out 3003 aead_algo aes-128-gcm aead_key {hexkey(KEY_SILENT)} mode ipv4-tunnel src {GW} dst {SILENT}
sp ipv4 out esp protect 3003 pri 10 dst 10.3.0.0/24 {FULL}
rt ipv4 dst {SILENT}/32 port 0"""
    gw = Gateway(s.exe, rules(extra=silent), 4).start()
    w0 = Wire(P_IF[0])
    try:
        r = gw.ctl("list neigh")
        s.eq("fresh gateway: no neighbour learned yet", r.get("neigh"), [])
        st0 = gw.stats()
        seen, esp, sent = [], [], 0
        plain = IP(src="10.2.0.5", dst="10.1.0.5") / UDP(sport=1, dport=2) / Raw(b"resolve" * 4)
        end = time.time() + 5
        while time.time() < end and not esp:
            p1.send([bytes(Ether(dst=GW_MAC[1], src=SITE_MAC) / plain)])
            sent += 1
            seen += w0.both(0.05)
            esp = [f for o, f in seen if not o and len(f) > 23 and f[12:14] == b"\x08\x00" and
                   f[23] == 50]
        st = gw.wait(lambda d: d.get("tx", 0) + d.get("drop_no_route", 0) -
                     st0.get("tx", 0) - st0.get("drop_no_route", 0) >= sent)
        d = {k: st.get(k, 0) - st0.get(k, 0) for k in
             ("tx", "drop_no_route", "neigh_resolve", "neigh_resolve_fail")}
        print("#   resolution: %d sent; deltas %s" % (sent, d))
        asked = [a for o, f in seen if not o for a in [arp_of(f)] if a is not None and
                 a.op == 1 and a.psrc == GW and a.pdst == PEER and a.hwsrc == GW_MAC[0]]
        s.check("the gateway's kernel sent ARP for 172.16.0.1 out of port 0", len(asked) >= 1,
                [f[:42].hex() for o, f in seen][:6])
        s.check("the peer sent no ARP request of its own",
                not any(o and a is not None and a.op == 1
                        for o, f in seen for a in [arp_of(f)]), "")
        ok = False
        if esp and esp[0][:6] == mac(PEER_MAC):
            sa = SecurityAssociation(ESP, spi=SPI_OUT_256, crypt_algo="AES-GCM",
                                     crypt_key=KEY_OUT_256, tunnel_header=IP(src=GW, dst=PEER))
            ok = bytes(sa.decrypt(IP(esp[0][14:]))[Raw]) == bytes(plain[Raw])
        s.check("then the site's packet reached the peer's MAC as ESP (Scapy decrypts)", ok,
                [e[:14].hex() for e in esp])
        s.check("the first packet(s) before it were no_route", d["drop_no_route"] >= 1, repr(d))
        s.eq("each packet sent as ESP or counted no_route", d["tx"] + d["drop_no_route"], sent)
        s.check("neigh_resolve counts the request, none failed",
                d["neigh_resolve"] >= 1 and d["neigh_resolve_fail"] == 0, repr(d))
        r = gw.ctl("list neigh")
        s.check("list neigh: 172.16.0.1 learned and routed",
                any(e.get("addr") == PEER and e.get("mac") == PEER_MAC and e.get("routed")
                    for e in r.get("neigh", [])), repr(r))

        # Nobody answers for SILENT: at most one request a second, however
        # many packets wait for it.
        st1 = gw.stats()
        n, t1 = 100, time.monotonic()
        w0.drain()
        frame = bytes(Ether(dst=GW_MAC[1], src=SITE_MAC) / IP(src="10.2.0.5", dst="10.3.0.5") /
                      UDP(sport=1, dport=2) / Raw(b"x" * 20))
        seen = []
        for i in range(n):
            p1.send([frame])
            seen += w0.both(0.025)
        st = gw.wait(lambda d: d.get("drop_no_route", 0) - st1.get("drop_no_route", 0) >= n)
        t = time.monotonic() - t1
        d = {k: st.get(k, 0) - st1.get(k, 0) for k in ("drop_no_route", "neigh_resolve", "tx")}
        print("#   silent next hop: %d packets in %.2f s; deltas %s" % (n, t, d))
        s.eq("silent next hop: every packet no_route, none sent", (d["drop_no_route"], d["tx"]),
             (n, 0))
        s.check("silent next hop: asked %d times in %.1f s (at most once a second)" %
                (d["neigh_resolve"], t), 2 <= d["neigh_resolve"] <= int(t) + 1, repr(d))
        s.check("silent next hop: the gateway's kernel ARPed for it",
                any(a is not None and a.op == 1 and a.pdst == SILENT
                    for o, f in seen if not o for a in [arp_of(f)]), "")
    finally:
        check_exit(s, "gateway resolving its next hop", gw)
        sh("ip", "neigh", "del", GW, "dev", P_IF[0], check=False)


def config_errors(s):
    s.section("punt lines that cannot work: exit 2 with file:line")
    tmp = tempfile.mkdtemp(prefix="sgslow_it_")
    cases = [
        ("punt port 1 addr 10.2.0.1/24", "punt: port 1 is not an unprotected port"),
        ("punt port 0 addr 172.16.0.2/24 rate 0", "punt: rate '0' is out of range"),
        ("punt port 0 addr 172.16.0.2", "punt: addr '172.16.0.2': expected A.B.C.D/N"),
        ("punt port 0 addr 172.16.0.2/24 rate 5 iface sgslkbad rate 6",
         "punt: 'rate' given twice"),
        ("punt port 0 addr 172.16.0.2/24 addr 2001:db8:1::2",
         "punt: addr '2001:db8:1::2': expected X:X::X/N"),
        ("punt port 0 addr 172.16.0.2/24 addr ff02::2/64 iface sgslkbad",
         "punt: addr 'ff02::2/64' is not a unicast host address"),
        ("punt port 0 addr 2001:db8:1::2/64 addr 2001:db8:1::2/48",
         "punt: addr '2001:db8:1::2/48' given twice"),
    ]
    for line, why in cases:
        path = os.path.join(tmp, "rules.cfg")
        with open(path, "w") as f:
            f.write(rules(punt=line))
        n = rules(punt=line).splitlines().index(line) + 1
        cp = subprocess.run([s.exe, "--no-pci", "--file-prefix=%s_%s_cfg" % (PREFIX, TAG), "--",
                             "-p", "0x3", "-u", "0x1", "-f", path], capture_output=True,
                            text=True, timeout=20)
        s.check("%r: exit 2, %s:%d: %s" % (line, "rules.cfg", n, why),
                cp.returncode == 2 and ("%s:%d: %s" % (path, n, why)) in cp.stderr,
                "rc %d: %s" % (cp.returncode, cp.stderr.strip()))
        links = sh("ip", "-o", "link", "show").stdout
        s.check("%r: no device made (no tap, no DPDK runtime directory)" % line,
                "sgslkbad" not in links and "sgpunt" not in links and
                not os.path.exists(runtime_dir("%s_%s_cfg" % (PREFIX, TAG))), links)
    sh("rm", "-rf", tmp, check=False)


try:
    suite_main("slowpath", body)
finally:
    drop_net()
