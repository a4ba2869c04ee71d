#!/usr/bin/env bash
# Install everything shardgate needs from Debian 12's packages, build it, and
# (as root) reserve hugepages where the machine allows. Safe to run again:
# it installs only what is missing and reuses the build directory.
#
#   scripts/setup.sh [--no-build] [--hugepages N]   (N 2 MiB pages, default 1024)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${SG_BUILD_DIR:-$here/build}
do_build=1
hugepages=${SG_HUGEPAGES:-1024}

while [ $# -gt 0 ]; do
	case "$1" in
	--no-build) do_build=0 ;;
	--hugepages) hugepages=$2; shift ;;
	-h|--help) sed -n '2,7p' "$0"; exit 0 ;;
	*) echo "setup.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

# Build: compiler, meson. Libraries: DPDK (with its PMDs and telemetry client),
# intel-ipsec-mb, hwloc, libnuma, CUnit. Tests: Scapy (an independent ESP
# peer), tshark, iproute2, ping, nftables and conntrack (the NAT that NAT-T
# is tested through), dpdk-doc (ipsec-secgw's sample rule files, which the
# conf suite reads; its source, for perf/run.sh --secgw), clang and its
# runtime libraries (libFuzzer, for tests/fuzz). Perf: matplotlib.
packages=(
	gcc libc6-dev pkg-config meson ninja-build
	dpdk dpdk-dev libdpdk-dev libipsec-mb-dev
	libhwloc-dev hwloc libnuma-dev libcunit1-dev libpcap-dev
	python3 python3-scapy python3-matplotlib tshark tcpdump dpdk-doc
	clang libclang-rt-14-dev
	iproute2 iputils-ping procps ethtool nftables conntrack
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "setup.sh: missing packages: ${missing[*]}; run as root to install them" >&2
		exit 1
	fi
	echo "setup.sh: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# tshark asks whether non-root users may capture; answer no.
	echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Hugepages help throughput; every tool also runs with --no-huge.
if [ "$(id -u)" -eq 0 ] && [ -w /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages ]; then
	have=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages)
	if [ "$have" -lt "$hugepages" ]; then
		echo "$hugepages" > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages || true
		have=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages)
	fi
	mountpoint -q /dev/hugepages 2>/dev/null || {
		mkdir -p /dev/hugepages && mount -t hugetlbfs nodev /dev/hugepages 2>/dev/null || true
	}
	echo "setup.sh: $have hugepages of 2 MiB reserved"
else
	echo "setup.sh: not reserving hugepages (not root or not possible); use --no-huge"
fi

# strongSwan (charon, swanctl) and its source for the kernel-shardgate
# plugin: Debian has no headers package (scripts/setup-strongswan.sh).
sswan_src=""
if [ "$(id -u)" -eq 0 ]; then
	sswan_src=$("$here/scripts/setup-strongswan.sh" "$build_dir" | tee /dev/stderr |
		sed -n 's/^source: //p')
else
	echo "setup.sh: not root: the kernel-shardgate plugin is not built"
fi

if [ "$do_build" -eq 1 ]; then
	if [ ! -f "$build_dir/build.ninja" ]; then
		meson setup "$build_dir" "$here"
	fi
	if [ -n "$sswan_src" ]; then
		meson configure "$build_dir" -Dstrongswan_src="$sswan_src"
	fi
	ninja -C "$build_dir"
	echo "setup.sh: built $build_dir/app/shardgate/shardgate"
	plugin=$build_dir/app/kernel-shardgate/libstrongswan-kernel-shardgate.so
	if [ -n "$sswan_src" ] && [ -f "$plugin" ]; then
		# charon loads plugins from its own directory only; loading it is
		# still up to each charon's config (README "IKE: strongSwan")
		install -m 0644 "$plugin" /usr/lib/ipsec/plugins/
		echo "setup.sh: installed $plugin in /usr/lib/ipsec/plugins"
	fi
fi
