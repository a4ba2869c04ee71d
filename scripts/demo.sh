#!/usr/bin/env bash
# shardgate demo: two sites joined by an ESP tunnel between two shardgate
# gateways, on a machine with no spare NIC (network namespaces, veth pairs and
# DPDK's net_af_packet vdevs). Run as root.
#
#   scripts/demo.sh            set up and build (scripts/setup.sh), bring the
#                              demo up, ping site B from site A, check that the
#                              link between the gateways carried only ESP,
#                              send 2 MB over TCP from A to B (sha256 checked),
#                              print telemetry, and leave it running
#   scripts/demo.sh --once     the same, then tear everything down; exit 0 only
#                              if every check passed (for CI)
#   scripts/demo.sh --down     stop the gateways (SIGTERM, clean exit) and
#                              delete the namespaces, links and run directory
#   --ike                      (the default) key the tunnel with IKEv2:
#                              Debian's charon beside each gateway, with the
#                              kernel-shardgate plugin; IKE crosses each
#                              gateway's slow path (a punt line, a tap)
#   --static                   static keys in the rule files instead (fresh
#                              random ones each run), no IKE daemon
#   --no-setup                 skip scripts/setup.sh (binary already built)
#
# Environment: SG_BUILD_DIR (default ./build), SG_DEMO_DIR (run directory,
# default /run/shardgate-demo), SG_DEMO_TIMEOUT (seconds to wait for a
# gateway to start, default 60), SG_DEMO_NS (namespace name prefix, default
# sgdemo), SG_DEMO_PREFIX (EAL --file-prefix stem, default sg_demo).
#
#  ns sgdemo-siteA      ns sgdemo-gwA                         ns sgdemo-gwB      ns sgdemo-siteB
#  eth0 10.1.0.2 --- gwa-prot [1] shardgate A [0] gwa-wan === gwb-wan [0] shardgate B [1] gwb-prot --- eth0 10.2.0.2
#                    (protected)        172.16.0.1  ESP only   172.16.0.2        (protected)
#
# The gateway-side veth ends have no IP address, no IPv6 and no ARP, in
# namespaces of their own with forwarding off: only shardgate answers there.
# Like ipsec-secgw, shardgate does not do ARP, so the site hosts have a static
# neighbour for their gateway and the rule files have "neigh" lines; every
# veth gets a fixed MAC so both sides agree.
set -Eeuo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${SG_BUILD_DIR:-$here/build}
bin=$build_dir/app/shardgate/shardgate
run_dir=${SG_DEMO_DIR:-/run/shardgate-demo}
tmpl_dir=$here/scripts/demo
start_timeout=${SG_DEMO_TIMEOUT:-60}
telemetry=/usr/bin/dpdk-telemetry.py
py=/usr/bin/python3

ns_stem=${SG_DEMO_NS:-sgdemo}
fp=${SG_DEMO_PREFIX:-sg_demo}
NS_SITE_A=$ns_stem-siteA
NS_SITE_B=$ns_stem-siteB
NS_GW_A=$ns_stem-gwA
NS_GW_B=$ns_stem-gwB
ALL_NS=("$NS_SITE_A" "$NS_GW_A" "$NS_GW_B" "$NS_SITE_B")

# Fixed MACs: the last four bytes spell the port's (or host's) IPv4 address.
MAC_SITE_A=02:00:0a:01:00:02  # site A host, eth0, 10.1.0.2
MAC_GWA_PROT=02:00:0a:01:00:01 # gateway A port 1 (site A's gateway 10.1.0.1)
MAC_GWA_WAN=02:00:ac:10:00:01  # gateway A port 0 (tunnel endpoint 172.16.0.1)
MAC_GWB_WAN=02:00:ac:10:00:02  # gateway B port 0 (tunnel endpoint 172.16.0.2)
MAC_GWB_PROT=02:00:0a:02:00:01 # gateway B port 1 (site B's gateway 10.2.0.1)
MAC_SITE_B=02:00:0a:02:00:02  # site B host, eth0, 10.2.0.2

# The site hosts' MTU leaves room for the tunnel overhead (outer IPv4 20, ESP
# 8, IV 8, padding up to 3, trailer 2, ICV 16) under the 1500-byte wan MTU:
# shardgate drops (and counts, drop_mtu) what would not fit.
SITE_MTU=1400

# As in scripts/demo/gw-[ab].cfg.in.
SPI_A_TO_B=1001
SPI_B_TO_A=2001

# Marks a run directory as the demo's own, so teardown never removes a
# directory it did not make (SG_DEMO_DIR may point anywhere).
MARKER=.shardgate-demo

mode=up
do_setup=1
ike=1
CHARON=/usr/lib/ipsec/charon
SWANCTL=/usr/sbin/swanctl
PLUGIN=/usr/lib/ipsec/plugins/libstrongswan-kernel-shardgate.so

say() { printf 'demo: %s\n' "$*"; }
hr() { printf -- '---- %s ----\n' "$*"; }

usage() { sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
	case "$1" in
	--once) mode=once ;;
	--down) mode=down ;;
	--no-setup) do_setup=0 ;;
	--ike) ike=1 ;;
	--static) ike=0 ;;
	-h|--help) usage; exit 0 ;;
	*) echo "demo.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done

if [ "$(id -u)" -ne 0 ]; then
	echo "demo.sh: run as root (it creates network namespaces and runs DPDK)" >&2
	exit 1
fi

# ---------------------------------------------------------------- helpers

ns_exists() { ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$1"; }

# Print the last lines of every log in the run directory.
log_tails() {
	local f
	for f in "$run_dir"/gw-a.log "$run_dir"/gw-b.log "$run_dir"/charon-*/charon.log \
			"$run_dir"/tcpdump-*.log; do
		[ -s "$f" ] || continue
		hr "tail of $f"
		tail -n 25 "$f" || true
	done
}

# Is $1 a live process started from this demo (its command line carries the
# marker $2)? Guards against a stale pid file naming someone else's process.
pid_is() {
	local pid=$1 marker=$2
	[ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] &&
		tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$marker"
}

# Is process $1 running? (A child of ours that exited is a zombie until reaped.)
alive() {
	local st
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)
	[ -n "$st" ] && [ "$st" != Z ]
}

# Wait up to $2 seconds for process $1 to go away.
wait_gone() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		alive "$1" || return 0
		sleep 0.1
	done
	! alive "$1"
}

# Stop gateway $1 (a or b) with SIGTERM and check that it exited cleanly:
# status 0 when it is our child, else its last log lines (mbufs in use).
stop_gateway() {
	local g=$1 pid rc log=$run_dir/gw-$1.log
	pid=$(cat "$run_dir/gw-$g.pid" 2>/dev/null || true)
	pid_is "$pid" "--file-prefix=${fp}_$g" || return 0
	say "stopping gateway ${g^^} (pid $pid, SIGTERM)"
	kill -TERM "$pid" 2>/dev/null || true
	if ! wait_gone "$pid" 20; then
		say "gateway ${g^^} did not stop within 20 s; killing it"
		kill -KILL "$pid" 2>/dev/null || true
		wait_gone "$pid" 5 || true
		return 1
	fi
	# Our child (--once): its exit status. Otherwise (--down from another
	# shell, wait says 127) the log tells whether every mbuf came back.
	rc=0
	wait "$pid" 2>/dev/null || rc=$?
	if [ "$rc" -eq 127 ]; then
		rc=0
		if grep -q "were not returned" "$log" 2>/dev/null; then
			rc=3
		fi
	fi
	if [ -f "$log" ]; then
		sed -n '/^shardgate: signal/,$p' "$log" | sed "s/^/  gw ${g^^}: /" || true
	fi
	if [ "$rc" -eq 143 ] && ! grep -q '^shardgate: running' "$log" 2>/dev/null; then
		say "gateway ${g^^} stopped during start-up"
		return 0
	fi
	if [ "$rc" -ne 0 ]; then
		say "gateway ${g^^} exited with status $rc"
		return 1
	fi
	say "gateway ${g^^} exited cleanly"
	return 0
}

# charon first (--ike): it closes its CHILD_SAs in the gateways as it goes.
stop_charons() {
	local g pid
	for g in a b; do
		pid=$(cat "$run_dir/charon-$g/pid" 2>/dev/null || true)
		if pid_is "$pid" "ipsec/charon"; then
			say "stopping charon ${g^^} (pid $pid)"
			kill -TERM "$pid" 2>/dev/null || true
			wait_gone "$pid" 10 || kill -KILL "$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || true
		fi
		rm -f "$run_dir/charon-$g/pid"
	done
}

stop_captures() {
	local s pid
	for s in a b; do
		pid=$(cat "$run_dir/tcpdump-$s.pid" 2>/dev/null || true)
		if pid_is "$pid" "tcpdump"; then
			kill -INT "$pid" 2>/dev/null || true
			wait_gone "$pid" 5 || kill -KILL "$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || true
		fi
		rm -f "$run_dir/tcpdump-$s.pid"
	done
}

# Tear down whatever a previous (or this) run left. Returns non-zero if a
# gateway did not exit cleanly.
teardown() {
	local rc=0 ns pid
	stop_captures
	stop_charons
	stop_gateway a || rc=1
	stop_gateway b || rc=1
	# Anything else still running inside the demo's own namespaces (a gateway
	# whose pid file was lost) is ended too, before the namespaces go.
	for ns in "${ALL_NS[@]}"; do
		ns_exists "$ns" || continue
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			say "ending leftover process $pid in $ns"
			kill -TERM "$pid" 2>/dev/null || true
			wait_gone "$pid" 10 || kill -KILL "$pid" 2>/dev/null || true
		done
		ip netns del "$ns"
	done
	# The run directory holds the generated rule files, i.e. the keys.
	if [ -e "$run_dir/$MARKER" ]; then
		rm -rf -- "$run_dir"
	elif [ -e "$run_dir" ]; then
		say "not removing $run_dir: the demo did not make it (no $MARKER in it)"
	fi
	rm -rf -- "/var/run/dpdk/${fp}_a" "/var/run/dpdk/${fp}_b"
	return "$rc"
}

fail() {
	trap - ERR
	# In a command substitution: leave the reporting to the main shell.
	[ "$BASHPID" = "$$" ] || exit 1
	echo "demo: FAILED: $*" >&2
	log_tails >&2
	if [ "$mode" = once ]; then
		say "tearing down (--once)"
		teardown || true
	else
		echo "demo: left as it is for inspection; tear it down with: $0 --down" >&2
	fi
	exit 1
}

on_err() {
	fail "command failed (line $1, status $2): $3"
}
trap 'on_err "$LINENO" "$?" "$BASH_COMMAND"' ERR
trap 'fail "interrupted"' INT TERM

if [ "$mode" = down ]; then
	if ! ns_exists "$NS_GW_A" && ! ns_exists "$NS_GW_B" && ! ns_exists "$NS_SITE_A" &&
			! ns_exists "$NS_SITE_B" && [ ! -e "$run_dir" ]; then
		say "nothing to tear down"
		exit 0
	fi
	if teardown; then
		say "torn down: namespaces ${ALL_NS[*]}, their links, $run_dir"
		exit 0
	fi
	say "torn down, but a gateway did not exit cleanly (see above)"
	exit 1
fi

# ---------------------------------------------------------------- set-up

if [ "$do_setup" -eq 1 ]; then
	hr "scripts/setup.sh (packages, build into $build_dir)"
	SG_BUILD_DIR=$build_dir "$here/scripts/setup.sh" ||
		fail "scripts/setup.sh failed (see above); the demo needs its packages and build"
fi
[ -x "$bin" ] || fail "$bin not found; build it (scripts/setup.sh) or set SG_BUILD_DIR"
for t in ip tcpdump tshark mergecap setsid "$telemetry" "$py"; do
	command -v "$t" >/dev/null || fail "$t not found; run scripts/setup.sh"
done
if [ "$ike" -eq 1 ]; then
	for t in "$CHARON" "$SWANCTL" "$PLUGIN"; do
		[ -e "$t" ] || fail "$t not found; run scripts/setup.sh as root (it builds and installs the plugin)"
	done
fi

# Idempotent: whatever an earlier run left goes first.
if ns_exists "$NS_GW_A" || ns_exists "$NS_GW_B" || ns_exists "$NS_SITE_A" ||
		ns_exists "$NS_SITE_B" || [ -e "$run_dir" ]; then
	hr "removing the leftovers of an earlier run"
	teardown || true
fi

# Private run directory: rule files (with keys), logs, captures.
umask 077
if [ -e "$run_dir" ] && [ -n "$(ls -A "$run_dir" 2>/dev/null)" ]; then
	fail "$run_dir exists and is not empty; choose another SG_DEMO_DIR"
fi
mkdir -p "$run_dir"
chmod 0700 "$run_dir"
: > "$run_dir/$MARKER"

# Two CPUs from our affinity mask: gateway A on the first, B on the second
# (the same one on a single-CPU machine). Each gateway's control and worker
# lcores share its CPU; --poll-sleep-us keeps idle workers from spinning.
read -r CPU_A CPU_B < <("$py" -c '
import os
c = sorted(os.sched_getaffinity(0))
print(c[0], c[1] if len(c) > 1 else c[0])')

# Run sysctl $2 in namespace $1; a missing knob (IPv6 compiled out) is fine.
ns_sysctl() {
	ip netns exec "$1" sh -c "[ ! -e /proc/sys/${2%%=*} ] || sysctl -q -w '$2'" \
		2>/dev/null || true
}

hr "building the topology"
for ns in "${ALL_NS[@]}"; do
	ip netns add "$ns"
	# No IPv6 anywhere: no router solicitations, MLD or DAD on the links.
	ns_sysctl "$ns" net/ipv6/conf/all/disable_ipv6=1
	ns_sysctl "$ns" net/ipv6/conf/default/disable_ipv6=1
	ns_sysctl "$ns" net/ipv4/ip_forward=0
	ip -n "$ns" link set lo up
done

# veth pairs are created with each end directly in its namespace.
ip link add eth0 netns "$NS_SITE_A" type veth peer name gwa-prot netns "$NS_GW_A"
ip link add gwa-wan netns "$NS_GW_A" type veth peer name gwb-wan netns "$NS_GW_B"
ip link add gwb-prot netns "$NS_GW_B" type veth peer name eth0 netns "$NS_SITE_B"

link_up() { # ns dev mac mtu
	ns_sysctl "$1" "net/ipv6/conf/$2/disable_ipv6=1"
	ip -n "$1" link set dev "$2" address "$3" mtu "$4"
	ip -n "$1" link set dev "$2" up
}
# Gateway-side ends: no address, no ARP; the kernel stays silent on them.
gw_end_up() { # ns dev mac
	ip -n "$1" link set dev "$2" arp off
	# The gateway's own address (--ike) is on its slow-path tap: the kernel
	# must not take IKE from the veth as well (the reverse path is the tap).
	ns_sysctl "$1" "net/ipv4/conf/$2/rp_filter=1"
	link_up "$1" "$2" "$3" 1500
}
gw_end_up "$NS_GW_A" gwa-prot "$MAC_GWA_PROT"
gw_end_up "$NS_GW_A" gwa-wan "$MAC_GWA_WAN"
gw_end_up "$NS_GW_B" gwb-wan "$MAC_GWB_WAN"
gw_end_up "$NS_GW_B" gwb-prot "$MAC_GWB_PROT"
# Site hosts: an address, a default route via the gateway, and a permanent
# neighbour entry for it (the gateway does not answer ARP).
site_up() { # ns mac addr gw gwmac
	link_up "$1" eth0 "$2" "$SITE_MTU"
	ip -n "$1" addr add "$3/24" dev eth0
	ip -n "$1" route add default via "$4" dev eth0
	ip -n "$1" neigh replace "$4" lladdr "$5" dev eth0 nud permanent
	# A veth hands af_packet its TCP/UDP frames with the checksum left to
	# "the NIC" (CHECKSUM_PARTIAL); shardgate encrypts them as they are, so
	# the far site gets a wrong checksum and TCP never opens. Checksum in
	# the site's kernel instead.
	ip netns exec "$1" ethtool -K eth0 tx off >/dev/null
}
site_up "$NS_SITE_A" "$MAC_SITE_A" 10.1.0.2 10.1.0.1 "$MAC_GWA_PROT"
site_up "$NS_SITE_B" "$MAC_SITE_B" 10.2.0.2 10.2.0.1 "$MAC_GWB_PROT"

# ---------------------------------------------------------------- rule files

# Fresh keys for this run only: 16 key bytes + 4 salt bytes (RFC 4106), from
# /dev/urandom, written only into the 0600 rule files in the 0700 run
# directory, never printed and never put on a command line. They die with
# --down. Demo keys are throw-away: never copy them into a real deployment.
new_key() {
	od -An -v -tx1 -N20 /dev/urandom | tr -s ' \n' ' ' | sed 's/^ //; s/ $//; s/ /:/g'
}
KEY_A_TO_B=$(new_key)
KEY_B_TO_A=$(new_key)

# Fill a template in bash itself, so no key shows up in a process list.
fill() { # template output wan-peer-mac site-host-mac
	local line
	: > "$2"
	while IFS= read -r line || [ -n "$line" ]; do
		line=${line//@KEY_A_TO_B@/$KEY_A_TO_B}
		line=${line//@KEY_B_TO_A@/$KEY_B_TO_A}
		line=${line//@WAN_PEER_MAC@/$3}
		line=${line//@SITE_HOST_MAC@/$4}
		printf '%s\n' "$line"
	done < "$1" > "$2"
	chmod 0600 "$2"
}
fill "$tmpl_dir/gw-a.cfg.in" "$run_dir/gw-a.cfg" "$MAC_GWB_WAN" "$MAC_SITE_A"
fill "$tmpl_dir/gw-b.cfg.in" "$run_dir/gw-b.cfg" "$MAC_GWA_WAN" "$MAC_SITE_B"
unset KEY_A_TO_B KEY_B_TO_A
if [ "$ike" -eq 1 ]; then
	# IKE makes the SAs and policies: keep routes and neighbours, drop the
	# static sa/sp lines (and their keys), and hand the gateway's own
	# address to the kernel, where charon listens.
	for g in a b; do
		[ "$g" = a ] && addr=172.16.0.1 || addr=172.16.0.2
		grep -v -e '^sa ' -e '^sp ' "$run_dir/gw-$g.cfg" > "$run_dir/gw-$g.cfg.ike"
		printf '%s\n' "# IKE (UDP 500/4500) and ARP for $addr go to the kernel's tap" \
			"punt port 0 addr $addr/24" >> "$run_dir/gw-$g.cfg.ike"
		mv "$run_dir/gw-$g.cfg.ike" "$run_dir/gw-$g.cfg"
	done
fi

# ---------------------------------------------------------------- gateways

# Port 0 (first vdev) is the unprotected wan port, port 1 the protected one.
start_gateway() { # a|b ns cpu wan-if prot-if
	local g=$1 log=$run_dir/gw-$1.log pid
	local -a cmd=("$bin" --no-pci --no-huge -m 256 "--file-prefix=${fp}_$g"
		"--lcores=0@$3,1@$3"
		"--vdev=net_af_packet0,iface=$4" "--vdev=net_af_packet1,iface=$5"
		-- -p 0x3 -u 0x1 -f "$run_dir/gw-$g.cfg" --poll-sleep-us 50
		# Keys are new each run, so their sequence state begins anew too.
		--seq-state "$run_dir/gw-$g.seq" --seq-state-init)
	printf '%s\n' "ip netns exec $2 ${cmd[*]}" > "$run_dir/gw-$g.cmd"
	# setsid: the gateway outlives this script and ignores the terminal's ^C.
	setsid ip netns exec "$2" "${cmd[@]}" < /dev/null > "$log" 2>&1 &
	pid=$!
	echo "$pid" > "$run_dir/gw-$g.pid"
}

# Wait for "shardgate: running" in the log of gateway $1.
wait_running() {
	local g=$1 pid i log=$run_dir/gw-$1.log
	pid=$(cat "$run_dir/gw-$g.pid")
	for ((i = 0; i < start_timeout * 10; i++)); do
		if grep -q '^shardgate: running' "$log" 2>/dev/null; then
			return 0
		fi
		if ! alive "$pid"; then
			local rc=0
			wait "$pid" 2>/dev/null || rc=$?
			fail "gateway ${g^^} exited during start-up (status $rc); command in $run_dir/gw-$g.cmd"
		fi
		sleep 0.1
	done
	fail "gateway ${g^^} did not print 'shardgate: running' within $start_timeout s"
}

hr "starting the gateways"
start_gateway a "$NS_GW_A" "$CPU_A" gwa-wan gwa-prot
start_gateway b "$NS_GW_B" "$CPU_B" gwb-wan gwb-prot
wait_running a
wait_running b
for g in a b; do
	say "gateway ${g^^}: $(grep -m1 '^shardgate: running' "$run_dir/gw-$g.log")"
done

# ---------------------------------------------------------------- IKE (--ike)

# The path charon sees for $1: it runs with a private /run (its pid file is
# /run/charon.pid, one per machine otherwise), the real one under /mnt.
in_charon() { case "$1" in /run/*) echo "/mnt/${1#/run/}" ;; *) echo "$1" ;; esac; }

# charon $1 (a|b) in namespace $2, keying gateway $1 through kernel-shardgate.
start_charon() {
	local g=$1 d=$run_dir/charon-$1 sock i
	mkdir -p "$d"
	sock=$(in_charon "$(readlink -f /var/run/dpdk)/${fp}_$g/shardgate.sock")
	cat > "$d/strongswan.conf" <<CONF
charon {
    load_modular = no
    load = kernel-shardgate kernel-netlink socket-default vici random nonce openssl kdf pem pkcs1 x509 pubkey
    install_routes = no
    install_virtual_ip = no
    filelog {
        log {
            path = $(in_charon "$d")/charon.log
            default = 1
            knl = 1
            flush_line = yes
        }
    }
    plugins {
        vici {
            socket = unix://$(in_charon "$d")/charon.vici
        }
        kernel-shardgate {
            socket = $sock
        }
    }
}
CONF
	mkdir -p /mnt
	# It execs its way to charon: pid_is() knows it by that name.
	STRONGSWAN_CONF=$(in_charon "$d")/strongswan.conf setsid ip netns exec "$2" unshare -m \
		sh -c 'mount --make-rprivate / && mount --bind /run /mnt &&
			mount -t tmpfs sgdemo /run && exec "$1"' sgdemo-charon "$CHARON" \
		< /dev/null > "$d/stdout" 2>&1 &
	echo "$!" > "$d/pid"
	for ((i = 0; i < 100; i++)); do
		[ -S "$d/charon.vici" ] && return 0
		alive "$(cat "$d/pid")" || break
		sleep 0.1
	done
	fail "charon ${g^^} did not start: $(tail -n 5 "$d/stdout" "$d/charon.log" 2>/dev/null)"
}

# IKEv2 between the gateways' own addresses, PSK of this run only.
swanctl_conf() { # a|b
	local me peer lan_me lan_peer other
	if [ "$1" = a ]; then
		me=172.16.0.1 peer=172.16.0.2 lan_me=10.1.0.0/24 lan_peer=10.2.0.0/24 other=b
	else
		me=172.16.0.2 peer=172.16.0.1 lan_me=10.2.0.0/24 lan_peer=10.1.0.0/24 other=a
	fi
	cat <<CONF
connections {
  demo {
    version = 2
    local_addrs = $me
    remote_addrs = $peer
    proposals = aes128gcm16-prfsha256-ecp256
    local {
      auth = psk
      id = gw-$1
    }
    remote {
      auth = psk
      id = gw-$other
    }
    children {
      sites {
        local_ts = $lan_me
        remote_ts = $lan_peer
        mode = tunnel
        esp_proposals = aes128gcm16
        start_action = none
      }
    }
  }
}
secrets {
  ike-demo {
    id-a = gw-a
    id-b = gw-b
    secret = "$PSK"
  }
}
CONF
}

swanctl_of() { local g=$1; shift; "$SWANCTL" "$@" --uri "unix://$run_dir/charon-$g/charon.vici"; }

if [ "$ike" -eq 1 ]; then
	hr "IKEv2: charon with kernel-shardgate beside each gateway"
	PSK=$(od -An -v -tx1 -N24 /dev/urandom | tr -d ' \n')
	for g in a b; do
		if [ "$g" = a ]; then ns=$NS_GW_A; else ns=$NS_GW_B; fi
		start_charon "$g" "$ns"
		( umask 077; swanctl_conf "$g" > "$run_dir/charon-$g/swanctl.conf" )
		swanctl_of "$g" --load-all --noprompt --file "$run_dir/charon-$g/swanctl.conf" \
			> "$run_dir/charon-$g/load.log" 2>&1 ||
			fail "swanctl --load-all on charon ${g^^}: $(cat "$run_dir/charon-$g/load.log")"
	done
	unset PSK
	swanctl_of a --initiate --child sites --timeout 30 > "$run_dir/charon-a/initiate.log" 2>&1 ||
		fail "IKE did not come up: $(tail -n 5 "$run_dir/charon-a/initiate.log")"
	swanctl_of a --list-sas 2>/dev/null | sed 's/^/  /'
	say "OK: IKE_SA and CHILD_SA up; charon installed the SAs in both gateways"
fi

# ---------------------------------------------------------------- telemetry

# Ask gateway $1's telemetry socket (stock dpdk-telemetry.py, commands on
# stdin) and print the answers as a short table.
show_telemetry() {
	local g=$1 out=$run_dir/telemetry-$1.json
	if ! printf '%s\n' /shardgate/stats /shardgate/sa,0 |
			"$telemetry" -f "${fp}_$g" > "$out" 2>&1 ||
			! "$py" -c "$telemetry_table" "${g^^}" < "$out"; then
		echo "demo: cannot read the telemetry of gateway ${g^^}:" >&2
		sed 's/^/  /' "$out" >&2
		return 1
	fi
}
# Turns dpdk-telemetry.py's JSON answers into a few lines. No key is in them.
telemetry_table='
import json, sys
g = sys.argv[1]
stats = sas = None
for line in sys.stdin:
    line = line.strip()
    if not line.startswith("{"):
        continue
    d = json.loads(line)
    stats = d.get("/shardgate/stats", stats)
    sas = d.get("/shardgate/sa", sas)
if not isinstance(stats, dict) or not isinstance(sas, dict):
    sys.exit("no /shardgate/stats or /shardgate/sa answer")
keys = ["rx", "tx", "outbound", "inbound", "bypass", "drops"]
print("  gateway %s /shardgate/stats: %s" % (g, ", ".join(
    "%s %s" % (k, stats[k]) for k in keys if k in stats)))
drops = sorted((k, v) for k, v in stats.items() if k.startswith("drop_") and v)
if drops:
    print("    drops by reason: " + ", ".join("%s %s" % kv for kv in drops))
for sa in sas.values():
    if isinstance(sa, dict):
        more = ("auth_fail %s replay_drop %s" % (sa.get("auth_fail"), sa.get("replay_drop"))
                if sa.get("dir") == "in" else "seq_reserved %s" % sa.get("seq_reserved"))
        print("  gateway %s /shardgate/sa: SPI %s %-3s %s packets %s bytes %s seq %s %s" % (
              g, sa.get("spi"), sa.get("dir"), sa.get("aead"), sa.get("packets"),
              sa.get("bytes"), sa.get("seq"), more))
'

# ---------------------------------------------------------------- traffic

# Capture the wan link at both ends, received frames only (-Q in): every
# frame that crossed the link in either direction is seen exactly once,
# whoever sent it (a gateway or the kernel).
start_capture() { # a|b ns iface
	local log=$run_dir/tcpdump-$1.log i
	# --immediate-mode: every frame is written as it comes, none is left in
	# the kernel's ring when tcpdump is stopped.
	setsid ip netns exec "$2" tcpdump -i "$3" -Q in -n --immediate-mode -U -Z root \
		-w "$run_dir/wan-$1.pcap" < /dev/null > "$log" 2>&1 &
	echo "$!" > "$run_dir/tcpdump-$1.pid"
	for ((i = 0; i < 100; i++)); do
		grep -q 'listening on' "$log" 2>/dev/null && return 0
		kill -0 "$(cat "$run_dir/tcpdump-$1.pid")" 2>/dev/null || break
		sleep 0.1
	done
	fail "tcpdump on $3 did not start"
}

hr "capturing the wan link (gwa-wan, gwb-wan) while site A pings site B"
start_capture a "$NS_GW_A" gwa-wan
start_capture b "$NS_GW_B" gwb-wan

ping_rc=0
ip netns exec "$NS_SITE_A" ping -c 5 -i 0.2 -W 2 10.2.0.2 | tee "$run_dir/ping.log" || ping_rc=$?
# The reverse direction, and packets as large as the site MTU allows.
big=$((SITE_MTU - 28))
ip netns exec "$NS_SITE_B" ping -c 2 -i 0.2 -W 2 -M "do" -s "$big" 10.1.0.2 |
	tee -a "$run_dir/ping.log" || ping_rc=$?
sleep 0.5 # let the last replies reach the captures
stop_captures
for s in a b; do
	if ! grep -q '^0 packets dropped by kernel' "$run_dir/tcpdump-$s.log"; then
		say "warning: the capture on the wan link missed frames:"
		sed 's/^/  /' "$run_dir/tcpdump-$s.log"
	fi
done

if [ "$ping_rc" -ne 0 ]; then
	hr "telemetry: where did the packets go? (drop_<reason> counters)"
	show_telemetry a || true
	show_telemetry b || true
	fail "ping across the tunnel failed (status $ping_rc)"
fi

# ---------------------------------------------------------------- checks

hr "what crossed the wan link (tshark)"
mergecap -w "$run_dir/wan.pcap" "$run_dir/wan-a.pcap" "$run_dir/wan-b.pcap"
# Frames matching a display filter (tshark's stderr kept for errors).
count() {
	tshark -r "$run_dir/wan.pcap" -Y "$1" -T fields -e frame.number \
		2>>"$run_dir/tshark.err" | wc -l
}
n_all=$(count frame) || fail "tshark failed: $(cat "$run_dir/tshark.err")"
n_esp=$(count esp) || fail "tshark failed: $(cat "$run_dir/tshark.err")"
# --ike: the gateways' own IKE and ARP cross the link too (their slow paths)
others='not esp'
[ "$ike" -eq 1 ] && others='not (esp or isakmp or arp)'
n_other=$(count "$others") || fail "tshark failed: $(cat "$run_dir/tshark.err")"
tshark -r "$run_dir/wan.pcap" -c 6 2>/dev/null | sed 's/^/  /'
if [ "$n_all" -gt 6 ]; then
	echo "  ..."
fi
tshark -r "$run_dir/wan.pcap" -Y esp -T fields -e ip.src -e ip.dst -e esp.spi 2>/dev/null |
	sort | uniq -c | while read -r n src dst spi; do
		printf '  %3d ESP frames %s -> %s, SPI %d\n' "$n" "$src" "$dst" "$((spi))"
	done
say "frames on the wan link: $n_all; ESP: $n_esp; not ESP: $n_other"
if [ "$n_esp" -eq 0 ]; then
	fail "the capture holds no ESP frame"
fi
if [ "$n_other" -ne 0 ]; then
	tshark -r "$run_dir/wan.pcap" -Y "$others" 2>/dev/null | head -n 10 | sed 's/^/  not ESP: /'
	fail "the wan link carried $n_other frame(s) that are not ESP"
fi
if [ "$ike" -eq 1 ]; then
	say "OK: ping crossed the tunnel and the wan link carried only ESP (and IKE, ARP)"
else
	say "OK: ping crossed the tunnel and the wan link carried only ESP"
fi

hr "TCP across the tunnel: 2 MB from site A to site B, sha256 compared"
# Site B receives and prints the sha256 of what arrived; site A sends random
# bytes and prints the sha256 of what it sent. Checksums the kernel left to
# offload would make TCP drop every segment (see site_up).
tcp_rx='import hashlib,socket,sys
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)
s.bind(("10.2.0.2",5001)); s.listen(1); s.settimeout(20)
c,_=s.accept(); c.settimeout(20); h=hashlib.sha256(); n=0
while True:
    b=c.recv(65536)
    if not b: break
    h.update(b); n+=len(b)
print(n,h.hexdigest())'
tcp_tx='import hashlib,os,socket,time
d=os.urandom(2*1024*1024)
for i in range(50):
    try:
        s=socket.create_connection(("10.2.0.2",5001),timeout=10); break
    except ConnectionRefusedError: time.sleep(0.1)
s.settimeout(20); s.sendall(d); s.shutdown(socket.SHUT_WR); s.recv(1)
print(len(d),hashlib.sha256(d).hexdigest())'
ip netns exec "$NS_SITE_B" "$py" -c "$tcp_rx" >"$run_dir/tcp-rx.log" 2>&1 &
tcp_rx_pid=$!
tcp_sent=$(ip netns exec "$NS_SITE_A" "$py" -c "$tcp_tx" 2>&1) || {
	kill "$tcp_rx_pid" 2>/dev/null || true
	wait "$tcp_rx_pid" 2>/dev/null || true
	show_telemetry a || true
	show_telemetry b || true
	fail "TCP from site A to site B failed: $tcp_sent"
}
wait "$tcp_rx_pid" || fail "TCP receiver in site B failed: $(cat "$run_dir/tcp-rx.log")"
tcp_got=$(cat "$run_dir/tcp-rx.log")
say "TCP sent:     $tcp_sent"
say "TCP received: $tcp_got"
if [ "$tcp_sent" != "$tcp_got" ]; then
	fail "TCP data arrived altered or short"
fi
say "OK: 2 MB over TCP arrived intact"

hr "telemetry ($telemetry)"
show_telemetry a || fail "telemetry of gateway A"
show_telemetry b || fail "telemetry of gateway B"

# ---------------------------------------------------------------- summary

hr "what the demo built"
once_note=
if [ "$mode" = once ]; then
	once_note=" (removed at the end: --once)"
fi
cat <<EOF
  namespaces: $NS_SITE_A, $NS_GW_A, $NS_GW_B, $NS_SITE_B
  site A:     $NS_SITE_A eth0 10.1.0.2/24 ($MAC_SITE_A, MTU $SITE_MTU), default via 10.1.0.1 = gateway A port 1
  gateway A:  $NS_GW_A, CPU $CPU_A, telemetry prefix ${fp}_a
              port 0 unprotected net_af_packet0 on gwa-wan  ($MAC_GWA_WAN), tunnel endpoint 172.16.0.1
              port 1 protected   net_af_packet1 on gwa-prot ($MAC_GWA_PROT)
  wan link:   gwa-wan <-> gwb-wan (veth), ESP only
  gateway B:  $NS_GW_B, CPU $CPU_B, telemetry prefix ${fp}_b
              port 0 unprotected net_af_packet0 on gwb-wan  ($MAC_GWB_WAN), tunnel endpoint 172.16.0.2
              port 1 protected   net_af_packet1 on gwb-prot ($MAC_GWB_PROT)
  site B:     $NS_SITE_B eth0 10.2.0.2/24 ($MAC_SITE_B, MTU $SITE_MTU), default via 10.2.0.1 = gateway B port 1
$(if [ "$ike" -eq 1 ]; then
	echo "  SAs:        IKEv2 (charon + kernel-shardgate in each gateway namespace, PSK of this run),"
	echo "              AES-128-GCM; IKE over each gateway's slow path: punt line, tap sgpunt0"
	echo "              charon logs and vici sockets: $run_dir/charon-[ab]/"
else
	echo "  SAs:        SPI $SPI_A_TO_B site A -> site B (A out, B in), SPI $SPI_B_TO_A site B -> site A (B out, A in),"
	echo "              AES-128-GCM, fresh random keys in $run_dir (mode 0700; never shown)"
fi)
  run dir:    $run_dir: gw-a.log, gw-b.log, gw-*.cmd (command lines), wan.pcap$once_note
EOF
# The rules each gateway runs, keys left out.
for g in a b; do
	echo "  gateway ${g^^} rules ($run_dir/gw-$g.cfg, from scripts/demo/gw-$g.cfg.in):"
	grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' "$run_dir/gw-$g.cfg" |
		sed -e 's/aead_key [^ ]*/aead_key <not shown>/' -e 's/^/    /'
done

if [ "$mode" = once ]; then
	hr "tearing down (--once)"
	teardown || fail "a gateway did not exit cleanly"
	say "PASS"
	exit 0
fi

hr "it is running"
cat <<EOF
  try:       ip netns exec $NS_SITE_A ping 10.2.0.2
             ip netns exec $NS_GW_A tcpdump -n -i gwa-wan
             echo /shardgate/stats | $telemetry -f ${fp}_a   (or run it for a prompt)
  logs:      $run_dir/gw-a.log, $run_dir/gw-b.log
  tear down: $0 --down
EOF
