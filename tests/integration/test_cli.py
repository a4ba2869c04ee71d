#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""
Command line and rule file errors (issue 2 item 4 and "Bad input").

A bad rule file or option must exit with status 2, say where (FILE:LINE: or
the option) and why, and do so before EAL touches a device: the tx_pcap file
named in --vdev must not exist afterwards, nor the EAL runtime directory.
Error messages must never echo key material. --help exits 0 and lists every
ipsec-secgw option shardgate takes.
"""

import re

from sgtest import suite_main, base_rules, run_cli, hexkey, PEER, GW

KEY16 = bytes(range(0x71, 0x81)) + bytes.fromhex("e0e1e2e3")
KEY32 = bytes(range(0x81, 0xA1)) + bytes.fromhex("e4e5e6e7")
GOOD_SA = "sa in 77 aead_algo aes-128-gcm aead_key %s mode ipv4-tunnel src %s dst %s" % (
    hexkey(KEY16), PEER, GW)
APP = ["--", "-p", "0x3", "-u", "0x1", "-f", "RULES"]

# (label, bad line(s) appended to the good base file, words the reason must contain)
# The error is reported on the last line appended.
RULE_ERRORS = [
    ("unknown keyword on an sa line", [GOOD_SA + " colour blue"], ["colour"]),
    ("ipsec-secgw 3DES-CBC + SHA1 SA (cipher_algo 3des-cbc)",
     ["sa out 5 cipher_algo 3des-cbc cipher_key %s auth_algo sha1-hmac auth_key %s "
      "mode ipv4-tunnel src %s dst %s" % (hexkey(bytes(24)), hexkey(bytes(20)), GW, PEER)],
     ["cipher_algo 3des-cbc is not supported yet"]),
    ("AES-CBC without an auth_algo",
     ["sa out 5 cipher_algo aes-128-cbc cipher_key %s mode ipv4-tunnel src %s dst %s"
      % (hexkey(bytes(16)), GW, PEER)], ["needs an auth_algo"]),
    ("aes-128-gcm with a 36-byte key",
     ["sa in 78 aead_algo aes-128-gcm aead_key %s mode ipv4-tunnel src %s dst %s"
      % (hexkey(KEY32), PEER, GW)], ["key"]),
    ("aes-256-gcm with a 20-byte key",
     ["sa in 79 aead_algo aes-256-gcm aead_key %s mode ipv4-tunnel src %s dst %s"
      % (hexkey(KEY16), PEER, GW)], ["key"]),
    ("aes-192-gcm with a 16-byte key",
     ["sa in 80 aead_algo aes-192-gcm aead_key %s mode ipv4-tunnel src %s dst %s"
      % (hexkey(bytes(16) + b"\x01\x02\x03\x04"), PEER, GW)], ["aes-192-gcm", "28 bytes"]),
    ("transport mode with ESP in UDP (refused)",
     ["sa in 81 aead_algo aes-128-gcm aead_key %s mode transport udp-encap" % hexkey(KEY16)],
     ["mode transport with udp_encap is not supported yet"]),
    ("bad IPv4 address 300.1.1.1",
     ["sa in 82 aead_algo aes-128-gcm aead_key %s mode ipv4-tunnel src 300.1.1.1 dst %s"
      % (hexkey(KEY16), GW)], ["300.1.1.1"]),
    ("the same inbound SPI twice", [GOOD_SA, GOOD_SA], ["77"]),
    ("sp protect naming an SA that does not exist",
     ["sp ipv4 out esp protect 777 pri 1 dst 10.3.0.0/24 sport 0:65535 dport 0:65535"],
     ["777"]),
    ("sp with a reversed port range",
     ["sp ipv4 out esp bypass pri 1 dst 10.3.0.0/24 sport 100:10 dport 0:65535"], ["100"]),
    ("sp with prefix length 33", ["sp ipv4 out esp bypass pri 1 dst 10.3.0.0/33"], ["33"]),
    ("sp ipv6 (not implemented)",
     ["sp ipv6 out esp bypass pri 1 dst 2001:db8::/32 sport 0:65535 dport 0:65535"], ["ipv6"]),
    ("rt to port 3, outside -p 0x3", ["rt ipv4 dst 10.4.0.0/16 port 3"], ["port 3"]),
    ("neigh with a malformed MAC", ["neigh port 0 02:00:zz:00:00:01"], ["02:00:zz:00:00:01"]),
    ("unknown rule type", ["route ipv4 dst 10.4.0.0/16 port 0"], ["route"]),
    ("esn with a starting value past 2^64 - 2", [GOOD_SA + " esn 18446744073709551615"],
     ["esn", "18446744073709551615"]),
    ("tfc_pad on an inbound SA (padding is the sender's)", [GOOD_SA + " tfc_pad 1000"],
     ["tfc_pad", "outbound"]),
    ("tfc_pad sizes out of order",
     ["sa out 83 aead_algo aes-128-gcm aead_key %s mode ipv4-tunnel src %s dst %s tfc_pad 900 500"
      % (hexkey(KEY16), GW, PEER)], ["tfc_pad", "500", "900"]),
    ("a file that ends inside a continued line", [GOOD_SA + " \\"], []),
]

# (label, application args, words the message must contain)
OPT_ERRORS = [
    ("-w 99999999 (above the largest window)", ["-w", "99999999"], ["-w"]),
    ("-w -1", ["-w", "-1"], ["-w"]),
    ("unknown option --bogus", ["--bogus"], ["--bogus"]),
    ("unknown short option -z", ["-z"], ["-z"]),
    ("-u 0x2 outside -p 0x1", ["-p", "0x1", "-u", "0x2"], ["-u"]),
    ("-p zz", ["-p", "zz"], ["-p"]),
    ("--burst 0", ["--burst", "0"], ["--burst"]),
    ("--burst 100000", ["--burst", "100000"], ["--burst"]),
    ("--config with a missing parenthesis", ["--config", "(0,0,1"], ["--config"]),
    ("-e with -w 0 (ESN needs a window)", ["-e", "-w", "0"], ["-e"]),
    ("-j 2048 with --mtu 9000 (a frame would not fit one mbuf)",
     ["-j", "2048", "--mtu", "9000"], ["-j 2048", "9078"]),
    ("ipsec-secgw --single-sa (not implemented)", ["--single-sa", "1"], ["--single-sa"]),
    ("-f without a value", ["-f"], ["-f"]),
]


def check_refused(s, label, rc, out, err, tx, rdir, words):
    s.eq("%s: exit status 2" % label, rc, 2)
    msg = (err or "") + (out or "")
    missing = [w for w in words if w not in msg]
    s.check("%s: message names %s" % (label, words), not missing and err.strip() != "",
            "missing %r in stderr %r" % (missing, err.strip()[-300:]))
    s.check("%s: no device touched (no tx_pcap file, no EAL runtime dir)" % label,
            not tx and not rdir, "tx_pcap created: %s, runtime dir created: %s" % (tx, rdir))


def body(s):
    s.section("rule file errors: FILE:LINE: and a reason, status 2, before EAL")
    base = base_rules()
    base_lines = base.count("\n")
    for label, lines, words in RULE_ERRORS:
        text = base + "\n".join(lines) + "\n"
        line = base_lines + len(lines)
        rc, out, err, tx, rdir, path = run_cli(s.exe, APP, rules=text)
        check_refused(s, label, rc, out, err, tx, rdir, words)
        s.check("%s: stderr has %s:%d:" % (label, "rules.cfg", line),
                re.search(re.escape(path) + ":%d:" % line, err or "") is not None,
                "stderr %r" % (err or "").strip()[-300:])
        keys = [hexkey(KEY16), hexkey(KEY32), hexkey(KEY16)[:23], hexkey(KEY32)[:23],
                KEY16.hex(), KEY32.hex()]
        leaked = [k for k in keys if k in (out or "") + (err or "")]
        s.check("%s: no key material in the messages" % label, not leaked, "echoed %r" % leaked)

    s.section("missing rule file")
    rc, out, err, tx, rdir, _ = run_cli(s.exe, ["--", "-p", "0x3", "-u", "0x1", "-f",
                                                "/nonexistent/sg_rules.cfg"])
    check_refused(s, "-f /nonexistent/sg_rules.cfg", rc, out, err, tx, rdir,
                  ["/nonexistent/sg_rules.cfg"])

    s.section("option errors: the option named, status 2, before EAL")
    for label, args, words in OPT_ERRORS:
        app = ["--", "-p", "0x3", "-u", "0x1", "-f", "RULES"]
        # later options override -p/-u; -f stays unless the case is about it
        if args[0] in ("-f",):
            app = ["--", "-p", "0x3", "-u", "0x1"]
        if args[0] == "-p":
            app = ["--", "-f", "RULES"]
        rc, out, err, tx, rdir, _ = run_cli(s.exe, app + args, rules=base)
        check_refused(s, label, rc, out, err, tx, rdir, words)
    for arg in ("(0,0,1", "(0", "(0,0,1),(1,"):
        rc, out, err, tx, rdir, _ = run_cli(s.exe, APP + ["--config", arg], rules=base)
        m = re.search(r"near '(.*)'", err or "")
        s.check("--config %r: the message quotes only its own argument" % arg,
                rc == 2 and (m is None or m.group(1) in arg),
                "status %r, stderr %r (text from past the end of the argument)" % (rc, err.strip()))
    rc, out, err, tx, rdir, _ = run_cli(s.exe, ["--", "-p", "0x3", "-u", "0x1"], rules=base)
    check_refused(s, "no -f at all", rc, out, err, tx, rdir, ["-f"])
    rc, out, err, tx, rdir, _ = run_cli(s.exe, ["--", "-u", "0x1", "-f", "RULES"], rules=base)
    check_refused(s, "no -p at all", rc, out, err, tx, rdir, ["-p"])
    rc, out, err, tx, rdir, _ = run_cli(s.exe, [], rules=base)
    s.eq("EAL options without '--' and application options: exit status 2", rc, 2)
    s.check("... and nothing touched", not tx and not rdir)

    s.section("--help and --version")
    rc, out, err, tx, rdir, _ = run_cli(s.exe, ["--help"], eal=[])
    s.eq("shardgate --help: exit status 0", rc, 0)
    opts = ["-p", "-P", "-u", "-f", "-w", "-e", "--config", "--burst", "--mtu",
            "--poll-sleep-us"]
    missing = [o for o in opts if not re.search(r"(^|[\s\[,])" + re.escape(o) + r"\b", out)]
    s.check("--help lists %s" % " ".join(opts), not missing, "missing %r" % missing)
    rc, out, err, tx, rdir, _ = run_cli(s.exe, ["--", "--help"], rules=base)
    s.eq("EAL args -- --help: exit status 0", rc, 0)
    s.check("EAL args -- --help: prints the usage, touches no device",
            "-p PORTMASK" in out and not tx and not rdir, "tx %s rdir %s" % (tx, rdir))
    rc, out, err, tx, rdir, _ = run_cli(s.exe, ["--", "--version"], rules=base)
    s.check("--version: exit status 0 and a version",
            rc == 0 and re.search(r"\d+\.\d+", out or "") is not None, "%r %r" % (rc, out))


if __name__ == "__main__":
    suite_main("cli", body)
