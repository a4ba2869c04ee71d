#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# perf/run.sh --smoke: every scenario briefly on the fallback source (pcap
# replay into the gateway, null sink), the micro-benchmark on a few bursts,
# and the bad inputs the harness must refuse, so that the harness cannot rot.
# Under a minute on 2 vCPUs, no hugepages needed. A check for CI, not a
# benchmark: it asserts that things run and report, never how fast.
#
#   smoke.sh RUN_SH [SHARDGATE] [SG_BENCH_DP]
#
# Ends with "SGTEST perf_smoke: N passed, N failed"; exit 0 when none failed.
set -uo pipefail

run_sh=$1
shardgate=${2:-}
bench=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
passed=0
failed=0
t0=$(date +%s)
work=$(mktemp -d /tmp/sgperf-smoke.XXXXXX)
trap 'rm -rf "$work"' EXIT

ok() { printf 'ok     %s\n' "$1"; passed=$((passed + 1)); }
bad() { printf 'FAIL   %s%s\n' "$1" "${2:+: $2}"; failed=$((failed + 1)); }
check() { # check NAME CONDITION-STATUS [DETAIL]
	if [ "$2" -eq 0 ]; then ok "$1"; else bad "$1" "${3:-}"; fi
}

bin_args=()
[ -n "$shardgate" ] && bin_args+=(--shardgate "$shardgate")
[ -n "$bench" ] && [ -x "$bench" ] && bin_args+=(--bench "$bench")

runtime_base() {
	if [ "$(id -u)" -eq 0 ]; then echo /var/run/dpdk; else echo "${XDG_RUNTIME_DIR:-/tmp}/dpdk"; fi
}
# Whatever a harness run leaves: processes, runtime dirs, hugepage files.
leftovers() {
	local mnt
	pgrep -f -- '--file-prefix=sgperf' 2>/dev/null | sed 's/^/process /'
	ls -d "$(runtime_base)"/sgperf* 2>/dev/null | sed 's/^/runtime dir /'
	for mnt in $(awk '$3 == "hugetlbfs" {print $2}' /proc/mounts 2>/dev/null); do
		ls "$mnt"/sgperf* 2>/dev/null | sed 's/^/hugepage file /'
	done
	ls -d /tmp/sgperf.* 2>/dev/null | sed 's/^/temp dir /'
}
before=$(leftovers | sort)
new_leftovers() { comm -13 <(echo "$before") <(leftovers | sort) | grep -v '^$' || true; }

# expect_refusal NAME WANT_STATUS PATTERN ENV... -- ARGS...
expect_refusal() {
	local name=$1 want=$2 pat=$3 rc out env=()
	shift 3
	while [ "$1" != -- ]; do env+=("$1"); shift; done
	shift
	out=$(env "${env[@]}" "$run_sh" "$@" 2>&1 < /dev/null)
	rc=$?
	check "$name: exit status $want" "$([ "$rc" -eq "$want" ]; echo $?)" "got $rc: $(echo "$out" | tail -3)"
	check "$name: says why" "$(echo "$out" | grep -qi -- "$pat"; echo $?)" "no '$pat' in: $(echo "$out" | tail -3)"
	local left
	left=$(new_leftovers)
	check "$name: leaves no process, runtime dir or hugepage file" "$([ -z "$left" ]; echo $?)" "$left"
}

echo "# perf_smoke: scenarios on the pcap-replay source"
run_dir=$work/run
rc=0
"$run_sh" "${bin_args[@]}" --source pcap --mem nohuge --allow-busy --sizes 128,imix --reps 1 \
	--duration 0.5 --warmup 0.3 --sessions 64 --packets 256 --out "$run_dir" \
	outbound inbound tunnel > "$work/run.log" 2>&1 || rc=$?
check "run.sh outbound inbound tunnel: exit status 0" "$rc" "$(tail -5 "$work/run.log")"
grep '^run.sh: ' "$work/run.log" | grep -E 'rep 0:' | sed 's/^/# /'
chk=(--scenarios outbound,inbound,tunnel --sizes 128,imix --plots)
[ -n "$bench" ] && [ -x "$bench" ] && chk+=(--bound)
while read -r line; do
	case "$line" in
	ok*) ok "${line#ok }" ;;
	FAIL*) bad "${line#FAIL }" ;;
	esac
done < <("$py" "$here/sgperf.py" check "$run_dir" "${chk[@]}" 2>&1 | sed 's/^\(ok\|FAIL\) */\1 /')
check "run.sh: no leftovers after a good run" "$([ -z "$(new_leftovers)" ]; echo $?)" "$(new_leftovers)"
# The report's ipsec-secgw table, from a baseline measurement put next to the
# run (no ipsec-secgw here): 2.5 Mpps, and shardgate's own figure over it.
mkdir -p "$run_dir/raw/secgw"
printf '{"meta": {"scenario": "inbound", "size": "128", "rep": "0"}, "dt": 2.0, "port": {"opackets": 5000000}}\n' \
	> "$run_dir/raw/secgw/inbound-128-r0.json"
"$py" "$here/sgperf.py" report --no-plots "$run_dir" > /dev/null 2>&1
row=$(grep -F '| inbound | 128 |' "$run_dir/results.md" | grep -F '| 2.50 |' | head -1)
rc=0
"$py" - "$row" "$run_dir/results.csv" <<'EOF' || rc=$?
import csv, sys
cells = [c.strip() for c in sys.argv[1].strip("|").split("|")]
mpps = [float(r["mpps"]) for r in csv.DictReader(open(sys.argv[2]))
        if r["scenario"] == "inbound" and r["size"] == "128"][0]
ok = len(cells) == 5 and abs(float(cells[2]) - mpps) < 0.01 and \
    abs(float(cells[4].rstrip("x")) - mpps / 2.5) < 0.01
sys.exit(0 if ok else 1)
EOF
check "report: ipsec-secgw baseline next to shardgate (same case)" "$rc" "row: '$row'"

echo "# perf_smoke: micro-benchmark"
if [ -n "$bench" ] && [ -x "$bench" ]; then
	rc=0
	"$run_sh" "${bin_args[@]}" --sizes 128,1420 --reps 1 --sessions 64 --packets 256 \
		--out "$work/micro" --allow-busy micro > "$work/micro.log" 2>&1 || rc=$?
	check "run.sh micro: exit status 0" "$rc" "$(tail -3 "$work/micro.log")"
	# Every row: both bounds, a data-path figure and no drops.
	rows=$(awk -F, 'NR > 1 && $6 > 0 && $7 > 0 && $8 > 0 && $NF == 0' "$work/micro/micro.csv" 2>/dev/null | wc -l)
	check "sg_bench_dp: in and out at 2 sizes, bounds and stages measured, no drops" \
		"$([ "$rows" -eq 4 ]; echo $?)" "$rows good rows of 4"
else
	echo "# skip: sg_bench_dp not built (-Dperf=false): no micro-benchmark, no bound"
fi

echo "# perf_smoke: bad input"
expect_refusal "unknown scenario" 2 "unknown scenario" -- "${bin_args[@]}" outbund
expect_refusal "unknown frame size" 2 "unknown frame size" -- "${bin_args[@]}" --sizes 100 outbound
expect_refusal "pktgen asked for, PKTGEN unset" 2 "PKTGEN" -u PKTGEN -- "${bin_args[@]}" \
	--source pktgen outbound
expect_refusal "PKTGEN not an executable" 2 "not an executable" PKTGEN=/nonexistent/pktgen -- \
	"${bin_args[@]}" outbound
expect_refusal "generator and gateway on one CPU" 2 "busy CPU layout" PKTGEN=/bin/true -- \
	"${bin_args[@]}" --gen-lcores 0@0,1@1 --gw-lcores 0@0,1@1 --allow-busy outbound
expect_refusal "a CPU this process may not use" 2 "busy CPU layout" -- "${bin_args[@]}" \
	--gw-lcores 0@0,1@4095 outbound
expect_refusal "gateway fails to start" 3 "gateway A failed to start" -- "${bin_args[@]}" \
	--source pcap --mem nohuge --allow-busy --sizes 128 --reps 1 --sessions 16 --packets 64 \
	--gw-args "--no-such-option" --out "$work/fail" outbound
expect_refusal "--secgw not an executable" 2 "not an executable" -- "${bin_args[@]}" \
	--secgw /nonexistent/ipsec-secgw inbound
expect_refusal "--secgw with the pktgen source" 2 "pcap source only" PKTGEN=/bin/true -- \
	"${bin_args[@]}" --secgw /bin/true inbound
expect_refusal "ipsec-secgw fails to start" 3 "ipsec-secgw failed to start" -- "${bin_args[@]}" \
	--source pcap --mem nohuge --allow-busy --sizes 128 --reps 1 --sessions 16 --packets 64 \
	--duration 0.5 --warmup 0.2 --secgw /bin/false --out "$work/fail3" inbound
# After EAL came up: hugepage files (where free) and a runtime dir to clean.
huge=nohuge
[ "$(awk '/^HugePages_Free/ {print $2}' /proc/meminfo)" -ge 300 ] 2>/dev/null && huge=huge
expect_refusal "gateway fails after EAL init ($huge)" 3 "gateway A failed to start" -- \
	"${bin_args[@]}" --source pcap --mem "$huge" --allow-busy --sizes 128 --reps 1 \
	--sessions 16 --packets 64 --gw-args "--config (0,0,63)" --out "$work/fail2" outbound

echo "# perf_smoke: $(($(date +%s) - t0)) s"
echo "SGTEST perf_smoke: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
