#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""
Run one libFuzzer target over its corpus for a fixed budget and print the
line scripts/test.sh counts:

    run.py TARGET NAME CORPUS_DIR [libFuzzer options...]

New inputs go to a temporary directory (the repository's corpus is only
read). A crash, a leak, a sanitizer report or a failed invariant (the
target aborts) fails it; the crashing input is kept and named.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile


def main():
    exe, name, corpus = sys.argv[1:4]
    opts = sys.argv[4:]
    work = tempfile.mkdtemp(prefix="sgfuzz_%s_" % name)
    art = os.path.join(work, "crash-")
    cmd = [exe, "-print_final_stats=1", "-artifact_prefix=" + art, "-rss_limit_mb=4096"] + \
        opts + [os.path.join(work, "new"), corpus]
    os.makedirs(os.path.join(work, "new"))
    env = dict(os.environ, UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1")
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       errors="replace", env=env)
    out = p.stdout
    execs = re.search(r"stat::number_of_executed_units:\s*(\d+)", out)
    rate = re.search(r"stat::average_exec_per_sec:\s*(\d+)", out)
    crashes = [f for f in os.listdir(work) if f.startswith("crash-")]
    ok = p.returncode == 0 and not crashes and execs is not None
    print(out[-3000:] if not ok else "\n".join(out.splitlines()[-8:]))
    print("fuzz_%s: %s executions, %s per second, exit %d" % (
        name, execs.group(1) if execs else "?", rate.group(1) if rate else "?", p.returncode))
    if crashes:
        keep = os.path.join(tempfile.gettempdir(), "sgfuzz_%s_%s" % (name, crashes[0]))
        shutil.copy(os.path.join(work, crashes[0]), keep)
        print("fuzz_%s: the failing input is kept in %s" % (name, keep))
    shutil.rmtree(work, ignore_errors=True)
    # the EAL runtime directory the pipeline targets leave (they never clean up)
    run = "/var/run/dpdk"
    for e in os.listdir(run) if os.path.isdir(run) else []:
        if e.startswith("sgfuzz_"):
            shutil.rmtree(os.path.join(run, e), ignore_errors=True)
    print("SGTEST fuzz_%s: %d passed, %d failed" % (name, 1 if ok else 0, 0 if ok else 1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
