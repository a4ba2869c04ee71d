#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""
Either side of the kernel-shardgate pairing dying under traffic (issue 10,
item 2 and its bad input): the topology, gateways and charons of test_ike.

  h1 --lan-- [A: shardgate | charon A] ==esp== [B: shardgate | charon B] --lan-- h2

Cases:
- shardgate A is SIGKILLed under a ping and started again with its state
  file: charon A keeps its CHILD_SA (same SPIs, no new IKE exchange), the
  plugin sees the new run and installs the SAs and policies again; A's
  outbound SA resumes above every sequence number it had reserved; pings
  pass again; swanctl's counters go on from the old ones.
- charon A is SIGKILLed (it deletes nothing) and started again: its plugin
  removes what the dead charon left in shardgate A (flush origin), the new
  CHILD_SA carries traffic, and shardgate A holds exactly the new SAs.
- churn: the CHILD_SA is torn down and brought up again in a loop while a
  ping runs; afterwards each shardgate holds exactly its charon's SAs and
  policies, and both exit on SIGTERM with every mbuf returned.
- a client's bad "client" and "flush origin" requests change nothing.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import test_ike as ike
from test_ike import NS, LAN, Charon, Shardgate, Topology, conns, cpus, ping, sa_set, wait
from sgtest import suite_main

CHILD = {"net": (24, "esp_proposals = %s\n        rekey_time = 0" % ike.ESP_PROPOSAL)}


class Gateway(Shardgate):
    """test_ike's shardgate, restartable in place: its runtime directory
    stays (charon's mount namespace holds it by a bind mount)."""

    def start(self, append=False):
        if not append:
            return super().start()
        mark = os.path.getsize(self.log)
        self.fo = open(self.log, "a")
        self.proc = subprocess.Popen(self.argv, stdout=self.fo, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        deadline = time.time() + 30
        while "shardgate: running" not in open(self.log).read()[mark:]:
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("shardgate %s did not start again: %s" % (
                    self.side, open(self.log).read()[-800:]))
            time.sleep(0.05)
        return self

    def kill(self):
        self.proc.kill()
        self.proc.wait()
        self.fo.close()

    def out_sa(self):
        return [e for e in self.sas() if e["dir"] == "out"]


def flood(count=400, interval="0.05"):
    return subprocess.Popen(["ip", "netns", "exec", NS["h1"], "ping", "-n", "-q", "-c",
                             str(count), "-i", interval, "-W", "1", LAN["b"] + ".1"],
                            stdout=subprocess.PIPE, text=True)


def flood_result(proc):
    out = proc.communicate(timeout=120)[0]
    m = re.search(r"(\d+) packets transmitted, (\d+) received", out)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def charon_sas(c):
    got = c.installed("net")
    return {("in", got[0]["in"][0]), ("out", got[0]["out"][0])} if len(got) == 1 else set()


def body(s):
    if os.getuid() != 0:
        s.check("runs as root (namespaces, charon, plugin install)", False, "uid %d" % os.getuid())
        return
    exe, ctl, plugin = (os.path.abspath(a) for a in sys.argv[1:4])
    dest = os.path.join(ike.PLUGIN_DIR, ike.PLUGIN)
    if not os.path.exists(dest) or open(dest, "rb").read() != open(plugin, "rb").read():
        shutil.copyfile(plugin, dest + ".sgike")
        os.rename(dest + ".sgike", dest)
    s.check("this build's plugin is the one in %s" % ike.PLUGIN_DIR,
            open(dest, "rb").read() == open(plugin, "rb").read())
    tmp = tempfile.mkdtemp(prefix="sgiker_")
    topo = Topology()
    gws, charons = {}, {}
    try:
        c0, c1 = cpus()
        for side, cpu in (("a", c0), ("b", c1)):
            gws[side] = Gateway(exe, ctl, side, tmp, cpu).start()
        for side in ("a", "b"):
            charons[side] = start_charon(side, tmp, gws[side], "1")
        s.guard("bad client requests change nothing", bad_client, s, gws["a"])
        s.guard("shardgate restarted under charon", gateway_restart, s, gws, charons)
        s.guard("charon restarted over shardgate", charon_restart, s, gws, charons, tmp)
        s.guard("churn under traffic", churn, s, gws, charons)
        for side in ("a", "b"):
            charons[side].stop()
        charons = {}
        for side in ("a", "b"):
            g = gws.pop(side)
            stop_proc_rc = stop_gateway(g)
            s.check("shardgate %s exits 0 on SIGTERM: every mbuf returned (rc %r)" % (
                side.upper(), stop_proc_rc), stop_proc_rc == 0,
                open(g.log).read()[-600:])
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


def start_charon(side, tmp, gw, run):
    sock_dir = os.path.join(tmp, "sgrun_%s%s" % (side, run))
    os.makedirs(sock_dir)
    c = Charon(side, os.path.join(tmp, run), "kernel-shardgate", sock_dir).start(gw.rundir)
    cp = c.load(conns(side, CHILD))
    if cp.returncode != 0:
        raise RuntimeError("swanctl --load-all: %s%s" % (cp.stdout, cp.stderr))
    return c


def stop_gateway(g):
    g.proc.send_signal(signal.SIGTERM)
    try:
        rc = g.proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        g.proc.kill()
        rc = g.proc.wait()
    g.fo.close()
    shutil.rmtree(g.rundir, ignore_errors=True)
    return rc


def bring_up(s, A, what):
    cp = A.swanctl("--initiate", "--child", "net", "--timeout", "20", timeout=40)
    return s.check("%s: swanctl --initiate --child net" % what, cp.returncode == 0,
                   cp.stdout[-1200:] + cp.stderr)


def bad_client(s, g):
    before = (sa_set(g), g.sps())
    for line, why in (("client", "usage"), ("client rules", "the rule file's"),
                      ("client BAD!", "usage"), ("client " + "x" * 40, "usage"),
                      ("flush origin nobody", "no client gave that name"),
                      ("flush origin rules", "the rule file's")):
        r = g.req(line)
        s.check("'%s' refused: %s" % (line[:30], why),
                r.get("ok") is False and why in r.get("error", ""), r)
    s.eq("nothing changed in shardgate A", (sa_set(g), g.sps()), before)


def gateway_restart(s, gws, charons):
    A, g = charons["a"], gws["a"]
    if not bring_up(s, A, "before the restart"):
        return
    child = A.installed("net")[0]
    sent, got = ping("a", LAN["b"] + ".1", count=5)
    s.check("ping before the restart (%d/%d)" % (got, sent), sent == got and got > 0)
    s.check("shardgate A lists the plugin's SAs and policies as its origin",
            {e.get("origin") for e in g.sas()} | {p.get("origin") for p in g.sps()} ==
            {"kernel-shardgate"}, "%r %r" % (g.sas(), g.sps()))
    ping_run = flood(count=200, interval="0.05")
    time.sleep(2.0)
    old_out = g.out_sa()
    counted = A.installed("net")[0]  # charon reads shardgate's counters
    g.kill()
    s.check("shardgate A killed under traffic (%d outbound SA, seq %s reserved to %s)" % (
        len(old_out), old_out[0]["seq"] if old_out else "?",
        old_out[0].get("seq_reserved") if old_out else "?"), len(old_out) == 1 and
        old_out[0]["seq"] > 0)
    time.sleep(1.0)
    g.start(append=True)
    back = wait(lambda: sa_set(g) == {("in", child["in"][0]), ("out", child["out"][0])} and
                len(g.sps()) == 2, 15)
    s.check("the plugin installed the same SAs and both policies again", back,
            "%r %r\n%s" % (sa_set(g), g.sps(), "\n".join(
                l for l in A.logtext().splitlines() if "shardgate" in l)[-1200:]))
    s.check("charon A logged the re-install",
            "shardgate restarted: installing charon's SAs and policies again" in A.logtext() and
            "2 SAs and 2 policies installed again" in A.logtext(),
            "\n".join(l for l in A.logtext().splitlines() if "shardgate" in l)[-800:])
    sent, got = flood_result(ping_run)
    s.check("the ping across the restart got replies after it (%d/%d)" % (got, sent),
            got > 0 and sent > 0)
    sent, got = ping("a", LAN["b"] + ".1", count=5)
    s.check("ping after the restart: every reply (%d/%d)" % (got, sent), sent == got and got > 0)
    now = A.installed("net")
    s.check("charon A kept its CHILD_SA: same SPIs, nothing renegotiated",
            len(now) == 1 and now[0]["in"][0] == child["in"][0] and
            now[0]["out"][0] == child["out"][0], A.children())
    new_out = g.out_sa()
    if old_out and new_out:
        s.check("A's outbound SA resumed above its old reservation (%d > %d)" % (
            new_out[0]["seq"], old_out[0]["seq_reserved"]),
            new_out[0]["seq"] > old_out[0]["seq_reserved"] >= old_out[0]["seq"])
    if now:
        s.check("swanctl's counters go on from before the restart (out %d packets > %d)" % (
            now[0]["out"][2], counted["out"][2]),
            counted["out"][2] > 0 and now[0]["out"][2] > counted["out"][2])


def charon_restart(s, gws, charons, tmp):
    g = gws["a"]
    before = sa_set(g)
    s.check("shardgate A holds the CHILD_SA's SAs", len(before) == 2, before)
    charons["a"].proc.kill()
    charons["a"].proc.wait()
    charons["a"].out.close()
    s.eq("a killed charon deletes nothing: shardgate A still holds its SAs", sa_set(g), before)
    charons["a"] = A = start_charon("a", tmp, g, "2")
    s.check("the new charon's plugin removed what the dead one left",
            not g.sas() and not g.sps() and "removed what an earlier charon left in shardgate: "
            "2 policies, 2 SAs" in A.logtext(),
            "%r %r\n%s" % (g.sas(), g.sps(), "\n".join(
                l for l in A.logtext().splitlines() if "shardgate" in l)[-800:]))
    if not bring_up(s, A, "the new charon"):
        return
    sent, got = ping("a", LAN["b"] + ".1", count=5)
    s.check("ping through the new CHILD_SA (%d/%d)" % (got, sent), sent == got and got > 0)
    s.eq("shardgate A holds exactly the new charon's SAs", sa_set(g), charon_sas(A))


def churn(s, gws, charons):
    A, B = charons["a"], charons["b"]
    run = flood(count=300, interval="0.05")
    rounds = 0
    for _ in range(4):
        cp = A.swanctl("--terminate", "--child", "net", "--timeout", "20", timeout=40)
        ok = cp.returncode == 0
        ok = ok and A.swanctl("--initiate", "--child", "net", "--timeout", "20",
                              timeout=40).returncode == 0
        rounds += ok
    sent, got = flood_result(run)
    s.eq("4 rounds of terminate + initiate under a ping", rounds, 4)
    s.check("the ping got replies during the churn (%d/%d)" % (got, sent), got > 0)
    for side, c in (("a", A), ("b", B)):
        g = gws[side]
        same = wait(lambda: sa_set(g) == charon_sas(c) and len(charon_sas(c)) == 2 and
                    {p["spi"] for p in g.sps()} == {spi for _, spi in charon_sas(c)}, 15)
        s.check("shardgate %s holds exactly its charon's SAs, its policies name them" %
                side.upper(), same, "%r %r %r" % (sa_set(g), g.sps(), c.children()))
        n = sum(x["sa"] for x in g.req("list sessions").get("sessions", []))
        s.eq("shardgate %s: sessions count the SAs it holds" % side.upper(), n, len(sa_set(g)))
    sent, got = ping("a", LAN["b"] + ".1", count=5)
    s.check("ping after the churn (%d/%d)" % (got, sent), sent == got and got > 0)


if __name__ == "__main__":
    if (len(sys.argv) > 3 and not os.path.exists(sys.argv[3]) and
            not os.environ.get("SGIKE_SSWAN_SRC")):
        print("SKIP ike_restart: no strongSwan source configured (-Dstrongswan_src), so no "
              "kernel-shardgate plugin; scripts/setup.sh (as root) fetches and builds it")
        sys.exit(77)
    suite_main("ike_restart", body)
