#!/usr/bin/env bash
# Run every libFuzzer target of tests/fuzz for a while and report how fast
# each runs and how far it got (issue 12: each must pass 10 million
# executions without a finding).
#
#   perf/fuzz.sh [--time SECONDS] [--runs N] [--cpu CPU] [--build DIR] [TARGET...]
#
# --time: seconds per target (default 300); --runs: stop each after N
# executions instead; --cpu: the CPU to pin to (default: the last allowed);
# --build: the fuzz build directory (default build-fuzz; set up with clang
# if missing). Targets: conf, inbound, outbound, args, ctl (default: all; ctl
# runs a gateway on CPUs 0 and 1, its worker busy-polling CPU 1). New inputs
# are kept in perf/results/fuzz/<target>/ (not the repository's corpus);
# a finding is saved there as crash-*, and the script exits 1.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
build=$here/build-fuzz
secs=300
runs=""
cpu=""
targets=()
while [ $# -gt 0 ]; do
	case "$1" in
	--time) secs=$2; shift ;;
	--runs) runs=$2; shift ;;
	--cpu) cpu=$2; shift ;;
	--build) build=$2; shift ;;
	-h|--help) sed -n '2,13p' "$0"; exit 0 ;;
	conf|inbound|outbound|args|ctl) targets+=("$1") ;;
	*) echo "fuzz.sh: unknown argument $1 (targets: conf inbound outbound args ctl)" >&2; exit 2 ;;
	esac
	shift
done
[ ${#targets[@]} -gt 0 ] || targets=(conf inbound outbound args ctl)
case "$secs$runs" in *[!0-9]*) echo "fuzz.sh: --time and --runs take numbers" >&2; exit 2 ;; esac
if [ -z "$cpu" ]; then
	cpu=$(taskset -pc $$ | sed 's/.*: //; s/.*[,-]//')
fi

if [ ! -f "$build/build.ninja" ]; then
	command -v clang >/dev/null || { echo "fuzz.sh: needs clang (scripts/setup.sh)" >&2; exit 2; }
	CC=clang meson setup "$build" "$here" -Dfuzz=true -Db_sanitize=address,undefined \
		-Db_lundef=false -Dperf=false -Dtests=disabled >/dev/null
fi
ninja -C "$build" >/dev/null

out=$here/perf/results/fuzz
rc=0
printf '%-10s %12s %10s %8s  %s\n' target executions per_sec seconds result
for t in "${targets[@]}"; do
	mkdir -p "$out/$t"
	budget=(-max_total_time="$secs")
	[ -z "$runs" ] || budget=(-runs="$runs")
	dict=()
	[ -f "$here/tests/fuzz/dict/$t.dict" ] && dict=(-dict="$here/tests/fuzz/dict/$t.dict")
	log=$out/$t.log
	start=$(date +%s)
	set +e
	pin=$cpu
	[ "$t" != ctl ] || pin=0,1 # it lays out its own lcores: 0@0, worker 1@1
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 taskset -c "$pin" "$build/tests/fuzz/fuzz_$t" -print_final_stats=1 -rss_limit_mb=4096 \
		-artifact_prefix="$out/$t/" "${budget[@]}" "${dict[@]}" "$out/$t" \
		"$here/tests/fuzz/corpus/$t" > "$log" 2>&1
	st=$?
	set -e
	rm -rf /var/run/dpdk/sgfuzz_* 2>/dev/null || true
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	result=ok
	if [ $st -ne 0 ] || ls "$out/$t"/crash-* >/dev/null 2>&1; then
		result="FINDING (see $log)"
		rc=1
	fi
	printf '%-10s %12s %10s %8s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "$(( $(date +%s) - start ))" \
		"$result"
done
exit $rc
