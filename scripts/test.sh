#!/usr/bin/env bash
# Set up, build, and run every test suite (unit and integration) with meson.
# The last line is the total over every suite: "N passed, N failed".
#
#   scripts/test.sh [meson test args...]   e.g. scripts/test.sh --suite unit
set -uo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${SG_BUILD_DIR:-$here/build}

"$here/scripts/setup.sh" || { echo "0 passed, 1 failed"; exit 1; }

# Leftovers of an interrupted run would collide with fresh file prefixes.
rm -rf /var/run/dpdk/sgtest_* 2>/dev/null || true

meson test -C "$build_dir" --print-errorlogs --num-processes 1 "$@"
rc=$?

# Each suite prints "SGTEST name: N passed, N failed"; a suite that died
# before printing counts as one failure, one that passed without as one pass.
/usr/bin/python3 - "$build_dir/meson-logs/testlog.json" <<'PY'
import json, re, sys
passed = failed = 0
pat = re.compile(r"^SGTEST (\S+): (\d+) passed, (\d+) failed$", re.M)
try:
    lines = open(sys.argv[1]).read().splitlines()
except OSError:
    lines = []
for line in lines:
    t = json.loads(line)
    hits = pat.findall(t.get("stdout") or "")
    if hits:
        p = sum(int(h[1]) for h in hits)
        f = sum(int(h[2]) for h in hits)
        if t.get("result") not in ("OK", "EXPECTEDFAIL") and f == 0:
            f = 1
    else:
        p, f = (1, 0) if t.get("result") == "OK" else (0, 1)
    print(f"  {t.get('name')}: {p} passed, {f} failed ({t.get('result')})")
    passed += p
    failed += f
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
sum_rc=$?
[ "$rc" -eq 0 ] && [ "$sum_rc" -eq 0 ]
