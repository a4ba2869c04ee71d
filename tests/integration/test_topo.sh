#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# sg-topo on saved (XML) and synthetic topologies: the printed --lcores and
# --config maps, the --write map file as a launcher sources it, and exit 2 on
# bad input. Ends with "SGTEST topo-cli: N passed, N failed".
#
#   tests/integration/test_topo.sh BUILD/app/sg-topo/sg-topo tests/unit/data/topo
set -u

sgtopo=${1:?usage: test_topo.sh SG_TOPO_BINARY DATA_DIR}
data=${2:?usage: test_topo.sh SG_TOPO_BINARY DATA_DIR}
tmp=$(mktemp -d /tmp/sg_topo_cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
two_socket="pack:2 [numa] core:4 pu:2"

ok() { pass=$((pass + 1)); echo "ok   $1"; }
ko() { fail=$((fail + 1)); echo "FAIL $1"; shift; for l in "$@"; do echo "     $l"; done; }

# run ARGS...: sets rc, out, err.
run() {
	"$sgtopo" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	out=$(cat "$tmp/out")
	err=$(cat "$tmp/err")
}

# expect NAME RC LINE...: exit status RC and each LINE present in stdout.
expect() {
	local name=$1 want_rc=$2 line
	shift 2
	if [ "$rc" -ne "$want_rc" ]; then
		ko "$name" "exit $rc, expected $want_rc" "stderr: $err"
		return
	fi
	for line in "$@"; do
		if ! grep -qxF -- "$line" "$tmp/out"; then
			ko "$name" "missing line: $line" "stdout:" "$out"
			return
		fi
	done
	ok "$name"
}

# bad NAME ARGS...: exit 2 with a message on stderr.
bad() {
	local name=$1
	shift
	run "$@"
	if [ "$rc" -eq 2 ] && [ -n "$err" ]; then
		ok "bad input: $name"
	else
		ko "bad input: $name" "exit $rc, expected 2" "stderr: $err"
	fi
}

run --synthetic "$two_socket" --nic 0:3 --nic 1:2
expect "synthetic two-socket SMT: one worker per queue, local" 0 \
	"machine: 2 NUMA node(s), 8 core(s), 16 CPU(s), SMT 2" \
	"node 1: 4 core(s), CPUs 8-15" \
	"  core: CPUs 8-9 (SMT siblings)" \
	"lcores: 0@0,1@2,2@4,3@6,4@8,5@10" \
	"config: (0,0,1),(0,1,2),(0,2,3),(1,0,4),(1,1,5)"

run --input "$data/2s-smt.xml" --nic 0:3 --nic 1:2
expect "saved XML gives the same map" 0 \
	"topology: XML file $data/2s-smt.xml" \
	"lcores: 0@0,1@2,2@4,3@6,4@8,5@10" \
	"config: (0,0,1),(0,1,2),(0,2,3),(1,0,4),(1,1,5)"

# PCI NICs are numbered in address order, whatever the order given.
run --input "$data/2s-smt-pci.xml" --nic af:00.0:2 --nic 0000:3b:00.0:2 --write "$tmp/map.env"
expect "XML with PCI: NIC nodes from hwloc, ports in PCI order" 0 \
	"  0000:3b:00.0  node 0 (hwloc 0, sysfs ?)  8086:1592  ens1f0" \
	"  0000:af:00.0  node 1 (hwloc 1, sysfs ?)  15b3:1017  ens2f0" \
	"  port 0: 0000:3b:00.0, node 0, 2 rx queue(s)" \
	"  port 1: 0000:af:00.0, node 1, 2 rx queue(s)" \
	"lcores: 0@0,1@2,2@4,3@8,4@10" \
	"config: (0,0,1),(0,1,2),(1,0,3),(1,1,4)" \
	"wrote $tmp/map.env"
if grep -q "0000:3b:00.2" "$tmp/out"; then
	ko "XML with PCI: the NVMe is not listed as a NIC"
else
	ok "XML with PCI: the NVMe is not listed as a NIC"
fi

# The launcher sources the map file; nothing in it but comments and KEY="VALUE".
if [ -f "$tmp/map.env" ] && ! grep -qvE '^(#.*|[a-z_]+="[^"$`\\]*")$' "$tmp/map.env"; then
	ok "map file: only comments and KEY=\"VALUE\" lines"
else
	ko "map file: only comments and KEY=\"VALUE\" lines" "$(cat "$tmp/map.env" 2>&1)"
fi
# shellcheck disable=SC1091,SC2154 # the variables come from the map file
got=$(
	. "$tmp/map.env" && printf '%s|%s|%s|%s' "$lcores" "$config" "$portmask" "$allow"
)
want="0@0,1@2,2@4,3@8,4@10|(0,0,1),(0,1,2),(1,0,3),(1,1,4)|0x3|-a 0000:3b:00.0 -a 0000:af:00.0"
if [ "$got" = "$want" ]; then
	ok "map file: sourced values"
else
	ko "map file: sourced values" "got  $got" "want $want"
fi

run --input "$data/2s-smt.xml" --nic 0:1 --nic 1:6
expect "remote fallback is flagged" 0 \
	"  lcore 6 -> CPU 4 (node 0): polls port 1 queue 4 (remote)" \
	"config: (0,0,1),(1,0,2),(1,1,3),(1,2,4),(1,3,5),(1,4,6),(1,5,7)"
if grep -q "warning: remote: port 1 queue 4" "$tmp/err"; then
	ok "remote fallback: warning on stderr"
else
	ko "remote fallback: warning on stderr" "stderr: $err"
fi

run --synthetic "$two_socket" --nic 0:4
expect "control core moves off a node its NIC fills" 0 \
	"lcores: 0@8,1@0,2@2,3@4,4@6"

run --synthetic "$two_socket" --nic 0:3 --nic 1:3 --workers 2
expect "--workers caps workers; queues share them" 0 \
	"lcores: 0@0,1@2,2@8" \
	"config: (0,0,1),(0,1,1),(0,2,1),(1,0,2),(1,1,2),(1,2,2)"

run --synthetic "pack:1 core:2 pu:1" --nic 0:3
expect "fewer cores than queues: fewer workers, and why" 0 "lcores: 0@0,1@1"
if grep -q "not enough cores" "$tmp/err"; then ok "fewer cores: reason on stderr"; else
	ko "fewer cores: reason on stderr" "stderr: $err"; fi

run --synthetic "$two_socket" --nic 0:1 --control 9
expect "--control keeps the control core where asked" 0 "lcores: 0@9,1@0"

run --help
expect "--help" 0 "  --write FILE       write the map as shell variables: lcores, config, portmask,"

run
expect "live machine" 0 "topology: this machine"

echo "not xml" >"$tmp/junk.xml"
bad "unknown NIC" --input "$data/2s-smt-pci.xml" --nic 0000:3b:00.7:2
bad "NIC not in a synthetic topology" --synthetic "$two_socket" --nic 3b:00.0
bad "malformed XML" --input "$tmp/junk.xml"
bad "missing XML" --input "$tmp/none.xml"
bad "bad synthetic grammar" --synthetic "pack:2 core:x"
bad "bad --nic" --synthetic "$two_socket" --nic 0
bad "bad --nic queues" --synthetic "$two_socket" --nic 0:0
bad "node that does not exist" --synthetic "$two_socket" --nic 7:1
bad "not enough CPUs" --synthetic "pack:1 core:1 pu:1" --nic 0:1
bad "--input with --synthetic" --input "$data/2s-smt.xml" --synthetic "$two_socket"
bad "--workers 0" --synthetic "$two_socket" --nic 0:1 --workers 0
bad "unknown option" --frobnicate
if grep -q "not in the topology" <<<"$(
	"$sgtopo" --input "$data/2s-smt-pci.xml" --nic 3b:00.7 2>&1 >/dev/null)"; then
	ok "unknown NIC: the message names it"
else
	ko "unknown NIC: the message names it"
fi

run --synthetic "$two_socket" --nic 0:1 --write /nonexistent/dir/map.env
if [ "$rc" -eq 1 ] && grep -q "cannot write" "$tmp/err"; then
	ok "unwritable --write file: exit 1"
else
	ko "unwritable --write file: exit 1" "exit $rc" "stderr: $err"
fi

# Host preparation: a dry run changes nothing and says so; bad input is exit 2.
hp=$(dirname "$0")/../../drivers-config/hugepages.sh
if out=$("$hp" --pages 16 2>&1) && grep -q "^dry run: nothing changed" <<<"$out" &&
	! grep -q "^+ " <<<"$out"; then
	ok "hugepages.sh: dry run by default"
else
	ko "hugepages.sh: dry run by default" "$out"
fi
"$hp" --bind 3b:00 >/dev/null 2>&1
rc=$?
if [ "$rc" -eq 2 ]; then ok "hugepages.sh: bad --bind is exit 2"; else
	ko "hugepages.sh: bad --bind is exit 2" "exit $rc"; fi

echo "SGTEST topo-cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
