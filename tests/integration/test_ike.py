#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""
IKEv2 keying through the kernel-shardgate charon plugin (issue 10 item 2).

Debian's own charon loads kernel-shardgate and drives a running shardgate
over its control socket; the IKE peer is a second Debian charon. Each side
is a network namespace made here:

  h1 10.1.0.1 --lan-- [A: shardgate | charon A 172.16.0.2] ==esp== [B: shardgate | charon B 172.16.0.1] --lan-- h2 10.2.0.1

The one link between A and B is the veth the two shardgates' net_af_packet
ports own. Each gateway's address lives on the tap its `punt` line makes
(item 1's slow path): IKE, and the ARP that resolves the peer, go from
the port through the worker's punt ring to the kernel and charon, and
back out of the port; the test checks both gateways' punt counters. B is
a second shardgate keyed by its own charon, so the wire carries plain ESP
(protocol 50); strongSwan's own userspace ESP (kernel-libipsec, which
always encapsulates in UDP) is the peer in test_ike_natt.py, through a NAT.
Independent of both shardgates, the ESP on the
wire is decrypted with python3-cryptography using the keys charon B
derived (its chd log level 4 prints them).

Cases: the CHILD_SA comes up with AES-GCM; both shardgates list the SAs and
policies with charon's SPIs; ping and a TCP transfer (SHA-256 compared)
pass; the wire's ESP decrypts with B's keys; swanctl --list-sas shows
shardgate's counters; swanctl --rekey moves to new SPIs with no ping lost;
a byte lifetime in shardgate makes charon rekey (under a
ping, none lost); a hard packet lifetime makes charon close (and recreate) the CHILD_SA; swanctl --terminate empties
both shardgates; AES-GMAC (which libipsec lacks) carries ping and TCP
between the two shardgates; an AES-CTR/HMAC proposal is refused with a reason in
charon's log, installs no SA and no policy, and its traffic is dropped,
not sent in the clear.
"""

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from sgtest import suite_main, read_pcap, gcm_open, Telemetry

CHARON = "/usr/lib/ipsec/charon"
SWANCTL = "/usr/sbin/swanctl"
PLUGIN_DIR = "/usr/lib/ipsec/plugins"
PLUGIN = "libstrongswan-kernel-shardgate.so"

TAG = "%d" % (os.getpid() % 100000)
NS = {k: "sgike_%s%s" % (k, TAG) for k in ("a", "b", "h1", "h2")}
IKE_IP = {"a": "172.16.0.2", "b": "172.16.0.1"}
LAN = {"a": "10.1.0", "b": "10.2.0"}
HOST = {"a": "h1", "b": "h2"}
# MACs of every veth end: gateway ports, hosts (the gateways' next hops)
MAC = {
    ("a", "esp"): "02:00:00:0a:00:00", ("b", "esp"): "02:00:00:0b:00:00",
    ("a", "lan"): "02:00:00:0a:00:01", ("b", "lan"): "02:00:00:0b:00:01",
    ("a", "host"): "02:00:00:0a:00:11", ("b", "host"): "02:00:00:0b:00:11",
}
ESP_PROPOSAL = "aes128gcm16"
SPI_RE = re.compile(r"^\s+(in|out)\s+([0-9a-f]{8})[^,]*,\s+(\d+) bytes,\s+(\d+) packets", re.M)


def sh(*cmd, check=True, timeout=30, **kw):
    cp = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout, **kw)
    if check and cp.returncode != 0:
        raise RuntimeError("%s: %s%s" % (" ".join(cmd), cp.stdout.strip(), cp.stderr.strip()))
    return cp


def stop_proc(proc):
    """SIGTERM, then SIGKILL after 15 s; None or an exited process is fine."""
    if proc and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def nsx(side, *cmd, **kw):
    return sh("ip", "netns", "exec", NS[side], *cmd, **kw)


def cpus():
    # both gateways on the last CPU: CPU 0 belongs to another job on this machine
    c = sorted(os.sched_getaffinity(0))
    return c[-1], c[-1]


class Topology:
    """Four namespaces and their veths; removed by close() whatever happened."""

    def __init__(self):
        self.made = []
        try:
            for ns in NS.values():
                sh("ip", "netns", "add", ns)
                self.made.append(ns)
            for side in ("a", "b"):
                nsx(side, "sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1")
                nsx(side, "sysctl", "-q", "-w", "net.ipv6.conf.default.disable_ipv6=1")
                nsx(side, "ip", "link", "set", "lo", "up")
                nsx(HOST[side], "sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1")
                nsx(HOST[side], "sysctl", "-q", "-w", "net.ipv6.conf.default.disable_ipv6=1")
                nsx(HOST[side], "ip", "link", "set", "lo", "up")
            # shardgate A port 0 <-> shardgate B port 0, no addresses: the
            # gateways' own (IKE) addresses are on their slow-path taps
            self.veth("a", "esp", "b", "esp", MAC[("a", "esp")], MAC[("b", "esp")])
            for side in ("a", "b"):
                # The kernel stays off the veth net_af_packet reads: no ARP
                # answers of its own (arp_ignore 8), no IKE taken from it
                # (rp_filter: the peer's route is the tap), full checksums.
                nsx(side, "sysctl", "-q", "-w", "net.ipv4.conf.esp.arp_ignore=8")
                nsx(side, "sysctl", "-q", "-w", "net.ipv4.conf.esp.rp_filter=1")
                nsx(side, "ethtool", "-K", "esp", "tx", "off")
            # LANs: shardgate port 1 <-> the host behind it
            for side in ("a", "b"):
                host = HOST[side]
                self.veth(side, "lan", host, "eth0", MAC[(side, "lan")], MAC[(side, "host")])
                # checksums computed by the sender, not left to a veth's
                # offload: shardgate's af_packet port reads the frame as is
                nsx(host, "ethtool", "-K", "eth0", "tx", "off")
                # room for the ESP overhead (~60 bytes): what would exceed
                # shardgate's port MTU is fragmented after encryption, or
                # with DF answered with ICMP "fragmentation needed"
                nsx(host, "ip", "link", "set", "eth0", "mtu", "1400")
                nsx(host, "ip", "addr", "add", LAN[side] + ".1/24", "dev", "eth0")
                nsx(host, "ip", "route", "add", "default", "via", LAN[side] + ".254")
                nsx(host, "ip", "neigh", "replace", LAN[side] + ".254", "lladdr",
                    MAC[(side, "lan")], "dev", "eth0", "nud", "permanent")
        except BaseException:
            self.close()
            raise

    def veth(self, ns1, if1, ns2, if2, mac1, mac2):
        a = ["ip", "link", "add", "sgike%s" % TAG, "netns", NS[ns1]]
        if mac1:
            a += ["address", mac1]
        a += ["type", "veth", "peer", "name", "sgike%sp" % TAG, "netns", NS[ns2]]
        if mac2:
            a += ["address", mac2]
        sh(*a)
        nsx(ns1, "ip", "link", "set", "sgike%s" % TAG, "name", if1)
        nsx(ns2, "ip", "link", "set", "sgike%sp" % TAG, "name", if2)
        for ns, name in ((ns1, if1), (ns2, if2)):
            nsx(ns, "ip", "link", "set", name, "multicast", "off", "up")

    def close(self):
        for ns in self.made:
            sh("ip", "netns", "del", ns, check=False)
        self.made = []


class Shardgate:
    def __init__(self, exe, ctl, side, tmp, cpu, rules_text=None):
        """rules_text: the rule file; by default this topology's (port 0
        towards the other gateway, port 1 to the LAN host)."""
        self.side, self.ctl_exe = side, ctl
        self.prefix = "sgike_%s%s" % (side, TAG)
        self.rundir = "/var/run/dpdk/" + self.prefix
        peer = "b" if side == "a" else "a"
        if rules_text is None:
            rules_text = (
                "rt ipv4 dst %s/32 port 0\n" % IKE_IP[peer] +
                # the gateway's own address, and IKE to it, through the kernel
                "punt port 0 addr %s/24\n" % IKE_IP[side] +
                "rt ipv4 dst %s.0/24 port 1\n" % LAN[side] +
                "neigh port 0 %s\n" % MAC[(peer, "esp")] +
                "neigh port 1 %s\n" % MAC[(side, "host")])
        rules = os.path.join(tmp, "rules_%s.cfg" % side)
        with open(rules, "w") as f:
            f.write(rules_text)
        self.log = os.path.join(tmp, "shardgate_%s.log" % side)
        self.argv = ["ip", "netns", "exec", NS[side], exe, "--no-pci", "--no-huge", "-m", "256",
                     "--file-prefix=" + self.prefix, "--lcores", "0@%d,1@%d" % (cpu, cpu),
                     "--vdev=net_af_packet0,iface=esp", "--vdev=net_af_packet1,iface=lan",
                     "--", "-p", "0x3", "-u", "0x1", "-f", rules, "--poll-sleep-us", "200",
                     "--seq-state", os.path.join(tmp, "seq_%s.state" % side), "--seq-state-init"]
        self.proc = None

    def start(self):
        self.fo = open(self.log, "w")
        self.proc = subprocess.Popen(self.argv, stdout=self.fo, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        deadline = time.time() + 30
        while "shardgate: running" not in open(self.log).read():
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("shardgate %s did not start: %s" % (
                    self.side, open(self.log).read()[-800:]))
            time.sleep(0.05)
        return self

    def req(self, line):
        cp = sh(self.ctl_exe, "-f", self.prefix, line, check=False)
        try:
            return json.loads(cp.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return {"unparsed": cp.stdout + cp.stderr}

    def sas(self):
        return self.req("list sa").get("sa", [])

    def sps(self):
        return self.req("list sp").get("sp", [])

    def stats(self):
        t = Telemetry(self.prefix)
        try:
            return t.cmd("/shardgate/stats") or {}
        finally:
            t.close()

    def stop(self):
        stop_proc(self.proc)
        if self.proc:
            self.fo.close()
        shutil.rmtree(self.rundir, ignore_errors=True)


class Charon:
    """Debian's charon in side's namespace with a strongswan.conf of its own
    (STRONGSWAN_CONF), a private /run (its pid file is fixed at
    /var/run/charon.pid) and a vici socket of its own."""

    def __init__(self, side, tmp, kernel, sock_dir=None, extra=""):
        self.side = side
        self.dir = os.path.join(tmp, "charon_" + side)
        os.makedirs(self.dir)
        self.vici = os.path.join(self.dir, "charon.vici")
        self.log = os.path.join(self.dir, "charon.log")
        plugins = kernel + " kernel-netlink socket-default vici random nonce openssl kdf pem " \
            "pkcs1 x509 pubkey"
        conf = """charon {
    load_modular = no
    load = %s
    install_routes = no
    install_virtual_ip = no
    retransmit_tries = 2
    delete_rekeyed_delay = 2
    filelog {
        log {
            path = %s
            default = 1
            knl = 2
            chd = 4
            ike = 2
            flush_line = yes
        }
    }
    plugins {
        vici {
            socket = unix://%s
        }
        kernel-shardgate {
            socket = %s/shardgate.sock
            events_ms = 200
        }
        kernel-libipsec {
            allow_peer_ts = yes
        }
    }
%s
}
""" % (plugins, self.log, self.vici, sock_dir or "/nonexistent", extra)
        self.conf = os.path.join(self.dir, "strongswan.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.sock_dir = sock_dir
        self.proc = None

    def start(self, gw_rundir=None):
        # charon's view: a private /run; the gateway's runtime directory
        # bound where the plugin's socket option points first.
        binds = ""
        if gw_rundir:
            binds = "mount --bind %s %s && " % (gw_rundir, self.sock_dir)
        script = "mount --make-rprivate / && %smount -t tmpfs sgike /run && exec %s" % (
            binds, CHARON)
        env = dict(os.environ, STRONGSWAN_CONF=self.conf)
        self.out = open(os.path.join(self.dir, "stdout"), "w")
        self.proc = subprocess.Popen(["ip", "netns", "exec", NS[self.side], "unshare", "-m",
                                      "sh", "-c", script], env=env, stdout=self.out,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.time() + 20
        while not os.path.exists(self.vici):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("charon %s did not start: %s %s" % (
                    self.side, self.logtext()[-1500:], open(self.out.name).read()[-500:]))
            time.sleep(0.05)
        return self

    def logtext(self):
        try:
            return open(self.log).read()
        except OSError:
            return ""

    def swanctl(self, *args, timeout=30, check=False):
        return sh(SWANCTL, *args, "--uri", "unix://" + self.vici, check=check, timeout=timeout)

    def load(self, conns):
        path = os.path.join(self.dir, "swanctl.conf")
        with open(path, "w") as f:
            f.write(conns)
        return self.swanctl("--load-all", "--noprompt", "--file", path)

    def children(self):
        """{child name: {"state", "in": (spi, bytes, packets), "out": ...}}"""
        txt = self.swanctl("--list-sas").stdout
        out = {}
        for block in re.split(r"\n(?=\s{2}\S+: #\d+, reqid)", txt):
            # mode: TUNNEL, or TUNNEL-in-UDP once NAT-T encapsulates
            m = re.match(r"\s*(\S+): #(\d+), reqid (\d+), (\w+), ([\w-]+), ([^\n]*)", block)
            if not m:
                continue
            c = {"name": m.group(1), "id": int(m.group(2)), "reqid": int(m.group(3)),
                 "state": m.group(4), "mode": m.group(5), "proto": m.group(6)}
            for d, spi, b, p in SPI_RE.findall(block):
                c[d] = (int(spi, 16), int(b), int(p))
            out.setdefault(c["name"], []).append(c)
        return out

    def installed(self, name):
        return [c for c in self.children().get(name, []) if c["state"] == "INSTALLED"
                and "in" in c and "out" in c]

    def stop(self):
        stop_proc(self.proc)
        if self.proc:
            self.out.close()


def conns(side, children, local=None, remote=None, ike_opts=""):
    """swanctl.conf for side; local/remote: its IKE addresses if not this
    topology's; ike_opts: more lines for the IKE connection."""
    me, peer = side, ("b" if side == "a" else "a")
    ch = ""
    for name, (bits, opts) in children.items():
        # distinct selectors per child: a responder picks its child config
        # by them, and the first that fits would win for all
        ch += """      %s {
        local_ts = %s.%s/%d
        remote_ts = %s.%s/%d
        mode = tunnel
        start_action = none
        %s
      }
""" % (name, LAN[me], "1" if bits == 32 else "0", bits, LAN[peer],
       "1" if bits == 32 else "0", bits, opts)
    return """connections {
  gw {
    version = 2
    local_addrs = %s
    remote_addrs = %s
    proposals = aes128gcm16-prfsha256-ecp256
    rekey_time = 0
%s    local {
      auth = psk
      id = gw-%s
    }
    remote {
      auth = psk
      id = gw-%s
    }
    children {
%s    }
  }
}
secrets {
  ike-gw {
    id-a = gw-a
    id-b = gw-b
    secret = "sgike test only, not a secret"
  }
}
""" % (local or IKE_IP[me], remote or IKE_IP[peer], "".join(
        "    %s\n" % l for l in ike_opts.splitlines()), me, peer, ch)


def ping(src, dst, count=5, interval="0.2", size=56, timeout=30):
    cp = nsx(HOST[src], "ping", "-n", "-q", "-c", str(count), "-i", interval, "-W", "1",
             "-s", str(size), dst, check=False, timeout=timeout)
    m = re.search(r"(\d+) packets transmitted, (\d+) received", cp.stdout)
    return (int(m.group(1)), int(m.group(2))) if m else (count, 0)


def tcp_transfer(nbytes=1 << 20, client="h1", server_ns="h2", addr="10.2.0.1"):
    """nbytes of random data from namespace client to addr (in server_ns)
    over TCP: (sha256 sent, sha256 received)."""
    data = os.urandom(nbytes)
    server = subprocess.Popen(
        ["ip", "netns", "exec", NS[server_ns], "python3", "-c",
         "import socket,hashlib\n"
         "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
         "s.bind(('%s', 5001)); s.listen(1); s.settimeout(60)\n" % addr +
         "print('listening', flush=True)\n"
         "c,_=s.accept(); c.settimeout(60); h=hashlib.sha256()\n"
         "while True:\n"
         "  b=c.recv(65536)\n"
         "  if not b: break\n"
         "  h.update(b)\n"
         "print(h.hexdigest(), flush=True)\n"],
        stdout=subprocess.PIPE, text=True)
    try:
        server.stdout.readline()
        nsx(client, "python3", "-c",
            "import socket,sys\n"
            "s=socket.create_connection(('%s', 5001), timeout=60)\n" % addr +
            "s.sendall(sys.stdin.buffer.read()); s.close()\n",
            input=data.decode("latin-1"), timeout=120, encoding="latin-1")
        got = server.communicate(timeout=60)[0].strip()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    return hashlib.sha256(data).hexdigest(), got


def child_keys(log):
    """charon's 'encryption initiator/responder key' dumps (chd level 4, one
    "OFFSET: HEX ..." line per 16 bytes after the header): the last of each."""
    keys, lines = {}, log.splitlines()
    for i, line in enumerate(lines):
        m = re.search(r"encryption (initiator|responder) key => (\d+) bytes", line)
        if not m:
            continue
        raw = b""
        for nxt in lines[i + 1:]:
            d = re.search(r"\s(\d+): ((?:[0-9A-F]{2} )+)", nxt + " ")
            if not d or int(d.group(1)) != len(raw):
                break
            raw += bytes.fromhex(d.group(2).replace(" ", ""))
        keys[m.group(1)] = raw[:int(m.group(2))]
    return keys


def install_plugin(s, plugin):
    """Put this build's kernel-shardgate plugin where charon loads plugins
    from (its plugin directory only). True when charon and the plugin are
    both in place."""
    have = s.check("Debian's charon and swanctl are installed (scripts/setup-strongswan.sh)",
                   os.path.exists(CHARON) and os.path.exists(SWANCTL))
    if not s.check("the kernel-shardgate plugin was built", os.path.exists(plugin), plugin):
        return False
    dest = os.path.join(PLUGIN_DIR, PLUGIN)
    if not os.path.exists(dest) or open(dest, "rb").read() != open(plugin, "rb").read():
        shutil.copyfile(plugin, dest + ".sgike")
        os.rename(dest + ".sgike", dest)
    same = s.check("this build's plugin is the one in %s" % PLUGIN_DIR,
                   open(dest, "rb").read() == open(plugin, "rb").read())
    return have and same


def body(s):
    if os.getuid() != 0:
        s.check("runs as root (namespaces, charon, plugin install)", False, "uid %d" % os.getuid())
        return
    exe = os.path.abspath(sys.argv[1])
    ctl = os.path.abspath(sys.argv[2])
    plugin = os.path.abspath(sys.argv[3])
    if not install_plugin(s, plugin):
        return

    tmp = tempfile.mkdtemp(prefix="sgike_")
    topo = Topology()
    gws, charons = {}, {}
    try:
        c0, c1 = cpus()
        for side, cpu in (("a", c0), ("b", c1)):
            gws[side] = Shardgate(exe, ctl, side, tmp, cpu).start()
        for side in ("a", "b"):
            sock_dir = os.path.join(tmp, "sgrun_" + side)
            os.makedirs(sock_dir)
            charons[side] = Charon(side, tmp, "kernel-shardgate", sock_dir).start(
                gws[side].rundir)
        children = {
            "net": (24, "esp_proposals = %s\n        rekey_time = 0" % ESP_PROPOSAL),
            # rand_bytes 0: charon's default jitter (life - rekey) would
            # exceed rekey_bytes here and wrap the soft limit
            "life": (25, "esp_proposals = %s\n        rekey_bytes = 60000\n        life_bytes = "
                     "400000\n        rand_bytes = 0\n        rekey_time = 0" % ESP_PROPOSAL),
            "ctr": (32, "esp_proposals = aes128ctr-sha256\n        rekey_time = 0"),
            # libipsec has no GMAC: shardgate to shardgate, through the plugin
            "gmac": (27, "esp_proposals = aes256gmac\n        rekey_time = 0"),
            # no rekey: the hard packet limit in shardgate ends the CHILD_SA
            "hard": (26, "esp_proposals = %s\n        rekey_packets = 0\n        life_packets = "
                     "20\n        rand_packets = 0\n        rekey_time = 0" % ESP_PROPOSAL),
        }
        for side in ("a", "b"):
            cp = charons[side].load(conns(side, children))
            s.check("charon %s: swanctl --load-all" % side, cp.returncode == 0,
                    cp.stdout + cp.stderr)
        A, B = charons["a"], charons["b"]
        s.check("charon A logs that SAs go to shardgate",
                "kernel-shardgate: SAs and policies go to shardgate" in A.logtext(),
                A.logtext()[-800:])

        s.guard("CHILD_SA up, SAs and policies in shardgate", up, s, gws, A, B)
        s.guard("traffic through shardgate", traffic, s, gws, A, B, tmp)
        s.guard("swanctl --rekey", rekey, s, gws, A, B)
        s.guard("terminate removes everything", terminate, s, gws, A, B, "net")
        s.guard("byte lifetime: shardgate's soft expiry makes charon rekey", lifetime, s,
                gws, A, B)
        s.guard("packet lifetime: shardgate's hard expiry makes charon close the CHILD_SA", hard_life, s,
                gws, A, B)
        s.guard("AES-GMAC, negotiated by IKE", gmac, s, gws, A, B)
        s.guard("unsupported proposal refused", refused_ctr, s, gws, A, B)
        s.guard("bad requests from a client change nothing", bad_requests, s, gws)
    finally:
        for c in charons.values():
            c.stop()
        for g in gws.values():
            g.stop()
        topo.close()
        if os.environ.get("SGIKE_KEEP"):
            print("# kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def wait(cond, timeout=20.0, step=0.2):
    deadline = time.time() + timeout
    while True:
        v = cond()
        if v or time.time() > deadline:
            return v
        time.sleep(step)


def sa_set(gw):
    return {(e["dir"], e["spi"]) for e in gw.sas()}


def up(s, gws, A, B):
    cp = A.swanctl("--initiate", "--child", "net", "--timeout", "20", timeout=40)
    s.check("swanctl --initiate --child net", cp.returncode == 0, cp.stdout[-1500:] + cp.stderr)
    a, b = A.installed("net"), B.installed("net")
    if not s.check("CHILD_SA net INSTALLED on both sides", len(a) == 1 and len(b) == 1,
                   "A %r B %r" % (A.children(), B.children())):
        return
    a, b = a[0], b[0]
    s.check("AES-GCM-16 128-bit negotiated", a["proto"].startswith("ESP:AES_GCM_16-128"),
            a["proto"])
    s.eq("A's inbound SPI is B's outbound", a["in"][0], b["out"][0])
    s.eq("A's outbound SPI is B's inbound", a["out"][0], b["in"][0])
    for side, c in (("a", a), ("b", b)):
        g = gws[side]
        s.eq("shardgate %s lists exactly charon's SAs" % side.upper(), sa_set(g),
             {("in", c["in"][0]), ("out", c["out"][0])})
        me, peer = LAN[side], LAN["b" if side == "a" else "a"]
        sps = {(p["dir"], p["action"], p["spi"], p["src"], p["dst"]) for p in g.sps()}
        s.eq("shardgate %s lists charon's policies (protect, both ways)" % side.upper(), sps,
             {("out", "protect", c["out"][0], me + ".0/24", peer + ".0/24"),
              ("in", "protect", c["in"][0], peer + ".0/24", me + ".0/24")})
    for side in ("a", "b"):
        st = gws[side].stats()
        s.check("shardgate %s: IKE and ARP crossed its slow path (punt_rx, punt_tx > 0, "
                "no punt drops)" % side.upper(),
                st.get("punt_rx", 0) > 0 and st.get("punt_tx", 0) > 0 and
                st.get("punt_drop") == 0, "%r" % {k: v for k, v in st.items() if "punt" in k})
    s.check("charon's inbound SPI came from shardgate's reservation range 0xc0000000..0xcfffffff",
            0xc0000000 <= a["in"][0] <= 0xcfffffff and 0xc0000000 <= b["in"][0] <= 0xcfffffff,
            "%x %x" % (a["in"][0], b["in"][0]))


def traffic(s, gws, A, B, tmp):
    cap = os.path.join(tmp, "esp.pcap")
    dump = subprocess.Popen(["ip", "netns", "exec", NS["b"], "tcpdump", "-U", "-n", "-i", "esp",
                             "-w", cap, "-c", "20", "esp"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    sent, got = ping("a", LAN["b"] + ".1", count=10)
    s.check("ping h1 -> h2 through both shardgates: every reply (%d/%d)" % (got, sent),
            sent == got and got > 0)
    sent, got = ping("b", LAN["a"] + ".1", count=5)
    s.check("ping h2 -> h1: every reply (%d/%d)" % (got, sent), sent == got and got > 0)
    try:
        dump.wait(timeout=5)
    except subprocess.TimeoutExpired:
        dump.send_signal(signal.SIGINT)
        dump.wait(timeout=5)
    # The wire's ESP from A, opened with the key charon B derived itself.
    a = A.installed("net")[0]
    keys = child_keys(B.logtext())
    frames = read_pcap(cap) or []
    from_a = [f for f in frames if len(f) > 42 and f[14 + 9] == 50 and
              f[14 + 12:14 + 16] == bytes(map(int, "172.16.0.2".split(".")))]
    s.check("ESP from shardgate A captured on the wire", len(from_a) > 0, "%d frames" % len(frames))
    opened = 0
    # A initiated: A's outbound SA carries the initiator's key (RFC 7296 §2.17)
    key = keys.get("initiator")
    for f in from_a:
        esp = f[14 + 20:]
        spi, seq = int.from_bytes(esp[:4], "big"), int.from_bytes(esp[4:8], "big")
        if spi != a["out"][0] or key is None:
            continue
        try:
            pt = gcm_open(key, spi, seq, esp[8:])
        except Exception:  # noqa: BLE001 - a bad ICV counts as not opened
            continue
        inner = pt[:len(pt) - 2 - pt[-2]]
        if pt[-1] == 4 and inner[12:16] == bytes([10, 1, 0, 1]) and inner[16:20] == bytes(
                [10, 2, 0, 1]):
            opened += 1
    s.check("every ESP frame from A opens with charon B's initiator key (%d of %d)" %
            (opened, len(from_a)), opened == len(from_a) and opened > 0,
            "keys %r" % {k: len(v) for k, v in keys.items()})
    want, got = tcp_transfer()
    s.eq("1 MiB over TCP h1 -> h2: SHA-256 matches", got, want)
    time.sleep(0.5)
    a = A.installed("net")[0]
    for d in ("in", "out"):
        q = gws["a"].req("query sa %s %d" % (d, a[d][0])).get("sa", {})
        s.check("swanctl --list-sas %s: shardgate's bytes and packets (%d/%d vs %r/%r)" % (
            d, a[d][1], a[d][2], q.get("bytes"), q.get("packets")),
            a[d][2] > 0 and (a[d][1], a[d][2]) == (q.get("bytes"), q.get("packets")))
    s.check("A sent more than 1 MiB through its outbound SA", a["out"][1] > 1 << 20, a["out"])


def rekey(s, gws, A, B):
    old = A.installed("net")[0]
    flood = subprocess.Popen(["ip", "netns", "exec", NS["h1"], "ping", "-n", "-q", "-c", "150",
                              "-i", "0.02", "-W", "2", LAN["b"] + ".1"], stdout=subprocess.PIPE,
                             text=True)
    time.sleep(0.8)
    cp = A.swanctl("--rekey", "--child", "net")
    s.check("swanctl --rekey --child net", cp.returncode == 0, cp.stdout + cp.stderr)
    new = wait(lambda: [c for c in A.installed("net") if c["in"][0] != old["in"][0]], 20)
    out = flood.communicate(timeout=60)[0]
    m = re.search(r"(\d+) packets transmitted, (\d+) received", out)
    sent, got = (int(m.group(1)), int(m.group(2))) if m else (150, 0)
    if not s.check("a new CHILD_SA net is INSTALLED", bool(new), A.children()):
        return
    new = new[0]
    s.check("new SPIs both ways", new["in"][0] != old["in"][0] and new["out"][0] != old["out"][0])
    s.check("no ping lost across the rekey (%d/%d at 50 per second)" % (got, sent),
            sent == got and sent > 0)
    gone = wait(lambda: (("in", old["in"][0]) not in sa_set(gws["a"]) and
                         ("out", old["out"][0]) not in sa_set(gws["a"])), 20)
    s.check("the old SAs are gone from shardgate A", gone, sa_set(gws["a"]))
    b = B.installed("net")
    b = [c for c in b if c["in"][0] == new["out"][0]]
    for side, c in (("a", new), ("b", b[0] if b else None)):
        if c is None:
            s.check("B has the new CHILD_SA", False, B.children())
            continue
        s.eq("shardgate %s: only the new SAs" % side.upper(), sa_set(gws[side]),
             {("in", c["in"][0]), ("out", c["out"][0])})
        s.eq("shardgate %s: its policies name the new SAs" % side.upper(),
             sorted((p["dir"], p["spi"]) for p in gws[side].sps()),
             sorted([("in", c["in"][0]), ("out", c["out"][0])]))
    sent, got = ping("a", LAN["b"] + ".1", count=5)
    s.check("ping on the new SAs (%d/%d)" % (got, sent), sent == got and got > 0)
    s.check("charon A logged the rekey onto shardgate ('rekey in' then the outbound switch)",
            "inbound SA 0x%.8x rekeys" % new["in"][0] in A.logtext() or
            "outbound SA 0x%.8x replaced" % new["out"][0] in A.logtext(), "")


def terminate(s, gws, A, B, child):
    cp = A.swanctl("--terminate", "--ike", "gw", "--timeout", "20", timeout=40)
    s.check("swanctl --terminate --ike gw", cp.returncode == 0, cp.stdout + cp.stderr)
    for side in ("a", "b"):
        empty = wait(lambda: not gws[side].sas() and not gws[side].sps(), 15)
        s.check("shardgate %s has no SA and no policy left" % side.upper(), empty,
                "%r %r" % (gws[side].sas(), gws[side].sps()))
    sent, got = ping("a", LAN["b"] + ".1", count=2)
    s.eq("no traffic passes once the tunnel is down", got, 0)


def lifetime(s, gws, A, B):
    cp = A.swanctl("--initiate", "--child", "life", "--timeout", "20", timeout=40)
    s.check("swanctl --initiate --child life", cp.returncode == 0, cp.stdout[-800:])
    first = A.installed("life")
    if not s.check("CHILD_SA life INSTALLED", len(first) == 1, A.children()):
        return
    first = first[0]
    # 60000 soft bytes: about 60 pings of 1000 bytes in each direction; the
    # pings go on past it (hard limit 400000), so the rekey runs under them
    flood = subprocess.Popen(["ip", "netns", "exec", NS["h1"], "ping", "-n", "-q", "-c", "200",
                              "-i", "0.02", "-s", "1000", "-W", "2", LAN["b"] + ".1"],
                             stdout=subprocess.PIPE, text=True)
    moved = wait(lambda: [c for c in A.installed("life") if c["in"][0] != first["in"][0]], 25)
    out = flood.communicate(timeout=60)[0]
    m = re.search(r"(\d+) packets transmitted, (\d+) received", out)
    sent, got = (int(m.group(1)), int(m.group(2))) if m else (200, 0)
    s.check("charon rekeyed CHILD_SA life after shardgate's soft byte limit", bool(moved),
            A.children())
    s.check("no ping lost across the lifetime rekey (%d/%d at 50 per second)" % (got, sent),
            sent == got and sent > 0)
    ev = gws["a"].req("events").get("events", [])
    s.check("shardgate A raised soft_expired for one of life's first SAs",
            any(e["type"] == "soft_expired" and e["spi"] in (first["in"][0], first["out"][0])
                for e in ev), ev)
    s.check("charon A logs the soft expiry it took from shardgate",
            re.search(r"kernel-shardgate: SA (in|out) 0x(%.8x|%.8x): soft_expired" % (
                first["in"][0], first["out"][0]), A.logtext()) is not None, "")
    sent, got = ping("a", LAN["b"] + ".1", count=3)
    s.check("ping after the byte-lifetime rekey (%d/%d)" % (got, sent), sent == got and got > 0)
    terminate(s, gws, A, B, "life")


def hard_life(s, gws, A, B):
    cp = A.swanctl("--initiate", "--child", "hard", "--timeout", "20", timeout=40)
    s.check("swanctl --initiate --child hard", cp.returncode == 0, cp.stdout[-800:])
    first = A.installed("hard")
    if not s.check("CHILD_SA hard INSTALLED", len(first) == 1, A.children()):
        return
    first = first[0]
    s.check("shardgate A has hard's SAs", sa_set(gws["a"]) ==
            {("in", first["in"][0]), ("out", first["out"][0])}, sa_set(gws["a"]))
    ping("a", LAN["b"] + ".1", count=30, interval="0.05", timeout=30)
    # charon closes the expired CHILD_SA and (5.9.8's default) recreates it
    old = {("in", first["in"][0]), ("out", first["out"][0])}
    gone = wait(lambda: not (old & sa_set(gws["a"])) and
                all(c["in"][0] != first["in"][0] for c in A.installed("hard")), 20)
    s.check("the hard-expired SAs are gone from charon A and shardgate A", gone,
            "%r %r" % (A.children(), sa_set(gws["a"])))
    s.check("charon A logs the hard expiry it took from shardgate",
            re.search(r"kernel-shardgate: SA (in|out) 0x(%.8x|%.8x): hard_expired" % (
                first["in"][0], first["out"][0]), A.logtext()) is not None, "")
    s.check("charon A closed the expired CHILD_SA",
            "closing expired CHILD_SA hard" in A.logtext(), "")
    again = wait(lambda: A.installed("hard"), 20)
    if again:
        c = again[0]
        s.eq("shardgate A holds only the recreated CHILD_SA's SAs", sa_set(gws["a"]),
             {("in", c["in"][0]), ("out", c["out"][0])})
    terminate(s, gws, A, B, "hard")


def gmac(s, gws, A, B):
    cp = A.swanctl("--initiate", "--child", "gmac", "--timeout", "20", timeout=40)
    s.check("swanctl --initiate --child gmac", cp.returncode == 0, cp.stdout[-1500:])
    a = A.installed("gmac")
    if not s.check("CHILD_SA gmac INSTALLED on A", len(a) == 1, A.children()):
        return
    s.check("AES-GMAC 256-bit negotiated", a[0]["proto"].startswith("ESP:NULL_AES_GMAC-256"),
            a[0]["proto"])
    for side in ("a", "b"):
        algs = {(x["dir"], x.get("aead")) for x in gws[side].sas()}
        s.eq("shardgate %s: both SAs are aes-256-gmac (list sa)" % side.upper(), algs,
             {("in", "aes-256-gmac"), ("out", "aes-256-gmac")})
    sent, got = ping("a", LAN["b"] + ".1", count=4)
    s.check("ping h1 -> h2 over AES-GMAC (%d/%d)" % (got, sent), got == sent and got > 0)
    want, got = tcp_transfer(1 << 20)
    s.eq("1 MiB over TCP h1 -> h2: SHA-256 matches", got, want)
    s.eq("shardgate B: no auth drops", gws["b"].stats().get("drop_auth", 0), 0)
    terminate(s, gws, A, B, "gmac")


def refused_ctr(s, gws, A, B):
    before = gws["a"].stats().get("drop_no_policy", 0)
    # B initiates: A, the responder, installs first and must refuse
    cp = B.swanctl("--initiate", "--child", "ctr", "--timeout", "20", timeout=40)
    s.check("swanctl --initiate --child ctr (from B) fails", cp.returncode != 0,
            cp.stdout[-800:])
    log = A.logtext()
    s.check("charon A's log says why: the algorithm is not one shardgate carries",
            re.search(r"kernel-shardgate: refusing SA 0x[0-9a-f]{8}: AES_CTR with a 20-byte key "
                      r"and HMAC_SHA2_256_128 is not an algorithm shardgate carries", log)
            is not None, "\n".join(l for l in log.splitlines() if "shardgate" in l)[-1200:])
    for side in ("a", "b"):
        s.check("shardgate %s: no SA, no policy (and so no bypass)" % side.upper(),
                not gws[side].sas() and not gws[side].sps(),
                "%r %r" % (gws[side].sas(), gws[side].sps()))
    # what B receives other than for its own kernel (IKE, ARP: punted)
    b_st = gws["b"].stats()
    b_rx = b_st.get("rx", 0) - b_st.get("punt_rx", 0)
    sent, got = ping("a", LAN["b"] + ".1", count=3)
    s.eq("h1 -> h2 gets no reply", got, 0)
    after = gws["a"].stats().get("drop_no_policy", 0)
    s.check("shardgate A dropped that traffic (no_policy: %d -> %d), sending nothing in clear"
            % (before, after), after >= before + sent)
    b_st = gws["b"].stats()
    s.eq("nothing reached shardgate B's data path while h1 pinged (rx less punt_rx)",
         b_st.get("rx", 0) - b_st.get("punt_rx", 0) - b_rx, 0)


def bad_requests(s, gws):
    g = gws["a"]
    before = (sa_set(g), g.sps())
    for line, why in (
            ("spi alloc 1 10", "256 <= MIN"),
            ("spi alloc 5000 4000", "256 <= MIN"),
            ("spi alloc 300", "usage"),
            ("spi free 12345", "not reserved"),
            ("query sa in 12345", "no such SA"),
            ("query sa sideways 1", "usage"),
            ("rekey out 12345 12346 aead_algo aes-128-gcm aead_key " + ":".join(["00"] * 20),
             "no such SA"),
            ("del sa in 12345", "no such SA")):
        r = g.req(line)
        s.check("'%s' refused: %s" % (line[:40], why), r.get("ok") is False and
                why in r.get("error", ""), r)
    r = g.req("spi alloc 4096 4096")
    s.check("spi alloc 4096 4096 reserves 4096", r.get("ok") is True and r.get("spi") == 4096, r)
    r = g.req("spi alloc 4096 4096")
    s.check("the same SPI is not handed out twice", r.get("ok") is False, r)
    r = g.req("spi free 4096")
    s.check("spi free 4096", r.get("ok") is True, r)
    s.eq("nothing changed in shardgate A", (sa_set(g), g.sps()), before)


if __name__ == "__main__":
    # SKIP (77, meson's code) only when no strongSwan source is configured to
    # build the plugin from; a configured source without a plugin is a FAIL
    if (len(sys.argv) > 3 and not os.path.exists(sys.argv[3]) and
            not os.environ.get("SGIKE_SSWAN_SRC")):
        print("SKIP ike: no strongSwan source configured (-Dstrongswan_src), so no "
              "kernel-shardgate plugin; scripts/setup.sh (as root) fetches and builds it")
        sys.exit(77)
    suite_main("ike", body)
