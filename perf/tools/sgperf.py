#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""
perf/run.sh's helper: DPDK telemetry, measurement windows, the results
table and plots. Standard library only, except matplotlib for the plots
(Debian's python3-matplotlib; run with /usr/bin/python3).

  sgperf.py wait PREFIX --pid PID [--timeout S] [--cmd /shardgate/stats]
  sgperf.py measure --out FILE --warmup S --duration S [--gw NAME=PREFIX ...]
                    [--gen PREFIX] [--meta KEY=VALUE ...]
  sgperf.py report RUN_DIR [--no-plots] [--img-dir DIR]
  sgperf.py check RUN_DIR [--scenarios LIST] [--sizes LIST]    (smoke checks)
  sgperf.py mac PREFIX PORT                     (a port's MAC, from telemetry)
  sgperf.py cpu-busy CPU[,CPU...] [--sample S]  (prints per-CPU busy %)
"""

import argparse
import csv
import glob
import json
import os
import socket
import statistics
import sys
import time

STAGES = ["rx", "parse", "lookup", "crypto", "encap_decap", "route", "tx"]
SIZES = ["64", "128", "512", "1420", "imix"]
SCENARIOS = ["outbound", "inbound", "tunnel"]


def runtime_dir(prefix):
    base = "/var/run/dpdk" if os.getuid() == 0 else \
        os.path.join(os.environ.get("XDG_RUNTIME_DIR", "/tmp"), "dpdk")
    return os.path.join(base, prefix)


class Telemetry:
    """DPDK telemetry v2: SOCK_SEQPACKET, a JSON hello, one JSON reply per command."""

    def __init__(self, prefix, timeout=10.0, pid=None):
        path = os.path.join(runtime_dir(prefix), "dpdk_telemetry.v2")
        deadline = time.time() + timeout
        last = None
        while True:
            if pid is not None and not alive(pid):
                raise RuntimeError("process %d exited before its telemetry came up" % pid)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            try:
                s.settimeout(5.0)
                s.connect(path)
                hello = json.loads(s.recv(65536).decode())
                self.maxlen = max(int(hello.get("max_output_len", 16384)), 1 << 16)
                self.sock = s
                return
            except (OSError, ValueError) as e:
                last = e
                s.close()
            if time.time() > deadline:
                raise TimeoutError("no telemetry at %s after %.0f s (%s)" % (path, timeout, last))
            time.sleep(0.05)

    def cmd(self, c):
        self.sock.send(c.encode())
        reply = json.loads(self.sock.recv(self.maxlen * 4).decode())
        return reply.get(c.split(",", 1)[0])

    def close(self):
        self.sock.close()


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


# --------------------------------------------------------------------- wait
def cmd_wait(a):
    try:
        t = Telemetry(a.prefix, timeout=a.timeout, pid=a.pid)
    except TimeoutError as e:
        print("sgperf: %s" % e, file=sys.stderr)
        return 2
    except RuntimeError as e:
        print("sgperf: %s" % e, file=sys.stderr)
        return 1
    try:
        # Up means answering: shardgate registers its commands before it runs.
        deadline = time.time() + a.timeout
        while a.probe:
            try:
                if t.cmd(a.probe) is not None:
                    break
            except (OSError, ValueError):
                pass  # it went away: said below
            if a.pid and not alive(a.pid):
                print("sgperf: process %d exited during start-up" % a.pid, file=sys.stderr)
                return 1
            if time.time() > deadline:
                print("sgperf: %s never answered %s" % (a.prefix, a.probe), file=sys.stderr)
                return 2
            time.sleep(0.05)
    finally:
        t.close()
    return 0


# ------------------------------------------------------------------ measure
def ports_of(t):
    lst = t.cmd("/ethdev/list") or []
    return [int(p) for p in lst]


def snapshot(gws, gen):
    """Counters of every process, read back to back."""
    snap = {"t": time.time(), "gw": {}, "gen": None}
    for name, t in gws.items():
        lc = t.cmd("/shardgate/lcores") or {}
        ports = {}
        for p in ports_of(t):
            ports[str(p)] = t.cmd("/ethdev/stats,%d" % p)
        snap["gw"][name] = {"lcores": lc, "ports": ports}
    if gen is not None:
        snap["gen"] = {str(p): gen.cmd("/ethdev/stats,%d" % p) for p in ports_of(gen)}
    return snap


def delta_worker(a, b):
    """Sum of every worker's counters at b minus at a (numbers only)."""
    out = {}
    for lcore, v in b.items():
        if not isinstance(v, dict):
            continue
        old = a.get(lcore, {})
        for k, x in v.items():
            if isinstance(x, (int, float)) and k not in ("lcore", "socket", "sa_count",
                                                         "cycles_per_packet"):
                out[k] = out.get(k, 0) + x - old.get(k, 0)
    return out


def delta_port(a, b):
    return {k: b[k] - a.get(k, 0) for k in b if isinstance(b[k], (int, float))}


def proc_ticks(pids):
    """CPU time (clock ticks) our processes used, all threads."""
    n = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                v = f.read().rsplit(")", 1)[1].split()
            n += int(v[11]) + int(v[12])
        except (OSError, ValueError, IndexError):
            pass
    return n


def machine_ticks():
    """(busy, total) clock ticks of all CPUs, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return sum(v) - idle, sum(v)


def cmd_measure(a):
    gws, gen = {}, None
    pids = [int(p) for p in (a.pids or "").split(",") if p]
    try:
        for spec in a.gw or []:
            name, prefix = spec.split("=", 1)
            gws[name] = Telemetry(prefix, timeout=10)
        if a.gen:
            gen = Telemetry(a.gen, timeout=10)
        time.sleep(a.warmup)
        m0, p0 = machine_ticks(), proc_ticks(pids)
        s0 = snapshot(gws, gen)
        time.sleep(a.duration)
        s1 = snapshot(gws, gen)
        m1, p1 = machine_ticks(), proc_ticks(pids)
    finally:
        for t in gws.values():
            t.close()
        if gen is not None:
            gen.close()
    dt = s1["t"] - s0["t"]
    res = {"meta": dict(kv.split("=", 1) for kv in (a.meta or [])), "dt": dt, "gw": {},
           "gen": None}
    # Work of other processes during the window, in % of the machine: on a
    # shared host, the reason a figure may be off.
    if pids and m1[1] > m0[1]:
        res["foreign_load_pct"] = max(0.0, 100.0 * ((m1[0] - m0[0]) - (p1 - p0)) /
                                      (m1[1] - m0[1]))
    for name in gws:
        l0, l1 = s0["gw"][name]["lcores"], s1["gw"][name]["lcores"]
        w = delta_worker(l0, l1)
        w["tsc_hz"] = l1.get("tsc_hz", 0)
        w["workers"] = sum(1 for v in l1.values() if isinstance(v, dict))
        ports = {p: delta_port(s0["gw"][name]["ports"][p] or {}, v or {})
                 for p, v in s1["gw"][name]["ports"].items()}
        res["gw"][name] = {"worker": w, "ports": ports}
    if gen is not None:
        res["gen"] = {p: delta_port(s0["gen"][p] or {}, v or {}) for p, v in s1["gen"].items()}
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)
    return 0


def cmd_measure_port(a):
    """One port's counters over the window, from any DPDK process's telemetry
    (the ipsec-secgw baseline: it has no per-stage counters)."""
    t = Telemetry(a.prefix, timeout=10)
    try:
        time.sleep(a.warmup)
        s0, t0 = t.cmd("/ethdev/stats,%d" % a.port), time.time()
        time.sleep(a.duration)
        s1, t1 = t.cmd("/ethdev/stats,%d" % a.port), time.time()
    finally:
        t.close()
    if not s0 or not s1:
        print("sgperf: %s has no port %d" % (a.prefix, a.port), file=sys.stderr)
        return 1
    res = {"meta": dict(kv.split("=", 1) for kv in (a.meta or [])), "dt": t1 - t0,
           "port": delta_port(s0, s1)}
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)
    return 0


# ------------------------------------------------------------------- report
def load_secgw(run):
    """{(scenario, size): median delivered Mpps} of the ipsec-secgw baseline runs."""
    got = {}
    for p in glob.glob(os.path.join(run, "raw", "secgw", "*.json")):
        with open(p) as f:
            r = json.load(f)
        m = r["meta"]
        got.setdefault((m["scenario"], m["size"]), []).append(
            r["port"].get("opackets", 0) / r["dt"] / 1e6)
    return {k: statistics.median(v) for k, v in got.items()}


def num(x, default=0.0):
    try:
        return float(x)
    except (TypeError, ValueError):
        return default


def load_bound(run, column="bound"):
    """{(dir, size): [cycles per op of each rep]} from bound.csv (sg_bench_dp --bound-only).
    column "bound_direct": the same through ipsec-mb's direct GCM API."""
    out = {}
    path = os.path.join(run, "bound.csv")
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for r in csv.DictReader(f):
            if r.get(column) not in (None, ""):
                out.setdefault((r["dir"], r["size"]), []).append(num(r[column]))
    return out


def bound_line(title, bound):
    return title + ", ".join("%s %s %.0f cyc" % (d, s, statistics.median(v)) for (d, s), v in
                             sorted(bound.items(), key=lambda kv: (
                                 kv[0][0], SIZES.index(kv[0][1]) if kv[0][1] in SIZES else 9)))


def case_row(raw, bound):
    """One measured case -> the numbers of the table."""
    m = raw["meta"]
    scen, size = m["scenario"], m["size"]
    dt = raw["dt"]
    frame = num(m.get("mean_frame"), num(size, 0))
    # The device under test: gateway A, except in the tunnel where the
    # delivered traffic leaves gateway B.
    a = raw["gw"].get("a", {}).get("worker", {})
    b = raw["gw"].get("b", {}).get("worker", {})
    last = b if scen == "tunnel" else a
    row = {"shared_worker_cpu": m.get("shared_worker_cpu", ""), "rate_pct": m.get("rate", ""),
           "scenario": scen, "source": m.get("source", ""), "size": size,
           "rep": int(m.get("rep", 0)), "replay_window": m.get("replay_window", ""),
           "mean_frame": round(frame, 1)}
    if raw.get("gen"):
        g = raw["gen"]
        tx_port, rx_port = m.get("gen_tx_port", "0"), m.get("gen_rx_port", "1")
        offered = g.get(tx_port, {}).get("opackets", 0)
        delivered = g.get(rx_port, {}).get("ipackets", 0)
    else:
        offered = a.get("rx", 0)
        delivered = last.get("tx", 0)
    row["offered_mpps"] = offered / dt / 1e6
    row["mpps"] = delivered / dt / 1e6
    row["gbps"] = row["mpps"] * frame * 8 / 1e3
    row["loss_pct"] = 100.0 * (1 - delivered / offered) if offered else 0.0
    row["foreign_load_pct"] = raw.get("foreign_load_pct", 0.0)
    for tag, w in (("a", a), ("b", b)):
        if not w:
            continue
        pk = w.get("rx", 0) + w.get("handoff_rx", 0)
        hz = w.get("tsc_hz", 0)
        cpp = w.get("busy_cycles", 0) / pk if pk else 0.0
        row["%s_cpp" % tag] = cpp
        row["%s_core_mpps" % tag] = hz / cpp / 1e6 if cpp else 0.0
        for s in STAGES:
            row["%s_%s" % (tag, s)] = w.get("cycles_" + s, 0) / pk if pk else 0.0
        row["%s_drops" % tag] = w.get("drops", 0)
        reasons = {k[5:]: v for k, v in w.items() if k.startswith("drop_") and v}
        row["%s_drop_reasons" % tag] = " ".join("%s=%d" % kv for kv in sorted(reasons.items()))
        row["%s_packets" % tag] = w.get("rx", 0)
    # Fraction of the crypto-only bound (same run, same lengths): the worker
    # that does the scenario's crypto; the tunnel's slower end sets its pace.
    if scen == "tunnel":
        pairs = [("out", "a"), ("in", "b")]
    else:
        pairs = [("out" if scen == "outbound" else "in", "a")]
    # best: what vs_bound would be if the worker spent nothing beyond the
    # bound but its receive and send stages, the source's and the sink's
    # share. A target above it cannot be met with this source and sink.
    ratios, ratios_dp, ratios_best = [], [], []
    for d, tag in pairs:
        bl = bound.get((d, size))
        cpp = row.get("%s_cpp" % tag, 0)
        if bl and cpp:
            bc = statistics.median(bl)
            ratios.append(bc / cpp)
            dp = cpp - row.get("%s_rx" % tag, 0)  # the rx stage: the source's share
            ratios_dp.append(bc / dp if dp > 0 else 0)
            ratios_best.append(bc / (bc + row.get("%s_rx" % tag, 0) + row.get("%s_tx" % tag, 0)))
            row["bound_%s" % d] = bc
    row["vs_bound"] = min(ratios) if ratios else ""
    row["vs_bound_excl_rx"] = min(ratios_dp) if ratios_dp else ""
    row["vs_bound_best"] = min(ratios_best) if ratios_best else ""
    return row


def median_rows(rows):
    """Median over reps of every numeric column, per (scenario, source, size)."""
    groups = {}
    for r in rows:
        groups.setdefault((r["scenario"], r["source"], r["size"]), []).append(r)
    out = []
    for key, rs in groups.items():
        m = {"scenario": key[0], "source": key[1], "size": key[2], "reps": len(rs)}
        for k in rs[0]:
            if k in m or k == "rep":
                continue
            vals = [r.get(k) for r in rs]
            if all(isinstance(v, (int, float)) for v in vals):
                m[k] = statistics.median(vals)
            else:
                m[k] = vals[len(vals) // 2]
        out.append(m)
    order = {s: i for i, s in enumerate(SCENARIOS)}
    sorder = {s: i for i, s in enumerate(SIZES)}
    out.sort(key=lambda r: (order.get(r["scenario"], 9), r["source"], sorder.get(r["size"], 9)))
    return out


def fmt(v, nd=2):
    if isinstance(v, float):
        return ("%%.%df" % nd) % v
    return str(v)


def pct(v):
    return "%.0f%%" % (100 * v) if isinstance(v, float) else "-"


def replay_label(w):
    w = str(w)
    if w == "0":
        return "off (-w 0)"
    if w in ("", "-"):
        return "n/a (encrypt only)"
    return "on (-w %s)" % w


def write_md(run, med, machine, bound):
    lines = ["# shardgate perf results", ""]
    if machine:
        lines += ["Machine: " + machine.get("summary", ""), ""]
    lines += ["Medians over reps. Frame size: the plaintext Ethernet frame with FCS (ESP "
              "frames on the unprotected side are 54..57 B longer); IMIX is 64:570:1420 "
              "at 7:4:1. Mpps/Gbps: delivered plaintext-side traffic. cyc/pkt: busy "
              "cycles of the worker per packet it received. vs bound: crypto-only bound "
              "(ipsec-mb alone, same lengths, burst and AAD, measured in this run) / "
              "worker cycles per packet; excl. rx leaves out the receive stage (for the "
              "pcap source, the replay's copy of every frame); best possible: bound / "
              "(bound + rx + tx), what vs bound would be if the worker spent nothing but "
              "the bound beyond receiving from this source and sending to this sink.", ""]
    lines += ["| scenario | source | size | reps | Mpps | Gbps | loss | cyc/pkt A | "
              "cyc/pkt B | vs bound | vs bound excl. rx | best possible | anti-replay | "
              "drops | other load |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in med:
        drops = " ".join(x for x in (r.get("a_drop_reasons", ""), r.get("b_drop_reasons", ""))
                         if x) or "0"
        lines.append("| %s | %s | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s "
                     "| %s |" % (
            r["scenario"], r["source"], r["size"], r["reps"], fmt(r["mpps"]), fmt(r["gbps"]),
            "%.1f%%" % max(0.0, r["loss_pct"]), fmt(r.get("a_cpp", ""), 0),
            fmt(r.get("b_cpp", "-"), 0),
            pct(r.get("vs_bound")), pct(r.get("vs_bound_excl_rx")), pct(r.get("vs_bound_best")),
            replay_label(r.get("replay_window")), drops,
            "%.0f%%" % r.get("foreign_load_pct", 0)))
    lines += ["", "Cycles per packet by stage (worker of gateway A; tunnel: A encrypts, "
              "B decrypts):", "",
              "| scenario | size | gw | " + " | ".join(STAGES) + " | total | bound |",
              "|---|---|---|" + "---|" * (len(STAGES) + 2)]
    for r in med:
        for tag in ("a", "b"):
            if "%s_cpp" % tag not in r:
                continue
            d = "out" if (r["scenario"] == "outbound" or (r["scenario"] == "tunnel" and
                                                          tag == "a")) else "in"
            lines.append("| %s | %s | %s | %s | %s | %s |" % (
                r["scenario"], r["size"], tag.upper(),
                " | ".join(fmt(r.get("%s_%s" % (tag, s), 0), 0) for s in STAGES),
                fmt(r["%s_cpp" % tag], 0), fmt(r.get("bound_" + d, "-"), 0)))
    if any("secgw_mpps" in r for r in med):
        lines += ["", "Same machine, same captures, rule file, source and sink, one worker "
                  "core each: DPDK's ipsec-secgw (its cryptodev path, crypto_aesni_gcm):", "",
                  "| scenario | size | shardgate Mpps | ipsec-secgw Mpps | shardgate / ipsec-secgw |",
                  "|---|---|---|---|---|"]
        for r in med:
            if "secgw_mpps" in r:
                lines.append("| %s | %s | %s | %s | %s |" % (
                    r["scenario"], r["size"], fmt(r["mpps"]), fmt(r["secgw_mpps"]),
                    "%.2fx" % (r["mpps"] / r["secgw_mpps"]) if r["secgw_mpps"] else "-"))
    if bound:
        lines += ["", bound_line("Crypto-only bound (same run): ", bound)]
    direct = load_bound(run, "bound_direct")
    if direct:
        lines += ["", bound_line("The same through ipsec-mb's direct GCM API (one worker only: "
                                 "each call stores to a process-global error variable, so it "
                                 "does not scale across workers): ", direct)]
    notes = ["", "Notes:",
             "- other load: CPU time used by processes other than this run's during the "
             "measuring window, in % of the machine; above ~10% a figure is suspect."]
    if any(r["scenario"] == "inbound" for r in med):
        notes.append("- inbound: the ESP capture is replayed in a loop, so its sequence "
                     "numbers repeat: the gateway ran with the replay check OFF (-w 0).")
    if any(r.get("shared_worker_cpu") == "yes" for r in med):
        notes.append("- tunnel: gateways A and B had to share one worker CPU (too few CPUs), "
                     "so both ran with --poll-sleep-us 10; these figures measure the "
                     "scheduler more than the gateways. Use 4 CPUs or more.")
    if any(r["scenario"] == "tunnel" for r in med):
        notes.append("- tunnel: gateway A encrypts live traffic, gateway B decrypts it with "
                     "the replay check ON (default window 1024).")
    lines += notes
    with open(os.path.join(run, "results.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


def plots(run, med, img_dir):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(img_dir, exist_ok=True)
    made = []
    scen = [s for s in SCENARIOS if any(r["scenario"] == s for r in med)]
    sizes = [s for s in SIZES if any(r["size"] == s for r in med)]
    if not scen or not sizes:
        return made
    # Throughput: Mpps and Gbps by frame size, one bar per scenario.
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), dpi=80)
    w = 0.8 / len(scen)
    for k, metric in enumerate(("mpps", "gbps")):
        ax = axes[k]
        for j, s in enumerate(scen):
            vals = []
            for z in sizes:
                r = [x for x in med if x["scenario"] == s and x["size"] == z]
                vals.append(r[0][metric] if r else 0)
            ax.bar([i + j * w for i in range(len(sizes))], vals, w, label=s)
        ax.set_xticks([i + w * (len(scen) - 1) / 2 for i in range(len(sizes))])
        ax.set_xticklabels(sizes)
        ax.set_xlabel("frame size (B)")
        ax.set_ylabel("Mpps" if metric == "mpps" else "Gbps")
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=8)
    src = ",".join(sorted({r["source"] for r in med}))
    fig.suptitle("shardgate throughput, one worker core (source: %s)" % src, fontsize=10)
    fig.tight_layout()
    p = os.path.join(img_dir, "throughput.png")
    fig.savefig(p)
    plt.close(fig)
    made.append(p)

    # Cycles per packet by stage, stacked, with the crypto-only bound.
    bars = []
    for s in scen:
        for z in sizes:
            r = [x for x in med if x["scenario"] == s and x["size"] == z]
            if not r:
                continue
            r = r[0]
            for tag in ("a", "b"):
                if "%s_cpp" % tag in r:
                    d = "out" if (s == "outbound" or (s == "tunnel" and tag == "a")) else "in"
                    label = "%s %s%s" % (s[:3], z, (" " + tag.upper()) if s == "tunnel" else "")
                    bars.append((label, r, tag, r.get("bound_" + d)))
    fig, ax = plt.subplots(figsize=(max(7, 0.45 * len(bars) + 3.5), 3.8), dpi=80)
    bottom = [0.0] * len(bars)
    for st in STAGES:
        vals = [b[1].get("%s_%s" % (b[2], st), 0) for b in bars]
        ax.bar(range(len(bars)), vals, 0.7, bottom=bottom, label=st)
        bottom = [x + y for x, y in zip(bottom, vals)]
    bx = [i for i, b in enumerate(bars) if isinstance(b[3], float)]
    if bx:
        ax.scatter(bx, [bars[i][3] for i in bx], marker="_", s=300, color="black", zorder=3,
                   label="crypto-only bound")
    ax.set_xticks(range(len(bars)))
    ax.set_xticklabels([b[0] for b in bars], rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("cycles / packet")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title("cycles per packet by stage (worker busy cycles)", fontsize=10)
    fig.tight_layout()
    p = os.path.join(img_dir, "cycles.png")
    fig.savefig(p)
    plt.close(fig)
    made.append(p)
    return made


def cmd_report(a):
    run = a.run
    raws = sorted(glob.glob(os.path.join(run, "raw", "*.json")))
    if not raws:
        print("sgperf: no measurements in %s/raw" % run, file=sys.stderr)
        return 1
    bound = load_bound(run)
    rows = []
    for p in raws:
        with open(p) as f:
            rows.append(case_row(json.load(f), bound))
    machine = {}
    mp = os.path.join(run, "machine.json")
    if os.path.exists(mp):
        with open(mp) as f:
            machine = json.load(f)
    cols = []
    for r in rows:
        for k in r:
            if k not in cols:
                cols.append(k)
    with open(os.path.join(run, "results-all.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        for r in rows:
            w.writerow({k: fmt(v, 3) if isinstance(v, float) else v for k, v in r.items()})
    med = median_rows(rows)
    secgw = load_secgw(run)
    for r in med:
        if (r["scenario"], r["size"]) in secgw:
            r["secgw_mpps"] = secgw[(r["scenario"], r["size"])]
    if secgw:
        cols.append("secgw_mpps")
    mcols = ["scenario", "source", "size", "reps"] + [c for c in cols if c not in (
        "scenario", "source", "size", "rep")]
    with open(os.path.join(run, "results.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=mcols, extrasaction="ignore")
        w.writeheader()
        for r in med:
            w.writerow({k: fmt(v, 3) if isinstance(v, float) else v for k, v in r.items()})
    write_md(run, med, machine, bound)
    made = []
    if not a.no_plots:
        try:
            made = plots(run, med, a.img_dir or run)
        except ImportError:
            print("sgperf: matplotlib missing (apt-get install python3-matplotlib): no plots",
                  file=sys.stderr)
    print("sgperf: %d measurement(s) -> %s/results.csv, results.md%s" % (
        len(rows), run, "".join(", " + os.path.relpath(p, run) for p in made)))
    return 0


# -------------------------------------------------------------------- check
def cmd_check(a):
    """Smoke checks on a finished run; one 'ok'/'FAIL' line per check."""
    run = a.run
    fails = 0

    def check(name, ok, detail=""):
        nonlocal fails
        print("%s %s%s" % ("ok    " if ok else "FAIL  ", name, (": " + detail) if detail and
                                                             not ok else ""))
        if not ok:
            fails += 1

    bound = load_bound(run)
    raws = {}
    for p in glob.glob(os.path.join(run, "raw", "*.json")):
        with open(p) as f:
            r = json.load(f)
        raws[(r["meta"]["scenario"], r["meta"]["size"])] = r
    for scen in a.scenarios.split(","):
        for size in a.sizes.split(","):
            r = raws.get((scen, size))
            tag = "%s %s" % (scen, size)
            check("%s: measured" % tag, r is not None)
            if r is None:
                continue
            row = case_row(r, bound)
            check("%s: packets delivered" % tag, row["mpps"] > 0, "%.3f Mpps" % row["mpps"])
            for g in ("a", "b"):
                if "%s_cpp" % g not in row:
                    continue
                w = r["gw"][g]["worker"]
                check("%s: gateway %s cycles per stage" % (tag, g.upper()),
                      all(w.get("cycles_" + s, 0) > 0 for s in STAGES if s != "rx") and
                      row["%s_cpp" % g] > 0)
                # tx_full is the link filling up (gateway B or the sink slower
                # than A); anything else is a data-path error.
                bad = {k: v for k, v in w.items() if k.startswith("drop_") and v and
                       k != "drop_tx_full"}
                check("%s: gateway %s drops nothing but tx_full" % (tag, g.upper()), not bad,
                      str(bad))
            if row["vs_bound"] != "":
                # Receive and send are part of every packet's cycles, so the
                # measured fraction can never pass the best possible one.
                check("%s: vs bound <= best possible < 1" % tag,
                      0 < row["vs_bound"] <= row["vs_bound_best"] < 1,
                      "%.3f, %.3f" % (row["vs_bound"], row["vs_bound_best"]))
            if scen == "tunnel":
                check("%s: anti-replay on at gateway B" % tag,
                      r["meta"].get("replay_window") not in ("0", ""))
            if scen == "inbound":
                check("%s: replay check off for the loop (-w 0)" % tag,
                      r["meta"].get("replay_window") == "0")
    if a.bound:
        check("crypto-only bound measured", len(bound) > 0)
    for name in ("results.csv", "results.md"):
        check("%s written" % name, os.path.exists(os.path.join(run, name)))
    if a.plots:
        for name in ("throughput.png", "cycles.png"):
            p = os.path.join(run, name)
            check("%s written" % name, os.path.exists(p) and os.path.getsize(p) > 1000)
    return 1 if fails else 0


# ------------------------------------------------------------------ wait-tx
def cmd_wait_tx(a):
    """Wait until a port of a DPDK process sends (pktgen started)."""
    t = Telemetry(a.prefix, timeout=5)
    try:
        deadline = time.time() + a.timeout
        first = None
        while time.time() < deadline:
            st = t.cmd("/ethdev/stats,%d" % a.port) or {}
            n = st.get("opackets", 0)
            if first is None:
                first = n
            elif n > first:
                return 0
            time.sleep(0.1)
    finally:
        t.close()
    print("sgperf: port %d of %s sent nothing in %.0f s" % (a.port, a.prefix, a.timeout),
          file=sys.stderr)
    return 1


# ---------------------------------------------------------------- next-rate
def cmd_next_rate(a):
    """
    One step of the rate search, from a probe window: prints "ok RATE LOSS"
    (stop, and send at RATE), or "try RATE LOSS" (probe RATE next). The
    search state (best delivered rate so far) lives in a.state. It stops when
    the loss is small enough, or when sending slower no longer loses less:
    then the loss is not the gateway running out of cycles (a shared CPU, a
    link that drops a fixed share), and the rate that delivered most wins.
    """
    with open(a.file) as f:
        r = json.load(f)
    m, g = r["meta"], r.get("gen") or {}
    offered = g.get(m["gen_tx_port"], {}).get("opackets", 0)
    delivered = g.get(m["gen_rx_port"], {}).get("ipackets", 0)
    loss = 100.0 * (1 - delivered / offered) if offered else 100.0
    state = {"best_rate": a.rate, "best_delivered": -1, "last_loss": None}
    if os.path.exists(a.state):
        with open(a.state) as f:
            state = json.load(f)
    if loss <= a.max_loss:
        print("ok %.3f %.2f" % (a.rate, loss))
        return 0
    improving = state["last_loss"] is None or loss < state["last_loss"] / 2
    if delivered > state["best_delivered"]:
        state["best_rate"], state["best_delivered"] = a.rate, delivered
    if not improving:
        print("ok %.3f %.2f" % (state["best_rate"], loss))
        return 0
    state["last_loss"] = loss
    with open(a.state, "w") as f:
        json.dump(state, f)
    # Aim a little under what got through, as RFC 2544's search would.
    print("try %.3f %.2f" % (max(a.rate * (delivered / offered if offered else 0) * 0.97, 0.01),
                             loss))
    return 0


# ---------------------------------------------------------------------- mac
def cmd_mac(a):
    t = Telemetry(a.prefix, timeout=5)
    try:
        info = t.cmd("/ethdev/info,%d" % a.port) or {}
    finally:
        t.close()
    if not info.get("mac_addr"):
        return 1
    print(info["mac_addr"].lower())
    return 0


# ----------------------------------------------------------------- cpu-busy
def cpu_times():
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu") and line[3].isdigit():
                p = line.split()
                v = [int(x) for x in p[1:]]
                idle = v[3] + (v[4] if len(v) > 4 else 0)
                out[int(p[0][3:])] = (sum(v), idle)
    return out


def cmd_cpu_busy(a):
    cpus = [int(c) for c in a.cpus.split(",") if c != ""]
    t0 = cpu_times()
    time.sleep(a.sample)
    t1 = cpu_times()
    for c in cpus:
        if c not in t0:
            print("%d -1" % c)
            continue
        tot = t1[c][0] - t0[c][0]
        idle = t1[c][1] - t0[c][1]
        print("%d %d" % (c, round(100.0 * (tot - idle) / tot) if tot else 0))
    return 0


def main():
    ap = argparse.ArgumentParser(description="perf/run.sh helper")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("wait")
    p.add_argument("prefix")
    p.add_argument("--pid", type=int)
    p.add_argument("--timeout", type=float, default=60)
    p.add_argument("--cmd", dest="probe", default="",
                   help="a command that must answer (not null) before the process counts as up")
    p = sub.add_parser("measure")
    p.add_argument("--out", required=True)
    p.add_argument("--warmup", type=float, default=1)
    p.add_argument("--duration", type=float, default=5)
    p.add_argument("--gw", action="append")
    p.add_argument("--gen")
    p.add_argument("--meta", action="append")
    p.add_argument("--pids", help="our processes (comma list): the rest is foreign load")
    p = sub.add_parser("measure-port")
    p.add_argument("--prefix", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--duration", type=float, default=5.0)
    p.add_argument("--out", required=True)
    p.add_argument("--meta", action="append")
    p = sub.add_parser("report")
    p.add_argument("run")
    p.add_argument("--no-plots", action="store_true")
    p.add_argument("--img-dir")
    p = sub.add_parser("check")
    p.add_argument("run")
    p.add_argument("--scenarios", default="outbound,inbound,tunnel")
    p.add_argument("--sizes", default="128")
    p.add_argument("--bound", action="store_true")
    p.add_argument("--plots", action="store_true")
    p = sub.add_parser("wait-tx")
    p.add_argument("prefix")
    p.add_argument("port", type=int)
    p.add_argument("--timeout", type=float, default=30)
    p = sub.add_parser("next-rate")
    p.add_argument("file")
    p.add_argument("rate", type=float)
    p.add_argument("--max-loss", type=float, default=0.5)
    p.add_argument("--state", required=True)
    p = sub.add_parser("mac")
    p.add_argument("prefix")
    p.add_argument("port", type=int)
    p = sub.add_parser("cpu-busy")
    p.add_argument("cpus")
    p.add_argument("--sample", type=float, default=0.5)
    a = ap.parse_args()
    return {"wait": cmd_wait, "measure": cmd_measure, "measure-port": cmd_measure_port,
            "report": cmd_report,
            "check": cmd_check, "wait-tx": cmd_wait_tx, "next-rate": cmd_next_rate,
            "mac": cmd_mac, "cpu-busy": cmd_cpu_busy}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
