#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""
Shared helpers of shardgate's integration suites.

Each suite runs the real gateway binary on two net_pcap vdevs (port 0 is the
unprotected side, port 1 the protected side), feeds it frames it cannot tell
from a wire (pcap files written here), reads what it sent (pcap files it
wrote) and its counters (the DPDK telemetry socket), and judges the ESP with
Scapy's own implementation, never with shardgate's code.

Run with Debian's /usr/bin/python3 (python3-scapy). Every check is one test
case; a suite ends with "SGTEST <name>: N passed, N failed" (scripts/test.sh
adds these up) and exits non-zero when anything failed.
"""

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
import time
import traceback

import logging

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)

from scapy.all import conf as scapy_conf  # noqa: E402
from scapy.layers.inet import IP, UDP, TCP, ICMP  # noqa: E402,F401
from scapy.layers.l2 import Ether, ARP  # noqa: E402,F401
from scapy.layers.inet6 import IPv6  # noqa: E402,F401
from scapy.packet import Raw  # noqa: E402,F401
from scapy.layers.ipsec import (  # noqa: E402,F401
    ESP,
    SecurityAssociation,
    _ESPPlain,
    IPSecIntegrityError,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402

scapy_conf.verb = 0

# ---------------------------------------------------------------------------
# The test topology: one gateway between a remote peer and a local site.
#
#   peer 172.16.0.1 ==ESP== [port 0: gw 172.16.0.2 | port 1] --- 10.2.0.0/24
#   (remote site 10.1.0.0/24 behind the peer)
# ---------------------------------------------------------------------------
PEER = "172.16.0.1"
GW = "172.16.0.2"
UNPROT, PROT = 0, 1
NEIGH_MAC = {0: "02:00:00:00:00:10", 1: "02:00:00:00:00:11"}
# net_pcap derives its MAC from 'l'ocal + "pcap" + the device index (DPDK
# drivers/net/pcap); used only when telemetry and the log do not say.
PCAP_MAC = {0: "02:70:63:61:70:00", 1: "02:70:63:61:70:01"}

# Keys: 16 or 32 bytes of AES key, then the 4-byte GCM salt (RFC 4106 §8.1),
# the same layout as ipsec-secgw's aead_key and Scapy's crypt_key.
KEY_IN_128 = bytes(range(0x10, 0x20)) + bytes.fromhex("a0a1a2a3")
KEY_IN_256 = bytes(range(0x20, 0x40)) + bytes.fromhex("b0b1b2b3")
KEY_OUT_256 = bytes(range(0x40, 0x60)) + bytes.fromhex("c0c1c2c3")
KEY_OUT_128 = bytes(range(0x60, 0x70)) + bytes.fromhex("d0d1d2d3")

SPI_IN_128, SPI_IN_256 = 4096, 4097
SPI_OUT_256, SPI_OUT_128 = 8192, 8193

ETH_IPV4 = 0x0800
ESP_HDR, ESP_IV, ESP_ICV = 8, 8, 16


def hexkey(k):
    return ":".join("%02x" % b for b in k)


def base_rules(extra="", sa_opts=None):
    """The rule file every data-path suite starts from (ipsec-secgw grammar).
    sa_opts: {spi: "more keywords"} appended to that SA's line."""
    o = {k: " " + v for k, v in (sa_opts or {}).items()}
    return f"""# shardgate integration topology
sa in {SPI_IN_128} aead_algo aes-128-gcm aead_key {hexkey(KEY_IN_128)} \\
    mode ipv4-tunnel src {PEER} dst {GW}{o.get(SPI_IN_128, "")}
sa in {SPI_IN_256} aead_algo aes-256-gcm aead_key {hexkey(KEY_IN_256)} mode ipv4-tunnel src {PEER} dst {GW}{o.get(SPI_IN_256, "")}
sa out {SPI_OUT_256} aead_algo aes-256-gcm aead_key {hexkey(KEY_OUT_256)} mode ipv4-tunnel src {GW} dst {PEER}{o.get(SPI_OUT_256, "")}
sa out {SPI_OUT_128} aead_algo aes-128-gcm aead_key {hexkey(KEY_OUT_128)} mode ipv4-tunnel src {GW} dst {PEER}{o.get(SPI_OUT_128, "")}

sp ipv4 in esp protect {SPI_IN_128} pri 10 dst 10.2.0.0/25 sport 0:65535 dport 0:65535
sp ipv4 in esp protect {SPI_IN_256} pri 10 dst 10.2.0.128/25 sport 0:65535 dport 0:65535
sp ipv4 in esp bypass pri 5 dst 10.2.9.0/24 sport 0:65535 dport 0:65535
sp ipv4 out esp protect {SPI_OUT_256} pri 10 dst 10.1.0.0/25 sport 0:65535 dport 0:65535
sp ipv4 out esp protect {SPI_OUT_128} pri 10 dst 10.1.0.128/25 sport 0:65535 dport 0:65535
sp ipv4 out esp bypass pri 10 dst 10.9.0.0/24 sport 0:65535 dport 0:65535
sp ipv4 out esp discard pri 10 dst 10.8.0.0/24 sport 0:65535 dport 0:65535

rt ipv4 dst 10.2.0.0/16 port {PROT}
rt ipv4 dst {PEER}/32 port {UNPROT}
rt ipv4 dst 10.9.0.0/24 port {UNPROT}

neigh port 0 {NEIGH_MAC[0]}
neigh port 1 {NEIGH_MAC[1]}
{extra}"""


def peer_sa(spi=SPI_IN_128, key=KEY_IN_128, src=PEER, dst=GW, esn=False, tos=0,
            options=None, seq_num=1):
    """Scapy's SA of the remote peer: it encrypts what the gateway decrypts."""
    hdr = IP(src=src, dst=dst, tos=tos) if options is None else \
        IP(src=src, dst=dst, tos=tos, options=options)
    return SecurityAssociation(ESP, spi=spi, crypt_algo="AES-GCM", crypt_key=key,
                               tunnel_header=hdr, esn_en=esn, seq_num=seq_num)


def gw_out_sa(spi, key, esn=False):
    """Scapy's SA that decrypts what the gateway encrypts."""
    return SecurityAssociation(ESP, spi=spi, crypt_algo="AES-GCM", crypt_key=key,
                               tunnel_header=IP(src=GW, dst=PEER), esn_en=esn)


def pattern(n, seed, mul=13):
    """@n bytes a test can recognise: byte i is i * @mul + @seed."""
    return bytes((i * mul + seed) & 0xFF for i in range(n))


def sample_inner(i, n, dst, mul=13):
    """Inner packet #@i to @dst with @n bytes of payload: UDP on odd @i, TCP
    with DF on even ones (the two a tunnel mostly carries)."""
    if i % 2:
        return IP(src="10.1.0.9", dst=dst, id=i) / UDP(sport=1000 + i, dport=53) / \
            Raw(pattern(n, i, mul))
    return IP(src="10.1.0.9", dst=dst, id=i, flags="DF") / \
        TCP(sport=2000 + i, dport=80, flags="PA") / Raw(pattern(n, i, mul))


def esp_custom(sa, inner, seq, padding=None, padlen=None, nh=4, esn_hi=None, src=PEER,
               dst=GW, iv=None):
    """
    An ESP packet built from Scapy's own pieces (_ESPPlain + the SA's
    crypt_algo) with a trailer of our choosing, so the ICV is valid whatever
    the padding, pad length or next header say. Returns the outer IPv4 bytes.
    """
    esp = _ESPPlain(spi=sa.spi, seq=seq, iv=iv if iv is not None else os.urandom(ESP_IV))
    esp.data = Raw(inner)
    esp.nh = nh
    esp = sa.crypt_algo.pad(esp)
    if padding is not None:
        esp.padding = padding
        esp.padlen = len(padding)
    if padlen is not None:
        esp.padlen = padlen
    enc = sa.crypt_algo.encrypt(sa, esp, sa.crypt_key, sa.crypt_icv_size,
                                esn_en=esn_hi is not None, esn=esn_hi or 0)
    return bytes(IP(src=src, dst=dst, proto=50) / enc)


def frame(ip_bytes, port, src=None, pad60=True):
    """An Ethernet frame as a NIC would hand it over: to the port's MAC, and
    padded to the 60-byte minimum (the gateway must trim by IP length)."""
    f = bytes(Ether(dst=PCAP_MAC[port], src=src or NEIGH_MAC[port], type=ETH_IPV4)) + ip_bytes
    if pad60 and len(f) < 60:
        f += b"\x00" * (60 - len(f))
    return f


def ip_cksum_ok(hdr):
    s = 0
    for i in range(0, len(hdr), 2):
        s += (hdr[i] << 8) | hdr[i + 1]
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s == 0xFFFF


def gcm_open(key, spi, seq, esp_payload, esn_hi=None):
    """
    Decrypt an ESP payload (IV || ciphertext || ICV) with the plain AES-GCM of
    python3-cryptography (RFC 4106): returns the whole plaintext including
    padding, pad length and next header, which Scapy does not hand back
    intact. Raises on a bad ICV.
    """
    aes, salt = key[:-4], key[-4:]
    iv, ct = esp_payload[:ESP_IV], esp_payload[ESP_IV:]
    if esn_hi is None:
        aad = struct.pack("!II", spi, seq)
    else:
        aad = struct.pack("!III", spi, esn_hi, seq)
    return AESGCM(aes).decrypt(salt + iv, ct, aad)


# ---------------------------------------------------------------------------
# pcap files, written and read here so that runts and padding stay exact.
# ---------------------------------------------------------------------------
def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", 1700000000, i, len(fr), len(fr)))
            f.write(fr)


def read_pcap(path):
    if not os.path.exists(path):
        return None
    data = open(path, "rb").read()
    if len(data) < 24:
        return []
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        end = "<"
    else:
        end = ">"
    off, out = 24, []
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(end + "IIII", data[off:off + 16])
        off += 16
        out.append(data[off:off + incl])
        off += incl
    return out


# ---------------------------------------------------------------------------
# Test bookkeeping.
# ---------------------------------------------------------------------------
class Suite:
    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = 0
        self.t0 = time.time()
        if len(sys.argv) < 2:
            print("usage: %s PATH_TO_SHARDGATE" % sys.argv[0], file=sys.stderr)
            sys.exit(2)
        self.exe = os.path.abspath(sys.argv[1])
        self.runs = 0

    def check(self, case, ok, detail=""):
        if ok:
            self.passed += 1
            print("ok     %s" % case)
        else:
            self.failed += 1
            print("FAIL   %s%s" % (case, (": " + str(detail)) if detail else ""))
        sys.stdout.flush()
        return bool(ok)

    def eq(self, case, got, want):
        return self.check(case, got == want, "expected %r, got %r" % (want, got))

    def section(self, title):
        print("# %s" % title)
        sys.stdout.flush()

    def guard(self, title, fn, *args, **kw):
        """Run one group of checks; an exception in it is one failed case, and
        the suite goes on with the next group."""
        self.section(title)
        try:
            return fn(*args, **kw)
        except Exception:  # noqa: BLE001 - a test harness reports, never dies
            self.check("%s: completed without a harness exception" % title, False,
                       traceback.format_exc().strip().replace("\n", "\n       "))
            return None

    def finish(self):
        print("# %s: %.1f s, %d gateway run(s)" % (self.name, time.time() - self.t0, self.runs))
        print("SGTEST %s: %d passed, %d failed" % (self.name, self.passed, self.failed))
        sys.stdout.flush()
        sys.exit(1 if self.failed else 0)

    def run(self, rules, inputs, **kw):
        self.runs += 1
        return run_gateway(self.exe, rules, inputs, **kw)

    def check_clean_exit(self, tag, r):
        """The end of every run: SIGTERM stops it with status 0 and every mbuf
        back in its pool (ARCHITECTURE 'Errors', issue 2 item 5)."""
        self.check("%s: gateway came up and settled (rx + tx_made == tx + drops, rx == input frames)" % tag,
                   r.settled, r.why_not_settled)
        self.eq("%s: exit status after SIGTERM" % tag, r.rc, 0)
        pools = re.findall(r"mbuf pool (\S+): (\d+) in use at exit", r.stdout)
        self.check("%s: every mbuf back in its pool at exit" % tag,
                   len(pools) > 0 and all(n == "0" for _, n in pools),
                   "pool lines %r; stderr tail %r" % (pools, r.stderr[-400:]))


def suite_main(name, body):
    """Run body(suite); whatever it raises is one failed case, and the suite
    still ends with its SGTEST line."""
    s = Suite(name)
    s.guard(name, body, s)
    s.finish()


# ---------------------------------------------------------------------------
# Telemetry (DPDK v2 socket: SOCK_SEQPACKET, JSON hello, one reply per command).
# ---------------------------------------------------------------------------
def runtime_dir(prefix):
    return os.path.join("/var/run/dpdk" if os.getuid() == 0 else
                        os.environ.get("XDG_RUNTIME_DIR", "/tmp") + "/dpdk", prefix)


class Telemetry:
    def __init__(self, prefix, timeout=10.0, proc=None):
        self.path = os.path.join(runtime_dir(prefix), "dpdk_telemetry.v2")
        deadline = time.time() + timeout
        last = None
        while True:
            if proc is not None and proc.poll() is not None:
                raise RuntimeError("gateway exited (status %s) before telemetry came up"
                                   % proc.returncode)
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
                s.settimeout(5.0)
                s.connect(self.path)
                hello = json.loads(s.recv(65536).decode())
                self.maxlen = int(hello.get("max_output_len", 16384))
                self.sock = s
                self.hello = hello
                return
            except (OSError, ValueError) as e:
                last = e
                s.close()
            if time.time() > deadline:
                raise RuntimeError("no telemetry at %s: %s" % (self.path, last))
            time.sleep(0.05)

    def raw(self, cmd):
        self.sock.send(cmd.encode())
        return json.loads(self.sock.recv(max(self.maxlen, 65536)).decode())

    def cmd(self, cmd):
        reply = self.raw(cmd)
        return reply.get(cmd.split(",", 1)[0])

    def close(self):
        self.sock.close()


# ---------------------------------------------------------------------------
# One gateway run.
# ---------------------------------------------------------------------------
class Result:
    def __init__(self):
        self.rc = None
        self.stdout = ""
        self.stderr = ""
        self.out = {}    # port -> frames sent (all tx queues, queue 0 first)
        self.out_q = {}  # port -> [frames of tx queue 0, of queue 1, ...]
        self.stats = None
        self.lcores = None
        self.sa = {}
        self.extra = {}
        self.settled = False
        self.why_not_settled = ""
        self.port_mac = dict(PCAP_MAC)
        self.prefix = None
        self.tmp = None
        self.client_output = None
        self.waited = None

    def drop(self, reason):
        return (self.stats or {}).get("drop_" + reason)

    def sa_by_spi(self, direction, spi):
        return self.sa.get("%s_%d" % (direction, spi))


_run_counter = [0]


def unique_prefix():
    _run_counter[0] += 1
    return "sgtest_it_%d_%d" % (os.getpid(), _run_counter[0])


def tx_files(tmp, p, txq):
    """net_pcap makes one tx queue per tx_pcap file: out0.pcap, out0.1.pcap, ..."""
    return [os.path.join(tmp, "out%d.pcap" % p if q == 0 else "out%d.%d.pcap" % (p, q))
            for q in range(txq)]


def rx_files(tmp, p, rxq):
    """One rx queue per rx_pcap file: in0.pcap, in0.1.pcap, ..."""
    return [os.path.join(tmp, "in%d.pcap" % p if q == 0 else "in%d.%d.pcap" % (p, q))
            for q in range(rxq)]


def eal_args(prefix, tmp, nports=2, lcores="-l 0,1", txq=1, rxq=1):
    a = ["--no-pci", "--no-huge", "-m", "512", "--file-prefix=" + prefix] + lcores.split()
    for p in range(nports):
        a.append("--vdev=net_pcap%d,%s,%s" %
                 (p, ",".join("rx_pcap=" + f for f in rx_files(tmp, p, rxq)),
                  ",".join("tx_pcap=" + f for f in tx_files(tmp, p, txq))))
    return a


def seq_args(tmp, app_args=()):
    """A gateway's own sequence-state file in @tmp, begun fresh, unless
    @app_args choose one (a restart test does)."""
    if any(str(a).startswith("--seq-state") for a in app_args):
        return []
    return ["--seq-state", os.path.join(tmp, "seq.state"), "--seq-state-init"]


def run_gateway(exe, rules, inputs, app_args=(), lcores="-l 0,1", queries=(),
                settle_timeout=15.0, stock_client=False, keep_tmp=False, txq=1,
                stop_signal=signal.SIGTERM, wait_for=None, wait_timeout=None, rxq=1,
                before_stop=None):
    """
    Start the gateway with @rules and the frames of @inputs ({port: [bytes]},
    or with @rxq > 1 {port: [[bytes of queue 0], [queue 1], ...]}) on net_pcap
    vdevs, wait until every frame was received and accounted for (rx == tx +
    drops), read telemetry, stop it with SIGTERM and collect what it sent
    (r.out[port], and per tx queue r.out_q[port][queue]). Always kills the
    process and removes its runtime directory.
    @before_stop: optional callable(r) run last before the stop, e.g. to ask
    the control socket (runtime_dir(r.prefix)) something.
    @stop_signal: SIGTERM, or SIGINT (both must stop it cleanly).
    @wait_for: optional callable(Telemetry) -> bool, polled after settling
    (up to @settle_timeout) for state the control core sets asynchronously
    (events, SA removal), up to @wait_timeout (default @settle_timeout)
    seconds; r.waited says whether it became true.
    """
    r = Result()
    tmp = tempfile.mkdtemp(prefix="sgit_")
    r.tmp = tmp
    prefix = unique_prefix()
    r.prefix = prefix
    queues = {p: inputs.get(p, []) if rxq > 1 else [inputs.get(p, [])] for p in (0, 1)}
    nin = sum(len(q) for v in queues.values() for q in v)
    for p in (0, 1):
        for q, f in enumerate(rx_files(tmp, p, rxq)):
            write_pcap(f, queues[p][q] if q < len(queues[p]) else [])
    rules_path = os.path.join(tmp, "rules.cfg")
    with open(rules_path, "w") as f:
        f.write(rules)
    argv = [exe] + eal_args(prefix, tmp, lcores=lcores, txq=txq, rxq=rxq) + \
        ["--", "-p", "0x3", "-u", "0x1", "-f", rules_path, "--poll-sleep-us", "100"] + \
        seq_args(tmp, app_args) + list(app_args)
    fo = open(os.path.join(tmp, "stdout"), "w+")
    fe = open(os.path.join(tmp, "stderr"), "w+")
    proc = None
    tel = None
    try:
        proc = subprocess.Popen(argv, stdout=fo, stderr=fe, stdin=subprocess.DEVNULL)
        tel = Telemetry(prefix, timeout=20.0, proc=proc)
        deadline = time.time() + settle_timeout
        st = None
        while time.time() < deadline:
            st = tel.cmd("/shardgate/stats")
            # frames the gateway makes (ICMP errors, extra fragments) are
            # tx_made; fragments it reassembles are frag_merged or frag_held
            if st and st.get("rx") == nin and st.get("tx", 0) + st.get("drops", 0) + \
                    st.get("frag_merged", 0) + st.get("frag_held", 0) == \
                    nin + st.get("tx_made", 0):
                r.settled = True
                break
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        if not r.settled:
            r.why_not_settled = "after %.0f s: %d frames in, stats %s" % (
                settle_timeout, nin,
                {k: v for k, v in (st or {}).items() if v} if isinstance(st, dict) else st)
        if wait_for is not None:
            r.waited = False
            deadline = time.time() + (settle_timeout if wait_timeout is None else wait_timeout)
            while time.time() < deadline and proc.poll() is None:
                if wait_for(tel):
                    r.waited = True
                    break
                time.sleep(0.02)
        # Counters are plain per-lcore words read racily: read them again now
        # that the worker is idle, so every reading below is the final one.
        time.sleep(0.05)
        r.stats = tel.cmd("/shardgate/stats")
        r.lcores = tel.cmd("/shardgate/lcores")
        r.sa = {}
        page = 0
        while True:
            d = tel.cmd("/shardgate/sa,%d" % page)
            if not isinstance(d, dict):
                break
            for k, v in d.items():
                if isinstance(v, dict):
                    r.sa[k] = v
            page += 1
            if page >= int(d.get("pages", 1)):
                break
        for p in (0, 1):
            info = tel.cmd("/ethdev/info,%d" % p)
            if isinstance(info, dict) and info.get("mac_addr"):
                r.port_mac[p] = info["mac_addr"].lower()
        for q in queries:
            r.extra[q] = tel.cmd(q)
        if before_stop is not None:
            before_stop(r)
        if stock_client:
            cp = subprocess.run(["/usr/bin/dpdk-telemetry.py", "-f", prefix],
                                input="/shardgate/stats\n", capture_output=True, text=True,
                                timeout=30)
            r.client_output = (cp.returncode, cp.stdout, cp.stderr)
        tel.close()
        tel = None
        proc.send_signal(stop_signal)
        try:
            r.rc = proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            r.rc = "hung after SIGTERM"
    except Exception as e:  # noqa: BLE001
        r.why_not_settled = (r.why_not_settled + " " if r.why_not_settled else "") + \
            "harness: %s" % e
        if proc is not None and proc.poll() is not None:
            r.rc = proc.returncode
    finally:
        if tel is not None:
            tel.close()
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
            if r.rc is None:
                r.rc = "killed"
        shutil.rmtree(runtime_dir(prefix), ignore_errors=True)
        fo.seek(0)
        fe.seek(0)
        r.stdout = fo.read()
        r.stderr = fe.read()
        fo.close()
        fe.close()
        for p in (0, 1):
            r.out[p] = []
            r.out_q[p] = []
            for f in tx_files(tmp, p, txq):
                r.out_q[p].append(read_pcap(f) or [])
                r.out[p] += r.out_q[p][-1]
        if not r.settled and not r.why_not_settled:
            r.why_not_settled = "gateway status %s" % r.rc
        # The log names each port's MAC; telemetry wins when it has it.
        for m in re.finditer(r"port (\d+) \([^)]*\):.*MAC ([0-9A-Fa-f:]{17})",
                             r.stdout + r.stderr):
            p = int(m.group(1))
            if p in (0, 1) and r.port_mac.get(p) == PCAP_MAC.get(p):
                r.port_mac[p] = m.group(2).lower()
        if not keep_tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    return r


def run_cli(exe, app_args, eal=None, rules=None, timeout=20):
    """Run the binary for an option or config error: no traffic, no waiting.
    Returns (status, stdout, stderr, tx_pcap_created, runtime_dir_created)."""
    tmp = tempfile.mkdtemp(prefix="sgit_cli_")
    prefix = unique_prefix()
    try:
        for p in (0, 1):
            write_pcap(os.path.join(tmp, "in%d.pcap" % p), [])
        args = []
        for a in app_args:
            if rules is not None and a == "RULES":
                path = os.path.join(tmp, "rules.cfg")
                with open(path, "w") as f:
                    f.write(rules)
                a = path
            args.append(a)
        if "--" in args:
            i = args.index("--") + 1
            args[i:i] = seq_args(tmp, args)
        e = eal_args(prefix, tmp) if eal is None else eal
        argv = [exe] + e + args
        try:
            cp = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                                stdin=subprocess.DEVNULL)
            rc, out, err = cp.returncode, cp.stdout, cp.stderr
        except subprocess.TimeoutExpired as te:
            rc, out, err = "timeout", te.stdout or "", te.stderr or ""
        tx_made = any(os.path.exists(os.path.join(tmp, "out%d.pcap" % p)) for p in (0, 1))
        rdir = os.path.exists(runtime_dir(prefix))
        return rc, out, err, tx_made, rdir, os.path.join(tmp, "rules.cfg")
    finally:
        shutil.rmtree(runtime_dir(prefix), ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)


def split_frame(fr):
    """(dst MAC, src MAC, ethertype, payload) of an Ethernet frame."""
    if len(fr) < 14:
        return None, None, None, fr
    mac = lambda b: ":".join("%02x" % x for x in b)  # noqa: E731
    return mac(fr[0:6]), mac(fr[6:12]), struct.unpack("!H", fr[12:14])[0], fr[14:]


def l2_problems(r, frames, port):
    """Why the L2 header of gateway output on @port is wrong, or ''."""
    bad = []
    for i, fr in enumerate(frames):
        dst, src, typ, _ = split_frame(fr)
        if dst != NEIGH_MAC[port] or src != r.port_mac[port] or typ != ETH_IPV4:
            bad.append("#%d dst %s src %s type %s" % (i, dst, src, typ))
    if bad:
        return "want dst %s src %s type 0x0800; %s" % (NEIGH_MAC[port], r.port_mac[port],
                                                       "; ".join(bad[:5]))
    return ""


def diff_bytes(a, b):
    """Where two byte strings first differ, for a failure message."""
    if a == b:
        return "equal"
    n = min(len(a), len(b))
    i = next((k for k in range(n) if a[k] != b[k]), n)
    return "len %d vs %d, first difference at byte %d: got %s want %s" % (
        len(a), len(b), i, a[i:i + 8].hex(), b[i:i + 8].hex())


def check_outputs(s, tag, got, expect):
    """
    @got: IP bytes the gateway sent, in order; @expect: [(label, IP bytes)].
    One case per expected packet (present, byte for byte), one for the
    order, one for the count: a lost packet fails once, not for every
    packet behind it.
    """
    s.eq("%s: packets out" % tag, len(got), len(expect))
    left = list(got)
    for i, (label, e) in enumerate(expect):
        if e in left:
            left.remove(e)
            s.check("%s: byte-exact: %s" % (tag, label), True)
            continue
        if i < len(got):
            why = "missing; output #%d in its place: %s" % (i, diff_bytes(got[i], e))
        else:
            why = "missing"
        s.check("%s: byte-exact: %s" % (tag, label), False, why)
    want = [e for _, e in expect]
    first = next((i for i in range(min(len(got), len(want))) if got[i] != want[i]),
                 None if len(got) == len(want) else min(len(got), len(want)))
    s.check("%s: in arrival order" % tag, got == want,
            "first difference at output #%s" % first)


# ---------------------------------------------------------------------------
# Live ports: frames sent at chosen times (lifetimes, idle timeouts, rekeys).
#
# A live port is net_pcap capturing from one end of a veth pair made here
# (rx_iface_in: only frames arriving at that end); we write frames into the
# other end with an AF_PACKET socket, byte for byte as Scapy built them. The
# gateway still transmits into a pcap file, read after it exits, so nothing
# it sends can come back in. Both ends have IPv6 off and no address: the
# kernel sends nothing on them by itself.
# ---------------------------------------------------------------------------
def events_list(ev):
    """The events of a /shardgate/events reply, oldest first: [dict with id]."""
    out = []
    for k, v in (ev or {}).items():
        if isinstance(v, dict) and k.isdigit():
            out.append(dict(v, id=int(k)))
    return sorted(out, key=lambda e: e["id"])


def has_event(ev, typ, direction, spi):
    return any(e.get("type") == typ and e.get("dir") == direction and e.get("spi") == spi
               for e in events_list(ev))


def shardgatectl_path(exe, argv_index=2):
    """shardgatectl: sys.argv[@argv_index] when meson passes it, else next to
    the gateway in the build tree (BUILD/app/shardgatectl/shardgatectl)."""
    if len(sys.argv) > argv_index:
        return os.path.abspath(sys.argv[argv_index])
    return os.path.join(os.path.dirname(os.path.dirname(exe)), "shardgatectl", "shardgatectl")


_veth_counter = [0]


class VethPair:
    """A veth pair in the root namespace with names unique to this process:
    .gw is the gateway's end (net_pcap rx_iface_in), .peer is ours."""

    def __init__(self):
        _veth_counter[0] += 1
        base = "sgl%05d_%d" % (os.getpid() % 100000, _veth_counter[0])
        self.gw, self.peer = base + "g", base + "p"
        self.sock = None
        subprocess.run(["ip", "link", "del", self.gw], capture_output=True)
        cp = subprocess.run(["ip", "link", "add", self.gw, "type", "veth", "peer", "name",
                             self.peer], capture_output=True, text=True)
        if cp.returncode != 0:
            raise RuntimeError("ip link add %s: %s" % (self.gw, cp.stderr.strip()))
        try:
            for n in (self.gw, self.peer):
                with open("/proc/sys/net/ipv6/conf/%s/disable_ipv6" % n, "w") as f:
                    f.write("1")
                cp = subprocess.run(["ip", "link", "set", n, "multicast", "off", "up"],
                                    capture_output=True, text=True)
                if cp.returncode != 0:
                    raise RuntimeError("ip link set %s up: %s" % (n, cp.stderr.strip()))
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
            self.sock.bind((self.peer, 0))
        except BaseException:
            self.close()
            raise

    def send(self, frames):
        for fr in frames:
            self.sock.send(fr)

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        subprocess.run(["ip", "link", "del", self.gw], capture_output=True)


def scan_memory(pid, needles):
    """Where each needle occurs in the readable memory of @pid:
    {needle: ["region+offset", ...]} (root reads /proc/PID/mem)."""
    found = {n: [] for n in needles}
    longest = max(len(n) for n in needles)
    with open("/proc/%d/maps" % pid) as f:
        maps = f.read().splitlines()
    sanitized = any("libasan" in line for line in maps)
    with open("/proc/%d/mem" % pid, "rb", 0) as mem:
        for line in maps:
            parts = line.split()
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            name = parts[5] if len(parts) > 5 else "[anon]"
            if parts[1][0] != "r" or name in ("[vvar]", "[vsyscall]"):
                continue
            # under ASan, its shadow (terabytes, metadata only): no data of
            # the gateway's, and too big to read
            if sanitized and hi - lo > 1 << 36:
                continue
            pos, tail = lo, b""
            while pos < hi:
                n = min(8 << 20, hi - pos)
                try:
                    mem.seek(pos)
                    chunk = tail + mem.read(n)
                except OSError:
                    break
                for nd in needles:
                    i = chunk.find(nd)
                    while i >= 0:
                        found[nd].append("%s+%#x" % (name, pos - len(tail) + i - lo))
                        i = chunk.find(nd, i + 1)
                tail = chunk[-(longest - 1):]
                pos += n
    return found



class LiveGateway:
    """
    The gateway with live ports, driven step by step:

        with LiveGateway(exe, rules, live=(UNPROT,)) as g:
            d = g.send(UNPROT, [frame, ...])   # counter deltas once settled
            g.sa("in", 4096); g.events(); g.ctl("rekey", ...)
            g.stop()                           # SIGTERM; g.out[port] = frames
        # veths, runtime directory and temporary files are gone here

    Ports not in @live read the frames of @inputs from a pcap file. The
    object has the fields Suite.check_clean_exit reads (rc, stdout, settled,
    why_not_settled).
    """

    def __init__(self, exe, rules, live=(UNPROT,), inputs=None, app_args=(),
                 lcores="--lcores=0@0,1@1", ctl=None, poll_sleep_us=100):
        self.exe, self.rules, self.live = exe, rules, tuple(live)
        self.inputs = inputs or {}
        self.app_args = list(app_args)
        self.lcores = lcores
        self.ctl_exe = ctl or shardgatectl_path(exe)
        self.poll_sleep_us = poll_sleep_us
        self.veth = {}
        self.proc = None
        self.tel = None
        self.tmp = tempfile.mkdtemp(prefix="sgit_live_")
        self.prefix = unique_prefix()
        self.rc = None
        self.stdout = self.stderr = ""
        self.out = {}
        self.settled = True
        self.why_not_settled = ""
        self.t_start = None
        self._rx = 0
        self._fo = self._fe = None

    # -- life cycle ---------------------------------------------------------
    def start(self, timeout=20.0):
        for p in self.live:
            self.veth[p] = VethPair()
        vdevs = []
        for p in (0, 1):
            if p in self.live:
                rx = "rx_iface_in=" + self.veth[p].gw
            else:
                path = os.path.join(self.tmp, "in%d.pcap" % p)
                write_pcap(path, self.inputs.get(p, []))
                rx = "rx_pcap=" + path
            vdevs.append("--vdev=net_pcap%d,%s,tx_pcap=%s" %
                         (p, rx, os.path.join(self.tmp, "out%d.pcap" % p)))
        rules_path = os.path.join(self.tmp, "rules.cfg")
        with open(rules_path, "w") as f:
            f.write(self.rules)
        argv = [self.exe, "--no-pci", "--no-huge", "-m", "512",
                "--file-prefix=" + self.prefix] + self.lcores.split() + vdevs + \
            ["--", "-p", "0x3", "-u", "0x1", "-f", rules_path,
             "--poll-sleep-us", str(self.poll_sleep_us)] + \
            seq_args(self.tmp, self.app_args) + self.app_args
        self._fo = open(os.path.join(self.tmp, "stdout"), "w+")
        self._fe = open(os.path.join(self.tmp, "stderr"), "w+")
        self.t_start = time.time()
        self.proc = subprocess.Popen(argv, stdout=self._fo, stderr=self._fe,
                                     stdin=subprocess.DEVNULL)
        self.tel = Telemetry(self.prefix, timeout=timeout, proc=self.proc)
        # The telemetry socket opens with EAL, before the rules are in: wait
        # for the line printed once the workers run.
        deadline = time.time() + timeout
        log = os.path.join(self.tmp, "stdout")
        while "shardgate: running" not in open(log).read():
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("gateway not running (status %s): %s" % (
                    self.proc.poll(), open(os.path.join(self.tmp, "stderr")).read()[-500:]))
            time.sleep(0.02)
        st = self.stats()
        self._rx = st.get("rx", 0) if isinstance(st, dict) else 0
        return self

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc):
        self.close()
        return False

    def stop(self, sig=signal.SIGTERM):
        """Stop the gateway (SIGTERM), then read its log and output pcaps."""
        if self.tel is not None:
            self.tel.close()
            self.tel = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.rc = self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.rc = "hung after SIGTERM"
                self.proc.kill()
                self.proc.wait()
        elif self.proc is not None:
            self.rc = self.proc.returncode
        self._collect()
        return self.rc

    def _collect(self):
        if self._fo is not None:
            self._fo.seek(0)
            self._fe.seek(0)
            self.stdout, self.stderr = self._fo.read(), self._fe.read()
            self._fo.close()
            self._fe.close()
            self._fo = self._fe = None
        for p in (0, 1):
            self.out[p] = read_pcap(os.path.join(self.tmp, "out%d.pcap" % p)) or []

    def close(self):
        """Kill what is still running, delete the veths, the runtime
        directory and the temporary files. Safe to call twice."""
        try:
            if self.tel is not None:
                self.tel.close()
                self.tel = None
            if self.proc is not None and self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
                if self.rc is None:
                    self.rc = "killed"
            if self._fo is not None:
                self._collect()
        finally:
            for v in self.veth.values():
                v.close()
            self.veth = {}
            shutil.rmtree(runtime_dir(self.prefix), ignore_errors=True)
            shutil.rmtree(self.tmp, ignore_errors=True)

    # -- traffic ------------------------------------------------------------
    def send(self, port, frames, timeout=5.0):
        """Send @frames into live @port and wait until the gateway has
        received each and sent or dropped it. Returns the change of every
        /shardgate/stats counter over the send ({} counters unchanged are
        absent); a send that does not settle marks the run unsettled."""
        before = self.stats() or {}
        self.veth[port].send(frames)
        return self.settle(len(frames), before, timeout)

    def settle(self, n, before, timeout=5.0):
        want = self._rx + n
        deadline = time.time() + timeout
        st = None
        while time.time() < deadline:
            st = self.stats() or {}
            if st.get("rx", 0) >= want and st.get("tx", 0) + st.get("drops", 0) + \
                    st.get("frag_merged", 0) + st.get("frag_held", 0) == \
                    st.get("rx") + st.get("tx_made", 0):
                break
            if self.proc.poll() is not None:
                break
            time.sleep(0.01)
        else:
            self.settled = False
            self.why_not_settled += "%d frame(s) sent, rx %s (want %d), tx %s drops %s; " % (
                n, (st or {}).get("rx"), want, (st or {}).get("tx"), (st or {}).get("drops"))
        st = self.stats() or {}
        self._rx = st.get("rx", self._rx)
        return {k: v - before.get(k, 0) for k, v in st.items()
                if isinstance(v, int) and v != before.get(k, 0)}

    # -- state --------------------------------------------------------------
    def stats(self):
        return self.tel.cmd("/shardgate/stats")

    def sa(self, direction, spi):
        """/shardgate/sa of one SA, or None when the gateway has none."""
        d = self.tel.cmd("/shardgate/sa,spi=%d" % spi)
        if not isinstance(d, dict):
            return None
        return d.get("%s_%d" % (direction, spi))

    def events(self, since=None):
        return self.tel.cmd("/shardgate/events" + ("" if since is None else ",%d" % since))

    def wait(self, cond, timeout=5.0, step=0.02):
        """Poll cond() until true or @timeout seconds: its last value."""
        deadline = time.time() + timeout
        while True:
            v = cond()
            if v or time.time() >= deadline:
                return v
            time.sleep(step)

    def sleep_until(self, t):
        """Sleep until time.time() == @t (no-op when past)."""
        d = t - time.time()
        if d > 0:
            time.sleep(d)

    def ctl(self, *request):
        """shardgatectl -f PREFIX REQUEST...: (status, stdout, stderr)."""
        cp = subprocess.run([self.ctl_exe, "-f", self.prefix] + [str(a) for a in request],
                            capture_output=True, text=True, timeout=30,
                            stdin=subprocess.DEVNULL)
        return cp.returncode, cp.stdout, cp.stderr

    def req(self, *request):
        """ctl(), its JSON reply parsed; {"unparsed": ..., "rc": ...} if none."""
        rc, out, err = self.ctl(*request)
        try:
            return json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return {"unparsed": out + err, "rc": rc}
