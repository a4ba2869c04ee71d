#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""
Traffic and rule files for shardgate's perf scenarios (perf/run.sh).

Writes into OUT_DIR:
  rules-a.cfg       gateway A: site A (10.1.0.0/16) behind port 1, one ESP
                    session per remote site; the device under test of the
                    outbound and inbound scenarios, the encrypting end of
                    the tunnel scenario
  rules-b.cfg       gateway B: the peers' side of the same sessions (it
                    decrypts what A encrypts); the far end of the tunnel
  out-SIZE.pcap     plaintext UDP from site A to every remote site, many
                    flows per session: what gateway A's protected port gets
  in-SIZE.pcap      ESP from every peer to gateway A (AES-128-GCM, valid
                    ICVs, per-SA sequence numbers 1, 2, ...): what gateway
                    A's unprotected port gets
  manifest.json     what was made, for the harness and the report

SIZE is 64, 128, 512, 1420 or imix. A frame size is the plaintext Ethernet
frame on the protected side, FCS included (RFC 2544 style; the pcap holds
SIZE - 4 bytes): the same number pktgen's "set P size" takes. The ESP frame
carrying it on the unprotected side is 54..57 bytes longer. IMIX is
64:570:1420 in the ratio 7:4:1 (simple IMIX, its large frame cut to 1420 so
that the ESP packet fits a 1500-byte MTU).

Session i (0 <= i < N):
  remote site   10.(128 + i/256).(i%256).0/24
  peer          172.20.0.0 + i + 1 (gateway B answers for every peer)
  SPI A->B      0x10000 + i (sa out on A, sa in on B)
  SPI B->A      0x20000 + i (sa in on A, sa out on B)
Gateway A's tunnel address is 172.16.0.1.

Keys are fresh random bytes on every run (static keys restart their GCM
nonces at every gateway start, so a key must never be used twice); the
rule files are written 0600 and belong to the run directory. Every inbound
capture is checked once against Scapy's own ESP implementation.

Loops: a capture replayed in a loop repeats its sequence numbers, so the
gateway must run with the replay check off (-w 0) for it; the harness does
and says so. Each SA's numbers start at 1 and never get near 2^32.
"""

import argparse
import json
import os
import random
import struct
import sys

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SIZES = ["64", "128", "512", "1420", "imix"]
IMIX = [(64, 7), (570, 4), (1420, 1)]
FCS = 4
ETH, IP4, UDP = 14, 20, 8
ESP_HDR, ESP_IV, ESP_ICV, ESP_TRAILER = 8, 8, 16, 2
GW_A = "172.16.0.1"
SITE_A = "10.1.0.0/16"
PEER_BASE = (172 << 24) | (20 << 16)
SPI_AB, SPI_BA = 0x10000, 0x20000
MAX_SESSIONS = 16384
# MACs: gateway ports are addressed by the frames, the next hops by the rules.
MAC_GW = {0: "02:00:00:00:aa:00", 1: "02:00:00:00:aa:01"}
MAC_NEXT_HOP = {0: "02:00:00:00:bb:00", 1: "02:00:00:00:bb:01"}


def ip_str(a):
    return "%d.%d.%d.%d" % (a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255)


def ip_int(s):
    a, b, c, d = (int(x) for x in s.split("."))
    return (a << 24) | (b << 16) | (c << 8) | d


def site_b(i):
    """First address of session i's remote site (a /24)."""
    return ((10 << 24) | ((128 + (i >> 8)) << 16) | ((i & 255) << 8))


def peer(i):
    return PEER_BASE + i + 1


def mac_bytes(m):
    return bytes(int(x, 16) for x in m.split(":"))


def ip_cksum(hdr):
    s = sum(struct.unpack("!%dH" % (len(hdr) // 2), hdr))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ipv4(src, dst, proto, payload, ident=0, ttl=64, tos=0):
    h = struct.pack("!BBHHHBBHII", 0x45, tos, IP4 + len(payload), ident, 0, ttl, proto, 0,
                    src, dst)
    c = ip_cksum(h)
    return h[:10] + struct.pack("!H", c) + h[12:] + payload


def udp_ip(src, dst, sport, dport, ip_len, ident):
    """An IPv4/UDP packet of exactly ip_len bytes (UDP checksum 0: allowed in IPv4)."""
    body = bytes((ident + k) & 255 for k in range(ip_len - IP4 - UDP))
    u = struct.pack("!HHHH", sport, dport, UDP + len(body), 0) + body
    return ipv4(src, dst, 17, u, ident=ident & 0xFFFF)


def eth(dst, src, payload):
    return mac_bytes(dst) + mac_bytes(src) + b"\x08\x00" + payload


def esp_pad(n):
    """Pad so that payload + pad + 2 is a multiple of 4 (RFC 4303 §2.4)."""
    return (-(n + ESP_TRAILER)) % 4


def esp_encrypt(key, salt, spi, seq, inner):
    """RFC 4303 tunnel-mode ESP with AES-GCM (RFC 4106): SPI, seq, IV, C, ICV."""
    pad = esp_pad(len(inner))
    pt = inner + bytes(range(1, pad + 1)) + bytes([pad, 4])  # next header 4: IPv4
    iv = struct.pack("!Q", seq)
    aad = struct.pack("!II", spi, seq)
    ct = AESGCM(key).encrypt(salt + iv, pt, aad)
    return struct.pack("!II", spi, seq) + iv + ct


def crypto_len(frame_size):
    """Bytes the AEAD transforms for one plaintext frame of frame_size (FCS incl.)."""
    inner = frame_size - FCS - ETH
    return inner + esp_pad(inner) + ESP_TRAILER


def size_list(tag, n, rng):
    if tag != "imix":
        return [int(tag)] * n
    pattern = []
    for sz, w in IMIX:
        pattern += [sz] * w
    out = [pattern[k % len(pattern)] for k in range(n)]
    rng.shuffle(out)
    return out


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for k, fr in enumerate(frames):
            f.write(struct.pack("<IIII", 1700000000 + k // 1000000, k % 1000000, len(fr),
                                len(fr)))
            f.write(fr)


def hexkey(k):
    return ":".join("%02x" % b for b in k)


def write_rules(path, side, n, keys_ab, keys_ba, args):
    """Rule file of gateway A or B (ipsec-secgw grammar)."""
    lines = ["# shardgate perf rules, gateway %s: %d sessions, AES-128-GCM." % (side.upper(), n),
             "# Made by perf/tools/gen_traffic.py with fresh random keys: do not reuse.",
             "# Ports: 0 unprotected (ESP), 1 protected (plaintext)."]
    for i in range(n):
        sb = ip_str(site_b(i)) + "/24"
        p = ip_str(peer(i))
        ab = "aead_algo aes-128-gcm aead_key %s mode ipv4-tunnel" % hexkey(keys_ab[i])
        ba = "aead_algo aes-128-gcm aead_key %s mode ipv4-tunnel" % hexkey(keys_ba[i])
        if side == "a":
            lines.append("sa out %d %s src %s dst %s" % (SPI_AB + i, ab, GW_A, p))
            lines.append("sa in %d %s src %s dst %s" % (SPI_BA + i, ba, p, GW_A))
            lines.append("sp ipv4 out esp protect %d pri 1 src %s dst %s sport 0:65535 "
                         "dport 0:65535" % (SPI_AB + i, SITE_A, sb))
            lines.append("sp ipv4 in esp protect %d pri 1 src %s dst %s sport 0:65535 "
                         "dport 0:65535" % (SPI_BA + i, sb, SITE_A))
        else:
            lines.append("sa in %d %s src %s dst %s" % (SPI_AB + i, ab, GW_A, p))
            lines.append("sa out %d %s src %s dst %s" % (SPI_BA + i, ba, p, GW_A))
            lines.append("sp ipv4 in esp protect %d pri 1 src %s dst %s sport 0:65535 "
                         "dport 0:65535" % (SPI_AB + i, SITE_A, sb))
            lines.append("sp ipv4 out esp protect %d pri 1 src %s dst %s sport 0:65535 "
                         "dport 0:65535" % (SPI_BA + i, sb, SITE_A))
    if side == "a":
        lines.append("rt ipv4 dst 172.20.0.0/16 port 0")
        lines.append("rt ipv4 dst %s port 1" % SITE_A)
    else:
        lines.append("rt ipv4 dst %s/32 port 0" % GW_A)
        lines.append("rt ipv4 dst 10.128.0.0/9 port 1")
    lines.append("neigh port 0 %s" % args.neigh0)
    lines.append("neigh port 1 %s" % args.neigh1)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(lines) + "\n")


def flow_of(k, flows):
    return k % flows


def make_out(tag, n, pkts, flows, rng):
    """Plaintext frames site A -> remote sites, sessions in shuffled order."""
    sizes = size_list(tag, pkts, rng)
    order = [k % n for k in range(pkts)]
    rng.shuffle(order)
    frames = []
    for k in range(pkts):
        i = order[k]
        f = flow_of(k, flows)
        src = (10 << 24) | (1 << 16) | (1 + (f % 65000))
        dst = site_b(i) + 1 + (f % 254)
        ip = udp_ip(src, dst, 1024 + (f % 60000), 5001, sizes[k] - FCS - ETH, k)
        frames.append(eth(MAC_GW[1], MAC_NEXT_HOP[1], ip))
    return frames, sizes


def make_in(tag, n, pkts, flows, rng, keys_ba):
    """ESP frames peer i -> gateway A, carrying site B -> site A plaintext."""
    sizes = size_list(tag, pkts, rng)
    order = [k % n for k in range(pkts)]
    rng.shuffle(order)
    seq = [0] * n
    frames = []
    gw = ip_int(GW_A)
    for k in range(pkts):
        i = order[k]
        f = flow_of(k, flows)
        seq[i] += 1
        src = site_b(i) + 1 + (f % 254)
        dst = (10 << 24) | (1 << 16) | (1 + (f % 65000))
        inner = udp_ip(src, dst, 5001, 1024 + (f % 60000), sizes[k] - FCS - ETH, k)
        key = keys_ba[i]
        esp = esp_encrypt(key[:16], key[16:], SPI_BA + i, seq[i], inner)
        frames.append(eth(MAC_GW[0], MAC_NEXT_HOP[0], ipv4(peer(i), gw, 50, esp, ident=k)))
    return frames, sizes, max(seq)


def scapy_check(frame, key, spi):
    """Decrypt one capture frame with Scapy's ESP (an implementation not ours)."""
    import logging
    logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
    from scapy.layers.inet import IP
    from scapy.layers.ipsec import ESP, SecurityAssociation
    from scapy.layers.l2 import Ether
    pkt = Ether(frame)
    sa = SecurityAssociation(ESP, spi=spi, crypt_algo="AES-GCM", crypt_key=key,
                             tunnel_header=IP(src=pkt[IP].src, dst=pkt[IP].dst))
    inner = sa.decrypt(pkt[IP])
    return inner.haslayer("UDP")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--sessions", type=int, default=1024, help="ESP sessions (default 1024)")
    ap.add_argument("--packets", type=int, default=4096, help="frames per capture (default 4096)")
    ap.add_argument("--flows", type=int, default=4096,
                    help="UDP flows (address/port pairs) across the sessions (default 4096)")
    ap.add_argument("--sizes", default=",".join(SIZES), help="comma list of " + ",".join(SIZES))
    ap.add_argument("--dirs", default="out,in", help="captures to make: out, in or both")
    ap.add_argument("--seed", type=int, default=1, help="shuffle seed (keys are always random)")
    ap.add_argument("--neigh0", default=MAC_NEXT_HOP[0], help="next hop MAC of port 0")
    ap.add_argument("--neigh1", default=MAC_NEXT_HOP[1], help="next hop MAC of port 1")
    ap.add_argument("--no-check", action="store_true", help="skip the Scapy cross-check")
    args = ap.parse_args()

    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    bad = [s for s in sizes if s not in SIZES]
    if bad:
        ap.error("unknown size %s (choose from %s)" % (",".join(bad), ",".join(SIZES)))
    if not 1 <= args.sessions <= MAX_SESSIONS:
        ap.error("--sessions must be 1..%d" % MAX_SESSIONS)
    if args.packets < 1 or args.flows < 1:
        ap.error("--packets and --flows must be positive")
    dirs = [d for d in args.dirs.split(",") if d]
    os.makedirs(args.out, mode=0o700, exist_ok=True)

    n = args.sessions
    keys_ab = [os.urandom(20) for _ in range(n)]
    keys_ba = [os.urandom(20) for _ in range(n)]
    write_rules(os.path.join(args.out, "rules-a.cfg"), "a", n, keys_ab, keys_ba, args)
    write_rules(os.path.join(args.out, "rules-b.cfg"), "b", n, keys_ab, keys_ba, args)

    man = {"sessions": n, "packets": args.packets, "flows": args.flows, "aead": "aes-128-gcm",
           "frame_size_note": "plaintext Ethernet frame incl. 4-byte FCS", "imix": IMIX,
           "gw_a": GW_A, "site_a": SITE_A, "captures": {}}
    for tag in sizes:
        for d in dirs:
            rng = random.Random("%d-%s-%s" % (args.seed, d, tag))
            if d == "out":
                frames, fs = make_out(tag, n, args.packets, args.flows, rng)
                max_seq = 0
            elif d == "in":
                frames, fs, max_seq = make_in(tag, n, args.packets, args.flows, rng, keys_ba)
                if not args.no_check:
                    spi = struct.unpack("!I", frames[0][34:38])[0]
                    if not scapy_check(frames[0], keys_ba[spi - SPI_BA], spi):
                        sys.exit("gen_traffic: Scapy could not decrypt our own ESP")
            else:
                ap.error("unknown direction %s" % d)
            path = os.path.join(args.out, "%s-%s.pcap" % (d, tag))
            write_pcap(path, frames)
            man["captures"]["%s-%s" % (d, tag)] = {
                "file": os.path.basename(path), "frames": len(frames),
                "mean_frame": sum(fs) / len(fs),
                "mean_wire_frame": sum(len(f) + FCS for f in frames) / len(frames),
                "mean_crypto_len": sum(crypto_len(s) for s in fs) / len(fs),
                "max_seq": max_seq}
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(man, f, indent=1)
    print("gen_traffic: %d sessions, %d frames per capture, sizes %s, in %s" %
          (n, args.packets, ",".join(sizes), args.out))


if __name__ == "__main__":
    main()
