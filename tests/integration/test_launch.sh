#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# scripts/launch.sh: a map file from coremap.sh starts shardgate with its
# --lcores, -p and --config; a map file that is not KEY="VALUE" lines (or
# would run a command if sourced) is refused before anything starts.
# Ends with "SGTEST launch: N passed, N failed".
#
#   tests/integration/test_launch.sh BUILD_DIR
set -u

build=${1:?usage: test_launch.sh BUILD_DIR}
here=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d /tmp/sg_launch.XXXXXX)
prefix="sgtest_launch_$$"
trap 'rm -rf "$tmp" "/var/run/dpdk/$prefix"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
ko() { fail=$((fail + 1)); echo "FAIL $1: $2"; }

cat > "$tmp/rules.cfg" <<'R'
rt ipv4 dst 10.0.0.0/8 port 1
R
printf 'lcores="0@0,1@0"\nconfig="(0,0,1),(1,0,1)"\nportmask="0x3"\nallow=""\n' > "$tmp/map.env"

SG_BUILD_DIR=$build "$here/scripts/launch.sh" "$tmp/map.env" --no-pci --no-huge -m 256 \
	--file-prefix="$prefix" --vdev=net_null0 --vdev=net_null1 -- -u 0x1 -f "$tmp/rules.cfg" \
	--poll-sleep-us 200 --seq-state "$tmp/seq.state" --seq-state-init > "$tmp/out" 2>&1 &
pid=$!
for _ in $(seq 100); do
	grep -q "shardgate: running" "$tmp/out" && break
	sleep 0.1
done
if grep -q "shardgate: running: 1 worker" "$tmp/out"; then
	ok "the map starts one worker"
else
	ko "the map starts one worker" "$(tail -5 "$tmp/out")"
fi
if grep -q "lcore 1 (socket 0) polls port 1 queue 0" "$tmp/out"; then
	ok "--config from the map is honoured"
else
	ko "--config from the map is honoured" "$(grep polls "$tmp/out")"
fi
kill -INT "$pid" 2>/dev/null
wait "$pid"
rc=$?
[ "$rc" -eq 0 ] && ok "clean exit" || ko "clean exit" "status $rc"

bad() {
	local name=$1 content=$2 want=$3
	printf '%s\n' "$content" > "$tmp/bad.env"
	SG_BUILD_DIR=$build "$here/scripts/launch.sh" "$tmp/bad.env" --no-pci -- -u 1 \
		> "$tmp/bad.out" 2>&1
	rc=$?
	if [ "$rc" -eq 2 ] && grep -q -- "$want" "$tmp/bad.out"; then
		ok "$name"
	else
		ko "$name" "status $rc: $(cat "$tmp/bad.out")"
	fi
}
touch "$tmp/pwned"
bad "command substitution is not run" 'lcores="$(rm -f '"$tmp"'/pwned)"' 'bad.env:1: expected KEY="VALUE"'
[ -e "$tmp/pwned" ] && ok "the file the command would remove is still there" ||
	ko "the file the command would remove is still there" "it was removed"
bad "unknown key" 'evil="x"' "unknown key 'evil'"
bad "missing config" 'lcores="0@0,1@0"' "no config= line"
bad "unreadable map" "" "no lcores= line"
SG_BUILD_DIR=$build "$here/scripts/launch.sh" "$tmp/none.env" -- > "$tmp/bad.out" 2>&1
[ $? -eq 2 ] && ok "missing map file" || ko "missing map file" "$(cat "$tmp/bad.out")"
printf 'lcores="0@0,1@0"\nconfig="(0,0,1)"\nportmask="0x1"\n' > "$tmp/ok.env"
SG_BUILD_DIR=$build "$here/scripts/launch.sh" "$tmp/ok.env" --no-pci > "$tmp/bad.out" 2>&1
[ $? -eq 2 ] && grep -q "expected -- before" "$tmp/bad.out" && ok "no -- is refused" ||
	ko "no -- is refused" "$(cat "$tmp/bad.out")"

echo "SGTEST launch: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
