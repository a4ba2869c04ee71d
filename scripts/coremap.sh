#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Recommend a core/NUMA map for shardgate: runs sg-topo (hwloc + libnuma +
# sysfs) with your arguments. It prints the machine's nodes, cores, SMT
# siblings and NICs, then an EAL --lcores map and a --config map: the control
# core apart, one worker per queue on its NIC's node, no two workers on SMT
# siblings.
#
#   scripts/coremap.sh --nic 0000:3b:00.0:4 --nic 0000:af:00.0:4 --write map.env
#   scripts/coremap.sh --input host.xml --nic 3b:00.0:8     # from `lstopo host.xml` on the target
#   scripts/coremap.sh --synthetic "pack:2 [numa] core:8 pu:2" --nic 0:4 --nic 1:4
#   scripts/coremap.sh --help        sg-topo's options
#   scripts/coremap.sh --launch      how a launcher uses the map file
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
bin=${SG_BUILD_DIR:-$here/build}/app/sg-topo/sg-topo

if [ "${1:-}" = "--launch" ]; then
	cat <<'NOTE'
The map file that --write produces holds shell variables, nothing else:

    lcores="0@0,1@2,2@4"             EAL --lcores: lcore 0 (control) and the workers
    config="(0,0,1),(0,1,2)"         shardgate --config: (port,queue,lcore)
    portmask="0x1"                   every port planned, for -p
    allow="-a 0000:3b:00.0"          the PCI allow-list, in port order

A launcher sources it and passes the values through ($allow unquoted: it is
several words):

    . ./map.env
    build/app/shardgate/shardgate --lcores "$lcores" $allow -- \
        -p "$portmask" -u 0x1 -f rules.cfg --config "$config" --strict-numa

-u (which ports are unprotected) and -f are yours to add. DPDK numbers PCI
ports in address order, and so does the map. Re-run coremap.sh after moving
a NIC or changing queue counts; --strict-numa makes shardgate refuse a map
that polls a queue from another node.
NOTE
	exit 0
fi

if [ ! -x "$bin" ]; then
	echo "coremap.sh: $bin is not built: run scripts/setup.sh (or ninja -C build)" >&2
	exit 1
fi
exec "$bin" "$@"
