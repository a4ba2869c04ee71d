#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Prepare a host for shardgate: reserve hugepages on each NUMA node, mount
# hugetlbfs, and optionally bind PCI NICs to vfio-pci with dpdk-devbind.py.
# Dry run by default: it prints what it would do. --apply does it (root only).
#
#   drivers-config/hugepages.sh [--apply] [--pages N] [--size 2M|1G] [--nodes 0,1]
#                               [--mount DIR] [--bind PCI]... [--driver NAME]
#
#   --pages N     pages per node (default 1024 of 2 MiB = 2 GiB per node)
#   --size        page size: 2M (default) or 1G (1G pages are best reserved at boot)
#   --nodes LIST  nodes to reserve on (default: every node with memory)
#   --mount DIR   hugetlbfs mount point (default /dev/hugepages)
#   --bind PCI    bind this NIC (0000:3b:00.0) to --driver (default vfio-pci);
#                 NICs of bifurcated PMDs (mlx5_core) are refused: they stay put
set -euo pipefail

apply=0
pages=1024
size_kb=2048
nodes=""
mnt=/dev/hugepages
driver=vfio-pci
bind=()
sys=${SG_SYSFS:-/sys}

die() { echo "hugepages.sh: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
	case "$1" in
	--apply) apply=1 ;;
	--pages) [[ ${2:-} =~ ^[0-9]+$ ]] || die "--pages needs a number"; pages=$2; shift ;;
	--size)
		case "${2:-}" in
		2M | 2m | 2048) size_kb=2048 ;;
		1G | 1g | 1048576) size_kb=1048576 ;;
		*) die "--size is 2M or 1G" ;;
		esac
		shift ;;
	--nodes) [[ ${2:-} =~ ^[0-9]+(,[0-9]+)*$ ]] || die "--nodes needs a list like 0,1"
		nodes=${2//,/ }; shift ;;
	--mount) [ -n "${2:-}" ] || die "--mount needs a directory"; mnt=$2; shift ;;
	--driver)
		case "${2:-}" in
		vfio-pci | uio_pci_generic | igb_uio) driver=$2 ;;
		*) die "--driver is vfio-pci, uio_pci_generic or igb_uio" ;;
		esac
		shift ;;
	--bind)
		a=${2:-}
		[[ $a =~ ^[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$ ]] && a=0000:$a
		[[ $a =~ ^[0-9a-fA-F]{4,5}:[0-9a-fA-F]{2}:[0-1][0-9a-fA-F]\.[0-7]$ ]] ||
			die "--bind needs a PCI address like 0000:3b:00.0, not '${2:-}'"
		bind+=("${a,,}"); shift ;;
	-h | --help) sed -n '3,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown option $1 (--help)" ;;
	esac
	shift
done

if [ "$apply" -eq 1 ] && [ "$(id -u)" -ne 0 ]; then
	echo "hugepages.sh: --apply changes kernel settings: run it as root" >&2
	exit 1
fi

# do CMD...: run it with --apply, else print it.
do_() {
	if [ "$apply" -eq 1 ]; then
		echo "+ $*"
		"$@"
	else
		echo "would: $*"
	fi
}
# write VALUE FILE: the same for a sysfs write.
write() {
	if [ "$apply" -eq 1 ]; then
		echo "+ echo $1 > $2"
		echo "$1" >"$2"
	else
		echo "would: echo $1 > $2"
	fi
}

# 1. Hugepages on each node: DPDK creates a node's mempool from that node's pages.
if [ -d "$sys/devices/system/node/node0" ]; then
	if [ -z "$nodes" ]; then
		for d in "$sys"/devices/system/node/node[0-9]*; do
			n=${d##*node}
			# Memory-only and CPU-less nodes still count; empty ones do not.
			if grep -q "MemTotal: *[1-9]" "$d/meminfo" 2>/dev/null; then
				nodes+="$n "
			fi
		done
	fi
	for n in $nodes; do
		f=$sys/devices/system/node/node$n/hugepages/hugepages-${size_kb}kB/nr_hugepages
		if [ ! -e "$f" ]; then
			echo "hugepages.sh: node $n has no ${size_kb} kB hugepages ($f)" >&2
			exit 1
		fi
		echo "node $n: $(cat "$f") pages of ${size_kb} kB reserved now, $pages wanted"
		write "$pages" "$f"
		[ "$apply" -eq 1 ] && echo "node $n: $(cat "$f") pages reserved (the kernel may give fewer)"
	done
else
	f=$sys/kernel/mm/hugepages/hugepages-${size_kb}kB/nr_hugepages
	[ -e "$f" ] || { echo "hugepages.sh: no ${size_kb} kB hugepages here ($f)" >&2; exit 1; }
	echo "no NUMA nodes in sysfs: reserving $pages pages machine-wide"
	write "$pages" "$f"
fi

# 2. hugetlbfs, with the page size made explicit (EAL scans every hugetlbfs mount).
if mountpoint -q "$mnt" 2>/dev/null; then
	echo "$mnt: hugetlbfs already mounted"
else
	do_ mkdir -p "$mnt"
	do_ mount -t hugetlbfs -o "pagesize=$((size_kb / 1024))M" nodev "$mnt"
fi

# 3. NICs to DPDK.
if [ ${#bind[@]} -gt 0 ]; then
	devbind=$(command -v dpdk-devbind.py || true)
	[ -n "$devbind" ] || { echo "hugepages.sh: dpdk-devbind.py not found (apt-get install dpdk)" >&2; exit 1; }
	if [ "$driver" = vfio-pci ] && [ -z "$(ls -A "$sys/kernel/iommu_groups" 2>/dev/null)" ] &&
		[ "$(cat "$sys/module/vfio/parameters/enable_unsafe_noiommu_mode" 2>/dev/null)" != Y ]; then
		echo "hugepages.sh: warning: no IOMMU groups: vfio-pci needs intel_iommu=on (or" \
			"amd_iommu) on the kernel command line, or no-IOMMU mode in a VM" >&2
	fi
	do_ modprobe "$driver"
	for a in "${bind[@]}"; do
		d=$sys/bus/pci/devices/$a
		[ -e "$d" ] || { echo "hugepages.sh: no PCI device $a" >&2; exit 1; }
		cur=$(basename "$(readlink "$d/driver" 2>/dev/null)" 2>/dev/null || true)
		node=$(cat "$d/numa_node" 2>/dev/null || echo -1)
		case "$cur" in
		mlx5_core | mlx4_core)
			echo "hugepages.sh: $a uses $cur, a bifurcated PMD: DPDK opens it through" \
				"the kernel driver; not rebinding" >&2
			continue ;;
		"$driver")
			echo "$a: already bound to $driver (node $node)"
			continue ;;
		esac
		echo "$a: ${cur:-no driver} -> $driver (NUMA node $node)"
		# dpdk-devbind.py refuses an interface that routes traffic (an ssh link) unless forced.
		do_ "$devbind" -b "$driver" "$a"
	done
fi
[ "$apply" -eq 1 ] || echo "dry run: nothing changed; --apply (as root) does it"
