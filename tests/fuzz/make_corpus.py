#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""
Write the seed corpora of tests/fuzz (run it again after changing a
target's input format): valid inputs each target should get through, so
the fuzzer starts at the interesting depth.

    make_corpus.py [DIR]     (default: tests/fuzz/corpus)
"""

import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
K20 = ":".join("%02x" % b for b in range(0x10, 0x24))
K16 = ":".join("%02x" % b for b in range(0x30, 0x40))
K32 = ":".join("%02x" % b for b in range(0x40, 0x60))

CONF = {
    "tunnel.cfg": f"""sa out 5 aead_algo aes-128-gcm aead_key {K20} \\
    mode ipv4-tunnel src 172.16.0.1 dst 172.16.0.2
sa in 6 aead_algo aes-128-gcm aead_key {K20} \\
    mode ipv4-tunnel src 172.16.0.2 dst 172.16.0.1 esn replay_win 128
sp ipv4 out esp protect 5 pri 1 dst 10.2.0.0/24 sport 0:65535 dport 0:65535
sp ipv4 in esp protect 6 pri 1 dst 10.1.0.0/24 sport 0:65535 dport 0:65535
sp ipv4 out esp bypass pri 2 dst 10.9.0.0/16 proto 17 sport 53:53 dport 0:65535
rt ipv4 dst 172.16.0.2/32 port 0
rt ipv4 dst 10.1.0.0/24 port 1
neigh port 0 02:00:00:00:00:02
neigh port 1 02:00:00:00:00:11
""",
    "cbc.cfg": f"""sa out 7 cipher_algo aes-128-cbc cipher_key {K16} auth_algo sha1-hmac \\
    auth_key {K20} mode ipv4-tunnel src 172.16.0.1 dst 172.16.0.2 \\
    lifetime_soft_sec 60 lifetime_hard_sec 90
sa in 8 auth_algo sha256-hmac auth_key {K32} cipher_algo aes-256-cbc \\
    cipher_key {K32} mode transport
sa in 9 cipher_algo null auth_algo aes-gmac auth_key {K20} \\
    mode transport src 10.1.0.1 dst 10.2.0.1
sp ipv4 in esp protect 8 pri 1 dst 10.1.0.0/24
sp ipv4 out esp protect 7 pri 1 src 10.1.0.0/16 dst 10.2.0.0/16 proto 6
""",
    "natt.cfg": f"""sa out 10 aead_algo chacha20-poly1305 aead_key {K32}:01:02:03:04 \\
    mode ipv4-tunnel src 172.16.0.1 dst 198.51.100.7 udp_encap 4500 4500 tfc_pad 256 1024 mtu
sa in 11 aead_algo aes-256-gcm aead_key {K32}:05:06:07:08 mode ipv4-tunnel \\
    src 198.51.100.7 dst 172.16.0.1 udp-encap
punt port 0 tap sg0 rate 100
# a comment
sp ipv4 out esp discard pri 9 dst 10.8.0.0/16
""",
}

TUN_PEER, TUN_GW = "172.16.0.1", "172.16.0.2"


def ipv4(src, dst, proto, payload, df=False):
    s = bytes(int(x) for x in src.split("."))
    d = bytes(int(x) for x in dst.split("."))
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0x4000 if df else 0, 64,
                      proto, 0, s, d)
    c = sum(struct.unpack("!10H", hdr))
    while c >> 16:
        c = (c & 0xFFFF) + (c >> 16)
    return hdr[:10] + struct.pack("!H", ~c & 0xFFFF) + hdr[12:] + payload


def udp(sport, dport, data):
    return struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data


def trailer(body, block, nh):
    pad = (-(len(body) + 2)) % block
    return body + bytes(range(1, pad + 1)) + bytes([pad, nh])


def inbound():
    """[sa][how][seq:4][outer:20][plaintext]: one good input per SA of
    fuzz_dp.c, whose plaintext is an inner packet to the SA's policy."""
    seeds = {}
    for k in range(5):
        block = 16 if k == 1 else 4
        inner = ipv4("10.1.0.9", "10.2.%d.9" % k, 17, udp(1000 + k, 53, b"seed %d" % k))
        pt = trailer(udp(1000 + k, 53, b"seed") if k == 4 else inner, block, 17 if k == 4 else 4)
        seeds["sa%d" % k] = bytes([k, 0]) + struct.pack("<I", 1 + k) + bytes(20) + pt
    # the fuzzer's own outer header, a dummy packet, and a flipped byte
    outer = ipv4(TUN_PEER, TUN_GW, 50, b"")
    seeds["outer"] = bytes([0, 1]) + struct.pack("<I", 9) + outer + trailer(b"", 4, 59)
    seeds["flip"] = bytes([1, 2 | (40 << 2)]) + struct.pack("<I", 3) + bytes(20) + \
        trailer(ipv4("10.1.0.9", "10.2.1.9", 6, bytes(40)), 16, 4)
    return seeds


def eth(ip):
    return bytes(6) + bytes.fromhex("020000000011") + b"\x08\x00" + ip


def outbound():
    seeds = {}
    for k in range(5):
        seeds["sa%d" % k] = eth(ipv4("10.1.0.9", "10.2.%d.9" % k, 17, udp(5, 7, b"x" * (20 * k)),
                                     df=k % 2 == 1))
    seeds["bypass"] = eth(ipv4("10.1.0.9", "10.9.0.1", 6, bytes(20)))
    seeds["discard"] = eth(ipv4("10.1.0.9", "10.8.0.1", 1, bytes(8)))
    frag = bytearray(ipv4("10.1.0.9", "10.2.0.9", 17, udp(5, 7, bytes(16))))
    frag[6] = 0x20  # MF
    seeds["fragment"] = eth(bytes(frag))
    burst = b""
    for k in range(5):
        f = eth(ipv4("10.1.0.9", "10.2.%d.9" % k, 17, udp(5, 7, bytes(300))))
        burst += struct.pack("<H", len(f)) + f
    seeds["burst"] = burst
    return seeds


K20C = ":".join("%02x" % b for b in range(0x50, 0x64))
K16C = ":".join("%02x" % b for b in range(0x70, 0x80))
CTL = {
    "add": "\n".join([
        f"add sa in 5000 aead_algo aes-128-gcm aead_key {K20C} "
        "mode ipv4-tunnel src 172.16.0.9 dst 172.16.0.2",
        "add sp ipv4 in esp protect 5000 pri 20 dst 10.2.5.0/24 sport 0:65535 dport 0:65535",
        "list sa", "list sp", "query sa in 5000",
        "del sp ipv4 in esp protect 5000 pri 20 dst 10.2.5.0/24 sport 0:65535 dport 0:65535",
        "del sa in 5000", ""]),
    "rekey": "\n".join([
        f"add sa out 6000 cipher_algo aes-128-cbc cipher_key {K16C} auth_algo sha256-hmac "
        f"auth_key {K32} mode ipv4-tunnel src 172.16.0.2 dst 172.16.0.9 esn",
        "add sp ipv4 out esp protect 6000 pri 20 dst 10.1.6.0/24",
        f"rekey out 6000 6001 aead_algo aes-128-gcm aead_key {K20C}",
        f"add sa in 6100 cipher_algo null auth_algo aes-gmac auth_key {K20C} mode transport",
        f"rekey in 6100 6101 aead_algo aes-256-gcm aead_key {K32}:01:02:03:04 grace_ms 0",
        "list sessions", "events 0", ""]),
    "keymgr": "\n".join([
        "spi alloc", "spi alloc 3221225472 3221225727", "spi free 3221225472",
        f"add sa in 7000 aead_algo chacha20-poly1305 aead_key {K32}:05:06:07:08 "
        "mode ipv4-tunnel src 198.51.100.7 dst 172.16.0.2 udp_encap 4500 4500",
        "move sa in 7000 peer 198.51.100.8 port 4501", "query sa in 7000", "del sa in 7000",
        "help", ""]),
}


ARGS = {
    "basic": ["-p", "0x3", "-u", "0x1", "-f", "rules.cfg"],
    "config": ["-p", "0x3", "-u", "0x1", "-f", "rules.cfg", "--config", "(0,0,1),(1,0,1)",
               "--burst", "32", "--mtu", "9000", "-j", "9300", "--poll-sleep-us", "100"],
    "seq": ["-p", "1", "-u", "1", "-f", "r", "--seq-state", "/tmp/x.seq", "--seq-state-init",
            "--seq-reserve", "1024", "--seq-state-max", "64", "-w", "64", "-e"],
    "life": ["-p", "3", "-u", "2", "-f", "r", "--lifetime-soft", "60", "--lifetime-hard", "90",
             "--idle-timeout", "30", "--max-sa", "1000", "--strict-numa", "-P",
             "--icmp-rate", "0", "--reasm-flows", "16", "--reasm-timeout-ms", "50"],
}


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus")
    for name, seeds in (("conf", {k: v.encode() for k, v in CONF.items()}),
                        ("ctl", {k: v.encode() for k, v in CTL.items()}),
                        ("args", {k: "\0".join(v).encode() for k, v in ARGS.items()}),
                        ("inbound", inbound()), ("outbound", outbound())):
        d = os.path.join(root, name)
        os.makedirs(d, exist_ok=True)
        for f, data in seeds.items():
            with open(os.path.join(d, f), "wb") as fh:
                fh.write(data)


if __name__ == "__main__":
    main()
