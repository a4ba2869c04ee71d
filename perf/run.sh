#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# shardgate performance scenarios (issue 5). One command per scenario:
#
#   perf/run.sh [options] SCENARIO...     outbound | inbound | tunnel | all | micro
#   perf/run.sh --smoke                   every scenario briefly, for CI (< 1 min)
#   perf/run.sh --help
#
#   outbound  plaintext UDP, many flows over many sessions -> gateway A encrypts
#   inbound   ESP capture (many SPIs, valid ICVs) -> gateway A decrypts; the
#             capture loops, so the replay check is off (-w 0) and the report
#             says so
#   tunnel    plaintext -> gateway A (encrypt) -> gateway B (decrypt, replay
#             check on) -> sink: the deployment shape
#   micro     sg_bench_dp: cycles per packet by stage on in-memory mbufs,
#             next to the crypto-only bound
#
# Traffic source:
#   PKTGEN=/path/to/pktgen   Pktgen-DPDK (23.03, built by you; never vendored)
#                            on virtio_user ports, the gateways on net_vhost
#                            (one host), or on NICs with --*-pci
#   otherwise                net_pcap replay (infinite_rx) inside the gateway,
#                            net_null as the sink: the gateway's own ceiling
#
# Baseline (pcap source; outbound and inbound):
#   --secgw PATH             also run every case through DPDK's ipsec-secgw
#                            example (built by you, never vendored) on the same
#                            worker CPU, capture, rule file and sink, and
#                            report both (see perf/README.md)
#
# Options:
#   --source pktgen|pcap     force a source (pktgen needs PKTGEN)
#   --sizes LIST             frame sizes (default 64,128,512,1420,imix)
#   --duration S --warmup S  measuring window and warm-up (default 5 and 1)
#   --reps N                 runs per case; the table shows medians (default 3)
#   --sessions N --packets N ESP sessions (default 1024), frames per capture (4096)
#   --gw-lcores L --gwb-lcores L --gen-lcores L
#                            EAL --lcores of gateway A, B and pktgen (first
#                            lcore = main); default: generator and gateway
#                            workers on different CPUs (2 CPUs: gateways
#                            0@0,1@0, pktgen 0@0,1@1)
#   --gen-matrix M           pktgen -m (default "1.[0-1]")
#   --rate PCT|auto          pktgen's send rate in % of the link; auto (default)
#                            starts at 100 and steps down to the rate that
#                            loses at most --max-loss % (default 0.5)
#   --gw-pci U,P --gwb-pci U,P --gen-pci TO_A,FROM_B
#                            real NICs: unprotected,protected port of each
#                            gateway; pktgen's port into gateway A's protected
#                            side and the one that receives
#   --mem auto|huge|nohuge   hugepages for the gateways (auto: when free)
#   --gw-args "ARGS"         more shardgate options (e.g. "--burst 64")
#   --allow-busy             run even when a chosen CPU is busy
#   --retry-busy N           run a case again (N times at most, default 2) when
#                            other processes took >= 10% of the machine in it
#   --out DIR                results directory (default perf/results/RUN-ID)
#   --img-dir DIR            also write the PNG plots there
#   --shardgate PATH --bench PATH   binaries (default: $SG_BUILD_DIR or build/)
#   --keep                   keep the captures and rule files (logs are kept)
#
# Writes DIR/results.csv, results.md, throughput.png, cycles.png, raw/*.json,
# bound.csv (crypto-only bound, same run) and machine.json. Exit status: 0,
# 2 bad input (unknown scenario, missing pktgen, busy CPU layout), 3 a
# gateway or pktgen failed to start, 4 a measurement failed. Every process it
# started is stopped and its hugepage files and runtime directory removed,
# whatever happens.
set -Eeuo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
tools=$here/tools
py=/usr/bin/python3
build_dir=${SG_BUILD_DIR:-$repo/build}

# ------------------------------------------------------------------ defaults
sizes=64,128,512,1420,imix
duration=5
warmup=1
reps=3
sessions=1024
packets=4096
source_opt=auto
mem=auto
gw_lcores=""
gwb_lcores=""
gen_lcores=""
gen_matrix='1.[0-1]'
gen_rate=auto
max_loss=0.5
retry_busy=2
gw_pci=""
gwb_pci=""
gen_pci=""
gw_extra=""
allow_busy=0
out_dir=""
img_dir=""
keep=0
smoke=0
no_plots=0
shardgate=${SHARDGATE:-}
bench=${SG_BENCH_DP:-}
secgw=${SECGW:-}
start_timeout=60
scenarios=()

# Per-run names: every DPDK file prefix starts with this, so cleanup finds them.
tag=sgperf$$
# pktgen's virtio_user MACs (port 0 faces gateway A's protected port).
GEN_MAC0=02:00:00:00:10:00
GEN_MAC1=02:00:00:00:10:01

say() { printf 'run.sh: %s\n' "$*"; }
die() { # die STATUS MESSAGE
	local rc=$1
	shift
	printf 'run.sh: error: %s\n' "$*" >&2
	exit "$rc"
}
usage() { awk 'NR > 2 && /^#/ { sub(/^# ?/, ""); print; next } NR > 2 { exit }' "$0"; }

# ------------------------------------------------------------------ cleanup
pids=()
prefixes=()
tmp_dir=""
pg_fd=""

alive() {
	local st
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)
	[ -n "$st" ] && [ "$st" != Z ]
}

# Stop one process we started: SIGTERM, then SIGKILL after $2 seconds.
stop_pid() {
	local pid=$1 grace=${2:-10} i
	alive "$pid" || { wait "$pid" 2>/dev/null || true; return 0; }
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < grace * 10; i++)); do
		alive "$pid" || break
		sleep 0.1
	done
	if alive "$pid"; then
		kill -KILL "$pid" 2>/dev/null || true
		sleep 0.2
	fi
	wait "$pid" 2>/dev/null || true
}

runtime_dir() {
	if [ "$(id -u)" -eq 0 ]; then
		echo "/var/run/dpdk/$1"
	else
		echo "${XDG_RUNTIME_DIR:-/tmp}/dpdk/$1"
	fi
}

# Hugepage files and runtime directory of one DPDK file prefix.
remove_prefix_files() {
	local p=$1 mnt
	for mnt in $(awk '$3 == "hugetlbfs" {print $2}' /proc/mounts 2>/dev/null); do
		rm -f "$mnt/${p}map"* 2>/dev/null || true
	done
	rm -rf "$(runtime_dir "$p")"
}

cleanup() {
	local rc=$? p
	trap - EXIT INT TERM HUP
	if [ -n "$pg_fd" ]; then
		echo quit >&"$pg_fd" 2>/dev/null || true
		exec {pg_fd}>&- || true
		pg_fd=""
	fi
	for p in "${pids[@]+"${pids[@]}"}"; do
		stop_pid "$p" 5
	done
	for p in "${prefixes[@]+"${prefixes[@]}"}"; do
		remove_prefix_files "$p"
	done
	if [ -n "$tmp_dir" ] && [ -d "$tmp_dir" ]; then
		rm -rf "$tmp_dir"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ------------------------------------------------------------------ options
while [ $# -gt 0 ]; do
	case "$1" in
	-h|--help) usage; exit 0 ;;
	--smoke) smoke=1 ;;
	--source) source_opt=${2:?--source needs pktgen or pcap}; shift ;;
	--sizes) sizes=${2:?}; shift ;;
	--duration) duration=${2:?}; shift ;;
	--warmup) warmup=${2:?}; shift ;;
	--reps) reps=${2:?}; shift ;;
	--sessions) sessions=${2:?}; shift ;;
	--packets) packets=${2:?}; shift ;;
	--gw-lcores) gw_lcores=${2:?}; shift ;;
	--gwb-lcores) gwb_lcores=${2:?}; shift ;;
	--gen-lcores) gen_lcores=${2:?}; shift ;;
	--gen-matrix) gen_matrix=${2:?}; shift ;;
	--rate) gen_rate=${2:?}; shift ;;
	--max-loss) max_loss=${2:?}; shift ;;
	--gw-pci) gw_pci=${2:?}; shift ;;
	--gwb-pci) gwb_pci=${2:?}; shift ;;
	--gen-pci) gen_pci=${2:?}; shift ;;
	--mem) mem=${2:?}; shift ;;
	--gw-args) gw_extra=${2?}; shift ;;
	--allow-busy) allow_busy=1 ;;
	--retry-busy) retry_busy=${2:?}; shift ;;
	--out) out_dir=${2:?}; shift ;;
	--img-dir) img_dir=${2:?}; shift ;;
	--shardgate) shardgate=${2:?}; shift ;;
	--bench) bench=${2:?}; shift ;;
	--secgw) secgw=${2:?}; shift ;;
	--keep) keep=1 ;;
	--no-plots) no_plots=1 ;;
	--start-timeout) start_timeout=${2:?}; shift ;;
	-*) die 2 "unknown option $1 (see --help)" ;;
	*) scenarios+=("$1") ;;
	esac
	shift
done

if [ "$smoke" -eq 1 ]; then
	exec "$here/tools/smoke.sh" "$0" "$shardgate" "$bench"
fi

# Scenario names first: a typo must not cost a capture generation.
[ ${#scenarios[@]} -gt 0 ] || die 2 "no scenario given: outbound, inbound, tunnel, all or micro (see --help)"
expanded=()
for s in "${scenarios[@]}"; do
	case "$s" in
	outbound|inbound|tunnel|micro) expanded+=("$s") ;;
	all) expanded+=(outbound inbound tunnel) ;;
	*) die 2 "unknown scenario '$s': choose outbound, inbound, tunnel, all or micro" ;;
	esac
done
scenarios=("${expanded[@]}")
for z in ${sizes//,/ }; do
	case "$z" in
	64|128|512|1420|imix) ;;
	*) die 2 "unknown frame size '$z': choose from 64,128,512,1420,imix" ;;
	esac
done
for v in duration warmup; do
	[[ ${!v} =~ ^[0-9]+([.][0-9]+)?$ ]] || die 2 "--$v must be a number of seconds"
done
[[ $reps =~ ^[1-9][0-9]*$ ]] || die 2 "--reps must be a positive integer"
[[ $sessions =~ ^[1-9][0-9]*$ ]] && [ "$sessions" -le 16384 ] || die 2 "--sessions must be 1..16384"
[[ $packets =~ ^[1-9][0-9]*$ ]] || die 2 "--packets must be a positive integer"

# The traffic source.
case "$source_opt" in
auto) if [ -n "${PKTGEN:-}" ]; then source=pktgen; else source=pcap; fi ;;
pktgen) source=pktgen ;;
pcap) source=pcap ;;
*) die 2 "--source must be pktgen or pcap" ;;
esac
if [ "$source" = pktgen ]; then
	[ -n "${PKTGEN:-}" ] || die 2 "--source pktgen: set PKTGEN=/path/to/pktgen. Build Pktgen-DPDK 23.03 yourself against this DPDK (see perf/README.md); it is not part of shardgate"
	[ -x "$PKTGEN" ] || die 2 "PKTGEN=$PKTGEN is not an executable file (build Pktgen-DPDK 23.03; see perf/README.md)"
fi
if [ -n "$secgw" ]; then
	[ "$source" = pcap ] || die 2 "--secgw compares on the pcap source only (same capture, same sink)"
	[ -f "$secgw" ] && [ -x "$secgw" ] || die 2 "--secgw $secgw is not an executable file (build DPDK's ipsec-secgw example yourself; see perf/README.md)"
fi
if [ -n "$gw_pci$gwb_pci$gen_pci" ] && [ "$source" != pktgen ]; then
	die 2 "--gw-pci/--gwb-pci/--gen-pci need pktgen as the source (PKTGEN=...)"
fi

# Binaries.
if [ -z "$shardgate" ]; then
	for c in "$build_dir/app/shardgate/shardgate" "$repo/build/app/shardgate/shardgate"; do
		[ -x "$c" ] && { shardgate=$c; break; }
	done
fi
[ -n "$shardgate" ] && [ -x "$shardgate" ] || die 2 "no shardgate binary (build it: meson setup build && ninja -C build; or --shardgate PATH)"
if [ -z "$bench" ]; then
	for c in "$(dirname "$(dirname "$(dirname "$shardgate")")")/perf/dp/sg_bench_dp" \
			"$build_dir/perf/dp/sg_bench_dp"; do
		[ -x "$c" ] && { bench=$c; break; }
	done
fi
if [ -z "$bench" ] || [ ! -x "$bench" ]; then
	bench=""
	for s in "${scenarios[@]}"; do
		[ "$s" = micro ] && die 2 "scenario micro needs sg_bench_dp (built with -Dperf=true; or --bench PATH)"
	done
	say "note: sg_bench_dp not found: no crypto-only bound, so no ratios in the report"
fi
[ -x "$py" ] || die 2 "$py not found (Debian's python3 with python3-scapy, python3-cryptography, python3-matplotlib)"

# ------------------------------------------------------------------ CPU layout
# CPUs this process may use, as a list.
expand_cpus() {
	local part a b out=()
	for part in ${1//,/ }; do
		if [[ $part == *-* ]]; then
			a=${part%-*}
			b=${part#*-}
			for ((; a <= b; a++)); do out+=("$a"); done
		else
			out+=("$part")
		fi
	done
	echo "${out[@]}"
}
read -r -a allowed <<< "$(expand_cpus "$(taskset -pc $$ | sed 's/.*: //')")"
ncpu=${#allowed[@]}

# CPUs of an EAL --lcores string: all, or workers only (every lcore but the first).
lcore_cpus() { # lcore_cpus LCORES all|workers
	local first=1 e cpu out=()
	for e in ${1//,/ }; do
		cpu=${e#*@}
		cpu=${cpu//[()]/}
		if [ "$2" = workers ] && [ "$first" -eq 1 ]; then
			first=0
			continue
		fi
		first=0
		out+=("$cpu")
	done
	echo "${out[@]}"
}
cpu_list() { local IFS=,; echo "$*"; }

default_layout() {
	local last=${allowed[$((ncpu - 1))]} first=${allowed[0]} second
	second=${allowed[$((ncpu > 1 ? ncpu - 2 : 0))]}
	if [ "$source" = pktgen ]; then
		[ "$ncpu" -ge 2 ] || die 2 "busy CPU layout: pktgen and the gateway need 2 CPUs at least, so that they never share one (this process may use ${allowed[*]})"
		# pktgen's worker alone on the last CPU; the gateways' workers on
		# another; the main lcores (control, CLI) where they do least harm.
		: "${gen_lcores:=0@$first,1@$last}"
		: "${gw_lcores:=0@$first,1@$second}"
		if [ "$ncpu" -ge 4 ]; then
			: "${gwb_lcores:=0@$first,1@${allowed[$((ncpu - 3))]}}"
		else
			: "${gwb_lcores:=0@$first,1@$second}"
		fi
	else
		: "${gw_lcores:=0@$first,1@$last}"
		: "${gwb_lcores:=0@$first,1@$second}"
	fi
}
default_layout

check_layout() {
	local c g w used=() busy
	for c in $(lcore_cpus "$gw_lcores" all) $(lcore_cpus "$gwb_lcores" all) \
			$([ "$source" = pktgen ] && lcore_cpus "$gen_lcores" all); do
		[[ " ${allowed[*]} " == *" $c "* ]] || die 2 "busy CPU layout: CPU $c is not available to this process (allowed: ${allowed[*]})"
	done
	if [ "$source" = pktgen ]; then
		for g in $(lcore_cpus "$gen_lcores" workers); do
			for w in $(lcore_cpus "$gw_lcores" workers) $(lcore_cpus "$gwb_lcores" workers); do
				[ "$g" != "$w" ] || die 2 "busy CPU layout: CPU $g would run both pktgen's worker and a gateway worker; give them different CPUs (--gen-lcores, --gw-lcores, --gwb-lcores)"
			done
			for w in $(lcore_cpus "$gw_lcores" all) $(lcore_cpus "$gwb_lcores" all); do
				[ "$g" != "$w" ] || die 2 "busy CPU layout: CPU $g would run pktgen's worker and a gateway's main lcore; give them different CPUs"
			done
		done
		used=($(lcore_cpus "$gen_lcores" workers))
	fi
	used+=($(lcore_cpus "$gw_lcores" workers))
	for s in "${scenarios[@]}"; do
		[ "$s" = tunnel ] && used+=($(lcore_cpus "$gwb_lcores" workers))
	done
	[ "$allow_busy" -eq 1 ] && return 0
	# Someone else spinning on a CPU we are about to measure on makes every
	# number wrong: refuse rather than report noise.
	while read -r c busy; do
		[ "$busy" -lt 50 ] || die 2 "busy CPU layout: CPU $c is ${busy}% busy with other work; free it, choose other CPUs (--gw-lcores, --gen-lcores) or pass --allow-busy"
	done < <("$py" "$tools/sgperf.py" cpu-busy "$(cpu_list $(printf '%s\n' "${used[@]}" | sort -un))")
}
check_layout

# ------------------------------------------------------------------ memory
free_huge_mb() {
	local n sz
	n=$(awk '/^HugePages_Free/ {print $2}' /proc/meminfo 2>/dev/null || echo 0)
	sz=$(awk '/^Hugepagesize/ {print $2}' /proc/meminfo 2>/dev/null || echo 0)
	echo $((n * sz / 1024))
}
if [ -n "$gw_pci$gwb_pci$gen_pci" ]; then
	[ "$mem" != nohuge ] || die 2 "NICs need hugepages: drop --mem nohuge"
	mem=huge
fi
case "$mem" in
auto) if [ "$(free_huge_mb)" -ge 1024 ]; then mem=huge; else mem=nohuge; fi ;;
huge|nohuge) ;;
*) die 2 "--mem must be auto, huge or nohuge" ;;
esac
gw_mem_args() {
	if [ "$mem" = huge ]; then
		# One file per process, so a vhost-user peer maps few regions.
		echo "--single-file-segments --socket-limit 512"
	else
		echo "--no-huge -m 512"
	fi
}
gen_mem_args() {
	# pktgen's pools need about 2.5 GB for two ports.
	if [ -n "$gen_pci" ] || [ "$(free_huge_mb)" -ge 3072 ]; then
		echo "--single-file-segments"
	else
		echo "--no-huge -m 3072"
	fi
}

# ------------------------------------------------------------------ run directory
run_id=$(date +%Y%m%d-%H%M%S)-$(IFS=-; echo "${scenarios[*]}")-$source
: "${out_dir:=$here/results/$run_id}"
mkdir -p "$out_dir/raw" "$out_dir/logs"
[ -z "$secgw" ] || mkdir -p "$out_dir/raw/secgw"
out_dir=$(cd "$out_dir" && pwd)
tmp_dir=$(mktemp -d /tmp/sgperf.XXXXXX)
traffic=$tmp_dir/traffic
[ "$keep" -eq 1 ] && traffic=$out_dir/traffic
say "results in $out_dir (source: $source, memory: $mem)"

# ------------------------------------------------------------------ processes
# start_gw NAME LCORES "PORT ARGS" RULES "APP ARGS" LOG: returns via globals gw_pid_NAME.
start_gw() {
	local name=$1 lcores=$2 ports=$3 rules=$4 app=$5 log=$6 prefix=${tag}_gw$1 pid cpus rc
	cpus=$(cpu_list $(lcore_cpus "$lcores" all | tr ' ' '\n' | sort -un))
	prefixes+=("$prefix")
	# shellcheck disable=SC2086
	taskset -c "$cpus" "$shardgate" --lcores="$lcores" --file-prefix="$prefix" \
		--log-level=lib.eal:notice $(gw_mem_args) $ports -- -p 0x3 -u "${unprot_mask:-0x1}" \
		-f "$rules" --nb-mbufs 16384 --max-sa $((2 * sessions + 64)) $app $gw_extra \
		--seq-state "$tmp_dir/seq-$name.state" --seq-state-init \
		> "$log" 2>&1 < /dev/null &
	pid=$!
	pids+=("$pid")
	printf -v "gw_pid_$name" '%s' "$pid"
	rc=0
	"$py" "$tools/sgperf.py" wait "$prefix" --pid "$pid" --timeout "$start_timeout" \
		--cmd /shardgate/stats 2>> "$log" || rc=$?
	if [ "$rc" -ne 0 ]; then
		{
			printf 'run.sh: error: gateway %s failed to start (%s); last lines of %s:\n' \
				"${name^^}" "$([ "$rc" -eq 1 ] && echo "it exited" || echo "no telemetry")" "$log"
			tail -n 15 "$log" | sed 's/^/  | /'
		} >&2
		exit 3
	fi
}

# stop_gw NAME: SIGTERM and its exit status (0, or 3 when mbufs leaked).
stop_gw() {
	local v="gw_pid_$1" pid i rc=0
	pid=${!v:-}
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 200; i++)); do
		alive "$pid" || break
		sleep 0.1
	done
	if alive "$pid"; then
		kill -KILL "$pid" 2>/dev/null || true
		rc=124
	fi
	wait "$pid" 2>/dev/null || rc=$?
	remove_prefix_files "${tag}_gw$1"
	printf -v "gw_pid_$1" '%s' ""
	return "$rc"
}

start_pktgen() { # start_pktgen "PORT ARGS" "PKTGEN APP ARGS" LOG
	local ports=$1 app=$2 log=$3 prefix=${tag}_pg pid cpus t c fifo=$tmp_dir/pktgen.fifo
	cpus=$(cpu_list $(lcore_cpus "$gen_lcores" all | tr ' ' '\n' | sort -un))
	prefixes+=("$prefix")
	rm -f "$fifo"
	mkfifo "$fifo"
	# A FIFO on stdin drives it: no terminal, so no SIGTTOU, and commands at any time.
	exec {pg_fd}<> "$fifo"
	# shellcheck disable=SC2086
	taskset -c "$cpus" "$PKTGEN" --lcores="$gen_lcores" --file-prefix="$prefix" \
		--log-level=lib.eal:notice $(gen_mem_args) $ports -- -P -m "$gen_matrix" $app \
		< "$fifo" > "$log" 2>&1 &
	pid=$!
	pids+=("$pid")
	pg_pid=$pid
	if ! "$py" "$tools/sgperf.py" wait "$prefix" --pid "$pid" --timeout "$start_timeout" \
			--cmd /ethdev/list 2>> "$log"; then
		printf 'run.sh: error: pktgen failed to start; last lines of %s:\n' "$log" >&2
		strings "$log" | tail -n 15 | sed 's/^/  | /' >&2
		exit 3
	fi
}

# pktgen's CLI and display threads (named "pktgen") spin on its main lcore's
# CPU. Where that CPU is a gateway's, they must yield while we measure:
# SCHED_IDLE, one thread at a time (plain nice does nothing where the kernel
# groups by session). Only once pktgen sends: an idle-class CLI on a CPU a
# gateway polls on would never get to read our commands.
pktgen_threads_policy() { # idle|other
	local t c flag=-i
	[ "$1" = other ] && flag=-o
	for t in /proc/"$pg_pid"/task/*; do
		c=$(cat "$t/comm" 2>/dev/null || true)
		[ "$c" = pktgen ] && { chrt "$flag" -p 0 "${t##*/}" > /dev/null 2>&1 || true; }
	done
}

# Wait until pktgen's port $1 sends (it started), up to $2 seconds.
pktgen_wait_tx() {
	"$py" "$tools/sgperf.py" wait-tx "${tag}_pg" "$1" --timeout "$2"
}

pg_cmd() { printf '%s\n' "$@" >&"$pg_fd"; }

# Processes of this case (gateways, pktgen) and this shell's helpers.
our_pids() {
	local p out=$$
	for p in "${pids[@]+"${pids[@]}"}"; do
		alive "$p" && out+=",$p"
	done
	echo "$out"
}

stop_pktgen() {
	[ -n "${pg_pid:-}" ] || return 0
	pktgen_threads_policy other
	pg_cmd "stop all" "quit"
	local i
	for ((i = 0; i < 100; i++)); do
		alive "$pg_pid" || break
		sleep 0.1
	done
	stop_pid "$pg_pid" 5
	exec {pg_fd}>&- || true
	pg_fd=""
	pg_pid=""
	remove_prefix_files "${tag}_pg"
}

# Ports of a gateway: "unprot,prot" PCI addresses -> EAL args and -u mask
# (PCI ports are numbered in bus order, not in the order given).
pci_ports() { # pci_ports "U,P" -> sets pci_args, unprot_mask
	local u=${1%,*} p=${1#*,}
	pci_args="-a $u -a $p"
	if [[ "$u" < "$p" ]]; then unprot_mask=0x1; else unprot_mask=0x2; fi
}

# ------------------------------------------------------------------ one case
pktgen_range() { # pktgen_range PORT SIZE DSTMAC
	local p=$1 z=$2 mac=$3 max
	max=$("$py" -c "import sys; n=int(sys.argv[1]); b=(10<<24)|(128<<16); a=b+((n-1)<<8)+1; print('%d.%d.%d.%d'%(a>>24,(a>>16)&255,(a>>8)&255,a&255))" "$sessions")
	pg_cmd "range $p proto udp" \
		"range $p src ip 10.1.0.1 10.1.0.1 10.1.255.254 0.0.0.1" \
		"range $p dst ip 10.128.0.1 10.128.0.1 $max 0.0.1.0" \
		"range $p src port 1024 1024 65000 1" \
		"range $p dst port 5001 5001 5001 0" \
		"range $p size $z $z $z 0" \
		"range $p dst mac start $mac" \
		"enable $p range" \
		"set $p rate $gen_rate"
}

run_case() { # run_case SCENARIO SIZE REP
	local scen=$1 z=$2 rep=$3 id="$1-$2-r$3" win=1024 meta=() gw_app="" gtx=0 grx=1
	local mean rc a_ports b_ports gen_ports gen_app="" rate=""
	mean=$("$py" -c "import json,sys; m=json.load(open(sys.argv[1])); print(m['captures'][sys.argv[2]]['mean_frame'])" "$traffic/manifest.json" "$([ "$scen" = inbound ] && echo in || echo out)-$z")
	unprot_mask=0x1
	case "$scen" in
	inbound) win=0 ;;
	esac
	[ "$scen" = inbound ] && gw_app="-w 0"
	local share_app=""
	if [ "$scen" = tunnel ] && [[ $gw_extra != *--poll-sleep-us* ]]; then
		local ca cb
		for ca in $(lcore_cpus "$gw_lcores" workers); do
			for cb in $(lcore_cpus "$gwb_lcores" workers); do
				[ "$ca" != "$cb" ] || share_app="--poll-sleep-us 10"
			done
		done
		# Two busy pollers on one CPU starve each other: each must yield when idle.
		[ -z "$share_app" ] || [ "$rep" -gt 0 ] || [ "$z" != "${sizes%%,*}" ] ||
			say "tunnel: gateways A and B share a worker CPU, so both run with --poll-sleep-us 10"
	fi
	local sock_a0=$tmp_dir/a0.sock sock_a1=$tmp_dir/a1.sock sock_ab=$tmp_dir/ab.sock
	local sock_b1=$tmp_dir/b1.sock cap_out=$traffic/out-$z.pcap cap_in=$traffic/in-$z.pcap
	rm -f "$tmp_dir"/*.sock

	if [ "$source" = pcap ]; then
		case "$scen" in
		outbound)
			start_gw a "$gw_lcores" "--no-pci --vdev=net_null0,no-rx=1 --vdev=net_pcap0,rx_pcap=$cap_out,infinite_rx=1" \
				"$traffic/rules-a.cfg" "$gw_app" "$out_dir/logs/$id-gwa.log" ;;
		inbound)
			start_gw a "$gw_lcores" "--no-pci --vdev=net_pcap0,rx_pcap=$cap_in,infinite_rx=1 --vdev=net_null0,no-rx=1" \
				"$traffic/rules-a.cfg" "$gw_app" "$out_dir/logs/$id-gwa.log" ;;
		tunnel)
			start_gw b "$gwb_lcores" "--no-pci --vdev=net_vhost0,iface=$sock_ab,queues=1 --vdev=net_null0,no-rx=1" \
				"$traffic/rules-b.cfg" "$share_app" "$out_dir/logs/$id-gwb.log"
			start_gw a "$gw_lcores" "--no-pci --vdev=virtio_user0,path=$sock_ab,queues=1,mac=02:00:00:00:aa:00 --vdev=net_pcap0,rx_pcap=$cap_out,infinite_rx=1" \
				"$traffic/rules-a.cfg" "$share_app" "$out_dir/logs/$id-gwa.log" ;;
		esac
	else
		if [ "$scen" = tunnel ]; then
			if [ -n "$gwb_pci" ]; then
				pci_ports "$gwb_pci"; b_ports=$pci_args
			else
				b_ports="--no-pci --vdev=net_vhost0,iface=$sock_ab,queues=1 --vdev=net_vhost1,iface=$sock_b1,queues=1"
				unprot_mask=0x1
			fi
			start_gw b "$gwb_lcores" "$b_ports" "$traffic/rules-b.cfg" "$share_app" "$out_dir/logs/$id-gwb.log"
		fi
		unprot_mask=0x1
		if [ -n "$gw_pci" ]; then
			pci_ports "$gw_pci"; a_ports=$pci_args
		elif [ "$scen" = tunnel ]; then
			a_ports="--no-pci --vdev=virtio_user0,path=$sock_ab,queues=1,mac=02:00:00:00:aa:00 --vdev=net_vhost1,iface=$sock_a1,queues=1"
		else
			a_ports="--no-pci --vdev=net_vhost0,iface=$sock_a0,queues=1 --vdev=net_vhost1,iface=$sock_a1,queues=1"
		fi
		start_gw a "$gw_lcores" "$a_ports" "$traffic/rules-a.cfg" "$gw_app $share_app" "$out_dir/logs/$id-gwa.log"
		# pktgen port 0 feeds gateway A's protected side; port 1 faces the
		# unprotected side (outbound, inbound) or gateway B's protected side.
		if [ -n "$gen_pci" ]; then
			gen_ports="-a ${gen_pci%,*} -a ${gen_pci#*,}"
		elif [ "$scen" = tunnel ]; then
			gen_ports="--no-pci --vdev=virtio_user0,path=$sock_a1,queues=1,speed=100000,mac=$GEN_MAC0 --vdev=virtio_user1,path=$sock_b1,queues=1,speed=100000,mac=$GEN_MAC1"
		else
			gen_ports="--no-pci --vdev=virtio_user0,path=$sock_a1,queues=1,speed=100000,mac=$GEN_MAC0 --vdev=virtio_user1,path=$sock_a0,queues=1,speed=100000,mac=$GEN_MAC1"
		fi
		if [ "$scen" = inbound ]; then
			gen_app="-s 1:$cap_in"
			gtx=1
			grx=0
		elif [ "$z" = imix ]; then
			gen_app="-s 0:$cap_out"
		fi
		start_pktgen "$gen_ports" "$gen_app" "$out_dir/logs/$id-pktgen.log"
		if [ -z "$gen_app" ]; then
			pktgen_range 0 "$z" "$("$py" "$tools/sgperf.py" mac "${tag}_gwa" 1 2>/dev/null || echo 02:00:00:00:aa:01)"
		fi
		rate=$gen_rate
		[ "$rate" = auto ] && rate=100
		pg_cmd "set $gtx rate $rate" "start $gtx"
		pktgen_wait_tx "$gtx" 30 || die 4 "$id: pktgen did not start sending (log: $out_dir/logs/$id-pktgen.log)"
		pktgen_threads_policy idle
	fi

	meta=(--meta "scenario=$scen" --meta "size=$z" --meta "rep=$rep" --meta "source=$source"
		--meta "mean_frame=$mean" --meta "gen_tx_port=$gtx" --meta "gen_rx_port=$grx")
	case "$scen" in
	outbound) meta+=(--meta "replay_window=-") ;;
	*) meta+=(--meta "replay_window=$win") ;;
	esac
	local gws=(--gw "a=${tag}_gwa")
	[ "$scen" = tunnel ] && gws+=(--gw "b=${tag}_gwb")
	[ "$source" = pktgen ] && gws+=(--gen "${tag}_pg")
	if [ "$source" = pktgen ] && [ "$gen_rate" = auto ]; then
		# Step the rate down to where the loss is acceptable (a short
		# RFC 2544-style search: at most 4 probes of 1 s).
		local k verdict word
		rm -f "$tmp_dir/search.json"
		for ((k = 0; k < 4; k++)); do
			"$py" "$tools/sgperf.py" measure --out "$tmp_dir/probe.json" --warmup 0.5 \
				--duration 1 "${gws[@]}" "${meta[@]}" || break
			read -r word verdict _ < <("$py" "$tools/sgperf.py" next-rate "$tmp_dir/probe.json" \
				"$rate" --max-loss "$max_loss" --state "$tmp_dir/search.json")
			if [ "$word" = ok ]; then
				[ "$verdict" = "$rate" ] || { rate=$verdict; pg_cmd "set $gtx rate $rate"; }
				break
			fi
			say "$id: loss above $max_loss% at rate $rate%; trying $verdict%"
			rate=$verdict
			pg_cmd "set $gtx rate $rate"
		done
	fi
	[ "$source" = pktgen ] && meta+=(--meta "rate=$rate")
	[ -n "$share_app" ] && meta+=(--meta "shared_worker_cpu=yes")
	rc=0
	"$py" "$tools/sgperf.py" measure --out "$out_dir/raw/$id.json" --warmup "$warmup" \
		--duration "$duration" "${gws[@]}" "${meta[@]}" --pids "$(our_pids)" || rc=$?
	stop_pktgen
	local ra=0 rb=0
	stop_gw a || ra=$?
	[ "$scen" = tunnel ] && { stop_gw b || rb=$?; }
	[ "$rc" -eq 0 ] || die 4 "$id: measurement failed (logs in $out_dir/logs)"
	if [ "$ra" -ne 0 ] || [ "$rb" -ne 0 ]; then
		die 4 "$id: a gateway did not exit cleanly (A: $ra, B: $rb; 3 means mbufs leaked; logs in $out_dir/logs)"
	fi
	"$py" - "$out_dir/raw/$id.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
m, dt = r["meta"], r["dt"]
parts = []
for g, v in sorted(r["gw"].items()):
    w = v["worker"]
    pk = w.get("rx", 0)
    parts.append("gw %s rx %.2f Mpps tx %.2f Mpps %d cyc/pkt drops %d" % (
        g.upper(), pk / dt / 1e6, w.get("tx", 0) / dt / 1e6,
        w.get("busy_cycles", 0) / pk if pk else 0, w.get("drops", 0)))
if r.get("gen"):
    g = r["gen"]
    parts.append("pktgen tx %.2f rx %.2f Mpps" % (
        g[m["gen_tx_port"]].get("opackets", 0) / dt / 1e6,
        g[m["gen_rx_port"]].get("ipackets", 0) / dt / 1e6))
if r.get("foreign_load_pct", 0) >= 10:
    parts.append("WARNING: other processes used %.0f%% of the machine" % r["foreign_load_pct"])
print("run.sh: %-8s %-4s rep %s: %s" % (m["scenario"], m["size"], m["rep"], "; ".join(parts)))
EOF
}

# ------------------------------------------------------------------ baseline
# run_secgw_case SCENARIO SIZE REP: the same case through ipsec-secgw, one
# lcore on gateway A's worker CPU, the same vdevs, capture and rule file
# (ipsec-secgw's grammar), its own cryptodev (crypto_aesni_gcm, ipsec-mb).
run_secgw_case() {
	local scen=$1 z=$2 rep=$3 id="$1-$2-r$3" cpu prefix=${tag}_secgw pid rc ports out_port
	local log=$out_dir/logs/$id-secgw.log
	cpu=$(lcore_cpus "$gw_lcores" workers | awk '{print $1}')
	if [ "$scen" = inbound ]; then
		ports="--vdev=net_pcap0,rx_pcap=$traffic/in-$z.pcap,infinite_rx=1 --vdev=net_null0,no-rx=1"
		out_port=1
	else
		ports="--vdev=net_null0,no-rx=1 --vdev=net_pcap0,rx_pcap=$traffic/out-$z.pcap,infinite_rx=1"
		out_port=0
	fi
	prefixes+=("$prefix")
	# shellcheck disable=SC2086
	taskset -c "$cpu" "$secgw" -l "$cpu" --file-prefix="$prefix" --no-pci $(gw_mem_args) \
		$ports --vdev=crypto_aesni_gcm0 -- -p 0x3 -u 0x1 \
		--config "(0,0,$cpu),(1,0,$cpu)" -f "$traffic/rules-a.cfg" > "$log" 2>&1 < /dev/null &
	pid=$!
	pids+=("$pid")
	rc=0
	"$py" "$tools/sgperf.py" wait "$prefix" --pid "$pid" --timeout "$start_timeout" \
		--cmd /ethdev/list 2>> "$log" || rc=$?
	if [ "$rc" -eq 0 ]; then
		"$py" "$tools/sgperf.py" measure-port --prefix "$prefix" --port "$out_port" \
			--warmup "$warmup" --duration "$duration" --out "$out_dir/raw/secgw/$id.json" \
			--meta "scenario=$scen" --meta "size=$z" --meta "rep=$rep" 2>> "$log" || rc=4
	fi
	stop_pid "$pid" 5
	remove_prefix_files "$prefix"
	case "$rc" in
	0) "$py" -c 'import json, sys; r = json.load(open(sys.argv[1])); print("run.sh: %-8s %-4s rep %s: ipsec-secgw %.2f Mpps" % (sys.argv[2], sys.argv[3], sys.argv[4], r["port"].get("opackets", 0) / r["dt"] / 1e6))' \
		"$out_dir/raw/secgw/$id.json" "$scen" "$z" "$rep" ;;
	4) die 4 "$id: ipsec-secgw measurement failed (log: $log)" ;;
	*)
		{
			printf 'run.sh: error: ipsec-secgw failed to start; last lines of %s:\n' "$log"
			tail -n 15 "$log" | sed 's/^/  | /'
			echo "run.sh: on vdevs it must not require RX checksum offload (see perf/README.md)"
		} >&2
		exit 3 ;;
	esac
}

# ------------------------------------------------------------------ machine
machine_info() {
	local model cpus hz dpdk imb pg="" kern
	model=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
	cpus=$(nproc --all)
	kern=$(uname -r)
	dpdk=$(pkg-config --modversion libdpdk 2>/dev/null || echo "?")
	imb=$(sed -n 's/.*ipsec-mb \([0-9.]*\), \([a-z0-9-]*\) code path.*/\1 (\2)/p' "$out_dir"/logs/*-gwa.log 2>/dev/null | head -1)
	[ -n "$imb" ] || imb=$(dpkg-query -W -f '${Version}' libipsec-mb1 2>/dev/null || echo "?")
	if [ "$source" = pktgen ]; then
		pg=$(strings "$out_dir"/logs/*-pktgen.log 2>/dev/null | grep -o 'Pktgen[^,]*[0-9][0-9]\.[0-9][0-9]\.[0-9]*' | head -1 || true)
		pg=", generator: ${pg:-Pktgen-DPDK} ($PKTGEN)"
	fi
	"$py" - "$out_dir/machine.json" <<EOF
import json, sys
hv = "$(lscpu | sed -n 's/^Hypervisor vendor: *//p' | head -1)"
d = {"cpu_model": "$model", "cpus": $cpus, "hypervisor": hv, "kernel": "$kern",
     "dpdk": "$dpdk", "ipsec_mb": "$imb", "source": "$source", "memory": "$mem",
     "gw_lcores": "$gw_lcores", "gwb_lcores": "$gwb_lcores",
     "gen_lcores": "$([ "$source" = pktgen ] && echo "$gen_lcores")",
     "shardgate": "$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')"}
d["summary"] = "%s, %d CPUs%s, Linux %s; DPDK %s, intel-ipsec-mb %s; shardgate %s; source %s%s; gateway lcores %s" % (
    d["cpu_model"], d["cpus"], (" (" + hv + " guest)") if hv else "", d["kernel"], d["dpdk"],
    d["ipsec_mb"], d["shardgate"], "$source", "$pg", d["gw_lcores"])
json.dump(d, open(sys.argv[1], "w"), indent=1)
EOF
}

# ------------------------------------------------------------------ main
want_traffic=0
for s in "${scenarios[@]}"; do [ "$s" != micro ] && want_traffic=1; done
if [ "$want_traffic" -eq 1 ]; then
	say "making captures and rule files ($sessions sessions, $packets frames per capture)"
	"$py" "$tools/gen_traffic.py" --out "$traffic" --sessions "$sessions" --packets "$packets" \
		--sizes "$sizes" --neigh0 "$GEN_MAC1" --neigh1 "$GEN_MAC0" > "$out_dir/logs/gen_traffic.log" ||
		die 4 "capture generator failed (see $out_dir/logs/gen_traffic.log)"
fi

bound_cpu=$(lcore_cpus "$gw_lcores" workers | awk '{print $1}')
run_bound() {
	[ -n "$bench" ] || return 0
	local args=(--bound-only --sizes "$sizes" --reps "$reps" --bursts 20000 --csv "$tmp_dir/bound.csv")
	taskset -c "$bound_cpu" "$bench" "${args[@]}" > "$out_dir/logs/bound-$1.log" 2>&1 ||
		die 4 "crypto-only bound failed (see $out_dir/logs/bound-$1.log)"
	if [ -f "$out_dir/bound.csv" ]; then
		tail -n +2 "$tmp_dir/bound.csv" >> "$out_dir/bound.csv"
	else
		cp "$tmp_dir/bound.csv" "$out_dir/bound.csv"
	fi
}

measured=0
for s in "${scenarios[@]}"; do
	[ "$s" = micro ] || { measured=1; break; }
done
# The bound before and after the scenarios: the report takes the median of both.
[ "$measured" -eq 1 ] && run_bound before
for ((rep = 0; rep < reps; rep++)); do
	for s in "${scenarios[@]}"; do
		[ "$s" = micro ] && continue
		for z in ${sizes//,/ }; do
			for ((attempt = 0; ; attempt++)); do
				run_case "$s" "$z" "$rep"
				load=$("$py" -c 'import json, sys; print(int(json.load(open(sys.argv[1])).get("foreign_load_pct", 0)))' \
					"$out_dir/raw/$s-$z-r$rep.json")
				[ "$load" -ge 10 ] && [ "$attempt" -lt "$retry_busy" ] || break
				say "$s $z rep $rep: other processes took $load% of the machine; once more in 5 s"
				sleep 5
			done
			[ -n "$secgw" ] && [ "$s" != tunnel ] && run_secgw_case "$s" "$z" "$rep"
		done
	done
done
[ "$measured" -eq 1 ] && run_bound after

for s in "${scenarios[@]}"; do
	[ "$s" = micro ] || continue
	# The gateways' memory: on 4 KB pages the data path's TLB misses alone
	# add ~30 cycles per 128 B packet. --in-memory leaves no hugepage file.
	micro_eal=()
	if [ "$mem" = huge ]; then
		# Its own prefix: EAL makes a runtime directory even --in-memory, and
		# the default one ("rte") belongs to whatever else runs here.
		micro_eal=(-l "$bound_cpu" --no-pci --in-memory -m 512 --no-telemetry
			--log-level=lib.eal:error "--file-prefix=${tag}_bench" --)
		prefixes+=("${tag}_bench")
	fi
	say "micro-benchmarks (sg_bench_dp) on CPU $bound_cpu, memory: $mem"
	taskset -c "$bound_cpu" "$bench" "${micro_eal[@]}" --sizes "$sizes" --reps "$reps" \
		--sessions "$sessions" --packets "$packets" --csv "$out_dir/micro.csv" |
		tee "$out_dir/micro.txt" || die 4 "sg_bench_dp failed"
done

if [ "$measured" -eq 1 ]; then
	machine_info
	rargs=("$out_dir")
	[ "$no_plots" -eq 1 ] && rargs+=(--no-plots)
	"$py" "$tools/sgperf.py" report "${rargs[@]}" || die 4 "report failed"
	if [ -n "$img_dir" ] && [ "$no_plots" -eq 0 ]; then
		mkdir -p "$img_dir"
		cp "$out_dir/throughput.png" "$out_dir/cycles.png" "$img_dir/"
	fi
	echo
	cat "$out_dir/results.md"
fi
exit 0
